"""Checks for notebook 04 (initialisation and convergence), called from its cells with ``globals()``.

The student's functions are called on inputs of the checks' own making (other
data, seeds, numbers of components, made-up log-likelihood sequences) and
compared with :mod:`grader.em.initialisation`; the notebook's runs are
compared with EM under the reference rule from the same starts, so a broken
k-means++ does not cost the points of the runs.

What they judge against, the data and the seeds of those made-up inputs, is
a :class:`Problem`: the notebook's own in the student's kernel, the grader's
(the notebook's or hidden ones) out of it.
"""

from dataclasses import dataclass

import numpy as np

from ..em import initialisation, seed
from .core import CheckFailed, all_close, as_array, fetch, inputs, quiet
from .selfcheck import report


@dataclass(frozen=True, eq=False)
class Problem:
    """The data the notebook's runs are fitted to and the seeds of the inputs the checks make up.

    ``start`` is notebook 02's Dirichlet start (seed 42) on ``data``: the
    run from random responsibilities must begin there. ``jump`` is the
    per-sample gain that run must reach after its plateau, where the data
    has one (the notebook's: 0.05); None where it has none, and then the
    comparison with EM under the same rule is what judges the rule.
    """

    data: np.ndarray  # (N, 2)
    start: tuple  # (mu (2, 2), cov (2, 2, 2), pi (2,))
    jump: float | None
    blobs_seed: int  # the 3D data k-means++ is also tried on
    draw_seeds: tuple  # the seeds of the generators handed to kmeans_plus_plus
    sequences_seed: int  # the made-up log-likelihood histories
    runs_seed: int  # the made-up runs handed to best_run


def notebook_problem():
    """The notebook's data (notebook 02's, rebuilt like its data cell does) and the checks' own seeds."""
    problem = seed.problem_2d()
    return Problem(problem.data, problem.start, jump=0.05, blobs_seed=2024, draw_seeds=(0, 1, 2, 3),
                   sequences_seed=7, runs_seed=11)


def _function(ns, name):
    function = fetch(ns, name)
    if not callable(function):
        raise CheckFailed(f"`{name}` should be the function defined in your cell.")
    return function


def _call(function, name, *args):
    try:
        return function(*args)
    except Exception as error:  # the student's code: report whatever it raised
        raise CheckFailed(f"Calling {name} raised {type(error).__name__}: {error}") from None


# --- k-means++ -----------------------------------------------------------------------------------

def _seeding(X, n_components, rng, weights):
    """k-means++'s draws with another weighting ``weights(X, centers)`` of the points: the known mistakes."""
    centers = [X[rng.integers(len(X))]]
    for _ in range(1, n_components):
        w = weights(X, np.array(centers))
        centers.append(X[rng.choice(len(X), p=w / w.sum())])
    return np.array(centers)


def _squared(X, centers):
    return ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)


_SEEDING_MISTAKES = [
    ("the probabilities use the distance D(x), not its square D(x)^2",
     lambda X, c: np.sqrt(_squared(X, c).min(axis=1))),
    ("D(x) is the distance to the *nearest* centre chosen so far (a min over the centres), not to the last one",
     lambda X, c: _squared(X, c)[:, -1]),
    ("D(x) is the distance to the *nearest* centre chosen so far (a min over the centres), not a sum over them",
     lambda X, c: _squared(X, c).sum(axis=1)),
]


def _seeding_problems(problem):
    """(label, X, K): the notebook's data and a 3D data set with five clusters."""
    rng = np.random.default_rng(problem.blobs_seed)
    blobs = np.vstack([rng.normal(center, 0.5, size=(40, 3)) for center in rng.uniform(-6, 6, size=(5, 3))])
    data = problem.data
    return [("the notebook's data with K = 2", data, 2), ("the notebook's data with K = 3", data, 3),
            ("3D data with five clusters and K = 5", blobs, 5)]


def check_kmeans_plus_plus(ns, invariants_only=False):
    """kmeans_plus_plus(X, K, rng): K distinct rows of X, the reference's draws for the same rng."""
    with quiet():
        function = _function(ns, "kmeans_plus_plus")
        problem = inputs(ns, notebook_problem)
        for label, X, K in _seeding_problems(problem):
            for rng_seed in problem.draw_seeds:
                actual = _call(function, "kmeans_plus_plus", X.copy(), K, np.random.default_rng(rng_seed))
                actual = as_array({"c": actual}, "c", (K, X.shape[1]), f"kmeans_plus_plus on {label}")
                if not all(np.any(np.all(X == row, axis=1)) for row in actual):
                    raise CheckFailed(f"kmeans_plus_plus on {label} returned centres that are not data points.")
                if len(np.unique(actual, axis=0)) < K:
                    raise CheckFailed(f"kmeans_plus_plus on {label} chose the same point twice: a chosen centre "
                                      "is at distance 0 from itself, so its probability must be 0.")
                if invariants_only:
                    continue
                expected = initialisation.kmeans_plus_plus(X, K, np.random.default_rng(rng_seed))
                if np.array_equal(actual, expected):
                    continue
                for what, weights in _SEEDING_MISTAKES:
                    if np.array_equal(actual, _seeding(X, K, np.random.default_rng(rng_seed), weights)):
                        raise CheckFailed(f"kmeans_plus_plus on {label}: {what}.")
                raise CheckFailed(f"kmeans_plus_plus on {label} does not draw the centres with probability "
                                  "D(x)^2 / sum of D^2 over the points: check squared_distances and probabilities.")


# --- the stopping rule ------------------------------------------------------------------------------

def _sequences(sequences_seed):
    """Made-up log-likelihood histories: a plateau then a jump, steady convergence, noise-free flat runs."""
    rng = np.random.default_rng(sequences_seed)
    plateau = np.concatenate([rng.uniform(0.5, 3, 8), rng.uniform(0.05, 0.25, 12), [40, 25, 9],
                              rng.uniform(0.001, 0.2, 10)])
    geometric = 50 * 0.5 ** np.arange(30)
    alternating = np.tile([0.05, 0.5], 12)
    flat = np.zeros(9)
    return [np.concatenate([[-1500.0], -1500 + np.cumsum(g)]) for g in (plateau, geometric, alternating, flat)]


def _rule_cases():
    """(n_samples, tol, patience) combinations the rule is tested with."""
    return [(300, 1e-3, 5), (300, 1e-3, 1), (100, 1e-3, 3), (1000, 1e-4, 2), (50, 2e-3, 4)]


_RULE_MISTAKES = [
    ("the gains are not divided by the number of samples: tol is a tolerance per sample",
     lambda ll, n, tol, p: initialisation.has_converged(ll, 1, tol, p)),
    ("only the last gain is compared with tol; the last `patience` gains must all be below it",
     lambda ll, n, tol, p: initialisation.has_converged(ll, n, tol, 1)),
    ("it is enough that *some* of the last gains are below tol; *all* of the last `patience` must be",
     lambda ll, n, tol, p: len(ll) > p and bool(np.any(np.diff(ll)[-p:] / n < tol))),
    ("the window holds one gain too many or too few: use the last `patience` gains",
     lambda ll, n, tol, p: initialisation.has_converged(ll, n, tol, p + 1)),
    ("the window holds one gain too many or too few: use the last `patience` gains",
     lambda ll, n, tol, p: initialisation.has_converged(ll, n, tol, max(p - 1, 1))),
]


def _describe_case(history, n_samples, tol, patience):
    gains = np.diff(history) / n_samples
    recent = gains[-patience:]
    below = int(np.sum(recent < tol))
    return (f"after {len(history)} iterations with n_samples={n_samples}, tol={tol}, patience={patience} "
            f"({below} of the last {len(recent)} per-sample gains below tol)")


def check_has_converged(ns, invariants_only=False):
    """has_converged(log_likelihoods, n_samples, tol, patience) agrees with the rule on every prefix."""
    with quiet():
        function = _function(ns, "has_converged")
        for history in _sequences(inputs(ns, notebook_problem).sequences_seed):
            for n_samples, tol, patience in _rule_cases():
                for t in range(1, len(history) + 1):
                    prefix = list(history[:t])
                    actual = _call(function, "has_converged", list(prefix), n_samples, tol, patience)
                    if not isinstance(actual, (bool, np.bool_)):
                        raise CheckFailed(f"has_converged should return True or False, not a "
                                          f"{type(actual).__name__}.")
                    expected = initialisation.has_converged(prefix, n_samples, tol, patience)
                    if invariants_only and not (t <= patience or np.diff(prefix)[-1] / n_samples >= tol):
                        continue  # the visible test: cases where the answer is "not yet" for sure
                    if bool(actual) == expected:
                        continue
                    case = _describe_case(np.array(prefix), n_samples, tol, patience)
                    for what, rule in _RULE_MISTAKES:
                        if all(bool(_call(function, "has_converged", list(history[:s]), n, e, p))
                               == rule(list(history[:s]), n, e, p)
                               for n, e, p in _rule_cases() for s in range(1, len(history) + 1)):
                            raise CheckFailed(f"has_converged returned {bool(actual)} {case}: {what}.")
                    raise CheckFailed(f"has_converged returned {bool(actual)} {case}; it should be True exactly "
                                      "when there are at least `patience` gains and the last `patience` "
                                      "per-sample gains are all below tol.")


# --- restarts -------------------------------------------------------------------------------------

def _fake_runs(rng):
    """Runs (dicts like run_em's) whose first value, length and final value disagree about the best."""
    runs = []
    for _ in range(int(rng.integers(3, 8))):
        length = int(rng.integers(2, 40))
        first = rng.uniform(-1200, -1000)
        runs.append({"log_likelihoods": list(first + np.cumsum(rng.uniform(0, 20, length)))})
    return runs


def check_best_run(ns, invariants_only=False):
    """best_run(runs) returns the run (not its index) whose last log-likelihood is highest."""
    with quiet():
        function = _function(ns, "best_run")
        rng = np.random.default_rng(inputs(ns, notebook_problem).runs_seed)
        for trial in range(2 if invariants_only else 30):
            runs = _fake_runs(rng)
            finals = [run["log_likelihoods"][-1] for run in runs]
            actual = _call(function, "best_run", list(runs))
            if isinstance(actual, (int, np.integer)):
                raise CheckFailed("best_run returned an index: return the run itself, runs[index].")
            if not any(actual is run for run in runs):
                raise CheckFailed("best_run should return one of the runs it was given (a dict with "
                                  "'log_likelihoods').")
            if actual is runs[int(np.argmax(finals))]:
                continue
            if actual is runs[int(np.argmin(finals))]:
                raise CheckFailed("best_run picked the run with the *lowest* final log-likelihood: EM maximises "
                                  "the likelihood, so keep the highest.")
            if actual is runs[int(np.argmax([run["log_likelihoods"][0] for run in runs]))]:
                raise CheckFailed("best_run compared the *first* log-likelihoods: compare where the runs end, "
                                  "their last values.")
            raise CheckFailed("best_run did not return the run with the highest final log-likelihood.")


# --- the notebook's runs ----------------------------------------------------------------------------

def _run_parts(run, where):
    try:
        start, values = run["start"], np.asarray(run["log_likelihoods"], dtype=float)
        mu, cov, pi = (np.asarray(a, dtype=float) for a in start)
    except (TypeError, KeyError, ValueError):
        raise CheckFailed(f"{where} should be a dict from run_em with 'start' and 'log_likelihoods'.") from None
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise CheckFailed(f"{where}: its log-likelihoods should be a non-empty list of finite numbers.")
    return (mu, cov, pi), values


def reference_run(data, start, tol, patience, max_iter):
    """EM under the rule from ``start`` (an :class:`EMRun`): the same for every notebook checked on these inputs.

    Kept by content, because a class's notebooks record the same starts
    (their seeds are given) and the restarts take a second to redo.
    """
    arrays = [np.asarray(data, dtype=float), *(np.asarray(a, dtype=float) for a in start)]
    key = (float(tol), int(patience), int(max_iter), *((a.shape, a.tobytes()) for a in arrays))
    if key not in _REFERENCE_RUNS:
        if len(_REFERENCE_RUNS) >= 64:  # a grading run meets two problems of 12 runs each; never grow without bound
            del _REFERENCE_RUNS[next(iter(_REFERENCE_RUNS))]
        _REFERENCE_RUNS[key] = initialisation.fit_until_converged(arrays[0], arrays[1:], tol, patience, max_iter)
    return _REFERENCE_RUNS[key]


_REFERENCE_RUNS = {}


def _compare_with_reference(run, where, data, tol, patience, max_iter):
    start, values = _run_parts(run, where)
    reference = reference_run(data, start, tol, patience, max_iter)
    if len(values) < len(reference.log_likelihoods):
        raise CheckFailed(f"{where} stopped after {len(values)} iterations, before the rule with tol={tol} and "
                          f"patience={patience} is met: check has_converged.")
    if len(values) > len(reference.log_likelihoods):
        raise CheckFailed(f"{where} ran {len(values)} iterations, past the point where the rule with tol={tol} "
                          f"and patience={patience} is met: check has_converged.")
    if not all_close(values, reference.log_likelihoods):
        raise CheckFailed(f"{where}: its log-likelihoods differ from EM's from the same start.")


def _rule_constants(ns, tol_name):
    return float(fetch(ns, tol_name)), int(fetch(ns, "PATIENCE")), int(fetch(ns, "MAX_ITER"))


def check_runs(ns, invariants_only=False):
    """`runs`: the seed's Dirichlet start does not stop on its plateau; every run follows the rule."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        runs = fetch(ns, "runs")
        if not isinstance(runs, dict) or not runs:
            raise CheckFailed("`runs` should be the dict of runs from the four starts: run your cell.")
        plateau_run = runs.get("random responsibilities")
        if plateau_run is None:
            raise CheckFailed("`runs` has no 'random responsibilities' run: keep the given lines of your cell.")
        start, values = _run_parts(plateau_run, "runs['random responsibilities']")
        if not all(all_close(a, b) for a, b in zip(start, problem.start)):
            raise CheckFailed("runs['random responsibilities'] did not start from notebook 02's Dirichlet start: "
                              "re-run the notebook from the top.")
        gains = np.diff(values) / len(problem.data)
        if problem.jump is not None and (len(gains) == 0 or gains.max() < problem.jump):
            raise CheckFailed("The run from random responsibilities stopped on its plateau, before the jump of "
                              "the log-likelihood: has_converged must wait for `patience` small gains in a row.")
        if invariants_only:
            return
        for name, run in runs.items():
            _compare_with_reference(run, f"runs[{name!r}]", problem.data, *_rule_constants(ns, "TOL"))


def check_restarts(ns, invariants_only=False):
    """`restarts` follow the rule and `best` is the one with the highest final log-likelihood."""
    with quiet():
        restarts, best = fetch(ns, "restarts"), fetch(ns, "best")
        if not isinstance(restarts, list) or not restarts:
            raise CheckFailed("`restarts` should be the list of K = 3 runs: run your cell.")
        finals = [_run_parts(run, f"restarts[{i}]")[1][-1] for i, run in enumerate(restarts)]
        if not any(best is run for run in restarts) or _run_parts(best, "best")[1][-1] != max(finals):
            raise CheckFailed("`best` is not the restart with the highest final log-likelihood.")
        if invariants_only:
            return
        data = inputs(ns, notebook_problem).data
        for i, run in enumerate(restarts):
            _compare_with_reference(run, f"restarts[{i}]", data, *_rule_constants(ns, "RESTART_TOL"))


CHECKS = [
    ("k-means++ seeding: probability D(x)^2 / sum D^2", check_kmeans_plus_plus),
    ("Stopping rule: per-sample gains below tol, `patience` times in a row", check_has_converged),
    ("Restart selection: highest final log-likelihood", check_best_run),
    ("Four starts: no run stops on the plateau", check_runs),
    ("K = 3 restarts and the best of them", check_restarts),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your starts, stopping rule and restarts are correct.")
