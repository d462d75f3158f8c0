"""Notebook 07's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import nbformat
import numpy as np
import pytest

from grader.checks import lower_bound
from grader.course import DEFAULT_ROOT, Course
from grader.em import elbo as reference
from grader.em import seed, univariate
from grader.samples import fill_blanks
from tests.notebook_runs import run_cells

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


@pytest.mark.parametrize("changes, failing, explanation", [
    ({"elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi))"},
     {"elbo", "tight", "sum"}, "expected complete-data log-likelihood"),
    ({"elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi)) + np.sum(xlogy(q, q))"},
     {"elbo", "tight", "sum"}, "minus sign"),
    ({"elbo_value": "np.mean(np.sum(q * log_joint(x, mu, sigma, pi) - xlogy(q, q), axis=1))"},
     {"elbo", "tight", "sum"}, "not their mean"),
    ({"kl": "np.sum(q * log_posterior) - np.sum(xlogy(q, q))"},
     {"kl", "sum"}, "never negative"),
    ({"log_posterior": "joint - logsumexp(joint, axis=0, keepdims=True)"},
     {"kl", "sum"}, "not over the points"),
    ({"log_posterior": "joint"}, {"kl", "sum"}, "not with the joint"),
    ({"kl": "np.sum(q * (np.log(q) - log_posterior))"}, {"sum"}, "xlogy(q, q)"),
    ({"elbo_value": "np.sum(q * (log_joint(x, mu, sigma, pi) - np.log(q)))"}, {"sum"}, "xlogy(q, q)"),
])
def test_typical_mistakes_fail_their_checks_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    first = next(name for name in CHECKS if name in failing)
    assert explanation in failed[first], failed[first]


def test_missing_entropy_passes_the_visible_bound_but_not_the_hidden_value():
    ns = run_release({**CORRECT, "elbo_value": "np.sum(q * log_joint(x, mu, sigma, pi))"})
    lower_bound.check_elbo(ns, invariants_only=True)  # Q(theta) <= ln p too: only the value betrays it
    with pytest.raises(lower_bound.CheckFailed):
        lower_bound.check_elbo(ns)


def test_an_elbo_above_the_log_likelihood_fails_the_visible_check():
    ns = run_release({**CORRECT, "elbo_value": "-np.sum(q * log_joint(x, mu, sigma, pi))"})
    with pytest.raises(lower_bound.CheckFailed, match="exceeds the log-likelihood"):
        lower_bound.check_elbo(ns, invariants_only=True)


def test_a_vector_instead_of_a_sum_is_named():
    ns = run_release({**CORRECT, "kl": "(xlogy(q, q) - q * log_posterior).sum(axis=1)"})
    assert "single number" in failures(ns)["kl"]


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == set(CHECKS)
    assert all("is not defined" in message for message in failed.values())
