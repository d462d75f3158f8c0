"""What an autograde run leaves behind: grades.csv, per-student feedback, the class summary."""

import base64
import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..misconceptions import diagnosis_ids, graded_cell_errors
from ..verify import read_verdicts
from . import timing
from .feedback import notebook_note
from .ledger import LEDGER

COLUMNS = ["student_id", "assignment_id", "notebook_id", "grade_id", "score", "max_score", "diagnosis", "note"]


@dataclass
class Row:
    student_id: str
    assignment_id: str
    notebook_id: str
    grade_id: str
    score: object  # float, or "" when nothing could be scored
    max_score: object
    diagnosis: str
    note: str

    def as_csv(self):
        return [getattr(self, column) for column in COLUMNS]


def _ledgers(autograded):
    for path in sorted(Path(autograded).glob(f"*/*/{LEDGER}")):
        yield path.parent.parent.name, path.parent.name, json.loads(path.read_text())


def _autograded_notebook(autograded, student_id, assignment_id, notebook_id):
    path = Path(autograded) / student_id / assignment_id / f"{notebook_id}.ipynb"
    return nbformat.read(path, as_version=4) if path.is_file() else None


def collect_rows(grader, run=None):
    """One row per student x assignment x graded cell of everything graded into this output folder."""
    rows = []
    with Gradebook(grader.db_url) as gradebook:
        for student_id, assignment_id, ledger in _ledgers(grader.autograded):
            notes = ledger.get("notes", {})
            try:
                submission = gradebook.find_submission(assignment_id, student_id)
            except MissingEntry:
                rows.append(Row(student_id, assignment_id, "", "", "", "", "", notes.get("*", "not-graded")))
                continue
            for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                autograded = _autograded_notebook(grader.autograded, student_id, assignment_id, notebook.name)
                errors = graded_cell_errors(autograded) if autograded else {}
                verified = read_verdicts(grader.autograded, student_id, assignment_id).get(notebook.name, {})
                note = notebook_note(notes, notebook.name)
                for grade in sorted(notebook.grades, key=lambda g: g.name):
                    score = "" if grade.score is None else float(grade.score)
                    diagnosis = (
                        verified[grade.name]["diagnosis"]
                        if grade.name in verified
                        else ";".join(diagnosis_ids(errors.get(grade.name, "")))
                    )
                    rows.append(
                        Row(
                            student_id,
                            assignment_id,
                            notebook.name,
                            grade.name,
                            score,
                            float(grade.max_score),
                            diagnosis,
                            note,
                        )
                    )
    for problem in run.problems if run else []:
        if problem.row:  # no submission carries it (unknown assignment, duplicate, link as a student's folder)
            rows.append(
                Row(
                    problem.student_id,
                    problem.assignment_id,
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{problem.note}: {problem.path.name}",
                )
            )
    return rows


def write_csv(rows, path):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(row.as_csv() for row in rows)
    return path


def _figure_png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _distribution_figures(rows):
    """{assignment_id: base64 PNG} with one histogram of scores per graded cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_assignment: defaultdict[str, defaultdict[tuple, list]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.grade_id and row.score != "":
            by_assignment[row.assignment_id][(row.notebook_id, row.grade_id, row.max_score)].append(row.score)
    figures = {}
    for assignment_id, cells in sorted(by_assignment.items()):
        columns = min(4, len(cells))
        lines = -(-len(cells) // columns)
        figure, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.4 * lines), squeeze=False)
        for axis, ((_notebook_id, grade_id, max_score), scores) in zip(axes.ravel(), sorted(cells.items())):
            values = sorted(Counter(scores).items())
            axis.bar([f"{value:g}" for value, _ in values], [count for _, count in values], color="tab:blue")
            axis.set_title(f"{grade_id} (max {max_score:g})", fontsize=9)
            axis.set_xlabel("score")
            axis.set_ylabel("students")
        for axis in axes.ravel()[len(cells) :]:
            axis.set_visible(False)
        figure.suptitle(f"{assignment_id}: score distribution per question")
        figure.tight_layout()
        figures[assignment_id] = _figure_png(figure)
        plt.close(figure)
    return figures


def question_table(rows):
    """Per question: count, mean, share with full marks, share with zero."""
    cells = defaultdict(list)
    maxima = {}
    for row in rows:
        if row.grade_id and row.score != "":
            key = (row.assignment_id, row.notebook_id, row.grade_id)
            cells[key].append(row.score)
            maxima[key] = row.max_score
    table = []
    for key, scores in sorted(cells.items()):
        maximum = maxima[key]
        table.append(
            {
                "assignment_id": key[0],
                "notebook_id": key[1],
                "grade_id": key[2],
                "max_score": maximum,
                "students": len(scores),
                "mean": sum(scores) / len(scores),
                "full": sum(s == maximum for s in scores) / len(scores),
                "zero": sum(s == 0 for s in scores) / len(scores),
            }
        )
    return table


def write_summary(rows, run, path):
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("grader.pipeline"), autoescape=select_autoescape())
    students = sorted({(r.student_id, r.assignment_id) for r in rows if r.grade_id})
    totals: defaultdict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        if row.grade_id:
            totals[(row.student_id, row.assignment_id)][0] += row.score or 0
            totals[(row.student_id, row.assignment_id)][1] += row.max_score
    diagnoses = Counter(d for r in rows for d in r.diagnosis.split(";") if d)
    notes = sorted({(r.student_id, r.assignment_id, r.notebook_id, r.note) for r in rows if r.note})
    html = environment.get_template("summary.html.j2").render(
        questions=question_table(rows),
        figures=_distribution_figures(rows),
        diagnoses=diagnoses.most_common(),
        notes=notes,
        totals=sorted((k, v) for k, v in totals.items()),
        n_submissions=len(students),
        problems=run.problems if run else [],
        failures=run.failures if run else {},
        feedback_errors=run.feedback_errors if run else {},
    )
    Path(path).write_text(html)
    return path


def console_table(rows, console=None):
    """The per-question table for the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Autograde summary: score per question")
    for column in ("assignment", "question"):
        table.add_column(column, justify="left")
    for column in ("students", "mean", "full marks", "zero"):
        table.add_column(column, justify="right")
    for q in question_table(rows):
        table.add_row(
            q["assignment_id"],
            q["grade_id"],
            str(q["students"]),
            f"{q['mean']:.2f} / {q['max_score']:g}",
            f"{q['full']:.0%}",
            f"{q['zero']:.0%}",
        )
    (console or Console()).print(table)


def write_all(grader, run, feedback):
    """grades.csv, feedback HTML for the submissions graded in ``run``, summary.html; returns the rows.

    ``feedback`` is the FeedbackWriter that may already be rendering some of them.
    """
    rows = collect_rows(grader, run)
    write_csv(rows, grader.out / "grades.csv")
    with timing.stage("feedback wait"):
        feedback.write(rows, fresh=set(run.graded))
    run.feedback_errors.update(feedback.errors)
    with timing.stage("summary"):
        write_summary(rows, run, grader.out / "summary.html")
    return rows
