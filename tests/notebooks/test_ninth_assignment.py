"""A new assignment takes one spec file plus its solution notebook: graded end to end, verified out of kernel.

The course below is a copy of this one with a small ninth assignment added
in ``solutions/`` and ``assignments/`` only; nothing in the ``grader``
package knows it. One real ``grader autograde`` run grades an honest, a
blank, a hard-coding and a kernel-cheating student.
"""

import csv
import textwrap

import nbformat
import pytest

from grader.course import Course
from grader.pipeline.autograde import autograde
from tests.support.course import copy_course

ASSIGNMENT = "09_tiny"

SPEC = '''
"""09_tiny: double a vector (a test assignment)."""

import numpy as np

from grader.assignments import Assignment, Inputs
from grader.checks.core import CheckFailed, inputs
from grader.checks.functions import array, call, student_function


def notebook_x():
    return np.arange(5.0)


def check_double(ns):
    x = inputs(ns, notebook_x)
    result = array(call(student_function(ns, "double"), x.copy()), x.shape, "double(x)")
    if not np.allclose(result, 2 * x):
        raise CheckFailed("double(x) should be 2 x.")


def hidden(rng):
    x = rng.normal(size=int(rng.integers(3, 9)))
    return Inputs("data", {"x": x}, x)


ASSIGNMENT = Assignment(
    id="09_tiny",
    grades={"test_double": check_double},
    notebook=lambda: Inputs("data", {"x": notebook_x()}, notebook_x()),
    hidden=hidden,
    blank_hints={"doubled": "two times v"},
)
'''


def cell(kind, grade_id, source, **meta):
    nbgrader = {
        "grade_id": grade_id,
        "schema_version": 3,
        "locked": kind != "solution",
        "solution": kind == "solution",
        "grade": kind == "test",
    }
    if kind == "test":
        nbgrader["points"] = 2
    made = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"), metadata={"nbgrader": nbgrader})
    made.id = grade_id
    return made


def solution_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        cell("given", "imports", "%load_ext grader.blanks\nimport numpy as np"),
        cell("given", "data", "x = np.arange(5.0)"),
        cell(
            "solution",
            "answer",
            """
            def double(v):
                doubled = 2 * v  ### BLANK
                return doubled
            """,
        ),
        cell("test", "test_double", "assert np.allclose(double(x), 2 * x)"),
    ]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("ninth") / "course")
    (root / "solutions" / ASSIGNMENT).mkdir()
    nbformat.write(solution_notebook(), root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (root / "assignments").mkdir()
    (root / "assignments" / f"{ASSIGNMENT}.py").write_text(SPEC)
    course = Course(root)
    course.generate_release(assignments=[ASSIGNMENT])
    release = nbformat.read(root / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)

    def with_answer(source, extra=None):
        nb = nbformat.from_dict(release)
        (answer,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answer"]
        answer.source = source
        if extra:
            nb.cells.insert(1, nbformat.v4.new_code_cell(extra))
        return nb

    students = {
        "honest": with_answer("def double(v):\n    return v + v\n"),
        "blank": release,
        "typed-in": with_answer("def double(v):\n    return np.array([0.0, 2.0, 4.0, 6.0, 8.0])\n"),
        "cheat": with_answer(
            "def double(v):\n    return v\n",
            extra='get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])',
        ),
    }
    submissions = tmp_path_factory.mktemp("submissions")
    for student, nb in students.items():
        folder = submissions / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    out = tmp_path_factory.mktemp("out")
    autograde(submissions, out, course=course, workers=2, cell_timeout=60, notebook_timeout=120)
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}, release


def test_the_release_blanks_the_answer(graded):
    _, release = graded
    (answer,) = [c for c in release.cells if c.metadata["nbgrader"]["grade_id"] == "answer"]
    assert "doubled = ###" in answer.source and "2 * v" not in answer.source


@pytest.mark.parametrize(
    "student, score, note",
    [("honest", 2.0, ""), ("blank", 0.0, ""), ("typed-in", 0.0, "hard-coded"), ("cheat", 0.0, "tampered")],
)
def test_the_ninth_assignment_is_verified_out_of_kernel(graded, student, score, note):
    rows, _ = graded
    row = rows[student]
    assert (row["assignment_id"], row["grade_id"]) == (ASSIGNMENT, "test_double")
    assert float(row["score"]) == score and row["note"] == note, row
