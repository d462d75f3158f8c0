"""Find a class's submissions and check them before anything runs.

Input is a folder laid out ``<student_id>/<assignment_id>/<notebook>.ipynb``
(nbgrader's submitted layout, possibly under one extra top folder), a zip of
one, or an LMS download of one assignment whose file names carry the student
id, parsed by nbgrader's zip-collect filename collector. Every problem is
reported with the file it concerns and never stops the other submissions: a
broken notebook is graded as missing, with a note.
"""

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

IGNORED_PARTS = {".ipynb_checkpoints", "__MACOSX"}

#: Canvas names downloaded submissions ``<student>_[late_]<user id>_<submission id>_<file name>``.
CANVAS_REGEX = r".*/(?P<student_id>[^/_]+)_(?:late_)?\d+_\d+_(?P<file_id>[^/]+)$"


class SubmissionsError(Exception):
    """The submissions path itself is unusable (missing, not a folder or zip)."""


@dataclass
class Submission:
    """One student's work on one assignment, staged in nbgrader's submitted layout."""

    student_id: str
    assignment_id: str
    files: dict = field(default_factory=dict)  # expected notebook name -> source Path
    notes: dict = field(default_factory=dict)  # notebook name -> why it is not graded as submitted
    timestamp: str = ""

    @property
    def key(self):
        return self.student_id, self.assignment_id

    def fingerprint(self):
        """Hash of everything that decides the grade, to skip work already graded."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + self.files[name].read_bytes())
        digest.update(json.dumps(self.notes, sort_keys=True).encode())
        return digest.hexdigest()


@dataclass
class Problem:
    """A problem with the input that is not tied to a gradable notebook."""

    path: Path
    message: str
    student_id: str = ""
    assignment_id: str = ""
    note: str = ""


def _unpack(path, scratch):
    path = Path(path)
    if not path.exists():
        raise SubmissionsError(f"{path}: no such file or folder")
    if path.is_dir():
        return path
    if zipfile.is_zipfile(path):
        target = Path(scratch) / "unzipped"
        shutil.rmtree(target, ignore_errors=True)
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                # refuse absolute paths and .. (zip slip) instead of writing outside the target
                if member.filename.startswith("/") or ".." in Path(member.filename).parts:
                    raise SubmissionsError(f"{path}: unsafe path {member.filename!r} in the zip")
            archive.extractall(target)
        return target
    raise SubmissionsError(f"{path}: neither a folder nor a zip file")


def _notebook_files(root):
    return sorted(p for p in root.rglob("*.ipynb")
                  if p.is_file() and not IGNORED_PARTS.intersection(p.relative_to(root).parts))


def _layout_root(root):
    """The folder whose children are student ids: the root, or its single subfolder in a zip."""
    while True:
        children = [c for c in root.iterdir() if c.name not in IGNORED_PARTS and not c.name.startswith(".")]
        files = _notebook_files(root)
        if files and all(len(f.relative_to(root).parts) == 3 for f in files):
            return root
        if len(children) == 1 and children[0].is_dir():
            root = children[0]
            continue
        return root


def check_notebook(path):
    """None if ``path`` is a readable, valid notebook; otherwise what is wrong with it."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"unreadable: {error}"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        return f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
    if not isinstance(data, dict) or "cells" not in data:
        return "valid JSON but not a notebook (no 'cells')"
    try:
        nbformat.validate(nbformat.reads(raw, as_version=4))
    except Exception as error:  # nbformat raises several types for the many ways a notebook can be invalid
        return f"not a valid notebook: {str(error).splitlines()[0]}"
    return None


def _lms_files(root, assignment_id, regex):
    """(student_id, assignment_id, file) for an LMS download, named by nbgrader's filename collector."""
    from nbgrader.plugins import FileNameCollectorPlugin

    collector = FileNameCollectorPlugin(named_regexp=regex)
    for file in _notebook_files(root):
        info = collector.collect(str(file))
        if info:
            yield info["student_id"], assignment_id, file.parent / Path(info["file_id"]).name, file
        else:
            yield None, None, None, file


def _layout_files(root):
    for file in _notebook_files(root):
        parts = file.relative_to(root).parts
        yield (*parts[:2], file, file) if len(parts) == 3 else (None, None, None, file)


def collect(path, course, scratch, assignment_id=None, collector_regex=CANVAS_REGEX):
    """Read the submissions at ``path``; return (submissions, problems).

    ``scratch`` is a folder for unpacking zips. With ``assignment_id`` the
    input is an LMS download of that assignment, whose file names are parsed
    with ``collector_regex`` (groups ``student_id`` and ``file_id``).
    """
    root = _unpack(path, scratch)
    if assignment_id:
        course.require(assignment_id)
        found = _lms_files(root, assignment_id, collector_regex)
        unmatched = f"file name does not match the collector pattern {collector_regex!r}: ignored"
    else:
        root = _layout_root(root)
        found = _layout_files(root)
        unmatched = ("not in the layout <student_id>/<assignment_id>/<notebook>.ipynb: ignored "
                     "(for an LMS download, name the assignment with --assignment)")
    by_key, problems = {}, []
    assignments = set(course.assignments)
    seen_students = {}
    for student_id, assignment_id, named, file in found:
        if student_id is None:
            problems.append(Problem(file, unmatched))
            continue
        if assignment_id not in assignments:
            problems.append(Problem(file, f"unknown assignment {assignment_id!r} (the course has: "
                                          f"{', '.join(sorted(assignments))})", student_id, assignment_id,
                                    "unknown-assignment"))
            continue
        folded = student_id.strip().casefold()
        first = seen_students.setdefault(folded, student_id)
        if first != student_id:
            problems.append(Problem(file, f"duplicate student: {student_id!r} is the same id as {first!r}; "
                                          f"only {first!r} is graded", student_id, assignment_id, "duplicate-student"))
            continue
        submission = by_key.setdefault((student_id, assignment_id), Submission(student_id, assignment_id))
        submission.files[named.name[: -len(".ipynb")]] = file

    submissions = []
    for (student_id, assignment_id), submission in sorted(by_key.items()):
        timestamp = root / student_id / assignment_id / "timestamp.txt"
        if timestamp.is_file():
            submission.timestamp = timestamp.read_text().strip()
        _match_expected(submission, course.notebooks(assignment_id), problems)
        submissions.append(submission)
    return submissions, problems


def _match_expected(submission, expected, problems):
    """Map submitted files onto the assignment's notebook names; note what is missing, renamed or broken."""
    submitted = dict(submission.files)
    files = {}
    for name in expected:
        if name in submitted:
            files[name] = submitted.pop(name)
    missing = [name for name in expected if name not in files]
    if len(missing) == 1 and len(submitted) == 1:
        (other, path), = submitted.items()
        files[missing[0]] = path
        submission.notes[missing[0]] = f"renamed-notebook (submitted as {other}.ipynb)"
        problems.append(Problem(path, f"expected {missing[0]}.ipynb; graded it as that notebook",
                                submission.student_id, submission.assignment_id, "renamed-notebook"))
        submitted.clear()
        missing = []
    for other, path in submitted.items():
        problems.append(Problem(path, f"unexpected notebook (expected {', '.join(n + '.ipynb' for n in expected)}): "
                                      "ignored", submission.student_id, submission.assignment_id, "unexpected-notebook"))
    for name in missing:
        submission.notes[name] = "missing-notebook"
        problems.append(Problem(Path(submission.student_id) / submission.assignment_id / f"{name}.ipynb",
                                "missing notebook: graded as zero", submission.student_id, submission.assignment_id,
                                "missing-notebook"))
    for name, path in list(files.items()):
        reason = check_notebook(path)
        if reason:
            del files[name]
            submission.notes[name] = "invalid-notebook"
            problems.append(Problem(path, f"{reason}: graded as zero", submission.student_id,
                                    submission.assignment_id, "invalid-notebook"))
    submission.files = files


def stage(submission, submitted_dir):
    """Copy a submission's gradable notebooks into nbgrader's submitted layout under ``submitted_dir``."""
    folder = Path(submitted_dir) / submission.student_id / submission.assignment_id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, path in submission.files.items():
        shutil.copyfile(path, folder / f"{name}.ipynb")
    if submission.timestamp:
        (folder / "timestamp.txt").write_text(submission.timestamp)
    return folder
