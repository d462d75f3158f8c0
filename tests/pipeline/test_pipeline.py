"""`grader autograde` end to end: same scores as nbgrader, reports, resumability, Dask, bad input."""

import csv
import filecmp
import json
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from grader.course import read_grades
from grader.em import seed, univariate
from grader.pipeline.autograde import Grader, autograde
from grader.pipeline.report import COLUMNS
from grader.sample_class import build as build_sample_class
from grader.samples import MUTANTS, SEED_STYLE, fill_blanks
from tests.support.course import CourseCopy, copy_course

ASSIGNMENTS = ["01_em_1d", "02_em_2d"]
MISTAKEN = {  # student id -> (assignment, misconception) typed into the blanks
    "m_sigma": ("01_em_1d", "sigma-is-variance"),
    "m_mean": ("01_em_1d", "mean-divided-by-n"),
    "m_scale": ("01_em_1d", "variance-as-scale"),
    "m_loglik": ("02_em_2d", "loglik-wrong"),
    "m_weights": ("02_em_2d", "weights-not-normalised"),
}


def _mutant(assignment_id, misconception):
    return next(s for s in MUTANTS if s.assignment_id == assignment_id and s.misconception == misconception)


def write_class(course, folder):
    """A mixed class in nbgrader's submitted layout: correct, blank and typical mistakes."""
    for assignment_id in ASSIGNMENTS:
        release = course.release_notebook(assignment_id)
        for student_id, nb in (("correct", fill_blanks(release, SEED_STYLE[assignment_id])), ("blank", release)):
            target = folder / student_id / assignment_id
            target.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target / f"{assignment_id}.ipynb")
    for student_id, (assignment_id, misconception) in MISTAKEN.items():
        target = folder / student_id / assignment_id
        target.mkdir(parents=True)
        nbformat.write(
            _mutant(assignment_id, misconception).notebook(course.release_notebook(assignment_id)),
            target / f"{assignment_id}.ipynb",
        )
    return folder


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One class graded by our pipeline and by plain nbgrader from the same notebooks."""
    root = tmp_path_factory.mktemp("pipeline")
    course = CourseCopy(copy_course(root / "course"))
    submissions = write_class(course, root / "class")
    shutil.copytree(submissions, course.root / "submitted")
    plain = {aid: read_grades(course.db_url(), aid) for aid in ASSIGNMENTS if course.plain_autograde(aid) is not None}
    run = autograde(submissions, root / "out", course=course, workers=2)
    return course, submissions, root / "out", run, plain


def test_scores_equal_plain_nbgrader(graded):
    _course, _submissions, out, run, plain = graded
    rows = read_csv(out / "grades.csv")
    ours = {
        (r["student_id"], r["notebook_id"], r["grade_id"]): (float(r["score"]), float(r["max_score"])) for r in rows
    }
    theirs = {key: value for grades in plain.values() for key, value in grades.items()}
    assert ours == theirs
    assert run.failures == {}


def test_grades_csv_has_one_row_per_graded_cell_with_diagnosis(graded):
    course, _submissions, out, _run, _plain = graded
    rows = read_csv(out / "grades.csv")
    assert list(rows[0].keys()) == COLUMNS
    for student_id, (assignment_id, misconception) in MISTAKEN.items():
        mine = [r for r in rows if r["student_id"] == student_id]
        release = course.release_notebook(assignment_id)
        n_graded = sum(1 for c in release.cells if c.metadata.get("nbgrader", {}).get("grade"))
        assert len(mine) == n_graded
        assert any(misconception in r["diagnosis"].split(";") for r in mine), (student_id, mine)
        assert sum(float(r["score"]) for r in mine) < sum(float(r["max_score"]) for r in mine)
    assert all(r["diagnosis"] == "" for r in rows if r["student_id"] == "correct")


def test_feedback_shows_failures_but_no_hidden_tests_or_expected_values(graded):
    _course, _submissions, out, _run, _plain = graded
    problem = seed.problem_1d()
    final_mu, final_sigma, final_pi = univariate.fit(problem.data, *problem.start, problem.n_iterations).final
    expected_numbers = [f"{v:.4f}" for v in (*final_mu, *final_sigma, *final_pi)]

    html = (out / "feedback" / "m_sigma" / "01_em_1d" / "01_em_1d.html").read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    assert "sigma-is-variance" in text and "square root" in text
    assert "Traceback" not in text
    # the student's own printout shows their (wrong) numbers; the reference ones never appear
    for number in expected_numbers:
        assert number not in text, number
    for student_id in ("correct", "blank"):
        for assignment_id in ASSIGNMENTS:
            assert (out / "feedback" / student_id / assignment_id / f"{assignment_id}.html").is_file()


def test_summary_has_distributions_and_per_question_table(graded):
    _course, _submissions, out, _run, _plain = graded
    html = (out / "summary.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(ASSIGNMENTS)
    for grade_id in ("test_estep", "test_sigma", "test_cov", "test_loglik"):
        assert grade_id in html
    assert "sigma-is-variance" in html


def test_rerun_grades_only_what_changed(graded, tmp_path):
    course, submissions, out, _run, _plain = graded
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    again = autograde(submissions, copy, course=course, workers=2)
    assert again.graded == [] and len(again.skipped) == 2 * len(ASSIGNMENTS) + len(MISTAKEN)
    assert read_csv(copy / "grades.csv") == read_csv(out / "grades.csv")

    changed = tmp_path / "class"
    shutil.copytree(submissions, changed)
    fixed = fill_blanks(course.release_notebook("01_em_1d"), SEED_STYLE["01_em_1d"])
    nbformat.write(fixed, changed / "m_sigma" / "01_em_1d" / "01_em_1d.ipynb")
    third = autograde(changed, copy, course=course, workers=2)
    assert third.graded == [("m_sigma", "01_em_1d")]
    m_sigma = [r for r in read_csv(copy / "grades.csv") if r["student_id"] == "m_sigma"]
    assert all(r["score"] == r["max_score"] for r in m_sigma)


class StopAfter:
    """A progress reporter that interrupts the run like Ctrl+C after ``n`` graded submissions."""

    def __init__(self, n):
        self.n = n

    def start(self, total):
        self.total = total

    def advance(self):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt

    def stop(self):
        pass


def test_interrupted_run_resumes_with_only_the_missing_work(graded, tmp_path):
    course, submissions, _out, _run, _plain = graded
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        Grader(course, out, workers=2).run(submissions, progress=StopAfter(3))
    resumed = autograde(submissions, out, course=course, workers=2)
    total = 2 * len(ASSIGNMENTS) + len(MISTAKEN)
    assert len(resumed.skipped) == 3 and len(resumed.graded) == total - 3
    assert read_csv(out / "grades.csv") == read_csv(graded[2] / "grades.csv")


def part_of_class(submissions, folder, students):
    """A class folder of some of the module's students: a route into the grader needs no whole class to show."""
    for student in students:
        shutil.copytree(submissions / student, folder / student)
    return folder


def rows_of(out, students):
    return [row for row in read_csv(out / "grades.csv") if row["student_id"] in students]


#: Five notebooks of both assignments, full marks, zero and a mistake among them.
SOME_STUDENTS = ("blank", "correct", "m_loglik")


def test_dask_local_cluster_gives_the_same_grades(graded, tmp_path):
    distributed = pytest.importorskip("distributed")
    course, submissions, out, _run, _plain = graded
    part = part_of_class(submissions, tmp_path / "class", SOME_STUDENTS)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        autograde(part, tmp_path / "dask", course=course, scheduler=cluster.scheduler_address)
    assert read_csv(tmp_path / "dask" / "grades.csv") == rows_of(out, SOME_STUDENTS)


def test_zip_of_the_class_gives_the_same_grades(graded, tmp_path):
    course, submissions, out, _run, _plain = graded
    part = part_of_class(submissions, tmp_path / "class", SOME_STUDENTS)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(part.rglob("*.ipynb")):
            handle.write(path, "download/" + str(path.relative_to(part)))
    autograde(archive, tmp_path / "zipped", course=course, workers=2)
    assert read_csv(tmp_path / "zipped" / "grades.csv") == rows_of(out, SOME_STUDENTS)


def test_lms_download_is_collected_by_file_name(graded, tmp_path):
    course, submissions, out, _run, _plain = graded
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for number, path in enumerate(sorted(submissions.glob("*/01_em_1d/01_em_1d.ipynb"))):
            student_id = path.parent.parent.name.replace("_", "")
            late = "late_" if number % 2 else ""
            handle.write(path, f"{student_id}_{late}{1000 + number}_{90000 + number}_01_em_1d.ipynb")
        handle.writestr("notes.ipynb", "{}")
    run = autograde(archive, tmp_path / "lms", course=course, workers=2, lms_assignment="01_em_1d")
    assert [str(p.path.name) for p in run.problems] == ["notes.ipynb"]
    lms = {(r["student_id"], r["grade_id"]): r["score"] for r in read_csv(tmp_path / "lms" / "grades.csv")}
    folder = {
        (r["student_id"].replace("_", ""), r["grade_id"]): r["score"]
        for r in read_csv(out / "grades.csv")
        if r["assignment_id"] == "01_em_1d"
    }
    assert lms == folder


def test_bad_input_is_named_and_does_not_stop_the_class(graded, tmp_path):
    course, _submissions, _out, _run, _plain = graded
    folder = tmp_path / "class"
    good = fill_blanks(course.release_notebook("01_em_1d"), SEED_STYLE["01_em_1d"])
    layout = {
        "good/01_em_1d/01_em_1d.ipynb": nbformat.writes(good),
        "broken/01_em_1d/01_em_1d.ipynb": nbformat.writes(good)[:500],
        "notanotebook/01_em_1d/01_em_1d.ipynb": json.dumps({"hello": "world"}),
        "renamed/01_em_1d/Copy of 01_em_1d.ipynb": nbformat.writes(good),
        "twofiles/01_em_1d/draft.ipynb": nbformat.writes(good),
        "twofiles/01_em_1d/final.ipynb": nbformat.writes(good),
        "lost/99_no_such_assignment/x.ipynb": nbformat.writes(good),
        "Dup/01_em_1d/01_em_1d.ipynb": nbformat.writes(good),
        "dup/01_em_1d/01_em_1d.ipynb": nbformat.writes(good),
    }
    for relative, text in layout.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)

    run = autograde(folder, tmp_path / "out", course=course, workers=2)

    messages = {
        str(p.path.relative_to(folder)) if p.path.is_absolute() else str(p.path): p.message for p in run.problems
    }
    assert "not valid JSON" in messages["broken/01_em_1d/01_em_1d.ipynb"]
    assert "not a notebook" in messages["notanotebook/01_em_1d/01_em_1d.ipynb"]
    assert "graded it as that notebook" in messages["renamed/01_em_1d/Copy of 01_em_1d.ipynb"]
    assert "unexpected notebook" in messages["twofiles/01_em_1d/draft.ipynb"]
    assert "missing notebook" in messages["twofiles/01_em_1d/01_em_1d.ipynb"]
    assert "unknown assignment '99_no_such_assignment'" in messages["lost/99_no_such_assignment/x.ipynb"]
    assert "duplicate student" in messages["dup/01_em_1d/01_em_1d.ipynb"]

    rows = read_csv(tmp_path / "out" / "grades.csv")
    by_student = {}
    for row in rows:
        by_student.setdefault(row["student_id"], []).append(row)
    for student in ("good", "renamed", "Dup"):
        assert all(r["score"] == r["max_score"] for r in by_student[student]), student
    assert {r["note"] for r in by_student["renamed"]} == {"renamed-notebook (submitted as Copy of 01_em_1d.ipynb)"}
    for student, note in (
        ("broken", "invalid-notebook"),
        ("notanotebook", "invalid-notebook"),
        ("twofiles", "missing-notebook"),
    ):
        assert {r["note"] for r in by_student[student]} == {note}
        assert all(float(r["score"]) == 0 for r in by_student[student])
    assert [r["note"] for r in by_student["lost"]] == ["unknown-assignment: x.ipynb"]
    assert [r["note"] for r in by_student["dup"]] == ["duplicate-student: 01_em_1d.ipynb"]


def test_a_feedback_page_that_cannot_be_written_is_named_and_holds_nothing_up(graded, tmp_path):
    course, _submissions, _out, _run, _plain = graded
    folder = tmp_path / "class"
    for student in ("kept", "blocked"):
        (folder / student / "01_em_1d").mkdir(parents=True)
        nbformat.write(
            fill_blanks(course.release_notebook("01_em_1d"), SEED_STYLE["01_em_1d"]),
            folder / student / "01_em_1d" / "01_em_1d.ipynb",
        )
    out = tmp_path / "out"
    blocked = out / "feedback" / "blocked" / "01_em_1d" / "01_em_1d.html"
    blocked.mkdir(parents=True)  # a directory where the page should go: the renderer cannot write it

    run = autograde(folder, out, course=course, workers=2)

    assert list(run.feedback_errors) == [blocked]
    assert "IsADirectoryError" in run.feedback_errors[blocked]
    assert (out / "feedback" / "kept" / "01_em_1d" / "01_em_1d.html").is_file()
    rows = read_csv(out / "grades.csv")
    assert {r["student_id"] for r in rows} == {"kept", "blocked"}
    assert all(r["score"] == r["max_score"] for r in rows)
    assert str(blocked) in (out / "summary.html").read_text()


def test_cli_exit_status(graded, tmp_path):
    course, submissions, _out, _run, _plain = graded
    command = [sys.executable, "-m", "grader", "--course", str(course.root)]
    part = part_of_class(submissions, tmp_path / "class", ("m_sigma",))
    ok = subprocess.run(
        [*command, "autograde", str(part), "--out", str(tmp_path / "out"), "--workers", "2"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "grades.csv" in ok.stdout
    missing = subprocess.run([*command, "autograde", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    no_course = subprocess.run(
        [sys.executable, "-m", "grader", "--course", str(tmp_path), "release"], capture_output=True, text=True
    )
    assert no_course.returncode == 2 and "not a course" in no_course.stderr


def test_bundled_sample_class_is_in_sync_with_the_release(tmp_path):
    from grader.sample_class import BUNDLED

    fresh = build_sample_class(tmp_path / "class")
    bundled = sorted(p.relative_to(BUNDLED) for p in BUNDLED.rglob("*.ipynb"))
    assert bundled == sorted(p.relative_to(fresh) for p in fresh.rglob("*.ipynb"))
    for relative in bundled:
        assert filecmp.cmp(BUNDLED / relative, fresh / relative, shallow=False), (
            f"{relative} is stale: run `python -m grader.sample_class`"
        )
