"""Every cheat class earns nothing on every notebook of the course, through ONE real ``autograde`` run.

A class is built from the course's own notebooks, for every assignment found
in its ``solutions/`` folder that has an assignment spec (none is named here;
an assignment without a spec keeps nbgrader's kernel verdict):

* ``honest``: the release with its answer cells (nbgrader ``solution``
  cells, found by ``grade_id``) filled in from the reference solution: full
  marks on every grade cell, no note;
* ``blank``: the untouched release (``notebooks/<id>/<id>.ipynb``): 0 on
  every grade cell, no note (honest blank work is accused of nothing);
* one student per cheat class in :data:`CHEATS`: the untouched release with
  ONE extra code cell (no nbgrader metadata, a fresh cell id) right after the
  cell whose ``grade_id`` is ``imports``. Each cheat is written generally, so
  it works on any notebook (the notebook's check module is read from its
  ``from grader.checks import <module>`` line). A cheater scores 0 on every
  grade cell; its note in ``grades.csv`` is not empty wherever the cheat
  fooled the kernel it ran in (a note accuses, so it needs that evidence:
  :data:`FOOLS_NOTHING_ON_BLANK_WORK` are noted on partial work, in
  tests/notebooks/test_adversarial_checks.py). (Measured on 01_em_1d with nbgrader
  0.9: in a plain nbgrader kernel ``rebind-module``,
  ``patch-check-functions``, ``skip-later-cells`` and
  ``patch-check-internals`` earn full marks on blank work. There
  ``traceback-hook`` and ``swallow-exceptions`` earn nothing, though they do
  hide the failures from a bare IPython shell, and ``patch-numpy`` fools
  nothing on blank work: the checks fail before they compare.)
* ``system-exit``: the release with ``raise SystemExit`` in the extra cell:
  0 everywhere, and the submission is graded (its rows exist) instead of
  crashing anything.
* :data:`TYPED_IN`: an extra cell right after the (blank) answer cell types
  in the reference run's answers: every value the kernel holds after the
  reference answer cell, and each function it defines replaced by a table of
  what it returned for every call the later cells made on the notebook's
  inputs (``cheat-hard-coded``, which passes a plain kernel's tests); or
  objects equal to anything in their place (``cheat-always-equal``). 0
  everywhere; the typed-in answers are noted.

All of it is graded by one module-scoped ``autograde`` run; each
(assignment, student) pair is its own test id reading that run.

``GRADER_TEST_ASSIGNMENTS`` (comma-separated assignment ids) restricts the
class to those assignments, for a quick smoke run::

    GRADER_TEST_ASSIGNMENTS=01_em_1d python -m pytest tests/notebooks/test_cheats.py -q -x

Unset (the default) means every assignment of the course.
"""

import base64
import contextlib
import csv
import hashlib
import io
import os
import pickle
import re
import types
import uuid
import warnings

import nbformat
import numpy as np
import pytest

from grader.course import Course
from grader.pipeline.autograde import autograde
from tests.support.course import copy_course

LIMITS = {"cell_timeout": 60, "notebook_timeout": 180}
ENVIRONMENT = "GRADER_TEST_ASSIGNMENTS"
CHECK_MODULE = re.compile(r"from\s+grader\.checks\s+import\s+(\w+)")


def selected_assignments():
    """The course's assignments verified out of kernel (those with a spec), or those named in
    ``GRADER_TEST_ASSIGNMENTS``; an unknown name is an error."""
    course = Course()
    available = [a for a in course.assignments if course.specs.get(a) is not None]
    wanted = [name.strip() for name in os.environ.get(ENVIRONMENT, "").split(",") if name.strip()]
    if not wanted:
        return available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise pytest.UsageError(
            f"{ENVIRONMENT} names {', '.join(unknown)}, not in the course (it has: {', '.join(available)})"
        )
    return wanted


ASSIGNMENTS = selected_assignments()

# --- the cheats: each a function of the notebook's check module name, returning the extra cell's source ----

TRACEBACK_HOOK = """\
# errors show nothing
get_ipython()._showtraceback = lambda *args, **kwargs: None
get_ipython().showtraceback = lambda *args, **kwargs: None
"""

REBIND_MODULE = """\
# every check is a no-op
class _NoChecks:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


{module} = _NoChecks()
"""

PATCH_CHECK_FUNCTIONS = """\
# every check_* function of the check module does nothing
import grader.checks.{module} as _checks

for _name in dir(_checks):
    if _name.startswith("check_"):
        setattr(_checks, _name, lambda *args, **kwargs: None)
"""

PATCH_NUMPY = """\
# comparisons always succeed
import numpy as _np

_np.allclose = lambda *args, **kwargs: True
_np.all = lambda *args, **kwargs: True
_np.isclose = lambda *args, **kwargs: True
_np.array_equal = lambda *args, **kwargs: True
_np.isfinite = lambda *args, **kwargs: True
"""

SKIP_LATER_CELLS = """\
# every cell after this one does nothing
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
"""

SWALLOW_EXCEPTIONS = """\
# failing tests print nothing
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
"""

PATCH_CHECK_INTERNALS = """\
# the checks' own failure class is never raised as itself, and their quiet() blocks swallow everything
import contextlib
import sys

_Never = type("Never", (Exception,), {{}})
for _name, _module in list(sys.modules.items()):
    if _module is not None and (_name == "grader.checks" or _name.startswith("grader.checks.")):
        if hasattr(_module, "CheckFailed"):
            _module.CheckFailed = _Never
        if hasattr(_module, "quiet"):
            _module.quiet = lambda: contextlib.suppress(Exception)
"""

#: student id -> source template of the extra cell ({module}: the notebook's check module).
CHEATS = {
    "cheat-traceback-hook": TRACEBACK_HOOK,
    "cheat-rebind-module": REBIND_MODULE,
    "cheat-patch-check-functions": PATCH_CHECK_FUNCTIONS,
    "cheat-patch-numpy": PATCH_NUMPY,
    "cheat-skip-later-cells": SKIP_LATER_CELLS,
    "cheat-swallow-exceptions": SWALLOW_EXCEPTIONS,
    "cheat-patch-check-internals": PATCH_CHECK_INTERNALS,
}
SYSTEM_EXIT = "raise SystemExit\n"

# --- building the class ---------------------------------------------------------------------------------


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def cell_by_grade_id(nb, grade_id, where):
    matches = [cell for cell in nb.cells if nbgrader_meta(cell).get("grade_id") == grade_id]
    assert len(matches) == 1, f"{where}: expected one cell with grade_id {grade_id!r}, found {len(matches)}"
    return matches[0]


def grade_cells(nb):
    """{grade_id: points} of the notebook's autograded cells."""
    return {
        meta["grade_id"]: float(meta.get("points", 0)) for meta in map(nbgrader_meta, nb.cells) if meta.get("grade")
    }


def check_module(nb, where):
    """The name the notebook's imports cell binds with ``from grader.checks import <name>``."""
    match = CHECK_MODULE.search(cell_by_grade_id(nb, "imports", where).source)
    assert match, f"{where}: the imports cell has no `from grader.checks import <module>` line"
    return match.group(1)


def without_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def copy(nb):
    return nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))


def fresh_id(nb):
    taken = {cell.get("id") for cell in nb.cells}
    while True:
        candidate = uuid.uuid4().hex[:8]
        if candidate not in taken:
            return candidate


def with_extra_cell(release, source, where):
    """The release with one plain code cell (no nbgrader metadata, fresh id) right after the imports cell."""
    nb = copy(release)
    index = nb.cells.index(cell_by_grade_id(nb, "imports", where)) + 1
    cell = nbformat.v4.new_code_cell(source)
    cell.id = fresh_id(nb)
    nb.cells.insert(index, cell)
    nbformat.validate(nb)
    return nb


def with_reference_answers(release, solution, where):
    """The release with every answer (``solution``) cell replaced by the reference solution's, by grade_id."""
    nb = copy(release)
    answers = [cell for cell in nb.cells if nbgrader_meta(cell).get("solution")]
    assert answers, f"{where}: the release has no answer cells"
    for cell in answers:
        cell.source = cell_by_grade_id(solution, nbgrader_meta(cell)["grade_id"], f"{where} (solution)").source
    return without_outputs(nb)


def answer_cell(nb, where):
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("solution")] or [None]
    assert cell is not None, f"{where}: expected one answer cell"
    return cell


def with_cell_after_answers(release, source, where):
    """The release with one plain code cell (no nbgrader metadata, fresh id) right after the answer cell."""
    nb = copy(release)
    index = nb.cells.index(answer_cell(nb, where)) + 1
    cell = nbformat.v4.new_code_cell(source)
    cell.id = fresh_id(nb)
    nb.cells.insert(index, cell)
    return nb


def _digest(args, kwargs):
    return hashlib.sha256(pickle.dumps((args, kwargs))).hexdigest()


def _recording(name, function, table):
    def recorder(*args, **kwargs):
        result = function(*args, **kwargs)
        with contextlib.suppress(Exception):  # unpicklable arguments or results: that call is not replayable
            table.setdefault(name, {})[_digest(args, kwargs)] = pickle.loads(pickle.dumps(result))
        return result

    return recorder


def reference_outputs(honest, folder, where):
    """(values, calls) of the reference answers run in this process, every code cell of the notebook.

    ``values``: the data the kernel holds after the answer cell (what it
    defined or filled in); ``calls``: for each function the answer cell
    defines, {digest of the arguments: result} of every call the later cells
    (runs, self-check, graded cells) made on the notebook's inputs.
    """
    answer = answer_cell(honest, where)
    ns, calls, values = {"__name__": "__main__"}, {}, {}
    with (
        contextlib.chdir(folder),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        for cell in honest.cells:
            if cell.cell_type != "code":
                continue
            before = {name: id(value) for name, value in ns.items()}
            source = "\n".join(line for line in cell.source.split("\n") if not line.startswith("%"))
            with contextlib.suppress(Exception):
                exec(compile(source, cell.id, "exec"), ns)
            if cell is answer:
                values = {}
                for name, value in ns.items():
                    if name.startswith("_") or isinstance(value, (types.ModuleType, type)) or callable(value):
                        continue
                    with contextlib.suppress(Exception):
                        values[name] = pickle.loads(pickle.dumps(value))
                for name, value in list(ns.items()):
                    if isinstance(value, types.FunctionType) and before.get(name) != id(value):
                        ns[name] = _recording(name, value, calls)
    return values, calls


HARD_CODED = """\
# every answer typed in from a classmate's run: values, and what each function returned for each input
import base64 as _b64, hashlib as _hashlib, pickle as _pickle

globals().update(_pickle.loads(_b64.b64decode({values!r})))
_ANSWERS = _pickle.loads(_b64.b64decode({calls!r}))


def _typed_in(_name):
    def answer(*args, **kwargs):
        return _ANSWERS[_name][_hashlib.sha256(_pickle.dumps((args, kwargs))).hexdigest()]
    return answer


for _name in _ANSWERS:
    globals()[_name] = _typed_in(_name)
"""

ALWAYS_EQUAL = """\
# every answer is an object equal to anything
import numpy as _np


class _Anything(_np.ndarray):
    def __new__(cls):
        return _np.zeros(1).view(cls)

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __hash__ = object.__hash__


for _name in {names!r}:
    globals()[_name] = (lambda *args, **kwargs: _Anything()) if callable(globals().get(_name)) else _Anything()
"""


def students_for(release, solution, where, folder):
    """{student_id: notebook} for one notebook of one assignment."""
    module = check_module(release, where)
    honest = with_reference_answers(release, solution, where)
    students = {
        "honest": honest,
        "blank": without_outputs(copy(release)),
        "system-exit": with_extra_cell(release, SYSTEM_EXIT, where),
    }
    for student_id, template in CHEATS.items():
        students[student_id] = with_extra_cell(release, template.format(module=module), where)
    values, calls = reference_outputs(honest, folder, where)

    def encode(value):
        return base64.b64encode(pickle.dumps(value)).decode()

    students["cheat-hard-coded"] = with_cell_after_answers(
        release, HARD_CODED.format(values=encode(values), calls=encode(calls)), where
    )
    students["cheat-always-equal"] = with_cell_after_answers(
        release, ALWAYS_EQUAL.format(names=sorted({*values, *calls})), where
    )
    return students


#: Cheats built from the reference run of each notebook (see :func:`students_for`).
TYPED_IN = ["cheat-hard-coded", "cheat-always-equal"]
STUDENTS = ["honest", "blank", "system-exit", *CHEATS, *TYPED_IN]
assert all(re.fullmatch(r"[a-z0-9-]+", student_id) for student_id in STUDENTS)


class Graded:
    """What the one autograde run left: grades.csv rows by (student, assignment), and the run itself."""

    def __init__(self, run, rows, expected):
        self.run = run
        self.rows = rows
        self.expected = expected  # assignment -> notebook -> {grade_id: points}

    def notebook_rows(self, student_id, assignment_id):
        """{notebook: {grade_id: row}} of the student's graded cells in the assignment."""
        graded = {}
        for row in self.rows:
            if row["student_id"] == student_id and row["assignment_id"] == assignment_id and row["grade_id"]:
                graded.setdefault(row["notebook_id"], {})[row["grade_id"]] = row
        return graded

    def context(self, student_id, assignment_id):
        """Everything else the run said about the submission, for assertion messages."""
        key = (student_id, assignment_id)
        other = [
            {k: row[k] for k in ("notebook_id", "note")}
            for row in self.rows
            if row["student_id"] == student_id and row["assignment_id"] == assignment_id and not row["grade_id"]
        ]
        problems = [
            p.message for p in self.run.problems if p.student_id == student_id and p.assignment_id == assignment_id
        ]
        return f"[run failure: {self.run.failures.get(key)!r}; rows without grade_id: {other}; problems: {problems}]"

    def cells(self, student_id, assignment_id):
        """[(notebook, grade_id, points, row or None)] over every grade cell the assignment has."""
        graded = self.notebook_rows(student_id, assignment_id)
        return [
            (notebook, grade_id, points, graded.get(notebook, {}).get(grade_id))
            for notebook, cells in sorted(self.expected[assignment_id].items())
            for grade_id, points in cells.items()
        ]

    def notes(self, student_id, assignment_id):
        """{notebook: set of notes on its rows}."""
        return {
            notebook: {row["note"] for row in rows.values()}
            for notebook, rows in self.notebook_rows(student_id, assignment_id).items()
        }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole class (every selected assignment, every student) graded by ONE autograde run."""
    root = tmp_path_factory.mktemp("cheats")
    course = Course(copy_course(root / "course"))
    submissions = root / "class"
    expected = {}
    for assignment_id in ASSIGNMENTS:
        for notebook in course.notebooks(assignment_id):
            where = f"{assignment_id}/{notebook}.ipynb"
            solution = nbformat.read(course.solutions / assignment_id / f"{notebook}.ipynb", as_version=4)
            release = nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4)
            expected.setdefault(assignment_id, {})[notebook] = grade_cells(solution)
            assert expected[assignment_id][notebook], f"{where}: the solution has no grade cells"
            for student_id, nb in students_for(release, solution, where, course.release / assignment_id).items():
                target = submissions / student_id / assignment_id
                target.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target / f"{notebook}.ipynb")
    out = root / "out"
    run = autograde(submissions, out, course=course, workers=2, **LIMITS)
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Graded(run, rows, expected)


def describe(row):
    if row is None:
        return "no row in grades.csv"
    return f"score {row['score']}/{row['max_score']}, diagnosis {row['diagnosis']!r}, note {row['note']!r}"


def assert_scores(graded, student_id, assignment_id, full_marks):
    wrong = []
    for notebook, grade_id, points, row in graded.cells(student_id, assignment_id):
        want = points if full_marks else 0.0
        if row is None or float(row["score"]) != want or float(row["max_score"]) != points:
            wrong.append(f"  {notebook} {grade_id}: expected {want:g}/{points:g}, got {describe(row)}")
    assert not wrong, (
        f"{assignment_id}, student {student_id!r}: "
        f"{'full marks' if full_marks else '0'} expected on every grade cell\n"
        + "\n".join(wrong)
        + "\n"
        + graded.context(student_id, assignment_id)
    )


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_honest_reference_solution_earns_full_marks_without_note(graded, assignment_id):
    assert_scores(graded, "honest", assignment_id, full_marks=True)
    notes = graded.notes("honest", assignment_id)
    assert all(found == {""} for found in notes.values()), (
        f"{assignment_id}, student 'honest': an honest submission must carry no note, got {notes} "
        + graded.context("honest", assignment_id)
    )


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_untouched_release_scores_zero_without_note(graded, assignment_id):
    assert_scores(graded, "blank", assignment_id, full_marks=False)
    notes = graded.notes("blank", assignment_id)
    assert all(found == {""} for found in notes.values()), (
        f"{assignment_id}, student 'blank': honest blank work must not be accused, got notes {notes} "
        + graded.context("blank", assignment_id)
    )


#: Cheats whose kernel verdict on blank work is already a failure: nothing to accuse them of there.
FOOLS_NOTHING_ON_BLANK_WORK = {"cheat-patch-numpy"}


@pytest.mark.parametrize("assignment_id,student_id", [(a, s) for a in ASSIGNMENTS for s in CHEATS])
def test_cheat_scores_zero_and_is_noted(graded, assignment_id, student_id):
    assert_scores(graded, student_id, assignment_id, full_marks=False)
    if student_id in FOOLS_NOTHING_ON_BLANK_WORK:
        return
    notes = graded.notes(student_id, assignment_id)
    rows = graded.notebook_rows(student_id, assignment_id)
    for notebook in graded.expected[assignment_id]:
        unnoted = [grade_id for grade_id, row in rows.get(notebook, {}).items() if not row["note"]]
        assert notes.get(notebook) and not unnoted, (
            f"{assignment_id}/{notebook}, student {student_id!r}: the cheat must be noted (e.g. 'tampered') "
            f"on every row; notes {sorted(notes.get(notebook, ()))}, no note on {unnoted} "
            + graded.context(student_id, assignment_id)
        )


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_system_exit_scores_zero_and_is_graded(graded, assignment_id):
    key = ("system-exit", assignment_id)
    assert key in graded.run.graded, f"{assignment_id}, student 'system-exit': not graded by the run " + graded.context(
        *key
    )
    assert key not in graded.run.failures, (
        f"{assignment_id}, student 'system-exit': grading failed: {graded.run.failures[key]}"
    )
    assert_scores(graded, "system-exit", assignment_id, full_marks=False)


@pytest.mark.parametrize("assignment_id,student_id", [(a, s) for a in ASSIGNMENTS for s in TYPED_IN])
def test_typed_in_answers_earn_nothing(graded, assignment_id, student_id):
    """Answers copied from the reference run (values, and each function's outputs on the notebook's inputs),
    or objects equal to anything: every graded cell 0; where they fooled the kernel, the row is noted."""
    assert_scores(graded, student_id, assignment_id, full_marks=False)
    for notebook, rows in graded.notebook_rows(student_id, assignment_id).items():
        accused = {row["note"].split(" ")[0] for row in rows.values()} - {""}
        assert accused <= {"hard-coded", "tampered", "other-inputs"}, (notebook, accused)
        if student_id == "cheat-hard-coded":  # the typed-in answers pass a plain kernel's tests on this data
            assert accused & {"hard-coded", "tampered"}, (
                f"{assignment_id}/{notebook}: typed-in answers must be noted "
                + graded.context(student_id, assignment_id)
            )
