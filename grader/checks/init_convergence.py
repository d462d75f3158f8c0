"""Checks for notebook 04 (initialisation and convergence), called from its cells with ``globals()``.

The student's functions are called on inputs of the checks' own making (other
data, seeds, numbers of components, made-up log-likelihood sequences) and
compared with :mod:`grader.em.initialisation`; the notebook's runs are
compared with EM under the reference rule from the same starts, so a broken
k-means++ does not cost the points of the runs.

What they judge against, the data and the seeds of those made-up inputs, is
a :class:`Problem`: the notebook's own in the student's kernel, the grader's
(the notebook's or hidden ones) out of it.

A function's answers on all of its cases are collected before it is judged;
a wrong one is named as a catalogued mistake (``INITIALISATION`` in
:mod:`grader.misconceptions`) only when that mistake alone reproduces every
answer, otherwise the message says it matches no known mistake. The checks
of the notebook's runs name the functions' diagnoses as their likely cause.
"""

import functools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..em import initialisation, seed
from ..em.univariate import EMRun, Params
from ..misconceptions import hint
from .core import Check, CheckFailed, Hashed, Namespace, all_close, as_array, inputs, likely_cause, quiet
from .functions import defined, student_function
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
    start: Params  # (mu (2, 2), cov (2, 2, 2), pi (2,))
    jump: float | None
    blobs_seed: int  # the 3D data k-means++ is also tried on
    draw_seeds: tuple[int, ...]  # the seeds of the generators handed to kmeans_plus_plus
    sequences_seed: int  # the made-up log-likelihood histories
    runs_seed: int  # the made-up runs handed to best_run


def notebook_problem() -> Problem:
    """The notebook's data (notebook 02's, rebuilt like its data cell does) and the checks' own seeds."""
    problem = seed.problem_2d()
    return Problem(
        problem.data, problem.start, jump=0.05, blobs_seed=2024, draw_seeds=(0, 1, 2, 3), sequences_seed=7, runs_seed=11
    )


def _call(function: Callable[..., Any], name: str, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:
        raise CheckFailed(f"Calling {name} raised {type(error).__name__}: {error}") from None


def _tol(tol: float) -> str:
    """A tolerance as the messages write it (1e-03): never a decimal number that could pass for a result."""
    return f"{tol:.0e}"


def _diagnosed(message: str, ids: Iterable[str]) -> CheckFailed | None:
    """``message`` naming the catalogued mistake when exactly one id explains every case, else None."""
    distinct = set(ids)
    if len(distinct) != 1:
        return None
    (misconception,) = distinct
    return CheckFailed(f"{message}: {hint(misconception)}", [misconception])


# --- k-means++ -----------------------------------------------------------------------------------


def _seeding(
    X: np.ndarray,
    n_components: int,
    rng: np.random.Generator,
    weights: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """k-means++'s draws with another weighting ``weights(X, centers)`` of the points: the known mistakes."""
    centers = [X[rng.integers(len(X))]]
    for _ in range(1, n_components):
        w = weights(X, np.array(centers))
        centers.append(X[rng.choice(len(X), p=w / w.sum())])
    return np.array(centers)


def _squared(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    return ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)


def _farthest(X: np.ndarray, n_components: int, rng: np.random.Generator) -> np.ndarray:
    """The first centre drawn like k-means++'s, then each next one the point farthest from those chosen."""
    centers = [X[rng.integers(len(X))]]
    for _ in range(1, n_components):
        centers.append(X[int(np.argmax(_squared(X, np.array(centers)).min(axis=1)))])
    return np.array(centers)


def _weighted(
    weights: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    return lambda X, K, rng: _seeding(X, K, rng, weights)


#: (catalogue id, draw(X, K, rng)) of the catalogued seeding mistakes.
SEEDING_MISTAKES = [
    ("kmeanspp-distance-not-squared", _weighted(lambda X, c: np.sqrt(_squared(X, c).min(axis=1)))),
    ("kmeanspp-distance-to-last-centre", _weighted(lambda X, c: _squared(X, c)[:, -1])),
    ("kmeanspp-distance-summed-over-centres", _weighted(lambda X, c: _squared(X, c).sum(axis=1))),
    ("kmeanspp-uniform-draws", _weighted(lambda X, c: np.ones(len(X)))),
    ("kmeanspp-farthest-point", _farthest),
]


def _seeding_problems(problem: Problem) -> list[tuple[str, np.ndarray, int]]:
    """(label, X, K): the notebook's data and a 3D data set with five clusters."""
    rng = np.random.default_rng(problem.blobs_seed)
    blobs = np.vstack([rng.normal(center, 0.5, size=(40, 3)) for center in rng.uniform(-6, 6, size=(5, 3))])
    data = problem.data
    return [
        ("the notebook's data with K = 2", data, 2),
        ("the notebook's data with K = 3", data, 3),
        ("3D data with five clusters and K = 5", blobs, 5),
    ]


def check_kmeans_plus_plus(ns: Namespace) -> None:
    """kmeans_plus_plus(X, K, rng): K distinct rows of X, the reference's draws for the same rng.

    Every (data, K, seed) case is drawn first; a wrong draw is named as a
    catalogued mistake only if that mistake, from the same generators,
    reproduces the student's centres in every case (with K = 2 the nearest
    and the last centre are one and the same, with K = 3 and 5 they are not).
    """
    with quiet():
        function = student_function(ns, "kmeans_plus_plus")
        problem = inputs(ns, notebook_problem)
        cases = [
            (label, X, K, rng_seed) for label, X, K in _seeding_problems(problem) for rng_seed in problem.draw_seeds
        ]
        drawn = []
        for label, X, K, rng_seed in cases:
            actual = _call(function, "kmeans_plus_plus", X.copy(), K, np.random.default_rng(rng_seed))
            actual = as_array({"c": actual}, "c", (K, X.shape[1]), f"kmeans_plus_plus on {label}")
            if not all(np.any(np.all(row == X, axis=1)) for row in actual):
                raise CheckFailed(f"kmeans_plus_plus on {label} returned centres that are not data points.")
            drawn.append(actual)
        wrong = [
            i
            for i, ((_, X, K, rng_seed), actual) in enumerate(zip(cases, drawn))
            if not np.array_equal(actual, initialisation.kmeans_plus_plus(X, K, np.random.default_rng(rng_seed)))
        ]
        if not wrong:
            return
        label = cases[wrong[0]][0]
        message = f"kmeans_plus_plus on {label} does not draw the reference's centres for the same generator"
        matching = [
            misconception
            for misconception, draw in SEEDING_MISTAKES
            if all(
                np.array_equal(actual, draw(X, K, np.random.default_rng(rng_seed)))
                for (_, X, K, rng_seed), actual in zip(cases, drawn)
            )
        ]
        diagnosed = _diagnosed(message, matching)
        if diagnosed:
            raise diagnosed
        repeated = next((cases[i][0] for i in wrong if len(np.unique(drawn[i], axis=0)) < cases[i][2]), None)
        if repeated:
            raise CheckFailed(
                f"kmeans_plus_plus on {repeated} chose the same point twice: a chosen centre "
                "is at distance 0 from itself, so its probability must be 0."
            )
        raise CheckFailed(
            f"{message}, and it matches no known mistake: each next centre is drawn with probability "
            "D(x)^2 / sum of D^2 over the points, D(x) the distance to the nearest centre chosen so "
            "far; check squared_distances and probabilities."
        )


# --- the stopping rule ------------------------------------------------------------------------------


def _sequences(sequences_seed: int) -> list[np.ndarray]:
    """Made-up log-likelihood histories: a plateau then a jump, steady convergence, noise-free flat runs."""
    rng = np.random.default_rng(sequences_seed)
    plateau = np.concatenate(
        [rng.uniform(0.5, 3, 8), rng.uniform(0.05, 0.25, 12), [40, 25, 9], rng.uniform(0.001, 0.2, 10)]
    )
    geometric = 50 * 0.5 ** np.arange(30)
    alternating = np.tile([0.05, 0.5], 12)
    flat = np.zeros(9)
    return [np.concatenate([[-1500.0], -1500 + np.cumsum(g)]) for g in (plateau, geometric, alternating, flat)]


def _rule_cases() -> list[tuple[int, float, int]]:
    """(n_samples, tol, patience) combinations the rule is tested with."""
    return [(300, 1e-3, 5), (300, 1e-3, 1), (100, 1e-3, 3), (1000, 1e-4, 2), (50, 2e-3, 4)]


def _gains(ll: ArrayLike, n: int) -> np.ndarray:
    return np.diff(np.asarray(ll, dtype=float)) / n


#: (catalogue id, rule(log_likelihoods, n_samples, tol, patience) -> bool) of the catalogued stopping rules.
RULE_MISTAKES = [
    ("gain-not-per-sample", lambda ll, n, tol, p: initialisation.has_converged(ll, 1, tol, p)),
    ("convergence-without-patience", lambda ll, n, tol, p: initialisation.has_converged(ll, n, tol, 1)),
    ("patience-any-gain", lambda ll, n, tol, p: len(ll) > p and bool(np.any(_gains(ll, n)[-p:] < tol))),
    ("patience-window-off-by-one", lambda ll, n, tol, p: initialisation.has_converged(ll, n, tol, p + 1)),
    (
        "patience-window-off-by-one",  # gains[-(patience - 1):], which for patience = 1 is every gain
        lambda ll, n, tol, p: len(ll) > p and bool(np.all(_gains(ll, n)[-(p - 1) :] < tol)),
    ),
    ("patience-window-off-by-one", lambda ll, n, tol, p: len(ll) > p + 1 and bool(np.all(_gains(ll, n)[-p:] < tol))),
    ("patience-too-few-gains", lambda ll, n, tol, p: bool(np.all(_gains(ll, n)[-p:] < tol))),
    ("patience-too-few-gains", lambda ll, n, tol, p: len(ll) > 1 and bool(np.all(_gains(ll, n)[-p:] < tol))),
]


def _describe_case(history: np.ndarray, n_samples: int, tol: float, patience: int) -> str:
    gains = np.diff(history) / n_samples
    recent = gains[-patience:]
    below = int(np.sum(recent < tol))
    return (
        f"after {len(history)} iterations with n_samples={n_samples}, tol={_tol(tol)}, patience={patience} "
        f"({below} of the last {len(recent)} per-sample gains below tol)"
    )


#: has_converged's verdict per student function and made-up histories: the runs' and restarts' cells ask again.
_rule_verdicts: "weakref.WeakKeyDictionary[Any, dict[int, CheckFailed | None]]" = weakref.WeakKeyDictionary()


def check_has_converged(ns: Namespace) -> None:
    """has_converged(log_likelihoods, n_samples, tol, patience) agrees with the rule on every prefix.

    The student's answers on every prefix of every made-up history and every
    (n_samples, tol, patience) are collected first; a wrong answer is named as
    a catalogued rule only if that rule gives the same answers everywhere.
    """
    with quiet():
        function = student_function(ns, "has_converged")
        sequences_seed = inputs(ns, notebook_problem).sequences_seed
        try:
            verdicts = _rule_verdicts.setdefault(function, {})
        except TypeError:  # not weakly referable: judged afresh each time
            verdicts = {}
        if sequences_seed not in verdicts:
            try:
                _judge_rule(function, sequences_seed)
            except CheckFailed as failure:
                verdicts[sequences_seed] = failure
            else:
                verdicts[sequences_seed] = None
        verdict = verdicts[sequences_seed]
        if verdict is not None:
            raise CheckFailed(str(verdict), verdict.diagnosis)


def _judge_rule(function: Callable[..., Any], sequences_seed: int) -> None:
    """check_has_converged's work: the student's answers on every made-up case, compared with the rule."""
    answers = []  # (prefix, n_samples, tol, patience, the student's answer)
    for history in _sequences(sequences_seed):
        for n_samples, tol, patience in _rule_cases():
            for t in range(1, len(history) + 1):
                prefix = list(history[:t])
                actual = _call(function, "has_converged", list(prefix), n_samples, tol, patience)
                if not isinstance(actual, (bool, np.bool_)):
                    raise CheckFailed(f"has_converged should return True or False, not a {type(actual).__name__}.")
                answers.append((prefix, n_samples, tol, patience, bool(actual)))
    wrong = next((answer for answer in answers if answer[-1] != initialisation.has_converged(*answer[:-1])), None)
    if wrong is None:
        return
    prefix, n_samples, tol, patience, actual = wrong
    message = f"has_converged returned {actual} {_describe_case(np.array(prefix), n_samples, tol, patience)}"
    matching = [
        misconception
        for misconception, rule in RULE_MISTAKES
        if all(answer[-1] == rule(*answer[:-1]) for answer in answers)
    ]
    diagnosed = _diagnosed(message, matching)
    if diagnosed:
        raise diagnosed
    raise CheckFailed(
        f"{message}; it matches no known mistake: it should be True exactly when there are at "
        "least `patience` gains and the last `patience` per-sample gains are all below tol."
    )


# --- restarts -------------------------------------------------------------------------------------


def _fake_runs(rng: np.random.Generator) -> list[dict[str, list[float]]]:
    """Runs (dicts like run_em's) whose first value, length and final value disagree about the best."""
    runs = []
    for _ in range(int(rng.integers(3, 8))):
        length = int(rng.integers(2, 40))
        first = rng.uniform(-1200, -1000)
        runs.append({"log_likelihoods": list(first + np.cumsum(rng.uniform(0, 20, length)))})
    return runs


#: (catalogue id, the index of the run a catalogued wrong choice picks).
CHOICE_MISTAKES = [
    ("best-run-lowest", lambda runs: int(np.argmin([run["log_likelihoods"][-1] for run in runs]))),
    ("best-run-first-value", lambda runs: int(np.argmax([run["log_likelihoods"][0] for run in runs]))),
    ("best-run-most-iterations", lambda runs: int(np.argmax([len(run["log_likelihoods"]) for run in runs]))),
]


def check_best_run(ns: Namespace) -> None:
    """best_run(runs) returns the run (not its index) whose last log-likelihood is highest.

    A wrong choice is named only if one catalogued rule picks the same run as
    the student in every one of the made-up sets of runs, where the first
    values, the lengths and the final values disagree about which is best.
    """
    with quiet():
        function = student_function(ns, "best_run")
        rng = np.random.default_rng(inputs(ns, notebook_problem).runs_seed)
        trials = []  # (runs, index of the run the student picked)
        for _ in range(30):
            runs = _fake_runs(rng)
            actual = _call(function, "best_run", list(runs))
            if isinstance(actual, (int, np.integer)):
                raise CheckFailed(
                    "best_run returned a number, not a run: " + hint("best-run-index"), ["best-run-index"]
                )
            picked = next((i for i, run in enumerate(runs) if actual is run), None)
            if picked is None:
                raise CheckFailed(
                    "best_run should return one of the runs it was given (a dict with 'log_likelihoods')."
                )
            trials.append((runs, picked))
        if all(picked == int(np.argmax([run["log_likelihoods"][-1] for run in runs])) for runs, picked in trials):
            return
        message = "best_run did not return the run with the highest final log-likelihood"
        matching = [
            misconception
            for misconception, choose in CHOICE_MISTAKES
            if all(picked == choose(runs) for runs, picked in trials)
        ]
        diagnosed = _diagnosed(message, matching)
        if diagnosed:
            raise diagnosed
        raise CheckFailed(
            f"{message}, and its choice matches no known mistake: compare the runs where they end, "
            "by their last log-likelihood (eq. 9.28)."
        )


def _by_chance(ns: Namespace, what: str, check: Check) -> None:
    """Fail when the function ``check`` judges (has_converged, best_run) is wrong, though ``what`` held here.

    The notebook's runs and its best restart are that function's work: right
    on this data by chance only, they would be wrong on other data, so the
    cell fails here too, for the function's reason, rather than pass here and
    fail where the grader tries other inputs.
    """
    try:
        check(ns)
    except CheckFailed as failure:
        raise CheckFailed(f"{what} only by chance, because {failure}", failure.diagnosis) from None


# --- the notebook's runs ----------------------------------------------------------------------------


def _run_parts(run: Any, where: str) -> tuple[Params, np.ndarray]:
    try:
        start, values = run["start"], np.asarray(run["log_likelihoods"], dtype=float)
        mu, cov, pi = (np.asarray(a, dtype=float) for a in start)
    except (TypeError, KeyError, ValueError):
        raise CheckFailed(f"{where} should be a dict from run_em with 'start' and 'log_likelihoods'.") from None
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise CheckFailed(f"{where}: its log-likelihoods should be a non-empty list of finite numbers.")
    return (mu, cov, pi), values


def reference_run(data: ArrayLike, start: Iterable[ArrayLike], tol: float, patience: int, max_iter: int) -> EMRun:
    """EM under the rule from ``start`` (an :class:`EMRun`): the same for every notebook checked on these inputs.

    Kept by content, because a class's notebooks record the same starts
    (their seeds are given) and the restarts take a second to redo.
    """
    arrays = [np.asarray(data, dtype=float), *(np.asarray(a, dtype=float) for a in start)]
    return _reference_run(float(tol), int(patience), int(max_iter), *(Hashed(a) for a in arrays))


# A grading run meets two problems of 12 runs each: 64 never grows without bound.
@functools.lru_cache(maxsize=64)
def _reference_run(tol: float, patience: int, max_iter: int, data: Hashed, *start: Hashed) -> EMRun:
    return initialisation.fit_until_converged(data.array, [a.array for a in start], tol, patience, max_iter)


def _compare_with_reference(
    run: Any, where: str, data: np.ndarray, tol: float, patience: int, max_iter: int
) -> str | None:
    """None if ``run`` is EM under the rule from its own start, else the failure."""
    start, values = _run_parts(run, where)
    reference = reference_run(data, start, tol, patience, max_iter)
    if len(values) < len(reference.log_likelihoods):
        return (
            f"{where} stopped after {len(values)} iterations, before the rule with tol={_tol(tol)} and "
            f"patience={patience} is met: check has_converged."
        )
    if len(values) > len(reference.log_likelihoods):
        return (
            f"{where} ran {len(values)} iterations, past the point where the rule with tol={_tol(tol)} "
            f"and patience={patience} is met: check has_converged."
        )
    if not all_close(values, reference.log_likelihoods):
        return f"{where}: its log-likelihoods differ from EM's from the same start."
    return None


def _rule_constants(ns: Namespace, tol_name: str) -> tuple[float, int, int]:
    return float(defined(ns, tol_name)), int(defined(ns, "PATIENCE")), int(defined(ns, "MAX_ITER"))


def check_runs(ns: Namespace) -> None:
    """`runs`: the seed's Dirichlet start does not stop on its plateau; every run follows the rule.

    A failure names the stopping rule's diagnosis as its likely cause, when
    the check of has_converged has one.
    """
    with quiet():
        problem = inputs(ns, notebook_problem)
        runs = defined(ns, "runs")
        if not isinstance(runs, dict) or not runs:
            raise CheckFailed("`runs` should be the dict of runs from the four starts: run your cell.")
        plateau_run = runs.get("random responsibilities")
        if plateau_run is None:
            raise CheckFailed("`runs` has no 'random responsibilities' run: keep the given lines of your cell.")
        start, values = _run_parts(plateau_run, "runs['random responsibilities']")
        if not all(all_close(a, b) for a, b in zip(start, problem.start)):
            raise CheckFailed(
                "runs['random responsibilities'] did not start from notebook 02's Dirichlet start: "
                "re-run the notebook from the top."
            )
        gains = np.diff(values) / len(problem.data)
        if problem.jump is not None and (len(gains) == 0 or gains.max() < problem.jump):
            raise likely_cause(
                ns,
                "The run from random responsibilities stopped on its plateau, before the jump "
                "of the log-likelihood: has_converged must wait for `patience` small gains in a "
                "row.",
                (check_has_converged,),
            )
        for name, run in runs.items():
            failure = _compare_with_reference(run, f"runs[{name!r}]", problem.data, *_rule_constants(ns, "TOL"))
            if failure:
                raise likely_cause(ns, failure, (check_has_converged,))
        _by_chance(ns, "The runs stop where the rule says", check_has_converged)


def check_restarts(ns: Namespace) -> None:
    """`restarts` follow the rule and `best` is the one with the highest final log-likelihood.

    A failure names the diagnosis of best_run's or has_converged's check as
    its likely cause, when one has one.
    """
    with quiet():
        restarts, best = defined(ns, "restarts"), defined(ns, "best")
        if not isinstance(restarts, list) or not restarts:
            raise CheckFailed("`restarts` should be the list of K = 3 runs: run your cell.")
        finals = [_run_parts(run, f"restarts[{i}]")[1][-1] for i, run in enumerate(restarts)]
        if not any(best is run for run in restarts) or _run_parts(best, "best")[1][-1] != max(finals):
            raise likely_cause(
                ns, "`best` is not the restart with the highest final log-likelihood.", (check_best_run,)
            )
        _by_chance(ns, "`best` is the best of these restarts", check_best_run)
        data = inputs(ns, notebook_problem).data
        for i, run in enumerate(restarts):
            failure = _compare_with_reference(run, f"restarts[{i}]", data, *_rule_constants(ns, "RESTART_TOL"))
            if failure:
                raise likely_cause(ns, failure, (check_has_converged,))
        _by_chance(ns, "The restarts stop where the rule says", check_has_converged)


CHECKS = [
    ("k-means++ seeding: probability D(x)^2 / sum D^2", check_kmeans_plus_plus),
    ("Stopping rule: per-sample gains below tol, `patience` times in a row", check_has_converged),
    ("Restart selection: highest final log-likelihood", check_best_run),
    ("Four starts: no run stops on the plateau", check_runs),
    ("K = 3 restarts and the best of them", check_restarts),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your starts, stopping rule and restarts are correct.")
