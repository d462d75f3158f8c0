"""08_kmeans_limit: k-means as EM with a vanishing shared variance, in 1D."""

import numpy as np

from grader.assignments import INPUTS, Assignment, Inputs, call, draws
from grader.checks import kmeans_limit
from grader.checks.core import CheckFailed
from grader.em import kmeans
from grader.samples import Sample, Samples


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
    ns = {
        "data": problem.data,
        INPUTS: problem,
        "soft_assign": kmeans.soft_assign,
        "hard_assign": kmeans.hard_assign,
        "update_means": kmeans.update_means,
    }
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
    if (
        len(np.unique(start)) < n_components
        or not lloyd_keeps_every_cluster(data, start)
        or not reference_passes(problem)
    ):
        return None
    draws.read_only(data, start)
    return inputs(problem)


# --- sample answers: the seed's style, every catalogued mistake as a student makes it, correct alternatives --------

ASSIGNMENT_ID = "08_kmeans_limit"
ANSWER_CELL = "assignments"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_DIFF = "(x[:, None] - mu[None, :])"

SAMPLES = Samples(
    seed_style={
        "log_weighted": f"np.log(pi) - {_DIFF} ** 2 / (2 * variance)",
        "nearest": f"np.argmin({_DIFF} ** 2, axis=1)",
        "r": "np.eye(len(mu))[nearest]",
        "means": "weights.T @ x / weights.sum(axis=0)",
    },
    mistakes={
        "soft-half-missing": {"log_weighted": f"np.log(pi) - {_DIFF} ** 2 / variance"},
        "soft-variance-squared": {"log_weighted": f"np.log(pi) - {_DIFF} ** 2 / (2 * variance ** 2)"},
        "soft-variance-as-std": {"log_weighted": f"np.log(pi) - {_DIFF} ** 2 / (2 * np.sqrt(variance))"},
        "soft-variance-multiplied": {"log_weighted": f"np.log(pi) - {_DIFF} ** 2 / 2 * variance"},
        "soft-log-weight-missing": {"log_weighted": f"-{_DIFF} ** 2 / (2 * variance)"},
        "soft-exponent-sign": {"log_weighted": f"np.log(pi) + {_DIFF} ** 2 / (2 * variance)"},
        "soft-distance-not-squared": {"log_weighted": f"np.log(pi) - np.abs({_DIFF}) / (2 * variance)"},
        "soft-exp-underflow": {"log_weighted": f"np.log(pi * np.exp(-{_DIFF} ** 2 / (2 * variance)))"},
        "nearest-argmax": {"nearest": f"np.argmax({_DIFF} ** 2, axis=1)"},
        "nearest-signed-difference": {"nearest": f"np.argmin({_DIFF}, axis=1)"},
        "one-hot-missing": {"r": "nearest"},
        "centroid-divided-by-n": {"means": "weights.T @ x / len(x)"},
        "centroid-unweighted": {"means": "x.sum() / weights.sum(axis=0)"},
    },
    mutants=(
        sample(
            "pi added, not its log",
            "soft-log-weight-missing",
            blanks={"log_weighted": f"pi - {_DIFF} ** 2 / (2 * variance)"},
        ),
        sample(
            "np.mean of the weighted points",
            "centroid-divided-by-n",
            blanks={"means": "np.mean(weights * x[:, None], axis=0)"},
        ),
    ),
    alternatives=(
        sample(
            "absolute distance for argmin, one-hot by comparison",
            blanks={
                "log_weighted": f"np.log(pi)[None, :] - 0.5 * {_DIFF} ** 2 / variance",
                "nearest": f"np.abs({_DIFF}).argmin(axis=1)",
                "r": "(nearest[:, None] == np.arange(len(mu))[None, :]).astype(float)",
                "means": "(weights * x[:, None]).sum(axis=0) / weights.sum(axis=0)",
            },
        ),
        sample(
            "scipy.stats log-density, np.average",
            blanks={
                "log_weighted": "np.log(pi) + norm.logpdf(x[:, None], mu[None, :], np.sqrt(variance))",
                "nearest": "np.array([np.argmin((xn - mu) ** 2) for xn in x])",
                "r": "np.eye(len(mu))[nearest]",
                "means": "np.array([np.average(x, weights=weights[:, k]) for k in range(weights.shape[1])])",
            },
            edits=(
                (
                    "def soft_assign(x, mu, variance, pi):\n",
                    "from scipy.stats import norm\n\n\ndef soft_assign(x, mu, variance, pi):\n",
                ),
            ),
        ),
        sample(
            "subtract.outer and einsum",
            blanks={
                "log_weighted": "np.log(pi) - np.subtract.outer(x, mu) ** 2 / (2 * variance)",
                "nearest": "np.argmin(np.subtract.outer(x, mu) ** 2, axis=1)",
                "r": "np.identity(mu.shape[0])[nearest]",
                "means": "np.einsum('nk,n->k', weights, x) / np.einsum('nk->k', weights)",
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_soft_assign": call(kmeans_limit.check_soft_assign),
        "test_hard_assign": call(kmeans_limit.check_hard_assign),
        "test_update_means": call(kmeans_limit.check_update_means),
        "test_limit": call(kmeans_limit.check_limit),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.kmeans_limit", "scipy.special"),
    samples=SAMPLES,
    blank_hints={
        "log_weighted": "ln pi_k - (x_n - mu_k)^2 / (2 variance) for every point and component (eq. 9.42 in logs)",
        "nearest": "the index k of the closest mean for every point: argmin over k of (x_n - mu_k)^2 (eq. 9.2)",
        "r": "the one-hot (N, K) matrix with a 1 in column nearest[n] of row n (eq. 9.2)",
        "means": "sum_n w[n, k] x_n / sum_n w[n, k] for every k (eq. 9.4 with one-hot w, eq. 9.24 with soft w)",
    },
)
