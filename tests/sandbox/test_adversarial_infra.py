"""Hostile submissions through a REAL ``autograde`` run: each is contained, noted, and spares the others.

One class holds two honest students and one student per attack, graded in
a single run with short limits. Attacks that try to escape (write, read,
connect) print what happened, so the tests also see that the attempt ran.
"""

import csv
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.pipeline.autograde import autograde
from grader.pipeline.ledger import LEDGER
from grader.runtime import sandbox
from grader.samples import SEED_STYLE, fill_blanks
from tests.support.course import CourseCopy, copy_course

ASSIGNMENT = "01_em_1d"
GRADED_CELLS = {"test_estep", "test_mu", "test_sigma", "test_pi", "test_convergence"}
LIMITS = {"cell_timeout": 10, "notebook_timeout": 90, "memory_mb": 3 * 2**10, "output_kb": 2**10}
HONEST = ("honest_a", "honest_b")
STRUCTURAL = ("deletes_test_cell", "deletes_answer_cell", "renames_grade_id")
PROTECTIONS = sandbox.capabilities()


def requires(*protections):
    missing = [p for p in protections if not PROTECTIONS.get(p)]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"sandbox cannot apply {', '.join(missing)} on this machine (needs root and Linux namespaces)",
    )


def prefixed(release, code):
    """The honest submission with ``code`` run at the top of the student's EM cell."""
    nb = fill_blanks(release, SEED_STYLE[ASSIGNMENT])
    cell = next(c for c in nb.cells if c.get("id") == "em_loop")
    cell.source = code + "\n" + cell.source
    return nb


def attempts(**targets):
    """Code that tries each ``name: statement`` and prints ``name: ok`` or ``name: <error>``."""
    lines = []
    for name, statement in targets.items():
        lines += [
            "try:",
            f"    {statement}",
            f"    print('{name}: ok')",
            "except Exception as error:",
            f"    print('{name}:', type(error).__name__)",
        ]
    return "\n".join(lines)


def attacks(paths, port):
    """student id -> code prefixed to the EM cell."""
    return {
        "exits": "import os\nos._exit(3)",
        "loops": "while True:\n    pass",
        # SIGALRM blocked: the in-process cell timeout cannot fire, only the parent's kill ends it
        "sleeps_in_c": "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
        "time.sleep(10**6)",
        "allocates": "import numpy\nhog = numpy.ones(10**11)",
        "floods": "import os, sys\nfrom IPython.display import display, HTML\n"
        "for _ in range(3000):\n    print('x' * 1000)\n"
        "for _ in range(3000):\n    sys.__stdout__.write('y' * 1000)\n    os.write(1, b'z' * 1000)\n"
        "for _ in range(3000):\n    display(HTML('<b>' + 'w' * 1000 + '</b>'))",
        "writes": attempts(
            next_to_gradebook=f"open({str(paths['out'] / 'pwned.txt')!r}, 'w').write('x')",
            gradebook=f"open({str(paths['out'] / 'gradebook.db')!r}, 'a').write('x')",
            solutions=f"open({str(paths['solutions'] / 'pwned.txt')!r}, 'w').write('x')",
            other_student=f"open({str(paths['out'] / 'submitted' / HONEST[0] / ASSIGNMENT / 'pwned.txt')!r}, "
            "'w').write('x')",
            course_root=f"open({str(paths['course'] / 'pwned.txt')!r}, 'w').write('x')",
            working_dir="open('scratch.txt', 'w').write('x')",
        ),
        "reads": attempts(
            staged=f"print(len(open({str(paths['out'] / 'submitted' / HONEST[0] / ASSIGNMENT / ASSIGNMENT)!r}"
            " + '.ipynb').read()))",
            submitted=f"print(len(open({str(paths['submissions'] / HONEST[0] / ASSIGNMENT / ASSIGNMENT)!r}"
            " + '.ipynb').read()))",
            solution=f"print(len(open({str(paths['solutions'] / ASSIGNMENT / ASSIGNMENT)!r} + '.ipynb').read()))",
        ),
        "connects": attempts(network=f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=3)"),
    }


def without_cell(nb, cell_id):
    copy = nbformat.from_dict(nb)
    copy.cells = [c for c in copy.cells if c.get("id") != cell_id]
    return copy


def structural(honest):
    """student id -> a notebook whose nbgrader cells were deleted or had their metadata edited."""
    renamed = nbformat.from_dict(honest)
    next(c for c in renamed.cells if c.get("id") == "test_pi").metadata["nbgrader"]["grade_id"] = "free_points"
    return dict(zip(STRUCTURAL, (without_cell(honest, "test_pi"), without_cell(honest, "em_loop"), renamed)))


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_notebook(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = CourseCopy(copy_course(tmp_path_factory.mktemp("adversarial") / "course"))
    course.ensure_released(ASSIGNMENT)
    return course


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """The hostile class graded once; returns (rows by student, paths, listener, autograded folder)."""
    base = tmp_path_factory.mktemp("class")
    paths = {
        "submissions": base / "submissions",
        "out": base / "out",
        "solutions": course.solutions,
        "course": course.root,
    }
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    release = course.release_notebook(ASSIGNMENT)
    honest = fill_blanks(release, SEED_STYLE[ASSIGNMENT])
    folder = paths["submissions"]
    for student in HONEST:
        write_notebook(honest, folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for student, code in attacks(paths, listener.getsockname()[1]).items():
        write_notebook(prefixed(release, code), folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for student, nb in structural(honest).items():
        write_notebook(nb, folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    write_notebook(honest, folder / "renames" / ASSIGNMENT / "my_em_answers.ipynb")
    broken = folder / "breaks_json" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [')

    autograde(folder, paths["out"], course=course, workers=2, **LIMITS)

    rows = {}
    for row in read_csv(paths["out"] / "grades.csv"):
        rows.setdefault(row["student_id"], []).append(row)
    yield rows, paths, listener, paths["out"] / "autograded"
    listener.close()


def scores(rows):
    return {row["grade_id"]: float(row["score"] or 0) for row in rows}


def full_marks(rows):
    return {row["grade_id"]: float(row["max_score"]) for row in rows}


def notes(rows):
    return {row["note"] for row in rows}


def cell_text(autograded, student, cell_id):
    nb = nbformat.read(autograded / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs)


def test_every_submission_has_a_row_per_graded_cell(graded):
    rows, *_ = graded
    expected = {
        *HONEST,
        *attacks({"out": Path(), "solutions": Path(), "course": Path(), "submissions": Path()}, 0),
        *STRUCTURAL,
        "renames",
        "breaks_json",
    }
    assert set(rows) == expected
    for student, student_rows in rows.items():
        assert {r["grade_id"] for r in student_rows} == GRADED_CELLS, student


def test_honest_students_keep_full_marks(graded):
    rows, *_ = graded
    for student in HONEST:
        assert scores(rows[student]) == full_marks(rows[student]), student
        assert notes(rows[student]) == {""}, student


@pytest.mark.parametrize(
    "student, note",
    [
        ("exits", "kernel-died"),
        ("loops", "timeout"),
        ("sleeps_in_c", "timeout"),
        ("allocates", "memory"),
        ("breaks_json", "invalid-notebook"),
    ],
)
def test_crash_hang_and_memory_score_zero_with_their_reason(graded, student, note):
    rows, *_ = graded
    assert set(scores(rows[student]).values()) == {0.0}, rows[student]
    assert notes(rows[student]) == {note}


def test_deleted_or_relabelled_grading_cells_are_noted(graded):
    rows, *_ = graded
    # whether the deleted test still scores is the verifier's call (it recomputes EM cells out of the kernel)
    kept = {grade_id: score for grade_id, score in scores(rows["deletes_test_cell"]).items() if grade_id != "test_pi"}
    assert kept == {
        grade_id: score for grade_id, score in full_marks(rows["deletes_test_cell"]).items() if grade_id != "test_pi"
    }
    assert notes(rows["deletes_test_cell"]) == {"missing-cell (test_pi)"}
    assert set(scores(rows["deletes_answer_cell"]).values()) == {0.0}
    assert notes(rows["deletes_answer_cell"]) == {"missing-cell (em_loop)"}
    assert set(scores(rows["renames_grade_id"]).values()) == {0.0}
    assert {note.split(" ")[0] for note in notes(rows["renames_grade_id"])} == {"tampered"}


def test_renamed_notebook_is_graded_under_its_expected_name(graded):
    rows, *_ = graded
    assert scores(rows["renames"]) == full_marks(rows["renames"])
    assert notes(rows["renames"]) == {"renamed-notebook (submitted as my_em_answers.ipynb)"}


def test_output_flood_is_capped_and_noted_without_costing_earned_marks(graded):
    rows, _paths, _listener, autograded = graded
    assert notes(rows["floods"]) == {"output-limit"}
    assert scores(rows["floods"]) == full_marks(rows["floods"])
    notebook = autograded / "floods" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert notebook.stat().st_size < 2 * LIMITS["output_kb"] * 2**10 + 2**20


@requires("mount-namespace", "read-only-filesystem", "hidden-paths", "capabilities-dropped")
def test_writes_outside_the_working_directory_fail_and_leave_no_file(graded):
    rows, paths, _listener, autograded = graded
    report = cell_text(autograded, "writes", "em_loop")
    for target in ("next_to_gradebook", "gradebook", "solutions", "other_student", "course_root"):
        assert f"{target}: ok" not in report and f"{target}: " in report, report
    assert "working_dir: ok" in report
    assert not (paths["out"] / "pwned.txt").exists()
    assert not (paths["solutions"] / "pwned.txt").exists()
    assert not (paths["course"] / "pwned.txt").exists()
    assert not (paths["out"] / "submitted" / HONEST[0] / ASSIGNMENT / "pwned.txt").exists()
    assert sqlite3.connect(paths["out"] / "gradebook.db").execute("pragma integrity_check").fetchone() == ("ok",)
    assert scores(rows["writes"]) == full_marks(rows["writes"])


@requires("mount-namespace", "hidden-paths")
def test_other_students_work_and_solutions_cannot_be_read(graded):
    _rows, _paths, _listener, autograded = graded
    report = cell_text(autograded, "reads", "em_loop")
    for target in ("staged", "submitted", "solution"):
        assert f"{target}: ok" not in report and f"{target}: " in report, report


@requires("network-namespace")
def test_network_connection_fails(graded):
    _rows, _paths, listener, autograded = graded
    report = cell_text(autograded, "connects", "em_loop")
    assert "network: " in report and "network: ok" not in report, report
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()


def stale_cgroups():
    """Process-limit cgroups whose run's first process no longer exists."""
    stale = []
    for folder, subfolders, _ in os.walk(sandbox.PIDS_CGROUP):
        for name in subfolders:
            if name.startswith("grader-sandbox-") and not os.path.exists(f"/proc/{name.rsplit('-', 1)[1]}"):
                stale.append(os.path.join(folder, name))
    return stale


def ledgers(out):
    return sorted((out / "autograded").glob(f"*/*/{LEDGER}"))


def test_killed_grader_leaves_a_consistent_gradebook_and_a_rerun_completes_it(course, tmp_path):
    release = course.release_notebook(ASSIGNMENT)
    honest = fill_blanks(release, SEED_STYLE[ASSIGNMENT])
    students = [f"student_{i}" for i in range(6)]
    for student in students:
        write_notebook(honest, tmp_path / "class" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "grader",
        "--course",
        str(course.root),
        "autograde",
        str(tmp_path / "class"),
        "--out",
        str(out),
        "--workers",
        "1",
        "--cell-timeout",
        "60",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not ledgers(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(ledgers(out))
    assert 0 < done_before < len(students), "the kill must land midway through the class"

    database = sqlite3.connect(out / "gradebook.db")
    assert database.execute("pragma integrity_check").fetchone() == ("ok",)
    database.close()

    rerun = autograde(tmp_path / "class", out, course=course, workers=1)

    assert len(rerun.skipped) == done_before
    assert len(rerun.graded) == len(students) - done_before
    rows = read_csv(out / "grades.csv")
    assert {r["student_id"] for r in rows} == set(students)
    for student in students:
        mine = [r for r in rows if r["student_id"] == student]
        assert {r["grade_id"] for r in mine} == GRADED_CELLS
        assert scores(mine) == full_marks(mine), student
    if PROTECTIONS["process-limit"]:  # the killed grader's run left its cgroup; the re-run removed it
        assert stale_cgroups() == []


def test_capabilities_name_every_protection():
    assert set(PROTECTIONS) == set(sandbox.PROTECTIONS)
    assert all(isinstance(value, bool) for value in PROTECTIONS.values())
    if os.geteuid() != 0:
        assert not PROTECTIONS["mount-namespace"]
