"""Checks for notebook 08: k-means as the small-variance limit of EM (PRML section 9.3.2).

The student writes ``soft_assign(x, mu, variance, pi)`` (the E-step of a
mixture with one shared, fixed variance), ``hard_assign(x, mu)`` (k-means'
one-hot assignment) and ``update_means(x, weights)`` (one centroid formula for
both). Each is compared with :mod:`grader.em.kmeans` on inputs of the checks'
own; the limit itself is checked on the seed's 1D data from the notebook's start.
Data, start and the seed of those made-up inputs come from :func:`core.inputs`,
so out of kernel the same checks judge hidden ones.

When a function is wrong, the catalogued mistakes of its blanks
(:data:`grader.misconceptions.KMEANS_LIMIT`) are computed on the very inputs
the student's function was called on, and one is named only if it alone
reproduces the student's values on every one of them: the made-up inputs span
several variances, weights and numbers of components, so two mistakes that
coincide on one input (a missing factor 1/2 and ``2 * np.sqrt(variance)`` at
variance 4) are told apart by the others. Otherwise the message says that the
values match no known mistake.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ..em import kmeans as reference
from ..em import seed
from .candidates import Ids, named, single_out
from .core import CheckFailed, Namespace, all_close, inputs, likely_cause, quiet
from .functions import array, call, defined, student_function
from .selfcheck import report

#: A variance small enough that every seed point's responsibilities are one-hot to rounding.
SMALL_VARIANCE = 1e-6
#: Shrinking variances along which responsibilities must approach one-hot.
VARIANCES = (4.0, 1.0, 0.25, 1e-2, 1e-4, SMALL_VARIANCE)
ONE_HOT_TOLERANCE = 1e-9
#: Iterations of both algorithms in the limit check, as in the notebook's run cell.
N_ITERATIONS = 20


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the data (N,), the starting means (K,) and the made-up inputs' seed.

    ``cases_seed`` seeds the (mu, pi) pairs the three functions are tried on
    (:func:`_cases`), so other inputs try them on other pairs too.
    """

    data: np.ndarray
    start: np.ndarray
    cases_seed: int = 0


def notebook_problem() -> Problem:
    """The notebook's own: seed part 1's data and the two data points its data cell draws as ``mu_start``."""
    problem = seed.problem_1d()
    return Problem(problem.data, problem.start[0])


def _problem(ns: Namespace) -> tuple[np.ndarray, np.ndarray]:
    """(data, start) to judge against, after checking the namespace's ``data`` is that data."""
    problem = inputs(ns, notebook_problem)
    data = array(defined(ns, "data"), problem.data.shape, "`data`")
    if not all_close(data, problem.data):
        raise CheckFailed("`data` is not the data the notebook generates: re-run the notebook from the top.")
    return problem.data, problem.start


def _cases(ns: Namespace, data: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mu, pi) pairs for K = 2 and 3, with unequal weights, drawn from the data's range."""
    rng = np.random.RandomState(inputs(ns, notebook_problem).cases_seed)
    return [(np.sort(rng.choice(data, K, replace=False)), rng.dirichlet(np.ones(K) * 2)) for K in (2, 3)]


def _result(function: Callable[..., Any], shape: Sequence[int], *args: Any) -> np.ndarray:
    return array(call(function, *args), shape, f"`{function.__name__}(...)`")


def shown(value: float) -> str:
    """``value`` written without a decimal point (0.25 as 25e-2, 1e-06 as 1e-6): no message shows a decimal."""
    mantissa, exponent = f"{value:e}".split("e")
    digits = mantissa.rstrip("0").rstrip(".").replace(".", "")
    sign, digits = ("-", digits[1:]) if digits.startswith("-") else ("", digits)
    power = int(exponent) - (len(digits) - 1)
    if 0 <= power <= 3:
        return f"{sign}{int(digits) * 10**power}"
    return f"{sign}{digits}e{power}"


# --- naming a mistake only when the numbers single it out (grader.checks.candidates) ---------------------


def _spread_case(compute: Callable[..., Any]) -> Callable[[tuple[Any, ...]], Any]:
    """``compute`` called with the entries of a case (a tuple of arguments)."""
    return lambda case: compute(*case)


def _single_out(
    outcomes: Sequence[Any], cases: Sequence[tuple[Any, ...]], candidates: Iterable[tuple[Ids, Callable[..., Any]]]
) -> Ids | None:
    """:func:`candidates.single_out` for this module's candidates, ``compute(*case)``, agreeing up to rounding."""
    return single_out(
        outcomes,
        cases,
        [(ids, _spread_case(compute)) for ids, compute in candidates],
        lambda case: all_close,
    )


# --- soft_assign ------------------------------------------------------------------------------------------


def _normalised(log_weighted: np.ndarray) -> np.ndarray:
    """The given line of ``soft_assign``: responsibilities from the log numerators."""
    return np.exp(log_weighted - logsumexp(log_weighted, axis=1, keepdims=True))


def _soft_candidate(
    log_weighted: Callable[[np.ndarray, float, np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, np.ndarray, float, np.ndarray], np.ndarray]:
    """soft_assign with ``log_weighted(differences, variance, pi)`` as its log numerators."""

    def compute(x: np.ndarray, mu: np.ndarray, variance: float, pi: np.ndarray) -> np.ndarray:
        return _normalised(log_weighted(x[:, None] - mu[None, :], variance, pi))

    return compute


SOFT_CANDIDATES = [
    ((), _soft_candidate(lambda d, v, pi: np.log(pi) - d**2 / (2 * v))),
    (("soft-half-missing",), _soft_candidate(lambda d, v, pi: np.log(pi) - d**2 / v)),
    (("soft-variance-squared",), _soft_candidate(lambda d, v, pi: np.log(pi) - d**2 / (2 * v**2))),
    (("soft-variance-as-std",), _soft_candidate(lambda d, v, pi: np.log(pi) - d**2 / (2 * np.sqrt(v)))),
    (("soft-variance-multiplied",), _soft_candidate(lambda d, v, pi: np.log(pi) - d**2 / 2 * v)),
    (("soft-log-weight-missing",), _soft_candidate(lambda d, v, pi: -(d**2) / (2 * v))),
    (("soft-log-weight-missing",), _soft_candidate(lambda d, v, pi: pi - d**2 / (2 * v))),
    (("soft-exponent-sign",), _soft_candidate(lambda d, v, pi: np.log(pi) + d**2 / (2 * v))),
    (("soft-distance-not-squared",), _soft_candidate(lambda d, v, pi: np.log(pi) - np.abs(d) / (2 * v))),
    (("soft-exp-underflow",), _soft_candidate(lambda d, v, pi: np.log(pi * np.exp(-(d**2) / (2 * v))))),
]


def _soft_outcomes(
    soft_assign: Callable[..., Any], data: np.ndarray, cases: Iterable[tuple[np.ndarray, np.ndarray, float, np.ndarray]]
) -> list[np.ndarray]:
    """The student's responsibilities on every case, as float arrays (NaN allowed), shape checked."""
    outcomes: list[np.ndarray] = []
    for x, mu, variance, pi in cases:
        gamma = call(soft_assign, x, mu, variance, pi)
        try:
            gamma = np.asarray(gamma, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"`soft_assign(...)` should be numbers, but it is a {type(gamma).__name__}.") from None
        if gamma.shape != (len(x), len(mu)):
            raise CheckFailed(
                f"`soft_assign(...)` should have shape {(len(x), len(mu))}, but it has shape {gamma.shape}."
            )
        outcomes.append(gamma)
    return outcomes


def check_soft_assign(ns: Namespace) -> None:
    """eq. (9.42) with weights pi, finite for tiny variances, on several means, weights and variances."""
    with quiet():
        data, _ = _problem(ns)
        soft_assign = student_function(ns, "soft_assign")
        cases = [(data, mu, variance, pi) for mu, pi in _cases(ns, data) for variance in VARIANCES]
        outcomes = _soft_outcomes(soft_assign, data, cases)
        expected = [reference.soft_assign(*case) for case in cases]
        off = [i for i, (gamma, value) in enumerate(zip(outcomes, expected)) if not all_close(gamma, value)]
        if not off:
            return
        variance = shown(cases[off[0]][2])
        ids = _single_out(outcomes, cases, SOFT_CANDIDATES)
        if ids:
            raise named(f"`soft_assign` does not match eq. (9.42) for variance {variance}", ids)
        gamma = outcomes[off[0]]
        if not np.all(np.isfinite(gamma)):
            raise CheckFailed(
                f"`soft_assign(...)` has NaN or infinite entries for variance {variance}, and they "
                "match no known mistake: keep log_weighted a logarithm (eq. 9.42 in logs), so "
                "that the given line can normalise it safely."
            )
        if np.any(gamma < 0) or not np.allclose(gamma.sum(axis=1), 1.0):
            raise CheckFailed(
                "The rows of `soft_assign(...)` should be probabilities summing to 1 "
                f"(eq. 9.42); they are not for variance {variance}."
            )
        raise CheckFailed(
            f"`soft_assign` does not match eq. (9.42) for variance {variance}, and it matches no "
            "known mistake: compare your line with the equation term by term."
        )


# --- hard_assign ------------------------------------------------------------------------------------------


def _squared(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    return (x[:, None] - mu[None, :]) ** 2


HARD_CANDIDATES = [
    ((), lambda x, mu: np.eye(len(mu))[np.argmin(_squared(x, mu), axis=1)]),
    (("nearest-argmax",), lambda x, mu: np.eye(len(mu))[np.argmax(_squared(x, mu), axis=1)]),
    (("nearest-signed-difference",), lambda x, mu: np.eye(len(mu))[np.argmin(x[:, None] - mu[None, :], axis=1)]),
    (("one-hot-missing",), lambda x, mu: np.argmin(_squared(x, mu), axis=1)),
]


def _numbers(value: object, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be numbers, but it is a {type(value).__name__}.") from None


def check_hard_assign(ns: Namespace) -> None:
    """One-hot rows, each point's nearest mean (eq. 9.2)."""
    with quiet():
        data, _ = _problem(ns)
        hard_assign = student_function(ns, "hard_assign")
        cases = [(data, mu) for mu, _ in _cases(ns, data)]
        outcomes = [_numbers(call(hard_assign, *case), "`hard_assign(...)`") for case in cases]
        expected = [reference.hard_assign(*case) for case in cases]
        if all(r.shape == e.shape and np.array_equal(r, e) for r, e in zip(outcomes, expected)):
            return
        ids = _single_out(outcomes, cases, HARD_CANDIDATES)
        (r, want) = next((r, e) for r, e in zip(outcomes, expected) if r.shape != e.shape or not np.array_equal(r, e))
        if r.shape != want.shape:
            what = f"`hard_assign(...)` should have shape {want.shape}, but it has shape {r.shape}"
            if ids:
                raise named(what, ids)
            raise CheckFailed(what + ".")
        if ids:
            raise named("`hard_assign` does not send every point to its nearest mean (eq. 9.2)", ids)
        if not (np.all((r == 0) | (r == 1)) and np.all(r.sum(axis=1) == 1)):
            raise CheckFailed(
                "Each row of `hard_assign(...)` should be one-hot: a single 1 in the column of "
                "the chosen mean, 0 elsewhere (eq. 9.2)."
            )
        raise CheckFailed(
            "`hard_assign` does not send every point to its nearest mean (eq. 9.2), and it matches "
            "no known mistake: compare your lines with the equation."
        )


# --- update_means -----------------------------------------------------------------------------------------

MEANS_CANDIDATES = [
    ((), lambda x, w: w.T @ x / w.sum(axis=0)),
    (("centroid-divided-by-n",), lambda x, w: w.T @ x / len(x)),
    (("centroid-unweighted",), lambda x, w: np.full(w.shape[1], x.sum()) / w.sum(axis=0)),
]


def check_update_means(ns: Namespace) -> None:
    """sum_n w_nk x_n / sum_n w_nk: eq. (9.4) for one-hot weights and eq. (9.24) for soft ones."""
    with quiet():
        data, _ = _problem(ns)
        update_means = student_function(ns, "update_means")
        cases = [
            (data, weights)
            for mu, pi in _cases(ns, data)
            for weights in (reference.hard_assign(data, mu), reference.soft_assign(data, mu, 1.0, pi))
        ]
        outcomes = [_result(update_means, (case[1].shape[1],), *case) for case in cases]
        if all(all_close(means, reference.update_means(*case)) for means, case in zip(outcomes, cases)):
            return
        ids = _single_out(outcomes, cases, MEANS_CANDIDATES)
        what = "`update_means` does not compute sum_n w_nk x_n / sum_n w_nk (eq. 9.4 and eq. 9.24)"
        if ids:
            raise named(what, ids)
        if any(np.any(means < data.min() - 1e-9) or np.any(means > data.max() + 1e-9) for means in outcomes):
            raise CheckFailed(
                "`update_means(...)` lies outside the range of the data, but a weighted average of "
                "points never does (eq. 9.4); it matches no known mistake."
            )
        raise CheckFailed(what + ", and it matches no known mistake: compare your line with the equation.")


# --- the limit ----------------------------------------------------------------------------------------------


def _soft(
    soft_assign: Callable[..., Any], data: np.ndarray, mu: np.ndarray, variance: float, pi: np.ndarray
) -> np.ndarray:
    gamma = call(soft_assign, data, mu, variance, pi)
    return array(gamma, (len(data), len(mu)), f"`soft_assign(...)` for variance {shown(variance)}")


def check_limit(ns: Namespace) -> None:
    """As the variance shrinks, responsibilities become one-hot and EM's means become Lloyd's centroids."""
    with quiet():
        data, start = _problem(ns)
        soft_assign = student_function(ns, "soft_assign")
        hard_assign = student_function(ns, "hard_assign")
        update_means = student_function(ns, "update_means")
        try:
            _limit(data, start, soft_assign, hard_assign, update_means)
        except CheckFailed as failure:
            raise likely_cause(ns, str(failure), (check_soft_assign, check_hard_assign, check_update_means)) from None


def _limit(
    data: np.ndarray,
    start: np.ndarray,
    soft_assign: Callable[..., Any],
    hard_assign: Callable[..., Any],
    update_means: Callable[..., Any],
) -> None:
    pi = np.full(len(start), 1 / len(start))
    centroids, lloyd_centroids = np.array(start, dtype=float), np.array(start, dtype=float)
    for _ in range(N_ITERATIONS):
        r = _result(hard_assign, (len(data), len(start)), data, centroids)
        centroids = _result(update_means, start.shape, data, r)
        lloyd_centroids = reference.update_means(data, reference.hard_assign(data, lloyd_centroids))
        if not all_close(centroids, lloyd_centroids):
            raise CheckFailed(
                "hard_assign + update_means from the notebook's start do not take Lloyd's k-means "
                "steps: fix the hard_assign and update_means checks first."
            )

    distance_to_one_hot = []
    for variance in VARIANCES:
        gamma = _soft(soft_assign, data, centroids, variance, pi)
        distance_to_one_hot.append(float(np.max(1 - gamma.max(axis=1))))
    if np.any(np.diff(distance_to_one_hot) > ONE_HOT_TOLERANCE) or distance_to_one_hot[-1] > ONE_HOT_TOLERANCE:
        raise CheckFailed(
            "The responsibilities of `soft_assign` do not become one-hot as the variance shrinks "
            "towards 0 (PRML section 9.3.2): fix the soft_assign check first."
        )
    if not np.allclose(gamma, reference.hard_assign(data, centroids), rtol=0, atol=ONE_HOT_TOLERANCE):
        raise CheckFailed(
            "For a tiny variance the responsibilities of `soft_assign` become one-hot, but not on "
            "each point's NEAREST mean, as k-means' assignment (eq. 9.2) is: fix the soft_assign "
            "check first."
        )

    mu, lloyd_mu = np.array(start, dtype=float), np.array(start, dtype=float)
    for _ in range(N_ITERATIONS):
        mu = _result(update_means, start.shape, data, _soft(soft_assign, data, mu, SMALL_VARIANCE, pi))
        lloyd_mu = reference.update_means(data, reference.hard_assign(data, lloyd_mu))
        if not all_close(mu, lloyd_mu):
            raise CheckFailed(
                f"EM with the shared variance {shown(SMALL_VARIANCE)} (soft_assign + update_means) "
                "from the notebook's start does not take Lloyd's k-means steps, although its "
                "responsibilities are one-hot: fix the other checks first."
            )


CHECKS = [
    ("Small-variance E-step soft_assign (eq. 9.42)", check_soft_assign),
    ("Hard assignment hard_assign (eq. 9.2)", check_hard_assign),
    ("Centroid update update_means (eq. 9.4 and eq. 9.24)", check_update_means),
    ("As the variance shrinks, EM becomes k-means", check_limit),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: EM with a vanishing shared variance is k-means.")
