"""Checks for notebook 09: EM for a mixture of Bernoulli distributions on binary digits (PRML section 9.3.3).

The student writes ``log_bernoulli(X, mu)`` (the log of eq. 9.48 for every
image and component), ``responsibilities(log_p, pi)`` (eq. 9.56 in log
space) and ``m_step(X, gamma)`` (eqs. 9.57-9.60). Each is compared with
:mod:`grader.em.bernoulli` on inputs of the checks' own: the notebook's
images with several means and weights, images as wide as PRML's 28 x 28
digits (where a product of pixel probabilities underflows) and three images
of three pixels with three components (where an (N,) or (K,) array
broadcasts against an (N, K) or (K, D) one and a shape mistake gives numbers
instead of an error). The run check repeats the notebook's EM from its start.
Images, start and the seed of the made-up inputs come from :func:`core.inputs`,
so out of kernel the same checks judge hidden ones.

When a function is wrong, the catalogued mistakes of its blanks
(:data:`grader.misconceptions.BERNOULLI_MIXTURE`) are computed on the very
inputs the student's function was called on, and one is named only if it
alone reproduces the student's values on all of them
(:mod:`grader.checks.candidates`).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ..em import bernoulli as reference
from .candidates import Agreement, Ids, Raised, hints, named, single_out
from .core import CheckFailed, Namespace, all_close, inputs, likely_cause, quiet
from .functions import call, defined, student_function
from .selfcheck import report

#: The digits of PRML's Fig. 9.10, binarised at reference.THRESHOLD.
CLASSES = (2, 3, 4)
#: The notebook's starting means are drawn uniformly from this range, as in PRML section 9.3.3.
START_RANGE = (0.25, 0.75)
START_SEED = 2
#: Iterations of the run check, as in the notebook's run cell.
N_ITERATIONS = 20
#: Pixels of the wide images: PRML's 28 x 28 digits.
WIDE_PIXELS = 784
#: How far the log-likelihood may fall in one EM step (relative to its size) before it counts as a decrease:
#: the clipping of the means moves it by about N D EPS.
MONOTONE_RTOL = 1e-9


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the images X (N, D), the start (mu (K, D), pi (K,)), the cases' seed."""

    X: np.ndarray
    mu_start: np.ndarray
    pi_start: np.ndarray
    cases_seed: int = 0


def start(n_components: int, n_pixels: int, seed_value: int = START_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's start: means uniform in START_RANGE from ``default_rng(seed_value)``, equal weights."""
    mu = np.random.default_rng(seed_value).uniform(*START_RANGE, size=(n_components, n_pixels))
    return mu, np.full(n_components, 1 / n_components)


def notebook_problem() -> Problem:
    """The notebook's own: the binarised digits 2, 3 and 4, K = 3, its start."""
    X, _ = reference.binary_digits(CLASSES)
    return Problem(X, *start(len(CLASSES), X.shape[1]))


def _problem(ns: Namespace) -> Problem:
    """The problem to judge against, after checking the namespace's ``X`` is its images."""
    problem = inputs(ns, notebook_problem)
    X = defined(ns, "X")
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        X = None
    if X is None or X.shape != problem.X.shape or not np.array_equal(X, problem.X):
        raise CheckFailed("`X` is not the images the notebook makes: re-run the notebook from the top.")
    return problem


# --- the checks' own inputs ----------------------------------------------------------------------------------


def _random_means(rng: np.random.RandomState, n_components: int, n_pixels: int) -> np.ndarray:
    return rng.uniform(0.05, 0.95, size=(n_components, n_pixels))


def _with_extremes(rng: np.random.RandomState, mu: np.ndarray) -> np.ndarray:
    """``mu`` with a few means exactly 0 and 1, as the M-step gives for pixels constant in a component."""
    mu = mu.copy()
    for value in (0.0, 1.0):
        mu[rng.randint(mu.shape[0], size=4), rng.randint(mu.shape[1], size=4)] = value
    return mu


def _wide(rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """(X (12, 784), mu (3, 784)): random images, sharp means; every p(x_n | mu_k) is far below the smallest float."""
    X = (rng.uniform(size=(12, WIDE_PIXELS)) < 0.5).astype(float)
    return X, rng.beta(0.3, 0.3, size=(3, WIDE_PIXELS))


def _tiny(X: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """(3 images of 3 pixels, 3 means): N = D = K, so a misplaced axis broadcasts instead of raising."""
    columns = np.argsort(-X.var(axis=0))[:3]
    rows = rng.choice(len(X), 3, replace=False)
    return X[np.ix_(rows, columns)], _random_means(rng, 3, 3)


def _image_cases(problem: Problem) -> list[tuple[np.ndarray, np.ndarray]]:
    """(X, mu) pairs: the notebook's images with K = 2 and 3 (one with exact 0s and 1s), wide and tiny ones."""
    rng = np.random.RandomState(problem.cases_seed)
    X, D = problem.X, problem.X.shape[1]
    cases = [(X, _random_means(rng, 2, D)), (X, _with_extremes(rng, _random_means(rng, 3, D)))]
    return [*cases, _wide(rng), _tiny(X, rng)]


def _weights(rng: np.random.RandomState, n_components: int) -> np.ndarray:
    return rng.dirichlet(np.full(n_components, 2.0))


def _log_p_cases(problem: Problem) -> list[tuple[np.ndarray, np.ndarray]]:
    """(log_p, pi) pairs: ln p(x_n | mu_k) of the image cases (reference), with unequal weights."""
    rng = np.random.RandomState(problem.cases_seed + 1)
    return [(reference.log_bernoulli(X, mu), _weights(rng, len(mu))) for X, mu in _image_cases(problem)]


def _gamma_cases(problem: Problem) -> list[tuple[np.ndarray, np.ndarray]]:
    """(X, gamma) pairs: the notebook's images with the responsibilities of the image cases and arbitrary ones."""
    rng = np.random.RandomState(problem.cases_seed + 2)
    cases: list[tuple[np.ndarray, np.ndarray]] = []
    for (X, mu), (log_p, pi) in zip(_image_cases(problem), _log_p_cases(problem)):
        if X.shape[1] == WIDE_PIXELS:
            continue
        cases.append((X, reference.responsibilities(log_p, pi)))
        cases.append((X, rng.dirichlet(np.ones(len(mu)), size=len(X))))
    return cases


# --- the student's values, and naming a mistake ---------------------------------------------------------------


def _numbers(value: object, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be an array of numbers, but it is a {type(value).__name__}.") from None


def _outcome(function: Callable[..., Any], case: Sequence[Any], flatten: Callable[[Any], Any] | None = None) -> Any:
    """The student's ``function(*case)`` as a float array (``flatten`` of it), or :class:`Raised` with its failure."""
    try:
        result = call(function, *case)
    except CheckFailed as failure:
        return Raised(failure)
    return flatten(result) if flatten else _numbers(result, f"`{function.__name__}(...)`")


def _agreement(case: object) -> Agreement:
    return all_close


def _spread_case(compute: Callable[..., Any]) -> Callable[[Sequence[Any]], Any]:
    """``compute`` called with the entries of a case (a tuple of arguments)."""
    return lambda case: compute(*case)


def _diagnosis(
    outcomes: Sequence[Any], cases: Sequence[Sequence[Any]], candidates: Iterable[tuple[Ids, Callable[..., Any]]]
) -> Ids | None:
    return single_out(outcomes, cases, [(ids, _spread_case(compute)) for ids, compute in candidates], _agreement)


def _judge(
    outcomes: Sequence[Any],
    expected: Sequence[np.ndarray],
    cases: Sequence[Sequence[Any]],
    candidates: Iterable[tuple[Ids, Callable[..., Any]]],
    what: str,
    shape_of: str,
) -> None:
    """Pass if every outcome is the reference's; else fail, naming the one candidate that reproduces them all."""
    off = [i for i, (actual, value) in enumerate(zip(outcomes, expected)) if not _agrees(actual, value)]
    if not off:
        return
    ids = _diagnosis(outcomes, cases, candidates)
    actual, value = outcomes[off[0]], expected[off[0]]
    if isinstance(actual, Raised):
        if ids:
            raise CheckFailed(f"{actual.failure} " + hints(ids), ids)
        assert actual.failure is not None
        raise actual.failure
    if ids:
        raise named(what, ids)
    if actual.shape != value.shape:
        raise CheckFailed(f"`{shape_of}` should have shape {value.shape}, but it has shape {actual.shape}.")
    if not np.all(np.isfinite(actual)):
        raise CheckFailed(f"{what}: it gives NaN or infinite values, and they match no known mistake.")
    raise CheckFailed(f"{what}, and it matches no known mistake: compare your line with the equation term by term.")


def _agrees(actual: Any, value: np.ndarray) -> bool:
    return not isinstance(actual, Raised) and actual.shape == value.shape and all_close(actual, value)


# --- log_bernoulli --------------------------------------------------------------------------------------------


def _log(mu: np.ndarray) -> np.ndarray:
    return np.log(reference.clip_means(mu))


def _log_complement(mu: np.ndarray) -> np.ndarray:
    return np.log(1 - reference.clip_means(mu))


def _pixel_probabilities(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """p(x_nd | mu_kd), shape (N, K, D)."""
    mu = reference.clip_means(mu)[None, :, :]
    return mu ** X[:, None, :] * (1 - mu) ** (1 - X[:, None, :])


LOG_P_CANDIDATES = [
    ((), lambda X, mu: X @ _log(mu).T + (1 - X) @ _log_complement(mu).T),
    (("bernoulli-complement-missing",), lambda X, mu: X @ _log(mu).T),
    (("bernoulli-pixels-swapped",), lambda X, mu: (1 - X) @ _log(mu).T + X @ _log_complement(mu).T),
    (("bernoulli-probability-underflow",), lambda X, mu: np.log(np.prod(_pixel_probabilities(X, mu), axis=2))),
    (
        ("bernoulli-probability-underflow",),
        lambda X, mu: np.log(np.exp(X @ _log(mu).T + (1 - X) @ _log_complement(mu).T)),
    ),
    (("bernoulli-pixels-averaged",), lambda X, mu: (X @ _log(mu).T + (1 - X) @ _log_complement(mu).T) / X.shape[1]),
]


def check_log_bernoulli(ns: Namespace) -> None:
    """ln p(x_n | mu_k) summed over the pixels (the log of eq. 9.48), finite for wide images."""
    with quiet():
        problem = _problem(ns)
        log_bernoulli = student_function(ns, "log_bernoulli")
        cases = _image_cases(problem)
        outcomes = [_outcome(log_bernoulli, (X.copy(), mu.copy())) for X, mu in cases]
        expected = [reference.log_bernoulli(*case) for case in cases]
        _judge(
            outcomes,
            expected,
            cases,
            LOG_P_CANDIDATES,
            "`log_bernoulli` does not compute sum_d x_nd ln mu_kd + (1 - x_nd) ln(1 - mu_kd) (the log of eq. 9.48) "
            "for every image n and component k",
            "log_bernoulli(...)",
        )


# --- responsibilities -----------------------------------------------------------------------------------------


def _weighted(log_p: np.ndarray, pi: np.ndarray) -> np.ndarray:
    return np.log(pi) + log_p


def _normalised(
    log_gamma: Callable[[np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda log_p, pi: np.exp(log_gamma(_weighted(log_p, pi)))


RESPONSIBILITY_CANDIDATES = [
    ((), _normalised(lambda w: w - logsumexp(w, axis=1, keepdims=True))),
    (("bernoulli-responsibilities-wrong-axis",), _normalised(lambda w: w - logsumexp(w, axis=0, keepdims=True))),
    (("bernoulli-responsibilities-wrong-axis",), _normalised(lambda w: w - logsumexp(w))),
    # raises unless N = K, like the student's (N, K) - (N,)
    (("bernoulli-responsibilities-keepdims-missing",), _normalised(lambda w: w - logsumexp(w, axis=1))),
    (
        ("bernoulli-responsibilities-underflow",),
        _normalised(lambda w: np.log(np.exp(w) / np.exp(w).sum(axis=1, keepdims=True))),
    ),
    (("bernoulli-responsibilities-unnormalised",), _normalised(lambda w: w)),
]


def check_responsibilities(ns: Namespace) -> None:
    """gamma(z_nk) of eq. (9.56): rows summing to 1, finite when every p(x_n | mu_k) underflows."""
    with quiet():
        problem = _problem(ns)
        responsibilities = student_function(ns, "responsibilities")
        cases = _log_p_cases(problem)
        outcomes = [_outcome(responsibilities, (log_p.copy(), pi.copy())) for log_p, pi in cases]
        expected = [reference.responsibilities(*case) for case in cases]
        _judge(
            outcomes,
            expected,
            cases,
            RESPONSIBILITY_CANDIDATES,
            "`responsibilities` does not compute pi_k p(x_n | mu_k) / sum_j pi_j p(x_n | mu_j) (eq. 9.56)",
            "responsibilities(...)",
        )


# --- m_step ---------------------------------------------------------------------------------------------------


def _pair(result: object) -> tuple[np.ndarray, tuple[tuple[int, ...], tuple[int, ...]]]:
    """The student's (mu, pi) as one flat float array, mu's entries first, after checking it is a pair."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise CheckFailed(f"`m_step(...)` should return the pair (mu, pi), but it returned {type(result).__name__}.")
    mu, pi = (_numbers(value, f"`m_step(...)`'s {name}") for value, name in zip(result, ("mu", "pi")))
    return np.concatenate([mu.ravel(), pi.ravel()]), (mu.shape, pi.shape)


def _m_candidate(
    n_k: Callable[[np.ndarray], np.ndarray],
    means: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    weights: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def compute(X: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        counts = n_k(gamma)
        return np.concatenate([np.ravel(means(X, gamma, counts)), np.ravel(weights(X, counts))])

    return compute


def _column_sums(gamma: np.ndarray) -> np.ndarray:
    return gamma.sum(axis=0)


def _weighted_means(X: np.ndarray, gamma: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    return gamma.T @ X / n_k[:, None]


def _fractions(X: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    return n_k / len(X)


M_STEP_CANDIDATES = [
    ((), _m_candidate(_column_sums, _weighted_means, _fractions)),
    # raises unless N = K: an (N,) N_k does not line up with the (K, D) numerator
    (("bernoulli-nk-wrong-axis",), _m_candidate(lambda g: g.sum(axis=1), _weighted_means, _fractions)),
    (("bernoulli-mean-divided-by-n",), _m_candidate(_column_sums, lambda X, g, n_k: g.T @ X / len(X), _fractions)),
    (
        ("bernoulli-mean-unweighted",),
        _m_candidate(_column_sums, lambda X, g, n_k: X.sum(axis=0) / n_k[:, None], _fractions),
    ),
    # raises unless D = K: (K, D) / (K,) divides the columns
    (("bernoulli-mean-not-column",), _m_candidate(_column_sums, lambda X, g, n_k: g.T @ X / n_k, _fractions)),
    (("bernoulli-weights-unnormalised",), _m_candidate(_column_sums, _weighted_means, lambda X, n_k: n_k)),
]


def check_m_step(ns: Namespace) -> None:
    """mu_k = sum_n gamma_nk x_n / N_k (eq. 9.59) and pi_k = N_k / N (eq. 9.60), with N_k of eq. (9.57)."""
    with quiet():
        problem = _problem(ns)
        m_step = student_function(ns, "m_step")
        cases = _gamma_cases(problem)
        results = [_outcome(m_step, (X.copy(), gamma.copy()), _pair) for X, gamma in cases]
        outcomes = [r if isinstance(r, Raised) else r[0] for r in results]
        expected = [np.concatenate([np.ravel(part) for part in reference.m_step(*case)]) for case in cases]
        for result, (X, gamma) in zip(results, cases):
            if not isinstance(result, Raised) and result[1] != ((gamma.shape[1], X.shape[1]), (gamma.shape[1],)):
                if _diagnosis(outcomes, cases, M_STEP_CANDIDATES):
                    break
                raise CheckFailed(
                    f"`m_step(...)` should return mu of shape {(gamma.shape[1], X.shape[1])} and pi of shape "
                    f"{(gamma.shape[1],)}, but they have shapes {result[1][0]} and {result[1][1]}."
                )
        _judge(
            outcomes,
            expected,
            cases,
            M_STEP_CANDIDATES,
            "`m_step` does not compute mu_k = sum_n gamma_nk x_n / N_k (eq. 9.59) and pi_k = N_k / N (eq. 9.60) "
            "with N_k = sum_n gamma_nk (eq. 9.57)",
            "m_step(...)",
        )


# --- the run --------------------------------------------------------------------------------------------------


def check_em_run(ns: Namespace) -> None:
    """The notebook's EM from its start: every step the reference's, the log-likelihood (eq. 9.51) never falling."""
    with quiet():
        problem = _problem(ns)
        functions = [student_function(ns, name) for name in ("log_bernoulli", "responsibilities", "m_step")]
        try:
            _run(problem, *functions)
        except CheckFailed as failure:
            raise likely_cause(ns, str(failure), (check_log_bernoulli, check_responsibilities, check_m_step)) from None


def _run(
    problem: Problem,
    log_bernoulli: Callable[..., Any],
    responsibilities: Callable[..., Any],
    m_step: Callable[..., Any],
) -> None:
    X = problem.X
    K, D = problem.mu_start.shape
    mu, pi = problem.mu_start.copy(), problem.pi_start.copy()
    means, weights, _ = reference.fit(X, mu, pi, N_ITERATIONS)
    previous = reference.log_likelihood(X, mu, pi)
    for iteration in range(N_ITERATIONS):
        log_p = _numbers(call(log_bernoulli, X.copy(), mu.copy()), "`log_bernoulli(...)`")
        if log_p.shape != (len(X), K):
            raise CheckFailed(f"`log_bernoulli(X, mu)` should have shape {(len(X), K)}, but it has {log_p.shape}.")
        gamma = _numbers(call(responsibilities, log_p, pi.copy()), "`responsibilities(...)`")
        if gamma.shape != (len(X), K):
            raise CheckFailed(f"`responsibilities(...)` should have shape {(len(X), K)}, but it has {gamma.shape}.")
        result = call(m_step, X.copy(), gamma)
        (flat, shapes) = _pair(result)
        if shapes != ((K, D), (K,)):
            raise CheckFailed(f"`m_step(...)` should return mu of shape {(K, D)} and pi of shape {(K,)}.")
        mu, pi = flat[: K * D].reshape(K, D), flat[K * D :]
        if not (np.all(np.isfinite(flat)) and np.all(pi > 0)):
            raise CheckFailed(
                f"EM from the notebook's start gives NaN, infinite or non-positive parameters at iteration "
                f"{iteration + 1}."
            )
        current = reference.log_likelihood(X, mu, pi)
        if current < previous - MONOTONE_RTOL * abs(previous):
            raise CheckFailed(
                f"The log-likelihood (eq. 9.51) falls at iteration {iteration + 1} of EM from the notebook's "
                "start, but an EM step never lowers it (PRML section 9.4): the E-step or the M-step is not "
                "the one of section 9.3.3."
            )
        if not (all_close(mu, means[iteration]) and all_close(pi, weights[iteration])):
            raise CheckFailed(
                f"EM from the notebook's start (log_bernoulli, responsibilities, m_step) leaves the path of "
                f"eq. (9.56) and eq. (9.59) at iteration {iteration + 1}."
            )
        previous = current


CHECKS = [
    ("Log-likelihood of each image under each component, log_bernoulli (eq. 9.48)", check_log_bernoulli),
    ("Responsibilities in log space, responsibilities (eq. 9.56)", check_responsibilities),
    ("M-step for the means and weights, m_step (eq. 9.59 and eq. 9.60)", check_m_step),
    ("EM from the notebook's start: the reference's path, the log-likelihood rising", check_em_run),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: EM fits a mixture of Bernoulli distributions to the digits.")
