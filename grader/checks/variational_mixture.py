"""Checks for notebook 12: the variational Bayesian Gaussian mixture (PRML section 10.2).

The student writes four functions: ``dirichlet_update(N_k, alpha_0)``
(alpha_k, eq. 10.58), ``expected_log_weights(alpha)`` (E[ln pi_k], eq.
10.66), ``expected_weights(N_k, alpha_0)`` (E[pi_k], eq. 10.69) and
``log_responsibilities(expected_log_pi, expected_log_lambda, expected_quad)``
(ln r_nk from ln rho_nk, eqs. 10.46 and 10.49). Each is compared with
:mod:`grader.em.variational` on inputs the checks make from the data: counts
N_k (one of them exactly 0, a switched-off component), priors alpha_0 from
1e-3 to 1e3, and the expectations of a few posteriors q(mu, Lambda), also
at points far from every component, where probabilities underflow. The last
check runs the whole variational loop (the student's four functions, the
reference's Gaussian-Wishart updates) from the notebook's start for a tight
and a loose prior and compares the expected weights with the reference run.
Data, start and the seed of the made-up inputs come from :func:`core.inputs`,
so out of kernel the same checks judge hidden ones.

When a function is wrong, the catalogued mistakes
(:data:`grader.misconceptions.VARIATIONAL_MIXTURE`, written out below as the
code that makes them) are computed on the same inputs, and one is named only
if it alone reproduces the student's values on every one of them
(:mod:`.candidates`).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, logsumexp

from ..em import variational as reference
from .candidates import Ids, named, single_out
from .core import CheckFailed, Namespace, all_close, inputs, likely_cause, quiet
from .functions import array, call, defined, student_function
from .selfcheck import report

#: The notebook's number of components, and the seed of its start (K data points as the first centres).
N_COMPONENTS = 6
START_SEED = 42
#: Priors alpha_0 the functions are tried with: far below 1 (components switch off) to far above N.
ALPHA_0S = (1e-3, 0.5, 10.0, 1000.0)
#: The run check: a tight and a loose prior, each fitted for this many iterations from the notebook's start.
RUN_ALPHA_0S = (1e-3, 1000.0)
N_ITERATIONS = 50


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the data (N,), the starting responsibilities (N, K), the made-up inputs' seed."""

    data: np.ndarray
    start: np.ndarray
    cases_seed: int = 0


def notebook_data() -> np.ndarray:
    """The notebook's data cell: 120, 80 and 100 points around -4, 0.5 and 4.5 (``np.random.seed(7)``)."""
    rng = np.random.RandomState(7)
    return np.concatenate([rng.normal(-4.0, 1.0, 120), rng.normal(0.5, 0.6, 80), rng.normal(4.5, 1.2, 100)])


def notebook_problem() -> Problem:
    """The notebook's own: its data and the one-hot start from six data points drawn after ``np.random.seed(42)``."""
    data = notebook_data()
    return Problem(data, reference.start_from_points(data, N_COMPONENTS, START_SEED))


def _problem(ns: Namespace) -> Problem:
    """The problem to judge against, after checking the namespace's ``data`` is its data."""
    problem = inputs(ns, notebook_problem)
    data = array(defined(ns, "data"), problem.data.shape, "`data`")
    if not all_close(data, problem.data):
        raise CheckFailed("`data` is not the data the notebook generates: re-run the notebook from the top.")
    return problem


def _numbers(value: object, shape: Sequence[int], what: str) -> np.ndarray:
    """``value`` as a float array of ``shape`` (NaN and infinities allowed: the candidates compare them)."""
    try:
        result = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be numbers, but it is a {type(value).__name__}.") from None
    if result.shape != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, but it has shape {result.shape}.")
    return result


def _spread_case(compute: Callable[..., Any]) -> Callable[[Sequence[Any]], Any]:
    """``compute`` called with the entries of a case (a tuple of arguments)."""
    return lambda case: compute(*case)


def _single_out(
    outcomes: Sequence[Any], cases: Sequence[Sequence[Any]], candidates: Iterable[tuple[Ids, Callable[..., Any]]]
) -> Ids | None:
    """:func:`candidates.single_out` for candidates ``compute(*case)``, agreeing up to rounding."""
    return single_out(
        outcomes,
        cases,
        [(ids, _spread_case(compute)) for ids, compute in candidates],
        lambda case: all_close,
    )


def _outcomes(
    function: Callable[..., Any],
    cases: Iterable[Sequence[Any]],
    shape_of: Callable[[Any], Sequence[int]],
    label: str,
) -> list[np.ndarray]:
    """The student's ``function(*case)`` on every case, on copies (code that writes into its inputs changes no case)."""
    return [_numbers(call(function, *(np.copy(a) for a in case)), shape_of(case), f"`{label}(...)`") for case in cases]


# --- the inputs: counts, priors, posteriors ------------------------------------------------------------------


def _counts(problem: Problem) -> list[np.ndarray]:
    """Effective counts N_k (K,): the start's, a soft split's, and one with a component at exactly 0.

    Each sums to N, the number of points, as counts from responsibilities do.
    """
    data, start = problem.data, problem.start
    K = start.shape[1]
    rng = np.random.RandomState(problem.cases_seed)
    soft = rng.dirichlet(np.ones(K), size=len(data)).sum(axis=0)
    empty = soft.copy()
    gone, gaining = rng.choice(K, 2, replace=False)
    empty[gaining] += empty[gone]
    empty[gone] = 0.0
    return [start.sum(axis=0), soft, empty]


def _count_cases(problem: Problem) -> list[tuple[np.ndarray, float]]:
    """(N_k, alpha_0) for every count and prior."""
    return [(N_k, alpha_0) for N_k in _counts(problem) for alpha_0 in ALPHA_0S]


def _concentrations(problem: Problem) -> list[tuple[np.ndarray]]:
    """alpha (K,) for every count and prior: the inputs of ``expected_log_weights``."""
    return [(reference.dirichlet_concentration(N_k, alpha_0),) for N_k, alpha_0 in _count_cases(problem)]


def _far_points(data: np.ndarray) -> np.ndarray:
    """The first points of the data and two far outside it, where every exp(ln rho_nk) underflows to 0."""
    spread = float(np.std(data))
    return np.concatenate([data[:20], [data.min() - 80 * spread, data.max() + 80 * spread]])


def _expectations(x: np.ndarray, q: reference.Posterior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E[ln pi] (K,), E[ln Lambda] (K,), E[quadratic] (N, K)) under ``q`` at the points ``x``."""
    return (
        reference.expected_log_weights(q.alpha),
        reference.expected_log_precision(q.W, q.nu),
        reference.expected_quadratic(x, q.beta, q.m, q.W, q.nu),
    )


def _random_posterior(data: np.ndarray, K: int, rng: np.random.RandomState) -> reference.Posterior:
    """A valid q(pi) q(mu, Lambda) unrelated to any fit: positive alpha, beta, W, nu; means in the data's range."""
    variance = float(np.var(data))
    return reference.Posterior(
        alpha=rng.uniform(0.01, 2.0 * len(data) / K, K),
        beta=rng.uniform(1.0, 50.0, K),
        m=rng.choice(data, K, replace=False),
        W=1.0 / (variance * rng.uniform(0.02, 1.0, K) * rng.uniform(2.0, 50.0, K)),
        nu=rng.uniform(2.0, 50.0, K),
    )


def _response_cases(problem: Problem) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(E[ln pi], E[ln Lambda], E[quadratic]) of the first M-step and a made-up posterior, on the data and far out."""
    data, start = problem.data, problem.start
    first = reference.m_step(data, start, reference.default_prior(data, ALPHA_0S[0]))
    made_up = _random_posterior(data, start.shape[1], np.random.RandomState(problem.cases_seed + 1))
    return [_expectations(x, q) for q in (first, made_up) for x in (data, _far_points(data))]


# --- q(pi): dirichlet_update and expected_weights ----------------------------------------------------------

ALPHA_CANDIDATES = [
    ((), lambda N_k, a: a + N_k),
    (("alpha-prior-missing",), lambda N_k, a: N_k + 0.0),
    (("alpha-prior-minus-one",), lambda N_k, a: a - 1 + N_k),
]

WEIGHT_CANDIDATES = [
    ((), lambda N_k, a: (a + N_k) / (len(N_k) * a + N_k.sum())),
    (("weights-without-k-alpha",), lambda N_k, a: (a + N_k) / N_k.sum()),
    (("weights-without-k-alpha",), lambda N_k, a: (a + N_k) / (a + N_k.sum())),
    (("weights-prior-missing",), lambda N_k, a: N_k / N_k.sum()),
]


def check_concentration(ns: Namespace) -> None:
    """alpha_k = alpha_0 + N_k (eq. 10.58) and E[pi_k] = (alpha_0 + N_k) / (K alpha_0 + N) (eq. 10.69)."""
    with quiet():
        problem = _problem(ns)
        cases = _count_cases(problem)
        shape = lambda case: case[0].shape  # noqa: E731
        alphas = _outcomes(student_function(ns, "dirichlet_update"), cases, shape, "dirichlet_update")
        if not all(all_close(a, reference.dirichlet_concentration(*case)) for a, case in zip(alphas, cases)):
            what = "`dirichlet_update` does not compute the concentrations alpha_k of q(pi) (eq. 10.58)"
            ids = _single_out(alphas, cases, ALPHA_CANDIDATES)
            if ids:
                raise named(what, ids)
            raise CheckFailed(what + ", and it matches no known mistake: compare your line with the equation.")
        weights = _outcomes(student_function(ns, "expected_weights"), cases, shape, "expected_weights")
        if all(all_close(w, reference.expected_weights(*case)) for w, case in zip(weights, cases)):
            return
        what = "`expected_weights` does not compute the expected weights E[pi_k] under q(pi) (eq. 10.69)"
        ids = _single_out(weights, cases, WEIGHT_CANDIDATES)
        if ids:
            raise named(what, ids)
        if not all(np.isclose(w.sum(), 1.0) for w in weights):
            raise CheckFailed(
                f"{what}: its weights do not add up to 1, and they match no known mistake; the denominator of "
                "eq. (10.69) is the sum of all K concentrations."
            )
        raise CheckFailed(what + ", and it matches no known mistake: compare your line with the equation.")


# --- q(pi): expected_log_weights ---------------------------------------------------------------------------

LOG_WEIGHT_CANDIDATES = [
    ((), lambda alpha: digamma(alpha) - digamma(alpha.sum())),
    (("digamma-normaliser-missing",), lambda alpha: digamma(alpha)),
    (("log-instead-of-digamma",), lambda alpha: np.log(alpha) - np.log(alpha.sum())),
    (("log-instead-of-digamma",), lambda alpha: np.log(alpha / alpha.sum())),
]


def check_expected_log_weights(ns: Namespace) -> None:
    """E[ln pi_k] = psi(alpha_k) - psi(alpha_hat) (eq. 10.66), for small and large concentrations."""
    with quiet():
        problem = _problem(ns)
        cases = _concentrations(problem)
        function = student_function(ns, "expected_log_weights")
        outcomes = _outcomes(function, cases, lambda case: case[0].shape, "expected_log_weights")
        if all(all_close(value, reference.expected_log_weights(*case)) for value, case in zip(outcomes, cases)):
            return
        what = "`expected_log_weights` does not compute E[ln pi_k] under the Dirichlet q(pi) (eq. 10.66)"
        ids = _single_out(outcomes, cases, LOG_WEIGHT_CANDIDATES)
        if ids:
            raise named(what, ids)
        if any(np.any(value > 0) for value in outcomes):
            raise CheckFailed(
                f"{what}: some values are positive, but pi_k < 1 so ln pi_k < 0; they match no known mistake."
            )
        raise CheckFailed(what + ", and it matches no known mistake: compare your line with the equation.")


# --- q(Z): log_responsibilities ----------------------------------------------------------------------------

_HALF_LOG_TWO_PI = 0.5 * np.log(2 * np.pi)

LOG_RHO = {
    (): lambda pi, lam, quad: pi + 0.5 * lam - _HALF_LOG_TWO_PI - 0.5 * quad,
    ("expected-log-precision-missing",): lambda pi, lam, quad: pi - _HALF_LOG_TWO_PI - 0.5 * quad + 0.0 * lam,
    ("expected-log-precision-not-halved",): lambda pi, lam, quad: pi + lam - _HALF_LOG_TWO_PI - 0.5 * quad,
    ("expected-quadratic-not-halved",): lambda pi, lam, quad: pi + 0.5 * lam - _HALF_LOG_TWO_PI - quad,
    ("expected-log-weight-missing",): lambda pi, lam, quad: 0.0 * pi + 0.5 * lam - _HALF_LOG_TWO_PI - 0.5 * quad,
}


def _probability_space(log_rho: np.ndarray) -> np.ndarray:
    rho = np.exp(log_rho)
    return np.log(rho / rho.sum(axis=1, keepdims=True))


NORMALISATIONS = [
    ((), lambda log_rho: log_rho - logsumexp(log_rho, axis=1, keepdims=True)),
    (("responsibilities-probability-space",), _probability_space),
    (
        ("responsibilities-probability-space",),
        lambda log_rho: log_rho - np.log(np.exp(log_rho).sum(axis=1, keepdims=True)),
    ),
    (("responsibilities-wrong-axis",), lambda log_rho: log_rho - logsumexp(log_rho, axis=0, keepdims=True)),
    (("responsibilities-wrong-axis",), lambda log_rho: log_rho - logsumexp(log_rho)),
    (("log-rho-unnormalised",), lambda log_rho: log_rho),
    # ln rho without its constant -1/2 ln(2 pi), which cancels only once normalised
    (("log-rho-unnormalised",), lambda log_rho: log_rho + _HALF_LOG_TWO_PI),
]


def _responsibility_candidate(
    log_rho: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], normalise: Callable[[np.ndarray], np.ndarray]
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    return lambda pi, lam, quad: normalise(log_rho(pi, lam, quad))


#: One mistake at a time: each way of writing ln rho normalised correctly, and the correct ln rho normalised wrongly.
RESPONSIBILITY_CANDIDATES = [
    (ids, _responsibility_candidate(log_rho, NORMALISATIONS[0][1])) for ids, log_rho in LOG_RHO.items()
] + [(ids, _responsibility_candidate(LOG_RHO[()], normalise)) for ids, normalise in NORMALISATIONS[1:]]


def check_responsibilities(ns: Namespace) -> None:
    """ln r_nk from ln rho_nk (eq. 10.46 with 10.64-10.66), normalised in log space (eq. 10.49), also far out."""
    with quiet():
        problem = _problem(ns)
        cases = _response_cases(problem)
        function = student_function(ns, "log_responsibilities")
        outcomes = _outcomes(function, cases, lambda case: case[2].shape, "log_responsibilities")
        expected = [reference.log_responsibilities(*case) for case in cases]
        if all(all_close(value, want) for value, want in zip(outcomes, expected)):
            return
        ids = _single_out(outcomes, cases, RESPONSIBILITY_CANDIDATES)
        what = "`log_responsibilities` does not compute ln r_nk (eq. 10.46 and eq. 10.49)"
        if ids:
            raise named(what, ids)
        if not all(np.all(np.isfinite(value)) for value in outcomes):
            raise CheckFailed(
                f"{what}: it returns NaN or infinite values (for points far from every component, where "
                "probabilities underflow), and they match no known mistake; stay in log space with logsumexp."
            )
        if not all(np.allclose(logsumexp(value, axis=1), 0.0) for value in outcomes):
            raise CheckFailed(
                f"{what}: the responsibilities of a point do not add up to 1 over the components (eq. 10.49), "
                "and they match no known mistake."
            )
        raise CheckFailed(what + ", and it matches no known mistake: compare your lines with the equations.")


# --- the whole variational loop ----------------------------------------------------------------------------


def _student_run(
    functions: Sequence[Callable[..., Any]],
    data: np.ndarray,
    start: np.ndarray,
    prior: reference.Prior,
    n_iterations: int,
) -> np.ndarray:
    """E[pi] (K,) after the variational loop with the student's four functions and the reference's other steps."""
    dirichlet_update, expected_log_weights, expected_weights, log_responsibilities = functions
    K = start.shape[1]
    resp = start
    for iteration in range(n_iterations + 1):
        N_k, xbar, S = reference.statistics(data, resp)
        alpha = array(call(dirichlet_update, N_k, prior.alpha_0), (K,), "`dirichlet_update(...)`")
        beta, m, W, nu = reference.gaussian_wishart_update(N_k, xbar, S, prior)
        if iteration == n_iterations:
            break
        expected_log_pi = array(call(expected_log_weights, alpha), (K,), "`expected_log_weights(...)`")
        log_resp = call(
            log_responsibilities,
            expected_log_pi,
            reference.expected_log_precision(W, nu),
            reference.expected_quadratic(data, beta, m, W, nu),
        )
        resp = np.exp(array(log_resp, (len(data), K), "`log_responsibilities(...)`"))
    return array(call(expected_weights, N_k, prior.alpha_0), (K,), "`expected_weights(...)`")


def check_switch_off(ns: Namespace) -> None:
    """The variational loop from the notebook's start: for a tight prior the surplus components switch off."""
    with quiet():
        problem = _problem(ns)
        names = ("dirichlet_update", "expected_log_weights", "expected_weights", "log_responsibilities")
        functions = [student_function(ns, name) for name in names]
        try:
            for alpha_0 in RUN_ALPHA_0S:
                prior = reference.default_prior(problem.data, alpha_0)
                weights = _student_run(functions, problem.data, problem.start, prior, N_ITERATIONS)
                q = reference.fit(problem.data, problem.start, prior, N_ITERATIONS)
                if not all_close(weights, reference.posterior_weights(q)):
                    tight = alpha_0 < 1
                    raise CheckFailed(
                        "The variational loop with your functions, from the notebook's start, does not reach the "
                        f"expected weights of the reference run for the {'tight' if tight else 'loose'} prior "
                        + (
                            "alpha_0 far below 1, where the surplus components should switch off (eq. 10.69)."
                            if tight
                            else "alpha_0 far above N, where every component should keep a weight near 1/K."
                        )
                    )
        except CheckFailed as failure:
            raise likely_cause(
                ns, str(failure), (check_concentration, check_expected_log_weights, check_responsibilities)
            ) from None


CHECKS = [
    ("Concentrations alpha_k and expected weights E[pi_k] (eq. 10.58 and eq. 10.69)", check_concentration),
    ("Expected log weights E[ln pi_k] (eq. 10.66)", check_expected_log_weights),
    ("Responsibilities ln r_nk in log space (eq. 10.46 and eq. 10.49)", check_responsibilities),
    ("The variational loop: surplus components switch off under a tight prior", check_switch_off),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your variational mixture switches off what the data do not need.")
