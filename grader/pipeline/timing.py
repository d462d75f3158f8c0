"""Wall-clock totals of a grading run's stages, for ``benchmarks/autograde_throughput.py``.

Off unless a caller records (``with timing.recording() as totals:``); then
every ``with timing.stage(name, assignment_id):`` in the pipeline adds its
seconds to ``totals[(name, assignment_id)] = [seconds, count]``. Stages run
in threads and in the feedback renderer's process at the same time, so their
sum exceeds the run's wall time. Nothing here changes what a run does.
"""

import contextlib
import threading
import time
from concurrent.futures import Future

_lock = threading.Lock()
_totals: dict[tuple[str, str], list] | None = None  # {(stage, assignment_id): [seconds, count]} while recording


@contextlib.contextmanager
def recording():
    """Record the stages run in this process (and their feedback renderers) inside the block."""
    global _totals
    with _lock:
        _totals = {}
        totals = _totals
    try:
        yield totals
    finally:
        with _lock:
            _totals = None


def add(name, assignment_id, seconds):
    with _lock:
        if _totals is not None:
            entry = _totals.setdefault((name, assignment_id or ""), [0.0, 0])
            entry[0] += seconds
            entry[1] += 1


@contextlib.contextmanager
def stage(name, assignment_id=""):
    """Time the block as one ``name`` of ``assignment_id`` (free when nothing records)."""
    if _totals is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, assignment_id, time.perf_counter() - started)


def _timed_call(function, args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def submit(pool, name, assignment_id, function, *args):
    """``pool.submit(function, *args)``, timed inside the pool's process while recording."""
    if _totals is None:
        return pool.submit(function, *args)
    outer: Future = Future()

    def done(inner):
        try:
            result, seconds = inner.result()
        except BaseException as error:
            outer.set_exception(error)
            return
        add(name, assignment_id, seconds)
        outer.set_result(result)

    pool.submit(_timed_call, function, args).add_done_callback(done)
    return outer
