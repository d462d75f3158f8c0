"""Notebook 08's checks on answers typed into its release, run in-process (fast) rather than in a kernel."""

import contextlib
import io

import nbformat
import numpy as np
import pytest
from sklearn.cluster import KMeans

from grader.checks import kmeans_limit
from grader.course import DEFAULT_ROOT, Course
from grader.em import kmeans as reference
from grader.em import seed
from grader.samples import fill_blanks
from tests.notebook_runs import failure_messages, run_cells

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


@pytest.mark.parametrize("changes, failing, explanation", [
    ({"log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / variance"}, {SOFT}, "factor 1/2"),
    ({"log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / (2 * variance ** 2)"}, {SOFT},
     "do not square it again"),
    ({"log_weighted": "-(x[:, None] - mu[None, :]) ** 2 / (2 * variance)"}, {SOFT}, "+ ln pi_k"),
    ({"log_weighted": "np.log(pi) + (x[:, None] - mu[None, :]) ** 2 / (2 * variance)"}, {SOFT, LIMIT},
     "minus sign"),
    ({"log_weighted": "np.log(pi * np.exp(-(x[:, None] - mu[None, :]) ** 2 / (2 * variance)))"}, {SOFT, LIMIT},
     "underflows"),
    ({"nearest": "np.argmax((x[:, None] - mu[None, :]) ** 2, axis=1)"}, {HARD, LIMIT}, "FARTHEST"),
    ({"r": "nearest"}, {HARD, LIMIT}, "should have shape"),
    ({"means": "weights.T @ x / len(x)"}, {MEANS, LIMIT}, "not by the number of points N"),
])
def test_typical_mistakes_fail_their_checks_and_are_explained(changes, failing, explanation):
    failed = failures(run_release({**CORRECT, **changes}))
    assert set(failed) == failing
    first = next(check.__name__ for _, check in kmeans_limit.CHECKS if check.__name__ in failing)
    assert explanation in failed[first], failed[first]


def test_missing_half_keeps_the_limit_points():
    """A soft_assign off by a constant factor in the variance still hardens: only its own check fails."""
    ns = run_release({**CORRECT, "log_weighted": "np.log(pi) - (x[:, None] - mu[None, :]) ** 2 / variance"})
    kmeans_limit.check_soft_assign(ns, invariants_only=True)
    kmeans_limit.check_limit(ns)


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
