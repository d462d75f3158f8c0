"""The sandboxed child of a verification: the notebook's code without its tests, then questions answered.

The child runs the sanitized notebook's code cells in order (the instructor's
given cells as nbgrader restored them, and the student's), up to the last
answer cell, never a test cell; after the cells named in ``injections`` it
sets the values the grader chose (hidden inputs in place of the notebook's
data). Then it answers the grading process's questions, one JSON message
each: the value of a variable, or what a student function returns for
arguments the grader sends. No check runs here, so nothing the student's code
patches (NumPy, input transformers, trace functions, the checks themselves)
meets one; the answers are data that the grading side validates.
"""

import json
import signal
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..runtime import sandbox
from ..runtime.shell import CellTimeout
from .transport import Decoder, Encoder, Malformed

# Bound before the student's code runs, which may rebind the module attributes.
_dumps, _loads = json.dumps, json.loads
_settrace, _setprofile = sys.settrace, sys.setprofile
_BaseException, _str, _type = BaseException, str, type
_setitimer, _ITIMER_REAL = signal.setitimer, signal.ITIMER_REAL
MAX_REQUEST = 256 * 2**20


def _describe(exception: BaseException) -> str:
    try:
        return _str(exception)[:500]
    except _BaseException:
        return ""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout("cell execution timed out")


def run_cells(
    cells: Iterable[tuple[str, str]],
    injections: Mapping[str, Mapping[str, Any]],
    user_ns: dict[str, Any],
    cell_timeout: float | None = None,
) -> dict[str, str]:
    """Execute ``cells`` [(name, source)] in ``user_ns``; {name: error} of the cells that raised.

    A cell running longer than ``cell_timeout`` seconds is interrupted, as in the
    graded execution, and the next cells run; a cell that defeats the alarm meets
    the grading process's deadline for the whole notebook.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    if cell_timeout:
        signal.signal(signal.SIGALRM, _on_alarm)
    errors: dict[str, str] = {}
    for name, source in cells:
        try:
            if cell_timeout:
                _setitimer(_ITIMER_REAL, cell_timeout)
            # a fresh transformer: input transformers the student registered do not rewrite the next cells
            exec(compile(TransformerManager().transform_cell(source), f"<cell {name}>", "exec"), user_ns)
        except _BaseException as exception:  # SystemExit too: a kernel keeps the state of a cell that raised
            errors[name] = f"{_type(exception).__name__}: {_describe(exception)}"[:300]
        finally:
            if cell_timeout:
                _setitimer(_ITIMER_REAL, 0)
        if name in injections:
            user_ns.update(injections[name])
    return errors


def answer(request: Any, user_ns: Mapping[str, Any], encoder: Encoder, decoder: Decoder) -> dict[str, Any]:
    """The response to one request: {"value": ...}, {"missing": true} or {"raised": type, "message": text}."""
    if not isinstance(request, dict):
        raise Malformed("request is not an object")
    if request.get("op") == "get":
        name = request.get("name")
        if not isinstance(name, str) or name not in user_ns:
            return {"missing": True}
        return {"value": encoder.encode(user_ns[name])}
    if request.get("op") == "call":
        function = encoder.functions.get(request.get("function"))
        if function is None:
            raise Malformed("unknown function")
        args = [decoder.decode(arg) for arg in request.get("args", [])]
        kwargs = {str(k): decoder.decode(v) for k, v in request.get("kwargs", {}).items()}
        try:
            result = function(*args, **kwargs)
        except _BaseException as exception:
            return {"raised": _type(exception).__name__, "message": _describe(exception)}
        return {"value": encoder.encode(result)}
    raise Malformed("unknown request")


def serve(results: Connection, requests: Connection, user_ns: MutableMapping[str, Any]) -> None:
    """Answer requests until the grading process closes the connection."""
    encoder = Encoder()
    decoder = Decoder(mine=encoder)
    encoder.received = decoder
    while True:
        try:
            request = _loads(requests.recv_bytes(MAX_REQUEST))
        except (EOFError, OSError):
            return
        try:
            response = answer(request, user_ns, encoder, decoder)
            message = _dumps(response)
        except _BaseException as exception:  # a value that cannot be sent fails that question only
            message = _dumps({"error": f"{_type(exception).__name__}: {_describe(exception)}"[:300]})
        results.send_bytes(message.encode())


def run(
    results: Connection,
    cells: Iterable[tuple[str, str]],
    injections: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, bytes],
    limits: sandbox.Limits,
    workdir: str | Path,
    requests: Connection | None = None,
) -> None:
    """Child entry point (see :func:`grader.runtime.zygote.Zygote.spawn` with ``duplex``)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    try:
        assert requests is not None  # spawned duplex: the zygote hands the child its end of the request pipe
        sandbox.enter(limits, workdir, files, keep_fds=(results.fileno(), requests.fileno()))
    except Exception as error:  # a broken sandbox must be told apart from a student's crash
        results.send_bytes(_dumps({"error": f"sandbox-error ({type(error).__name__})"}).encode())
        raise
    # no history database or saving thread in a throwaway process
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    errors = run_cells(cells, injections, shell.user_ns, limits.cell_timeout)
    _settrace(None)
    _setprofile(None)
    results.send_bytes(_dumps({"ready": True, "errors": errors}).encode())
    serve(results, requests, shell.user_ns)
    results.close()
