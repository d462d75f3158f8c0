"""Naming a mistake only when the numbers single it out (the checks of notebooks 03, 05, 07 and 08).

A check evaluates the student's function on several inputs (*cases*) and,
for every catalogued mistake, what code with that mistake computes on the
same cases (a *candidate*: the misconception ids and a function of the case;
the correct formula is the candidate with no ids). The student's code is
given a name only when exactly one set of ids reproduces its values on every
case: two mistakes that coincide on one input (the sign of a KL divergence
that is 0 at the posterior, a missing weight when all weights are equal) are
told apart by the others, and a value no candidate reproduces everywhere is
honestly "no known mistake". Code that raises on some case (a shape that only
broadcasts for N = K) reproduces a candidate that raises on the same cases.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..misconceptions import hint
from .core import CheckFailed, quiet

#: The misconception ids of a candidate: () for the correct formula.
Ids = tuple[str, ...]
#: ``agree(actual, value)``: whether a candidate's finite values are the student's.
Agreement = Callable[[np.ndarray, np.ndarray], object]


class Raised:
    """What a call gave when it raised: ``failure`` is the student's readable failure (None for a candidate)."""

    def __init__(self, failure: CheckFailed | None = None) -> None:
        self.failure = failure


def attempt(compute: Callable[[Any], Any], case: Any) -> Any:
    """``compute(case)``, or :class:`Raised` if the mistaken formula raises on this case."""
    try:
        with quiet():
            return compute(case)
    except Exception:
        return Raised()


def reproduces(actual: Any, value: Any, agree: Agreement) -> bool:
    """Whether ``value`` (a candidate's result) is the student's ``actual`` on one case.

    Both raised, or both arrays of one shape with NaN and infinities in the
    same places and the finite entries in agreement (``agree(actual_finite,
    value_finite)``).
    """
    if isinstance(actual, Raised) or isinstance(value, Raised):
        return isinstance(actual, Raised) and isinstance(value, Raised)
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    actual = np.asarray(actual, dtype=float)
    if value.shape != actual.shape:
        return False
    with quiet():
        for where in (np.isnan, np.isposinf, np.isneginf):
            if not np.array_equal(where(actual), where(value)):
                return False
        finite = np.isfinite(actual)
        return bool(agree(actual[finite], value[finite]))


def single_out(
    outcomes: Sequence[Any],
    cases: Sequence[Any],
    candidates: Iterable[tuple[Ids, Callable[[Any], Any]]],
    agree: Callable[[Any], Agreement],
) -> Ids | None:
    """The ids of the one candidate that reproduces ``outcomes`` on every case: () for correct, None if not one.

    ``candidates`` are (ids, compute) pairs, ``compute(case)`` the value code
    with those mistakes gives; several pairs may carry the same ids (two ways
    of writing one mistake). ``agree(case)`` gives the agreement of finite
    values on that case.
    """
    return singled_out(
        outcomes, [(ids, _values(compute, cases)) for ids, compute in candidates], [agree(case) for case in cases]
    )


def _values(compute: Callable[[Any], Any], cases: Iterable[Any]) -> Iterator[Any]:
    """A candidate's value on each case, computed only as far as the comparison needs them."""
    return (attempt(compute, case) for case in cases)


def singled_out(
    outcomes: Sequence[Any], candidates: Iterable[tuple[Ids, Iterable[Any]]], agreements: Sequence[Agreement]
) -> Ids | None:
    """:func:`single_out` for candidates whose values are already known: (ids, [value on each case]) pairs.

    When the matching id sets are nested (a mistake alone, and with a second
    one the cases cannot see), the smallest is named: the numbers give no
    evidence of the others.
    """
    matching: set[Ids] = set()
    for ids, values in candidates:
        if ids in matching:
            continue
        if all(reproduces(outcome, value, agree) for outcome, value, agree in zip(outcomes, values, agreements)):
            matching.add(ids)
    smallest = [ids for ids in matching if all(set(ids) <= set(other) for other in matching)]
    return smallest[0] if len(smallest) == 1 else None


def named(message: str, ids: Ids) -> CheckFailed:
    """The failure ``message``, naming the mistake ``ids`` with their hints."""
    return CheckFailed(f"{message}: " + hints(ids), ids)


def hints(ids: Iterable[str]) -> str:
    """The hints of ``ids``, for a message."""
    return " ".join(hint(i) for i in ids)
