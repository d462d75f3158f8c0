"""Verdicts into the gradebook: after nbgrader has scored a submission, the verification decides every graded cell.

The kernel's verdict (nbgrader's score of a test cell run after the
student's code) never raises a score: a graded cell of an assignment with a
spec earns its points exactly when the out-of-kernel runs pass it. Notes
accuse only on evidence: ``tampered`` when a locked cell was edited, or when
the kernel's test passed while the clean run on the same inputs fails it;
``hard-coded`` when the answers on hidden inputs are the notebook's answers;
``other-inputs`` (neutral) when the work passes on the notebook's data and
breaks on other data.

nbformat and nbgrader are imported by the functions that use them: the
zygote imports this package and would otherwise spend a second loading them.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode
    from nbgrader.api import Gradebook

    from ..assignments import Assignment

#: File next to nbgrader's autograded copy: what verification decided, for the reports.
VERDICTS = "grader-verification.json"


def _verdict(grade_id: str, verification: Mapping[str, Any]) -> tuple[bool, str, str, str]:
    """(earned, note, diagnosis, message) of one graded cell from the runs."""
    seed = verification["seed"].get(grade_id, {"passed": False, "diagnosis": [], "message": "not verified"})
    hidden = verification["hidden"].get(grade_id)
    if not seed["passed"]:
        return False, "", ";".join(seed["diagnosis"]), seed["message"]
    if hidden is None or hidden["passed"]:
        return True, "", "", ""
    note = "hard-coded" if hidden.get("same_answers") else "other-inputs"
    return False, note, ";".join(hidden["diagnosis"]), hidden["message"]


def edited_cells(
    gradebook: "Gradebook", submitted: "NotebookNode", notebook_name: str, assignment_id: str
) -> list[str]:
    """grade_ids of the read-only cells (given code, tests) whose source or points differ from the release.

    nbgrader restores them silently before grading; the note says it happened.
    The release text of a test cell is the gradebook's source without its
    hidden-tests region.
    """
    from nbgrader.api import MissingEntry

    from ..nbgrader_internals import released_test_source

    edited = []
    for cell in submitted.cells:
        meta = cell.metadata.get("nbgrader", {})
        try:
            source = gradebook.find_source_cell(meta["grade_id"], notebook_name, assignment_id)
        except (KeyError, MissingEntry):
            continue
        if not source.locked:
            continue
        released = released_test_source(source.cell_type, source.source)
        points = None
        if meta.get("grade"):
            try:
                points = gradebook.find_grade_cell(meta["grade_id"], notebook_name, assignment_id).max_score
            except MissingEntry:
                points = None
        try:
            changed_points = points is not None and float(meta.get("points", 0)) != float(points)
        except (TypeError, ValueError):
            changed_points = True
        if cell.source != released or changed_points:
            edited.append(meta["grade_id"])
    return edited


def _join(*notes: str | None) -> str:
    return "; ".join(dict.fromkeys(n for n in notes if n))


def record(
    db_url: str,
    autograded_dir: Path,
    student_id: str,
    assignment_id: str,
    executions: Mapping[str, Any],
    submitted_dir: Path | None = None,
    spec: "Assignment | None" = None,
) -> dict[str, str]:
    """After nbgrader scored the submission, set every graded cell of ``spec`` from verification; return notes.

    ``executions`` maps notebook name to a VerifiedExecution (or a plain
    Execution when the worker failed: nothing verified, nothing earned).
    Writes :data:`VERDICTS` next to the autograded notebooks for the reports.
    With ``submitted_dir``, read-only cells edited in the submission are
    noted ``tampered`` (every assignment).
    """
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    notes: dict[str, str] = {}
    verdicts: dict[str, dict[str, dict[str, str]]] = {}
    if submitted_dir is not None:
        with Gradebook(db_url) as gradebook:
            for notebook_name in executions:
                path = submitted_dir / student_id / assignment_id / f"{notebook_name}.ipynb"
                edited = edited_cells(gradebook, nbformat.read(path, as_version=4), notebook_name, assignment_id)
                if edited:
                    notes[notebook_name] = f"tampered ({', '.join(edited)} edited)"
    if spec is None:
        return notes
    with Gradebook(db_url) as gradebook:
        for notebook_name, execution in executions.items():
            verification = getattr(execution, "verification", None)
            try:
                submitted = gradebook.find_submission_notebook(notebook_name, assignment_id, student_id)
            except MissingEntry:
                continue
            flags = []
            for grade in submitted.grades:
                if grade.name not in spec.grades:
                    continue
                kernel_passed = grade.auto_score is not None and grade.auto_score >= grade.max_score
                if verification is None:
                    earned, note, diagnosis, message = False, "", "", "not verified (the worker failed)"
                else:
                    earned, note, diagnosis, message = _verdict(grade.name, verification)
                    if (
                        kernel_passed
                        and not verification["seed"].get(grade.name, {}).get("passed")
                        and not any(verification["errors"].values())
                    ):
                        note = "tampered"  # the test passed in the kernel, and fails on the same inputs here
                flags.append(note)
                grade.auto_score = grade.max_score if earned else 0.0
                grade.needs_manual_grade = False
                verdicts.setdefault(notebook_name, {})[grade.name] = {
                    "diagnosis": diagnosis,
                    "note": note,
                    "message": message,
                }
            for note in ("tampered", "hard-coded", "other-inputs"):
                if note in flags and not notes.get(notebook_name, "").startswith(note):
                    notes[notebook_name] = _join(notes.get(notebook_name), note)
                    break
        gradebook.db.commit()
    path = autograded_dir / student_id / assignment_id / VERDICTS
    if path.parent.is_dir():
        path.write_text(json.dumps(verdicts, indent=1, sort_keys=True))
    return notes


def read_verdicts(autograded_dir: Path, student_id: str, assignment_id: str) -> dict[str, Any]:
    """{notebook: {grade_id: {"diagnosis", "note", "message"}}} written by :func:`record`, or {}."""
    try:
        return json.loads((autograded_dir / student_id / assignment_id / VERDICTS).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
