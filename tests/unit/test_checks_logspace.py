"""Notebook 03's checks on answers typed into the release's blanks, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import numpy as np
import pytest
from scipy.special import logsumexp

from grader.assignments import INPUTS, default_registry
from grader.checks import CheckFailed, logspace
from grader.checks.candidates import attempt, reproduces
from grader.checks.core import all_close
from grader.em import seed, univariate
from grader.misconceptions import diagnosis_ids
from grader.samples import ALTERNATIVES, MUTANTS, fill_blanks
from tests.support.notebook_runs import student_notebook

ASSIGNMENT = "03_logspace"
STUDENT_CELL = "logspace_em"

#: Correct, written differently from the solution.
CORRECT = {
    "log_weighted[:, k]": (
        "np.log(pi[k]) - np.log(sigma[k]) - 0.5 * np.log(2 * np.pi) - (data - mu[k]) ** 2 / (2 * sigma[k] ** 2)"
    ),
    "log_norm": "logsumexp(log_weighted, axis=1)[:, None]",
    "log_gamma": "log_weighted - log_norm",
    "log_likelihood": "np.sum(logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=1))",
}

#: Typical wrong answers: blanks that differ from CORRECT -> (checks that must fail, words the message must contain).
WRONG = {
    "log of the density": (
        {"log_weighted[:, k]": "np.log(pi[k]) + np.log(norm.pdf(data, mu[k], sigma[k]))"},
        {
            "check_log_weighted": "[log-of-underflowed-density]",
            "check_log_responsibilities": "fix log_weighted_densities first",
            "check_log_likelihood": "fix log_weighted_densities first",
            "check_outlier_run": "NaN",
        },
    ),
    "weights missing": (
        {"log_weighted[:, k]": "norm.logpdf(data, mu[k], sigma[k])"},
        {"check_log_weighted": "[log-weight-missing]", "check_seed_agreement": "differ"},
    ),
    "pi instead of log pi": (
        {"log_weighted[:, k]": "pi[k] + norm.logpdf(data, mu[k], sigma[k])"},
        {"check_log_weighted": "[log-weight-not-logged]"},
    ),
    "exponentiated before summing": (
        {"log_norm": "np.log(np.exp(log_weighted).sum(axis=1, keepdims=True))"},
        {"check_log_responsibilities": "[exp-before-logsumexp]", "check_outlier_run": "NaN"},
    ),
    "normalised over points": (
        {"log_norm": "logsumexp(log_weighted, axis=0, keepdims=True)"},
        {"check_log_responsibilities": "[logsumexp-wrong-axis]"},
    ),
    "keepdims forgotten": (
        {"log_norm": "logsumexp(log_weighted, axis=1)"},
        {"check_log_responsibilities": "ValueError", "check_seed_agreement": "[logsumexp-keepdims-missing]"},
    ),
    "divided in log space": (
        {"log_gamma": "log_weighted / log_norm"},
        {"check_log_responsibilities": "[log-gamma-divided]"},
    ),
    "naive log-likelihood": (
        {"log_likelihood": "np.sum(np.log(np.sum(np.exp(log_weighted_densities(data, mu, sigma, pi)), axis=1)))"},
        {"check_log_likelihood": "[loglik-exp-before-log]"},
    ),
    "log-likelihood over the components": (
        {"log_likelihood": "logsumexp(log_weighted_densities(data, mu, sigma, pi), axis=0).sum()"},
        {"check_log_likelihood": "[loglik-logsumexp-axis]", "check_seed_agreement": "log-likelihoods"},
    ),
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


# --- the catalogue: each mistake named by its own id only, and only when the numbers single it out -------------

SAMPLES = [s for s in MUTANTS + ALTERNATIVES if s.assignment_id == ASSIGNMENT]


def diagnosed(ns):
    """(ids the checks named, {check: message}, what they wrote to stderr) on ``ns``."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        failed = {}
        ids = set()
        for _, check in logspace.CHECKS:
            try:
                check(ns)
            except CheckFailed as failure:
                failed[check.__name__] = str(failure)
                assert set(failure.diagnosis) == set(diagnosis_ids(str(failure))), str(failure)
                ids |= set(failure.diagnosis)
    return ids, failed, errors.getvalue()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.key)
def test_each_sample_is_named_by_its_own_id_only_and_silently(sample):
    ids, failed, stderr = diagnosed(run_until_student_cell(sample.notebook(release())))
    assert stderr == ""
    if sample.misconception is None:
        assert failed == {}
    else:
        assert failed and ids == {sample.misconception}, failed


def hidden_problems(count=3):
    rng = np.random.default_rng(2024)
    spec = default_registry()[ASSIGNMENT]
    found = []
    while len(found) < count:
        drawn = spec.hidden(rng)
        if drawn is not None:
            found.append(drawn.details)
    return found


def own_cases(problem):
    return [
        logspace.OwnCase(c.label, c.data, c.params, c.judged, logspace._numerators(c), True)
        for c in logspace._cases({INPUTS: problem})
    ]


@pytest.mark.parametrize(
    "candidates, own",
    [
        (logspace.NUMERATOR_CANDIDATES, False),
        (logspace.RESPONSIBILITY_CANDIDATES, True),
        (logspace.LOG_LIKELIHOOD_CANDIDATES, True),
    ],
    ids=["numerators", "responsibilities", "log-likelihood"],
)
def test_two_catalogued_mistakes_never_coincide_on_every_input(candidates, own):
    for problem in [logspace.notebook_problem(), *hidden_problems()]:
        cases = own_cases(problem) if own else logspace._cases({INPUTS: problem})
        for i, (ids, compute) in enumerate(candidates):
            for other, other_compute in candidates[i + 1 :]:
                if other == ids:
                    continue
                same = [reproduces(attempt(compute, c), attempt(other_compute, c), logspace._agree(c)) for c in cases]
                assert not all(same), (ids, other)


def test_mistakes_that_coincide_on_the_seed_data_are_told_apart_by_the_outlier():
    # exponentiating first is right wherever the densities are representable: only the outlier shows it
    cases = own_cases(logspace.notebook_problem())
    naive = next(f for ids, f in logspace.RESPONSIBILITY_CANDIDATES if ids == ("exp-before-logsumexp",))
    correct = next(f for ids, f in logspace.RESPONSIBILITY_CANDIDATES if ids == ())
    same = [reproduces(attempt(naive, c), attempt(correct, c), all_close) for c in cases]
    assert same[:2] == [True, True] and not all(same)
    ids, _, _ = diagnosed(
        run_until_student_cell(
            fill_blanks(release(), {**CORRECT, "log_norm": "np.log(np.exp(log_weighted).sum(axis=1, keepdims=True))"})
        )
    )
    assert ids == {"exp-before-logsumexp"}


def test_a_missing_keepdims_is_named_from_the_numbers_where_it_broadcasts():
    # (N, K) - (N,) raises for N != K; on three points with three components it computes, and that value names it
    ns = run_until_student_cell(fill_blanks(release(), {**CORRECT, "log_norm": "logsumexp(log_weighted, axis=1)"}))
    with pytest.raises(CheckFailed) as failure:
        logspace.check_log_responsibilities(ns)
    assert failure.value.diagnosis == ("logsumexp-keepdims-missing",)
    # a function that raises everywhere, also where the missing keepdims would broadcast, is not accused of it
    ns["log_responsibilities"] = lambda data, mu, sigma, pi: np.zeros((len(data), len(pi))) - np.zeros(len(data))
    with pytest.raises(CheckFailed) as failure:
        logspace.check_log_responsibilities(ns)
    assert failure.value.diagnosis == () and "ValueError" in str(failure.value)


def test_a_value_that_mixes_two_mistakes_across_inputs_matches_no_known_mistake():
    ns = run_until_student_cell(fill_blanks(release(), CORRECT))

    def two_faced(data, mu, sigma, pi):  # over the points for K = 3, the max alone for K = 2
        a = ns["log_weighted_densities"](data, mu, sigma, pi)
        if len(pi) == 3:
            return a - logsumexp(a, axis=0, keepdims=True)
        return a - a.max(axis=1, keepdims=True)

    ns["log_responsibilities"] = two_faced
    with pytest.raises(CheckFailed) as failure:
        logspace.check_log_responsibilities(ns)
    assert failure.value.diagnosis == () and "matches no known mistake" in str(failure.value)


def test_run_checks_name_the_function_checks_diagnosis_as_the_likely_cause():
    answers = {**CORRECT, "log_weighted[:, k]": "norm.logpdf(data, mu[k], sigma[k])"}
    ns = run_until_student_cell(fill_blanks(release(), answers))
    with pytest.raises(CheckFailed) as failure:
        logspace.check_seed_agreement(ns)
    assert failure.value.diagnosis == ("log-weight-missing",) and "Likely cause" in str(failure.value)
