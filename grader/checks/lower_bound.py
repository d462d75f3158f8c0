"""Checks for notebook 07: the evidence lower bound L(q, theta), the KL gap and their sum (PRML section 9.4).

The student writes ``elbo(x, q, mu, sigma, pi)`` (eq. 9.71) and
``kl_divergence(x, q, mu, sigma, pi)`` (eq. 9.72). The checks call them on the
notebook's data with parameter sets and distributions q of their own and
compare with :mod:`grader.em.elbo`; the invariants of eq. (9.70) are checked
on their own so that each earns its points. The data and the seed of those
made-up inputs come from :func:`core.inputs`, so out of kernel the same checks
judge hidden ones.

When a value is wrong, the function is evaluated on every input the checks
use (arbitrary, posterior and one-hot q for each parameter set) and on three
points with three components, and the catalogued mistakes
(:data:`grader.misconceptions.LOWER_BOUND`, written out below as the code
that makes them) are computed on the same inputs; one is named only if it
alone reproduces every value (:mod:`.candidates`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from scipy.special import logsumexp, xlogy

from ..em import elbo as reference
from ..em.seed import problem_1d
from ..em.univariate import Params, estimate_weighted_log_prob, log_likelihood
from .candidates import Agreement, Ids, Raised, hints, single_out
from .core import RTOL, CheckFailed, Namespace, inputs, quiet
from .functions import call, student_function
from .selfcheck import report

#: "ELBO + KL = log-likelihood" and "ELBO = log-likelihood" hold to rounding, relative to |log-likelihood|.
TOLERANCE = RTOL


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the data (N,), and the seed of the parameter sets and q they make up.

    The arbitrary q of parameter set i is drawn with seed ``seed + i``, the
    decomposition's with ``seed + 10 + i``.
    """

    data: np.ndarray
    seed: int = 0


def notebook_problem() -> Problem:
    """The notebook's own: seed part 1's data, rebuilt as its data cell draws it."""
    return Problem(problem_1d().data)


def _parameter_sets(problem: Problem) -> list[Params]:
    """A few valid (mu, sigma, pi) for the data, with K = 2 and K = 3; the notebook's start is not needed."""
    data = problem.data
    rng = np.random.RandomState(problem.seed)
    sets: list[Params] = []
    for K in (2, 3, 2):
        mu = rng.choice(data, K, replace=False)
        sigma = rng.uniform(0.3, 1.5, K) * np.std(data)
        sets.append((mu, sigma, rng.dirichlet(np.ones(K))))
    return sets


def _arbitrary_q(data: np.ndarray, K: int, seed: int) -> np.ndarray:
    """A q (N, K) with positive rows summing to 1, unrelated to any posterior."""
    return np.random.RandomState(seed).dirichlet(np.ones(K), size=len(data))


def _hard_q(data: np.ndarray, K: int) -> np.ndarray:
    """A one-hot q (N, K): exact zeros, where 0 ln 0 must count as 0."""
    return np.eye(K)[np.arange(len(data)) % K]


@dataclass(frozen=True)
class Case:
    """One input of the student's functions: data (N,), q (N, K), (mu, sigma, pi), and ln p(X | theta) there."""

    data: np.ndarray
    q: np.ndarray
    params: Params
    log_lik: float


def _case(data: np.ndarray, q: np.ndarray, params: Params) -> Case:
    return Case(data, q, params, log_likelihood(data, *params))


def _posterior(data: np.ndarray, params: Params) -> np.ndarray:
    return np.exp(reference.log_posterior(data, *params))


def _diagnostic_cases(problem: Problem) -> list[Case]:
    """Every input the checks use, and three points with three components (an (N,) normaliser broadcasts there).

    For each parameter set: the arbitrary q, the posterior, the one-hot q
    and the decomposition's arbitrary q.
    """
    data = problem.data
    sets = _parameter_sets(problem)
    cases = []
    for index, params in enumerate(sets):
        K = len(params[2])
        cases += [
            _case(data, q, params)
            for q in (
                _arbitrary_q(data, K, seed=problem.seed + index),
                _posterior(data, params),
                _hard_q(data, K),
                _arbitrary_q(data, K, seed=problem.seed + 10 + index),
            )
        ]
    params = next(p for p in sets if len(p[2]) == 3)
    small = data[:3]
    cases += [_case(small, _arbitrary_q(small, 3, seed=problem.seed + 20), params), _case(small, np.eye(3), params)]
    return cases


def _outcome(ns: Namespace, name: str, case: Case) -> np.ndarray | Raised:
    """The student's ``name(data, q, mu, sigma, pi)`` as a float array, or :class:`Raised` with its failure."""
    function = student_function(ns, name)
    try:
        result = call(function, case.data, case.q, *case.params)
    except CheckFailed as failure:
        return Raised(failure)
    try:
        return np.asarray(result, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"`{name}` should return a single number (a sum over n and k), but it returned {type(result).__name__}."
        ) from None


def _agree(actual: float, expected: float, scale: float) -> bool:
    return abs(actual - expected) <= TOLERANCE * max(1.0, abs(scale))


def _agreement(case: Case) -> Agreement:
    return lambda actual, value: bool(np.all(np.abs(actual - value) <= TOLERANCE * max(1.0, abs(case.log_lik))))


# --- the catalogued mistakes, as the code that makes them computes -------------------------------------------


def _joint(case: Case) -> np.ndarray:
    return estimate_weighted_log_prob(case.data, *case.params)


def _log_posterior(case: Case) -> np.ndarray:
    joint = _joint(case)
    return joint - logsumexp(joint, axis=1, keepdims=True)


def _q_log_q(case: Case) -> float:
    return np.sum(xlogy(case.q, case.q))


def _q_times_log_q(case: Case) -> float:
    """sum q * np.log(q): NaN where q is exactly 0."""
    return np.sum(case.q * np.log(case.q))


NAIVE = "q-log-q-without-xlogy"


def _either_q_log_q(ids: Ids, formula: Callable[[Case, float], float]) -> list[tuple[Ids, Callable[[Case], float]]]:
    """``formula(case, sum q ln q)`` with xlogy (``ids``) and with q * np.log(q) (``ids`` and the naive id)."""
    return [(ids, lambda c: formula(c, _q_log_q(c))), ((*ids, NAIVE), lambda c: formula(c, _q_times_log_q(c)))]


def _kl_from(log_posterior: Callable[[Case], np.ndarray]) -> Callable[[Case, float], float]:
    """KL with ``log_posterior(case)`` in place of the log posterior."""
    return lambda c, h: h - np.sum(c.q * log_posterior(c))


ELBO_CANDIDATES = [
    *_either_q_log_q((), lambda c, h: np.sum(c.q * _joint(c)) - h),
    (("elbo-entropy-missing",), lambda c: np.sum(c.q * _joint(c))),
    *_either_q_log_q(("elbo-entropy-sign",), lambda c, h: np.sum(c.q * _joint(c)) + h),
    *_either_q_log_q(("elbo-uses-posterior",), lambda c, h: np.sum(c.q * _log_posterior(c)) - h),
    *_either_q_log_q(("elbo-log-weight-missing",), lambda c, h: np.sum(c.q * (_joint(c) - np.log(c.params[2]))) - h),
    # the mean over the points, or over every (n, k) entry
    *_either_q_log_q(("mean-instead-of-sum",), lambda c, h: (np.sum(c.q * _joint(c)) - h) / len(c.data)),
    *_either_q_log_q(("mean-instead-of-sum",), lambda c, h: (np.sum(c.q * _joint(c)) - h) / c.q.size),
]

KL_CANDIDATES = [
    *_either_q_log_q((), _kl_from(_log_posterior)),
    *_either_q_log_q(("kl-sign",), lambda c, h: np.sum(c.q * _log_posterior(c)) - h),
    (("kl-weighted-by-posterior",), lambda c: np.sum(np.exp(_log_posterior(c)) * (_log_posterior(c) - np.log(c.q)))),
    *_either_q_log_q(("posterior-is-joint",), _kl_from(_joint)),
    *_either_q_log_q(
        ("logsumexp-wrong-axis",), _kl_from(lambda c: _joint(c) - logsumexp(_joint(c), axis=0, keepdims=True))
    ),
    *_either_q_log_q(("logsumexp-wrong-axis",), _kl_from(lambda c: _joint(c) - logsumexp(_joint(c)))),
    # raises unless N = K, like the student's (N, K) - (N,)
    *_either_q_log_q(("logsumexp-keepdims-missing",), _kl_from(lambda c: _joint(c) - logsumexp(_joint(c), axis=1))),
    *_either_q_log_q(("mean-instead-of-sum",), lambda c, h: (h - np.sum(c.q * _log_posterior(c))) / len(c.data)),
    *_either_q_log_q(("mean-instead-of-sum",), lambda c, h: (h - np.sum(c.q * _log_posterior(c))) / c.q.size),
]

CANDIDATES = {"elbo": ELBO_CANDIDATES, "kl_divergence": KL_CANDIDATES}


def _diagnosis(ns: Namespace, problem: Problem, name: str) -> Ids | None:
    """The ids of the one catalogued way of writing ``name`` that gives the student's values on every input.

    () when that is the correct formula, None when no single candidate does.
    """
    cases = _diagnostic_cases(problem)
    outcomes = [_outcome(ns, name, case) for case in cases]
    return single_out(outcomes, cases, CANDIDATES[name], _agreement)


def _named(message: str, ids: Ids | None) -> CheckFailed:
    """The failure ``message``, naming the mistake the numbers single out, or saying that they single out none."""
    if ids:
        return CheckFailed(f"{message}: " + hints(ids), ids)
    return CheckFailed(f"{message}; it matches no known mistake.")


def _judge(ns: Namespace, problem: Problem, name: str, case: Case) -> tuple[float, Callable[[str], NoReturn]]:
    """(the student's ``name`` on ``case`` as a float, fail(message)): ``fail`` raises, naming a singled-out mistake."""

    def fail(message: str) -> NoReturn:
        raise _named(message, _diagnosis(ns, problem, name))

    outcome = _outcome(ns, name, case)
    if isinstance(outcome, Raised):
        assert outcome.failure is not None  # the student's call that raised: its failure is always set
        ids = _diagnosis(ns, problem, name)
        raise CheckFailed(f"{outcome.failure} " + hints(ids), ids) if ids else outcome.failure
    try:
        return float(outcome.reshape(())), fail
    except ValueError:
        raise CheckFailed(
            f"`{name}` should return a single number (a sum over n and k), "
            f"but it returned an array of shape {outcome.shape}."
        ) from None


def check_elbo(ns: Namespace) -> None:
    """L(q, theta) <= ln p(X | theta) for arbitrary q (eq. 9.70), and equal to eq. (9.71)."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for index, params in enumerate(_parameter_sets(problem)):
            case = _case(data, _arbitrary_q(data, len(params[2]), seed=problem.seed + index), params)
            actual, fail = _judge(ns, problem, "elbo", case)
            if not np.isfinite(actual):
                fail("`elbo` returned NaN or infinity for a q with positive entries")
            if actual > case.log_lik + TOLERANCE * abs(case.log_lik):
                fail(
                    "`elbo` exceeds the log-likelihood for a q that is not the posterior, which eq. (9.70) rules "
                    "out because KL >= 0"
                )
            if not _agree(actual, reference.elbo(data, case.q, *params), case.log_lik):
                fail(
                    "`elbo` does not compute L(q, theta) = sum_nk q_nk (ln p(x_n, z_n = k | theta) - ln q_nk) "
                    "(eq. 9.71)"
                )


def check_elbo_tight(ns: Namespace) -> None:
    """L(gamma, theta) = ln p(X | theta) when q is the posterior, as right after an E-step."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for params in _parameter_sets(problem):
            case = _case(data, _posterior(data, params), params)
            actual, fail = _judge(ns, problem, "elbo", case)
            if not _agree(actual, case.log_lik, case.log_lik):
                fail(
                    "With q equal to the responsibilities (the E-step, eq. 9.23) the KL gap is zero, so `elbo` "
                    "must equal the log-likelihood (eq. 9.14), but it does not"
                )


def check_kl(ns: Namespace) -> None:
    """KL = 0 at the posterior, KL >= 0, and equal to eq. (9.72) for arbitrary q."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for index, params in enumerate(_parameter_sets(problem)):
            at_posterior, fail = _judge(ns, problem, "kl_divergence", _case(data, _posterior(data, params), params))
            log_lik = log_likelihood(data, *params)
            if not _agree(at_posterior, 0.0, log_lik):
                fail(
                    "`kl_divergence` is not zero when q is the posterior (the responsibilities), but a "
                    "distribution has no divergence from itself (eq. 9.72)"
                )
            case = _case(data, _arbitrary_q(data, len(params[2]), seed=problem.seed + index), params)
            actual, fail = _judge(ns, problem, "kl_divergence", case)
            if not np.isfinite(actual):
                fail("`kl_divergence` returned NaN or infinity for a q with positive entries")
            if actual < -TOLERANCE * abs(log_lik):
                fail("`kl_divergence` is negative, but a KL divergence never is (PRML section 1.6.1)")
            if not _agree(actual, reference.kl_divergence(data, case.q, *params), log_lik):
                fail(
                    "`kl_divergence` does not compute KL(q || p) = sum_nk q_nk (ln q_nk - ln p(z_n = k | x_n, "
                    "theta)) (eq. 9.72)"
                )


def _both_named(ns: Namespace, problem: Problem, message: str) -> CheckFailed:
    """``message`` naming what the numbers single out in either function, or saying they single out nothing."""
    named = [(name, ids) for name in ("elbo", "kl_divergence") for ids in [_diagnosis(ns, problem, name)] if ids]
    if not named:
        return CheckFailed(
            f"{message}: check both functions against eq. (9.71) and eq. (9.72); the values match no known mistake."
        )
    ids = tuple(dict.fromkeys(i for _, found in named for i in found))
    return CheckFailed(f"{message}. " + " ".join(f"`{name}`: " + hints(found) for name, found in named), ids)


def check_decomposition(ns: Namespace) -> None:
    """elbo + kl_divergence = ln p(X | theta) for arbitrary q, then for one-hot q with exact zeros (eq. 9.70)."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for with_zeros in (False, True):
            for index, params in enumerate(_parameter_sets(problem)):
                K = len(params[2])
                q = _hard_q(data, K) if with_zeros else _arbitrary_q(data, K, seed=problem.seed + 10 + index)
                case = _case(data, q, params)
                kind = "a one-hot q (exact zeros, where 0 ln 0 counts as 0)" if with_zeros else "an arbitrary q"
                values = 0.0
                for name in ("elbo", "kl_divergence"):
                    value, fail = _judge(ns, problem, name, case)
                    if not np.isfinite(value):
                        fail(f"`{name}` is NaN or infinite for {kind}")
                    values += value
                if not _agree(values, case.log_lik, case.log_lik):
                    raise _both_named(
                        ns,
                        problem,
                        f"elbo + kl_divergence differs from the log-likelihood "
                        f"(eq. 9.14) for {kind}, but eq. (9.70) says they add up to it for every q",
                    )


CHECKS = [
    ("ELBO: never above the log-likelihood, equal to eq. (9.71)", check_elbo),
    ("ELBO equals the log-likelihood right after the E-step", check_elbo_tight),
    ("KL gap: zero at the posterior, never negative, equal to eq. (9.72)", check_kl),
    ("ELBO + KL = log-likelihood for any q (eq. 9.70), also with exact zeros in q", check_decomposition),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your ELBO and KL gap satisfy eq. (9.70).")
