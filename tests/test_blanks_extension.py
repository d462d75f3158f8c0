"""The unfilled-blank extension in a real kernel: one friendly line for an empty blank, nothing else changes."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grader.course import DEFAULT_ROOT
from grader.samples import SEED_STYLE, fill_blanks

RELEASE = DEFAULT_ROOT / "notebooks"
ASSIGNMENTS = ["01_em_1d", "02_em_2d"]
#: The equation each notebook's first blank (the E-step numerator) implements.
FIRST_BLANK_EQUATION = "eq. 9.23"


def release_notebook(assignment_id):
    return nbformat.read(RELEASE / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def execute(nb, cwd):
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_unfilled_em_cell_says_in_one_line_which_blank_and_what_it_computes(assignment_id, tmp_path):
    nb = release_notebook(assignment_id)
    em_source = next(c.source for c in nb.cells if c.get("id") == "em_loop")
    first_blank = next((number, line.strip()) for number, line in enumerate(em_source.split("\n"), start=1)
                       if line.rstrip().endswith("= ###"))

    cells = execute(nb, tmp_path)

    (error,) = errors(cells["em_loop"])
    assert error.ename == "UnfilledBlank"
    (line,) = error.traceback  # one line, no traceback through the extension
    number, blank = first_blank
    assert f"line {number}:" in line and f"`{blank}`" in line and FIRST_BLANK_EQUATION in line, line
    assert "SyntaxError" not in line and "\n" not in line
    # The grade cells still run, judged by their own checks (the visible ones may pass on the initial values).
    grade_cells = [cell for cell in cells.values() if cell.id.startswith("test_")]
    assert grade_cells and all(cell.execution_count for cell in grade_cells)
    grade_errors = [e for cell in grade_cells for e in errors(cell)]
    assert grade_errors and {e.ename for e in grade_errors} == {"CheckFailed"}


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_filled_em_cell_runs_unchanged(assignment_id, tmp_path):
    nb = fill_blanks(release_notebook(assignment_id), SEED_STYLE[assignment_id])
    filled_em = next(c.source for c in nb.cells if c.get("id") == "em_loop")
    # Compare the kernel's transformation with IPython's own, extension-free one.
    nb.cells.append(new_code_cell(
        "from IPython.core.inputtransformer2 import TransformerManager\n"
        f"source = {filled_em!r}\n"
        "print(get_ipython().transform_cell(source) == TransformerManager().transform_cell(source))"))

    cells = execute(nb, tmp_path)

    assert not errors(cells["em_loop"])
    assert "Log-likelihood" in stdout(cells["em_loop"])
    assert "All checks passed" in stdout(cells["self_check"])
    assert stdout(nb.cells[-1]).strip() == "True"


def test_only_code_that_python_rejects_is_rewritten(tmp_path):
    written = tmp_path / "written.txt"
    cells = [
        "%load_ext grader.blanks",
        # A blank-looking line inside a string is data, not a blank.
        'text = """\nx = ###\n"""\nprint(text.count("###"))',
        # A cell magic's body is not Python.
        f"%%writefile {written}\nx = ###",
        # A test cell a student scribbled a blank into still fails, never passes or vanishes.
        "assert 1 + 1 == 2\nx = ###",
        "\n\nvalue = 1\nmu[k] = ###\n",
    ]
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])

    executed = list(execute(nb, tmp_path).values())

    assert [bool(errors(cell)) for cell in executed] == [False, False, False, True, True]
    assert stdout(executed[1]).strip() == "1"
    assert written.read_text().strip() == "x = ###"
    assert errors(executed[3])[0].ename == "UnfilledBlank"
    # Line numbers are the editor's, leading empty lines included.
    assert errors(executed[4])[0].traceback[0].startswith("UnfilledBlank: line 4: `mu[k] = ###`")


def test_blanks_written_into_test_cells_cannot_skip_grading(course):
    """nbgrader restores grade cells, and a rewritten cell only ever fails: scores follow the EM cell alone."""
    assignment_id = "02_em_2d"
    solution = course.solution_notebook(assignment_id)
    for cell in solution.cells:
        if cell.get("id", "").startswith("test_"):
            cell.source += "\nx = ###"
    blank = course.release_notebook(assignment_id)
    for cell in blank.cells:
        if cell.get("id", "").startswith("test_"):
            cell.source = "x = ###"
    course.submit("scribbled_solution", assignment_id, solution)
    course.submit("scribbled_blank", assignment_id, blank)

    grades = course.plain_autograde(assignment_id)

    assert all(score == maximum > 0 for score, maximum in grades["scribbled_solution"].values())
    assert grades["scribbled_blank"].keys() == grades["scribbled_solution"].keys()
    assert all(score == 0 for score, _ in grades["scribbled_blank"].values())
