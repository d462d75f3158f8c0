"""Find a class's submissions and check them before anything runs.

Input is a folder laid out ``<student_id>/<assignment_id>/<notebook>.ipynb``
(nbgrader's submitted layout, possibly under extra top folders, beside stray
files), a zip of one, or an LMS download of one assignment whose file names
carry the student id, parsed by nbgrader's zip-collect filename collector.

Submissions are read as data, never followed or unpacked:

* a folder is listed without following a symbolic link; a link (to a file or
  a folder) and anything that is not a plain file is refused, with a note and
  a row, whatever it points to; a hard link to one of the course's own files
  (a solution, the release, the gradebook) is refused the same way, and
  students whose notebooks are one file (hard links) are each told of it;
* a zip is read in place, member by member, nothing extracted: its members'
  count and declared size are bounded, a symlink member is refused like a
  link in a folder, a member compressed beyond a ratio is refused unread;
* a notebook larger than a limit is refused before it is read.

The limits are the traits of :class:`grader.settings.Intake`, set in the
course's ``nbgrader_config.py`` (``c.Intake.max_notebook_mb = 64``) or per run
(``--max-notebook-mb 64``).

Every problem is reported with the file it concerns and never stops the other
submissions: a broken or refused notebook is graded as zero, with a note. An
input with nothing to grade in it (missing, empty, no notebook where the
layout expects one) is a :class:`SubmissionsError`, raised before anything is
created or started (:func:`check_input`).
"""

import contextlib
import copy
import hashlib
import json
import os
import shutil
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..settings import Intake

IGNORED_PARTS = {".ipynb_checkpoints", "__MACOSX"}

#: Canvas names downloaded submissions ``<student>_[late_]<user id>_<submission id>_<file name>``.
CANVAS_REGEX = r".*/(?P<student_id>[^/_]+)_(?:late_)?\d+_\d+_(?P<file_id>[^/]+)$"

LAYOUT = "<student_id>/<assignment_id>/<notebook>.ipynb"
#: Compression ratios are only judged on members at least this large (small files compress freely).
RATIO_FLOOR = 2**20
#: At most this much of a timestamp.txt is read.
TIMESTAMP_BYTES = 1024


class SubmissionsError(Exception):
    """The submissions path itself is unusable (missing, empty, not a folder or zip, beyond the zip limits)."""


@dataclass(frozen=True)
class Entry:
    """One thing in the input, named by its path inside it; read only through :meth:`read_bytes`."""

    source: "_Folder | _Zip"
    parts: tuple  # path inside the input
    kind: str  # "file", "dir" or "refused"
    size: int = 0
    refusal: tuple = ()  # (note, message) of a refused entry
    member: object = None  # the ZipInfo of a zip member
    inode: tuple = ()  # (device, inode) of a folder's file that has other names (hard links)

    @property
    def name(self):
        return self.parts[-1]

    @property
    def path(self):
        """Where the entry is, for messages: the folder's path, or the zip's path followed by the member's."""
        return self.source.path.joinpath(*self.parts)

    @property
    def is_notebook(self):
        return self.kind != "dir" and self.name.endswith(".ipynb")

    def read_bytes(self, limit):
        """The content, at most ``limit`` bytes (more is an OSError); never through a link."""
        return self.source.read(self, limit)


class _Folder:
    """A folder, listed without following links."""

    def __init__(self, path):
        self.path = path

    def entries(self, intake):
        found = []

        def walk(folder, parts):
            with os.scandir(folder) as listing:
                children = sorted(listing, key=lambda child: child.name)
            for child in children:
                if child.name in IGNORED_PARTS or child.name.startswith("."):
                    continue
                here = (*parts, child.name)
                if child.is_symlink():
                    target = os.readlink(child.path)  # the link itself, not what it points to
                    found.append(
                        Entry(
                            self,
                            here,
                            "refused",
                            refusal=("symlink", f"a symbolic link (to {target}): refused, never followed"),
                        )
                    )
                elif child.is_dir(follow_symlinks=False):
                    found.append(Entry(self, here, "dir"))
                    walk(child.path, here)
                elif child.is_file(follow_symlinks=False):
                    status = child.stat(follow_symlinks=False)
                    inode = (status.st_dev, status.st_ino) if status.st_nlink > 1 else ()
                    found.append(_sized(Entry(self, here, "file", status.st_size, inode=inode), intake))
                else:
                    found.append(
                        Entry(
                            self,
                            here,
                            "refused",
                            refusal=("not-a-file", "neither a file nor a folder (a device, pipe or socket): refused"),
                        )
                    )

        walk(self.path, ())
        return found

    def read(self, entry, limit):
        # O_NOFOLLOW: a file replaced by a link since it was listed is not followed either
        fd = os.open(self.path.joinpath(*entry.parts), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{entry.path}: not a plain file")
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise OSError(f"{entry.path}: larger than {limit} bytes")
        return data


class _Zip:
    """A zip, read in place: nothing is extracted, a member is read only up to its declared size and a limit."""

    def __init__(self, path):
        self.path = path
        self._archive = None  # opened on the first read, kept for the others (all in the grading thread)

    def entries(self, intake):
        try:
            with zipfile.ZipFile(self.path) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise SubmissionsError(f"{self.path}: not a readable zip file ({error})") from None
        if len(members) > intake.max_zip_members:
            raise SubmissionsError(
                f"{self.path}: {len(members)} members, more than the {intake.max_zip_members} "
                "a class zip may hold (c.Intake.max_zip_members): nothing was read"
            )
        declared = sum(member.file_size for member in members)
        if declared > intake.max_zip_mb * 2**20:
            raise SubmissionsError(
                f"{self.path}: its members declare {declared / 2**20:.0f} MiB uncompressed, more "
                f"than the {intake.max_zip_mb} MiB a class zip may hold (c.Intake.max_zip_mb): "
                "nothing was read"
            )
        found: dict[tuple[str, ...], Entry] = {}
        folders: set[tuple[str, ...]] = set()
        for member in members:
            parts = tuple(part for part in member.filename.split("/") if part)
            if not parts or member.filename.startswith("/") or ".." in parts:
                raise SubmissionsError(f"{self.path}: unsafe path {member.filename!r} in the zip")
            if IGNORED_PARTS.intersection(parts) or any(part.startswith(".") for part in parts):
                continue
            folders.update(parts[:end] for end in range(1, len(parts)))
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                found[parts] = Entry(
                    self, parts, "refused", refusal=("symlink", "a symbolic link in the zip: refused, never followed")
                )
            elif member.is_dir():
                folders.add(parts)
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                found[parts] = Entry(
                    self, parts, "refused", refusal=("not-a-file", "neither a file nor a folder in the zip: refused")
                )
            else:
                found[parts] = _sized(Entry(self, parts, "file", member.file_size, member=member), intake)
        for folder in folders:
            if folder not in found:
                found[folder] = Entry(self, folder, "dir")
        return [found[parts] for parts in sorted(found)]

    def read(self, entry, limit):
        if self._archive is None:
            self._archive = zipfile.ZipFile(self.path)
        with self._archive.open(entry.member) as handle:
            data = handle.read(limit + 1)  # zipfile stops at the declared size (and checks the CRC there)
        if len(data) > limit:
            raise OSError(f"{entry.path}: larger than {limit} bytes")
        return data


def _sized(entry, intake):
    """``entry``, refused if it is a notebook above the size limit or a zip member compressed beyond the ratio.

    Only notebooks are ever read, so only they are judged.
    """
    if not entry.is_notebook:
        return entry
    if entry.size > intake.notebook_bytes:
        return Entry(
            entry.source,
            entry.parts,
            "refused",
            entry.size,
            refusal=(
                "too-large",
                (
                    f"{entry.size / 2**20:.1f} MiB, more than the {intake.max_notebook_mb} MiB a notebook "
                    "may have (c.Intake.max_notebook_mb): refused unread"
                ),
            ),
        )
    member = entry.member
    if member is not None and member.file_size >= RATIO_FLOOR:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > intake.max_zip_ratio:
            return Entry(
                entry.source,
                entry.parts,
                "refused",
                entry.size,
                refusal=(
                    "compression-ratio",
                    (
                        f"compressed {ratio:.0f} times ({member.file_size / 2**20:.0f} MiB in "
                        f"{member.compress_size / 2**20:.1f} MiB), more than the "
                        f"{intake.max_zip_ratio} times a zip member may be (c.Intake.max_zip_ratio): "
                        "refused unread"
                    ),
                ),
            )
    return entry


def _course_files(course):
    """{(device, inode): path} of the course's own files that have other names too."""
    files = {}
    for folder, _, names in os.walk(course.root):
        for name in names:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                status = os.lstat(path)
                if stat.S_ISREG(status.st_mode) and status.st_nlink > 1:
                    files[(status.st_dev, status.st_ino)] = path
    return files


def _refuse_course_links(entries, course):
    """``entries`` with every hard link to one of the course's own files refused: it is that file, not a copy."""
    if not any(entry.inode for entry in entries):
        return entries
    own = _course_files(course)
    refused = []
    for entry in entries:
        if entry.inode in own:
            message = f"a hard link to the course's own file {own[entry.inode]}: refused, never read"
            entry = Entry(entry.source, entry.parts, "refused", entry.size, refusal=("hard-link", message))
        refused.append(entry)
    return refused


def _shared_files(submissions):
    """Problems for notebooks that are one file (hard links) in the submissions of different students."""
    by_inode: dict[tuple, dict[str, tuple[Submission, Entry]]] = {}
    for submission in submissions:
        for entry in submission.files.values():
            if entry.inode:
                by_inode.setdefault(entry.inode, {}).setdefault(submission.student_id, (submission, entry))
    problems = []
    for holders in by_inode.values():
        if len(holders) < 2:
            continue
        for student_id, (submission, entry) in holders.items():
            others = ", ".join(str(e.path) for s, (_, e) in holders.items() if s != student_id)
            problems.append(
                Problem(
                    entry.path,
                    f"the same file as {others} (hard links): graded, but one of them was not written by its student",
                    student_id,
                    submission.assignment_id,
                    "shared-file",
                )
            )
    return problems


def _source(path):
    path = Path(path)
    if not path.exists():
        raise SubmissionsError(f"{path}: no such file or folder")
    path = path.resolve()  # the instructor's own link to the input is followed; links inside it never are
    if path.is_dir():
        return _Folder(path)
    if zipfile.is_zipfile(path):
        return _Zip(path)
    raise SubmissionsError(f"{path}: neither a folder nor a zip file")


@dataclass
class Submission:
    """One student's work on one assignment, staged in nbgrader's submitted layout."""

    student_id: str
    assignment_id: str
    files: dict = field(default_factory=dict)  # expected notebook name -> Entry
    notes: dict = field(default_factory=dict)  # notebook name -> why it is not graded as submitted
    timestamp: str = ""
    contents: dict = field(default_factory=dict)  # notebook name -> bytes to stage instead of the file's
    limit: int = Intake.max_notebook_mb.default_value * 2**20

    @property
    def key(self):
        return self.student_id, self.assignment_id

    def content(self, name):
        """The bytes staged for one notebook."""
        if name in self.contents:
            return self.contents[name]
        return self.files[name].read_bytes(self.limit)

    def fingerprint(self):
        """Hash of everything that decides the grade, to skip work already graded."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + self.files[name].read_bytes(self.limit))
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
    row: bool = False  # whether the problem is a row of its own in grades.csv (no submission carries it)


def check_notebook(raw):
    """(notebook, None) if ``raw`` (bytes) is a valid notebook; otherwise (None, what is wrong with it)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"unreadable: {error}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
    if not isinstance(data, dict) or "cells" not in data:
        return None, "valid JSON but not a notebook (no 'cells')"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises several types for the many ways a notebook can be invalid
        return None, f"not a valid notebook: {str(error).splitlines()[0]}"
    return nb, None


def restore_metadata(nb, release):
    """Give cells that lost their nbgrader metadata the release's, matched by cell id; the grade ids restored.

    A cell is restored only where its id is a release cell's of the same type
    and the notebook has no other cell with that grade id, so nothing is
    invented and nothing duplicated. nbgrader then treats it as the cell it was
    (a locked or test cell is overwritten from the gradebook as usual).
    """
    present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    graded = {cell.get("id"): cell for cell in release.cells if "nbgrader" in cell.metadata and cell.get("id")}
    restored = []
    for cell in nb.cells:
        original = graded.get(cell.get("id"))
        if "nbgrader" in cell.metadata or original is None or original.cell_type != cell.cell_type:
            continue
        grade_id = original.metadata.nbgrader.get("grade_id")
        if grade_id in present:
            continue
        cell.metadata["nbgrader"] = copy.deepcopy(original.metadata.nbgrader)
        present.add(grade_id)
        restored.append(grade_id)
    return restored


def _describe(entries):
    """What the input holds, in a few words, for a message that says why nothing matched."""
    notebooks = [e for e in entries if e.is_notebook]
    others = [e for e in entries if e.kind != "dir" and not e.is_notebook]
    folders = [e for e in entries if e.kind == "dir"]

    def examples(found):
        return ", ".join(repr("/".join(e.parts)) for e in found[:3]) + (", ..." if len(found) > 3 else "")

    said = []
    if notebooks:
        depths = Counter(len(e.parts) for e in notebooks)
        said.append(
            f"{len(notebooks)} notebook(s) ({examples(notebooks)}; "
            + ", ".join(f"{n} at depth {depth}" for depth, n in sorted(depths.items()))
            + ")"
        )
    if others:
        said.append(f"{len(others)} other file(s) ({examples(others)})")
    if folders:
        said.append(f"{len(folders)} folder(s)")
    return "; ".join(said) or "nothing"


def _layout_root(entries, assignments):
    """The parts of the folder whose children are student ids, or None where no notebook fits the layout.

    Each notebook at depth 3 or more votes for the folder three levels up;
    votes whose middle folder is one of the course's assignments count first,
    so stray files and folders beside or inside the class change nothing.
    """
    votes: Counter[tuple[tuple[str, ...], bool]] = Counter()
    for entry in entries:
        if entry.is_notebook and len(entry.parts) >= 3:
            votes[entry.parts[:-3], entry.parts[-2] in assignments] += 1
    if not votes:
        return None
    return max({root for root, _ in votes}, key=lambda root: (votes[root, True], votes[root, False], -len(root)))


def _scan(path, course, assignment_id, collector_regex, intake):
    """(source, entries, found, unmatched message): what the input holds and how it maps to students."""
    source = _source(path)
    entries = _refuse_course_links(source.entries(intake), course)
    if not any(entry.is_notebook for entry in entries):
        raise SubmissionsError(f"{source.path}: no notebook (.ipynb) to grade; found {_describe(entries)}")
    if assignment_id:
        course.require(assignment_id)
        found = list(_lms_files(source, entries, assignment_id, collector_regex))
        if not any(student_id for student_id, *_ in found):
            raise SubmissionsError(
                f"{source.path}: no file name matches the collector pattern {collector_regex!r} "
                f"(an LMS download of {assignment_id}); found {_describe(entries)}"
            )
        unmatched = f"file name does not match the collector pattern {collector_regex!r}: ignored"
    else:
        root = _layout_root(entries, set(course.assignments))
        if root is None:
            raise SubmissionsError(
                f"{source.path}: no notebook in the layout {LAYOUT} (nbgrader's submitted "
                f"folder, or a zip of one); found {_describe(entries)}. For an LMS download of "
                "one assignment, name it with --assignment"
            )
        found = list(_layout_files(entries, root, set(course.assignments)))
        unmatched = (
            f"not in the layout {LAYOUT} (under {source.path.joinpath(*root)}): ignored "
            "(for an LMS download, name the assignment with --assignment)"
        )
    return source, entries, found, unmatched


def check_input(path, course, assignment_id=None, collector_regex=CANVAS_REGEX, intake=None):
    """Raise :class:`SubmissionsError` if ``path`` holds nothing to grade; only lists it, reads no notebook."""
    _scan(path, course, assignment_id, collector_regex, intake or Intake.for_course(course))


def _lms_files(source, entries, assignment_id, regex):
    """(student_id, assignment_id, name, entry) for an LMS download, named by nbgrader's filename collector."""
    from nbgrader.plugins import FileNameCollectorPlugin

    collector = FileNameCollectorPlugin(named_regexp=regex)
    for entry in entries:
        if not entry.is_notebook:
            continue
        info = collector.collect(str(entry.path))
        if info:
            yield info["student_id"], assignment_id, Path(info["file_id"]).name, entry
        else:
            yield None, None, None, entry


def _layout_files(entries, root, assignments):
    """(student_id, assignment_id, name, entry) of what sits under ``root``.

    Besides the notebooks: an assignment folder without a notebook (name and
    entry None: graded as missing) and a link in place of a student's folder
    (assignment "") or of an assignment's folder (name None), refused.
    """
    depth = len(root)
    for entry in entries:
        inside = entry.parts[:depth] == root
        relative = entry.parts[depth:]
        if entry.is_notebook:
            yield (*relative[:2], entry.name, entry) if inside and len(relative) == 3 else (None, None, None, entry)
        elif inside and entry.refusal[:1] == ("symlink",) and len(relative) == 1:
            yield relative[0], "", None, entry
        elif inside and entry.refusal[:1] == ("symlink",) and len(relative) == 2:
            yield relative[0], relative[1], None, entry
        elif inside and entry.kind == "dir" and len(relative) == 2 and relative[1] in assignments:
            yield relative[0], relative[1], None, None


def collect(path, course, scratch=None, assignment_id=None, collector_regex=CANVAS_REGEX, intake=None):
    """Read the submissions at ``path``; return (submissions, problems).

    With ``assignment_id`` the input is an LMS download of that assignment,
    whose file names are parsed with ``collector_regex`` (groups
    ``student_id`` and ``file_id``). Nothing is unpacked (zips are read in
    place); what older versions unpacked into ``scratch`` is removed.
    """
    if scratch:
        shutil.rmtree(Path(scratch) / "unzipped", ignore_errors=True)
    intake = intake or Intake.for_course(course)
    source, entries, found, unmatched = _scan(path, course, assignment_id, collector_regex, intake)
    lms = bool(assignment_id)
    by_key: dict[tuple[str, str], Submission] = {}
    problems: list[Problem] = []
    folders: dict[tuple[str, str], str] = {}
    assignments = set(course.assignments)
    seen_students: dict[str, str] = {}
    for student_id, assignment, name, entry in found:
        where = entry.path if entry else source.path / student_id / assignment
        if student_id is None:
            problems.append(Problem(where, unmatched))
            continue
        if not assignment:  # a link in place of a student's folder: no assignment to grade it under
            note, message = entry.refusal
            problems.append(
                Problem(where, f"{message}; the student's folder is not graded", student_id, "", note, row=True)
            )
            continue
        if assignment not in assignments:
            problems.append(
                Problem(
                    where,
                    f"unknown assignment {assignment!r} (the course has: {', '.join(sorted(assignments))})",
                    student_id,
                    assignment,
                    "unknown-assignment",
                    row=True,
                )
            )
            continue
        folded = student_id.strip().casefold()
        first = seen_students.setdefault(folded, student_id)
        if first != student_id and entry is None:
            continue  # a duplicate's assignment folder: its notebooks say so, once each
        if first != student_id:
            problems.append(
                Problem(
                    where,
                    f"duplicate student: {student_id!r} is the same id as {first!r}; only {first!r} is graded",
                    student_id,
                    assignment,
                    "duplicate-student",
                    row=True,
                )
            )
            continue
        submission = by_key.setdefault(
            (student_id, assignment), Submission(student_id, assignment, limit=intake.notebook_bytes)
        )
        if entry is None:
            continue  # an assignment folder without a notebook: graded as missing
        if name is None:  # a link in place of the assignment's folder: each of its notebooks is refused
            for expected in course.notebooks(assignment):
                submission.files[expected] = entry
            continue
        submission.files[name[: -len(".ipynb")]] = entry
        folders.setdefault(submission.key, entry.parts[:-1])

    by_parts = {entry.parts: entry for entry in entries}
    submissions = []
    for key, submission in sorted(by_key.items()):
        # an LMS download's folder is everyone's: a timestamp.txt there is no one's
        timestamp = by_parts.get((*folders[key], "timestamp.txt")) if key in folders and not lms else None
        if timestamp is not None and timestamp.kind == "file":
            try:
                submission.timestamp = timestamp.read_bytes(TIMESTAMP_BYTES).decode("utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                problems.append(Problem(timestamp.path, f"timestamp not read ({error}): ignored", *key))
        _match_expected(submission, course, problems)
        submissions.append(submission)
    return submissions, problems + _shared_files(submissions)


def _match_expected(submission, course, problems):
    """Map submitted files onto the assignment's notebook names; note what is missing, renamed, refused or broken."""
    expected = course.notebooks(submission.assignment_id)
    submitted = dict(submission.files)
    files = {}
    for name in expected:
        if name in submitted:
            files[name] = submitted.pop(name)
    missing = [name for name in expected if name not in files]
    if len(missing) == 1 and len(submitted) == 1:
        ((other, entry),) = submitted.items()
        files[missing[0]] = entry
        submission.notes[missing[0]] = f"renamed-notebook (submitted as {other}.ipynb)"
        problems.append(
            Problem(
                entry.path,
                f"expected {missing[0]}.ipynb; graded it as that notebook",
                submission.student_id,
                submission.assignment_id,
                "renamed-notebook",
            )
        )
        submitted.clear()
        missing = []
    for entry in submitted.values():
        problems.append(
            Problem(
                entry.path,
                f"unexpected notebook (expected {', '.join(n + '.ipynb' for n in expected)}): ignored",
                submission.student_id,
                submission.assignment_id,
                "unexpected-notebook",
            )
        )
    for name in missing:
        submission.notes[name] = "missing-notebook"
        problems.append(
            Problem(
                Path(submission.student_id) / submission.assignment_id / f"{name}.ipynb",
                "missing notebook: graded as zero",
                submission.student_id,
                submission.assignment_id,
                "missing-notebook",
            )
        )
    for name, entry in list(files.items()):
        if entry.kind == "refused":
            note, message = entry.refusal
            del files[name]
            submission.notes[name] = _joined(submission.notes.get(name), note)
            problems.append(
                Problem(entry.path, f"{message}; graded as zero", submission.student_id, submission.assignment_id, note)
            )
            continue
        try:
            nb, reason = check_notebook(entry.read_bytes(submission.limit))
        except OSError as error:
            nb, reason = None, f"unreadable: {error}"
        if reason:
            del files[name]
            submission.notes[name] = "invalid-notebook"
            problems.append(
                Problem(
                    entry.path,
                    f"{reason}: graded as zero",
                    submission.student_id,
                    submission.assignment_id,
                    "invalid-notebook",
                )
            )
            continue
        release = _release_notebook(course, submission.assignment_id, name)
        restored = restore_metadata(nb, release) if release is not None else []
        if restored:
            submission.contents[name] = nbformat.writes(nb).encode("utf-8")
            submission.notes[name] = _joined(
                submission.notes.get(name), f"metadata-restored ({len(restored)} cells, by cell id)"
            )
            problems.append(
                Problem(
                    entry.path,
                    f"nbgrader metadata missing from cell(s) {', '.join(restored)}: "
                    "restored from the release by cell id",
                    submission.student_id,
                    submission.assignment_id,
                    "metadata-restored",
                )
            )
    submission.files = files


def _joined(*notes):
    return "; ".join(filter(None, notes))


def _release_notebook(course, assignment_id, name):
    """The released notebook students were given (the cells' ids and nbgrader metadata), or None."""
    path = Path(course.release) / assignment_id / f"{name}.ipynb"
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None


def stage(submission, submitted_dir):
    """Write a submission's gradable notebooks into nbgrader's submitted layout under ``submitted_dir``."""
    folder = Path(submitted_dir) / submission.student_id / submission.assignment_id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in submission.files:
        (folder / f"{name}.ipynb").write_bytes(submission.content(name))
    if submission.timestamp:
        (folder / "timestamp.txt").write_text(submission.timestamp)
    return folder
