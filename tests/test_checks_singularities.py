"""Notebook 05's checks on answers typed into the release's blanks, run in-process; scikit-learn as the reference."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.checks import singularities
from grader.em import multivariate, regularised, seed
from grader.samples import fill_blanks, run_until
from tests.notebook_runs import student_notebook

ASSIGNMENT = "05_singularities"
STUDENT_CELL = "m_step_ridge"

#: Correct, written differently from the solution.
CORRECT = {
    "mu": "np.array([np.average(X, axis=0, weights=gamma[:, k]) for k in range(len(N_k))])",
    "weighted_scatter": "np.einsum('n,ni,nj->ij', gamma[:, k], diff, diff)",
    "covariances[k]": "weighted_scatter / N_k[k]\ncovariances[k][np.diag_indices(n_features)] += reg_covar",
    "pi": "N_k / N_k.sum()",
}

#: Typical wrong answers: blanks that differ from CORRECT -> {check that must fail: words its message contains}.
WRONG = {
    "no ridge": ({"covariances[k]": "weighted_scatter / N_k[k]"},
                 {"check_cov": "ridge reg_covar * I is missing", "check_run": "LinAlgError"}),
    "ridge on every entry": ({"covariances[k]": "weighted_scatter / N_k[k] + reg_covar"},
                             {"check_cov": "diagonal only"}),
    "ridge before dividing": ({"covariances[k]": "(weighted_scatter + reg_covar * np.eye(n_features)) / N_k[k]"},
                              {"check_cov": "after dividing", "check_run": "differ"}),
    "divided by N": ({"covariances[k]": "weighted_scatter / n_samples + reg_covar * np.eye(n_features)"},
                     {"check_cov": "covariance-divided-by-n"}),
    "mean divided by N": ({"mu": "gamma.T @ X / n_samples"}, {"check_mu": "mean-divided-by-n"}),
    "weights not normalised": ({"pi": "N_k"}, {"check_pi": "weights-not-normalised"}),
}


release, _, failures = student_notebook(ASSIGNMENT, STUDENT_CELL, singularities.CHECKS)


def run_until_student_cell(nb):
    """The namespace after the student's cell, and the exception that cell (or an earlier one) raised."""
    return run_until(nb, STUDENT_CELL)


def scikit_learn_fit(X, start, n_iterations, reg_covar):
    mu, cov, pi = start
    gm = GaussianMixture(len(pi), covariance_type="full", reg_covar=reg_covar, max_iter=n_iterations, tol=0,
                         weights_init=pi, means_init=mu, precisions_init=np.linalg.inv(cov))
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
    mu, cov, pi = ns["params_regularised"]
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
    ns, error = run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes}))
    failed = failures(ns)
    for check, words in expected.items():
        assert check in failed, f"{check} passed"
        assert words in failed[check] or (words == "LinAlgError" and isinstance(error, np.linalg.LinAlgError)), \
            failed[check]


def test_a_missing_ridge_keeps_the_mean_and_weight_credit():
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **WRONG["no ridge"][0]}))[0])
    assert set(failed) == {"check_cov", "check_run"}
