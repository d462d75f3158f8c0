"""Checks for notebook 03 (EM in log space), called from its cells with ``globals()``.

The student's three functions are called on the seed data and on the seed data
plus an outlier, at several parameter values, and compared with the reference
(:mod:`grader.em.univariate`). Each function is judged on its own inputs: the
log-responsibilities are compared with what the student's own log numerators
imply, so a wrong numerator costs its own points only. Data, outlier, start
and the made-up mixture come from :func:`core.inputs`, so out of kernel the
same checks judge hidden ones.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ..em import seed, univariate
from ..misconceptions import hint
from .core import CheckFailed, all_close, as_array, fetch, inputs, quiet
from .gmm import reference_final
from .selfcheck import report

#: Far enough from the seed data that every fitted density underflows there (as in the notebook).
OUTLIER = 60.0
#: Three components of unequal weights, (mu, sigma, pi) each (3,): a K the notebook's runs never use.
UNEQUAL = ((1.0, 4.0, -2.0), (0.5, 2.0, 1.5), (0.2, 0.5, 0.3))


@dataclass(frozen=True)
class Problem:
    """What the checks judge against: the data (N,), its outlier, EM's start and the made-up mixture.

    ``start`` is the (mu, sigma, pi) the notebook's ``np.random.seed(42)``
    recipe draws from ``data``; ``unequal`` the three-component (mu, sigma, pi)
    no notebook run reaches, so a function that only works for K = 2 shows.
    """

    data: np.ndarray
    outlier: float
    start: tuple
    n_iterations: int
    unequal: tuple

    @property
    def n_components(self):
        return len(self.start[2])

    @property
    def with_outlier(self):
        """(N + 1,): the data with the outlier appended, as the notebook's ``data_outlier``."""
        return np.append(self.data, self.outlier)

    def fitted(self):
        """(mu, sigma, pi) EM reaches on the data from the start: the notebook's warm start for the outlier."""
        return reference_final(univariate, seed.Problem(self.data, self.start, self.n_iterations))


def notebook_problem():
    """The notebook's own: seed part 1's data and start (rebuilt as its data cell draws them), x = 60."""
    problem = seed.problem_1d()
    return Problem(problem.data, OUTLIER, problem.start, problem.n_iterations,
                   tuple(np.array(p) for p in UNEQUAL))


_UNDERFLOW = ("it is right where the densities are representable but not finite for a point far from every "
              "component: {where}. Stay in log space: {fix}.")


def _cases(ns):
    """(label, data, (mu, sigma, pi)): the seed start, the fitted seed, the outlier, and unequal weights."""
    problem = inputs(ns, notebook_problem)
    fitted = problem.fitted()
    return [
        ("the seed data at the notebook's start", problem.data, problem.start),
        ("the seed data at the fitted parameters", problem.data, fitted),
        (f"the data with the outlier x = {problem.outlier:g} at the fitted parameters", problem.with_outlier, fitted),
        ("the data with the outlier and three components of unequal weights", problem.with_outlier, problem.unequal),
    ]


def _call(ns, name, data, params, shape, label):
    """The student's ``name(data, *params)`` as a float array of ``shape``, or a failure naming the error."""
    function = fetch(ns, name)
    if not callable(function):
        raise CheckFailed(f"`{name}` should be the function defined in the log-space cell.")
    try:
        value = function(np.array(data), *(np.array(p) for p in params))
    except Exception as error:  # the student's code: report whatever it raised
        raise CheckFailed(f"Calling {name} on {label} raised {type(error).__name__}: {error}") from None
    if value is None:
        raise CheckFailed(f"{name} returned None on {label}: keep its return line.")
    return as_array({name: value}, name, shape, f"{name}(...) on {label}", finite=False)


def _finite_or_fail(value, name, label, candidates_where_finite, fix):
    """Fail if ``value`` has non-finite entries; blame underflow if it matches a naive formula elsewhere."""
    if np.all(np.isfinite(value)):
        return
    finite = np.isfinite(value)
    for naive in candidates_where_finite:
        naive = np.broadcast_to(naive, value.shape)
        if np.array_equal(finite, np.isfinite(naive)) and all_close(value[finite], naive[finite]):
            raise CheckFailed(f"{name}: " + _UNDERFLOW.format(where=label, fix=fix))
    raise CheckFailed(f"{name} returns NaN or infinite values on {label}.")


def check_log_weighted(ns, invariants_only=False):
    """log_weighted_densities: a[n, k] = ln pi_k + ln N(x_n | mu_k, sigma_k^2), finite for the outlier."""
    with quiet():
        for label, data, params in _cases(ns)[: 3 if invariants_only else None]:
            shape = (len(data), len(params[2]))
            actual = _call(ns, "log_weighted_densities", data, params, shape, label)
            mu, sigma, pi = params
            expected = univariate.estimate_weighted_log_prob(data, mu, sigma, pi)
            naive = np.log(pi * np.exp(expected - np.log(pi)))
            _finite_or_fail(actual, "log_weighted_densities", label, [naive],
                            "use norm.logpdf, not np.log(norm.pdf(...)), which underflows before the log")
            if invariants_only or all_close(actual, expected):
                continue
            candidates = [
                (("weights-missing-in-estep",), expected - np.log(pi)),
                (("variance-as-scale",), univariate.estimate_weighted_log_prob(data, mu, sigma**2, pi)),
            ]
            for ids, value in candidates:
                if all_close(actual, value):
                    raise CheckFailed(f"log_weighted_densities on {label}: " + hint(ids[0])
                                      + " In logs the product pi_k N(...) becomes the sum ln pi_k + ln N(...).", ids)
            if all_close(actual, expected - np.log(pi) + pi):
                raise CheckFailed(f"log_weighted_densities on {label}: add ln pi_k, not pi_k: in logs the "
                                  "product pi_k N(x_n | mu_k, sigma_k^2) becomes ln pi_k + ln N(...).")
            raise CheckFailed(f"log_weighted_densities on {label} does not equal ln pi_k + ln N(x_n | mu_k, "
                              "sigma_k^2) (the log of the numerator of eq. 9.23); it matches no known mistake.")


def _own_log_weighted(ns, data, params, label):
    """The student's own log numerators where they are finite, else the reference; and whether they were."""
    shape = (len(data), len(params[2]))
    own = _call(ns, "log_weighted_densities", data, params, shape, label)
    if np.all(np.isfinite(own)):
        return own, True
    return univariate.estimate_weighted_log_prob(data, *params), False


def _broken_numerators(label):
    return CheckFailed(f"log_weighted_densities is not finite on {label}, so this cannot be checked there: "
                       "fix log_weighted_densities first.")


def check_log_responsibilities(ns, invariants_only=False):
    """log_responsibilities: a - logsumexp_k a per point, eq. (9.23) in logs, from the student's own a."""
    with quiet():
        for label, data, params in _cases(ns)[: 3 if invariants_only else None]:
            shape = (len(data), len(params[2]))
            log_weighted, own_finite = _own_log_weighted(ns, data, params, label)
            actual = _call(ns, "log_responsibilities", data, params, shape, label)
            expected = log_weighted - logsumexp(log_weighted, axis=1, keepdims=True)
            if np.all(np.isfinite(actual)) and all_close(actual, expected):
                continue
            if not own_finite:
                raise _broken_numerators(label)
            naive = log_weighted - np.log(np.exp(log_weighted).sum(axis=1, keepdims=True))
            _finite_or_fail(actual, "log_responsibilities", label, [naive],
                            "take the per-point log of the sum with logsumexp(..., axis=1, keepdims=True) "
                            "instead of exponentiating first")
            if np.any(actual > 1e-9):
                raise CheckFailed(f"log_responsibilities on {label} has positive entries: a log-probability is <= 0.")
            if not np.allclose(np.exp(actual).sum(axis=1), 1.0):
                over_points = log_weighted - logsumexp(log_weighted, axis=0, keepdims=True)
                if all_close(actual, over_points):
                    raise CheckFailed("log_responsibilities: " + hint("responsibilities-unnormalised")
                                      + " Use logsumexp over the components, axis=1.",
                                      ["responsibilities-unnormalised"])
                raise CheckFailed(f"exp(log_responsibilities) on {label} does not have rows summing to 1: "
                                  "subtract each point's log-sum-exp over the components (eq. 9.23 in logs).")
            if not invariants_only:
                raise CheckFailed(f"log_responsibilities on {label} is not a[n, k] - ln sum_j exp(a[n, j]) "
                                  "(eq. 9.23 in logs) of your own log_weighted_densities.")


def check_log_likelihood(ns, invariants_only=False):
    """log_likelihood_of: sum_n logsumexp_k a[n, k], eq. (9.14), finite for the outlier."""
    with quiet():
        for label, data, params in _cases(ns)[: 3 if invariants_only else None]:
            log_weighted, own_finite = _own_log_weighted(ns, data, params, label)
            actual = _call(ns, "log_likelihood_of", data, params, (), label)
            expected = logsumexp(log_weighted, axis=1).sum()
            if np.isfinite(actual) and (invariants_only or all_close(actual, expected)):
                continue
            if not own_finite:
                raise _broken_numerators(label)
            naive = np.log(np.exp(log_weighted).sum(axis=1)).sum()
            _finite_or_fail(actual, "log_likelihood_of", label, [naive],
                            "use logsumexp(..., axis=1) for the inner ln sum_k, then sum over the points")
            pi = params[2]
            candidates = [logsumexp(log_weighted, axis=0).sum(), log_weighted.sum(), logsumexp(log_weighted),
                          logsumexp(log_weighted - np.log(pi), axis=1).sum()]
            diagnosed = any(all_close(actual, value) for value in candidates)
            raise CheckFailed(f"log_likelihood_of on {label} is not eq. (9.14). "
                              + (hint("loglik-wrong") if diagnosed else "It matches no known mistake."),
                              ["loglik-wrong"] if diagnosed else [])


def _run(ns, params_name, log_likelihoods_name, n_components):
    params = fetch(ns, params_name)
    try:
        mu, sigma, pi = params
    except (TypeError, ValueError):
        raise CheckFailed(f"`{params_name}` should be the (mu, sigma, pi) returned by em_log_space.") from None
    arrays = [as_array({n: v}, n, (n_components,), f"{n} in {params_name}", finite=False)
              for n, v in (("mu", mu), ("sigma", sigma), ("pi", pi))]
    values = fetch(ns, log_likelihoods_name)
    values = as_array({log_likelihoods_name: values}, log_likelihoods_name, (len(values),), finite=False)
    return arrays, values


def check_seed_agreement(ns, invariants_only=False):
    """On the seed data, log-space EM from the seed start reaches the density-space EM of notebook 01."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        params, values = _run(ns, "params_seed", "log_likelihoods_seed", problem.n_components)
        if len(values) != problem.n_iterations:
            raise CheckFailed(f"log_likelihoods_seed should hold one value per iteration ({problem.n_iterations}).")
        if not (all(np.all(np.isfinite(p)) for p in params) and np.all(np.isfinite(values))):
            raise CheckFailed("The log-space run on the seed data has NaN or infinite values: check the "
                              "functions above first.")
        if invariants_only:
            return
        reference = univariate.fit(problem.data, *problem.start, problem.n_iterations)
        off = [name for name, a, b in zip(("mu", "sigma", "pi"), params, reference.final) if not all_close(a, b)]
        if off:
            raise CheckFailed(f"On the seed data, log-space EM should reach the same parameters as the density "
                              f"version (only the arithmetic changed), but {', '.join(off)} differ.")
        if not all_close(values, reference.log_likelihoods):
            raise CheckFailed("On the seed data, the log-likelihoods of the log-space run differ from eq. (9.14) "
                              "along the density version's run.")


def check_outlier_run(ns, invariants_only=False):
    """With the outlier, from the fitted start, every parameter and log-likelihood is finite and rises."""
    with quiet():
        problem = inputs(ns, notebook_problem)
        params, values = _run(ns, "params_outlier", "log_likelihoods_outlier", problem.n_components)
        if not all(np.all(np.isfinite(p)) for p in params):
            raise CheckFailed("With the outlier, the fitted parameters contain NaN: some 0/0 still happens. "
                              "Check that no function leaves log space (no np.log of a density or of a sum of exps).")
        if not np.all(np.isfinite(values)):
            raise CheckFailed("With the outlier, a log-likelihood is NaN or infinite: compute eq. (9.14) with "
                              "logsumexp.")
        scale = max(1.0, float(np.max(np.abs(values))))
        if np.any(np.diff(values) < -1e-9 * scale):
            raise CheckFailed("With the outlier, the log-likelihood decreases: EM never decreases it "
                              "(Bishop section 9.4).")
        if invariants_only:
            return
        reference = univariate.fit(problem.with_outlier, *problem.fitted(), len(values))
        if not all(all_close(a, b) for a, b in zip(params, reference.final)):
            raise CheckFailed("With the outlier, the run does not end where log-space EM from the fitted "
                              "parameters ends: fix the failing checks above first.")


CHECKS = [
    ("Log numerators ln pi_k + ln N(x_n | mu_k, sigma_k^2)", check_log_weighted),
    ("Log-responsibilities (eq. 9.23 in logs, logsumexp)", check_log_responsibilities),
    ("Log-likelihood with logsumexp (eq. 9.14)", check_log_likelihood),
    ("Seed data: same fit as the density version", check_seed_agreement),
    ("Outlier: finite parameters, rising log-likelihood", check_outlier_run),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your log-space EM is correct.")
