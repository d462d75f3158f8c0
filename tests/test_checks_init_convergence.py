"""Notebook 04's checks on answers typed into the release's blanks, run in-process (fast) rather than in a kernel."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from grader.checks import init_convergence
from grader.em import initialisation, multivariate, seed
from grader.samples import fill_blanks
from tests.notebook_runs import student_notebook

ASSIGNMENT = "04_init_convergence"
STUDENT_CELL = "init_em"

#: Correct, written differently from the solution.
CORRECT = {
    "squared_distances": "np.min([((X - c) ** 2).sum(axis=1) for c in centers], axis=0)",
    "probabilities": "squared_distances / np.sum(squared_distances)",
    "gains": "(np.array(log_likelihoods[1:]) - np.array(log_likelihoods[:-1])) / n_samples",
    "converged": "len(gains) >= patience and max(gains[-patience:]) < tol",
    "final_log_likelihoods": "[run['log_likelihoods'][-1] for run in runs]",
    "best": "max(runs, key=lambda run: run['log_likelihoods'][-1])",
}

#: Typical wrong answers: blanks that differ from CORRECT -> {check that must fail: words its message contains}.
WRONG = {
    "distance not squared": (
        {"squared_distances": "np.sqrt(np.min([((X - c) ** 2).sum(axis=1) for c in centers], axis=0))"},
        {"check_kmeans_plus_plus": "not its square"}),
    "distance to the last centre": (
        {"squared_distances": "((X - centers[-1]) ** 2).sum(axis=1)"},
        {"check_kmeans_plus_plus": "not to the last one"}),
    "uniform draws": (
        {"probabilities": "np.full(len(X), 1 / len(X))"},
        {"check_kmeans_plus_plus": "kmeans_plus_plus"}),
    "gains not per sample": (
        {"gains": "np.diff(log_likelihoods)"},
        {"check_has_converged": "not divided by the number of samples"}),
    "no patience": (
        {"converged": "len(gains) >= 1 and gains[-1] < tol"},
        {"check_has_converged": "only the last gain", "check_runs": "plateau"}),
    "any instead of all": (
        {"converged": "len(gains) >= patience and bool(np.any(gains[-patience:] < tol))"},
        {"check_has_converged": "*all*", "check_runs": "plateau"}),
    "lowest run": (
        {"best": "runs[int(np.argmin(final_log_likelihoods))]"},
        {"check_best_run": "*lowest*", "check_restarts": "highest"}),
    "first values": (
        {"final_log_likelihoods": "[run['log_likelihoods'][0] for run in runs]",
         "best": "runs[int(np.argmax(final_log_likelihoods))]"},
        {"check_best_run": "*first*"}),
    "an index": (
        {"best": "int(np.argmax(final_log_likelihoods))"},
        {"check_best_run": "index", "check_restarts": "best"}),
}


release, run_until_student_cell, failures = student_notebook(ASSIGNMENT, STUDENT_CELL, init_convergence.CHECKS)


def test_the_seed_start_has_a_plateau_that_stops_a_rule_without_patience():
    problem = seed.problem_2d()
    patient = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 5, 500)
    hasty = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 1, 500)
    assert len(hasty.log_likelihoods) < 5 < 30 < len(patient.log_likelihoods)
    assert (patient.log_likelihoods[-1] - hasty.log_likelihoods[-1]) / len(problem.data) > 0.3


def test_scikit_learn_default_tolerance_stops_the_seed_start_on_the_plateau():
    problem = seed.problem_2d()
    mu, cov, pi = problem.start
    gm = GaussianMixture(2, covariance_type="full", tol=1e-3, reg_covar=0, max_iter=500, weights_init=pi,
                         means_init=mu, precisions_init=np.linalg.inv(cov)).fit(problem.data)
    converged = initialisation.fit_until_converged(problem.data, problem.start, 1e-6, 5, 500)
    assert gm.n_iter_ < 5
    assert gm.score(problem.data) < converged.log_likelihoods[-1] / len(problem.data) - 0.3


def test_reference_kmeans_plus_plus_never_repeats_a_point_and_prefers_far_ones():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0]])
    draws = [initialisation.kmeans_plus_plus(X, 2, np.random.default_rng(s)) for s in range(200)]
    assert all(tuple(first) != tuple(second) for first, second in draws)
    from_origin = [tuple(second) for first, second in draws if tuple(first) == (0.0, 0.0)]
    assert from_origin and from_origin.count((10.0, 0.0)) > 0.95 * len(from_origin)


def test_reference_runs_agree_with_the_e_and_m_steps():
    problem = seed.problem_2d()
    run = initialisation.fit_until_converged(problem.data, problem.start, 1e-3, 5, 500)
    fixed = multivariate.fit(problem.data, *problem.start, len(run.log_likelihoods))
    np.testing.assert_allclose(run.log_likelihoods, fixed.log_likelihoods)


def test_correct_answers_pass_every_check():
    assert failures(run_until_student_cell(fill_blanks(release(), CORRECT))) == {}


def test_blank_release_fails_every_check():
    assert set(failures(run_until_student_cell(release()))) == {c.__name__ for _, c in init_convergence.CHECKS}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_the_right_checks_with_a_diagnosis(name):
    changes, expected = WRONG[name]
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))
    for check, words in expected.items():
        assert check in failed, f"{check} passed"
        assert words in failed[check], failed[check]


def test_a_wrong_seeding_keeps_the_credit_of_the_runs():
    changes, _ = WRONG["distance not squared"]
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))
    assert set(failed) == {"check_kmeans_plus_plus"}
