"""Execute one submitted notebook in a sandboxed child process.

The child is forked from a zygote (:mod:`.zygote`) that has already imported
NumPy, SciPy, Matplotlib and IPython, so a submission costs a fork instead of
a kernel start: the main reason ``grader autograde`` beats sequential
nbgrader. The child applies the sandbox (:mod:`grader.runtime.sandbox`), runs the
cells with :func:`grader.runtime.shell.run_cells`, and streams each cell's
outputs back, so a timeout or a crash keeps everything that ran before it.
"""

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass

from . import sandbox, zygote
from .shell import LIMIT_MARKER


@dataclass
class Execution:
    """A notebook (nbformat dict) with outputs, and why execution ended early, if it did."""

    notebook: dict
    note: str = ""
    seconds: float = 0.0
    sandbox: dict | None = None  # {protection: applied?} as reported by the child (see grader.runtime.sandbox.enter)


def _child(conn, notebook, files, limits, workdir, skip):
    """Entry point of the sandboxed child: apply limits, run the cells, stream outputs."""
    from .shell import run_cells

    try:
        applied = sandbox.enter(limits, workdir, files, keep_fds=(conn.fileno(),))
    except Exception as error:  # a broken sandbox must be told apart from a student's crash
        conn.send_bytes(json.dumps({"sandbox-error": f"{type(error).__name__}: {error}"}).encode())
        raise
    conn.send_bytes(json.dumps({"sandbox": applied}).encode())

    def started(index):
        conn.send_bytes(json.dumps({"start": index}).encode())

    def finished(index, cell):
        conn.send_bytes(
            json.dumps(
                {"index": index, "outputs": cell["outputs"], "execution_count": cell["execution_count"]}
            ).encode()
        )

    run_cells(
        notebook["cells"], limits.cell_timeout, limits.output_bytes, on_cell=finished, on_start=started, skip=set(skip)
    )
    conn.send_bytes(b'{"done": true}')
    conn.close()


def _kill(pid):
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


#: Seconds the child gets beyond ``cell_timeout`` to interrupt a cell itself before it is killed.
GRACE = 2.0


def execute(notebook, files=None, limits=None):
    """Run ``notebook`` (an nbformat dict, already sanitized) in a sandbox; return an :class:`Execution`.

    ``files`` maps relative paths to bytes that the notebook expects next to
    it (data files of the assignment). Never raises for anything the student's
    code does: the outcome is in the returned notes and outputs.

    A cell stuck where Python cannot interrupt it (inside C code) is handled
    like nbgrader's interrupt-and-continue: the child is killed and the
    notebook re-run from the start with that cell skipped, until the notebook
    time limit is spent.
    """
    limits = limits or sandbox.Limits()
    files = files or {}
    started = time.monotonic()
    skip: list[int] = []
    note = ""
    applied: dict[str, bool] = {}
    while True:
        attempt = _cleared(notebook)
        outcome, stuck = _attempt(attempt, files, limits, skip, started + limits.notebook_timeout, applied)
        if outcome != "stuck-cell":
            note = outcome
            break
        skip.append(stuck)
    _mark_unexecuted(attempt, note)
    note = note or _note_from_outputs(attempt)
    return Execution(attempt, note, time.monotonic() - started, applied)


def _cleared(notebook):
    """A private, plain-JSON copy without outputs: a cell counts as run only once the child reports it."""
    copy = json.loads(json.dumps(notebook))
    for cell in copy["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return copy


def _max_message(limits):
    """Largest message a child may send: a cell's capped output, JSON-escaped (up to 6 bytes a byte), plus slack."""
    return 6 * limits.output_bytes + 4 * 2**20


def _attempt(notebook, files, limits, skip, deadline, applied):
    """One run in a fresh child; returns (note, index of a cell that had to be killed).

    Messages that do not follow the protocol (a student writing to the
    result pipe, or a child killed in the middle of a message) end the run
    as ``kernel-died``: the cells they claim to report stay unexecuted.
    """
    workdir = tempfile.mkdtemp(prefix="grader-run-")
    pid, conn = zygote.shared().spawn((_child, (notebook, files, limits, workdir, skip)))
    outcome, current, done = "kernel-died", None, False
    cell_deadline = deadline
    try:
        while True:
            wait = min(deadline, cell_deadline) - time.monotonic()
            if wait <= 0 or not conn.poll(wait):
                outcome = "timeout" if time.monotonic() >= deadline else "stuck-cell"
                break
            try:
                message = json.loads(conn.recv_bytes(_max_message(limits)))
            except (EOFError, OSError, ValueError):
                break
            if not isinstance(message, dict):
                break
            if message.get("done"):
                # the child reports every code cell before it is done: an early "done" was written by student code
                outcome, done = ("" if _all_reported(notebook) else "tampered"), True
                break
            if "sandbox-error" in message:
                outcome = "sandbox-error"
                break
            if "sandbox" in message:
                applied.update(message["sandbox"])
            elif "start" in message:
                current = message["start"]
                if not isinstance(current, int) or not 0 <= current < len(notebook["cells"]):
                    break
                cell_deadline = time.monotonic() + limits.cell_timeout + GRACE
            elif not _record(notebook, current, message):
                break
            else:
                cell_deadline = deadline
    finally:
        if not done:
            _kill(pid)
        conn.close()
        sandbox.release(pid)
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome, current


def _all_reported(notebook):
    return all(c["execution_count"] is not None for c in notebook["cells"] if c["cell_type"] == "code")


def _record(notebook, current, message):
    """Store a finished cell's outputs if the message reports the cell that started; False otherwise."""
    if message.get("index") != current or not isinstance(message.get("outputs"), list):
        return False
    cell = notebook["cells"][current]
    cell["outputs"], cell["execution_count"] = message["outputs"], message.get("execution_count")
    return True


def _note_from_outputs(notebook):
    outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    if any(o.get("ename") == "MemoryError" for o in outputs):
        return "memory"
    if any(o.get("ename") == "CellTimeout" for o in outputs):
        return "timeout"
    if any(o.get("output_type") == "stream" and LIMIT_MARKER in o.get("text", "") for o in outputs):
        return "output-limit"
    return ""


def _mark_unexecuted(notebook, note):
    """Cells the child never reported get an error output, so nbgrader cannot score them as passed."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and cell.get("execution_count") is None:
            cell["outputs"] = [
                {
                    "output_type": "error",
                    "ename": "NotExecuted",
                    "evalue": f"grading stopped before this cell ran ({note or 'kernel-died'})",
                    "traceback": [],
                }
            ]
