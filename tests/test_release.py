"""The committed release is exactly what nbgrader generates from solutions/, and leaks nothing."""

import filecmp
import json

import nbformat
import pytest

from grader.course import DEFAULT_ROOT, Course

COURSE = Course(DEFAULT_ROOT)
RELEASED = sorted(COURSE.release.glob("*/*.ipynb"))
SOLUTIONS = sorted(COURSE.solutions.glob("*/*.ipynb"))

SEED_BLANKS = {
    "01_em_1d": ["gamma[:, k] = ###", "mu[k] = ###", "sigma[k] = ###", "pi[k] = ###"],
    "02_em_2d": ["gamma[:, k] = ###", "mu[k] = ###", "cov[k] = ###", "pi[k] = ###"],
}


def test_every_assignment_is_released():
    assert [p.relative_to(COURSE.release) for p in RELEASED] == [
        p.relative_to(COURSE.solutions) for p in SOLUTIONS]


def test_regenerated_release_is_byte_identical(tmp_path):
    out = COURSE.generate_release(release_dir=tmp_path / "release", db_url=f"sqlite:///{tmp_path}/gb.db")
    for committed in RELEASED:
        fresh = out / committed.relative_to(COURSE.release)
        assert fresh.is_file(), f"{fresh} was not generated"
        assert filecmp.cmp(committed, fresh, shallow=False), (
            f"{committed} differs from what `grader release` generates: regenerate, never edit by hand")


@pytest.mark.parametrize("path", RELEASED + SOLUTIONS, ids=lambda p: str(p.relative_to(DEFAULT_ROOT)))
def test_notebooks_are_stored_without_outputs_and_with_ids(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        assert cell.get("id"), f"{path}: a cell has no id"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path}: cell {cell.id} has outputs"


@pytest.mark.parametrize("assignment_id", sorted(SEED_BLANKS))
def test_em_cells_keep_the_seed_blanks_verbatim(assignment_id):
    nb = nbformat.read(COURSE.release / assignment_id / f"{assignment_id}.ipynb", as_version=4)
    em_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "em_loop")
    lines = [line.strip() for line in em_cell.source.split("\n")]
    for blank in SEED_BLANKS[assignment_id]:
        assert blank in lines


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: str(p.relative_to(DEFAULT_ROOT)))
def test_release_contains_no_solution_and_no_hidden_tests(path):
    text = path.read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "### BLANK"):
        assert marker not in text
    release = nbformat.read(path, as_version=4)
    solution = nbformat.read(COURSE.solutions / path.relative_to(COURSE.release), as_version=4)
    solution_cells = {c.id: c for c in solution.cells}
    for cell in release.cells:
        source_cell = solution_cells[cell.id]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answered = [line.split("###")[0].strip() for line in source_cell.source.split("\n")
                        if "### BLANK" in line]
            assert answered
            for statement in answered:
                assert statement not in cell.source
        if meta.get("grade"):
            hidden = source_cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in filter(None, (x.strip() for x in hidden.split("\n"))):
                assert line not in cell.source.split("\n")


def test_grade_cells_carry_points_and_ids():
    for path in SOLUTIONS:
        nb = json.loads(path.read_text())
        graded = [c["metadata"]["nbgrader"] for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
        assert graded, f"{path} has no grade cells"
        assert all(m["points"] > 0 and m["grade_id"] for m in graded)
        assert len({m["grade_id"] for m in graded}) == len(graded)
