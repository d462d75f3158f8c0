"""Every reference solution runs top to bottom in a real kernel, silently on stderr, and self-checks clean."""

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from grader.course import DEFAULT_ROOT, Course

COURSE = Course(DEFAULT_ROOT)
SOLUTIONS = sorted(COURSE.solutions.glob("*/*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_solution_executes_and_passes_its_self_check(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    # nbgrader ships an assignment's other files (data) next to its notebook; so does this run.
    shutil.copytree(path.parent, tmp_path, dirs_exist_ok=True)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        assert not [o for o in streams if o.name == "stderr"], f"cell {cell.id} wrote to stderr"
        if cell.id == "self_check":
            text = "".join(o.text for o in streams)
            assert "All checks passed" in text and "✗" not in text, text
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, "the solution drew no figure"
