"""Notebook 06's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.assignments import INPUTS, default_registry
from grader.checks import model_selection
from grader.course import DEFAULT_ROOT, Course
from grader.em import model_selection as reference
from grader.misconceptions import MODEL_SELECTION, hint
from grader.samples import fill_blanks
from tests.support.notebook_runs import run_cells

ASSIGNMENT = "06_model_selection"
FOLDER = Course(DEFAULT_ROOT).release / ASSIGNMENT

#: Right answers as a student might type them (float division, the AIC's terms swapped).
CORRECT = {
    "n_means": "K * D",
    "n_weights": "K - 1",
    "n_cov_full": "K * D * (D + 1) / 2",
    "n_cov_diag": "D * K",
    "n_cov_tied": "D * (D + 1) / 2",
    "n_cov_spherical": "K",
    "bic_value": "-2 * log_likelihood + n_params * np.log(n_samples)",
    "aic_value": "2 * n_params - 2 * log_likelihood",
}

FULL_DIAG, TIED_SPHERICAL, BIC, AIC = (label for label, _ in model_selection.CHECKS)


def run_release(monkeypatch, answers, until="criteria"):
    """Execute the release's code cells with ``answers`` filled in, up to ``until``; return the namespace."""
    monkeypatch.chdir(FOLDER)  # the notebook reads old_faithful.csv from its own folder
    return run_cells(fill_blanks(nbformat.read(FOLDER / f"{ASSIGNMENT}.ipynb", as_version=4), answers), until)


def diagnoses(ns):
    """{check label: (message, catalogue ids)} of every failing self-check line."""
    out = {}
    for label, check in model_selection.CHECKS:
        try:
            check(ns)
        except model_selection.CheckFailed as failure:
            out[label] = (str(failure), failure.diagnosis)
    return out


def failures(ns):
    """{check label: message} of every failing self-check line."""
    return {label: message for label, (message, _) in diagnoses(ns).items()}


@pytest.mark.parametrize("covariance_type", reference.COVARIANCE_TYPES)
def test_reference_counts_and_criteria_match_scikit_learn(covariance_type):
    rng = np.random.default_rng(0)
    for D in (1, 2, 4):
        X = rng.normal(size=(80, D))
        for K in (1, 2, 3):
            model = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
            M = reference.n_parameters(covariance_type, K, D)
            assert model._n_parameters() == M
            log_likelihood = model.score(X) * len(X)
            assert reference.bic(log_likelihood, M, len(X)) == pytest.approx(model.bic(X), rel=1e-12)
            assert reference.aic(log_likelihood, M) == pytest.approx(model.aic(X), rel=1e-12)


def test_typed_right_answers_pass_every_check(monkeypatch):
    ns = run_release(monkeypatch, CORRECT)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert model_selection.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


#: (blanks that differ from CORRECT, the checks that fail, the catalogue id they name or None for none)
MISTAKES = [
    ({"n_weights": "K"}, {FULL_DIAG, TIED_SPHERICAL}, "weights-all-counted"),
    ({"n_weights": "0"}, {FULL_DIAG, TIED_SPHERICAL}, "weights-missing-from-count"),
    ({"n_means": "K"}, {FULL_DIAG, TIED_SPHERICAL}, "means-one-entry-each"),
    ({"n_means": "0"}, {FULL_DIAG, TIED_SPHERICAL}, "means-missing-from-count"),
    ({"n_cov_full": "K * D * D"}, {FULL_DIAG}, "covariance-entries-not-symmetric"),
    ({"n_cov_tied": "D ** 2"}, {TIED_SPHERICAL}, "covariance-entries-not-symmetric"),
    ({"n_cov_full": "K * (D * (D - 1) // 2)"}, {FULL_DIAG}, "covariance-diagonal-missing"),
    ({"n_cov_tied": "D * (D - 1) / 2"}, {TIED_SPHERICAL}, "covariance-diagonal-missing"),
    ({"n_cov_diag": "D"}, {FULL_DIAG}, "covariance-not-per-component"),
    ({"n_cov_full": "D * (D + 1) // 2"}, {FULL_DIAG}, "covariance-not-per-component"),
    ({"n_cov_spherical": "1"}, {TIED_SPHERICAL}, "covariance-not-per-component"),
    ({"n_cov_diag": "K * D * (D + 1) // 2"}, {FULL_DIAG}, "diagonal-counted-as-full"),
    ({"n_cov_tied": "K * D * (D + 1) // 2"}, {TIED_SPHERICAL}, "tied-counted-per-component"),
    ({"n_cov_spherical": "K * D"}, {TIED_SPHERICAL}, "spherical-counted-as-diagonal"),
    ({"bic_value": "log_likelihood - n_params * np.log(n_samples) / 2"}, {BIC}, "criterion-prml-sign"),
    ({"aic_value": "log_likelihood - n_params"}, {AIC}, "criterion-prml-sign"),
    ({"bic_value": "-2 * log_likelihood + 2 * n_params"}, {BIC}, "bic-penalty-of-aic"),
    ({"bic_value": "-log_likelihood + n_params * np.log(n_samples) / 2"}, {BIC}, "criterion-halved"),
    ({"aic_value": "-log_likelihood + n_params"}, {AIC}, "criterion-halved"),
    ({"bic_value": "-2 * log_likelihood + n_params * np.log10(n_samples)"}, {BIC}, "bic-log10"),
    ({"bic_value": "-2 * log_likelihood + n_params * n_samples"}, {BIC}, "bic-penalty-without-log"),
    ({"bic_value": "2 * log_likelihood + n_params * np.log(n_samples)"}, {BIC}, "criterion-loglik-sign"),
    ({"aic_value": "2 * log_likelihood + 2 * n_params"}, {AIC}, "criterion-loglik-sign"),
    ({"bic_value": "-log_likelihood + n_params * np.log(n_samples)"}, {BIC}, "criterion-loglik-not-doubled"),
    ({"aic_value": "-log_likelihood + 2 * n_params"}, {AIC}, "criterion-loglik-not-doubled"),
    ({"bic_value": "-2 * log_likelihood + n_params * np.log(n_samples) / 2"}, {BIC}, "criterion-penalty-factor"),
    ({"aic_value": "-2 * log_likelihood + n_params"}, {AIC}, "criterion-penalty-factor"),
    ({"bic_value": "-2 * log_likelihood - n_params * np.log(n_samples)"}, {BIC}, "criterion-penalty-sign"),
    ({"aic_value": "-2 * (log_likelihood + n_params)"}, {AIC}, "criterion-penalty-sign"),
    # not catalogued: Old Faithful's N typed into the AIC, a BIC off by one, a weight count of K + 1
    ({"aic_value": "-2 * log_likelihood + n_params * np.log(300)"}, {AIC}, None),
    ({"bic_value": "-2 * log_likelihood + n_params * np.log(n_samples) + 1"}, {BIC}, None),
    ({"n_weights": "K + 1"}, {FULL_DIAG, TIED_SPHERICAL}, None),
]


@pytest.mark.parametrize("changes, failing, misconception", MISTAKES)
def test_typical_mistakes_fail_only_their_own_check_and_are_named_by_their_id(
    monkeypatch, changes, failing, misconception
):
    ns = run_release(monkeypatch, {**CORRECT, **changes})
    failed = diagnoses(ns)
    assert set(failed) == failing
    for message, ids in failed.values():
        if misconception:
            assert ids == (misconception,), message
            assert hint(misconception) in message
        else:
            assert ids == () and "matches no known mistake" in message, message


def test_every_model_selection_id_is_tested_here():
    assert {misconception for _, _, misconception in MISTAKES} - {None} == {m.id for m in MODEL_SELECTION}


def test_a_covariance_missing_its_diagonal_is_not_called_missing_means(monkeypatch):
    # Both give the same "full" count (K D fewer); only the other types' counts tell them apart.
    diagonal = run_release(monkeypatch, {**CORRECT, "n_cov_full": "K * (D * (D - 1) // 2)"})
    means = run_release(monkeypatch, {**CORRECT, "n_means": "0"})
    assert all(
        diagonal["n_parameters"]("full", K, D) == means["n_parameters"]("full", K, D)
        for K in range(1, 7)
        for D in range(1, 6)
    )
    assert diagnoses(diagonal)[FULL_DIAG][1] == ("covariance-diagonal-missing",)
    assert diagnoses(means)[FULL_DIAG][1] == ("means-missing-from-count",)


def test_a_count_explained_two_ways_is_named_neither_way():
    # Only "full" can be counted, so a covariance missing its diagonal and missing means cannot be told apart.
    def n_parameters(covariance_type, K, D):
        if covariance_type != "full":
            raise KeyError(covariance_type)
        return K * D + K - 1 + K * (D * (D - 1) // 2)

    problem = model_selection.notebook_problem(FOLDER / "old_faithful.csv")
    with pytest.raises(model_selection.CheckFailed, match="matches no known mistake") as raised:
        model_selection.check_n_parameters({"n_parameters": n_parameters, INPUTS: problem}, ["full"])
    assert raised.value.diagnosis == ()


def test_two_count_mistakes_that_one_explanation_fits_are_both_named(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "n_weights": "K", "n_cov_full": "K * D * D"})
    failed = diagnoses(ns)
    assert failed[FULL_DIAG][1] == ("covariance-entries-not-symmetric", "weights-all-counted")
    assert failed[TIED_SPHERICAL][1] == ("weights-all-counted",)
    # the means' mistake is in every type's count, the diagonal covariance's in one: each cell names what it saw
    failed = diagnoses(run_release(monkeypatch, {**CORRECT, "n_means": "K", "n_cov_diag": "D"}))
    assert failed[FULL_DIAG][1] == ("means-one-entry-each", "covariance-not-per-component")
    assert failed[TIED_SPHERICAL][1] == ("means-one-entry-each",)


def test_a_count_that_does_not_grow_with_k_says_so(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "n_means": "D", "n_weights": "0", "n_cov_full": "D * (D + 1) // 2"})
    with pytest.raises(model_selection.CheckFailed, match="does not grow with K"):
        model_selection.check_n_parameters(ns, ["full"])


def _hidden_problem(seed_):
    spec, rng = default_registry()[ASSIGNMENT], np.random.default_rng(seed_)
    return next(drawn for drawn in iter(lambda: spec.hidden(rng), 0) if drawn is not None).details


@pytest.mark.parametrize("seed_", [5, 6])
def test_every_mistake_is_named_on_hidden_inputs_too(seed_):
    problem = _hidden_problem(seed_)
    for name, (_, _, mistakes) in model_selection.CRITERIA.items():
        for misconception, wrong in mistakes:
            if name == "bic":

                def function(ll, M, N, wrong=wrong):
                    return wrong(ll, M, N)
            else:

                def function(ll, M, wrong=wrong):
                    return wrong(ll, M, None)

            with pytest.raises(model_selection.CheckFailed) as raised:
                model_selection.check_criterion({name: function, "faithful": problem.data, INPUTS: problem}, name)
            assert raised.value.diagnosis == (misconception,), str(raised.value)
    for covariance_type, options in model_selection.COVARIANCES.items():
        for misconception, wrong in options[1:]:

            def n_parameters(t, K, D, covariance_type=covariance_type, wrong=wrong):
                cov = wrong(K, D) if t == covariance_type else reference.n_covariance_parameters(t, K, D)
                return K * D + K - 1 + cov

            with pytest.raises(model_selection.CheckFailed) as raised:
                model_selection.check_n_parameters({"n_parameters": n_parameters, INPUTS: problem}, [covariance_type])
            assert raised.value.diagnosis == (misconception,), str(raised.value)


def test_the_spec_reads_the_packages_copy_of_the_data_the_same_bytes_as_the_courses():
    spec_data = default_registry()[ASSIGNMENT].notebook().variables["faithful"]
    assert np.array_equal(spec_data, np.loadtxt(FOLDER / "old_faithful.csv", delimiter=",", skiprows=1))
    package_copy = Path(model_selection.__file__).resolve().parent.parent / "data" / "old_faithful.csv"
    for folder in (FOLDER, DEFAULT_ROOT / "solutions" / ASSIGNMENT):
        assert (folder / "old_faithful.csv").read_bytes() == package_copy.read_bytes()


def test_criterion_messages_never_show_scikit_learns_values(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "bic_value": "-2 * log_likelihood + n_params * np.log(n_samples) + 1"})
    message = failures(ns)[BIC]
    model = GaussianMixture(1, random_state=0).fit(ns["faithful"])
    assert f"{model.bic(ns['faithful']):.1f}"[:5] not in message
    assert "compare your line with it term by term" in message


def test_an_error_inside_the_students_function_is_reported_not_raised(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "bic_value": "-2 * log_likelihood + n_params * log(n_samples)"})
    assert "raised NameError" in failures(ns)[BIC]


def test_blank_release_fails_every_check_with_run_the_cell(monkeypatch):
    monkeypatch.chdir(FOLDER)
    ns = {"faithful": np.loadtxt("old_faithful.csv", delimiter=",", skiprows=1)}
    failed = failures(ns)
    assert set(failed) == {FULL_DIAG, TIED_SPHERICAL, BIC, AIC}
    assert all("is not defined" in message for message in failed.values())


def test_shipped_data_is_old_faithful():
    data = np.loadtxt(FOLDER / "old_faithful.csv", delimiter=",", skiprows=1)
    assert data.shape == (272, 2)
    # R's faithful: eruptions 1.6 to 5.1 minutes, waiting 43 to 96 minutes
    assert (data[:, 0].min(), data[:, 0].max(), data[:, 1].min(), data[:, 1].max()) == (1.6, 5.1, 43, 96)
