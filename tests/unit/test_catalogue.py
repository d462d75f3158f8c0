"""Every sample answer of every assignment spec, judged in this process as the grader and the kernel judge it.

``grader.samples`` holds each catalogued mistake written the way a student
writes it, and correct alternatives. Each is judged here three ways, with no
kernel or sandbox, so a check that names the wrong mistake, fails a correct
answer on some data, or disagrees with what the student sees shows in seconds:

* as the grader judges it (:func:`grader.samples.judge`: the cells a
  verification child runs, the grade cells' checks called on what they made),
  on the notebook's inputs and on the hidden inputs of a course secret that the
  suite's autograde runs do not use;
* as the student's kernel runs it (:func:`grader.samples.run_as_kernel`: every
  cell in order, the visible grade cells and the self-check included), which is
  what the Lab, Validate and the autograded notebook show.

Then every mistake loses points and is named by exactly its catalogue id, in
the verdicts and in the self-check's output; every correct alternative passes
everywhere; the visible cells fail exactly the cells that lose points (one
verdict); no message shows a number; and docs/misconceptions.md's detection
table is these results. tests/notebooks/test_misconceptions.py grades a
sixth of the samples in one real autograde run and nbgrader's Validate, which
ties this in-process judging to the real pipeline.
"""

import functools
import os

import nbformat
import pytest

from grader.assignments import default_registry
from grader.course import DEFAULT_ROOT, Course
from grader.misconceptions import CATALOGUE, diagnosis_ids
from grader.samples import ALTERNATIVES, MUTANTS, judge, run_as_kernel
from grader.verify.runs import hidden_inputs
from tests.support.catalogue import DOC, NUMBER, TABLE_END, TABLE_START

SPECS = default_registry()
RELEASE = Course(DEFAULT_ROOT).release
#: A secret unlike the suite's course secret, on which the suite's autograde runs judge.
SECRETS = ("catalogue-unit",)


@functools.cache
def _release(assignment_id):
    return nbformat.read(RELEASE / assignment_id / f"{assignment_id}.ipynb", as_version=4)


@functools.cache
def _points(assignment_id):
    """{grade_id: points} of the release's graded cells."""
    cells = [cell.metadata.get("nbgrader", {}) for cell in _release(assignment_id).cells]
    return {meta["grade_id"]: float(meta.get("points", 0)) for meta in cells if meta.get("grade")}


@functools.cache
def _judged(key):
    """(verdicts, kernel run) of the sample ``key``: verdicts [(where, {failing grade_id: (exception)})]."""
    (sample,) = [s for s in MUTANTS + ALTERNATIVES if s.key == key]
    spec = SPECS[sample.assignment_id]
    notebook = sample.notebook(_release(sample.assignment_id))
    places = [("the notebook's inputs", None)]
    if spec.hidden_grades():
        places += [(f"hidden inputs of {secret!r}", hidden_inputs(spec, secret)) for secret in SECRETS]
    verdicts = [
        (where, {grade_id: failure for grade_id, failure in judge(spec, notebook, inputs).items() if failure})
        for where, inputs in places
    ]
    return verdicts, run_as_kernel(notebook, RELEASE / sample.assignment_id)


def failing(sample):
    """{grade_id} that lose points: failing on the notebook's inputs or on hidden ones."""
    return {grade_id for _, failed in _judged(sample.key)[0] for grade_id in failed}


def named(failed):
    """The catalogue ids that the failures ``failed`` ({grade_id: exception}) name; a bare exception names none."""
    return {i for failure in failed.values() for i in getattr(failure, "diagnosis", ())}


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_each_mistake_fails_and_is_named_by_its_own_id_only(sample):
    verdicts, kernel = _judged(sample.key)
    for where, failed in verdicts:
        assert failed, f"{where}: the mistake passed every grade cell"
        assert named(failed) == {sample.misconception}, f"{where}: {failed}"
    assert sample.misconception in diagnosis_ids(kernel.self_check), kernel.self_check
    assert "All checks passed" not in kernel.self_check


@pytest.mark.parametrize("sample", ALTERNATIVES, ids=lambda s: s.key)
def test_each_correct_alternative_passes_everywhere(sample):
    verdicts, kernel = _judged(sample.key)
    for where, failed in verdicts:
        assert failed == {}, f"{where}: {failed}"
    assert kernel.errors == {}, kernel.errors
    assert "All checks passed" in kernel.self_check and not diagnosis_ids(kernel.self_check), kernel.self_check


@pytest.mark.parametrize("sample", MUTANTS + ALTERNATIVES, ids=lambda s: s.key)
def test_the_visible_cells_fail_exactly_the_cells_that_lose_points(sample):
    """What the student sees (the Lab, Validate) and what the grader decides are one verdict."""
    kernel = _judged(sample.key)[1]
    assert set(kernel.errors) == failing(sample), (
        f"the visible cells fail {sorted(kernel.errors)}, points are lost on {sorted(failing(sample))}"
    )


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_feedback_never_shows_numbers(sample):
    verdicts, kernel = _judged(sample.key)
    for text in [str(failure) for _, failed in verdicts for failure in failed.values()] + [kernel.self_check]:
        assert not NUMBER.findall(text), text


def detection_table():
    """Markdown: per notebook and catalogue id, each mutant and whether it was caught and diagnosed."""
    lines = [
        "| notebook | misconception | mutants (caught: points lost / total; diagnosed: its id named) |",
        "|---|---|---|",
    ]
    for assignment_id in sorted({s.assignment_id for s in MUTANTS + ALTERNATIVES}):
        points = _points(assignment_id)
        for misconception in CATALOGUE:
            entries = []
            for sample in MUTANTS:
                if (sample.assignment_id, sample.misconception) != (assignment_id, misconception):
                    continue
                lost = sum(points[grade_id] for grade_id in failing(sample))
                ids = {i for _, failed in _judged(sample.key)[0] for i in named(failed)}
                caught = f"caught (−{lost:g}/{sum(points.values()):g})" if lost else "NOT caught"  # noqa: RUF001 (a minus sign)
                diagnosed = "diagnosed" if ids == {misconception} else "NOT diagnosed"
                entries.append(f"{sample.name.replace('|', '/')}: {caught}, {diagnosed}")
            if entries:
                lines.append(f"| `{assignment_id}` | `{misconception}` | " + "<br>".join(entries) + " |")
        alternatives = [
            f"{sample.name}: " + ("MARKED WRONG" if failing(sample) else "full marks, no diagnosis")
            for sample in ALTERNATIVES
            if sample.assignment_id == assignment_id
        ]
        if alternatives:
            lines.append(f"| `{assignment_id}` | correct alternatives | " + "<br>".join(alternatives) + " |")
    return "\n".join(lines)


def test_detection_table_in_docs_matches_the_judged_samples():
    table = detection_table()
    doc = DOC.read_text()
    start = doc.index(TABLE_START) + len(TABLE_START)
    if os.environ.get("GMM_UPDATE_DOCS"):
        DOC.write_text(doc[:start] + "\n" + table + "\n" + doc[doc.index(TABLE_END) :])
        doc = DOC.read_text()
    assert doc[start : doc.index(TABLE_END)].strip() == table, (
        "docs/misconceptions.md's detection table is out of date; regenerate it with "
        "GMM_UPDATE_DOCS=1 python -m pytest tests/unit/test_catalogue.py\n\n" + table
    )
