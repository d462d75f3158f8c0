"""Notebook 06's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.checks import model_selection
from grader.course import DEFAULT_ROOT, Course
from grader.em import model_selection as reference
from grader.samples import fill_blanks
from tests.notebook_runs import run_cells

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


def failures(ns):
    """{check label: message} of every failing self-check line."""
    out = {}
    for label, check in model_selection.CHECKS:
        try:
            check(ns)
        except model_selection.CheckFailed as failure:
            out[label] = str(failure)
    return out


@pytest.mark.parametrize("covariance_type", reference.COVARIANCE_TYPES)
def test_reference_counts_and_criteria_match_scikit_learn(covariance_type):
    rng = np.random.default_rng(0)
    for D in (1, 2, 4):
        X = rng.normal(size=(80, D))
        for K in (1, 2, 3):
            model = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
            M = reference.n_parameters(covariance_type, K, D)
            assert M == model._n_parameters()
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


@pytest.mark.parametrize("changes, failing, explanation", [
    ({"n_weights": "K"}, {FULL_DIAG, TIED_SPHERICAL}, "only K - 1 of them are free"),
    ({"n_means": "K"}, {FULL_DIAG, TIED_SPHERICAL}, "each of the K means has D entries"),
    ({"n_means": "0"}, {FULL_DIAG, TIED_SPHERICAL}, "means are missing"),
    ({"n_cov_full": "K * D * D"}, {FULL_DIAG}, "D(D+1)/2 free entries, not D^2"),
    ({"n_cov_diag": "D"}, {FULL_DIAG}, "own D variances"),
    ({"n_cov_tied": "K * D * (D + 1) // 2"}, {TIED_SPHERICAL}, "ONE matrix shared"),
    ({"n_cov_spherical": "K * D"}, {TIED_SPHERICAL}, "one variance per component"),
    ({"n_cov_spherical": "1"}, {TIED_SPHERICAL}, "K in total, not 1"),
    ({"bic_value": "log_likelihood - n_params * np.log(n_samples) / 2"}, {BIC}, "PRML's form of eq. (4.139)"),
    ({"bic_value": "-2 * log_likelihood + 2 * n_params"}, {BIC}, "belongs to the AIC"),
    ({"bic_value": "-log_likelihood + n_params * np.log(n_samples) / 2"}, {BIC}, "half the BIC"),
    ({"bic_value": "-2 * log_likelihood + n_params * np.log10(n_samples)"}, {BIC}, "np.log10"),
    ({"aic_value": "-2 * log_likelihood + n_params"}, {AIC}, "twice the number of parameters"),
    ({"aic_value": "-2 * log_likelihood + n_params * np.log(300)"}, {AIC}, None),
    ({"aic_value": "log_likelihood - n_params"}, {AIC}, "PRML's form of eq. (1.73)"),
])
def test_typical_mistakes_fail_only_their_own_check_and_are_explained(monkeypatch, changes, failing, explanation):
    ns = run_release(monkeypatch, {**CORRECT, **changes})
    failed = failures(ns)
    assert set(failed) == failing
    if explanation:
        assert all(explanation in message for message in failed.values()), failed


def test_mistake_in_a_count_is_found_by_the_hidden_check_not_the_visible_one(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "n_cov_full": "K * D * D"})
    model_selection.check_n_parameters(ns, ["full"], invariants_only=True)
    with pytest.raises(model_selection.CheckFailed):
        model_selection.check_n_parameters(ns, ["full"])


def test_a_count_that_does_not_grow_with_k_fails_the_visible_check(monkeypatch):
    ns = run_release(monkeypatch, {**CORRECT, "n_means": "D", "n_weights": "0", "n_cov_full": "D * (D + 1) // 2"})
    with pytest.raises(model_selection.CheckFailed, match="does not grow with K"):
        model_selection.check_n_parameters(ns, ["full"], invariants_only=True)


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
