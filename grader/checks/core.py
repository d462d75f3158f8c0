"""Building blocks of the checks: failures, quiet numerics, namespace access."""

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: A student's namespace as the checks see it: ``globals()`` in a test cell, or what the grader hands them.
Namespace = Mapping[str, Any]
#: A check: it takes the namespace and raises :class:`CheckFailed` or returns (its value is not used).
Check = Callable[[Namespace], object]

_T = TypeVar("_T")

#: Relative tolerance for "the same update". Measured by benchmarks/tolerances.py
#: (numbers and reasoning in docs/misconceptions.md): correct implementations
#: differ from the reference by at most 2.3e-14, also after 40 iterations; every
#: catalogued mistake is off by at least 1.4e-1 at some iteration and by 1.9e-3
#: at the end of the closest run (variance around the old mean, 1D).
RTOL = 1e-6
#: Absolute floor for quantities that are legitimately ~0 (tiny responsibilities,
#: where correct implementations differ by about 1e-17).
ATOL = 1e-9


#: Name under which the grader hands the checks the inputs to judge against (see :func:`inputs`).
INPUTS = "__grader_inputs__"


def inputs(ns: Namespace, notebook_inputs: Callable[[], _T]) -> _T:
    """What the checks judge against: the inputs the grader supplies in ``ns``, else the notebook's own.

    In the student's kernel (self-check, visible tests) that is
    ``notebook_inputs()``; out of kernel the grader supplies its own copy,
    the notebook's or hidden ones (:mod:`grader.assignments`).
    """
    try:
        supplied = ns[INPUTS]
    except KeyError:
        supplied = None
    return notebook_inputs() if supplied is None else supplied


class Hashed:
    """An array as a cache key (by shape, dtype and content), for :func:`functools.lru_cache`."""

    __slots__ = ("_key", "array")

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self._key = (array.shape, array.dtype.str, array.tobytes())

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hashed) and self._key == other._key


class CheckFailed(AssertionError):
    """A check found a problem; ``diagnosis`` holds misconception ids, if any."""

    def __init__(self, message: str, diagnosis: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.diagnosis = tuple(diagnosis)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings and floating-point complaints.

    nbgrader scores a test cell 0 when it writes anything to stderr, so a
    RuntimeWarning from a student's NaN must not escape a check.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def fetch(ns: Namespace, name: str) -> Any:
    """The student's variable ``name``, or a failure saying which cells to run."""
    try:
        return ns[name]
    except KeyError:
        raise CheckFailed(
            f"`{name}` is not defined: run the notebook from the top down to the cell you filled in, "
            "and make sure that cell finishes without an error."
        ) from None


def as_array(
    ns: Namespace, name: str, shape: Sequence[int], what: str | None = None, finite: bool = True
) -> NDArray[np.float64]:
    """``ns[name]`` as a float array of the given shape (and finite, unless told), or a clear failure."""
    value = fetch(ns, name)
    label = what or f"`{name}`"
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{label} should be numbers, but it is a {type(value).__name__}.") from None
    if array.shape != tuple(shape):
        raise CheckFailed(f"{label} should have shape {tuple(shape)}, but it has shape {array.shape}.")
    if finite and not np.all(np.isfinite(array)):
        raise CheckFailed(f"{label} contains NaN or infinite values.")
    return array


def close(actual: ArrayLike, expected: ArrayLike) -> NDArray[np.bool_]:
    """Elementwise agreement up to rounding (see RTOL, ATOL), as a boolean array."""
    return np.isclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL, atol=ATOL)


def all_close(actual: ArrayLike, expected: ArrayLike) -> bool:
    return bool(np.all(close(actual, expected)))


def likely_cause(ns: Namespace, message: str, checks: Iterable[Check]) -> CheckFailed:
    """The failure ``message`` of a whole run, naming the first diagnosis of the step ``checks`` behind it."""
    for check in checks:
        try:
            check(ns)
        except CheckFailed as failure:
            if failure.diagnosis:
                return CheckFailed(f"{message} Likely cause: {failure}", failure.diagnosis)
    return CheckFailed(message)
