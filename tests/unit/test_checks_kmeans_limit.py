"""Notebook 08's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.cluster import KMeans

from grader.checks import kmeans_limit
from grader.course import DEFAULT_ROOT, Course
from grader.em import kmeans as reference
from grader.em import seed
from grader.misconceptions import KMEANS_LIMIT
from grader.samples import MUTANTS, fill_blanks
from tests.support.notebook_runs import failure_messages, run_cells

ASSIGNMENT = "08_kmeans_limit"
RELEASE = Course(DEFAULT_ROOT).release / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Right answers as a student might type them (absolute distance: same argmin).
CORRECT = {
    "log_weighted": "np.log(pi)[None, :] - 0.5 * (x[:, None] - mu[None, :]) ** 2 / variance",
    "nearest": "np.abs(x[:, None] - mu[None, :]).argmin(axis=1)",
    "r": "np.eye(len(mu))[nearest]",
    "means": "(weights * x[:, None]).sum(axis=0) / weights.sum(axis=0)",
}

SOFT, HARD, MEANS, LIMIT = (check.__name__ for _, check in kmeans_limit.CHECKS)


def run_release(answers, until="assignments"):
    """Execute the release's code cells with ``answers`` filled in (None: as released) up to ``until``."""
    notebook = nbformat.read(RELEASE, as_version=4)
    return run_cells(notebook if answers is None else fill_blanks(notebook, answers), until)


def failures(ns):
    return failure_messages(kmeans_limit.CHECKS, ns)


def test_reference_lloyd_matches_scikit_learn_from_the_same_start():
    problem = seed.problem_1d()
    start = problem.start[0]
    model = KMeans(2, init=start[:, None], n_init=1, algorithm="lloyd", tol=0).fit(problem.data[:, None])
    np.testing.assert_allclose(reference.lloyd(problem.data, start, 20), model.cluster_centers_[:, 0], rtol=1e-12)


def test_reference_em_reaches_the_centroids_only_for_a_small_variance():
    problem = seed.problem_1d()
    start = problem.start[0]
    centroids = reference.lloyd(problem.data, start, 20)
    assert not np.allclose(reference.em_fixed_variance(problem.data, start, 4.0, 20), centroids, atol=1e-3)
    np.testing.assert_allclose(reference.em_fixed_variance(problem.data, start, 1e-6, 20), centroids, rtol=1e-12)


def test_typed_right_answers_pass_every_check():
    ns = run_release(CORRECT)
    assert failures(ns) == {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert kmeans_limit.self_check(ns) is True
    assert output.getvalue().strip().split("\n")[-1].startswith("All checks passed")


@pytest.mark.parametrize(
    "changes, failing, explanation",
    [
        ({"log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / variance"}, {SOFT}, "factor 1/2"),
        (
            {"log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / (2 * variance ** 2)"},
            {SOFT},
            "do not square it again",
        ),
        ({"log_weighted": "-(x[:, None] - mu[None, :]) ** 2 / (2 * variance)"}, {SOFT}, "np.log(pi)"),
        (
            {"log_weighted": "np.log(pi) + (x[:, None] - mu[None, :]) ** 2 / (2 * variance)"},
            {SOFT, LIMIT},
            "minus sign",
        ),
        (
            {"log_weighted": "np.log(pi * np.exp(-(x[:, None] - mu[None, :]) ** 2 / (2 * variance)))"},
            {SOFT, LIMIT},
            "underflows",
        ),
        ({"nearest": "np.argmax((x[:, None] - mu[None, :]) ** 2, axis=1)"}, {HARD, LIMIT}, "argmax"),
        ({"r": "nearest"}, {HARD, LIMIT}, "should have shape"),
        ({"means": "weights.T @ x / len(x)"}, {MEANS, LIMIT}, "not by the number of points N"),
    ],
)
def test_typical_mistakes_fail_their_checks_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    first = next(check.__name__ for _, check in kmeans_limit.CHECKS if check.__name__ in failing)
    assert explanation in failed[first], failed[first]


def test_missing_half_keeps_the_limit_points():
    """A soft_assign off by a constant factor in the variance still hardens: only its own check fails."""
    ns = run_release({**CORRECT, "log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / variance"})
    with pytest.raises(kmeans_limit.CheckFailed):
        kmeans_limit.check_soft_assign(ns)
    kmeans_limit.check_limit(ns)


# --- the catalogue (each sample judged on the notebook's and hidden inputs: tests/unit/test_catalogue.py) ---


MUTANTS_08 = [s for s in MUTANTS if s.assignment_id == ASSIGNMENT]


def test_every_catalogue_id_of_the_notebook_has_a_mutant():
    assert {s.misconception for s in MUTANTS_08} == {m.id for m in KMEANS_LIMIT}


def _soft_of(log_weighted):
    def soft_assign(x, mu, variance, pi):
        d = x[:, None] - mu[None, :]
        value = log_weighted(d, variance, pi)
        return np.exp(value - logsumexp(value, axis=1, keepdims=True))

    return soft_assign


HALF_MISSING = _soft_of(lambda d, v, pi: np.log(pi) - d**2 / v)
AS_STD = _soft_of(lambda d, v, pi: np.log(pi) - d**2 / (2 * np.sqrt(v)))


@pytest.mark.parametrize("function, named", [(HALF_MISSING, "soft-half-missing"), (AS_STD, "soft-variance-as-std")])
def test_missing_half_and_std_for_variance_coincide_at_variance_four_and_are_told_apart(function, named, monkeypatch):
    """The issue's misleading diagnosis: both mistakes give the same responsibilities at variance 4 (4 / 2 = sqrt 4)."""
    problem = kmeans_limit.notebook_problem()
    mu, pi = np.array([0.0, 5.0]), np.array([0.3, 0.7])
    np.testing.assert_allclose(HALF_MISSING(problem.data, mu, 4.0, pi), AS_STD(problem.data, mu, 4.0, pi))
    ns = {"data": problem.data, "soft_assign": function}
    with pytest.raises(kmeans_limit.CheckFailed) as failed:
        kmeans_limit.check_soft_assign(ns)
    assert failed.value.diagnosis == (named,)
    # judged at variance 4 alone, the two cannot be told apart: then neither is named
    monkeypatch.setattr(kmeans_limit, "VARIANCES", (4.0,))
    with pytest.raises(kmeans_limit.CheckFailed) as failed:
        kmeans_limit.check_soft_assign(ns)
    assert failed.value.diagnosis == () and "matches no known mistake" in str(failed.value)


def test_squared_variance_and_multiplied_variance_coincide_with_correct_at_variance_one_and_are_told_apart():
    problem = kmeans_limit.notebook_problem()
    for log_weighted, named in [
        (lambda d, v, pi: np.log(pi) - d**2 / (2 * v**2), "soft-variance-squared"),
        (lambda d, v, pi: np.log(pi) - d**2 / 2 * v, "soft-variance-multiplied"),
    ]:
        function = _soft_of(log_weighted)
        mu, pi = np.array([0.0, 5.0]), np.array([0.3, 0.7])
        np.testing.assert_allclose(
            function(problem.data, mu, 1.0, pi), reference.soft_assign(problem.data, mu, 1.0, pi)
        )
        with pytest.raises(kmeans_limit.CheckFailed) as failed:
            kmeans_limit.check_soft_assign({"data": problem.data, "soft_assign": function})
        assert failed.value.diagnosis == (named,)


def test_two_mistakes_at_once_match_no_known_mistake():
    problem = kmeans_limit.notebook_problem()
    function = _soft_of(lambda d, v, pi: -np.abs(d) / v)
    with pytest.raises(kmeans_limit.CheckFailed) as failed:
        kmeans_limit.check_soft_assign({"data": problem.data, "soft_assign": function})
    assert failed.value.diagnosis == () and "matches no known mistake" in str(failed.value)


def test_messages_show_no_decimal_numbers():
    assert [kmeans_limit.shown(v) for v in kmeans_limit.VARIANCES] == ["4", "1", "25e-2", "1e-2", "1e-4", "1e-6"]


def test_wrong_data_is_reported():
    ns = run_release(CORRECT)
    ns["data"] = ns["data"] + 1
    with pytest.raises(kmeans_limit.CheckFailed, match="re-run the notebook from the top"):
        kmeans_limit.check_limit(ns)


def test_blank_release_fails_every_check_with_run_the_cell():
    ns = run_release(None, until="data")
    failed = failures(ns)
    assert set(failed) == {SOFT, HARD, MEANS, LIMIT}
    assert all("is not defined" in message for message in failed.values())
