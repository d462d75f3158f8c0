"""04_init_convergence: k-means++, a stopping rule with patience and restarts, on notebook 02's kind of data."""

import numpy as np

from grader.assignments import Assignment, Inputs, call, draws
from grader.checks import init_convergence
from grader.em import initialisation, multivariate
from grader.samples import Sample, Samples

ASSIGNMENT_ID = "04_init_convergence"
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
    starts = [
        start,
        _from_means(data, data[rng.choice(len(data), K, replace=False)]),
        multivariate.m_step(data, _kmeans(data, data[rng.choice(len(data), K, replace=False)])),
        _from_means(data, initialisation.kmeans_plus_plus(data, K, rng)),
    ]
    runs = [init_convergence.reference_run(data, s, TOL, PATIENCE, MAX_ITER) for s in starts]
    restarts = [
        init_convergence.reference_run(
            data,
            _from_means(data, data[np.random.default_rng(seed).choice(len(data), 3, replace=False)]),
            RESTART_TOL,
            PATIENCE,
            MAX_ITER,
        )
        for seed in range(8)
    ]
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
    problem = init_convergence.Problem(
        data,
        start,
        jump=None,
        blobs_seed=seeds[0],
        draw_seeds=tuple(seeds[1:5]),
        sequences_seed=seeds[5],
        runs_seed=seeds[6],
    )
    with np.errstate(all="ignore"):
        try:
            sound = all(_sound(run, data) for run in notebook_runs(data, start))
        except np.linalg.LinAlgError:
            sound = False
    return inputs(problem, truth["pi_true"][0]) if sound else None


# --- sample answers: the solution's style, every catalogued mistake as a student makes it, correct alternatives ---

ANSWER_CELL = "init_em"


def sample(name, misconception=None, **answers):
    return Sample(ASSIGNMENT_ID, name, misconception, cell=ANSWER_CELL, **answers)


_DRAW = "        centers.append(X[rng.choice(len(X), p=probabilities)])\n"
_PAIRWISE = "((X[:, None, :] - np.array(centers)[None]) ** 2).sum(axis=2)"

SAMPLES = Samples(
    seed_style={
        "squared_distances": f"{_PAIRWISE}.min(axis=1)",
        "probabilities": "squared_distances / squared_distances.sum()",
        "gains": "np.diff(log_likelihoods) / n_samples",
        "converged": "len(gains) >= patience and bool(np.all(gains[-patience:] < tol))",
        "final_log_likelihoods": '[run["log_likelihoods"][-1] for run in runs]',
        "best": "runs[int(np.argmax(final_log_likelihoods))]",
    },
    mistakes={
        "kmeanspp-distance-not-squared": {"squared_distances": f"np.sqrt({_PAIRWISE}.min(axis=1))"},
        "kmeanspp-distance-to-last-centre": {"squared_distances": "((X - centers[-1]) ** 2).sum(axis=1)"},
        "kmeanspp-distance-summed-over-centres": {"squared_distances": f"{_PAIRWISE}.sum(axis=1)"},
        "kmeanspp-uniform-draws": {"probabilities": "np.ones(len(X)) / len(X)"},
        "gain-not-per-sample": {"gains": "np.diff(log_likelihoods)"},
        "convergence-without-patience": {"converged": "len(gains) >= 1 and bool(gains[-1] < tol)"},
        "patience-any-gain": {"converged": "len(gains) >= patience and bool(np.any(gains[-patience:] < tol))"},
        "patience-window-off-by-one": {
            "converged": "len(gains) > patience and bool(np.all(gains[-patience - 1:] < tol))"
        },
        "patience-too-few-gains": {"converged": "bool(np.all(gains[-patience:] < tol))"},
        "best-run-lowest": {"best": "runs[int(np.argmin(final_log_likelihoods))]"},
        "best-run-first-value": {"final_log_likelihoods": '[run["log_likelihoods"][0] for run in runs]'},
        "best-run-most-iterations": {"final_log_likelihoods": '[len(run["log_likelihoods"]) for run in runs]'},
        "best-run-index": {"best": "int(np.argmax(final_log_likelihoods))"},
    },
    mutants=(
        sample(
            "farthest point, no draw",
            "kmeanspp-farthest-point",
            edits=((_DRAW, "        centers.append(X[np.argmax(squared_distances)])\n"),),
        ),
        sample(
            "one-hot probabilities at the farthest point",
            "kmeanspp-farthest-point",
            blanks={"probabilities": "(squared_distances == squared_distances.max()).astype(float)"},
        ),
        sample(
            "window of patience - 1 gains",
            "patience-window-off-by-one",
            blanks={"converged": "len(gains) >= patience and bool(np.all(gains[-(patience - 1):] < tol))"},
        ),
        sample(
            "at least one gain, short window",
            "patience-too-few-gains",
            blanks={"converged": "len(gains) > 0 and bool(np.all(gains[-patience:] < tol))"},
        ),
        sample(
            "sorted ascending, first taken",
            "best-run-lowest",
            blanks={"best": 'sorted(runs, key=lambda run: run["log_likelihoods"][-1])[0]'},
        ),
    ),
    alternatives=(
        sample(
            "loops and max",
            blanks={
                "squared_distances": "np.min([((X - c) ** 2).sum(axis=1) for c in centers], axis=0)",
                "probabilities": "squared_distances / np.sum(squared_distances)",
                "gains": "(np.array(log_likelihoods[1:]) - np.array(log_likelihoods[:-1])) / n_samples",
                "converged": "len(gains) >= patience and max(gains[-patience:]) < tol",
                "final_log_likelihoods": '[max(run["log_likelihoods"]) for run in runs]',
                "best": 'max(runs, key=lambda run: run["log_likelihoods"][-1])',
            },
        ),
        sample(
            "scipy cdist, ediff1d, sorted",
            edits=(
                (
                    "def kmeans_plus_plus(X, K, rng):\n",
                    "from scipy.spatial.distance import cdist\n\n\ndef kmeans_plus_plus(X, K, rng):\n",
                ),
            ),
            blanks={
                "squared_distances": 'cdist(X, np.array(centers), "sqeuclidean").min(axis=1)',
                "probabilities": "squared_distances / squared_distances.sum()",
                "gains": "np.ediff1d(log_likelihoods) / n_samples",
                "converged": "len(gains) >= patience and all(g < tol for g in gains[-patience:])",
                "final_log_likelihoods": 'np.array([run["log_likelihoods"][-1] for run in runs])',
                "best": 'sorted(runs, key=lambda run: run["log_likelihoods"][-1])[-1]',
            },
        ),
        sample(
            "einsum and list index",
            blanks={
                "squared_distances": 'np.einsum("nkd,nkd->nk", X[:, None] - np.array(centers)[None], '
                "X[:, None] - np.array(centers)[None]).min(axis=1)",
                "probabilities": "squared_distances / squared_distances.sum(keepdims=True)",
                "gains": "np.diff(np.asarray(log_likelihoods, dtype=float)) / n_samples",
                "converged": "len(gains) >= patience and bool((gains[-patience:] < tol).all())",
                "final_log_likelihoods": '[run["log_likelihoods"][-1] for run in runs]',
                "best": "runs[final_log_likelihoods.index(max(final_log_likelihoods))]",
            },
        ),
    ),
)


ASSIGNMENT = Assignment(
    id=ASSIGNMENT_ID,
    grades={
        "test_kmeans_plus_plus": call(init_convergence.check_kmeans_plus_plus),
        "test_has_converged": call(init_convergence.check_has_converged),
        "test_best_run": call(init_convergence.check_best_run),
        "test_runs": call(init_convergence.check_runs),
        "test_restarts": call(init_convergence.check_restarts),
    },
    notebook=notebook,
    hidden=hidden,
    preload=("grader.checks.init_convergence",),
    samples=SAMPLES,
    blank_hints={
        "squared_distances": "each point's squared distance to its nearest centre chosen so far (k-means++)",
        "probabilities": "the k-means++ sampling probabilities: squared distances divided by their sum",
        "gains": "the change of the log-likelihood per iteration, divided by the number of samples",
        "converged": "True when the last `patience` per-sample gains are all below tol",
        "final_log_likelihoods": "the last log-likelihood of every run",
        "best": "the run with the highest final log-likelihood",
    },
)
