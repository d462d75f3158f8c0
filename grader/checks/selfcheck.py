"""The self-check cell of every notebook: one printed line per check, then a verdict."""

from collections.abc import Iterable

from .core import Check, CheckFailed, Namespace


def report(ns: Namespace, checks: Iterable[tuple[str, Check]], success: str) -> bool:
    """Run ``checks`` [(label, check)] on ``ns``; print ✓/✗ lines and ``success`` or a hint; True if all pass."""
    passed = True
    for label, check in checks:
        try:
            check(ns)
        except CheckFailed as failure:
            passed = False
            print(f"✗ {label}: {failure}")
        else:
            print(f"✓ {label}")
    print(success if passed else "Fix the first ✗ line, re-run the cell you filled in, then this cell.")
    return passed
