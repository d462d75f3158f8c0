"""The misconception catalogue and one verdict, under ONE real ``grader autograde`` run and nbgrader's Validate.

tests/unit/test_catalogue.py judges every sample answer of every assignment
spec in-process, as the grader and the kernel judge it. Here a sixth of them
(of each assignment every sixth of its mistakes and every fourth of its
correct alternatives), the seed-style answers and the untouched releases are graded
by one module-scoped ``autograde`` run, with its sandboxes, verification
children and nbgrader scoring, and validated by nbgrader's own ``Validator``
(what the Lab's Validate button runs). Then:

* every mistake loses points, is named by exactly its catalogue id in
  ``grades.csv``'s ``diagnosis`` column and in the self-check's output, and
  carries no note (an honest mistake is accused of nothing);
* every correct alternative earns full marks, with no diagnosis and no note;
* no feedback text shows a number;
* one verdict: per graded cell, the visible cells as they ran in the graded
  notebook, and nbgrader's Validator (on the releases, the seed-style answers
  and one mistake of each assignment), fail exactly the cells the autograder
  takes points on, so no wrong answer validates as "Success!".

A sixth, not all: each sample costs a sandboxed run, two verification
children and nbgrader's scoring (about 4 s of a CI core), and all 252 were a
third of the suite; the in-process judging covers every sample, and this run
shows that the real pipeline reaches the same verdicts.

``GRADER_TEST_ASSIGNMENTS`` (comma-separated ids) restricts the run to those
assignments.
"""

import csv
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from grader.course import Course
from grader.misconceptions import CATALOGUE, diagnosis_ids, graded_cell_errors
from grader.pipeline.autograde import autograde
from grader.samples import ALTERNATIVES, MUTANTS, SEED_STYLE, fill_blanks
from tests.support.catalogue import DOC, NUMBER
from tests.support.course import copy_course

ENVIRONMENT = "GRADER_TEST_ASSIGNMENTS"
LIMITS = {"cell_timeout": 120, "notebook_timeout": 300}


def selected(assignment_ids):
    wanted = [name.strip() for name in os.environ.get(ENVIRONMENT, "").split(",") if name.strip()]
    return [a for a in assignment_ids if a in wanted] if wanted else sorted(assignment_ids)


ALL_SAMPLES = MUTANTS + ALTERNATIVES
ASSIGNMENTS = selected({sample.assignment_id for sample in ALL_SAMPLES} | set(SEED_STYLE))
#: Of each assignment, every sixth of its mistakes and every fourth of its correct alternatives (at least one).
SAMPLES = [
    sample
    for assignment_id in ASSIGNMENTS
    for kind in (MUTANTS, ALTERNATIVES)
    for sample in [s for s in kind if s.assignment_id == assignment_id][:: 6 if kind is MUTANTS else 4]
]
SELECTED_MUTANTS = [sample for sample in SAMPLES if sample.misconception]
SELECTED_ALTERNATIVES = [sample for sample in SAMPLES if not sample.misconception]


GIVEN = [f"{a}-blank" for a in ASSIGNMENTS] + [f"{a}-seed-style" for a in ASSIGNMENTS if a in SEED_STYLE]
GRADED = GIVEN + [sample.key for sample in SAMPLES]
#: Also run through nbgrader's own Validator (a kernel start and run each, about 5 s of a CI core): the untouched
#: releases, the seed-style answers and one mistake of each assignment. The visible cells of every graded notebook
#: ran as Validate runs them, and test_catalogue runs them for every sample.
VALIDATED = GIVEN + [next(s.key for s in SELECTED_MUTANTS if s.assignment_id == a) for a in ASSIGNMENTS]


def student_id(key):
    return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


@dataclass
class Submission:
    """What the autograder and Validate said about one submission (a single-notebook assignment)."""

    assignment_id: str
    rows: dict = field(default_factory=dict)  # grade_id -> grades.csv row
    self_check: str = ""
    validate_failed: set = field(default_factory=set)  # grade_ids Validate reported as failing
    validate_error: str = ""
    kernel_failed: set = field(default_factory=set)  # grade cells that raised in the graded run's kernel

    @property
    def lost(self):
        return sum(float(r["max_score"]) - float(r["score"]) for r in self.rows.values())

    @property
    def total(self):
        return sum(float(r["max_score"]) for r in self.rows.values())

    @property
    def diagnosed(self):
        return {i for row in self.rows.values() for i in row["diagnosis"].split(";") if i}

    @property
    def notes(self):
        return {row["note"] for row in self.rows.values()} - {""}

    @property
    def autograde_failed(self):
        return {grade_id for grade_id, row in self.rows.items() if float(row["score"]) < float(row["max_score"])}

    @property
    def texts(self):
        return [row.get("message", "") for row in self.rows.values()] + [self.self_check]


def self_check_output(notebook):
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "self_check"]
    return "".join(out.get("text", "") for c in cells for out in c.get("outputs", []) if out.output_type == "stream")


def validate(folder, notebook_name):
    """(failing grade_ids, error) of nbgrader's Validator on ``folder/notebook_name`` (run in its own process)."""
    from nbgrader.preprocessors import Execute
    from nbgrader.validator import Validator
    from traitlets.config import Config

    from grader.nbgrader_internals import preprocessors_swapped
    from grader.preprocessors import SocketFolderExecute

    path = Path(folder) / notebook_name
    try:
        config = Config({"ExecutePreprocessor": {"timeout": LIMITS["cell_timeout"]}})
        validator = Validator(config=config)
        # two of these run at once beside a grading run: kernels on Unix sockets cannot race for TCP ports
        validator.preprocessors = preprocessors_swapped(Validator, "preprocessors", replace=Execute, by=SocketFolderExecute)
        result = validator.validate(str(path))
    except Exception as error:  # the comparison then fails with this message
        return set(), f"{type(error).__name__}: {error}"
    if result.get("changed") or result.get("type_changed"):
        return set(), f"Validate says locked cells changed: {result}"
    graded = {
        c.source.strip(): c.metadata.nbgrader.grade_id
        for c in nbformat.read(path, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    return {graded.get(cell["source"], cell["source"][:40]) for cell in result.get("failed", [])}, ""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{submission key: Submission} of every selected sample, seed-style answer and untouched release."""
    root = tmp_path_factory.mktemp("catalogue")
    course = Course(copy_course(root / "course"))
    submissions, validation = root / "class", root / "validate"
    keys = {}  # student id -> (key, assignment id, notebook name)
    for assignment_id in ASSIGNMENTS:
        (notebook,) = course.notebooks(assignment_id)
        release = nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4)
        answers = {f"{assignment_id}-blank": release}
        if assignment_id in SEED_STYLE:
            answers[f"{assignment_id}-seed-style"] = fill_blanks(release, SEED_STYLE[assignment_id])
        answers.update({s.key: s.notebook(release) for s in SAMPLES if s.assignment_id == assignment_id})
        for key, nb in answers.items():
            student = student_id(key)
            keys[student] = (key, assignment_id, notebook)
            (submissions / student / assignment_id).mkdir(parents=True)
            nbformat.write(nb, submissions / student / assignment_id / f"{notebook}.ipynb")
            # Validate runs where the student works: next to the release's data files
            shutil.copytree(course.release / assignment_id, validation / student / assignment_id)
            nbformat.write(nb, validation / student / assignment_id / f"{notebook}.ipynb")
    out = root / "out"
    run = autograde(submissions, out, course=course, workers=2, **LIMITS)
    results = {key: Submission(assignment_id) for key, assignment_id, _ in keys.values()}
    with open(out / "grades.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["student_id"] in keys and row["grade_id"]:
                results[keys[row["student_id"]][0]].rows[row["grade_id"]] = row
    for student, (key, assignment_id, notebook) in keys.items():
        path = out / "autograded" / student / assignment_id / f"{notebook}.ipynb"
        if path.exists():
            autograded = nbformat.read(path, as_version=4)
            results[key].self_check = self_check_output(autograded)
            results[key].kernel_failed = set(graded_cell_errors(autograded))
        for message in _verified_messages(out, student, assignment_id):
            results[key].rows.get(message[0], {})["message"] = message[1]
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = {
            key: pool.submit(validate, validation / student / assignment_id, f"{notebook}.ipynb")
            for student, (key, assignment_id, notebook) in keys.items()
            if key in VALIDATED
        }
        for key, job in jobs.items():
            results[key].validate_failed, results[key].validate_error = job.result()
    results["__run__"] = run
    return results


def _verified_messages(out, student, assignment_id):
    from grader.verify import read_verdicts

    for verdicts in read_verdicts(out / "autograded", student, assignment_id).values():
        for grade_id, verdict in verdicts.items():
            yield grade_id, verdict.get("message", "")


def result_of(graded, key):
    result = graded[key]
    run = graded["__run__"]
    assert result.rows, f"{key}: no graded rows in grades.csv (failures: {run.failures})"
    return result


def test_every_catalogue_id_has_a_mutant():
    assert {sample.misconception for sample in MUTANTS} == set(CATALOGUE)


@pytest.mark.parametrize("sample", SELECTED_MUTANTS, ids=lambda s: s.key)
def test_mistake_loses_points_and_is_named_by_its_id_only(graded, sample):
    result = result_of(graded, sample.key)
    assert result.lost > 0, result.rows
    assert result.diagnosed == {sample.misconception}, {g: r["diagnosis"] for g, r in result.rows.items()}
    assert sample.misconception in diagnosis_ids(result.self_check), result.self_check
    assert "All checks passed" not in result.self_check
    assert not result.notes, f"an honest mistake is accused of nothing: {result.notes}"


@pytest.mark.parametrize("sample", SELECTED_MUTANTS, ids=lambda s: s.key)
def test_feedback_never_shows_numbers(graded, sample):
    for text in result_of(graded, sample.key).texts:
        assert not NUMBER.findall(text), text


@pytest.mark.parametrize("sample", SELECTED_ALTERNATIVES, ids=lambda s: s.key)
def test_correct_alternative_earns_full_marks_without_diagnosis_or_note(graded, sample):
    result = result_of(graded, sample.key)
    assert result.lost == 0, {g: result.rows[g].get("message") for g in result.autograde_failed}
    assert not result.diagnosed and not result.notes
    assert "All checks passed" in result.self_check and not diagnosis_ids(result.self_check), result.self_check


@pytest.mark.parametrize("key", GRADED)
def test_the_visible_cells_give_the_autograders_verdict_on_every_cell(graded, key):
    """The grade cells as they ran in the graded notebook (what Validate runs) fail where points are taken."""
    result = result_of(graded, key)
    assert result.kernel_failed == result.autograde_failed, (
        f"the visible cells fail {sorted(result.kernel_failed)}, the autograder takes points on "
        f"{sorted(result.autograde_failed)}"
    )


@pytest.mark.parametrize("key", VALIDATED)
def test_validate_gives_the_autograders_verdict_on_every_cell(graded, key):
    result = result_of(graded, key)
    assert not result.validate_error, result.validate_error
    assert result.validate_failed == result.autograde_failed, (
        f"Validate fails {sorted(result.validate_failed)}, the autograder takes points on "
        f"{sorted(result.autograde_failed)}"
    )


@pytest.mark.parametrize("sample", SELECTED_MUTANTS, ids=lambda s: s.key)
def test_no_wrong_answer_passes_the_visible_cells(graded, sample):
    result = result_of(graded, sample.key)
    assert result.kernel_failed
    if sample.key in VALIDATED:
        assert result.validate_failed, "Validate says Success! on a wrong answer"


# --- the documented catalogue -------------------------------------------------------------------


def documented():
    """{id: section text} of docs/misconceptions.md's catalogue (one `### \\`id\\`` heading each)."""
    sections = re.split(r"^### `([^`]+)`\s*$", DOC.read_text(), flags=re.MULTILINE)
    return {sections[i]: sections[i + 1].split("\n## ")[0] for i in range(1, len(sections), 2)}


def test_docs_and_catalogue_hold_the_same_ids_and_hints():
    docs = documented()
    assert set(docs) == set(CATALOGUE)
    for misconception, entry in CATALOGUE.items():
        assert entry.hint in " ".join(docs[misconception].split()), misconception


def test_documented_notebooks_are_those_with_a_mutant():
    for misconception, section in documented().items():
        match = re.search(r"^\*\*Notebooks:\*\* (.+?)(?:\n\n|\Z)", section, flags=re.MULTILINE | re.DOTALL)
        assert match, f"{misconception}: no **Notebooks:** line"
        # Backticked assignment ids outside the parenthesised remarks.
        listed = set(re.findall(r"`(\d\d_\w+)`", re.sub(r"\([^)]*\)", "", match.group(1))))
        tested = {s.assignment_id for s in MUTANTS if s.misconception == misconception}
        assert listed == tested, misconception


def test_diagnosis_ids_reads_catalogue_tokens_only():
    text = "at iteration 2: [sigma-is-variance] x[0] [k] [not-an-id] [loglik-wrong] again [sigma-is-variance]"
    assert diagnosis_ids(text) == ["sigma-is-variance", "loglik-wrong"]
    assert diagnosis_ids("") == [] and diagnosis_ids(None) == []
