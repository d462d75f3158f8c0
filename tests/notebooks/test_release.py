"""The committed release is exactly what nbgrader generates from solutions/, and leaks nothing."""

import ast
import filecmp
import importlib
import json

import nbformat
import pytest

from grader.assignments import Call
from grader.course import DEFAULT_ROOT, Course

COURSE = Course(DEFAULT_ROOT)
RELEASED = sorted(COURSE.release.glob("*/*.ipynb"))
SOLUTIONS = sorted(COURSE.solutions.glob("*/*.ipynb"))

SEED_BLANKS = {
    "01_em_1d": ["gamma[:, k] = ###", "mu[k] = ###", "sigma[k] = ###", "pi[k] = ###"],
    "02_em_2d": ["gamma[:, k] = ###", "mu[k] = ###", "cov[k] = ###", "pi[k] = ###"],
}


def test_every_assignment_is_released():
    assert [p.relative_to(COURSE.release) for p in RELEASED] == [p.relative_to(COURSE.solutions) for p in SOLUTIONS]


def test_regenerated_release_is_byte_identical(tmp_path):
    out = COURSE.generate_release(release_dir=tmp_path / "release", db_url=f"sqlite:///{tmp_path}/gb.db")
    for committed in RELEASED:
        fresh = out / committed.relative_to(COURSE.release)
        assert fresh.is_file(), f"{fresh} was not generated"
        assert filecmp.cmp(committed, fresh, shallow=False), (
            f"{committed} differs from what `grader release` generates: regenerate, never edit by hand"
        )


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
            answered = [line.split("###")[0].strip() for line in source_cell.source.split("\n") if "### BLANK" in line]
            assert answered
            for statement in answered:
                assert statement not in cell.source
        if meta.get("grade"):
            assert cell.source == source_cell.source, (
                f"{path}: grade cell {meta['grade_id']} differs from the solution's"
            )


def test_grade_cells_carry_points_and_ids():
    for path in SOLUTIONS:
        nb = json.loads(path.read_text())
        graded = [c["metadata"]["nbgrader"] for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
        assert graded, f"{path} has no grade cells"
        assert all(m["points"] > 0 and m["grade_id"] for m in graded)
        assert len({m["grade_id"] for m in graded}) == len(graded)


def _visible_calls(source, modules, where):
    """[(check function, args, kwargs)] a grade cell calls: ``module.check(globals(), *literals, **literals)`` only."""
    calls = []
    for statement in ast.parse(source).body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        assert (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in modules
        ), f"{where}: a grade cell only calls checks, `module.check(globals(), ...)`; found {ast.unparse(statement)}"
        first, *rest = call.args
        assert ast.unparse(first) == "globals()", f"{where}: {ast.unparse(call)} must judge globals()"
        function = getattr(importlib.import_module(modules[call.func.value.id]), call.func.attr)
        calls.append(
            (
                function,
                tuple(ast.literal_eval(a) for a in rest),
                {k.arg: ast.literal_eval(k.value) for k in call.keywords},
            )
        )
    return calls


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_each_grade_cell_calls_the_check_its_spec_grades_with(path):
    """One verdict: the visible test cell (Validate, the feedback page) makes the very call verification makes."""
    spec = COURSE.specs[path.parent.name]
    nb = nbformat.read(path, as_version=4)
    imports = "\n".join(
        c.source
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked") and "import" in c.source
    )
    modules = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse("\n".join(line for line in imports.split("\n") if not line.startswith("%"))))
        if isinstance(node, ast.ImportFrom) and node.module == "grader.checks"
        for alias in node.names
    }
    graded = {c.metadata.nbgrader.grade_id: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(graded) == set(spec.grades), f"{path}: grade cells {sorted(graded)}, spec grades {sorted(spec.grades)}"
    for grade_id, cell in graded.items():
        expected = spec.grades[grade_id]
        assert isinstance(expected, Call), f"{spec.id}: grades[{grade_id!r}] must be a call(...) of a check"
        assert _visible_calls(cell.source, modules, f"{path} {grade_id}") == [
            (expected.check, expected.args, dict(expected.kwargs))
        ], f"{path} {grade_id}: cell and spec disagree"
