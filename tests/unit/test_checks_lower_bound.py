"""Notebook 07's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
from scipy.special import xlogy

from grader.assignments import default_registry
from grader.checks import lower_bound
from grader.checks.candidates import attempt, reproduces
from grader.course import DEFAULT_ROOT, Course
from grader.em import elbo as reference
from grader.em import seed, univariate
from grader.misconceptions import diagnosis_ids
from grader.samples import ALTERNATIVES, MUTANTS, fill_blanks
from tests.support.notebook_runs import run_cells

ASSIGNMENT = "07_elbo"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Right answers as a student might type them.
CORRECT = {
    "elbo_value": "np.sum(q * (log_joint(x, mu, sigma, pi))) - np.sum(xlogy(q, q))",
    "log_posterior": "joint - logsumexp(joint, axis=1)[:, None]",
    "kl": "np.sum(xlogy(q, q) - q * log_posterior)",
}

CHECKS = {
    "elbo": lower_bound.check_elbo,
    "tight": lower_bound.check_elbo_tight,
    "kl": lower_bound.check_kl,
    "sum": lower_bound.check_decomposition,
}


def run_release(answers, until="bound"):
    """Execute the release's code cells with ``answers`` filled in (None: as released) up to ``until``."""
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    out = {}
    for name, check in CHECKS.items():
        try:
            check(ns)
        except lower_bound.CheckFailed as failure:
            out[name] = str(failure)
    return out


def test_reference_satisfies_the_decomposition_for_arbitrary_q():
    problem = seed.problem_1d()
    rng = np.random.default_rng(1)
    for _ in range(5):
        mu, sigma, pi = rng.normal(2, 3, 3), rng.uniform(0.5, 3, 3), rng.dirichlet(np.ones(3))
        q = rng.dirichlet(np.full(3, 0.3), size=len(problem.data))
        log_lik = univariate.log_likelihood(problem.data, mu, sigma, pi)
        lower = reference.elbo(problem.data, q, mu, sigma, pi)
        assert lower <= log_lik
        assert lower + reference.kl_divergence(problem.data, q, mu, sigma, pi) == pytest.approx(log_lik, rel=1e-12)
        posterior = univariate.e_step(problem.data, mu, sigma, pi)
        assert reference.elbo(problem.data, posterior, mu, sigma, pi) == pytest.approx(log_lik, rel=1e-12)


def test_typed_right_answers_pass_every_check():
    ns = run_release(CORRECT)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert lower_bound.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


@pytest.mark.parametrize(
    "changes, failing, explanation",
    [
        ({"elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi))"}, {"elbo", "tight", "sum"}, "[elbo-entropy-missing]"),
        (
            {"elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi)) + np.sum(xlogy(q, q))"},
            {"elbo", "tight", "sum"},
            "[elbo-entropy-sign]",
        ),
        (
            {"elbo_value": "np.mean(np.sum(q * log_joint(x, mu, sigma, pi) - xlogy(q, q), axis=1))"},
            {"elbo", "tight", "sum"},
            "[mean-instead-of-sum]",
        ),
        ({"kl": "np.sum(q * log_posterior) - np.sum(xlogy(q, q))"}, {"kl", "sum"}, "[kl-sign]"),
        ({"log_posterior": "joint - logsumexp(joint, axis=0, keepdims=True)"}, {"kl", "sum"}, "[logsumexp-wrong-axis]"),
        ({"log_posterior": "joint"}, {"kl", "sum"}, "[posterior-is-joint]"),
        ({"log_posterior": "joint - logsumexp(joint, axis=1)"}, {"kl", "sum"}, "[logsumexp-keepdims-missing]"),
        ({"kl": "np.sum(q * (np.log(q) - log_posterior))"}, {"sum"}, "[q-log-q-without-xlogy]"),
        ({"elbo_value": "np.sum(q * (log_joint(x, mu, sigma, pi) - np.log(q)))"}, {"sum"}, "[q-log-q-without-xlogy]"),
    ],
)
def test_typical_mistakes_fail_their_checks_and_are_named(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    for name in failing:
        assert explanation in failed[name], failed[name]


def test_missing_entropy_stays_below_the_log_likelihood_but_fails_on_its_value():
    ns = run_release({**CORRECT, "elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi))"})
    with pytest.raises(lower_bound.CheckFailed) as failure:  # Q(theta) <= ln p too: only the value betrays it
        lower_bound.check_elbo(ns)
    assert "exceeds" not in str(failure.value) and "does not compute" in str(failure.value)


def test_an_elbo_above_the_log_likelihood_fails_as_such():
    ns = run_release({**CORRECT, "elbo_value": "-np.sum(q * log_joint(x, mu, sigma, pi))"})
    with pytest.raises(lower_bound.CheckFailed, match="exceeds the log-likelihood") as failure:
        lower_bound.check_elbo(ns)
    assert failure.value.diagnosis == () and "matches no known mistake" in str(failure.value)


def test_a_vector_instead_of_a_sum_is_named():
    ns = run_release({**CORRECT, "kl": "(xlogy(q, q) - q * log_posterior).sum(axis=1)"})
    assert "single number" in failures(ns)["kl"]


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == set(CHECKS)
    assert all("is not defined" in message for message in failed.values())


# --- the catalogue: each mistake named by its own id only, and only when the numbers single it out -------------

SAMPLES = [s for s in MUTANTS + ALTERNATIVES if s.assignment_id == ASSIGNMENT]


def diagnosed(ns):
    """(ids the checks named, {check: message}, what they wrote to stderr) on ``ns``."""
    errors = io.StringIO()
    ids, failed = set(), {}
    with contextlib.redirect_stderr(errors):
        for name, check in CHECKS.items():
            try:
                check(ns)
            except lower_bound.CheckFailed as failure:
                failed[name] = str(failure)
                assert set(failure.diagnosis) == set(diagnosis_ids(str(failure))), str(failure)
                ids |= set(failure.diagnosis)
    return ids, failed, errors.getvalue()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.key)
def test_each_sample_is_named_by_its_own_id_only_and_silently(sample):
    release = nbformat.read(RELEASE, as_version=4)
    ids, failed, stderr = diagnosed(run_cells(sample.notebook(release), "bound"))
    assert stderr == ""
    if sample.misconception is None:
        assert failed == {}
    else:
        assert failed and ids == {sample.misconception}, failed


def problems():
    rng = np.random.default_rng(7)
    spec = default_registry()[ASSIGNMENT]
    return [lower_bound.notebook_problem(), *(spec.hidden(rng).details for _ in range(3))]


@pytest.mark.parametrize("name", ["elbo", "kl_divergence"])
def test_two_catalogued_mistakes_never_coincide_on_every_input(name):
    candidates = lower_bound.CANDIDATES[name]
    for problem in problems():
        cases = lower_bound._diagnostic_cases(problem)
        for i, (ids, compute) in enumerate(candidates):
            for other, other_compute in candidates[i + 1 :]:
                if other != ids:
                    assert not all(
                        reproduces(attempt(compute, c), attempt(other_compute, c), lower_bound._agreement(c))
                        for c in cases
                    ), (ids, other)


def test_mistakes_that_coincide_at_the_posterior_are_told_apart_by_an_arbitrary_q():
    # at q = posterior a reversed sign, a mean and the right KL are all 0; an arbitrary q separates them
    cases = lower_bound._diagnostic_cases(lower_bound.notebook_problem())
    at_posterior = cases[1]
    values = {
        ids: attempt(f, at_posterior)
        for ids, f in lower_bound.KL_CANDIDATES
        if ids in {(), ("kl-sign",), ("mean-instead-of-sum",)}
    }
    assert all(abs(v) < 1e-9 for v in values.values())
    for kl, named in [
        ("np.sum(q * log_posterior) - np.sum(xlogy(q, q))", "kl-sign"),
        ("np.mean(xlogy(q, q) - q * log_posterior)", "mean-instead-of-sum"),
    ]:
        ids, failed, _ = diagnosed(run_release({**CORRECT, "kl": kl}))
        assert ids == {named}, failed


def test_a_value_that_mixes_two_mistakes_across_inputs_matches_no_known_mistake():
    ns = run_release(CORRECT)
    right = ns["elbo"]

    def two_faced(x, q, mu, sigma, pi):  # no entropy for K = 3, the entropy's sign flipped for K = 2
        entropy = -np.sum(xlogy(q, q))
        return right(x, q, mu, sigma, pi) - entropy if len(pi) == 3 else right(x, q, mu, sigma, pi) - 2 * entropy

    ns["elbo"] = two_faced
    with pytest.raises(lower_bound.CheckFailed) as failure:
        lower_bound.check_elbo(ns)
    assert failure.value.diagnosis == () and "matches no known mistake" in str(failure.value)


def test_nan_for_exact_zeros_is_named_only_when_q_log_q_explains_every_value():
    ns = run_release(CORRECT)
    right = ns["kl_divergence"]

    def nan_for_zeros(x, q, mu, sigma, pi):  # NaN for exact zeros, but also off on three points, where q > 0
        if np.any(q == 0):
            return np.nan
        return right(x, q, mu, sigma, pi) * (2 if len(x) == 3 else 1)

    ns["kl_divergence"] = nan_for_zeros
    with pytest.raises(lower_bound.CheckFailed, match="one-hot") as failure:
        lower_bound.check_decomposition(ns)
    assert failure.value.diagnosis == () and "matches no known mistake" in str(failure.value)
    ns["kl_divergence"] = lambda x, q, mu, sigma, pi: np.nan if np.any(q == 0) else right(x, q, mu, sigma, pi)
    with pytest.raises(lower_bound.CheckFailed) as failure:
        lower_bound.check_decomposition(ns)
    assert failure.value.diagnosis == ("q-log-q-without-xlogy",)
