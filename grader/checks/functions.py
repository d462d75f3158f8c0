"""Checking functions a student wrote (rather than variables a loop left behind).

Notebooks 06-08 ask for small functions; the checks call them on inputs of
their own and compare the results with the reference, so an exception inside
the student's code must become a readable failure, not a traceback.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import CheckFailed, Namespace, as_array


def defined(ns: Namespace, name: str) -> Any:
    """``ns[name]``, or a failure saying to run the cells that define it."""
    try:
        return ns[name]
    except KeyError:
        raise CheckFailed(
            f"`{name}` is not defined: run the cell that defines it (and the cells above it) "
            "and make sure it finishes without an error."
        ) from None


def student_function(ns: Namespace, name: str) -> Callable[..., Any]:
    """The student's function ``name``, or a failure saying which cell defines it."""
    function = defined(ns, name)
    if not callable(function):
        raise CheckFailed(
            f"`{name}` should be the function defined in the cell you filled in, "
            f"but it is a {type(function).__name__}: run that cell again."
        )
    return function


def call(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``; an exception inside it becomes a failure naming the call and the error."""
    try:
        return function(*args)
    except Exception as error:  # any bug in the student's code is reported, never raised
        shown = ", ".join(_describe(a) for a in args)
        raise CheckFailed(f"`{function.__name__}({shown})` raised {type(error).__name__}: {error}") from None


def _describe(argument: object) -> str:
    if isinstance(argument, np.ndarray):
        return f"<array of shape {argument.shape}>"
    return repr(argument)


def number(value: object, what: str) -> float:
    """``value`` as a float, or a failure if it is not a single finite number."""
    try:
        result = float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be a single number, but it is {_describe(value)}.") from None
    if not np.isfinite(result):
        raise CheckFailed(f"{what} is NaN or infinite.")
    return result


def array(value: object, shape: Sequence[int], what: str) -> np.ndarray:
    """``value`` as a finite float array of ``shape``, or a failure naming what is wrong."""
    return as_array({"value": value}, "value", shape, what)
