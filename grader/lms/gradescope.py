"""Grading on Gradescope with this course's pipeline: ``grader gradescope build`` and the ``run_autograder`` it ships.

The layout follows Gradescope's "Autograder Specifications"
(gradescope-autograders.readthedocs.io/en/latest/specs/, the ``docs/specs.md``
of gradescope/autograder_samples):

* the zip has ``setup.sh`` (run once, as root, while Gradescope builds the
  image) and ``run_autograder`` (run for every submission, from
  ``/autograder``) at its root; Gradescope unpacks it into
  ``/autograder/source``;
* the student's files are in ``/autograder/submission``; ``run_autograder``
  must write ``/autograder/results/results.json``: a top-level ``score``,
  ``output`` (text for the whole submission), ``execution_time`` and
  ``tests``, each test with ``name``, ``score``, ``max_score``, ``status``
  (``passed``/``failed``), ``output`` and ``visibility`` (``visible``,
  ``hidden``, ``after_due_date`` or ``after_published``). While a test is
  ``after_due_date``, Gradescope shows students neither it nor their total.

Besides the two scripts the zip holds ``package/`` (this package's source, which
``setup.sh`` installs into a virtual environment), ``course/`` (the course's
``nbgrader_config.py``, the assignment's solution and release, the course's
own specs, and the course secret the hidden inputs are drawn from) and
``grader-gradescope.json`` (which assignment it grades).

``run_autograder`` grades the notebooks in the submission folder as a class of
one with :func:`grader.pipeline.autograde.autograde`, the same pipeline as
``grader autograde`` (sandboxed execution, verification out of the kernel on
the notebook's and hidden inputs, misconception diagnosis): the scores are the
same. Each graded cell becomes two tests: its verdict on the notebook's own
data, ``visible`` and worth no points, with the check's message and the
misconception hint; and its verdict on the hidden inputs as well, which carries
the cell's points and is ``after_due_date``, so that nothing about the hidden
inputs is shown before the deadline. A graded cell without hidden inputs is one
visible test with its points. Outputs hold the checks' messages, which never
contain test code or expected values, and never the student's own output.
Paths come from ``GRADESCOPE_AUTOGRADER_ROOT`` (default ``/autograder``).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from ..course import DEFAULT_ROOT, Course, CourseError
from ..misconceptions import CATALOGUE
from ..pipeline.feedback import NOTE_EXPLANATIONS
from ..verify import SECRET_FILE, course_secret, read_verdicts

if TYPE_CHECKING:
    from ..pipeline.autograde import Run

ROOT_ENV = "GRADESCOPE_AUTOGRADER_ROOT"
DEFAULT_GRADESCOPE_ROOT = "/autograder"
CONFIG = "grader-gradescope.json"
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The student id of the class of one graded in the container.
STUDENT = "student"
#: Notes that tell how a submission fared on the hidden inputs: shown with those tests, after the due date.
HIDDEN_NOTES = ("hard-coded", "other-inputs")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: When the tests on hidden inputs (which carry the points) may be shown; Gradescope's "hidden" is for tests
#: worth no points, so it is not offered.
HIDDEN_INPUT_VISIBILITIES = ("after_due_date", "after_published", "visible")
_WHEN = {"after_due_date": "after the due date", "after_published": "when the grades are published", "visible": "now"}


# --- building the zip ---------------------------------------------------------------------------------------


def _package_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(path in the zip, file) of this package's source: what ``pip install`` needs to install it."""
    for name in ("pyproject.toml", "README.md"):
        if not (root / name).is_file():
            raise CourseError(
                f"{root}: no {name}; build the Gradescope autograder from a checkout of the course package"
            )
        yield f"package/{name}", root / name
    for path in sorted((root / "grader").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield f"package/{path.relative_to(root)}", path


def _course_files(course: Course, assignment_id: str) -> Iterator[tuple[str, Path]]:
    """(path in the zip, file) of what grading ``assignment_id`` needs from the course."""
    release = course.release / assignment_id
    if not any(release.glob("*.ipynb")):
        raise CourseError(f"{release}: no release of {assignment_id}; run `grader release {assignment_id}` first")
    yield "course/nbgrader_config.py", course.root / "nbgrader_config.py"
    for folder in (course.solutions / assignment_id, release, course.root / "assignments"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                    yield f"course/{path.relative_to(course.root)}", path


def _add(archive: zipfile.ZipFile, name: str, data: str | bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions, for unzip
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(
    assignment_id: str,
    out: str | os.PathLike[str],
    course: Course | None = None,
    hidden_visibility: str = "after_due_date",
) -> Path:
    """Write the Gradescope autograder zip of ``assignment_id`` to ``out``; returns its path.

    ``hidden_visibility`` is when students see the tests on hidden inputs (and
    so their total): one of :data:`HIDDEN_INPUT_VISIBILITIES`.

    The zip holds the course secret: it is written readable by its owner only,
    and belongs only on Gradescope.
    """
    course = course or Course()
    course.require(assignment_id)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if hidden_visibility not in HIDDEN_INPUT_VISIBILITIES:
        raise CourseError(
            f"hidden-input tests can be shown {', '.join(HIDDEN_INPUT_VISIBILITIES)}, not {hidden_visibility!r}"
        )
    config = {
        "assignment": assignment_id,
        "notebooks": course.notebooks(assignment_id),
        "hidden_visibility": hidden_visibility,
    }
    descriptor, scratch = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        with zipfile.ZipFile(scratch, "w") as archive:
            _add(archive, "setup.sh", (TEMPLATES / "setup.sh").read_bytes(), 0o755)
            _add(archive, "run_autograder", (TEMPLATES / "run_autograder").read_bytes(), 0o755)
            _add(archive, CONFIG, json.dumps(config, indent=1) + "\n")
            for name, path in [*_package_files(DEFAULT_ROOT), *_course_files(course, assignment_id)]:
                _add(archive, name, path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)
            _add(archive, f"course/{SECRET_FILE}", course_secret(course.root) + "\n", 0o600)
        os.chmod(scratch, 0o600)
        os.replace(scratch, out)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return out


# --- grading one submission -----------------------------------------------------------------------------------


def _explain(note: str) -> str:
    """The notes of a notebook in plain words, as the feedback page words them."""
    return " ".join(NOTE_EXPLANATIONS.get(part.split(" ")[0], part) for part in note.split("; ") if part)


def _visible_notes(note: str) -> str:
    """A notebook's notes without those that tell how it fared on the hidden inputs."""
    return "; ".join(part for part in note.split("; ") if part and part.split(" ")[0] not in HIDDEN_NOTES)


def _hints(diagnosis: str, message: str = "") -> str:
    """The catalogue's hint for each diagnosed misconception the check's message does not already give."""
    ids = [i for i in diagnosis.split(";") if i in CATALOGUE and CATALOGUE[i].hint not in message]
    return "".join(f"\nWhat to look at ({i}): {CATALOGUE[i].hint}" for i in ids)


def _graded_cells(course: Course, assignment_id: str) -> list[tuple[str, str, float]]:
    """[(notebook, grade_id, points)] of the release's graded cells, in notebook order."""
    cells: list[tuple[str, str, float]] = []
    for notebook in course.notebooks(assignment_id):
        nb = nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                cells.append((notebook, meta["grade_id"], float(meta.get("points", 0))))
    return cells


def _test(
    name: str, score: float, max_score: float, passed: bool, output: str, visibility: str = "visible"
) -> dict[str, Any]:
    return {
        "name": name,
        "score": float(score),
        "max_score": float(max_score),
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": visibility,
    }


def results(
    run: "Run", course: Course, assignment_id: str, notes: Iterable[str] = (), hidden_visibility: str = "after_due_date"
) -> dict[str, Any]:
    """The results.json of a graded class of one (``run`` from :func:`autograde`)."""
    spec = course.specs.get(assignment_id)
    hidden_grades = set(spec.hidden_grades()) if spec is not None else set()
    rows = {(r.notebook_id, r.grade_id): r for r in run.rows if r.student_id == STUDENT and r.grade_id}
    verdicts = read_verdicts(Path(run.out) / "autograded", STUDENT, assignment_id)
    cells = _graded_cells(course, assignment_id)
    several = len({notebook for notebook, *_ in cells}) > 1
    tests: list[dict[str, Any]] = []
    outputs = list(notes)
    notebook_notes: dict[str, str] = {}
    for notebook, grade_id, points in cells:
        row = rows.get((notebook, grade_id))
        score = float(row.score) if row is not None and row.score != "" else 0.0
        max_score = float(row.max_score) if row is not None else points
        note = row.note if row is not None else ""
        if note:
            notebook_notes[notebook] = note
        verdict = verdicts.get(notebook, {}).get(grade_id)
        label = f"{notebook}: {grade_id}" if several else grade_id
        explained = _explain(_visible_notes(note))
        if verdict is None:  # scored by nbgrader alone (no spec for the cell), or not graded at all
            passed = row is not None and score == max_score
            message = (
                "passed"
                if passed
                else ("failed" if row is not None else "not graded")
                + (_hints(row.diagnosis) if row is not None else "")
                + (f"\n{explained}" if explained else "")
            )
            tests.append(_test(label, score, max_score, passed, message))
            continue
        on_hidden = grade_id in hidden_grades
        hidden_failed = verdict.get("note") in HIDDEN_NOTES
        seed_passed = score == max_score or hidden_failed
        if seed_passed:
            seen = "passed on your notebook's data"
        else:
            message = verdict.get("message") or "failed"
            seen = message + _hints(verdict.get("diagnosis", ""), message)
        if explained and not seed_passed:
            seen += f"\n{explained}"
        if not on_hidden:
            tests.append(_test(label, score, max_score, seed_passed, seen))
            continue
        tests.append(
            _test(
                f"{label} (your notebook's data)",
                0.0,
                0.0,
                seed_passed,
                seen
                + (
                    ""
                    if seed_passed
                    else "\nIts points are decided with the same test on other "
                    f"inputs, shown {_WHEN[hidden_visibility]}."
                ),
            )
        )
        if not seed_passed:
            later = "failed on your notebook's data (see the test of the same name above); not judged further"
        elif hidden_failed:
            later = (
                (verdict.get("message") or "failed on other inputs")
                + _hints(verdict.get("diagnosis", ""), verdict.get("message", ""))
                + f"\n{NOTE_EXPLANATIONS[verdict['note']]}"
            )
        else:
            later = "passed on your notebook's data and on other inputs"
        tests.append(_test(f"{label} (other inputs)", score, max_score, score == max_score, later, hidden_visibility))
    for notebook, note in notebook_notes.items():
        visible = _visible_notes(note)
        if visible:
            outputs.append(f"{notebook}.ipynb: {_explain(visible)}")
    for problem in run.problems:
        outputs.append(f"{problem.path.name}: {problem.message}")
    if hidden_grades:
        outputs.append(
            "Each graded cell is checked on your notebook's data (the tests shown now) and on other "
            "inputs; its points need both, and the results on other inputs, with your total, are shown "
            f"{_WHEN[hidden_visibility]}."
        )
    return {"score": float(sum(t["score"] for t in tests)), "output": "\n".join(outputs), "tests": tests}


def _no_notebook_results(course: Course, assignment_id: str, message: str) -> dict[str, Any]:
    tests = [
        _test(
            f"{notebook}: {grade_id}" if len(course.notebooks(assignment_id)) > 1 else grade_id,
            0.0,
            points,
            False,
            message,
        )
        for notebook, grade_id, points in _graded_cells(course, assignment_id)
    ]
    return {"score": 0.0, "output": message, "tests": tests}


def stage(submission: str | os.PathLike[str], target: Path) -> tuple[list[str], list[str]]:
    """Copy the submission's top-level ``*.ipynb`` into ``target``; returns (copied names, other names).

    Links are copied as links (never followed), for the intake to refuse.
    """
    target.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    others: list[str] = []
    for entry in sorted(Path(submission).iterdir()) if Path(submission).is_dir() else []:
        if entry.name.endswith(".ipynb") and (entry.is_symlink() or entry.is_file()):
            shutil.copy2(entry, target / entry.name, follow_symlinks=False)
            copied.append(entry.name)
        else:
            others.append(entry.name)
    return copied, others


def run_autograder(root: str | os.PathLike[str] | None = None, workers: int = 1) -> dict[str, Any]:
    """Grade ``<root>/submission`` and write ``<root>/results/results.json``; returns the results written."""
    from ..pipeline.autograde import autograde
    from ..pipeline.submissions import SubmissionsError

    root = Path(root or os.environ.get(ROOT_ENV, DEFAULT_GRADESCOPE_ROOT)).resolve()
    source, submission, results_dir = root / "source", root / "submission", root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    course = Course(source / "course")
    config = json.loads((source / CONFIG).read_text())
    assignment_id = config["assignment"]
    hidden_visibility = config.get("hidden_visibility", "after_due_date")
    expected = ", ".join(f"{name}.ipynb" for name in course.notebooks(assignment_id))
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as work_dir:
        work = Path(work_dir)
        copied, others = stage(submission, work / "class" / STUDENT / assignment_id)
        notes = [f"Not graded (not a notebook): {', '.join(others)}"] if others else []
        try:
            if not copied:
                raise SubmissionsError(f"no notebook in the submission; upload {expected}")
            # student code sees none of the autograder: its source (course, secret), the upload, the results
            hidden = (source, submission, results_dir)
            run = autograde(work / "class", work / "report", course=course, workers=workers, hidden_paths=hidden)
            data = results(run, course, assignment_id, notes, hidden_visibility)
            if run.failures:
                data["output"] += (
                    "\nThe grader could not score this submission (not your fault): ask your instructor to regrade it."
                )
                print(f"nbgrader could not score the submission: {run.failures}")
        except SubmissionsError as error:
            data = _no_notebook_results(course, assignment_id, f"Nothing was graded: {error}. " + " ".join(notes))
    data["execution_time"] = round(time.monotonic() - started)
    write_results(results_dir / "results.json", data)
    print(
        f"score {data['score']:g}; {sum(t['status'] == 'passed' for t in data['tests'])} of {len(data['tests'])} "
        "tests passed"
    )
    return data


def write_results(path: Path, data: Any) -> None:
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    os.replace(scratch, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.lms.gradescope")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="grade <root>/submission into <root>/results/results.json")
    run.add_argument("--root", type=Path, help=f"the /autograder folder (default ${ROOT_ENV} or /autograder)")
    args = parser.parse_args(argv)
    root = Path(args.root or os.environ.get(ROOT_ENV, DEFAULT_GRADESCOPE_ROOT))
    try:
        run_autograder(root)
    except Exception:
        traceback.print_exc(file=sys.stdout)
        (root / "results").mkdir(parents=True, exist_ok=True)
        write_results(
            root / "results" / "results.json",
            {
                "score": 0.0,
                "tests": [],
                "output": "The autograder failed on this submission (an error in the grader, not in your work); "
                "ask your instructor to regrade it.",
            },
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
