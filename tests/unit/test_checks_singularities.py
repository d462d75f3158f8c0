"""Notebook 05's checks on answers typed into the release's blanks, run in-process; scikit-learn as the reference."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.assignments import INPUTS, default_registry
from grader.checks import singularities
from grader.em import multivariate, regularised, seed
from grader.misconceptions import SINGULARITIES
from grader.samples import ALTERNATIVES, MUTANTS, fill_blanks, run_until
from tests.support.notebook_runs import student_notebook

ASSIGNMENT = "05_singularities"
STUDENT_CELL = "m_step_ridge"

#: Correct, written differently from the solution.
CORRECT = {
    "mu": "np.array([np.average(X, axis=0, weights=gamma[:, k]) for k in range(len(N_k))])",
    "weighted_scatter": "np.einsum('n,ni,nj->ij', gamma[:, k], diff, diff)",
    "covariances[k]": "weighted_scatter / N_k[k]\ncovariances[k][np.diag_indices(n_features)] += reg_covar",
    "pi": "N_k / N_k.sum()",
}

#: Typical wrong answers: blanks that differ from CORRECT -> {check that must fail: the ids it names}.
WRONG = {
    "no ridge": (
        {"covariances[k]": "weighted_scatter / N_k[k]"},
        {"check_cov": ("ridge-missing",), "check_run": ("ridge-missing",)},
    ),
    "ridge on every entry": (
        {"covariances[k]": "weighted_scatter / N_k[k] + reg_covar"},
        {"check_cov": ("ridge-off-diagonal",)},
    ),
    "ridge before dividing": (
        {"covariances[k]": "(weighted_scatter + reg_covar * np.eye(n_features)) / N_k[k]"},
        {"check_cov": ("ridge-scaled-by-n-k",), "check_run": ("ridge-scaled-by-n-k",)},
    ),
    "divided by N": (
        {"covariances[k]": "weighted_scatter / n_samples + reg_covar * np.eye(n_features)"},
        {"check_cov": ("ridge-covariance-divided-by-n",)},
    ),
    "mean divided by N": ({"mu": "gamma.T @ X / n_samples"}, {"check_mu": ("ridge-mean-divided-by-n",)}),
    "weights not normalised": ({"pi": "N_k"}, {"check_pi": ("ridge-weights-not-normalised",)}),
}


release, _, failures = student_notebook(ASSIGNMENT, STUDENT_CELL, singularities.CHECKS)


def run_until_student_cell(nb):
    """The namespace after the student's cell, and the exception that cell (or an earlier one) raised."""
    return run_until(nb, STUDENT_CELL)


def scikit_learn_fit(X, start, n_iterations, reg_covar):
    mu, cov, pi = start
    gm = GaussianMixture(
        len(pi),
        covariance_type="full",
        reg_covar=reg_covar,
        max_iter=n_iterations,
        tol=0,
        weights_init=pi,
        means_init=mu,
        precisions_init=np.linalg.inv(cov),
    )
    with pytest.warns(Warning):  # ConvergenceWarning: tol=0 never converges, by design
        gm.fit(X)
    return gm


def test_unregularised_em_collapses_from_the_notebook_start():
    X = seed.problem_2d().data
    with pytest.raises(np.linalg.LinAlgError):
        multivariate.fit(X, *regularised.collapse_start(X), 5)


@pytest.mark.parametrize("reg_covar", [1e-6, 1e-3, 0.1])
def test_reference_ridge_agrees_with_scikit_learn_reg_covar(reg_covar):
    X = seed.problem_2d().data
    start = regularised.collapse_start(X)
    run = regularised.fit(X, *start, 30, reg_covar)
    gm = scikit_learn_fit(X, start, 30, reg_covar)
    np.testing.assert_allclose(run.final[0], gm.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(run.final[1], gm.covariances_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(run.final[2], gm.weights_, rtol=1e-8)
    assert np.linalg.eigvalsh(run.final[1]).min() >= reg_covar * (1 - 1e-9)


def test_students_correct_run_agrees_with_scikit_learn():
    ns, error = run_until_student_cell(fill_blanks(release(), CORRECT))
    assert error is None
    gm = scikit_learn_fit(ns["data"], ns["start"], len(ns["log_likelihoods_regularised"]), ns["REG_COVAR"])
    mu, cov, _ = ns["params_regularised"]
    np.testing.assert_allclose(cov, gm.covariances_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(mu, gm.means_, rtol=1e-8, atol=1e-10)
    assert ns["log_likelihoods_regularised"][-1] / len(ns["data"]) == pytest.approx(gm.score(ns["data"]), rel=1e-9)


def test_correct_answers_pass_every_check():
    assert failures(run_until_student_cell(fill_blanks(release(), CORRECT))[0]) == {}


def test_blank_release_fails_every_check():
    assert set(failures(run_until_student_cell(release())[0])) == {c.__name__ for _, c in singularities.CHECKS}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_the_right_checks_with_a_diagnosis(name):
    changes, expected = WRONG[name]
    ns, _ = run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes}))
    failed = diagnoses(ns)
    for check, ids in expected.items():
        assert check in failed, f"{check} passed"
        assert failed[check] == ids, failed


def test_a_missing_ridge_keeps_the_mean_and_weight_credit():
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **WRONG["no ridge"][0]}))[0])
    assert set(failed) == {"check_cov", "check_run"}


# --- the catalogue: each mistake named by its own id only; mistakes that coincide on one case told apart ---------

SPEC = default_registry()[ASSIGNMENT]
M_STEP_CHECKS = [singularities.check_mu, singularities.check_cov, singularities.check_pi]
MUTANTS_05 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]
ALTERNATIVES_05 = [s for s in ALTERNATIVES if s.assignment_id == ASSIGNMENT]


def diagnoses(ns, checks=None):
    """{check name: diagnosis ids} of the failing checks."""
    out = {}
    for check in checks or [check for _, check in singularities.CHECKS]:
        try:
            check(ns)
        except singularities.CheckFailed as failure:
            out[check.__name__] = failure.diagnosis
    return out


def hidden_problems(n, seed=2024):
    rng, found = np.random.default_rng(seed), []
    while len(found) < n:
        drawn = SPEC.hidden(rng)
        if drawn is not None:
            found.append(drawn.details)
    return found


HIDDEN = hidden_problems(3)


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    assert {s.misconception for s in MUTANTS_05} == {m.id for m in SINGULARITIES}


@pytest.mark.parametrize("sample", ALTERNATIVES_05, ids=lambda s: s.key)
def test_correct_alternatives_pass(sample):
    ns, error = run_until_student_cell(sample.notebook(release()))
    assert error is None and diagnoses(ns) == {}
    for problem in HIDDEN:
        assert diagnoses({**ns, INPUTS: problem}, M_STEP_CHECKS) == {}


def m_step(covariance):
    """A vectorised M-step whose covariance is ``covariance(scatter, N_k, reg_covar, eye, N)``."""

    def m_step_regularised(X, gamma, reg_covar):
        N_k = gamma.sum(axis=0)
        mu = gamma.T @ X / N_k[:, None]
        diffs = X[None] - mu[:, None]
        scatter = np.einsum("nk,kni,knj->kij", gamma, diffs, diffs)
        eye = np.eye(X.shape[1])
        return mu, covariance(scatter, N_k[:, None, None], reg_covar, eye, len(X)), N_k / len(X)

    return m_step_regularised


RIDGE_MISSING = m_step(lambda s, n, r, eye, N: s / n)
RIDGE_SCALED = m_step(lambda s, n, r, eye, N: (s + r * eye) / n)
RIDGE_IN_DENOMINATOR = m_step(lambda s, n, r, eye, N: s / (n + r))


def test_ridge_mistakes_are_invisible_at_the_notebooks_tiny_ridge_and_named_from_the_larger_ones(monkeypatch):
    """With reg_covar = 1e-6 and N_k in the hundreds, S / N_k, (S + lambda I) / N_k and S / (N_k + lambda) all
    equal S / N_k + lambda I to rounding: that case alone passes them; the cases with larger ridges name each."""
    for function, named in [
        (RIDGE_MISSING, "ridge-missing"),
        (RIDGE_SCALED, "ridge-scaled-by-n-k"),
        (RIDGE_IN_DENOMINATOR, "ridge-in-denominator"),
    ]:
        with pytest.raises(singularities.CheckFailed) as failed:
            singularities.check_cov({"m_step_regularised": function})
        assert failed.value.diagnosis == (named,)
    original = singularities._cases
    monkeypatch.setattr(singularities, "_cases", lambda problem: original(problem)[:1])
    assert singularities._cases(singularities.notebook_problem())[0].reg_covar == 1e-6
    for function in (RIDGE_MISSING, RIDGE_SCALED, RIDGE_IN_DENOMINATOR):
        singularities.check_cov({"m_step_regularised": function})


def test_missing_ridge_and_ridge_in_the_denominator_coincide_on_one_case_and_are_told_apart(monkeypatch):
    """On a one-point component with reg_covar = 1e-6 both give that component a zero covariance and the others
    S / N_k to rounding: on that case alone neither is named; on all the cases each is."""
    for function, named in [(RIDGE_MISSING, "ridge-missing"), (RIDGE_IN_DENOMINATOR, "ridge-in-denominator")]:
        with pytest.raises(singularities.CheckFailed) as failed:
            singularities.check_cov({"m_step_regularised": function})
        assert failed.value.diagnosis == (named,)
    original = singularities._cases

    def one_point_tiny_ridge(problem):
        one_point = original(problem)[1]
        return [
            singularities.Case(
                "a component holding a single point, reg_covar = 1e-6", one_point.X, one_point.gamma, 1e-6
            )
        ]

    monkeypatch.setattr(singularities, "_cases", one_point_tiny_ridge)
    for function in (RIDGE_MISSING, RIDGE_IN_DENOMINATOR):
        with pytest.raises(singularities.CheckFailed) as failed:
            singularities.check_cov({"m_step_regularised": function})
        assert failed.value.diagnosis == () and "no known mistake" in str(failed.value)


def test_a_mean_without_newaxis_is_named_from_the_cases_where_K_equals_D():
    """gamma.T @ X / N_k raises where K != D and silently divides column j by N_j where K = D."""

    def m_step_regularised(X, gamma, reg_covar):
        N_k = gamma.sum(axis=0)
        mu = gamma.T @ X / N_k
        return mu, np.array([np.eye(X.shape[1])] * len(N_k)), N_k / len(X)

    for problem in [singularities.notebook_problem(), *HIDDEN]:
        failed = diagnoses({"m_step_regularised": m_step_regularised, INPUTS: problem}, [singularities.check_mu])
        assert failed == {"check_mu": ("ridge-mean-not-broadcast",)}


def test_bessel_is_named_although_the_one_point_component_divides_by_zero():
    function = m_step(lambda s, n, r, eye, N: s / (n - 1) + r * eye)
    failed = diagnoses({"m_step_regularised": function}, [singularities.check_cov])
    assert failed == {"check_cov": ("ridge-covariance-bessel",)}


def test_two_mistakes_at_once_are_both_named_and_an_unknown_one_is_not():
    both = m_step(lambda s, n, r, eye, N: s / N)  # divided by N and no ridge
    failed = diagnoses({"m_step_regularised": both}, [singularities.check_cov])
    assert failed == {"check_cov": ("ridge-covariance-divided-by-n", "ridge-missing")}
    unknown = m_step(lambda s, n, r, eye, N: s / n + 2 * r * eye)
    with pytest.raises(singularities.CheckFailed) as failed:
        singularities.check_cov({"m_step_regularised": unknown})
    assert failed.value.diagnosis == () and "no known mistake" in str(failed.value)
