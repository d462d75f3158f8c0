"""Per-student feedback HTML that shows what failed and why, never hidden tests or expected values.

nbgrader's own feedback renders the autograded notebook, whose test cells hold
the restored hidden tests and whose tracebacks quote them (nbgrader issues
#917, #1363). Here every test cell shows only its visible part, and only the
check's message (which by design never contains expected numbers) instead of
the traceback.
"""

import functools
import html
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests

from ..misconceptions import CATALOGUE, diagnosis_ids
from ..runtime import sandbox
from ..verify import read_verdicts
from . import timing

NOTE_EXPLANATIONS = {
    "timeout": "Your notebook ran longer than the time limit and was stopped; cells after that point were not run.",
    "memory": "Your code tried to use more memory than allowed.",
    "kernel-died": "The Python process running your notebook stopped unexpectedly (for example os._exit or a crash); "
    "cells after that point were not run.",
    "output-limit": "Your notebook printed more output than allowed; the rest was discarded.",
    "missing-notebook": "This notebook was not in your submission.",
    "invalid-notebook": "This file could not be read as a notebook (is it valid .ipynb JSON?).",
    "tampered": "The grading of this notebook was interfered with (grading cells modified, or tests disabled or "
    "fooled from your code); the grading cells were restored and your solution was checked on its own, "
    "outside your notebook.",
    "hard-coded": "Your code gave exactly the same results when it was run on different data: results must be "
    "computed from the inputs, not typed in.",
    "other-inputs": "Your code is right on this notebook's data but not on other data the grader tried (the "
    "message of each test says what went wrong there): check the steps that only work here.",
    "missing-cell": "Some cells of the original notebook were missing from your submission (deleted, or their "
    "metadata removed); their tests count as failed.",
    "renamed-notebook": "Your notebook had another file name; it was graded as this notebook.",
    "symlink": "Your submission held a link (a shortcut) instead of your notebook; links are never followed, so "
    "there was nothing of yours to grade. Submit the notebook file itself.",
    "hard-link": "Your submission held a second name (a hard link) of one of the course's own files instead of "
    "your notebook; it was not read, so there was nothing of yours to grade. Submit the notebook file itself.",
    "not-a-file": "Your submission held something that is not a file where your notebook should be; it was not read.",
    "too-large": "Your notebook file is larger than the grader accepts, so it was not read. Clear the outputs "
    "(Kernel > Restart Kernel and Clear Outputs) and submit it again.",
    "compression-ratio": "Your notebook was compressed far more than a notebook can be, so it was not read.",
    "metadata-restored": "Some cells had lost their grading information (for example when cells were copied into a "
    "new notebook); they were recognised by their cell ids and graded as usual.",
    "sandbox-error": "The grader could not set up the environment to run your notebook. This is not your fault: "
    "ask your instructor to grade it again.",
}


def _explain(note):
    """Each of the "; "-separated notes in plain words."""
    return " ".join(NOTE_EXPLANATIONS.get(part.split(" ")[0], part) for part in note.split("; "))


def feedback_notebook(autograded, grades, note="", verified=None):
    """A copy of an autograded notebook fit to show its student.

    ``grades`` maps grade_id to (score, max_score); ``verified`` maps grade_id
    to the out-of-kernel verdict's message, which decided the score and so is
    what a failed test shows (the kernel's output may have been tampered with).
    """
    verified = verified or {}
    nb = nbformat.from_dict(autograded)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    total = sum(score or 0 for score, _ in grades.values())
    maximum = sum(maximum for _, maximum in grades.values())
    lines = [f"# Feedback: {total:g} / {maximum:g} points", ""]
    if note:
        lines += [f"**Note:** {_explain(note)}", ""]
    lines += ["| test | points | result |", "|---|---|---|"]
    hints = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        score, max_score = grades.get(meta["grade_id"], (None, meta.get("points", 0)))
        errors = [o for o in cell.outputs if o.output_type == "error"]
        message = verified.get(meta["grade_id"]) or "; ".join(f"{o.ename}: {o.evalue}" for o in errors)
        passed = score is not None and score == max_score
        verdict = "✓ passed" if passed else f"✗ {message or 'failed'}"
        cell.outputs = [
            nbformat.v4.new_output(
                "stream",
                name="stdout" if passed else "stderr",
                text=f"{verdict}  ({score or 0:g} / {max_score:g} points)\n",
            )
        ]
        lines.append(f"| `{meta['grade_id']}` | {score or 0:g} / {max_score:g} | {'passed' if passed else 'failed'} |")
        hints += [i for i in diagnosis_ids(message) if i not in hints]
    if hints:
        lines += ["", "### What to look at", ""] + [f"- **{i}**: {CATALOGUE[i].hint}" for i in hints]
    for cell in nb.cells:
        if cell.cell_type == "code":
            # tracebacks of the student's own cells can quote restored test code: keep the message only
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stderr", text=f"{o.ename}: {o.evalue}\n")
                if o.output_type == "error"
                else o
                for o in cell.outputs
            ]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
    return nb


def _plain_code(source, language=None, metadata=None, **_):
    """A code cell as escaped text, in the block nbconvert's highlighter would put it in."""
    return f'<div class="highlight hl-ipython3"><pre>{html.escape(source)}</pre></div>'


@functools.cache
def _exporter():
    # Building an exporter loads and compiles nbconvert's templates: once per process. Syntax colouring
    # quadruples a page's tags, which nbconvert then sanitises and re-parses: 0.18 s a notebook instead of 0.05.
    return HTMLExporter(template_name="lab", filters={"highlight_code": _plain_code})


def render_html(nb):
    body, _ = _exporter().from_notebook_node(nb)
    return body


def write_one(source, target, grades, note):
    """Render one autograded notebook's feedback to ``target``; returns ``target``."""
    verdicts = read_verdicts(source.parent.parent.parent, source.parent.parent.name, source.parent.name)
    verified = {grade_id: v.get("message", "") for grade_id, v in verdicts.get(source.stem, {}).items()}
    nb = feedback_notebook(nbformat.read(source, as_version=4), grades, note, verified)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(nb))
    return target


def notebook_note(notes, notebook_id):
    """The note of one notebook from a ledger's notes ("*" holds what concerns the whole submission)."""
    return notes.get(notebook_id) or notes.get("*", "")


class FeedbackWriter:
    """Writes feedback/<student>/<assignment>/<notebook>.html, in ``processes`` processes (0: in this one).

    A submission can be handed over as soon as it is graded
    (:meth:`submission_graded`), so rendering (nbconvert, about 0.05 s a
    notebook) runs beside the grading of the others instead of after it.
    """

    def __init__(self, grader, processes=0):
        self.grader = grader
        # spawn, not fork: the grading process runs threads; the renderers die with the grader, even by SIGKILL
        self._pool = (
            ProcessPoolExecutor(
                processes, mp_context=multiprocessing.get_context("spawn"), initializer=sandbox.die_with_parent
            )
            if processes
            else None
        )
        self._rendered = {}  # target -> Future of write_one, or the target once written in this process
        self.errors = {}  # target -> why it could not be written; the rest of the class is not held up

    def __enter__(self):
        return self

    def __exit__(self, error_type, *_):
        if self._pool:
            self._pool.shutdown(cancel_futures=error_type is not None)

    def _paths(self, student_id, assignment_id, notebook_id):
        return (
            Path(self.grader.autograded) / student_id / assignment_id / f"{notebook_id}.ipynb",
            self.grader.out / "feedback" / student_id / assignment_id / f"{notebook_id}.html",
        )

    def _render(self, source, target, grades, note):
        assignment_id = source.parent.name
        if self._pool:
            self._rendered[target] = timing.submit(
                self._pool, "feedback", assignment_id, write_one, source, target, grades, note
            )
            return
        try:
            with timing.stage("feedback", assignment_id):
                self._rendered[target] = write_one(source, target, grades, note)
        except Exception as error:
            self.errors[target] = f"{type(error).__name__}: {error}"

    def submission_graded(self, student_id, assignment_id, notes):
        """Start rendering the feedback of a submission just graded, with its grades from the gradebook."""
        with Gradebook(self.grader.db_url) as gradebook:
            try:
                notebooks = gradebook.find_submission(assignment_id, student_id).notebooks
            except MissingEntry:
                return
            for notebook in notebooks:
                grades = {
                    grade.name: (None if grade.score is None else float(grade.score), float(grade.max_score))
                    for grade in notebook.grades
                }
                source, target = self._paths(student_id, assignment_id, notebook.name)
                if source.is_file():
                    self._render(source, target, grades, notebook_note(notes, notebook.name))

    def write(self, rows, fresh=None):
        """Feedback for every graded notebook in ``rows`` not rendered yet; waits for all, returns the paths written.

        A page that cannot be written is left out and recorded in :attr:`errors`.

        ``fresh`` (a set of (student, assignment)) limits re-rendering to those
        submissions, plus any whose feedback file is missing.
        """
        grades: dict[tuple[str, str, str], dict] = {}
        notes: dict[tuple[str, str, str], str] = {}
        for row in rows:
            if row.grade_id:
                key = (row.student_id, row.assignment_id, row.notebook_id)
                grades.setdefault(key, {})[row.grade_id] = (row.score if row.score != "" else None, row.max_score)
                notes[key] = row.note
        for key, cell_grades in sorted(grades.items()):
            source, target = self._paths(*key)
            if (
                target in self._rendered
                or not source.is_file()
                or (fresh is not None and key[:2] not in fresh and target.is_file())
            ):
                continue
            self._render(source, target, cell_grades, notes[key])
        written = []
        for target, done in self._rendered.items():
            try:
                written.append(done.result() if isinstance(done, Future) else done)
            except Exception as error:
                self.errors[target] = f"{type(error).__name__}: {error}"
        return written
