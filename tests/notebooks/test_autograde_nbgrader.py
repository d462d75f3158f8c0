"""Real `nbgrader autograde` runs: solutions earn full marks, the blank release zero, partial answers partial."""

import json
import os

import pytest

from grader.course import DEFAULT_ROOT, Course
from grader.samples import MISTAKES, SEED_STYLE, fill_blanks, variant


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
