"""Checks for notebook 07: the evidence lower bound L(q, theta), the KL gap and their sum (PRML section 9.4).

The student writes ``elbo(x, q, mu, sigma, pi)`` (eq. 9.71) and
``kl_divergence(x, q, mu, sigma, pi)`` (eq. 9.72). The checks call them on the
notebook's data with parameter sets and distributions q of their own and
compare with :mod:`grader.em.elbo`; the invariants of eq. (9.70) are checked
on their own so that each earns its points. The data and the seed of those
made-up inputs come from :func:`core.inputs`, so out of kernel the same checks
judge hidden ones.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, xlogy

from ..em import elbo as reference
from ..em.seed import problem_1d
from ..em.univariate import estimate_weighted_log_prob, log_likelihood
from .core import RTOL, CheckFailed, inputs, quiet
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


def notebook_problem():
    """The notebook's own: seed part 1's data, rebuilt as its data cell draws it."""
    return Problem(problem_1d().data)


def _parameter_sets(problem):
    """A few valid (mu, sigma, pi) for the data, with K = 2 and K = 3; the notebook's start is not needed."""
    data = problem.data
    rng = np.random.RandomState(problem.seed)
    sets = []
    for K in (2, 3, 2):
        mu = rng.choice(data, K, replace=False)
        sigma = rng.uniform(0.3, 1.5, K) * np.std(data)
        sets.append((mu, sigma, rng.dirichlet(np.ones(K))))
    return sets


def _arbitrary_q(data, K, seed):
    """A q (N, K) with positive rows summing to 1, unrelated to any posterior."""
    return np.random.RandomState(seed).dirichlet(np.ones(K), size=len(data))


def _hard_q(data, K):
    """A one-hot q (N, K): exact zeros, where 0 ln 0 must count as 0."""
    return np.eye(K)[np.arange(len(data)) % K]


def _value(ns, name, data, q, params):
    """The student's ``name(data, q, mu, sigma, pi)`` as a float (NaN allowed: the caller explains it)."""
    result = call(student_function(ns, name), data, q, *params)
    try:
        return float(np.asarray(result, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}` should return a single number (a sum over n and k), "
                          f"but it returned {type(result).__name__} of shape {np.shape(result)}.") from None


def _agree(actual, expected, scale):
    return abs(actual - expected) <= TOLERANCE * max(1.0, abs(scale))


def _pieces(data, q, params):
    """Ingredients of the catalogued mistakes: log joint, log posterior, sum q ln q, the posterior."""
    joint = estimate_weighted_log_prob(data, *params)
    posterior = joint - logsumexp(joint, axis=1, keepdims=True)
    return joint, posterior, np.sum(xlogy(q, q)), np.exp(posterior)


def _elbo_mistakes(data, q, params):
    joint, posterior, q_log_q, _ = _pieces(data, q, params)
    expected_complete = np.sum(q * joint)
    return [
        ("this is only the expected complete-data log-likelihood, the first term of eq. (9.74); L(q, theta) also "
         "contains the entropy of q, minus the sum of q ln q", expected_complete),
        ("the entropy term enters with a minus sign: L = sum q ln p(x, z) - sum q ln q", expected_complete + q_log_q),
        ("eq. (9.71) divides the joint p(x_n, z_n = k | theta) (log_joint) by q, not the posterior",
         np.sum(q * posterior) - q_log_q),
        ("L(q, theta) sums over the points n; it is not their mean", (expected_complete - q_log_q) / len(data)),
        ("ln p(x_n, z_n = k | theta) includes ln pi_k", expected_complete - np.sum(q * np.log(params[2])) - q_log_q),
    ]


def _kl_mistakes(data, q, params):
    joint, posterior, q_log_q, responsibilities = _pieces(data, q, params)
    wrong_axis = joint - logsumexp(joint, axis=0, keepdims=True)
    return [
        ("the KL divergence is sum q (ln q - ln posterior), the reverse of your difference; it is never negative",
         np.sum(q * posterior) - q_log_q),
        ("eq. (9.72) is KL(q || p(Z | X, theta)): weight by q, not by the posterior",
         np.sum(responsibilities * (posterior - np.log(q)))),
        ("the gap compares q with the posterior p(z_n = k | x_n, theta), not with the joint: subtract each "
         "point's logsumexp over k from log_joint", q_log_q - np.sum(q * joint)),
        ("the posterior is normalised over the components k of each point (axis=1, keepdims=True), not over "
         "the points", q_log_q - np.sum(q * wrong_axis)),
        ("the KL divergence sums over the points n; it is not their mean",
         (q_log_q - np.sum(q * posterior)) / len(data)),
    ]


def _recognised(actual, mistakes, scale):
    for text, value in mistakes:
        if np.isfinite(value) and _agree(actual, value, scale):
            return f": {text}."
    return "."


def _zeros_hint(actual, what):
    if not np.isfinite(actual):
        raise CheckFailed(f"{what} is NaN or infinite for a q with exact zeros (a hard assignment). 0 ln 0 counts "
                          "as 0, its limit: compute q ln q with xlogy(q, q), not q * np.log(q).")


def check_elbo(ns, invariants_only=False):
    """L(q, theta) <= ln p(X | theta) for arbitrary q (eq. 9.70); with all checks, equal to eq. (9.71)."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for index, params in enumerate(_parameter_sets(problem)):
            q = _arbitrary_q(data, len(params[2]), seed=problem.seed + index)
            actual = _value(ns, "elbo", data, q, params)
            if not np.isfinite(actual):
                raise CheckFailed("`elbo` returned NaN or infinity for a q with positive entries.")
            log_lik = log_likelihood(data, *params)
            if actual > log_lik + TOLERANCE * abs(log_lik):
                raise CheckFailed("`elbo` exceeds the log-likelihood for a q that is not the posterior, which eq. "
                                  "(9.70) rules out because KL >= 0"
                                  + _recognised(actual, _elbo_mistakes(data, q, params), log_lik))
            if invariants_only:
                continue
            if not _agree(actual, reference.elbo(data, q, *params), log_lik):
                raise CheckFailed("`elbo` does not compute L(q, theta) = sum_nk q_nk (ln p(x_n, z_n = k | theta) - "
                                  "ln q_nk) (eq. 9.71)"
                                  + _recognised(actual, _elbo_mistakes(data, q, params), log_lik))


def check_elbo_tight(ns, invariants_only=False):
    """L(gamma, theta) = ln p(X | theta) when q is the posterior, as right after an E-step."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        parameter_sets = _parameter_sets(problem)
        for params in parameter_sets[:1] if invariants_only else parameter_sets:
            responsibilities = np.exp(reference.log_posterior(data, *params))
            actual = _value(ns, "elbo", data, responsibilities, params)
            log_lik = log_likelihood(data, *params)
            if not _agree(actual, log_lik, log_lik):
                raise CheckFailed(
                    "With q equal to the responsibilities (the E-step, eq. 9.23) the KL gap is zero, so `elbo` must "
                    "equal the log-likelihood (eq. 9.14), but it does not"
                    + _recognised(actual, _elbo_mistakes(data, responsibilities, params), log_lik))


def check_kl(ns, invariants_only=False):
    """KL >= 0 and KL = 0 at the posterior; with all checks, equal to eq. (9.72) for arbitrary q."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for index, params in enumerate(_parameter_sets(problem)):
            log_lik = log_likelihood(data, *params)
            responsibilities = np.exp(reference.log_posterior(data, *params))
            at_posterior = _value(ns, "kl_divergence", data, responsibilities, params)
            if not _agree(at_posterior, 0.0, log_lik):
                raise CheckFailed("`kl_divergence` is not zero when q is the posterior (the responsibilities), but "
                                  "a distribution has no divergence from itself (eq. 9.72)"
                                  + _recognised(at_posterior, _kl_mistakes(data, responsibilities, params), log_lik))
            q = _arbitrary_q(data, len(params[2]), seed=problem.seed + index)
            actual = _value(ns, "kl_divergence", data, q, params)
            if not np.isfinite(actual):
                raise CheckFailed("`kl_divergence` returned NaN or infinity for a q with positive entries.")
            if actual < -TOLERANCE * abs(log_lik):
                raise CheckFailed("`kl_divergence` is negative, but a KL divergence never is (PRML section 1.6.1)"
                                  + _recognised(actual, _kl_mistakes(data, q, params), log_lik))
            if not invariants_only and not _agree(actual, reference.kl_divergence(data, q, *params), log_lik):
                raise CheckFailed("`kl_divergence` does not compute KL(q || p) = sum_nk q_nk (ln q_nk - "
                                  "ln p(z_n = k | x_n, theta)) (eq. 9.72)"
                                  + _recognised(actual, _kl_mistakes(data, q, params), log_lik))


def check_decomposition(ns):
    """elbo + kl_divergence = ln p(X | theta) for arbitrary q, then for one-hot q with exact zeros (eq. 9.70)."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        data = problem.data
        for with_zeros in (False, True):
            for index, params in enumerate(_parameter_sets(problem)):
                K = len(params[2])
                q = _hard_q(data, K) if with_zeros else _arbitrary_q(data, K, seed=problem.seed + 10 + index)
                lower = _value(ns, "elbo", data, q, params)
                gap = _value(ns, "kl_divergence", data, q, params)
                if with_zeros:
                    _zeros_hint(lower, "`elbo`")
                    _zeros_hint(gap, "`kl_divergence`")
                log_lik = log_likelihood(data, *params)
                if not _agree(lower + gap, log_lik, log_lik):
                    raise CheckFailed("elbo + kl_divergence differs from the log-likelihood (eq. 9.14) for "
                                      + ("a one-hot q" if with_zeros else "an arbitrary q")
                                      + ", but eq. (9.70) says they add up to it for every q: check both "
                                      "functions against eqs. (9.71) and (9.72).")


CHECKS = [
    ("ELBO: never above the log-likelihood, equal to eq. (9.71)", check_elbo),
    ("ELBO equals the log-likelihood right after the E-step", check_elbo_tight),
    ("KL gap: zero at the posterior, never negative, equal to eq. (9.72)", check_kl),
    ("ELBO + KL = log-likelihood for any q (eq. 9.70), also with exact zeros in q", check_decomposition),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your ELBO and KL gap satisfy eq. (9.70).")
