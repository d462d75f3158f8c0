"""Checks for notebook 08: k-means as the small-variance limit of EM (PRML section 9.3.2).

The student writes ``soft_assign(x, mu, variance, pi)`` (the E-step of a
mixture with one shared, fixed variance), ``hard_assign(x, mu)`` (k-means'
one-hot assignment) and ``update_means(x, weights)`` (one centroid formula for
both). Each is compared with :mod:`grader.em.kmeans` on inputs of the checks'
own; the limit itself is checked on the seed's 1D data from the notebook's start.
Data, start and the seed of those made-up inputs come from :func:`core.inputs`,
so out of kernel the same checks judge hidden ones.
"""

from dataclasses import dataclass

import numpy as np

from ..em import kmeans as reference
from ..em import seed
from .core import CheckFailed, all_close, inputs, quiet
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


def notebook_problem():
    """The notebook's own: seed part 1's data and the two data points its data cell draws as ``mu_start``."""
    problem = seed.problem_1d()
    return Problem(problem.data, problem.start[0])


def _problem(ns):
    """(data, start) to judge against, after checking the namespace's ``data`` is that data."""
    problem = inputs(ns, notebook_problem)
    data = array(defined(ns, "data"), problem.data.shape, "`data`")
    if not all_close(data, problem.data):
        raise CheckFailed("`data` is not the data the notebook generates: re-run the notebook from the top.")
    return problem.data, problem.start


def _cases(ns, data):
    """(mu, pi) pairs for K = 2 and 3, with unequal weights, drawn from the data's range."""
    rng = np.random.RandomState(inputs(ns, notebook_problem).cases_seed)
    return [(np.sort(rng.choice(data, K, replace=False)), rng.dirichlet(np.ones(K) * 2)) for K in (2, 3)]


def _result(function, shape, *args):
    return array(call(function, *args), shape, f"`{function.__name__}(...)`")


def _soft(soft_assign, data, mu, variance, pi):
    """The student's responsibilities (N, K); NaN from underflow gets its own explanation."""
    gamma = call(soft_assign, data, mu, variance, pi)
    with quiet():
        finite = np.all(np.isfinite(np.asarray(gamma, dtype=float)))
    if np.shape(gamma) == (len(data), len(mu)) and not finite:
        raise CheckFailed(f"`soft_assign(...)` has NaN or infinite entries for variance {variance}: for a small "
                          "variance, exp(-(x_n - mu_k)^2 / (2 variance)) underflows to 0 and 0/0 is NaN. Keep "
                          "log_weighted a logarithm (eq. 9.42 in logs); the given line normalises it safely.")
    return array(gamma, (len(data), len(mu)), "`soft_assign(...)`")


def _first_match(actual, candidates):
    for text, value in candidates:
        if value.shape == actual.shape and np.all(np.isfinite(value)) and all_close(actual, value):
            return f": {text}."
    return "; compare your line with the equation term by term."


def check_soft_assign(ns, invariants_only=False):
    """Rows of probabilities, finite for tiny variances; with all checks, eq. (9.42) with weights pi."""
    with quiet():
        data, _ = _problem(ns)
        soft_assign = student_function(ns, "soft_assign")
        for mu, pi in _cases(ns, data):
            for variance in VARIANCES:
                gamma = _soft(soft_assign, data, mu, variance, pi)
                if np.any(gamma < 0) or not np.allclose(gamma.sum(axis=1), 1.0):
                    raise CheckFailed("The rows of `soft_assign(...)` should be probabilities summing to 1 "
                                      f"(eq. 9.42); they are not for variance {variance}.")
                if invariants_only:
                    continue
                expected = reference.soft_assign(data, mu, variance, pi)
                if not all_close(gamma, expected):
                    candidates = [
                        ("the exponent is -(x_n - mu_k)^2 / (2 variance): the factor 1/2 is missing",
                         reference.soft_assign(data, mu, variance / 2, pi)),
                        ("`variance` is sigma^2 already: do not square it again",
                         reference.soft_assign(data, mu, variance**2, pi)),
                        ("`variance` is sigma^2: divide by 2 variance, not by 2 sqrt(variance)",
                         reference.soft_assign(data, mu, np.sqrt(variance), pi)),
                        ("the mixing weights enter as + ln pi_k (eq. 9.42 has pi_k in the numerator)",
                         reference.soft_assign(data, mu, variance, np.full(len(pi), 1 / len(pi)))),
                        ("points should favour NEAR means: the squared distance enters with a minus sign",
                         reference.soft_assign(data, mu, -variance, pi)),
                    ]
                    raise CheckFailed(f"`soft_assign` does not match eq. (9.42) for variance {variance}"
                                      + _first_match(gamma, candidates))


def check_hard_assign(ns, invariants_only=False):
    """One-hot rows; with all checks, the nearest mean of every point (eq. 9.2)."""
    with quiet():
        data, _ = _problem(ns)
        hard_assign = student_function(ns, "hard_assign")
        for mu, _ in _cases(ns, data):
            r = _result(hard_assign, (len(data), len(mu)), data, mu)
            if not (np.all((r == 0) | (r == 1)) and np.all(r.sum(axis=1) == 1)):
                raise CheckFailed("Each row of `hard_assign(...)` should be one-hot: a single 1 in the column of "
                                  "the chosen mean, 0 elsewhere (eq. 9.2).")
            if invariants_only:
                continue
            expected = reference.hard_assign(data, mu)
            if not np.array_equal(r, expected):
                farthest = np.eye(len(mu))[np.argmax((data[:, None] - mu[None, :]) ** 2, axis=1)]
                raise CheckFailed("`hard_assign` does not send every point to its nearest mean (eq. 9.2)"
                                  + _first_match(r, [("that is the FARTHEST mean: use argmin, not argmax",
                                                      farthest)]))


def check_update_means(ns, invariants_only=False):
    """Shape (K,) and within the data's range; with all checks, eq. (9.4) for one-hot and (9.24) for soft weights."""
    with quiet():
        data, _ = _problem(ns)
        update_means = student_function(ns, "update_means")
        for mu, pi in _cases(ns, data):
            for weights in (reference.hard_assign(data, mu), reference.soft_assign(data, mu, 1.0, pi)):
                means = _result(update_means, (len(mu),), data, weights)
                if np.any(means < data.min() - 1e-9) or np.any(means > data.max() + 1e-9):
                    raise CheckFailed("`update_means(...)` lies outside the range of the data, but a weighted "
                                      "average of points never does (eq. 9.4): divide by the total weight "
                                      "sum_n w_nk of each component.")
                if invariants_only:
                    continue
                expected = reference.update_means(data, weights)
                if not all_close(means, expected):
                    candidates = [
                        ("divide by the total weight sum_n w_nk of component k, not by the number of points N",
                         weights.T @ data / len(data)),
                        ("every point is weighted by w_nk in the numerator (eq. 9.4)",
                         np.full(len(mu), data.sum()) / weights.sum(axis=0)),
                    ]
                    raise CheckFailed("`update_means` does not compute sum_n w_nk x_n / sum_n w_nk (eqs. 9.4, "
                                      "9.24)" + _first_match(means, candidates))


def check_limit(ns, invariants_only=False):
    """As the variance shrinks, responsibilities become one-hot and EM's means become Lloyd's centroids."""
    with quiet():
        data, start = _problem(ns)
        soft_assign = student_function(ns, "soft_assign")
        hard_assign = student_function(ns, "hard_assign")
        update_means = student_function(ns, "update_means")
        pi = np.full(len(start), 1 / len(start))
        centroids, lloyd_centroids = np.array(start, dtype=float), np.array(start, dtype=float)
        for _ in range(N_ITERATIONS):
            r = _result(hard_assign, (len(data), len(start)), data, centroids)
            centroids = _result(update_means, start.shape, data, r)
            lloyd_centroids = reference.update_means(data, reference.hard_assign(data, lloyd_centroids))
            if not all_close(centroids, lloyd_centroids):
                raise CheckFailed("hard_assign + update_means from the notebook's start do not take Lloyd's k-means "
                                  "steps: fix the hard_assign and update_means checks first.")

        distance_to_one_hot = []
        for variance in VARIANCES:
            gamma = _soft(soft_assign, data, centroids, variance, pi)
            distance_to_one_hot.append(float(np.max(1 - gamma.max(axis=1))))
        if np.any(np.diff(distance_to_one_hot) > ONE_HOT_TOLERANCE) or distance_to_one_hot[-1] > ONE_HOT_TOLERANCE:
            raise CheckFailed("The responsibilities of `soft_assign` do not become one-hot as the variance shrinks "
                              "towards 0 (PRML section 9.3.2): fix the soft_assign check first.")
        if not np.allclose(gamma, reference.hard_assign(data, centroids), rtol=0, atol=ONE_HOT_TOLERANCE):
            raise CheckFailed("For a tiny variance the responsibilities of `soft_assign` become one-hot, but not on "
                              "each point's NEAREST mean, as k-means' assignment (eq. 9.2) is: fix the soft_assign "
                              "check first.")
        if invariants_only:
            return

        mu, lloyd_mu = np.array(start, dtype=float), np.array(start, dtype=float)
        for _ in range(N_ITERATIONS):
            mu = _result(update_means, start.shape, data, _soft(soft_assign, data, mu, SMALL_VARIANCE, pi))
            lloyd_mu = reference.update_means(data, reference.hard_assign(data, lloyd_mu))
            if not all_close(mu, lloyd_mu):
                raise CheckFailed(f"EM with the shared variance {SMALL_VARIANCE} (soft_assign + update_means) from "
                                  "the notebook's start does not take Lloyd's k-means steps, although its "
                                  "responsibilities are one-hot: fix the other checks first.")


CHECKS = [
    ("Small-variance E-step soft_assign (eq. 9.42)", check_soft_assign),
    ("Hard assignment hard_assign (eq. 9.2)", check_hard_assign),
    ("Centroid update update_means (eqs. 9.4, 9.24)", check_update_means),
    ("As the variance shrinks, EM becomes k-means", check_limit),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: EM with a vanishing shared variance is k-means.")
