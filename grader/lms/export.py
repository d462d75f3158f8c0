"""``grader export``: an autograde report's grades in the layout an LMS imports, or one row per student.

The grades come from the report's ``grades.csv`` (one row per student x
assignment x graded cell); a submission's points for an assignment are the sum
of its cells. Formats:

``nbgrader``
    nbgrader's own CSV export of total scores, read from the gradebook.

``canvas``
    Canvas's gradebook import CSV. The layout follows Canvas's exporter,
    ``lib/gradebook_exporter.rb`` (instructure/canvas-lms), which its importer
    ``lib/gradebook_importer.rb`` reads back: the student columns ``Student``,
    ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section`` (exactly as the
    roster has them: the importer finds students by ``ID``, then by SIS ids,
    then by name), then one column per assignment titled ``<title> (<assignment
    id>)`` (``Assignment#title_with_id``, parsed back by ``title_and_id``), a
    second row starting ``"    Points Possible"`` (four spaces; the importer
    looks for ``Points Possible`` in the first cell) with each assignment's
    points, then one row per student whose values are numbers with at most two
    decimals (``format_numbers`` uses precision 2, and the importer compares at
    that precision), ``EX`` (excused, kept from the roster) or empty (no grade).
    An assignment with no column in the roster is written as a new column
    titled with its id and no Canvas id, which the importer offers to create
    as a new assignment.

``moodle``
    Moodle's grade import CSV (Grades > Import > CSV file, docs.moodle.org
    "Grade import"; ``grade/import/csv/classes/load_data.php``): one identifier
    column (``Email address`` or ``ID number`` of Moodle's plain-text export,
    mapped in the import form to ``useremail`` or ``useridnumber``), then one
    column per assignment, headed as Moodle's export heads its grade item
    (``Assignment: <name> (Real)``, ``grade/export/lib.php``
    ``format_column_name``); an empty value imports as no grade. An
    assignment with no column in the roster is headed with its id (map it to
    "New grade item" in the import form).

``per-question``
    One row per student, one column per assignment x graded cell
    (``<assignment>/<grade_id>``), each assignment's total and the overall
    total; the first row after the header, ``max_score``, holds each column's
    maximum (nbgrader issue #938).

The roster is the file the LMS itself produces (Canvas: Grades > Export >
Export Entire Gradebook; Moodle: Grades > Export > Plain text file). Students
are matched to the report's student ids on one of its identifier columns
(:data:`CANVAS_KEYS`, :data:`MOODLE_KEYS`; by default the one that matches the
most), assignments to its columns by title. Students in the roster without a
submission get an empty cell; a submission without a roster row is an
:class:`ExportError` naming every one, and nothing is written: nothing is
dropped silently.
"""

import csv
import io
import os
import re
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A file name as the functions take it.
StrPath = str | os.PathLike[str]
#: (notebook_id, grade_id): one graded cell.
Cell = tuple[str, str]

FORMATS = ("nbgrader", "canvas", "moodle", "per-question")

#: Canvas's roster columns a report's student id may be, in order of preference. "download name" is the
#: name part Canvas gives a student's files in a submissions download (``ContentZipper#get_filename``: the
#: sortable name without non-word characters, lower case), which is what ``grader autograde --assignment``
#: reads as the student id.
CANVAS_KEYS = ("ID", "SIS User ID", "SIS Login ID", "Integration ID", "download name")
#: Moodle's (its plain-text export's default user fields, ``grade_export_userprofilefields``).
MOODLE_KEYS = ("Email address", "ID number", "Username")
#: Moodle's export ends with this column (gradeexport_txt ``timeexported``); it is no grade item.
MOODLE_TIME_EXPORTED = "Last downloaded from this course"

CANVAS_POINTS_POSSIBLE = "    Points Possible"
#: ``Assignment.title_and_id``: "<title> (<id>)".
CANVAS_TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")
#: A Moodle export column "<module>: <name> (<display type>)" or "<name> (<display type>)".
MOODLE_COLUMN = re.compile(r"\A(?:(?P<module>[^:]+): )?(?P<name>.*) \((?P<display>[^()]*)\)\Z")
#: Rows of a Canvas export that hold no student ("Muted" / "Manual Posting" marks, as the importer skips them).
CANVAS_POSTING_ROW = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)


class ExportError(Exception):
    """The export cannot be written as asked (no roster, unmatched submissions, ambiguous columns)."""


# --- the report's grades -------------------------------------------------------------------------------------


@dataclass
class Submission:
    """One student's graded assignment: its cells' scores, in grades.csv order."""

    student_id: str
    assignment_id: str
    cells: dict[Cell, float | None] = field(
        default_factory=dict
    )  # (notebook_id, grade_id) -> score (or None: not scored)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float | None:
        """The assignment's points, or None when a cell could not be scored (the grade is not known)."""
        if not self.cells or any(score is None for score in self.cells.values()):
            return None
        return sum(score for score in self.cells.values() if score is not None)


@dataclass
class Grades:
    """Everything graded in a report: submissions by (student, assignment), cells and points per assignment."""

    submissions: dict[tuple[str, str], Submission] = field(default_factory=dict)  # (student_id, assignment_id) ->
    maxima: dict[str, dict[Cell, float]] = field(default_factory=lambda: defaultdict(dict))  # assignment -> {cell: max}
    problems: list[str] = field(default_factory=list)  # rows for input that is no submission (unknown assignment, ...)

    @property
    def assignments(self) -> list[str]:
        return sorted(self.maxima)

    @property
    def students(self) -> list[str]:
        return sorted({student for student, _ in self.submissions})

    def points_possible(self, assignment_id: str) -> float:
        return sum(self.maxima[assignment_id].values())

    def unscored(self) -> list[tuple[str, str]]:
        """Submissions that have no grade (nbgrader could not score them): their cells are left empty."""
        return sorted(key for key, submission in self.submissions.items() if submission.total is None)


def _number(text: str | None) -> float | None:
    return None if text in ("", None) else float(text)


def _number_or_none(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_grades(report: StrPath) -> Grades:
    """The :class:`Grades` of a report folder (its ``grades.csv``), or an :class:`ExportError`."""
    path = Path(report) / "grades.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExportError(
            f"{path}: cannot read the report's grades ({error.strerror}); export the folder "
            "`grader autograde --out` wrote"
        ) from None
    grades = Grades()
    for row in csv.DictReader(io.StringIO(text, newline="")):
        key = (row["student_id"], row["assignment_id"])
        if not row["grade_id"]:
            if row["note"].startswith(("not-graded", "grading-error")):  # a submission without grades
                grades.submissions.setdefault(key, Submission(*key)).notes.append(row["note"])
            else:  # input that is no submission: unknown assignment, duplicate, link
                grades.problems.append(f"{row['student_id']}/{row['assignment_id']}: {row['note']}")
            continue
        submission = grades.submissions.setdefault(key, Submission(*key))
        cell = (row["notebook_id"], row["grade_id"])
        submission.cells[cell] = _number(row["score"])
        grades.maxima[row["assignment_id"]][cell] = float(row["max_score"])
        if row["note"] and row["note"] not in submission.notes:
            submission.notes.append(row["note"])
    for (_student, assignment_id), submission in grades.submissions.items():
        if not submission.cells:  # not scored at all: its cells are the assignment's, none with a score
            submission.cells = dict.fromkeys(grades.maxima.get(assignment_id, {}), None)
    return grades


def points(value: float) -> str:
    """A score as Canvas and Moodle write one: at most two decimals, no trailing zeros (7.5, 8, 0.33)."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- rosters ------------------------------------------------------------------------------------------------


def canvas_download_name(sortable_name: str) -> str:
    """The name Canvas puts in front of a student's files in a submissions download.

    ``ContentZipper#get_filename`` joins the sortable name ("Last, First") and
    the user id and then removes every non-word character
    (``gsub(/[^[[:word:]]]/, '')``, Unicode letters kept) and lowercases it.
    """
    name = unicodedata.normalize("NFC", sortable_name.strip())
    if name.startswith('="') and name.endswith('"'):  # the exporter's guard against spreadsheet formulas
        name = name[2:-1]
    return re.sub(r"[^\w]", "", name).lower()


@dataclass
class RosterStudent:
    row: dict[str, str]  # header -> value, as the LMS exported it
    keys: dict[str, str]  # identifier name -> value


@dataclass
class Roster:
    """A gradebook the LMS exported: its header, students and assignment columns."""

    path: Path
    kind: str  # "canvas" or "moodle"
    header: list[str]
    students: list[RosterStudent]
    info: list[str]  # the student columns (Canvas: up to Section; Moodle: the user fields)
    columns: dict[str, str]  # assignment column header -> title to match assignment ids on
    key_names: tuple[str, ...]
    points_possible: dict[str, str] = field(default_factory=dict)  # Canvas: column header -> its Points Possible

    def excused(self, student: RosterStudent, column: str) -> bool:
        return self.kind == "canvas" and column in self.columns and student.row.get(column, "").strip().upper() == "EX"


def _sniff_rows(path: StrPath) -> list[list[str]]:
    """The CSV rows of ``path``; UTF-8 with or without BOM, delimiter ``,`` ``;`` or tab as the LMS chose."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ExportError(f"{path}: cannot read the roster ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ExportError(
            f"{path}: the roster is not UTF-8 text; export it again from the LMS as CSV (UTF-8)"
        ) from None
    head = "\n".join(text.splitlines()[:3])
    try:  # only the delimiter: quoting is always CSV's (quotes doubled), which a few lines may not show
        delimiter = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = [
        row
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        if any(cell.strip() for cell in row)
    ]
    if not rows:
        raise ExportError(f"{path}: the roster is empty")
    return rows


def read_roster(path: StrPath, kind: str) -> Roster:
    """The :class:`Roster` in ``path``, a Canvas (``kind="canvas"``) or Moodle gradebook export."""
    rows = _sniff_rows(path)
    header = [cell.strip() for cell in rows[0]]
    if kind == "canvas":
        return _canvas_roster(Path(path), header, rows[1:])
    return _moodle_roster(Path(path), header, rows[1:])


def _canvas_roster(path: Path, header: list[str], rows: list[list[str]]) -> Roster:
    name_first = header[:2] == ["LastName", "FirstName"]
    if not (header and (header[0] == "Student" or name_first) and "ID" in header and "Section" in header):
        raise ExportError(
            f"{path}: not a Canvas gradebook export (its columns should start Student, ID, ..., "
            "Section, then the assignments: Grades > Export > Export Entire Gradebook in Canvas)"
        )
    info = header[: header.index("Section") + 1]
    columns: dict[str, str] = {}
    for title in header[len(info) :]:
        match = CANVAS_TITLE_AND_ID.match(title)
        if match:
            columns[title] = match.group(1)
    students: list[RosterStudent] = []
    points_possible: dict[str, str] = {}
    for cells in rows:
        if "Points Possible" in cells[0]:
            points_possible = {title: value.strip() for title, value in zip(header, cells) if title in columns}
            continue
        if all(CANVAS_POSTING_ROW.match(cell) for cell in cells):
            continue
        row = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        keys = {name: row[name].strip() for name in CANVAS_KEYS if name in row}
        sortable = f"{row['LastName']}, {row['FirstName']}" if name_first else row["Student"]
        keys["download name"] = canvas_download_name(sortable)
        students.append(RosterStudent(row, keys))
    return Roster(path, "canvas", header, students, info, columns, CANVAS_KEYS, points_possible)


def _moodle_roster(path: Path, header: list[str], rows: list[list[str]]) -> Roster:
    present = [name for name in MOODLE_KEYS if name in header]
    if not present:
        raise ExportError(
            f"{path}: not a Moodle grade export (it needs an identifier column: "
            f"{' or '.join(MOODLE_KEYS)}; Grades > Export > Plain text file in Moodle)"
        )
    columns: dict[str, str] = {}
    matches: dict[str, re.Match[str]] = {}
    info: list[str] = []
    for title in header:
        match = MOODLE_COLUMN.match(title)
        if title == MOODLE_TIME_EXPORTED or (match and match.group("display") == "Feedback"):
            continue
        if match and (match.group("module") or match.group("name") != "Course total"):
            columns.setdefault(title, match.group("name"))
            matches[title] = match
        elif not match:
            info.append(title)
    # one column per grade item: its Real display if the export has several display types
    by_item: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
    for title in columns:
        by_item[matches[title].group("module", "name")].append(title)
    for titles in by_item.values():
        if len(titles) > 1:
            keep = next((t for t in titles if matches[t].group("display") == "Real"), titles[0])
            for title in titles:
                if title != keep:
                    del columns[title]
    students: list[RosterStudent] = []
    for cells in rows:
        row = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        students.append(RosterStudent(row, {name: row[name].strip() for name in present}))
    return Roster(path, "moodle", header, students, info, columns, tuple(present))


def _normalised(title: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", title).casefold())


def assignment_columns(
    roster: Roster, assignment_ids: Iterable[str], mapping: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """{assignment id: roster column header, or None for a new column}; an ExportError if one is ambiguous.

    ``mapping`` ({assignment id: column header or LMS assignment id}) says it
    for assignments whose LMS title is not their id.
    """
    mapping = mapping or {}
    found: dict[str, str | None] = {}
    for assignment_id in assignment_ids:
        wanted = mapping.get(assignment_id)
        if wanted is not None:
            matches = [
                title
                for title in roster.columns
                if title == wanted or title.endswith(f"({wanted})") or roster.columns[title] == wanted
            ]
            if not matches:
                raise ExportError(
                    f"{roster.path}: no column {wanted!r} for {assignment_id} (its assignment "
                    f"columns: {', '.join(roster.columns) or 'none'})"
                )
        else:
            matches = [
                title for title, name in roster.columns.items() if _normalised(name) == _normalised(assignment_id)
            ]
        if len(matches) > 1:
            raise ExportError(
                f"{roster.path}: {assignment_id} matches several columns ({'; '.join(matches)}); "
                f"say which with --map {assignment_id}=COLUMN"
            )
        found[assignment_id] = matches[0] if matches else None
    return found


def match_students(roster: Roster, grades: Grades, key: str | None = None) -> tuple[str, dict[str, RosterStudent]]:
    """(key name, {report student id: RosterStudent}); an ExportError naming every submission left unmatched."""
    names = [key] if key else list(roster.key_names)
    if key and key not in roster.key_names:
        raise ExportError(
            f"--roster-key {key!r}: the {roster.kind} roster's identifiers are {', '.join(roster.key_names)}"
        )
    students = grades.students

    def index(name: str) -> defaultdict[str, list[RosterStudent]]:
        by_value: defaultdict[str, list[RosterStudent]] = defaultdict(list)
        for student in roster.students:
            if student.keys.get(name):
                by_value[student.keys[name]].append(student)
        return by_value

    best = max(names, key=lambda name: (sum(s in index(name) for s in students), -names.index(name)))
    by_value = index(best)
    unmatched = [s for s in students if s not in by_value]
    if unmatched:
        raise ExportError(
            f"{len(unmatched)} submission(s) have no row in {roster.path} (students matched on its "
            f"{best!r} column): {', '.join(unmatched)}. Add them to the LMS course and export the roster "
            "again, or choose the identifier with --roster-key; nothing was written"
        )
    ambiguous = [s for s in students if len(by_value[s]) > 1]
    if ambiguous:
        raise ExportError(
            f"{roster.path}: several rows share the {best!r} of {', '.join(ambiguous)}; choose "
            "another identifier with --roster-key; nothing was written"
        )
    return best, {s: by_value[s][0] for s in students}


# --- writing ------------------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: Path
    format: str
    rows: int = 0  # student rows written
    key: str = ""  # the roster column students were matched on
    new_columns: list[str] = field(default_factory=list)  # assignments written as new LMS columns
    warnings: list[str] = field(default_factory=list)  # what the instructor should know (never silent)


def _write_atomically(path: StrPath, rows: Iterable[Sequence[object]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def _value(grades: Grades, student_id: str, assignment_id: str) -> str:
    submission = grades.submissions.get((student_id, assignment_id))
    if submission is None or submission.total is None:
        return ""
    return points(submission.total)


def _warnings(grades: Grades) -> list[str]:
    warnings = [
        f"{student}/{assignment}: no grade (nbgrader could not score it; grade it again), left empty"
        for student, assignment in grades.unscored()
    ]
    return warnings + [f"not exported (no submission): {problem}" for problem in grades.problems]


def _lms_export(
    grades: Grades, roster: Roster, to: StrPath, key: str | None, mapping: Mapping[str, str] | None
) -> ExportResult:
    key_name, matched = match_students(roster, grades, key)
    columns = assignment_columns(roster, grades.assignments, mapping)
    result = ExportResult(Path(to), roster.kind, key=key_name, warnings=_warnings(grades))
    by_row = {id(student): student_id for student_id, student in matched.items()}
    titles: list[str] = []
    for assignment_id in grades.assignments:
        column = columns[assignment_id]
        if column is None:
            result.new_columns.append(assignment_id)
        else:
            theirs = _number_or_none(roster.points_possible.get(column))
            if theirs is not None and round(theirs, 2) != round(grades.points_possible(assignment_id), 2):
                result.warnings.append(
                    f"{column}: {points(theirs)} points possible in the LMS, "
                    f"{points(grades.points_possible(assignment_id))} in the grader; the scores are the grader's "
                    "points (set the LMS assignment to the same points)"
                )
        titles.append(column or assignment_id)
    if roster.kind == "canvas":
        header = roster.info + titles
        table = [
            header,
            [CANVAS_POINTS_POSSIBLE]
            + [""] * (len(roster.info) - 1)
            + [points(grades.points_possible(a)) for a in grades.assignments],
        ]
    else:
        header = [key_name, *titles]
        table = [header]
    for student in roster.students:
        student_id = by_row.get(id(student))
        values: list[str] = []
        for assignment_id, title in zip(grades.assignments, titles):
            value = _value(grades, student_id, assignment_id) if student_id else ""
            if not value and (student_id, assignment_id) not in grades.submissions and roster.excused(student, title):
                value = "EX"
            values.append(value)
        if roster.kind == "canvas":
            table.append([student.row.get(column, "") for column in roster.info] + values)
        elif student.keys.get(key_name):  # Moodle skips a row without its identifier
            table.append([student.keys[key_name], *values])
        else:
            continue
        result.rows += 1
    _write_atomically(to, table)
    return result


def _per_question(grades: Grades, to: StrPath, roster: Roster | None = None, key: str | None = None) -> ExportResult:
    result = ExportResult(Path(to), "per-question", warnings=_warnings(grades))
    names: dict[str, str] = {}
    if roster is not None:
        result.key, matched = match_students(roster, grades, key)
        by_row = {id(student): student_id for student_id, student in matched.items()}
        order: list[str] = []
        for student in roster.students:
            student_id = by_row.get(id(student), student.keys.get(result.key, ""))
            order.append(student_id)
            names[student_id] = _display_name(roster, student)
    else:
        order = grades.students
    cells: list[tuple[str, Cell, str]] = []
    for assignment_id in grades.assignments:
        several = len({notebook for notebook, _ in grades.maxima[assignment_id]}) > 1
        for notebook_id, grade_id in sorted(grades.maxima[assignment_id]):
            title = f"{assignment_id}/{notebook_id}/{grade_id}" if several else f"{assignment_id}/{grade_id}"
            cells.append((assignment_id, (notebook_id, grade_id), title))
    header = (
        ["student_id"]
        + (["name"] if roster is not None else [])
        + [title for *_, title in cells]
        + [f"{assignment_id} total" for assignment_id in grades.assignments]
        + ["total"]
    )
    maxima = (
        [points(grades.maxima[a][cell]) for a, cell, _ in cells]
        + [points(grades.points_possible(a)) for a in grades.assignments]
        + [points(sum(grades.points_possible(a) for a in grades.assignments))]
    )
    table = [header, ["max_score"] + ([""] if roster is not None else []) + maxima]
    for student_id in order:
        row = [student_id] + ([names.get(student_id, "")] if roster is not None else [])
        for assignment_id, cell, _ in cells:
            submission = grades.submissions.get((student_id, assignment_id))
            score = submission.cells.get(cell) if submission else None
            row.append("" if score is None else points(score))
        totals = [
            grades.submissions[(student_id, a)].total if (student_id, a) in grades.submissions else None
            for a in grades.assignments
        ]
        row += ["" if total is None else points(total) for total in totals]
        known = [(student_id, a) in grades.submissions for a in grades.assignments]
        row.append(points(sum(t for t in totals if t is not None)) if any(known) else "")
        table.append(row)
        result.rows += 1
    _write_atomically(to, table)
    return result


def _display_name(roster: Roster, student: RosterStudent) -> str:
    if roster.kind == "canvas":
        return student.row.get("Student") or f"{student.row.get('FirstName', '')} {student.row.get('LastName', '')}"
    return f"{student.row.get('First name', '')} {student.row.get('Last name', '')}".strip()


def _nbgrader(report: StrPath, to: StrPath, db_url: str | None = None) -> ExportResult:
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    db_url = db_url or f"sqlite:///{Path(report).resolve() / 'gradebook.db'}"
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        raise ExportError(
            f"{db_url[len('sqlite:///') :]}: no gradebook there; export the folder "
            "`grader autograde --out` wrote, or pass --db"
        )
    plugin = CsvExportPlugin()
    plugin.to = str(to)
    with Gradebook(db_url) as gradebook:
        plugin.export(gradebook)
    return ExportResult(Path(to), "nbgrader")


def export(
    report: StrPath,
    to: StrPath,
    format: str = "nbgrader",
    roster: StrPath | None = None,
    key: str | None = None,
    mapping: Mapping[str, str] | None = None,
    db_url: str | None = None,
) -> ExportResult:
    """Write the grades of the report folder ``report`` to ``to`` in ``format``; return an :class:`ExportResult`.

    ``roster`` is the LMS's own gradebook export (required for ``canvas`` and
    ``moodle``, optional for ``per-question``), ``key`` the roster column the
    report's student ids are (default: the one matching most), ``mapping``
    {assignment id: roster column or LMS assignment id}. Raises
    :class:`ExportError` before writing anything when a submission has no
    roster row.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r} (formats: {', '.join(FORMATS)})")
    if format == "nbgrader":
        return _nbgrader(report, to, db_url)
    grades = read_grades(report)
    if format == "per-question":
        return _per_question(grades, to, read_roster(roster, _roster_kind(roster)) if roster else None, key)
    if roster is None:
        where = (
            "Grades > Export > Export Entire Gradebook" if format == "canvas" else "Grades > Export > Plain text file"
        )
        raise ExportError(
            f"--format {format} needs --roster: the gradebook the LMS exports ({where}), "
            "so that students and assignments get the LMS's ids"
        )
    return _lms_export(grades, read_roster(roster, format), to, key, mapping)


def _roster_kind(path: StrPath) -> str:
    header = [cell.strip() for cell in _sniff_rows(path)[0]]
    return "canvas" if header[:1] in (["Student"], ["LastName"]) else "moodle"
