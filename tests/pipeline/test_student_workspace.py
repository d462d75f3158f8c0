"""The student's workspace: ``grader lab`` fetches the release into the student's own folder and serves it.

The copy runs nbgrader's fetch (``grader.apps.lab.FetchFromRelease``) against
the committed release and a temp workspace: a second start keeps the
student's edits, restores only what is missing and adds assignments released
later, and the committed ``notebooks/`` stays byte for byte as it was. The
last test starts the real ``grader lab`` (a subprocess with its own JupyterLab
server), reads the workspace through the server's HTTP API, has nbgrader's
Validate check a notebook there, and stops it as a terminal's Ctrl+C would.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from grader.apps.lab import fetch_assignments, released_assignments, workspace_path
from grader.cli import main
from grader.course import DEFAULT_ROOT, Course, CourseError
from grader.samples import SEED_STYLE, fill_blanks
from tests.support.course import copy_course

STARTUP_SECONDS = 120


def tree_digest(folder):
    """{relative path: sha256} of every file under ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_second_start_keeps_the_students_work_and_the_committed_release_is_untouched(tmp_path):
    course = Course()
    release_before = tree_digest(course.release)
    workspace = tmp_path / "gmm-em"

    first = fetch_assignments(course, workspace)
    assert sorted(first) == released_assignments(course) == course.assignments
    for assignment_id, fetched in first.items():
        assert fetched.new and fetched.path == workspace / assignment_id
        assert tree_digest(fetched.path) == tree_digest(course.release / assignment_id)
    # Everything nbgrader's fetch would copy, and nothing of the release folder's own (its README).
    assert sorted(p.name for p in workspace.iterdir()) == course.assignments

    # The student's work: an edited notebook, an own file, a deleted data file.
    mine = workspace / "01_em_1d" / "01_em_1d.ipynb"
    filled = fill_blanks(nbformat.read(mine, as_version=4), SEED_STYLE["01_em_1d"])
    nbformat.write(filled, mine)
    edited = mine.read_bytes()
    (workspace / "02_em_2d" / "scratch.py").write_text("print('my experiment')\n")
    (workspace / "06_model_selection" / "old_faithful.csv").unlink()

    second = fetch_assignments(course, workspace)
    assert mine.read_bytes() == edited
    assert (workspace / "02_em_2d" / "scratch.py").read_text() == "print('my experiment')\n"
    assert second["06_model_selection"].copied == ["old_faithful.csv"]
    assert (workspace / "06_model_selection" / "old_faithful.csv").read_bytes() == (
        course.release / "06_model_selection" / "old_faithful.csv"
    ).read_bytes()
    assert all(not fetched.new for fetched in second.values())
    assert all(not fetched.copied for name, fetched in second.items() if name != "06_model_selection")

    assert tree_digest(course.release) == release_before


def test_an_assignment_released_later_is_added_beside_the_students_work(tmp_path):
    course = Course(copy_course(tmp_path / "course"))
    later = course.release / "08_kmeans_limit"
    held_back = tmp_path / "held-back"
    shutil.move(later, held_back)
    workspace = tmp_path / "workspace"

    assert "08_kmeans_limit" not in fetch_assignments(course, workspace)
    mine = workspace / "07_elbo" / "07_elbo.ipynb"
    mine.write_text(mine.read_text().replace("###", "0.0", 1))
    edited = mine.read_bytes()

    shutil.move(held_back, later)
    fetched = fetch_assignments(course, workspace)
    assert fetched["08_kmeans_limit"].new
    assert tree_digest(workspace / "08_kmeans_limit") == tree_digest(later)
    assert mine.read_bytes() == edited


def test_default_workspace_is_home_course_id_and_nbgrader_settings_apply(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert workspace_path(Course()) == tmp_path / "home" / "gmm-em"

    course = Course(copy_course(tmp_path / "course"))
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(
            f"c.Exchange.assignment_dir = {str(tmp_path / 'configured')!r}\nc.Exchange.path_includes_course = True\n"
        )
    assert workspace_path(course) == tmp_path / "configured"
    fetched = fetch_assignments(course, assignments=["01_em_1d"])
    # Where nbgrader's fetch_assignment puts it with path_includes_course: <assignment_dir>/<course_id>/<id>.
    assert fetched["01_em_1d"].path == tmp_path / "configured" / "gmm-em" / "01_em_1d"
    assert (fetched["01_em_1d"].path / "01_em_1d.ipynb").is_file()
    # --workspace outranks the configuration.
    assert workspace_path(course, tmp_path / "flag") == tmp_path / "flag"

    # With nbgrader's replace_missing_files turned off, a fetched assignment is left exactly as the student has it.
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write("c.ExchangeFetchAssignment.replace_missing_files = False\n")
    (fetched["01_em_1d"].path / "01_em_1d.ipynb").unlink()
    again = fetch_assignments(course, assignments=["01_em_1d"])
    assert again["01_em_1d"] == (fetched["01_em_1d"].path, False, [])
    assert not (fetched["01_em_1d"].path / "01_em_1d.ipynb").exists()


def test_a_workspace_inside_the_release_is_refused(tmp_path, capsys):
    course = Course()
    with pytest.raises(CourseError, match="release"):
        workspace_path(course, course.release)
    with pytest.raises(CourseError, match="release"):
        fetch_assignments(course, course.release / "01_em_1d")
    assert main(["lab", "--workspace", str(course.release), "--fetch-only"]) == 2
    assert "outside it" in capsys.readouterr().err


def test_grader_release_keeps_the_hand_written_notebooks_readme(tmp_path):
    course = Course(copy_course(tmp_path / "course"))
    readme = (course.release / "README.md").read_bytes()
    assert readme == (DEFAULT_ROOT / "notebooks" / "README.md").read_bytes()
    assert main(["--course", str(course.root), "release", "01_em_1d"]) == 0
    assert (course.release / "README.md").read_bytes() == readme


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_grader_lab_serves_the_workspace_with_validate(tmp_path):
    course = Course(copy_course(tmp_path / "course"))
    release_before = tree_digest(course.release)
    workspace = tmp_path / "my work"
    # A student's earlier session: notebook 01 answered, in the workspace.
    main(["--course", str(course.root), "lab", "--workspace", str(workspace), "--fetch-only"])
    mine = workspace / "01_em_1d" / "01_em_1d.ipynb"
    nbformat.write(fill_blanks(nbformat.read(mine, as_version=4), SEED_STYLE["01_em_1d"]), mine)

    port, token = free_loopback_port(), "student-workspace-test"
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
    )
    log_path = tmp_path / "lab.log"
    argv = [
        sys.executable,
        "-m",
        "grader",
        "--course",
        str(course.root),
        "lab",
        "--workspace",
        str(workspace),
        "--port",
        str(port),
        "--no-browser",
    ]
    with open(log_path, "w") as log:
        # Its own session: the stop below signals grader and its server together, as a terminal's Ctrl+C does.
        lab = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def request(path, data=None):
        call = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=data, headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(call, timeout=300) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                request("/api/status")
                break
            except OSError:
                if lab.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"grader lab did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)

        root = request("/api/contents")
        assert sorted(item["name"] for item in root["content"]) == course.assignments
        served = request("/api/contents/01_em_1d/01_em_1d.ipynb?content=1")
        assert [cell["source"] for cell in served["content"]["cells"]] == [
            cell.source for cell in nbformat.read(mine, as_version=4).cells
        ]

        # Validate, as the toolbar button calls it, on the workspace's notebook (answered: it passes) and on an
        # untouched one (it fails): nbgrader finds the course's configuration and the workspace's files.
        answered = request("/assignments/validate", json.dumps({"path": "01_em_1d/01_em_1d.ipynb"}).encode())
        assert answered["success"], answered
        assert not any(answered["value"].get(key) for key in ("failed", "changed", "passed")), answered["value"]
        untouched = request("/assignments/validate", json.dumps({"path": "02_em_2d/02_em_2d.ipynb"}).encode())
        assert untouched["success"] and untouched["value"].get("failed"), untouched
    finally:
        os.killpg(lab.pid, signal.SIGINT)
        try:
            status = lab.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
            raise
    assert status == 0, log_path.read_text()[-3000:]
    # The server is gone with grader: nothing of the session is left listening.
    with pytest.raises(OSError):
        request("/api/status")
    log = log_path.read_text()
    assert f"fetched 01_em_1d into {workspace / '01_em_1d'}" not in log  # fetched before, kept
    assert f"your workspace: {workspace}" in log
    assert tree_digest(course.release) == release_before


def section(text, heading):
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_both_readmes_give_the_student_the_same_install_without_test_tools():
    course_readme = section((DEFAULT_ROOT / "README.md").read_text(), "For students")
    notebooks_readme = section((DEFAULT_ROOT / "notebooks" / "README.md").read_text(), "How to open them")
    blocks = [
        text[text.index("```bash\n") : text.index("```\n", text.index("```bash\n") + 8)]
        for text in (course_readme, notebooks_readme)
    ]
    assert blocks[0] == blocks[1]
    assert "pip install -e .  " in blocks[0] and "[test]" not in blocks[0] and "\ngrader lab" in blocks[0]
    assert "jupyter lab notebooks" not in notebooks_readme
