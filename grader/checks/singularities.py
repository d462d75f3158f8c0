"""Checks for notebook 05 (singularities and the covariance ridge), called from its cells with ``globals()``.

The student's ``m_step_regularised`` is called on responsibilities of the
checks' own making, including one that puts a component on a single point,
and compared with :mod:`grader.em.regularised`; the notebook's run is compared
with regularised EM from the same start.

What they judge against, the data, the start and the seed of the made-up
responsibilities, is a :class:`Problem`: the notebook's own in the student's
kernel, the grader's (the notebook's or hidden ones) out of it.

When a quantity is wrong, the catalogued mistakes of its blanks
(:data:`grader.misconceptions.SINGULARITIES`) are computed on every case
from the same inputs (the covariances around the student's own means), and
one is named only if it alone reproduces the student's values on all of
them. The cases differ where the mistakes do: K = D (where a mean divided by
N_k without ``[:, None]`` broadcasts silently) and K != D (where it raises),
no ridge, a ridge of 1e-6 (where dividing it by N_k or adding it to N_k is
invisible) and large ridges (where it is not), a component on a single point
(N_k = 1, where N_k - 1 divides by zero). Otherwise the message says that the
values match no known mistake.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..em import regularised, seed
from ..em.univariate import Params
from .candidates import Ids, Raised, attempt, named, singled_out
from .core import CheckFailed, Namespace, all_close, as_array, inputs, likely_cause, quiet
from .functions import defined, student_function
from .selfcheck import report


@dataclass(frozen=True, eq=False)
class Problem:
    """The data and the collapsing start of the notebook's run, and the seed of the checks' own cases."""

    data: np.ndarray  # (N, 2)
    start: Params  # (mu (3, 2), cov (3, 2, 2), pi (3,)): a narrow third component on the farthest point
    cases_seed: int  # the responsibilities (and 3D data) m_step_regularised is called on


def notebook_problem() -> Problem:
    """The notebook's data (notebook 02's, rebuilt like its collapse cell does) and its start on it."""
    data = seed.problem_2d().data
    return Problem(data, regularised.collapse_start(data), cases_seed=5)


@dataclass(frozen=True, eq=False)
class Case:
    label: str
    X: np.ndarray
    gamma: np.ndarray
    reg_covar: float


def _cases(problem: Problem) -> list[Case]:
    """Dirichlet responsibilities (K = D and K != D), a one-point component, 3D data; no ridge to a large one."""
    rng = np.random.default_rng(problem.cases_seed)
    data = problem.data
    one_point = np.tile([0.7, 0.3, 0.0], (len(data), 1))
    one_point[0] = [0.0, 0.0, 1.0]
    blobs = rng.normal(size=(120, 3)) @ rng.normal(size=(3, 3))
    return [
        Case("random responsibilities, K = 3, reg_covar = 1e-6", data, rng.dirichlet([1, 1, 1], len(data)), 1e-6),
        Case("a component holding a single point, reg_covar = 1e-3", data, one_point, 1e-3),
        Case("3D data, K = 4, reg_covar = 1e-2", blobs, rng.dirichlet([1, 1, 1, 1], len(blobs)), 0.01),
        Case("random responsibilities, K = 2, reg_covar = 0", data, rng.dirichlet([1, 1], len(data)), 0.0),
        Case("random responsibilities, K = 2, reg_covar = 5e-1", data, rng.dirichlet([1, 1], len(data)), 0.5),
        Case("3D data, K = 3, reg_covar = 1e-1", blobs, rng.dirichlet([1, 1, 1], len(blobs)), 0.1),
    ]


# --- naming a mistake only when the numbers single it out (grader.checks.candidates) ---------------------


def _single_out(outcomes: Sequence[Any], candidates: Iterable[tuple[Ids, Sequence[Any]]]) -> Ids | None:
    """:func:`candidates.singled_out` for candidates known on every case, agreeing up to rounding."""
    return singled_out(outcomes, candidates, [all_close] * len(outcomes))


# --- the student's M-step on the cases ---------------------------------------------------------------------


def _parts(ns: Namespace, case: Case) -> Raised | tuple[np.ndarray | Raised, ...]:
    """(mu, cov, pi) as float arrays of any shape (NaN allowed), or :class:`Raised` with the failure."""
    function = student_function(ns, "m_step_regularised")
    try:
        with quiet():
            mu, cov, pi = function(case.X.copy(), case.gamma.copy(), case.reg_covar)
    except Exception as error:
        return Raised(CheckFailed(f"m_step_regularised on {case.label} raised {type(error).__name__}: {error}"))
    parts: list[np.ndarray | Raised] = []
    for name, value in (("mu", mu), ("cov", cov), ("pi", pi)):
        try:
            parts.append(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            parts.append(
                Raised(CheckFailed(f"{name} on {case.label} should be numbers, but it is a {type(value).__name__}."))
            )
    return tuple(parts)


def _run_cases(ns: Namespace, cases: Iterable[Case]) -> list[Raised | tuple[np.ndarray | Raised, ...]]:
    return [_parts(ns, case) for case in cases]


def _completed(
    ns: Namespace, results: list[Raised | tuple[np.ndarray | Raised, ...]]
) -> list[tuple[np.ndarray | Raised, ...]]:
    """``results`` where no call raised; else the failure of the first that did."""
    completed = []
    for result in results:
        if isinstance(result, Raised):
            raise _raised(ns, result.failure)
        completed.append(result)
    return completed


def _raised(ns: Namespace, failure: CheckFailed | None) -> CheckFailed:
    """The failure of a call that raised, naming the means' diagnosis as the likely cause when there is one."""
    return likely_cause(ns, str(failure), (check_mu,))


def _shape(value: object, shape: Sequence[int], what: str) -> np.ndarray:
    return as_array({"v": value}, "v", shape, what, finite=False)


def check_mu(ns: Namespace) -> None:
    """mu (K, D): the responsibility-weighted means, eq. (9.24)."""
    with quiet():
        cases = _cases(inputs(ns, notebook_problem))
        results = _run_cases(ns, cases)
        outcomes = [r if isinstance(r, Raised) else r[0] for r in results]
        expected = [c.gamma.T @ c.X / c.gamma.sum(axis=0)[:, None] for c in cases]
        off = [
            i
            for i, (a, e) in enumerate(zip(outcomes, expected))
            if isinstance(a, Raised) or a.shape != e.shape or not all_close(a, e)
        ]
        if not off:
            return
        candidates = [
            ((), expected),
            (
                ("ridge-mean-not-broadcast",),
                [attempt(lambda c: c.gamma.T @ c.X / c.gamma.sum(axis=0), c) for c in cases],
            ),
            (("ridge-mean-divided-by-n",), [c.gamma.T @ c.X / len(c.X) for c in cases]),
        ]
        ids = _single_out(outcomes, candidates)
        shown = next((i for i in off if not isinstance(outcomes[i], Raised)), off[0])
        if ids:
            raise named(f"The means on {cases[shown].label}", ids)
        first = outcomes[off[0]]
        if isinstance(first, Raised):
            assert first.failure is not None  # the student's call that raised: its failure is always set
            raise first.failure
        case = cases[off[0]]
        _shape(first, expected[off[0]].shape, f"mu on {case.label}")
        raise CheckFailed(
            f"The means on {case.label} are not the responsibility-weighted means of eq. (9.24), "
            "and they match no known mistake: compare your line with the equation."
        )


def _covariance_candidates(case: Case, mu: np.ndarray) -> list[tuple[Ids, np.ndarray]]:
    """(ids, value) of every combination of the catalogued covariance mistakes, around the student's ``mu``."""
    X, gamma, reg_covar = case.X, case.gamma, case.reg_covar
    n_k = gamma.sum(axis=0)
    D = X.shape[1]
    diffs = X[None] - mu[:, None]  # (K, N, D)
    eye = np.eye(D)
    scatters = {
        (): np.einsum("nk,kni,knj->kij", gamma, diffs, diffs),
        ("scatter-unweighted",): np.einsum("kni,knj->kij", diffs, diffs),
        ("scatter-weighted-twice",): np.einsum("nk,kni,knj->kij", gamma**2, diffs, diffs),
    }
    denominators = {
        (): n_k,
        ("ridge-covariance-divided-by-n",): np.full_like(n_k, len(X)),
        ("ridge-covariance-bessel",): n_k - 1,
        ("ridge-in-denominator",): n_k + reg_covar,
    }
    options: list[tuple[Ids, np.ndarray]] = []
    for scatter_ids, scatter in scatters.items():
        for denominator_ids, denominator in denominators.items():
            den = denominator[:, None, None]
            ridges = {
                (): [reg_covar * eye],
                ("ridge-missing",): [0 * eye],
                ("ridge-off-diagonal",): [np.full((D, D), reg_covar)],
                ("ridge-scaled-by-n-k",): [reg_covar * eye / den, reg_covar * eye * den],
            }
            for ridge_ids, ridge_values in ridges.items():
                ids = scatter_ids + denominator_ids + ridge_ids
                if scatter_ids == ("scatter-unweighted",) and denominator_ids == ("ridge-covariance-divided-by-n",):
                    ids = scatter_ids + ridge_ids  # an unweighted sum over all N points divided by N: one mistake
                if denominator_ids == ("ridge-in-denominator",) and ridge_ids == ("ridge-missing",):
                    ids = scatter_ids + denominator_ids  # the ridge moved into the denominator: one mistake
                for ridge in ridge_values:
                    with quiet():
                        options.append((ids, scatter / den + ridge))
    return options


def check_cov(ns: Namespace) -> None:
    """cov (K, D, D): eq. (9.25) plus reg_covar * I; symmetric with smallest eigenvalue >= reg_covar."""
    with quiet():
        cases = _cases(inputs(ns, notebook_problem))
        results = _completed(ns, _run_cases(ns, cases))
        covs, expected, per_case = [], [], []
        for case, (mu, cov, _) in zip(cases, results):
            K, D = case.gamma.shape[1], case.X.shape[1]
            if isinstance(cov, Raised):
                assert cov.failure is not None
                raise cov.failure
            covs.append(_shape(cov, (K, D, D), f"the covariances on {case.label}"))
            if isinstance(mu, Raised) or mu.shape != (K, D) or not np.all(np.isfinite(mu)):
                raise CheckFailed(
                    f"The covariances on {case.label} cannot be checked: they are computed around "
                    "the means, which are not a finite (K, D) array; fix the means first."
                )
            options = _covariance_candidates(case, mu)
            per_case.append(options)
            expected.append(options[0][1])
        off = [i for i, (a, e) in enumerate(zip(covs, expected)) if not all_close(a, e)]
        if not off:
            return
        # every case lists the same combinations in the same order
        candidates = [(per_case[0][j][0], [options[j][1] for options in per_case]) for j in range(len(per_case[0]))]
        diagnosis = _single_out(covs, candidates)
        label = cases[off[0]].label
        if diagnosis:
            raise named(f"The covariances on {label}", diagnosis)
        cov, reg_covar = covs[off[0]], cases[off[0]].reg_covar
        if not np.all(np.isfinite(cov)):
            raise CheckFailed(
                f"The covariances on {label} contain NaN or infinite values, and they match no known mistake."
            )
        if not np.allclose(cov, np.swapaxes(cov, 1, 2)):
            raise CheckFailed(f"A covariance on {label} is not symmetric: it should equal its transpose.")
        if np.any(np.linalg.eigvalsh(cov).min(axis=1) < reg_covar * (1 - 1e-9) - 1e-12):
            raise CheckFailed(
                f"On {label}, a covariance has an eigenvalue below reg_covar: the ridge "
                "reg_covar * I must lift every eigenvalue to at least reg_covar. It matches no "
                "known mistake."
            )
        raise CheckFailed(
            f"The covariances on {label} are not the weighted covariances of eq. (9.25) around "
            "your new means plus reg_covar * I, and they match no known mistake: compare your "
            "lines with the equation."
        )


def check_pi(ns: Namespace) -> None:
    """pi (K,): N_k / N, eq. (9.26)."""
    with quiet():
        cases = _cases(inputs(ns, notebook_problem))
        results = _completed(ns, _run_cases(ns, cases))
        outcomes = []
        for case, (_, _, pi) in zip(cases, results):
            if isinstance(pi, Raised):
                assert pi.failure is not None
                raise pi.failure
            outcomes.append(_shape(pi, (case.gamma.shape[1],), f"pi on {case.label}"))
        expected = [c.gamma.sum(axis=0) / len(c.X) for c in cases]
        off = [i for i, (a, e) in enumerate(zip(outcomes, expected)) if not all_close(a, e)]
        if not off:
            return
        ids = _single_out(
            outcomes, [((), expected), (("ridge-weights-not-normalised",), [c.gamma.sum(axis=0) for c in cases])]
        )
        label = cases[off[0]].label
        if ids:
            raise named(f"The weights on {label}", ids)
        raise CheckFailed(f"The weights on {label} are not N_k / N (eq. 9.26), and they match no known mistake.")


def check_run(ns: Namespace) -> None:
    """The notebook's run: finite, smallest eigenvalues >= REG_COVAR, equal to regularised EM from `start`."""
    with quiet():
        try:
            _check_run(ns)
        except CheckFailed as failure:
            if failure.diagnosis:
                raise
            raise likely_cause(ns, str(failure), (check_mu, check_cov, check_pi)) from None


def _check_run(ns: Namespace) -> None:
    reg_covar = float(defined(ns, "REG_COVAR"))
    params = defined(ns, "params_regularised")
    try:
        mu, cov, pi = params
    except (TypeError, ValueError):
        raise CheckFailed("`params_regularised` should be the (mu, cov, pi) returned by em_regularised.") from None
    cov = as_array({"cov": cov}, "cov", np.shape(cov), "the fitted covariances", finite=False)
    values = np.asarray(defined(ns, "log_likelihoods_regularised"), dtype=float)
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)):
        raise CheckFailed(
            "The log-likelihoods of the regularised run are not all finite numbers: the ridge "
            "should keep every density, and so the log-likelihood, finite."
        )
    if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(mu)) and np.all(np.isfinite(pi))):
        raise CheckFailed("The fitted parameters of the regularised run contain NaN or infinite values.")
    if cov.ndim != 3 or np.any(np.linalg.eigvalsh(cov).min(axis=1) < reg_covar * (1 - 1e-9)):
        raise CheckFailed(
            "A fitted covariance has its smallest eigenvalue below REG_COVAR: every M-step must "
            "add the ridge reg_covar * I."
        )
    problem = inputs(ns, notebook_problem)
    notebook_start = defined(ns, "start")
    if not all(all_close(np.asarray(a, dtype=float), b) for a, b in zip(notebook_start, problem.start)):
        raise CheckFailed("`start` is not the notebook's start: re-run the notebook from the top.")
    reference = regularised.fit(problem.data, *problem.start, len(values), reg_covar)
    off = [
        name
        for name, a, b in zip(("mu", "cov", "pi"), (mu, cov, pi), reference.final)
        if not all_close(np.asarray(a, dtype=float), b)
    ]
    if off:
        raise CheckFailed(
            f"After {len(values)} iterations from the notebook's start, {', '.join(off)} differ "
            "from regularised EM's: fix the failing M-step checks first."
        )


CHECKS = [
    ("M-step means (eq. 9.24)", check_mu),
    ("M-step covariances with the ridge reg_covar * I (eq. 9.25)", check_cov),
    ("M-step weights (eq. 9.26)", check_pi),
    ("Regularised run: finite, eigenvalues >= REG_COVAR, same fit as regularised EM", check_run),
]


def self_check(ns: Namespace) -> bool:
    """Print a line per check for the student; True if everything passed."""
    return report(ns, CHECKS, "All checks passed: your regularised M-step is correct.")
