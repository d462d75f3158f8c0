"""Faults the instructor meets, through real ``autograde`` runs: nothing graded is lost, nothing vouched for wrongly.

One small class (a correct student, a mistaken one, and one whose id nbgrader
cannot score) is graded into one output folder; the tests then damage that
folder the way an instructor's machine does (an emptied or corrupted
gradebook, a second run on the same folder) and re-run the real pipeline.
"""

import csv
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import filelock
import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.pipeline.autograde import autograde, gradebook_url
from grader.pipeline.errors import OutputError
from grader.samples import MUTANTS, SEED_STYLE, fill_blanks
from tests.support.course import CourseCopy, copy_course

ASSIGNMENT = "01_em_1d"
#: nbgrader's scoring raises on a student id with a leading space (its gradebook strips it, its paths do not).
UNSCORABLE = " carol"


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def scores(rows):
    return {(r["student_id"], r["grade_id"]): r["score"] for r in rows if r["grade_id"]}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    course = CourseCopy(copy_course(root / "course"))
    release = course.release_notebook(ASSIGNMENT)
    mistake = next(s for s in MUTANTS if s.assignment_id == ASSIGNMENT and s.misconception == "sigma-is-variance")
    submissions = root / "class"
    for student_id, nb in (
        ("alice", fill_blanks(release, SEED_STYLE[ASSIGNMENT])),
        ("bob", mistake.notebook(release)),
        (UNSCORABLE, fill_blanks(release, SEED_STYLE[ASSIGNMENT])),
    ):
        (submissions / student_id / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, submissions / student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    out = root / "out"
    run = autograde(submissions, out, course=course, workers=2)
    return course, submissions, out, run, read_csv(out / "grades.csv")


def test_a_submission_nbgrader_cannot_score_is_reported_with_its_cause_and_retried(first_run):
    course, submissions, out, run, rows = first_run
    key = (UNSCORABLE, ASSIGNMENT)
    assert key in run.failures, run.failures
    assert "see the above traceback" not in run.failures[key].lower()
    assert "carol" in run.failures[key], f"the cause names what failed: {run.failures[key]}"
    noted = [r for r in rows if r["student_id"] == UNSCORABLE]
    assert noted and all(r["note"].startswith("grading-error (") for r in noted), noted
    assert {r["score"] for r in noted} <= {""}, "a failed grading is not a zero"
    again = autograde(submissions, out, course=course, workers=2)
    assert key in again.graded and key not in again.skipped, "a failed grading is retried on the next run"
    assert ("alice", ASSIGNMENT) in again.skipped


def test_an_emptied_gradebook_is_regraded_not_reported_as_not_graded(first_run):
    course, submissions, out, _run, rows = first_run
    before = scores(rows)
    assert before[("alice", "test_sigma")] == "2.0" and before[("bob", "test_sigma")] == "0.0"
    os.truncate(out / "gradebook.db", 0)
    run = autograde(submissions, out, course=course, workers=2)
    assert {("alice", ASSIGNMENT), ("bob", ASSIGNMENT)} <= set(run.regraded)
    after = read_csv(out / "grades.csv")
    assert not [r for r in after if r["note"] == "not-graded"]
    assert {k: v for k, v in scores(after).items() if k[0] != UNSCORABLE} == {
        k: v for k, v in before.items() if k[0] != UNSCORABLE
    }


def grader_cli(course, *args):
    return subprocess.run(
        [sys.executable, "-m", "grader", "--course", str(course.root), *map(str, args)],
        cwd=course.root,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_second_run_on_the_same_output_is_refused_with_a_clear_message(first_run):
    course, submissions, out, _run, _rows = first_run
    csv_before = (out / "grades.csv").read_bytes()
    with filelock.FileLock(out / ".grader.lock"):  # another run holds the folder
        with pytest.raises(OutputError, match="being graded by another run"):
            autograde(submissions, out, course=course, workers=1)
        result = grader_cli(course, "autograde", submissions, "--out", out)
    assert result.returncode == 2, result.stderr
    assert "being graded by another run" in result.stderr and str(out) in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert (out / "grades.csv").read_bytes() == csv_before


def test_a_corrupted_gradebook_is_one_line_naming_the_file_and_nothing_is_changed(first_run, tmp_path):
    course, submissions, _out, _run, _rows = first_run
    broken = tmp_path / "out"
    broken.mkdir()
    (broken / "gradebook.db").write_bytes(b"this is not a database, it was overwritten by a sync tool" * 100)
    result = grader_cli(course, "autograde", submissions, "--out", broken)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "gradebook.db" in message and "cannot be used" in message and "Traceback" not in message, message
    assert (broken / "gradebook.db").read_bytes().startswith(b"this is not a database")


def test_an_unwritable_output_folder_is_one_line(first_run, tmp_path):
    course, submissions, _out, _run, _rows = first_run
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = grader_cli(course, "autograde", submissions, "--out", blocker / "out")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "cannot create the output folder" in message and "Traceback" not in message, message


# --- a real PostgreSQL gradebook -----------------------------------------------------------------------------

POSTGRES_BIN = Path("/usr/lib/postgresql")


def _postgres_tools():
    found = sorted(POSTGRES_BIN.glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of Debian's ``postgresql`` package on a free loopback port, for this module only."""
    tools = _postgres_tools()
    if tools is None or importlib.util.find_spec("psycopg") is None:
        pytest.skip("needs Debian's postgresql package and psycopg (pip install -e '.[postgres]')")
    # not under pytest's tmp folder: its parents are private to root, and the server runs as postgres
    data = Path(tempfile.mkdtemp(prefix="grader-postgres-"))
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        [*as_user, tools / "initdb", "-D", data / "db", "-U", "grader", "--auth=trust"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *as_user,
            tools / "pg_ctl",
            "-D",
            data / "db",
            "-l",
            data / "log",
            "-w",
            "start",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://grader@127.0.0.1:{port}/postgres", port
    finally:
        subprocess.run([*as_user, tools / "pg_ctl", "-D", data / "db", "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_a_real_postgresql_gradebook_gives_the_sqlite_grades(first_run, postgres, tmp_path):
    course, submissions, _out, _run, rows = first_run
    url, _port = postgres
    run = autograde(submissions, tmp_path / "out", course=course, workers=2, db_url=url)
    assert set(run.failures) <= {(UNSCORABLE, ASSIGNMENT)}
    with_postgres = read_csv(tmp_path / "out" / "grades.csv")
    assert {k: v for k, v in scores(with_postgres).items() if k[0] != UNSCORABLE} == {
        k: v for k, v in scores(rows).items() if k[0] != UNSCORABLE
    }
    with Gradebook(gradebook_url(url)) as gradebook:  # the grades are in the server, not in a file
        assert gradebook.find_submission(ASSIGNMENT, "alice").score > 0


def test_an_unreachable_database_is_one_line_naming_the_url(first_run, postgres, tmp_path):
    course, submissions, _out, _run, _rows = first_run
    _url, port = postgres
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = grader_cli(
        course,
        "autograde",
        submissions,
        "--out",
        tmp_path / "out",
        "--db",
        f"postgresql://grader:secret@127.0.0.1:{closed}/postgres",
    )
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"127.0.0.1:{closed}" in message and "secret" not in message and "Traceback" not in message, message
    assert port != closed


# --- a full disk, a killed grader ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real tmpfs of 3 MiB (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)


def test_a_full_disk_is_one_line_and_a_rerun_with_space_completes_the_grades(first_run, small_disk):
    course, submissions, _out, _run, rows = first_run
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (2 * 2**20))  # most of the disk is taken
    out = small_disk / "out"
    result = grader_cli(course, "autograde", submissions, "--out", out)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "No space left on device" in message and "Traceback" not in message, message
    assert not list(out.rglob("*.tmp")), "no half-written ledger is left"
    ballast.unlink()
    subprocess.run(["mount", "-o", "remount,size=64m", small_disk], check=True)
    result = grader_cli(course, "autograde", submissions, "--out", out)
    assert result.returncode == 0, result.stderr
    assert {k: v for k, v in scores(read_csv(out / "grades.csv")).items() if k[0] != UNSCORABLE} == {
        k: v for k, v in scores(rows).items() if k[0] != UNSCORABLE
    }


def test_a_killed_grader_leaves_no_process_behind(first_run, tmp_path):
    psutil = pytest.importorskip("psutil")
    course, submissions, _out, _run, _rows = first_run
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "--course",
            str(course.root),
            "autograde",
            str(submissions),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "2",
        ],
        cwd=course.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(grader.pid)
    helpers = []
    deadline = time.monotonic() + 300
    # wait until the feedback renderer (a spawned multiprocessing child) is running beside the workers
    while time.monotonic() < deadline and grader.poll() is None:
        helpers = parent.children(recursive=True)
        if any("multiprocessing" in " ".join(p.cmdline()) for p in helpers if p.is_running()):
            break
        time.sleep(0.2)
    assert grader.poll() is None, "the run ended before its helpers could be seen"
    grader.kill()
    grader.wait()
    _gone, alive = psutil.wait_procs(helpers, timeout=15)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]


def test_an_unreachable_dask_scheduler_is_one_line_naming_it(first_run, tmp_path):
    course, submissions, _out, _run, _rows = first_run
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    started = time.monotonic()
    result = grader_cli(
        course, "autograde", submissions, "--out", tmp_path / "out", "--scheduler", f"tcp://127.0.0.1:{closed}"
    )
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"tcp://127.0.0.1:{closed}" in message and "Traceback" not in message, message
    assert time.monotonic() - started < 120


def test_a_database_url_whose_driver_is_missing_is_one_line(first_run, tmp_path):
    course, submissions, _out, _run, _rows = first_run
    result = grader_cli(
        course, "autograde", submissions, "--out", tmp_path / "out", "--db", "mysql://grader@127.0.0.1/course"
    )  # SQLAlchemy's mysql driver is not installed
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "driver is not installed" in message and "mysql://grader@127.0.0.1/course" in message, message
    assert "Traceback" not in message
