"""Checks for notebook 05 (singularities and the covariance ridge), called from its cells with ``globals()``.

The student's ``m_step_regularised`` is called on responsibilities of the
checks' own making, including one that puts a component on a single point,
and compared with :mod:`grader.em.regularised`; the notebook's run is compared
with regularised EM from the same start.

What they judge against, the data, the start and the seed of the made-up
responsibilities, is a :class:`Problem`: the notebook's own in the student's
kernel, the grader's (the notebook's or hidden ones) out of it.
"""

from dataclasses import dataclass

import numpy as np

from ..em import regularised, seed
from ..misconceptions import hint
from .core import CheckFailed, all_close, as_array, fetch, inputs, quiet
from .selfcheck import report


@dataclass(frozen=True, eq=False)
class Problem:
    """The data and the collapsing start of the notebook's run, and the seed of the checks' own cases."""

    data: np.ndarray  # (N, 2)
    start: tuple  # (mu (3, 2), cov (3, 2, 2), pi (3,)): a narrow third component on the farthest point
    cases_seed: int  # the responsibilities (and 3D data) m_step_regularised is called on


def notebook_problem():
    """The notebook's data (notebook 02's, rebuilt like its collapse cell does) and its start on it."""
    data = seed.problem_2d().data
    return Problem(data, regularised.collapse_start(data), cases_seed=5)


def _cases(problem):
    """(label, X, gamma, reg_covar): Dirichlet responsibilities, a one-point component, 3D data, no ridge."""
    rng = np.random.default_rng(problem.cases_seed)
    data = problem.data
    one_point = np.tile([0.7, 0.3, 0.0], (len(data), 1))
    one_point[0] = [0.0, 0.0, 1.0]
    blobs = rng.normal(size=(120, 3)) @ rng.normal(size=(3, 3))
    return [
        ("random responsibilities, K = 3, reg_covar = 1e-6", data, rng.dirichlet([1, 1, 1], len(data)), 1e-6),
        ("a component holding a single point, reg_covar = 1e-3", data, one_point, 1e-3),
        ("3D data, K = 4, reg_covar = 0.01", blobs, rng.dirichlet([1, 1, 1, 1], len(blobs)), 0.01),
        ("random responsibilities, K = 2, reg_covar = 0", data, rng.dirichlet([1, 1], len(data)), 0.0),
    ]


def _m_step(ns, X, gamma, reg_covar, label):
    function = fetch(ns, "m_step_regularised")
    if not callable(function):
        raise CheckFailed("`m_step_regularised` should be the function defined in your cell.")
    try:
        result = function(X.copy(), gamma.copy(), reg_covar)
        mu, cov, pi = result
    except Exception as error:  # the student's code: report whatever it raised
        raise CheckFailed(f"m_step_regularised on {label} raised {type(error).__name__}: {error}") from None
    K, D = gamma.shape[1], X.shape[1]
    return (as_array({"mu": mu}, "mu", (K, D), f"mu on {label}"),
            as_array({"cov": cov}, "cov", (K, D, D), f"the covariances on {label}"),
            as_array({"pi": pi}, "pi", (K,), f"pi on {label}"))


def check_mu(ns, invariants_only=False):
    """mu (K, D): the responsibility-weighted means, eq. (9.24)."""
    with quiet():
        for label, X, gamma, reg_covar in _cases(inputs(ns, notebook_problem))[: 1 if invariants_only else None]:
            mu, _, _ = _m_step(ns, X, gamma, reg_covar, label)
            n_k = gamma.sum(axis=0)
            if all_close(mu, gamma.T @ X / n_k[:, None]):
                continue
            if all_close(mu, gamma.T @ X / len(X)):
                raise CheckFailed(f"The means on {label}: " + hint("mean-divided-by-n"), ["mean-divided-by-n"])
            raise CheckFailed(f"The means on {label} are not the responsibility-weighted means of eq. (9.24).")


def check_cov(ns, invariants_only=False):
    """cov (K, D, D): eq. (9.25) plus reg_covar * I; symmetric with smallest eigenvalue >= reg_covar."""
    with quiet():
        for label, X, gamma, reg_covar in _cases(inputs(ns, notebook_problem))[: 2 if invariants_only else None]:
            mu, cov, _ = _m_step(ns, X, gamma, reg_covar, label)
            if not np.allclose(cov, np.swapaxes(cov, 1, 2)):
                raise CheckFailed(f"A covariance on {label} is not symmetric: it should equal its transpose.")
            smallest = np.linalg.eigvalsh(cov).min(axis=1)
            ridge_missing = np.any(smallest < reg_covar * (1 - 1e-9) - 1e-12)
            if invariants_only and not ridge_missing:
                continue
            n_k = gamma.sum(axis=0)
            diffs = X[None] - mu[:, None]  # (K, N, D) around the student's own means
            scatter = np.einsum("nk,kni,knj->kij", gamma, diffs, diffs)
            ridge = reg_covar * np.eye(X.shape[1])
            expected = scatter / n_k[:, None, None] + ridge
            if all_close(cov, expected) and not ridge_missing:
                continue
            candidates = [
                ("the ridge reg_covar * I is missing: add it to every covariance after eq. (9.25)",
                 scatter / n_k[:, None, None]),
                ("the ridge goes on the diagonal only: add reg_covar * np.eye(n_features), not reg_covar to "
                 "every entry", scatter / n_k[:, None, None] + reg_covar),
                ("add the ridge after dividing by N_k: (scatter / N_k) + reg_covar * I, so that every "
                 "eigenvalue grows by exactly reg_covar", (scatter + ridge) / n_k[:, None, None]),
                (hint("covariance-divided-by-n"), scatter / len(X) + ridge),
            ]
            for what, value in candidates:
                if all_close(cov, value) and reg_covar > 0 or what.startswith("[") and all_close(cov, value):
                    raise CheckFailed(f"The covariances on {label}: {what}.")
            if ridge_missing:
                raise CheckFailed(f"On {label}, a covariance has an eigenvalue below reg_covar: the ridge "
                                  "reg_covar * I must lift every eigenvalue to at least reg_covar.")
            raise CheckFailed(f"The covariances on {label} are not the weighted covariances of eq. (9.25) around "
                              "your new means plus reg_covar * I.")


def check_pi(ns, invariants_only=False):
    """pi (K,): N_k / N, eq. (9.26)."""
    with quiet():
        for label, X, gamma, reg_covar in _cases(inputs(ns, notebook_problem))[: 1 if invariants_only else None]:
            _, _, pi = _m_step(ns, X, gamma, reg_covar, label)
            n_k = gamma.sum(axis=0)
            if all_close(pi, n_k / len(X)):
                continue
            if all_close(pi, n_k):
                raise CheckFailed(f"The weights on {label}: " + hint("weights-not-normalised"),
                                  ["weights-not-normalised"])
            raise CheckFailed(f"The weights on {label} are not N_k / N (eq. 9.26).")


def check_run(ns, invariants_only=False):
    """The notebook's run: finite, smallest eigenvalues >= REG_COVAR, equal to regularised EM from `start`."""
    with quiet():
        reg_covar = float(fetch(ns, "REG_COVAR"))
        params = fetch(ns, "params_regularised")
        try:
            mu, cov, pi = params
        except (TypeError, ValueError):
            raise CheckFailed("`params_regularised` should be the (mu, cov, pi) returned by em_regularised.") from None
        cov = as_array({"cov": cov}, "cov", np.shape(cov), "the fitted covariances", finite=False)
        values = np.asarray(fetch(ns, "log_likelihoods_regularised"), dtype=float)
        if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
            raise CheckFailed("The log-likelihoods of the regularised run are not all finite numbers: the ridge "
                              "should keep every density, and so the log-likelihood, finite.")
        if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(mu)) and np.all(np.isfinite(pi))):
            raise CheckFailed("The fitted parameters of the regularised run contain NaN or infinite values.")
        if cov.ndim != 3 or np.any(np.linalg.eigvalsh(cov).min(axis=1) < reg_covar * (1 - 1e-9)):
            raise CheckFailed("A fitted covariance has its smallest eigenvalue below REG_COVAR: every M-step must "
                              "add the ridge reg_covar * I.")
        if invariants_only:
            return
        problem = inputs(ns, notebook_problem)
        notebook_start = fetch(ns, "start")
        if not all(all_close(np.asarray(a, dtype=float), b) for a, b in zip(notebook_start, problem.start)):
            raise CheckFailed("`start` is not the notebook's start: re-run the notebook from the top.")
        reference = regularised.fit(problem.data, *problem.start, len(values), reg_covar)
        off = [name for name, a, b in zip(("mu", "cov", "pi"), (mu, cov, pi), reference.final)
               if not all_close(np.asarray(a, dtype=float), b)]
        if off:
            raise CheckFailed(f"After {len(values)} iterations from the notebook's start, {', '.join(off)} differ "
                              "from regularised EM's: fix the failing M-step checks first.")


CHECKS = [
    ("M-step means (eq. 9.24)", check_mu),
    ("M-step covariances with the ridge reg_covar * I (eq. 9.25)", check_cov),
    ("M-step weights (eq. 9.26)", check_pi),
    ("Regularised run: finite, eigenvalues >= REG_COVAR, same fit as regularised EM", check_run),
]


def self_check(ns):
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your regularised M-step is correct.")
