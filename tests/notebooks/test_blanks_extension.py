"""The unfilled-blank extension in a real kernel: one friendly line for an empty blank, nothing else changes."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grader.assignments import default_registry
from grader.course import DEFAULT_ROOT
from grader.samples import SEED_STYLE, fill_blanks

RELEASE = DEFAULT_ROOT / "notebooks"
ASSIGNMENTS = ["01_em_1d", "02_em_2d"]
#: The equation each notebook's first blank (the E-step numerator) implements.
FIRST_BLANK_EQUATION = "eq. 9.23"


def release_notebook(assignment_id):
    return nbformat.read(RELEASE / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def execute(nb, cwd):
    NotebookClient(
        nb, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_unfilled_em_cell_says_in_one_line_which_blank_and_what_it_computes(assignment_id, tmp_path):
    nb = release_notebook(assignment_id)
    em_source = next(c.source for c in nb.cells if c.get("id") == "em_loop")
    first_blank = next(
        (number, line.strip())
        for number, line in enumerate(em_source.split("\n"), start=1)
        if line.rstrip().endswith("= ###")
    )

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
    nb.cells.append(
        new_code_cell(
            "from IPython.core.inputtransformer2 import TransformerManager\n"
            f"source = {filled_em!r}\n"
            "print(get_ipython().transform_cell(source) == TransformerManager().transform_cell(source))"
        )
    )

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


class LabKernel:
    """A kernel driven as JupyterLab drives it: each execute request carries the cell's id (nbclient sends none)."""

    def __init__(self, cwd):
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, source, cell_id):
        """The outputs of one cell: [(output type, text)]."""
        request = self.client.session.msg(
            "execute_request",
            {
                "code": source,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": False,
            },
            metadata={"cellId": cell_id},
        )
        self.client.shell_channel.send(request)
        outputs = []
        while True:
            message = self.client.get_iopub_msg(timeout=300)
            if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                return outputs
            if kind == "stream":
                outputs.append((content["name"], content["text"]))
            elif kind == "error":
                outputs.append(("error", content["ename"], content["traceback"]))
            elif kind in ("display_data", "execute_result"):
                outputs.append((kind, content["data"].get("text/plain", "")))

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def lab_kernel(tmp_path):
    kernel = LabKernel(tmp_path)
    yield kernel
    kernel.close()


def kernel_errors(outputs):
    return [output for output in outputs if output[0] == "error"]


def test_a_figure_below_a_failed_cell_says_in_one_line_which_cell_to_fix(lab_kernel):
    nb = release_notebook("02_em_2d")
    outputs = {cell.id: lab_kernel.run(cell.source, cell.id) for cell in nb.cells if cell.cell_type == "code"}
    spec = default_registry()["02_em_2d"]
    below = list(outputs)[list(outputs).index("em_loop") :]
    figures = [cell_id for cell_id in below if not spec.runs_cell(cell_id)]
    assert len(figures) >= 5

    (blank,) = kernel_errors(outputs["em_loop"])
    assert blank[1] == "UnfilledBlank"
    em_count = list(outputs).index("em_loop") + 1  # the prompt number: every code cell ran once, in order
    for cell_id in figures:
        (error,) = kernel_errors(outputs[cell_id])
        assert error[2] == [
            f"This figure needs cell [{em_count}] (`# EM algorithm`) to run without an error: fix that cell first."
        ], (cell_id, error)
        assert not [output for output in outputs[cell_id] if output[0] == "display_data"], cell_id  # no half figure
    # The self-check and the graded cells keep their own errors, whole, and write nothing to stderr.
    assert not any(
        "This figure" in line
        for cell_id in outputs
        if cell_id not in figures
        for error in kernel_errors(outputs[cell_id])
        for line in error[2]
    )
    tests = [cell_id for cell_id in outputs if cell_id.startswith("test_")]
    assert tests and all(kernel_errors(outputs[cell_id])[0][1] == "CheckFailed" for cell_id in tests)
    assert not [output for cell_id in tests for output in outputs[cell_id] if output[0] == "stderr"]


def test_the_figure_draws_once_the_cell_is_fixed_and_other_errors_stay_whole(lab_kernel):
    nb = release_notebook("02_em_2d")
    cells = {cell.id: cell.source for cell in nb.cells if cell.cell_type == "code"}
    filled = {cell.id: cell.source for cell in fill_blanks(nb, SEED_STYLE["02_em_2d"]).cells}

    # Nothing but the imports has run: the figure asks for the cells above it.
    assert not kernel_errors(lab_kernel.run(cells["imports"], "imports"))
    (error,) = kernel_errors(lab_kernel.run(cells["fit-plot"], "fit-plot"))
    assert error[2] == ["This figure needs the cells above it: run them first (Run > Run All Above Selected Cell)."]
    for cell_id in ("data", "init"):
        assert not kernel_errors(lab_kernel.run(cells[cell_id], cell_id))
    assert kernel_errors(lab_kernel.run(cells["em_loop"], "em_loop"))
    # The student's own cell, a test cell and a cell without an id (nbclient) show the real traceback.
    for cell_id in ("5f0c8a1e-student-scratch", "test_cov", None):
        (error,) = kernel_errors(lab_kernel.run("np.linalg.inv(np.zeros((2, 2)))", cell_id))
        assert error[1] == "LinAlgError" and len(error[2]) > 1, error

    assert not kernel_errors(lab_kernel.run(filled["em_loop"], "em_loop"))
    assert not kernel_errors(lab_kernel.run(cells["resp-plot"], "resp-plot"))  # it defines the colours
    figure = lab_kernel.run(cells["fit-plot"], "fit-plot")
    assert not kernel_errors(figure) and any(output[0] == "display_data" for output in figure)


@pytest.mark.parametrize("spec", default_registry().all(), ids=lambda spec: spec.id)
def test_a_blank_gets_the_hint_of_its_own_notebook_where_notebooks_share_a_target(spec, tmp_path, monkeypatch):
    """The kernel runs in the assignment's folder; a target two notebooks share (log_p, labels) gets this one's hint."""
    from grader import blanks

    folder = tmp_path / spec.id
    folder.mkdir()
    monkeypatch.chdir(folder)
    hints = blanks.hints()
    assert {target: hints[target] for target in spec.blank_hints} == dict(spec.blank_hints)
