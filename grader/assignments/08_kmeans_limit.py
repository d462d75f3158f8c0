"""08_kmeans_limit: k-means as EM with a vanishing shared variance, in 1D."""

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import kmeans_limit
from grader.checks.core import CheckFailed
from grader.em import kmeans


def inputs(problem):
    """What the data cell defines for ``problem``: the data, K and the starting means."""
    variables = {"data": problem.data, "K": len(problem.start), "mu_start": problem.start}
    return Inputs("data", variables, problem)


def notebook():
    return inputs(kmeans_limit.notebook_problem())


def clusters_1d(rng, n_components):
    """(N,): ``n_components`` 1D Gaussians of the notebook's scale, each at least 3 spreads from the next."""
    n_samples = int(rng.integers(150, 451))
    spreads = rng.uniform(0.5, 2.0, size=n_components)
    gaps = rng.uniform(3.0, 6.0, size=n_components - 1) * spreads.max()
    means = rng.uniform(-6.0, 6.0) + np.concatenate([[0.0], np.cumsum(gaps)])
    weights = rng.dirichlet(np.full(n_components, 4.0))
    sizes = np.maximum(rng.multinomial(n_samples, weights), 10)
    return rng.permutation(np.concatenate([rng.normal(m, s, n) for m, s, n in zip(means, spreads, sizes)]))


def lloyd_keeps_every_cluster(data, start):
    """Lloyd's k-means from ``start`` never empties a cluster (whose mean would be 0/0)."""
    mu = np.array(start, dtype=float)
    for _ in range(kmeans_limit.N_ITERATIONS):
        r = kmeans.hard_assign(data, mu)
        if np.any(r.sum(axis=0) == 0):
            return False
        mu = kmeans.update_means(data, r)
    return True


def reference_passes(problem):
    """Every check passes on the reference functions: one-hot at the smallest variance all along the run, etc."""
    ns = {"data": problem.data, INPUTS: problem, "soft_assign": kmeans.soft_assign,
          "hard_assign": kmeans.hard_assign, "update_means": kmeans.update_means}
    try:
        for _, check in kmeans_limit.CHECKS:
            check(ns)
    except CheckFailed:
        return False
    return True


def hidden(rng):
    """Other data (2 or 3 clusters, size, means, spreads), K distinct data points as the start, other made-up pairs."""
    n_components = int(rng.integers(2, 4))
    data = clusters_1d(rng, n_components)
    start = np.random.RandomState(int(rng.integers(2**31))).choice(data, n_components)
    problem = kmeans_limit.Problem(data, start, cases_seed=int(rng.integers(2**31)))
    if len(np.unique(start)) < n_components or not lloyd_keeps_every_cluster(data, start) \
            or not reference_passes(problem):
        return None
    draws.read_only(data, start)
    return inputs(problem)


ASSIGNMENT = Assignment(
    id="08_kmeans_limit",
    grades={"test_soft_assign": call(kmeans_limit.check_soft_assign),
            "test_hard_assign": call(kmeans_limit.check_hard_assign),
            "test_update_means": call(kmeans_limit.check_update_means),
            "test_limit": call(kmeans_limit.check_limit)},
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.kmeans_limit", "scipy.special"),
    blank_hints={
        "log_weighted": "ln pi_k - (x_n - mu_k)^2 / (2 variance) for every point and component (eq. 9.42 in logs)",
        "nearest": "the index k of the closest mean for every point: argmin over k of (x_n - mu_k)^2 (eq. 9.2)",
        "r": "the one-hot (N, K) matrix with a 1 in column nearest[n] of row n (eq. 9.2)",
        "means": "sum_n w[n, k] x_n / sum_n w[n, k] for every k (eq. 9.4 with one-hot w, eq. 9.24 with soft w)",
    },
)
