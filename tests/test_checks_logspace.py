"""Notebook 03's checks on answers typed into the release's blanks, run in-process (fast) rather than in a kernel."""

import numpy as np
import pytest

from grader.checks import logspace
from grader.em import seed, univariate
from grader.samples import fill_blanks
from tests.notebook_runs import student_notebook

ASSIGNMENT = "03_logspace"
STUDENT_CELL = "logspace_em"

#: Correct, written differently from the solution.
CORRECT = {
    "log_weighted[:, k]": ("np.log(pi[k]) - np.log(sigma[k]) - 0.5 * np.log(2 * np.pi)"
                           " - (data - mu[k]) ** 2 / (2 * sigma[k] ** 2)"),
    "log_norm": "logsumexp(log_weighted, axis=1)[:, None]",
    "log_gamma": "log_weighted - log_norm",
    "log_likelihood": "np.sum(logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=1))",
}

#: Typical wrong answers: blanks that differ from CORRECT -> (checks that must fail, words the message must contain).
WRONG = {
    "log of the density": (
        {"log_weighted[:, k]": "np.log(pi[k]) + np.log(norm.pdf(data, mu[k], sigma[k]))"},
        {"check_log_weighted": "norm.logpdf", "check_log_responsibilities": "fix log_weighted_densities first",
         "check_log_likelihood": "fix log_weighted_densities first", "check_outlier_run": "NaN"}),
    "weights missing": (
        {"log_weighted[:, k]": "norm.logpdf(data, mu[k], sigma[k])"},
        {"check_log_weighted": "weights-missing-in-estep", "check_seed_agreement": "differ"}),
    "pi instead of log pi": (
        {"log_weighted[:, k]": "pi[k] + norm.logpdf(data, mu[k], sigma[k])"},
        {"check_log_weighted": "ln pi_k, not pi_k"}),
    "exponentiated before summing": (
        {"log_norm": "np.log(np.exp(log_weighted).sum(axis=1, keepdims=True))"},
        {"check_log_responsibilities": "logsumexp", "check_outlier_run": "NaN"}),
    "normalised over points": (
        {"log_norm": "logsumexp(log_weighted, axis=0, keepdims=True)"},
        {"check_log_responsibilities": "responsibilities-unnormalised"}),
    "keepdims forgotten": (
        {"log_norm": "logsumexp(log_weighted, axis=1)"},
        {"check_log_responsibilities": "ValueError"}),
    "divided in log space": (
        {"log_gamma": "log_weighted / log_norm"},
        {"check_log_responsibilities": "log-probability"}),
    "naive log-likelihood": (
        {"log_likelihood": "np.sum(np.log(np.sum(np.exp(log_weighted_densities(data, mu, sigma, pi)), axis=1)))"},
        {"check_log_likelihood": "logsumexp"}),
    "log-likelihood over the components": (
        {"log_likelihood": "logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=0).sum()"},
        {"check_log_likelihood": "loglik-wrong", "check_seed_agreement": "log-likelihoods"}),
}


release, run_until_student_cell, failures = student_notebook(ASSIGNMENT, STUDENT_CELL, logspace.CHECKS)


def test_density_em_really_fails_on_the_outlier_and_reference_does_not():
    problem = seed.problem_1d()
    fitted = univariate.fit(problem.data, *problem.start, problem.n_iterations).final
    log_weighted = univariate.estimate_weighted_log_prob([logspace.OUTLIER], *fitted)
    assert np.all(np.exp(log_weighted) == 0.0)  # the premise of the notebook: both densities underflow
    run = univariate.fit(np.append(problem.data, logspace.OUTLIER), *fitted, 20)
    assert all(np.all(np.isfinite(p)) for p in run.final) and np.all(np.isfinite(run.log_likelihoods))


def test_correct_answers_pass_every_check():
    assert failures(run_until_student_cell(fill_blanks(release(), CORRECT))) == {}


def test_blank_release_fails_every_check():
    assert set(failures(run_until_student_cell(release()))) == {c.__name__ for _, c in logspace.CHECKS}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_the_right_checks_with_a_diagnosis(name):
    changes, expected = WRONG[name]
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))
    for check, words in expected.items():
        assert check in failed, f"{check} passed"
        assert words in failed[check], failed[check]


def test_a_wrong_numerator_keeps_the_seed_agreement_credit():
    changes, _ = WRONG["log of the density"]
    failed = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))
    assert "check_seed_agreement" not in failed


def test_messages_never_print_the_expected_log_likelihood():
    changes, _ = WRONG["log-likelihood over the components"]
    message = failures(run_until_student_cell(fill_blanks(release(), {**CORRECT, **changes})))["check_log_likelihood"]
    problem = seed.problem_1d()
    expected = univariate.log_likelihood(problem.data, *problem.start)
    assert f"{expected:.1f}" not in message and f"{abs(expected):.0f}" not in message
