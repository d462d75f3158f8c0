"""Verify one submission: its code re-run in fresh sandboxes, every graded cell judged here.

Two children per notebook, started together: one runs the notebook's code on
its own inputs, one on hidden inputs drawn from the course secret (where the
spec has them). Each graded cell's check then runs in this process against a
:class:`.remote.RemoteNamespace` of each child, with the spec's own copy of
the inputs; a cell earns its points only when it passes on both.

When a cell passes on the notebook's inputs and fails on the hidden ones, the
answers tell why: identical answers on different data mean the outputs do
not depend on the inputs (``hard-coded``); otherwise the work breaks on other
data (an honest mistake the notebook's data hides), which is said neutrally.
"""

import dataclasses
import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..assignments import Assignment, Inputs, load_source
from ..checks import CheckFailed
from ..misconceptions import diagnosis_ids
from ..pipeline import timing
from ..runtime import executor, sandbox, zygote
from . import child
from .remote import RemoteNamespace, Session, Unanswered, same_answers
from .secret import generator

#: Seconds a verification child gets beyond the notebook time limit.
GRACE = 5.0


class NoHiddenInputs(RuntimeError):
    """The spec's draws never gave a usable hidden problem."""


def cells_to_run(spec: Assignment, notebook: Mapping[str, Any]) -> list[tuple[str, str]]:
    """[(name, source)] of the code cells a verification child runs: no tests, up to the last answer cell."""
    cells: list[tuple[str, str]] = []
    last_answer = -1
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        name = str(meta.get("grade_id") or cell.get("id") or f"cell-{len(cells)}")
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: its check runs here, not in the child
        if not meta.get("solution") and not spec.runs_cell(name):
            continue
        source = cell.get("source", "")
        cells.append((name, "".join(source) if isinstance(source, list) else source))
        if meta.get("solution"):
            last_answer = len(cells) - 1
    return cells[: last_answer + 1]


def hidden_inputs(spec: Assignment, secret: str) -> Inputs:
    """The spec's hidden :class:`~grader.assignments.Inputs` for this secret (drawn once per run and secret)."""
    return _hidden_inputs(spec, secret)


@functools.lru_cache(maxsize=32)
def _hidden_inputs(spec: Assignment, secret: str) -> Inputs:
    rng = generator(secret, spec.id)
    if spec.hidden is None:  # hidden_grades() is empty then: verify never asks
        raise NoHiddenInputs(f"{spec.id}: the spec draws no hidden inputs")
    for _ in range(spec.attempts):
        drawn = spec.hidden(rng)
        if drawn is not None:
            return drawn
    raise NoHiddenInputs(f"{spec.id}: no usable hidden inputs in {spec.attempts} draws")


class Child:
    """A running verification child and its session."""

    def __init__(
        self,
        cells: list[tuple[str, str]],
        injections: Mapping[str, Mapping[str, Any]],
        files: Mapping[str, bytes],
        limits: sandbox.Limits,
        deadline: float,
    ) -> None:
        self.workdir = tempfile.mkdtemp(prefix="grader-verify-")
        self.pid, results, requests = zygote.shared().spawn(
            (child.run, (cells, injections, files, limits, self.workdir)), duplex=True
        )
        self.session = Session(results, requests, limits.cell_timeout + executor.GRACE, deadline, on_dead=self.close)
        self.errors: dict[str, str] = {}
        self.failed = ""

    def ready(self, timeout: float) -> bool:
        """Wait for the child to finish running the cells; False (with ``failed`` set) if it never did."""
        try:
            message = self.session.receive(timeout)
        except Unanswered as why:
            self.failed = str(why)
            return False
        if not isinstance(message, dict) or message.get("ready") is not True:
            self.failed = str(message.get("error") if isinstance(message, dict) else "")[:200] or "no results"
            return False
        errors = message.get("errors")
        self.errors = {str(k)[:80]: str(v)[:300] for k, v in errors.items()} if isinstance(errors, dict) else {}
        return True

    def close(self) -> None:
        executor._kill(self.pid)
        for connection in (self.session.results, self.session.requests):
            connection.close()
        sandbox.release(self.pid)
        shutil.rmtree(self.workdir, ignore_errors=True)


def judge(
    spec: Assignment,
    inputs: Inputs,
    session: Session,
    view: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    grade_ids: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """{grade_id: verdict} of one child; a verdict is {"passed", "message", "diagnosis", "answers"}."""
    ns = RemoteNamespace(session, inputs.trusted())
    verdicts: dict[str, dict[str, Any]] = {}
    judged: Mapping[str, Any] | None
    broken: Unanswered | None = None
    try:
        judged = view(ns) if view else ns
    except Unanswered as why:
        judged, broken = None, why
    for grade_id in grade_ids or spec.grades:
        session.transcript = []
        verdict: dict[str, Any] = {"passed": False, "message": "", "diagnosis": []}
        try:
            if judged is None:
                assert broken is not None  # judged is None only where the view raised
                raise broken
            spec.grades[grade_id](judged)
        except CheckFailed as failure:
            verdict.update(message=str(failure), diagnosis=list(failure.diagnosis) or diagnosis_ids(str(failure)))
        except Unanswered as why:
            verdict["message"] = f"the run gave no answer: {why}"
        except Exception as error:  # in a kernel any exception fails the test cell too
            verdict["message"] = f"{type(error).__name__}: {error}"[:500]
        else:
            verdict["passed"] = True
        verdict["answers"] = session.transcript
        verdicts[grade_id] = verdict
    return verdicts


def verify(
    spec: Assignment,
    notebook: Mapping[str, Any],
    files: Mapping[str, bytes] | None = None,
    limits: sandbox.Limits | None = None,
    secret: str = "",
) -> dict[str, dict[str, Any]]:
    """Verify one sanitized notebook: {"seed": verdicts, "hidden": verdicts, "errors": {run: why}}.

    ``hidden`` holds the graded cells judged on hidden inputs only (none where
    the spec has no hidden inputs). A hidden verdict that failed after the
    seed's passed carries ``same_answers``: whether the child answered exactly
    as on the notebook's inputs.
    """
    limits = limits or sandbox.Limits()
    cells = cells_to_run(spec, notebook)
    runs: dict[str, tuple[Any, dict[str, dict[str, Any]]]] = {"seed": (spec.notebook(), {})}
    if spec.hidden_grades():
        hidden = hidden_inputs(spec, secret)
        runs["hidden"] = (hidden, {hidden.cell: dict(hidden.variables)})
    deadline = time.monotonic() + limits.notebook_timeout + GRACE
    children = {run: Child(cells, injections, files or {}, limits, deadline) for run, (_, injections) in runs.items()}
    result: dict[str, dict[str, Any]] = {"errors": {}, "cell_errors": {}, "hidden": {}}
    try:
        for run, (inputs, _) in runs.items():
            process = children[run]
            if process.ready(deadline - time.monotonic()):
                result["cell_errors"][run] = process.errors
            result["errors"][run] = process.failed
            grade_ids = list(spec.grades) if run == "seed" else spec.hidden_grades()
            view = spec.hidden_view if run == "hidden" else None
            with timing.stage("verification checks", spec.id):
                result[run] = judge(spec, inputs, process.session, view, grade_ids)
    finally:
        for process in children.values():
            process.close()
    for grade_id, verdict in result["hidden"].items():
        seed = result["seed"][grade_id]
        if seed["passed"] and not verdict["passed"]:
            verdict["same_answers"] = same_answers(verdict["answers"], seed["answers"])
    for run in ("seed", "hidden"):
        for verdict in result[run].values():
            verdict.pop("answers", None)
    return result


def verify_source(
    spec_source: tuple[str, str, str],
    notebook: Mapping[str, Any],
    files: Mapping[str, bytes] | None,
    limits: sandbox.Limits | None,
    secret: str,
) -> dict[str, dict[str, Any]]:
    """:func:`verify` for a spec given as (assignment id, source, file name): what Dask workers receive."""
    return verify(load_source(*spec_source), notebook, files, limits, secret)


@dataclasses.dataclass
class VerifiedExecution(executor.Execution):
    """An execution plus the verification of the same notebook (None where the assignment has no spec)."""

    verification: dict[str, dict[str, Any]] | None = None


def execute_and_verify(
    notebook: Mapping[str, Any],
    files: Mapping[str, bytes],
    limits: sandbox.Limits,
    spec_source: tuple[str, str, str] | None,
    secret: str,
) -> VerifiedExecution:
    """The worker job of ``grader autograde``: execute the notebook, then verify it (when it has a spec)."""
    assignment_id = spec_source[0] if spec_source else ""
    with timing.stage("execution", assignment_id):
        execution = executor.execute(notebook, files, limits)
    with timing.stage("verification", assignment_id):
        verification = verify_source(spec_source, notebook, files, limits, secret) if spec_source else None
    fields = {field.name: getattr(execution, field.name) for field in dataclasses.fields(execution)}
    return VerifiedExecution(**fields, verification=verification)


__all__ = [
    "Assignment",
    "VerifiedExecution",
    "cells_to_run",
    "execute_and_verify",
    "hidden_inputs",
    "judge",
    "verify",
    "verify_source",
]
