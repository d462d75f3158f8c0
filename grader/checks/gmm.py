"""Checks of an EM loop for a Gaussian mixture, shared by the 1D and 2D notebooks.

Each step is judged on its own inputs, at every iteration, so partial work
earns partial credit: iteration i's E-step is recomputed from the parameters
the loop recorded before it (``params_history[i]``), and its M-step updates
from the student's own responsibilities of that iteration (and, for the
spread, the student's own new mean). When a number is off, it is compared
with the catalogued mistakes (:mod:`grader.misconceptions`) computed from the
same inputs. An iteration whose inputs are not valid numbers (NaN, a
singular covariance) cannot be judged and is skipped; the step that produced
those inputs is the one that fails.
"""

import collections
import functools
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from ..em import seed
from ..em.univariate import Params
from ..misconceptions import hint
from .core import CheckFailed, Hashed, Namespace, all_close, as_array, close, fetch, inputs, quiet

#: (mu, spread, pi) as the loop recorded them: float arrays, or a :class:`BadPart` where one is malformed.
Recorded = tuple[Any, ...]
#: Catalogued mistakes and what code with them computes: (misconception ids, value) pairs.
Candidates = Sequence[tuple[Sequence[str], ArrayLike]]


@dataclass(frozen=True)
class Spec:
    """What differs between the 1D and the full-covariance notebook."""

    em: ModuleType
    spread: str  # name of the spread parameter: "sigma" (K,) or "cov" (K, D, D)
    problem: Callable[[], seed.Problem]
    #: responsibilities_over_time entries recorded before the first E-step (2D stores the initial gamma).
    history_offset: int
    #: True where the notebook grades responsibilities_over_time in a cell of its own; otherwise an
    #: aliased history costs the E-step its credit, because the E-step can then only be judged once.
    history_has_own_check: bool = False


@dataclass
class Step:
    """One EM iteration as the student's loop recorded it."""

    iteration: int  # 1-based, as students count
    before: Recorded  # (mu, spread, pi) the E-step started from
    gamma: np.ndarray  # (N, K) the E-step's responsibilities
    after: Recorded  # (mu, spread, pi) the M-step produced


@dataclass
class Run:
    """What the student's loop recorded.

    ``params[i]`` are the parameters before iteration i + 1, plus the final
    ones when the loop completed (or when it raised because its last M-step
    produced invalid parameters). ``steps`` are the iterations that can be
    judged: all of them, or only the last when every recorded gamma is the
    same array (``aliased``), since that array holds the last E-step only.
    ``broken_parameters``: the loop raised because its parameters stopped being
    valid Gaussian parameters; the step that made them so is the one to blame,
    so the others keep their credit.
    """

    params: list[Recorded]
    steps: list[Step]
    complete: bool
    aliased: bool
    broken_parameters: bool = False


class Unjudgeable(Exception):
    """An iteration's inputs are not valid numbers, so its step cannot be recomputed."""


@dataclass(frozen=True)
class BadPart:
    """A recorded parameter that is not an array of the expected shape; ``failure`` says what is wrong."""

    failure: str


def _part(value: object, name: str, shape: Sequence[int], what: str) -> np.ndarray | BadPart:
    try:
        return as_array({name: value}, name, shape, what, finite=False)
    except CheckFailed as failure:
        return BadPart(str(failure))


def _updated(part: np.ndarray | BadPart) -> np.ndarray:
    """A recorded update, or the failure its own check reports: it is not an array of the right shape."""
    if isinstance(part, BadPart):
        raise CheckFailed(part.failure)
    return part


def _usable(*parts: Any) -> tuple[Any, ...]:
    """The parts, or :class:`Unjudgeable` if one is malformed (a step that starts from it cannot be redone)."""
    if any(isinstance(p, BadPart) for p in parts):
        raise Unjudgeable
    return parts


def _normalise_rows(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=1, keepdims=True)


def _first_match(actual: np.ndarray, candidates: Candidates) -> Sequence[str]:
    """Misconception ids of the first candidate value that ``actual`` reproduces."""
    with quiet():
        for ids, value in candidates:
            value = np.asarray(value, dtype=float)
            if value.shape == actual.shape and np.all(np.isfinite(value)) and all_close(actual, value):
                return ids
    return ()


def _components(actual: np.ndarray, expected: np.ndarray, axis: int = 0) -> str:
    """Human list of the component indices k (along ``axis``) where ``actual`` is off."""
    ok = np.moveaxis(close(actual, expected), axis, 0).reshape(actual.shape[axis], -1).all(axis=1)
    return ", ".join(str(k) for k in np.flatnonzero(~ok))


def _finite(*arrays: ArrayLike) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def _finite_values(value: object) -> bool:
    try:
        with quiet():
            return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


def _finite_output(gamma: object, params: object, value: object) -> bool:
    return (
        _finite_values(gamma)
        and _finite_values(value)
        and isinstance(params, tuple)
        and len(params) == 3
        and all(_finite_values(p) for p in params)
    )


def _reference(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, or :class:`Unjudgeable` if the inputs make it fail or give NaN."""
    _usable(*args)
    try:
        value = function(*args)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        raise Unjudgeable from None
    if not _finite(value):
        raise Unjudgeable
    return value


class GMMChecks:
    """The checks of one notebook, bound to its :class:`Spec`."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def finite_prefix(self, ns: Namespace) -> Namespace:
        """``ns`` cut back to the iterations that completed with finite results, as if the loop ended there.

        On other data (hidden inputs) an honest mistake elsewhere (a variance
        for sigma, a covariance divided by N) can drive the run to NaN or a
        singular matrix earlier than on the notebook's data, or where the
        notebook's never went; the iterations that ran before are still judged,
        each from the student's own inputs. A run without such iterations is
        returned as it is, and fails.
        """
        spread, offset = self.spec.spread, self.spec.history_offset
        try:
            with quiet():
                history, gammas, values, n_iterations = (
                    ns[name]
                    for name in ("params_history", "responsibilities_over_time", "log_likelihoods", "n_iterations")
                )
                n_iterations = int(n_iterations)
        except (KeyError, TypeError, ValueError):
            return ns
        if not all(isinstance(v, (list, tuple)) for v in (history, gammas, values)):
            return ns
        # iteration i completed when its responsibilities, its M-step's parameters and its log-likelihood exist
        completed = min(n_iterations, len(history), len(gammas) - offset, len(values))
        final = tuple(ns.get(name) for name in ("mu", spread, "pi"))

        def after(i: int) -> Any:
            return history[i + 1] if i + 1 < len(history) else final

        cut = next(
            (i for i in range(completed) if not _finite_output(gammas[i + offset], after(i), values[i])), completed
        )
        if cut == 0 or cut == n_iterations or not _finite_values(gammas[:offset]):
            return ns
        mu, spread_value, pi = after(cut - 1)
        return collections.ChainMap(
            {
                "n_iterations": cut,
                "params_history": list(history[:cut]),
                "responsibilities_over_time": list(gammas[: cut + offset]),
                "log_likelihoods": list(values[:cut]),
                "gamma": gammas[cut + offset - 1],
                "mu": mu,
                "pi": pi,
                spread: spread_value,
            },
            # a read-only Mapping will do (a RemoteNamespace): the ChainMap writes to its first map only
            cast(MutableMapping[str, Any], ns),
        )

    # --- the student's variables -------------------------------------------------

    def _data(self, ns: Namespace) -> np.ndarray:
        data = np.asarray(fetch(ns, "data"), dtype=float)
        if data.ndim not in (1, 2) or not np.all(np.isfinite(data)):
            raise CheckFailed("`data` should be the finite array of samples created at the top of the notebook.")
        return data

    def _shapes(self, ns: Namespace) -> tuple[np.ndarray, int, tuple[int, ...], tuple[int, ...]]:
        data = self._data(ns)
        K = int(fetch(ns, "K"))
        spread_shape = (K,) if data.ndim == 1 else (K, data.shape[1], data.shape[1])
        mu_shape = (K,) if data.ndim == 1 else (K, data.shape[1])
        return data, K, mu_shape, spread_shape

    def _params(
        self, entry: Any, K: int, mu_shape: tuple[int, ...], spread_shape: tuple[int, ...], where: str
    ) -> Recorded:
        """(mu, spread, pi) recorded in ``where``; a part of the wrong shape becomes a :class:`BadPart`.

        One malformed update (a covariance of the wrong shape) then fails its
        own check only: the other parts of the same iteration are still judged.
        """
        try:
            mu, spread, pi = entry
        except (TypeError, ValueError):
            raise CheckFailed(f"{where} should be a tuple (mu, {self.spec.spread}, pi).") from None
        return tuple(
            _part(value, name, shape, f"{name} in {where}")
            for value, name, shape in ((mu, "mu", mu_shape), (spread, self.spec.spread, spread_shape), (pi, "pi", (K,)))
        )

    def _history(self, ns: Namespace) -> Sequence[Any]:
        history = fetch(ns, "params_history")
        if not isinstance(history, (list, tuple)) or not history:
            raise CheckFailed("`params_history` should be a non-empty list: keep the line that appends to it.")
        return history

    def _final_params(
        self, ns: Namespace, K: int, mu_shape: tuple[int, ...], spread_shape: tuple[int, ...], where: str = ""
    ) -> Recorded:
        """(mu, spread, pi) of the right shapes; NaN is allowed here and judged by the step checks."""
        return tuple(
            as_array(ns, name, shape, f"{name}{where}" if where else None, finite=False)
            for name, shape in (("mu", mu_shape), (self.spec.spread, spread_shape), ("pi", (K,)))
        )

    def _run(self, ns: Namespace) -> Run:
        """The recorded :class:`Run`. A loop that raised midway still recorded its first iterations."""
        data, K, mu_shape, spread_shape = self._shapes(ns)
        n_iterations = int(fetch(ns, "n_iterations"))
        history = self._history(ns)
        gammas = fetch(ns, "responsibilities_over_time")
        offset = self.spec.history_offset
        if not isinstance(gammas, (list, tuple)):
            raise CheckFailed("responsibilities_over_time should be a list: keep the line that appends to it.")
        recorded = len(gammas) - offset
        if len(history) > n_iterations or recorded > n_iterations:
            raise CheckFailed(
                "params_history or responsibilities_over_time has more entries than iterations: "
                "run the initialisation cell again before the EM cell."
            )
        complete = len(history) == n_iterations and recorded == n_iterations
        usable = n_iterations if complete else min(recorded, len(history) - 1)
        if usable < 1:
            raise CheckFailed(
                "The EM loop did not complete a single iteration: run the EM cell and fix the error it shows."
            )
        params = [
            self._params(entry, K, mu_shape, spread_shape, f"params_history[{i}]")
            for i, entry in enumerate(history[: usable + 1])
        ]
        broken = False
        if complete:
            params.append(
                self._params(
                    tuple(fetch(ns, name) for name in ("mu", self.spec.spread, "pi")),
                    K,
                    mu_shape,
                    spread_shape,
                    "the final parameters",
                )
            )
        elif not self._valid(data, params[-1]):
            broken = True  # the next E-step raised on them
        elif recorded == len(history):
            # The last E-step ran; if what the loop holds now is invalid, its M-step made it so and the
            # loop raised right after (computing the log-likelihood): judge that M-step too.
            try:
                current = self._final_params(ns, K, mu_shape, spread_shape)
            except CheckFailed:
                current = None
            if current is not None and not self._valid(data, current):
                params.append(current)
                usable += 1
                broken = True
        aliased = usable > 1 and gammas[offset] is gammas[offset + usable - 1]
        # An aliased list holds the last E-step only, and that is iteration `usable` only if the loop finished.
        if not aliased:
            judged = range(usable)
        elif complete:
            judged = range(usable - 1, usable)
        else:
            judged = range(0)
        steps = [
            Step(
                i + 1,
                params[i],
                as_array(
                    {"g": gammas[i + offset]},
                    "g",
                    (len(data), K),
                    f"responsibilities_over_time[{i + offset}]",
                    finite=False,
                ),
                params[i + 1],
            )
            for i in judged
        ]
        return Run(params, steps, complete, aliased, broken)

    def _broken_parameters(self, ns: Namespace) -> bool:
        """Whether the loop raised because an update made the parameters invalid.

        The final values of such a run are broken by that update, so they are
        judged through the recorded steps only, never on their own.
        """
        try:
            run = self._run(ns)
        except CheckFailed:
            return False
        return not run.complete and run.broken_parameters

    def _valid(self, data: np.ndarray, params: Recorded) -> bool:
        """Whether ``params`` are Gaussian parameters an E-step can use."""
        try:
            _reference(self.spec.em.e_step, data, *params)
        except Unjudgeable:
            return False
        return True

    def _judge(self, ns: Namespace, judge_step: Callable[[Step], None], what: str) -> Run:
        """Judge every judgeable step; raise the first diagnosed failure, else the first failure.

        A diagnosis found at any iteration is worth more to the student than
        the first iteration that differs for a reason no catalogue entry explains.
        """
        run = self._run(ns)
        failures, skipped = [], 0
        for step in run.steps:
            try:
                judge_step(step)
            except CheckFailed as failure:
                failures.append(failure)
            except Unjudgeable:
                skipped += 1
        if failures:
            raise next((f for f in failures if f.diagnosis), failures[0])
        if run.steps and skipped == len(run.steps):
            raise CheckFailed(
                f"{what} could not be checked at any iteration, because its inputs are not valid "
                "numbers (NaN, or a covariance that is not positive-definite): fix the step that "
                "produces them first."
            )
        if not run.complete and not run.broken_parameters:
            raise CheckFailed(
                f"{self._loop_stopped(ns, run)} The iterations that ran are right for this step; "
                "fix the error and run the cell again."
            )
        return run

    def _fail(
        self,
        what: str,
        step: Step,
        actual: np.ndarray,
        expected: np.ndarray,
        candidates: Candidates,
        inputs: str,
        component_axis: int = 0,
    ) -> None:
        ids = _first_match(actual, candidates)
        at = f" at iteration {step.iteration}"
        if ids:
            raise CheckFailed(f"{what}{at}: " + " ".join(hint(i) for i in ids), ids)
        if not _finite(actual):
            raise CheckFailed(
                f"{what}{at} contains NaN or infinite values, although its inputs ({inputs}) are valid numbers."
            )
        where = _components(actual, expected, component_axis) if actual.shape == expected.shape else ""
        raise CheckFailed(
            f"{what} does not match the update computed from {inputs}{at}"
            + (f" (component k = {where})" if where else "")
            + "; it matches no known mistake, so compare your line with the equation term by term."
        )

    # --- E-step ------------------------------------------------------------------------

    def check_estep(self, ns: Namespace) -> None:
        """gamma (N, K): non-negative rows summing to 1, equal to eq. (9.23) at every iteration."""
        with quiet():
            data, K, _, _ = self._shapes(ns)
            unnormalised = CheckFailed(
                "The rows of gamma do not sum to 1. " + hint("responsibilities-unnormalised"),
                ["responsibilities-unnormalised"],
            )
            if not self._broken_parameters(ns):
                gamma = as_array(ns, "gamma", (len(data), K))
                if np.any(gamma < 0):
                    raise CheckFailed("gamma has negative entries: responsibilities are probabilities (eq. 9.23).")
            run = self._judge(ns, lambda step: self._check_one_estep(data, step, unnormalised), "The E-step")
            if run.aliased and not self.spec.history_has_own_check:
                raise CheckFailed(
                    "Only the last iteration's E-step could be checked. " + hint("history-aliased"), ["history-aliased"]
                )

    def _check_one_estep(self, data: np.ndarray, step: Step, unnormalised: CheckFailed) -> None:
        mu, spread, pi = step.before
        expected = _reference(self.spec.em.e_step, data, mu, spread, pi)
        if all_close(step.gamma, expected):
            return
        with quiet():
            weighted = np.exp(self.spec.em.estimate_weighted_log_prob(data, mu, spread, pi))
            unweighted = weighted / pi
        candidates = [
            (("responsibilities-unnormalised",), weighted),
            (("responsibilities-unnormalised",), weighted / weighted.sum(axis=0)),
            (("weights-missing-in-estep",), _normalise_rows(unweighted)),
            (("weights-missing-in-estep", "responsibilities-unnormalised"), unweighted),
        ]
        if self.spec.spread == "sigma":
            with quiet():
                candidates.append((("variance-as-scale",), self.spec.em.e_step(data, mu, spread**2, pi)))
        if not np.allclose(step.gamma.sum(axis=1), 1.0) and not _first_match(step.gamma, candidates):
            raise unnormalised
        self._fail(
            "The E-step responsibilities gamma (eq. 9.23)",
            step,
            step.gamma,
            expected,
            candidates,
            "the parameters at the start of the iteration",
            component_axis=1,
        )

    # --- M-step --------------------------------------------------------------------------

    @staticmethod
    def _n_k(step: Step) -> np.ndarray:
        """N_k of the step's responsibilities; :class:`Unjudgeable` if they are not valid weights."""
        n_k = step.gamma.sum(axis=0)
        if not _finite(step.gamma) or np.any(n_k <= 0):
            raise Unjudgeable
        return n_k

    def check_mu(self, ns: Namespace) -> None:
        """mu (K,) or (K, D): the responsibility-weighted means, eq. (9.24)."""
        with quiet():
            data, _, mu_shape, _ = self._shapes(ns)

            def check(step: Step) -> None:
                n_k = self._n_k(step)
                weighted_sum = step.gamma.T @ data
                expected = weighted_sum / (n_k if data.ndim == 1 else n_k[:, None])
                if not all_close(_updated(step.after[0]), expected):
                    self._fail(
                        "The M-step means mu (eq. 9.24)",
                        step,
                        step.after[0],
                        expected,
                        [(("mean-divided-by-n",), weighted_sum / len(data))],
                        "your gamma",
                    )

            self._judge(ns, check, "The mean update")
            if not self._broken_parameters(ns):
                as_array(ns, "mu", mu_shape)

    def _spread_candidates(
        self, data: np.ndarray, gamma: np.ndarray, n_k: np.ndarray, mean: np.ndarray, old_mean: np.ndarray
    ) -> list[tuple[tuple[str, ...], np.ndarray]]:
        """Every combination of the catalogued spread mistakes, the correct update first."""
        is_sigma = self.spec.spread == "sigma"
        ids = {
            "unweighted": "variance-unweighted" if is_sigma else "covariance-unweighted",
            "old": "old-mean-in-variance" if is_sigma else "covariance-old-mean",
            "by_n": "variance-divided-by-n" if is_sigma else "covariance-divided-by-n",
            "no_sqrt": "sigma-is-variance",
            "bessel": "variance-bessel-corrected" if is_sigma else "covariance-bessel-corrected",
        }
        options: list[tuple[tuple[str, ...], np.ndarray]] = []
        for unweighted in (False, True):
            for old in (False, True):
                for by_n in (False, True):
                    for no_sqrt in (False, True) if is_sigma else (False,):
                        weights = np.ones_like(gamma) if unweighted else gamma
                        denominator = np.full_like(n_k, len(data)) if by_n else n_k
                        variance = self._scatter(data, weights, old_mean if old else mean, denominator)
                        value = variance if (no_sqrt or not is_sigma) else np.sqrt(variance)
                        # Unweighted sums over all N points: dividing them by N is the same mistake, not two.
                        flags = [
                            name
                            for name, on in (
                                ("unweighted", unweighted),
                                ("old", old),
                                ("by_n", by_n and not unweighted),
                                ("no_sqrt", no_sqrt),
                            )
                            if on
                        ]
                        options.append((tuple(ids[f] for f in flags), value))
        # Bessel's correction and the mean absolute deviation: the sample formulas of a first statistics course.
        bessel = self._scatter(data, gamma, mean, n_k - 1)
        options.append(((ids["bessel"],), np.sqrt(bessel) if is_sigma else bessel))
        if is_sigma:
            options.append(
                (("sigma-mean-absolute-deviation",), (gamma * np.abs(data[:, None] - mean[None, :])).sum(axis=0) / n_k)
            )
        options.sort(key=lambda option: len(option[0]))
        return options

    @staticmethod
    def _scatter(data: np.ndarray, weights: np.ndarray, mean: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """Weighted second moments around ``mean``: (K,) in 1D, (K, D, D) in D dimensions."""
        if data.ndim == 1:
            return (weights * (data[:, None] - mean[None, :]) ** 2).sum(axis=0) / denominator
        return np.stack(
            [
                (weights[:, k, None] * (data - mean[k])).T @ (data - mean[k]) / denominator[k]
                for k in range(weights.shape[1])
            ]
        )

    def check_spread(self, ns: Namespace) -> None:
        """sigma (K,) positive / cov (K, D, D) symmetric positive-definite, equal to eq. (9.25)."""
        name = self.spec.spread
        with quiet():
            data, _, _, spread_shape = self._shapes(ns)
            label = (
                "The M-step standard deviations sigma (eq. 9.25)"
                if name == "sigma"
                else "The M-step covariances cov (eq. 9.25)"
            )

            def check(step: Step) -> None:
                n_k = self._n_k(step)
                new_mean, old_mean = _usable(step.after[0], step.before[0])
                if not _finite(new_mean):
                    raise Unjudgeable  # the mean update failed; its own check says so
                candidates = self._spread_candidates(data, step.gamma, n_k, new_mean, old_mean)
                expected = candidates[0][1]
                if not all_close(_updated(step.after[1]), expected):
                    self._fail(label, step, step.after[1], expected, candidates[1:], "your gamma and your new mu")

            self._judge(ns, check, label)
            if self._broken_parameters(ns):
                return
            spread = as_array(ns, name, spread_shape)
            if name == "sigma" and np.any(spread <= 0):
                raise CheckFailed("sigma has entries that are not positive: a standard deviation is > 0.")
            if name == "cov":
                if not np.allclose(spread, np.swapaxes(spread, 1, 2)):
                    raise CheckFailed("cov[k] is not symmetric: a covariance matrix equals its transpose.")
                if np.any(np.linalg.eigvalsh(spread) <= 0):
                    raise CheckFailed("cov[k] is not positive-definite: some eigenvalue is <= 0.")

    def check_pi(self, ns: Namespace) -> None:
        """pi (K,): non-negative, equal to N_k / N, eq. (9.26)."""
        with quiet():
            data, K, _, _ = self._shapes(ns)

            start = self._run(ns).params[0][2]

            def check(step: Step) -> None:
                n_k = self._n_k(step)
                expected = n_k / len(data)
                if not all_close(_updated(step.after[2]), expected):
                    candidates = [
                        (("weights-not-normalised",), n_k),
                        (("weights-summed-over-components",), step.gamma.sum(axis=1)[:K] / len(data)),
                    ]
                    # Not updated: still the initial weights, or fixed equal ones, where N_k / N has moved away.
                    for fixed in ((start,) if not isinstance(start, BadPart) else ()) + (np.full(K, 1 / K),):
                        if not all_close(fixed, expected):
                            candidates.append((("weights-not-updated",), fixed))
                    self._fail(
                        "The M-step mixing weights pi (eq. 9.26)",
                        step,
                        step.after[2],
                        expected,
                        candidates,
                        "your gamma",
                    )

            self._judge(ns, check, "The mixing weight update")
            if not self._broken_parameters(ns) and np.any(as_array(ns, "pi", (K,)) < 0):
                raise CheckFailed("pi has negative entries: mixing weights are probabilities.")

    # --- log-likelihood and the whole run ------------------------------------------------------

    def _log_likelihoods(self, ns: Namespace, run: Run) -> np.ndarray:
        """The recorded log-likelihoods: one per iteration that ran (all of them once the loop completed)."""
        n_iterations = int(fetch(ns, "n_iterations"))
        values = fetch(ns, "log_likelihoods")
        # A loop that raised records one value per iteration that got past the log-likelihood line.
        allowed = (n_iterations,) if run.complete else range(max(0, len(run.params) - 2), len(run.params) + 1)
        if not isinstance(values, (list, tuple, np.ndarray)) or len(values) not in allowed:
            raise CheckFailed(
                f"log_likelihoods should hold one value per iteration ({n_iterations} values): "
                "append once per iteration, after the M-step."
            )
        return as_array({"log_likelihoods": values}, "log_likelihoods", (len(values),), finite=False)

    def _loop_stopped(self, ns: Namespace, run: Run) -> CheckFailed:
        return CheckFailed(
            f"The EM loop stopped after {len(run.params) - 1} of {int(fetch(ns, 'n_iterations'))} "
            "iterations (did the EM cell raise an error?)."
        )

    def check_log_likelihood(self, ns: Namespace) -> None:
        """log_likelihoods[i] equals eq. (9.14) at the parameters after iteration i."""
        with quiet():
            run = self._run(ns)
            values = self._log_likelihoods(ns, run)
            data = self._data(ns)
            outcomes = []
            for iteration, (after, value) in enumerate(zip(run.params[1:], values), start=1):
                try:
                    outcomes.append(self._check_one_log_likelihood(data, after, value, iteration))
                except Unjudgeable:
                    continue
            failures = [f for f in outcomes if f]
            if failures:
                raise next((f for f in failures if f.diagnosis), failures[0])
            if not run.complete and not run.broken_parameters:
                raise self._loop_stopped(ns, run)

    def _check_one_log_likelihood(
        self, data: np.ndarray, params: Recorded, value: float, iteration: int
    ) -> CheckFailed | None:
        """None if ``value`` is eq. (9.14) at ``params``, else the failure (diagnosed if possible)."""
        mu, spread, pi = params
        expected = _reference(self.spec.em.log_likelihood, data, mu, spread, pi)
        actual = np.array([value])
        if all_close(actual, [expected]):
            return None
        weighted_log = self.spec.em.estimate_weighted_log_prob(data, mu, spread, pi)
        weighted = np.exp(weighted_log)
        typed_directly = np.log(weighted.sum(axis=1)).sum()
        if not np.isfinite(value) and not np.isfinite(typed_directly):
            raise Unjudgeable  # densities underflow at these parameters: eq. (9.14) typed directly gives -inf too
        if all_close(actual, [typed_directly]):
            return None  # eq. (9.14) in probability space, exact but for densities rounded near underflow
        candidates = [
            (("loglik-wrong",), [weighted.sum(axis=1).sum()]),
            (("loglik-wrong",), [np.log(weighted.sum(axis=0)).sum()]),
            (("loglik-wrong",), [np.log((weighted / pi).sum(axis=1)).sum()]),
            (("loglik-wrong",), [np.log(weighted.sum())]),
            (("loglik-wrong",), [weighted_log.sum()]),
        ]
        ids = _first_match(actual, candidates)
        return CheckFailed(
            f"The log-likelihood (eq. 9.14) at iteration {iteration} does not match "
            "the parameters after that iteration. "
            + (hint(ids[0]) if ids else "It matches no known mistake: compare your line with eq. (9.14) term by term."),
            ids,
        )

    def _step_diagnosis(self, ns: Namespace) -> CheckFailed | None:
        """The first diagnosed failure of the step checks, or None: the likely cause of a bad run."""
        for check in (self.check_estep, self.check_mu, self.check_spread, self.check_pi, self.check_log_likelihood):
            try:
                check(ns)
            except CheckFailed as failure:
                if failure.diagnosis:
                    return failure
        return None

    def _run_failure(self, ns: Namespace, message: str) -> CheckFailed:
        """A failure of the whole run, naming the step checks' diagnosis when there is one."""
        cause = self._step_diagnosis(ns)
        if cause is None:
            return CheckFailed(message + " Fix the failing step checks first.")
        return CheckFailed(f"{message} Likely cause: {cause}", cause.diagnosis)

    def check_convergence(self, ns: Namespace) -> None:
        """One non-decreasing log-likelihood per iteration; the run ends where EM from the seed's start ends."""
        with quiet():
            run = self._run(ns)
            if not run.complete:
                raise self._run_failure(ns, str(self._loop_stopped(ns, run)))
            values = self._log_likelihoods(ns, run)
            if not np.all(np.isfinite(values)):
                raise self._run_failure(ns, "log_likelihoods contains NaN or infinite values.")
            scale = max(1.0, float(np.max(np.abs(values))))
            drops = np.flatnonzero(np.diff(values) < -1e-9 * scale)
            if drops.size:
                raise self._run_failure(
                    ns,
                    f"The log-likelihood decreases after iteration {drops[0] + 1}. EM never decreases it "
                    "(Bishop section 9.4), so one of the E- or M-step lines is wrong.",
                )
            problem = inputs(ns, self.spec.problem)
            data = self._data(ns)
            if data.shape != problem.data.shape or not all_close(data, problem.data):
                raise CheckFailed("`data` is not the data the notebook generates: re-run the notebook from the top.")
            if any(isinstance(p, BadPart) for p in run.params[0] + run.params[-1]):
                raise self._run_failure(ns, "The recorded parameters are not all arrays of the right shape.")
            if not all(all_close(a, b) for a, b in zip(run.params[0], problem.start)):
                raise CheckFailed(
                    "params_history[0] is not the notebook's initialisation: "
                    "re-run the initialisation cell before the EM cell."
                )
            reference = reference_final(self.spec.em, problem)
            off = [
                name
                for name, a, b in zip(("mu", self.spec.spread, "pi"), run.params[-1], reference)
                if not all_close(a, b)
            ]
            if off:
                raise self._run_failure(
                    ns,
                    f"After {problem.n_iterations} iterations from the notebook's start, "
                    f"{', '.join(off)} differ from what EM reaches.",
                )


def reference_final(em: ModuleType, problem: seed.Problem) -> Params:
    """(mu, spread, pi) that EM reaches from ``problem``'s start: the same for every notebook checked on it."""
    arrays = [np.asarray(problem.data), *(np.asarray(a) for a in problem.start)]
    return _reference_final(em, problem.n_iterations, *(Hashed(a) for a in arrays))


# A grading run meets a handful of problems: 8 never grows without bound.
@functools.lru_cache(maxsize=8)
def _reference_final(em: ModuleType, n_iterations: int, data: Hashed, *start: Hashed) -> Params:
    return em.fit(data.array, *(a.array for a in start), n_iterations).final
