"""04_init_convergence: k-means++, a stopping rule with patience and restarts, on notebook 02's kind of data."""

import numpy as np

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import init_convergence
from grader.em import initialisation, multivariate

#: The driver cell's rule: TOL, PATIENCE, RESTART_TOL, MAX_ITER.
TOL, PATIENCE, RESTART_TOL, MAX_ITER = 1e-3, 5, 1e-5, 500


def inputs(problem, first_share):
    """What the data cell defines, for ``problem``'s data; every start of the answer cell follows from it."""
    n_samples = len(problem.data)
    variables = {"data": problem.data, "n_samples": n_samples, "n1": int(n_samples * first_share)}
    return Inputs("data", variables, problem)


def notebook():
    return inputs(init_convergence.notebook_problem(), 0.7)


def _from_means(X, means):
    """The starts cell's ``from_means``: the data's covariance for every component, equal weights."""
    K = len(means)
    return np.array(means, dtype=float), np.array([np.cov(X.T, bias=True)] * K), np.full(K, 1 / K)


def _kmeans(X, centers, n_rounds=10):
    """The starts cell's Lloyd rounds: hard responsibilities (N, K)."""
    for _ in range(n_rounds):
        nearest = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
        centers = np.array([X[nearest == k].mean(axis=0) for k in range(len(centers))])
    return np.eye(len(centers))[nearest]


def notebook_runs(data, start):
    """The answer cell's runs on ``data`` under the reference rule: the four K = 2 starts, then the K = 3 restarts.

    Drawn through the checks' cache, so the checks of a hidden run find them there.
    """
    K, rng = 2, np.random.default_rng(0)
    starts = [start, _from_means(data, data[rng.choice(len(data), K, replace=False)]),
              multivariate.m_step(data, _kmeans(data, data[rng.choice(len(data), K, replace=False)])),
              _from_means(data, initialisation.kmeans_plus_plus(data, K, rng))]
    runs = [init_convergence.reference_run(data, s, TOL, PATIENCE, MAX_ITER) for s in starts]
    restarts = [init_convergence.reference_run(
        data, _from_means(data, data[np.random.default_rng(seed).choice(len(data), 3, replace=False)]),
        RESTART_TOL, PATIENCE, MAX_ITER) for seed in range(8)]
    return runs + restarts


def _sound(run, data):
    """A run that cannot crash a correct cell: finite, rising, no component shrinking onto a point or vanishing.

    The cell's runs use the given E- and M-steps, so a correct cell repeats
    any finite run exactly; the floors are far below the notebook's own
    narrowest K = 3 component (spread 0.03, weight 0.025) and far above a
    collapse (notebook 05), where the E-step fails.
    """
    values = np.asarray(run.log_likelihoods)
    if not np.all(np.isfinite(values)) or np.any(np.diff(values) < -1e-9 * np.max(np.abs(values))):
        return False
    floor = 1e-3 * float(np.std(data))
    for mu, cov, pi in run.params:
        if not all(np.all(np.isfinite(a)) for a in (mu, cov, pi)) or np.min(pi) * len(data) < 2:
            return False
        if np.min(np.sqrt(np.linalg.eigvalsh(cov))) < floor:
            return False
    return True


def hidden(rng):
    """Other data (size, means, covariances, weights), other seeds for the made-up inputs.

    The plateau of the notebook's data is not a property of other data (from
    most draws the Dirichlet start has none), so the hidden problem has no
    ``jump``: its runs are judged by the comparison with EM under the rule.
    """
    data, truth = draws.two_clusters_2d(rng)
    _, start = draws.dirichlet_start_2d(data)
    draws.read_only(data, *start)
    seeds = [int(s) for s in rng.integers(2**31, size=7)]
    problem = init_convergence.Problem(data, start, jump=None, blobs_seed=seeds[0], draw_seeds=tuple(seeds[1:5]),
                                       sequences_seed=seeds[5], runs_seed=seeds[6])
    with np.errstate(all="ignore"):
        try:
            sound = all(_sound(run, data) for run in notebook_runs(data, start))
        except np.linalg.LinAlgError:
            sound = False
    return inputs(problem, truth["pi_true"][0]) if sound else None


ASSIGNMENT = Assignment(
    id="04_init_convergence",
    grades={"test_kmeans_plus_plus": call(init_convergence.check_kmeans_plus_plus),
            "test_has_converged": call(init_convergence.check_has_converged),
            "test_best_run": call(init_convergence.check_best_run),
            "test_runs": call(init_convergence.check_runs),
            "test_restarts": call(init_convergence.check_restarts)},
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.init_convergence",),
    blank_hints={
        "squared_distances": "each point's squared distance to its nearest centre chosen so far (k-means++)",
        "probabilities": "the k-means++ sampling probabilities: squared distances divided by their sum",
        "gains": "the change of the log-likelihood per iteration, divided by the number of samples",
        "converged": "True when the last `patience` per-sample gains are all below tol",
        "final_log_likelihoods": "the last log-likelihood of every run",
        "best": "the run with the highest final log-likelihood",
    },
)
