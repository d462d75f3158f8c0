"""Mutation tests of the misconception catalogue, under REAL nbgrader autograde.

Every catalogued mistake, written the way a student writes it (in the
release's blanks or in the EM cell's given lines), must lose points and be
named by its id in the autograded notebook's grade-cell errors and in the
self-check's output; every correct alternative must earn full marks with no
diagnosis. All samples of an assignment are graded in one autograde run.

``GMM_UPDATE_DOCS=1 python -m pytest tests/test_misconceptions.py`` rewrites
the detection table in docs/misconceptions.md from these results.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.converters.base import NbGraderException
from tests.conftest import CourseCopy, copy_course

from grader.course import read_grades
from grader.misconceptions import CATALOGUE, diagnosis_ids, graded_cell_errors
from grader.samples import ALTERNATIVES, MUTANTS

DOC = Path(__file__).resolve().parent.parent / "docs" / "misconceptions.md"
TABLE_START, TABLE_END = "<!-- detection-table:start -->", "<!-- detection-table:end -->"
ASSIGNMENTS = sorted({sample.assignment_id for sample in MUTANTS + ALTERNATIVES})
#: A decimal number that is not an equation or section reference: an expected value leaking out.
NUMBER = re.compile(r"(?<!eq\. )(?<!eq\. \()(?<!eqs\. )(?<!section )(?<![\d.])\d+\.\d+")


def student_id(sample):
    return re.sub(r"[^a-z0-9]+", "_", sample.key.lower()).strip("_")


@dataclass
class Graded:
    """One autograded submission: its scores, its grade cells' errors and its self-check output."""

    scores: dict  # grade_id -> (score, max_score)
    errors: dict  # grade_id -> error text of that grade cell
    self_check: str

    @property
    def lost(self):
        return sum(maximum - score for score, maximum in self.scores.values())

    @property
    def total(self):
        return sum(maximum for _, maximum in self.scores.values())

    @property
    def diagnosed(self):
        return {i for text in self.errors.values() for i in diagnosis_ids(text)}


def self_check_output(notebook):
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "self_check"]
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{sample key: Graded} for every mutant and alternative, one real autograde run per assignment."""
    course = CourseCopy(copy_course(tmp_path_factory.mktemp("misconceptions") / "course"))
    results = {}
    for assignment_id in ASSIGNMENTS:
        (notebook,) = course.notebooks(assignment_id)
        samples = [s for s in MUTANTS + ALTERNATIVES if s.assignment_id == assignment_id]
        release = course.release_notebook(assignment_id)
        for sample in samples:
            course.submit(student_id(sample), assignment_id, sample.notebook(release))
        course.ensure_released(assignment_id)
        try:
            course.nbgrader_autograde(assignment_id)
        except NbGraderException:
            pass  # nbgrader still graded the others; a submission it could not grade fails its own tests
        scores = {}
        for (student, _notebook, grade_id), score in read_grades(course.db_url(), assignment_id).items():
            scores.setdefault(student, {})[grade_id] = score
        for sample in samples:
            path = course.root / "autograded" / student_id(sample) / assignment_id / f"{notebook}.ipynb"
            if not path.exists():
                continue
            autograded = nbformat.read(path, as_version=4)
            results[sample.key] = Graded(scores[student_id(sample)], graded_cell_errors(autograded),
                                         self_check_output(autograded))
    return results


def result_of(graded, sample):
    assert sample.key in graded, ("nbgrader could not autograde this submission (a cell raised outside the "
                                  "checks or timed out: see the captured log)")
    return graded[sample.key]


def test_every_catalogue_id_has_a_mutant():
    assert {sample.misconception for sample in MUTANTS} == set(CATALOGUE)


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_mistake_loses_points_and_is_diagnosed(graded, sample):
    result = result_of(graded, sample)
    assert result.lost > 0, result.scores
    assert result.diagnosed == {sample.misconception}, result.errors
    assert sample.misconception in diagnosis_ids(result.self_check), result.self_check
    assert "All checks passed" not in result.self_check


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_feedback_never_shows_numbers(graded, sample):
    result = result_of(graded, sample)
    for text in [*result.errors.values(), result.self_check]:
        assert not NUMBER.findall(text), text


@pytest.mark.parametrize("sample", ALTERNATIVES, ids=lambda s: s.key)
def test_correct_alternative_earns_full_marks_without_diagnosis(graded, sample):
    result = result_of(graded, sample)
    assert result.lost == 0, result.errors
    assert result.errors == {}
    assert "All checks passed" in result.self_check and not diagnosis_ids(result.self_check)


def detection_table(graded):
    """Markdown: per catalogue id and notebook, each mutant and whether it was caught and diagnosed."""
    lines = ["| misconception | " + " | ".join(ASSIGNMENTS) + " |", "|---" * (len(ASSIGNMENTS) + 1) + "|"]
    for misconception in CATALOGUE:
        cells = []
        for assignment_id in ASSIGNMENTS:
            entries = []
            for sample in MUTANTS:
                if (sample.assignment_id, sample.misconception) != (assignment_id, misconception):
                    continue
                result = graded.get(sample.key)
                if result is None:
                    entries.append(f"{sample.name}: NOT GRADED (autograde failed)")
                    continue
                caught = f"caught (−{result.lost:g}/{result.total:g})" if result.lost else "NOT caught"
                named = "diagnosed" if misconception in result.diagnosed else "NOT diagnosed"
                entries.append(f"{sample.name.replace('|', '/')}: {caught}, {named}")
            cells.append("<br>".join(entries) or "cannot occur")
        lines.append(f"| `{misconception}` | " + " | ".join(cells) + " |")
    alternatives = [f"{sample.assignment_id} {sample.name}: "
                    + ("full marks, no diagnosis" if sample.key in graded and graded[sample.key].lost == 0
                       and not graded[sample.key].errors else "MARKED WRONG or NOT GRADED")
                    for sample in ALTERNATIVES]
    lines.append(f"| correct alternatives | " + " | ".join(
        "<br>".join(a.split(" ", 1)[1] for a in alternatives if a.startswith(aid)) for aid in ASSIGNMENTS) + " |")
    return "\n".join(lines)


def test_detection_table_in_docs_matches_the_mutation_tests(graded):
    table = detection_table(graded)
    doc = DOC.read_text()
    start, end = doc.index(TABLE_START) + len(TABLE_START), doc.index(TABLE_END)
    if os.environ.get("GMM_UPDATE_DOCS"):
        DOC.write_text(doc[:start] + "\n" + table + "\n" + doc[end:])
        doc = DOC.read_text()
    assert doc[start:doc.index(TABLE_END)].strip() == table, (
        "docs/misconceptions.md's detection table is out of date; regenerate it with "
        "GMM_UPDATE_DOCS=1 python -m pytest tests/test_misconceptions.py\n\n" + table)


# --- the documented catalogue -------------------------------------------------------------------

def documented():
    """{id: section text} of docs/misconceptions.md's catalogue (one `### \\`id\\`` heading each)."""
    sections = re.split(r"^### `([^`]+)`\s*$", DOC.read_text(), flags=re.M)
    return {sections[i]: sections[i + 1].split("\n## ")[0] for i in range(1, len(sections), 2)}


def test_docs_and_catalogue_hold_the_same_ids_and_hints():
    docs = documented()
    assert set(docs) == set(CATALOGUE)
    for misconception, entry in CATALOGUE.items():
        assert entry.hint in " ".join(docs[misconception].split()), misconception


def test_documented_notebooks_are_those_with_a_mutant():
    for misconception, section in documented().items():
        match = re.search(r"^\*\*Notebooks:\*\* (.+?)(?:\n\n|\Z)", section, flags=re.M | re.S)
        assert match, f"{misconception}: no **Notebooks:** line"
        # Backticked assignment ids outside the parenthesised remarks.
        listed = set(re.findall(r"`(\d\d_\w+)`", re.sub(r"\([^)]*\)", "", match.group(1))))
        tested = {s.assignment_id for s in MUTANTS if s.misconception == misconception}
        assert listed & set(ASSIGNMENTS) == tested, misconception


def test_diagnosis_ids_reads_catalogue_tokens_only():
    text = "at iteration 2: [sigma-is-variance] x[0] [k] [not-an-id] [loglik-wrong] again [sigma-is-variance]"
    assert diagnosis_ids(text) == ["sigma-is-variance", "loglik-wrong"]
    assert diagnosis_ids("") == [] and diagnosis_ids(None) == []
