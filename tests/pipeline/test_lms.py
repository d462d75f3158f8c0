"""``grader export --format canvas|moodle|per-question`` (issue 14, item 1) on a real report.

One tiny class of 01_em_1d is graded once (a correct, a mistaken and a blank
notebook, students named by SIS id) and exported against the rosters in
tests/data/lms/, built from the LMS's own layouts:

* ``canvas_gradebook_export.csv``: what Canvas's Grades > Export writes, laid
  out as ``lib/gradebook_exporter.rb`` writes it (BOM, student columns up to
  Section, ``<title> (<id>)`` columns, a ``Manual Posting`` row, the
  ``    Points Possible`` row with ``(read only)`` totals, an excused ``EX``, a
  name guarded against formulas, Canvas's Test Student);
* ``moodle_grades_export.csv``: Moodle's plain-text export (the default user
  fields, ``<module>: <name> (Real)`` columns, the course total and
  ``Last downloaded from this course``).

Names have commas, quotes and non-ASCII letters. Each export is read back the
way the LMS's importer reads it (:func:`canvas_import` follows
``lib/gradebook_importer.rb``, :func:`moodle_import` Moodle's
``grade/import/csv/classes/load_data.php``), and must give every student's
points as grades.csv has them. A Canvas round trip grades a Submissions download
(file names as Canvas's ContentZipper writes them) with ``--assignment`` and
imports the export against the roster.
"""

import csv
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.lms import export as lms
from grader.pipeline.autograde import autograde
from grader.samples import MUTANTS, SEED_STYLE, fill_blanks
from tests.support.course import CourseCopy, copy_course

DATA = Path(__file__).parent / "data" / "lms"
CANVAS_ROSTER = DATA / "canvas_gradebook_export.csv"
MOODLE_ROSTER = DATA / "moodle_grades_export.csv"
ASSIGNMENT = "01_em_1d"
POINTS = 10.0  # 01_em_1d's graded cells: 3 + 2 + 2 + 1 + 2


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A graded class: s1001 correct, s1002 a catalogued mistake, s1003 the untouched release."""
    root = tmp_path_factory.mktemp("lms")
    course = CourseCopy(copy_course(root / "course"))
    release = course.release_notebook(ASSIGNMENT)
    mistake = next(s for s in MUTANTS if s.assignment_id == ASSIGNMENT and s.misconception == "sigma-is-variance")
    notebooks = {
        "s1001": fill_blanks(release, SEED_STYLE[ASSIGNMENT]),
        "s1002": mistake.notebook(release),
        "s1003": release,
    }
    for student_id, nb in notebooks.items():
        folder = root / "class" / student_id / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    run = autograde(root / "class", root / "report", course=course, workers=2)
    assert run.failures == {}
    return root / "report"


def totals(report):
    """{student: points of 01_em_1d} from grades.csv."""
    found = {}
    with open(report / "grades.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            found[row["student_id"]] = found.get(row["student_id"], 0.0) + float(row["score"])
    return found


# --- the LMS importers' reading of a file, after their source --------------------------------------------------


def canvas_import(path):
    """{Canvas user id: {assignment id: grade text}} and {assignment id: points}, read as GradebookImporter does."""
    rows = list(read_csv(path))
    header = rows[0]
    # header?: row[0] includes "Student", row[1] "ID"; the last student column includes "Section"
    assert "Student" in header[0] and "ID" in header[1]
    student_columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        student_columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        student_columns += 2
    assert "Section" in header[student_columns - 1]
    non_assignment = re.compile(
        "Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
        "Override Score|Override Grade|Override Status"
    )
    assignments = {}
    for index, title in enumerate(header[student_columns:], student_columns):
        if non_assignment.search(title):
            continue
        match = re.match(r"\A(.*)\s\((\d+)\)\Z", title)  # Assignment.title_and_id
        assignments[match.group(2) if match else title] = index
    grades, points_possible = {}, {}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points_possible = {a: row[i] for a, i in assignments.items()}
            continue
        if all(re.match(r"^\s*(Muted|Manual Posting.*)?\s*$", cell, re.IGNORECASE) for cell in row):
            continue
        grades[row[1]] = {a: row[i].strip() for a, i in assignments.items()}
    return grades, points_possible, header


def moodle_import(path, key_column=0):
    """{identifier: {column: grade or None}}, mapping column 0 to the user as Moodle's CSV import does."""
    rows = read_csv(path)
    header = [h.strip() for h in rows[0]]
    grades = {}
    for row in rows[1:]:
        if not row[key_column]:  # "Skip invalid row with blank user field"
            continue
        values = {}
        for title, value in zip(header[1:], row[1:]):
            values[title] = None if value in ("", "-") else float(value)  # unformat_float
        grades[row[key_column]] = values
    return header, grades


# --- tests --------------------------------------------------------------------------------------------------


def test_canvas_export_is_canvas_import_layout(report, tmp_path):
    target = tmp_path / "canvas.csv"
    result = lms.export(report, target, "canvas", roster=CANVAS_ROSTER)
    assert result.key == "SIS User ID" and result.new_columns == [] and result.warnings == []
    grades, points_possible, header = canvas_import(target)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01 EM 1D (4821)"]
    assert read_csv(target)[1][:5] == ["    Points Possible", "", "", "", ""]
    assert points_possible == {"4821": "10"}
    expected = totals(report)
    canvas_ids = {"s1001": "48213", "s1002": "48214", "s1003": "48215"}
    for student_id, canvas_id in canvas_ids.items():
        assert float(grades[canvas_id]["4821"]) == expected[student_id]
    assert expected["s1001"] == POINTS and 0 < expected["s1002"] < POINTS and expected["s1003"] == 0
    # in the roster without a submission: empty, or EX where Canvas had it excused; the Test Student stays
    assert grades["48216"]["4821"] == "" and grades["48218"]["4821"] == "" and grades["48299"]["4821"] == ""
    assert grades["48217"]["4821"] == "EX"
    # names with commas, quotes and non-ASCII letters come back exactly as Canvas wrote them
    names = {row[1]: row[0] for row in read_csv(target)[2:]}
    roster_names = {row[1]: row[0] for row in read_csv(CANVAS_ROSTER)[3:]}
    assert names == roster_names
    assert names["48213"] == "O'Brien, Seán" and names["48214"] == 'Doe "JD", Jane'
    assert names["48216"] == "Nguyễn, Thị Minh" and names["48218"] == '="=Formula, Eve"'
    assert "GMM-EM 2026, Section A" in read_csv(target)[2]


def test_moodle_export_is_moodle_import_layout(report, tmp_path):
    target = tmp_path / "moodle.csv"
    result = lms.export(report, target, "moodle", roster=MOODLE_ROSTER)
    assert result.key == "ID number"
    header, grades = moodle_import(target)
    assert header == ["ID number", "Assignment: 01_em_1d (Real)"]
    expected = totals(report)
    for student_id in ("s1001", "s1002", "s1003"):
        assert grades[student_id]["Assignment: 01_em_1d (Real)"] == expected[student_id]
    assert grades["s1004"]["Assignment: 01_em_1d (Real)"] is None
    assert len(grades) == 4  # Łukasiewicz has no ID number: no row Moodle could map, and no submission


def test_moodle_export_by_email(report, tmp_path):
    """A class whose folders are named by e-mail is matched on the roster's Email address column."""
    grades = tmp_path / "report"
    grades.mkdir()
    rows = read_csv(report / "grades.csv")
    emails = {"s1001": "sobrien@example.edu", "s1002": "jdoe@example.edu", "s1003": "zmueller@example.edu"}
    with open(grades / "grades.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([rows[0]] + [[emails[r[0]], *r[1:]] for r in rows[1:]])
    result = lms.export(grades, tmp_path / "moodle.csv", "moodle", roster=MOODLE_ROSTER)
    assert result.key == "Email address"
    header, imported = moodle_import(tmp_path / "moodle.csv")
    assert header[0] == "Email address" and len(imported) == 5
    assert imported["jlukasiewicz@example.edu"]["Assignment: 01_em_1d (Real)"] is None
    assert imported["sobrien@example.edu"]["Assignment: 01_em_1d (Real)"] == POINTS


def test_per_question_has_every_cell_and_totals(report, tmp_path):
    target = tmp_path / "per_question.csv"
    lms.export(report, target, "per-question")
    rows = read_csv(target)
    cells = ["test_convergence", "test_estep", "test_mu", "test_pi", "test_sigma"]
    assert rows[0] == ["student_id", *(f"{ASSIGNMENT}/{c}" for c in cells), f"{ASSIGNMENT} total", "total"]
    assert rows[1] == ["max_score", "2", "3", "2", "1", "2", "10", "10"]
    with open(report / "grades.csv", newline="") as handle:
        scores = {(r["student_id"], r["grade_id"]): float(r["score"]) for r in csv.DictReader(handle)}
    by_student = {row[0]: row for row in rows[2:]}
    assert sorted(by_student) == ["s1001", "s1002", "s1003"]
    for student_id, row in by_student.items():
        assert [float(v) for v in row[1:6]] == [scores[(student_id, c)] for c in cells]
        assert float(row[6]) == float(row[7]) == sum(scores[(student_id, c)] for c in cells)


def test_per_question_with_roster_lists_every_roster_student(report, tmp_path):
    target = tmp_path / "per_question.csv"
    result = lms.export(report, target, "per-question", roster=CANVAS_ROSTER)
    rows = read_csv(target)
    assert rows[0][:2] == ["student_id", "name"] and result.key == "SIS User ID"
    by_student = {row[0]: row for row in rows[2:]}
    assert by_student["s1001"][1] == "O'Brien, Seán" and by_student["s1001"][-1] == "10"
    assert by_student["s1004"][1] == "Nguyễn, Thị Minh" and set(by_student["s1004"][2:]) == {""}


def test_submission_without_roster_row_is_an_error_and_nothing_is_written(report, tmp_path):
    roster = tmp_path / "roster.csv"
    rows = read_csv(CANVAS_ROSTER)
    rows[0][0] = rows[0][0].lstrip("\ufeff")
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([row for row in rows if "s1003" not in row])
    target = tmp_path / "canvas.csv"
    with pytest.raises(lms.ExportError, match="s1003"):
        lms.export(report, target, "canvas", roster=roster)
    assert not target.exists() and list(tmp_path.iterdir()) == [roster]
    # the CLI: one line naming the student, exit 2
    assert cli.main(["export", str(report), "--to", str(target), "--format", "canvas", "--roster", str(roster)]) == 2
    assert not target.exists()


def test_cli_formats_and_the_nbgrader_default(report, tmp_path, capsys):
    for format_, roster in (("canvas", CANVAS_ROSTER), ("moodle", MOODLE_ROSTER), ("per-question", None)):
        target = tmp_path / f"{format_}.csv"
        argv = ["export", str(report), "--to", str(target), "--format", format_]
        assert cli.main(argv + (["--roster", str(roster)] if roster else [])) == 0
        assert target.is_file()
    assert cli.main(["export", str(report), "--to", str(tmp_path / "totals.csv")]) == 0
    with open(tmp_path / "totals.csv", newline="") as handle:
        totals_rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert float(totals_rows["s1001"]["raw_score"]) == POINTS
    assert cli.main(["export", str(report), "--to", str(tmp_path / "x.csv"), "--format", "canvas"]) == 2
    assert "--roster" in capsys.readouterr().err


def test_canvas_round_trip_from_a_submissions_download(tmp_path):
    """Canvas's Download Submissions zip (files named as ContentZipper names them: sortable name without
    punctuation, lower case, LATE, user id, file id, file name) graded with --assignment, exported against the
    roster: each student's points land on their Canvas row."""
    course = CourseCopy(copy_course(tmp_path / "course"))
    release = course.release_notebook(ASSIGNMENT)
    mistake = next(s for s in MUTANTS if s.assignment_id == ASSIGNMENT and s.misconception == "mean-divided-by-n")
    archive = tmp_path / "01-em-1d-submissions.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(
            f"obrienseán_48213_90001_{ASSIGNMENT}.ipynb", nbformat.writes(fill_blanks(release, SEED_STYLE[ASSIGNMENT]))
        )
        handle.writestr(f"doejdjane_late_48214_90002_{ASSIGNMENT}.ipynb", nbformat.writes(mistake.notebook(release)))
    run = autograde(archive, tmp_path / "report", course=course, workers=2, lms_assignment=ASSIGNMENT)
    assert sorted(run.graded) == [("doejdjane", ASSIGNMENT), ("obrienseán", ASSIGNMENT)]
    target = tmp_path / "canvas.csv"
    assert (
        cli.main(
            [
                "export",
                str(tmp_path / "report"),
                "--format",
                "canvas",
                "--roster",
                str(CANVAS_ROSTER),
                "--to",
                str(target),
            ]
        )
        == 0
    )
    grades, _points_possible, _header = canvas_import(target)
    expected = totals(tmp_path / "report")
    assert float(grades["48213"]["4821"]) == expected["obrienseán"] == POINTS
    assert float(grades["48214"]["4821"]) == expected["doejdjane"] < POINTS
    assert grades["48215"]["4821"] == "" and grades["48217"]["4821"] == "EX"


# --- mapping rules on synthetic reports (no grading) ----------------------------------------------------------


def synthetic_report(folder, rows):
    folder.mkdir()
    with open(folder / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["student_id", "assignment_id", "notebook_id", "grade_id", "score", "max_score", "diagnosis", "note"]
        )
        writer.writerows(rows)
    return folder


def test_canvas_download_names_match_the_students_of_an_lms_download(tmp_path):
    """`grader autograde --assignment` reads the student id from Canvas's download names (sortable name, no
    punctuation, lower case): they are matched on the roster's Student column."""
    assert lms.canvas_download_name("O'Brien, Seán") == "obrienseán"
    assert lms.canvas_download_name('Doe "JD", Jane') == "doejdjane"
    assert lms.canvas_download_name('="=Formula, Eve"') == "formulaeve"
    report = synthetic_report(
        tmp_path / "report",
        [
            ["obrienseán", ASSIGNMENT, ASSIGNMENT, "test_mu", "2.0", "2.0", "", ""],
            ["obrienseán", "02_em_2d", "02_em_2d", "test_cov", "1.5", "3.0", "", ""],
            ["doejdjane", ASSIGNMENT, ASSIGNMENT, "test_mu", "0.0", "2.0", "sigma-is-variance", ""],
            ["nguyễnthịminh", ASSIGNMENT, "", "", "", "", "", "not-graded"],
            ["ghost", "99_unknown", "", "", "", "", "", "unknown-assignment: 99_unknown.ipynb"],
        ],
    )
    result = lms.export(report, tmp_path / "canvas.csv", "canvas", roster=CANVAS_ROSTER)
    assert result.key == "download name"
    assert result.new_columns == ["02_em_2d"]  # no Canvas column: a new assignment on import
    assert any("nguyễnthịminh/01_em_1d: no grade" in w for w in result.warnings)
    assert any("99_unknown" in w for w in result.warnings)
    grades, points_possible, header = canvas_import(tmp_path / "canvas.csv")
    assert header[-2:] == ["01 EM 1D (4821)", "02_em_2d"] and points_possible == {"4821": "2", "02_em_2d": "3"}
    assert grades["48213"] == {"4821": "2", "02_em_2d": "1.5"}
    assert grades["48214"] == {"4821": "0", "02_em_2d": ""}
    assert grades["48216"] == {"4821": "", "02_em_2d": ""}
    assert any("10 points possible in the LMS, 2 in the grader" in w for w in result.warnings)


def test_explicit_key_map_and_ambiguity(tmp_path):
    report = synthetic_report(tmp_path / "report", [["jdoe", "hw_one", "hw_one", "q1", "1", "1", "", ""]])
    with pytest.raises(lms.ExportError, match="no column 'Quiz 9'"):
        lms.export(report, tmp_path / "a.csv", "canvas", roster=CANVAS_ROSTER, mapping={"hw_one": "Quiz 9"})
    result = lms.export(
        report, tmp_path / "a.csv", "canvas", roster=CANVAS_ROSTER, key="SIS Login ID", mapping={"hw_one": "4821"}
    )
    assert canvas_import(tmp_path / "a.csv")[0]["48214"] == {"4821": "1"}
    assert result.key == "SIS Login ID"
    with pytest.raises(lms.ExportError, match="--roster-key 'Email'"):
        lms.export(report, tmp_path / "b.csv", "canvas", roster=CANVAS_ROSTER, key="Email")
    twins = tmp_path / "twins.csv"
    rows = read_csv(CANVAS_ROSTER)
    rows[0][0] = "Student"
    rows.append(["Doe, JD Jane", "48300", "s2000", "jdoe2", "GMM-EM 2026, Section B"] + [""] * 14)
    with open(twins, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    report2 = synthetic_report(tmp_path / "report2", [["doejdjane", ASSIGNMENT, ASSIGNMENT, "q", "1", "1", "", ""]])
    with pytest.raises(lms.ExportError, match="several rows share"):
        lms.export(report2, tmp_path / "c.csv", "canvas", roster=twins)
    with pytest.raises(lms.ExportError, match="not a Canvas gradebook export"):
        lms.export(report2, tmp_path / "c.csv", "canvas", roster=MOODLE_ROSTER)


def test_semicolon_roster_and_points_format(tmp_path):
    """Canvas and Moodle write ';'-separated files in some locales; scores keep at most two decimals."""
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows(
            [
                [
                    "First name",
                    "Last name",
                    "ID number",
                    "Email address",
                    "Assignment: hw 1 (Real)",
                    "Assignment: hw 1 (Percentage)",
                    "Course total (Real)",
                ],
                ["Zoë", "Müller", "z1", "z@example.edu", "-", "-", "-"],
            ]
        )
    report = synthetic_report(
        tmp_path / "report",
        [["z1", "hw_1", "hw_1", "a", "0.333", "1", "", ""], ["z1", "hw_1", "hw_1", "b", "7", "9", "", ""]],
    )
    lms.export(report, tmp_path / "m.csv", "moodle", roster=roster)
    assert read_csv(tmp_path / "m.csv") == [["ID number", "Assignment: hw 1 (Real)"], ["z1", "7.33"]]
    assert [lms.points(v) for v in (8.0, 7.5, 0.333, 10.006, -0.0)] == ["8", "7.5", "0.33", "10.01", "0"]
