"""Intake of a class's input (issue 13, items 3, 4, 5, 8, 9), through real ``grader autograde`` runs.

Two small classes of 01_em_1d are graded once each: a folder (real symbolic
links to the solution, to another student's notebook and in place of a
student's and an assignment's folder, a pipe named as a notebook, a notebook
above the configured size limit, one whose nbgrader metadata was stripped, an
assignment folder without a notebook), graded again with stray files beside
and inside it, and a zip built with zipfile (symlink members through
external_attr, a real zip bomb: 1 GiB of one byte deflated to about 1 MB,
named as a notebook, a notebook compressed beyond the ratio limit, a large
non-notebook member). Only two submissions are executed in the first and one
in the second; the rest are refused before anything runs. Whole-input errors
(missing, empty, no notebook in the layout, a zip beyond its limits) go
through the CLI: one line naming the path, exit 2, nothing created.
"""

import contextlib
import csv
import os
import resource
import shutil
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader.pipeline.autograde import autograde
from grader.samples import SEED_STYLE, fill_blanks
from tests.support.course import CourseCopy, copy_course

ASSIGNMENT = "01_em_1d"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
MIB = 2**20
#: The folder class is graded with notebooks limited to this (MiB), its "big" student above it.
FOLDER_LIMIT_MB = 1


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def by_student(rows):
    found = {}
    for row in rows:
        found.setdefault(row["student_id"], []).append(row)
    return found


def full_marks(rows):
    return bool(rows) and all(r["grade_id"] and r["score"] == r["max_score"] for r in rows)


def zeros_noted(rows, note):
    """Every graded cell of the student is scored 0 and carries ``note`` (first of its "; "-separated notes)."""
    return bool(rows) and all(
        r["grade_id"] and float(r["score"]) == 0 and r["note"].split(" ")[0] == note for r in rows
    )


@contextlib.contextmanager
def configured(course, **intake):
    """Within the block, the course's nbgrader_config.py has these ``c.Intake`` settings."""
    config = course.root / "nbgrader_config.py"
    original = config.read_text()
    config.write_text(original + "".join(f"\nc.Intake.{name} = {value!r}" for name, value in intake.items()) + "\n")
    try:
        yield
    finally:
        config.write_text(original)


def write_notebook(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def link_member(archive, name, target):
    """A symlink member as zip and Info-ZIP write it: the link's mode in external_attr, its target as content."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: external_attr holds st_mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, target)


def repeated_member(archive, name, size, byte=b" "):
    """A member of ``size`` bytes of one byte, deflated as it is written (never held in memory)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    chunk = byte * min(size, 16 * MIB)
    with archive.open(info, "w", force_zip64=size > 2**31) as handle:
        for _ in range(size // len(chunk)):
            handle.write(chunk)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return CourseCopy(copy_course(tmp_path_factory.mktemp("intake") / "course"))


@pytest.fixture(scope="module")
def correct(course):
    return fill_blanks(course.release_notebook(ASSIGNMENT), SEED_STYLE[ASSIGNMENT])


@pytest.fixture(scope="module")
def folder_run(course, correct, tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    top = root / "class"
    students = top / "download"
    alice = students / "alice" / ASSIGNMENT / NOTEBOOK
    write_notebook(alice, correct)

    (students / "mallory" / ASSIGNMENT).mkdir(parents=True)
    (students / "mallory" / ASSIGNMENT / NOTEBOOK).symlink_to(course.solutions / ASSIGNMENT / NOTEBOOK)
    (students / "eve" / ASSIGNMENT).mkdir(parents=True)
    (students / "eve" / ASSIGNMENT / NOTEBOOK).symlink_to(alice)
    (students / "bob").symlink_to(students / "alice", target_is_directory=True)
    (students / "linus" / ASSIGNMENT).mkdir(parents=True)
    os.link(course.solutions / ASSIGNMENT / NOTEBOOK, students / "linus" / ASSIGNMENT / NOTEBOOK)
    (students / "hal" / ASSIGNMENT).mkdir(parents=True)
    os.link(alice, students / "hal" / ASSIGNMENT / NOTEBOOK)
    (students / "trudy").mkdir()
    (students / "trudy" / ASSIGNMENT).symlink_to(students / "alice" / ASSIGNMENT, target_is_directory=True)

    stripped = nbformat.from_dict(correct)  # cells copied into a new notebook: ids kept, nbgrader metadata lost
    for cell in stripped.cells:
        cell.metadata.pop("nbgrader", None)
    write_notebook(students / "stripped" / ASSIGNMENT / NOTEBOOK, stripped)

    big = nbformat.from_dict(correct)
    big.cells.append(nbformat.v4.new_markdown_cell("x" * (2 * MIB)))
    write_notebook(students / "big" / ASSIGNMENT / NOTEBOOK, big)

    (students / "nobook" / ASSIGNMENT).mkdir(parents=True)
    (students / "nobook" / ASSIGNMENT / "answers.txt").write_text("I could not open Jupyter.\n")
    (students / "piper" / ASSIGNMENT).mkdir(parents=True)
    os.mkfifo(students / "piper" / ASSIGNMENT / NOTEBOOK)  # reading it would wait forever

    with configured(course, max_notebook_mb=FOLDER_LIMIT_MB):
        run = autograde(top, root / "out", course=course, workers=2)
    return top, root / "out", run, by_student(read_csv(root / "out" / "grades.csv"))


@pytest.fixture(scope="module")
def zip_run(course, correct, tmp_path_factory):
    root = tmp_path_factory.mktemp("zip")
    archive = root / "class.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(f"download/alice/{ASSIGNMENT}/{NOTEBOOK}", nbformat.writes(correct))
        repeated_member(handle, f"download/alice/{ASSIGNMENT}/recording.bin", 64 * MIB, b"\0")
        link_member(
            handle, f"download/mallory/{ASSIGNMENT}/{NOTEBOOK}", f"../../../../solutions/{ASSIGNMENT}/{NOTEBOOK}"
        )
        link_member(handle, "download/bob", "alice")
        repeated_member(handle, f"download/bomb/{ASSIGNMENT}/{NOTEBOOK}", 2**30)
        repeated_member(handle, f"download/squeezed/{ASSIGNMENT}/{NOTEBOOK}", 8 * MIB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    run = autograde(archive, root / "out", course=course, workers=2)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return archive, root / "out", run, by_student(read_csv(root / "out" / "grades.csv")), grown


# --- item 5: layout detection ------------------------------------------------------------------------------------


def test_a_stray_file_beside_the_class_folder_changes_nothing(folder_run, course, tmp_path):
    top, out, first, _students = folder_run
    assert first.failures == {}
    again, copy = tmp_path / "class", tmp_path / "out"

    def pipes(folder, names):
        return [n for n in names if stat.S_ISFIFO(os.lstat(os.path.join(folder, n)).st_mode)]

    shutil.copytree(top, again, symlinks=True, ignore=pipes)
    os.mkfifo(again / "download" / "piper" / ASSIGNMENT / NOTEBOOK)
    for student, original in (("linus", course.solutions), ("hal", again / "download" / "alice")):
        (again / "download" / student / ASSIGNMENT / NOTEBOOK).unlink()  # copytree copied the hard links' content
        os.link(original / ASSIGNMENT / NOTEBOOK, again / "download" / student / ASSIGNMENT / NOTEBOOK)
    shutil.copytree(out, copy)
    (again / "README.txt").write_text("Downloaded from the LMS.\n")
    (again / "download" / "notes.txt").write_text("late: alice\n")

    with configured(course, max_notebook_mb=FOLDER_LIMIT_MB):
        run = autograde(again, copy, course=course, workers=2)

    assert run.graded == [] and sorted(run.skipped) == sorted(first.graded)  # nothing ignored, nothing redone
    assert read_csv(copy / "grades.csv") == read_csv(out / "grades.csv")
    assert not [p for p in run.problems if p.path.name.endswith(".txt")]


# --- item 3: symlinks ----------------------------------------------------------------------------------------------


def test_a_notebook_linked_to_the_solution_is_refused_with_a_row(folder_run, course):
    _top, _out, run, students = folder_run
    assert zeros_noted(students["mallory"], "symlink"), students["mallory"]
    (problem,) = [p for p in run.problems if p.student_id == "mallory"]
    assert problem.note == "symlink" and str(course.solutions / ASSIGNMENT / NOTEBOOK) in problem.message


def test_a_notebook_linked_to_another_students_is_refused_and_the_other_keeps_their_grade(folder_run):
    _top, _out, _run, students = folder_run
    assert zeros_noted(students["eve"], "symlink"), students["eve"]
    assert full_marks(students["alice"])


def test_a_hard_link_to_the_solution_is_refused_unread(folder_run, course):
    _top, _out, run, students = folder_run
    assert zeros_noted(students["linus"], "hard-link"), students["linus"]
    (problem,) = [p for p in run.problems if p.student_id == "linus"]
    assert str(course.solutions / ASSIGNMENT / NOTEBOOK) in problem.message


def test_two_students_holding_one_file_are_graded_and_each_told_of_the_other(folder_run):
    _top, _out, run, students = folder_run
    assert full_marks(students["hal"]) and full_marks(students["alice"])
    shared = {p.student_id: p.message for p in run.problems if p.note == "shared-file"}
    assert set(shared) == {"alice", "hal"}, shared
    assert f"hal/{ASSIGNMENT}/{NOTEBOOK}" in shared["alice"] and f"alice/{ASSIGNMENT}/{NOTEBOOK}" in shared["hal"]


def test_a_pipe_in_place_of_a_notebook_is_refused_not_read(folder_run):
    _top, _out, _run, students = folder_run
    assert zeros_noted(students["piper"], "not-a-file"), students["piper"]


def test_a_linked_student_or_assignment_folder_is_a_row_not_dropped(folder_run):
    _top, _out, run, students = folder_run
    assert [r["note"] for r in students["bob"]] == ["symlink: bob"]
    assert any(p.student_id == "bob" and p.note == "symlink" and "not graded" in p.message for p in run.problems)
    assert zeros_noted(students["trudy"], "symlink"), students["trudy"]


def test_symlink_members_of_a_zip_are_refused_with_rows(zip_run):
    _archive, _out, _run, students, _grown = zip_run
    assert full_marks(students["alice"]), students["alice"]
    assert zeros_noted(students["mallory"], "symlink"), students["mallory"]
    assert [r["note"] for r in students["bob"]] == ["symlink: bob"]


# --- item 4: zip bombs and size limits --------------------------------------------------------------------------


def test_a_zip_bomb_named_as_a_notebook_is_refused_unread_and_nothing_is_extracted(zip_run):
    archive, out, run, students, grown = zip_run
    assert archive.stat().st_size < 4 * MIB  # the bomb: 1 GiB in about 1 MB
    assert zeros_noted(students["bomb"], "too-large"), students["bomb"]
    (message,) = [p.message for p in run.problems if p.student_id == "bomb"]
    assert "1024.0 MiB" in message and "c.Intake.max_notebook_mb" in message
    assert grown < 512 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB"
    assert not (out / ".scratch").exists()
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert written < 32 * MIB, f"{written / MIB:.0f} MiB written into the output folder"


def test_a_member_compressed_beyond_the_ratio_is_refused(zip_run):
    _archive, _out, run, students, _grown = zip_run
    assert zeros_noted(students["squeezed"], "compression-ratio"), students["squeezed"]
    (message,) = [p.message for p in run.problems if p.student_id == "squeezed"]
    assert "c.Intake.max_zip_ratio" in message


def test_a_notebook_above_the_configured_limit_is_refused_before_it_is_read(folder_run):
    _top, _out, run, students = folder_run
    assert zeros_noted(students["big"], "too-large"), students["big"]
    (message,) = [p.message for p in run.problems if p.student_id == "big"]
    assert f"more than the {FOLDER_LIMIT_MB} MiB" in message


# --- item 9: stripped nbgrader metadata ----------------------------------------------------------------------------


def test_cells_with_stripped_metadata_are_matched_by_id_and_graded(folder_run):
    _top, _out, _run, students = folder_run
    rows = students["stripped"]
    assert full_marks(rows), rows
    assert all(r["note"].startswith("metadata-restored") and "missing-cell" not in r["note"] for r in rows)


# --- item 8: empty input -----------------------------------------------------------------------------------------


def test_an_assignment_folder_without_a_notebook_is_graded_missing(folder_run):
    _top, _out, _run, students = folder_run
    assert zeros_noted(students["nobook"], "missing-notebook"), students["nobook"]


def grader_cli(course_root, *args):
    return subprocess.run(
        [sys.executable, "-m", "grader", "--course", str(course_root), "autograde", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def one_error_line(result, *words):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error"), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def small_zip_course(tmp_path_factory):
    """A course whose zips may hold 3 members and 1 MiB (nothing of it is released or graded)."""
    course = CourseCopy(copy_course(tmp_path_factory.mktemp("limits") / "course"))
    with configured(course, max_zip_members=3, max_zip_mb=1):
        yield course


def test_whole_input_errors_are_one_line_exit_2_before_anything_is_created(course, small_zip_course, tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "nowhere"
    one_error_line(grader_cli(course.root, missing, "--out", out), str(missing), "no such file or folder")
    assert not out.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(grader_cli(course.root, empty, "--out", out), str(empty), "no notebook")

    without = tmp_path / "without"  # students' folders, no notebook in any
    for student in ("alice", "bob"):
        (without / student / ASSIGNMENT).mkdir(parents=True)
    (without / "bob" / ASSIGNMENT / "answers.txt").write_text("42\n")
    one_error_line(grader_cli(course.root, without, "--out", out), str(without), "no notebook", "answers.txt")

    flat = tmp_path / "flat"  # notebooks, none in the layout
    flat.mkdir()
    (flat / NOTEBOOK).write_text(nbformat.writes(nbformat.v4.new_notebook()))
    (flat / "README.txt").write_text("x")
    one_error_line(
        grader_cli(course.root, flat, "--out", out),
        str(flat),
        "<student_id>/<assignment_id>/<notebook>.ipynb",
        f"'{NOTEBOOK}'",
        "'README.txt'",
        "--assignment",
    )

    lms = tmp_path / "lms"  # an LMS download whose names the collector cannot read
    lms.mkdir()
    (lms / "alice-final.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    one_error_line(
        grader_cli(course.root, lms, "--out", out, "--assignment", ASSIGNMENT),
        str(lms),
        "collector pattern",
        "alice-final.ipynb",
    )

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as handle:
        for student in ("a", "b", "c", "d"):
            handle.writestr(f"{student}/{ASSIGNMENT}/{NOTEBOOK}", "{}")
    one_error_line(
        grader_cli(small_zip_course.root, many, "--out", out), str(many), "4 members", "c.Intake.max_zip_members"
    )

    large = tmp_path / "large.zip"
    with zipfile.ZipFile(large, "w", zipfile.ZIP_DEFLATED) as handle:
        repeated_member(handle, f"a/{ASSIGNMENT}/data.bin", 2 * MIB)
        handle.writestr(f"a/{ASSIGNMENT}/{NOTEBOOK}", "{}")
    one_error_line(grader_cli(small_zip_course.root, large, "--out", out), str(large), "c.Intake.max_zip_mb")

    assert not out.exists()  # no output folder, so no gradebook, no submitted/ or autograded/ left behind
