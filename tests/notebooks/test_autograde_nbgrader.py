"""Real `nbgrader autograde` runs: solutions earn full marks, the blank release zero, partial answers partial.

The run of each reference solution is also the proof that it executes top to
bottom in a real kernel, silently on stderr, draws its figures and
self-checks clean (nbgrader keeps the outputs in its autograded copy).
"""

import json
import os

import nbformat
import pytest

from grader.course import DEFAULT_ROOT, Course
from grader.samples import MISTAKES, SEED_STYLE, fill_blanks, variant


def assert_ran_clean(nb, where):
    """Every cell silent on stderr, the self-check all passed, and at least one figure drawn."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        assert not [o for o in streams if o.name == "stderr"], f"{where}: cell {cell.id} wrote to stderr"
        assert not [o for o in cell.outputs if o.output_type == "error"], f"{where}: cell {cell.id} raised"
        if cell.id == "self_check":
            text = "".join(o.text for o in streams)
            assert "All checks passed" in text and "✗" not in text, f"{where}: {text}"
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, f"{where}: the solution drew no figure"


@pytest.mark.parametrize("assignment_id", Course(DEFAULT_ROOT).assignments)
def test_solution_full_marks_and_blank_release_zero(course, assignment_id):
    for notebook in course.notebooks(assignment_id):
        course.submit("solution", assignment_id, course.solution_notebook(assignment_id, notebook), notebook)
        course.submit("blank", assignment_id, course.release_notebook(assignment_id, notebook), notebook)
    students = {"solution", "blank"}
    if assignment_id in SEED_STYLE:
        students.add("seed_style")
        course.submit(
            "seed_style", assignment_id, fill_blanks(course.release_notebook(assignment_id), SEED_STYLE[assignment_id])
        )

    grades = course.plain_autograde(assignment_id)

    assert set(grades) == students
    for student in students - {"blank"}:
        assert all(score == maximum > 0 for score, maximum in grades[student].values()), (student, grades[student])
    assert grades["blank"].keys() == grades["solution"].keys()
    assert all(score == 0 for score, _ in grades["blank"].values()), grades["blank"]
    for notebook in course.notebooks(assignment_id):
        path = course.root / "autograded" / "solution" / assignment_id / f"{notebook}.ipynb"
        assert_ran_clean(nbformat.read(path, as_version=4), path)


def test_wrong_sigma_update_earns_partial_credit(course):
    answers = variant("01_em_1d", **MISTAKES["01_em_1d", "sigma-is-variance"])
    course.submit("wrong_sigma", "01_em_1d", fill_blanks(course.release_notebook("01_em_1d"), answers))

    grades = course.plain_autograde("01_em_1d")["wrong_sigma"]

    earned = {grade_id for grade_id, (score, maximum) in grades.items() if score == maximum}
    assert earned == {"test_estep", "test_mu", "test_pi"}
    assert all(score == 0 for grade_id, (score, _) in grades.items() if grade_id not in earned)


def test_nbgraders_kernels_listen_on_unix_sockets_of_their_own(tmp_path):
    """The course's autograde kernels: five Unix sockets in a private folder each, removed at shutdown."""
    import nbformat

    from grader.course import AUTOGRADE_PREPROCESSORS
    from grader.preprocessors import SocketFolderExecute

    assert SocketFolderExecute in AUTOGRADE_PREPROCESSORS
    code = "import json, os\nfrom ipykernel.connect import get_connection_info\nprint(get_connection_info())"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell("os.getcwd()")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebook").mkdir()
    infos, folders = [], []
    for _ in range(2):
        client = SocketFolderExecute(timeout=60)
        client.preprocess(nbformat.from_dict(nb.copy()), {"metadata": {"path": str(tmp_path / "notebook")}})
        infos.append(json.loads(client.nb.cells[0].outputs[0]["text"]))
        assert client.nb.cells[1].outputs[0]["data"]["text/plain"] == repr(str(tmp_path / "notebook"))
        folders.append(os.path.dirname(infos[-1]["ip"]))
    assert [info["transport"] for info in infos] == ["ipc", "ipc"]
    assert all(os.path.isabs(folder) for folder in folders) and folders[0] != folders[1]
    assert not any(os.path.exists(folder) for folder in folders), "a kernel's socket folder outlived it"
