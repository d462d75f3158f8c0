"""Autograde a class: execute in parallel sandboxes, score with nbgrader through one writer, report.

The work is split where it can run in parallel and where it must not:

1. In this process: find and check the submissions, copy them into
   nbgrader's submitted layout, and sanitize each notebook exactly as
   ``nbgrader autograde`` does (restoring locked and test cells from the
   gradebook). Only reads touch the gradebook here.
2. In parallel, anywhere: execute each sanitized notebook in a sandboxed
   child (local worker threads driving forked children, or Dask workers).
   Workers never see the gradebook.
3. Back in this process, one submission at a time: nbgrader's own Autograde
   converter runs with its Execute step replaced by a replay of the outputs
   from step 2, so nbgrader computes and stores the scores (the single writer)
   exactly as it would have. A small ledger next to each autograded
   submission records what was graded, so a re-run skips it.
4. In a renderer process, as each submission's grades are stored: its
   feedback HTML (:class:`.feedback.FeedbackWriter`); the class reports come
   last, from the gradebook.
"""

import errno
import json
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import filelock
import nbformat
import sqlalchemy.exc
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from .. import verify
from ..course import Course, _quiet_logs, ensure_tools_on_path
from ..nbgrader_internals import one_engine_per_database
from ..runtime import executor, zygote
from ..settings import Grading, Intake
from . import ledger, report, timing
from .errors import OutputError, ScoringError
from .submissions import CANVAS_REGEX, check_input, collect, stage

# nbgrader 0.9 triggers SQLAlchemy autoflush warnings on every autograde; they say nothing to an instructor
warnings.filterwarnings("ignore", message=".*not in session.*", module="nbgrader")


class _LoggedErrors(logging.Handler):
    """Collects what nbgrader logs at ERROR while it scores: its tracebacks hold the cause of a failure."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def cause(self):
        """The last line of the last traceback logged (the exception that stopped nbgrader), or None."""
        for message in reversed(self.messages):
            lines = [line for line in message.strip().splitlines() if line.strip()]
            if lines and lines[0].startswith("Traceback"):
                return lines[-1].strip()
        return None


def open_gradebook(db_url):
    """A :class:`Gradebook` on ``db_url``, or an :class:`OutputError` saying what is wrong and what to do."""
    try:
        return Gradebook(db_url)
    except ModuleNotFoundError as error:
        raise OutputError(
            f"{db_url.split('://')[0]} gradebook {_safe_url(db_url)}: the database driver is not "
            f"installed ({error}); for PostgreSQL install the postgres extra "
            "(pip install -e '.[postgres]')"
        ) from None
    except sqlalchemy.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        fix = (
            "move the file away and run again: everything it held is graded again from the submissions"
            if db_url.startswith("sqlite")
            else "check that the server is running and the URL is right"
        )
        raise OutputError(f"gradebook {_safe_url(db_url)} cannot be used ({reason}); {fix}") from None


def gradebook_url(db_url):
    """``db_url`` with the PostgreSQL driver this project installs (psycopg 3) where the URL names none.

    SQLAlchemy 2 reads a bare ``postgresql://`` as psycopg2, which the
    postgres extra does not install.
    """
    try:
        url = sqlalchemy.engine.make_url(db_url)
    except sqlalchemy.exc.ArgumentError:
        raise OutputError(
            f"{db_url!r} is not a database URL (e.g. sqlite:///path/gradebook.db or postgresql://user@host/database)"
        ) from None
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _safe_url(db_url):
    """The URL without its password, to name it in a message."""
    try:
        return sqlalchemy.engine.make_url(db_url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return db_url


def _in_gradebook(gradebook, submission):
    """Whether the gradebook holds a score for every graded cell of the submission (a ledger alone is not proof)."""
    try:
        record = gradebook.find_submission(submission.assignment_id, submission.student_id)
    except MissingEntry:
        return False
    return all(
        grade.auto_score is not None or grade.manual_score is not None
        for notebook in record.notebooks
        for grade in notebook.grades
    )


class ReplayOutputs(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: puts back the outputs a sandboxed worker produced."""

    executed: ClassVar[dict] = {}  # (student, assignment, notebook) -> executed notebook (plain dict)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        executed = self.executed.pop((info["student"], info["assignment"], info["notebook"]))
        if len(executed["cells"]) != len(nb.cells):
            raise RuntimeError("the executed notebook does not match the sanitized one")
        for cell, done in zip(nb.cells, executed["cells"]):
            if cell.cell_type == "code":
                cell.outputs = [nbformat.from_dict(o) for o in done.get("outputs", [])]
                cell.execution_count = done.get("execution_count")
        return nb, resources


@dataclass
class Run:
    """What one ``autograde`` call did."""

    out: Path
    db_url: str
    graded: list = field(default_factory=list)  # (student, assignment) graded in this run
    skipped: list = field(default_factory=list)  # already graded with the same input
    problems: list = field(default_factory=list)  # submissions.Problem
    failures: dict = field(default_factory=dict)  # (student, assignment) -> why nbgrader could not grade it
    regraded: list = field(default_factory=list)  # ledgered as graded, but the gradebook had no grades for it
    rows: list = field(default_factory=list)  # report.Row of everything graded into this output folder
    feedback_errors: dict = field(default_factory=dict)  # feedback page -> why it could not be written


class Grader:
    """Autograding of one output folder (its gradebook, submitted and autograded copies)."""

    def __init__(self, course, out, hidden_paths=(), intake=None, **settings):
        """``settings`` override the course's :class:`grader.settings.Grading` (``workers=2``, ``db_url=...``).

        ``settings`` may also override :class:`grader.settings.Intake`'s limits on the input (or ``intake``
        gives them, already read).
        ``hidden_paths`` are kept from student code beside the grader's own private folders.
        """
        ensure_tools_on_path()
        self.course = course
        limits = {k: settings.pop(k) for k in Intake.names() if k in settings}
        self.intake = intake or Intake.for_course(course, **limits)
        self.settings = Grading.for_course(course, **settings)
        self.out = Path(out).resolve()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(
                f"{self.out}: cannot create the output folder ({error.strerror}); choose a writable --out"
            ) from None
        db_url = self.settings.db_url
        self.db_url = gradebook_url(db_url) if db_url else f"sqlite:///{self.out / 'gradebook.db'}"
        self.secret = verify.course_secret(course.root)  # before the sandbox limits, which hide its file
        self.limits = self.settings.limits(hidden=(*self.private_paths(), *hidden_paths))
        self.submitted = self.out / "submitted"
        self.autograded = self.out / "autograded"
        for private in (self.submitted, self.autograded):
            private.mkdir(exist_ok=True)
            private.chmod(0o700)  # other students' work is not readable by a sandboxed run
        self.config = course.config(
            CourseDirectory={
                "db_url": self.db_url,
                "submitted_directory": str(self.submitted),
                "autograded_directory": str(self.autograded),
            }
        )
        self._data_files = {}

    def private_paths(self):
        """What student code must not see: solutions, gradebooks, everyone's submitted and graded work."""
        root = self.course.root
        gradebooks = [
            url[len("sqlite:///") :] for url in (self.db_url, self.course.db_url()) if url.startswith("sqlite:///")
        ]
        return [
            self.course.solutions,
            self.out,
            *gradebooks,
            root / verify.SECRET_FILE,
            *(root / folder for folder in ("submitted", "autograded", "feedback")),
        ]

    # --- setup -------------------------------------------------------------------------------

    def ensure_assignment(self, assignment_id):
        """Make sure the gradebook knows the assignment's cells (generate_assignment into a scratch release)."""
        with open_gradebook(self.db_url) as gradebook:
            try:
                gradebook.find_assignment(assignment_id)
                return
            except MissingEntry:
                pass
        self.course.generate_release(release_dir=self.out / ".release", db_url=self.db_url, assignments=[assignment_id])

    def data_files(self, assignment_id):
        """Non-notebook files of the assignment (data the notebook reads), as bytes."""
        if assignment_id not in self._data_files:
            folder = self.course.solutions / assignment_id
            self._data_files[assignment_id] = {
                str(p.relative_to(folder)): p.read_bytes()
                for p in sorted(folder.rglob("*"))
                if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts
            }
        return self._data_files[assignment_id]

    def spec_source(self, assignment_id):
        """(assignment id, spec source, file name) for workers, or None where the assignment has no spec."""
        found = self.course.specs.source(assignment_id)
        return None if found is None else (assignment_id, *found)

    def _converter(self, student_id, assignment_id):
        config = self.config.copy()
        config.CourseDirectory.student_id = student_id
        config.CourseDirectory.assignment_id = assignment_id
        converter = Autograde(coursedir=CourseDirectory(config=config), config=config)
        converter.force = True
        return converter

    # --- the three steps ------------------------------------------------------------------------

    def sanitize(self, submission, notebook_name):
        """The notebook as nbgrader will execute it: outputs cleared, locked and test cells restored."""
        path = self.submitted / submission.student_id / submission.assignment_id / f"{notebook_name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        resources = {
            "nbgrader": {
                "student": submission.student_id,
                "assignment": submission.assignment_id,
                "notebook": notebook_name,
                "db_url": self.db_url,
            }
        }
        converter = self._converter(submission.student_id, submission.assignment_id)
        for preprocessor in converter.sanitize_preprocessors:
            nb, resources = preprocessor(config=self.config).preprocess(nb, resources)
        return nb

    def missing_cells(self, assignment_id, notebook_name, nb):
        """Ids of the assignment's nbgrader cells (given, answer or test) that the notebook no longer has."""
        present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
        with Gradebook(self.db_url) as gradebook:
            expected = {cell.name for cell in gradebook.find_notebook(notebook_name, assignment_id).source_cells}
        return sorted(expected - present)

    def score(self, submission, executions):
        """nbgrader's Autograde with the executions replayed; the only step that writes grades."""
        for notebook_name, execution in executions.items():
            ReplayOutputs.executed[(submission.student_id, submission.assignment_id, notebook_name)] = (
                execution.notebook
            )
        converter = self._converter(submission.student_id, submission.assignment_id)
        converter.autograde_preprocessors = [
            ReplayOutputs if issubclass(p, Execute) else p for p in converter.autograde_preprocessors
        ]
        logged = _LoggedErrors()
        converter.log.addHandler(logged)
        try:
            if submission.files:
                with _quiet_logs(converter):
                    converter.start()
            else:
                self._zero_submission(submission)
        except NbGraderException as error:
            raise ScoringError(logged.cause() or str(error)) from None
        finally:
            converter.log.removeHandler(logged)
            for notebook_name in executions:
                ReplayOutputs.executed.pop((submission.student_id, submission.assignment_id, notebook_name), None)

    def _zero_submission(self, submission):
        """Nothing gradable was submitted: record zeros, as nbgrader does for a missing notebook."""
        with Gradebook(self.db_url) as gradebook:
            gradebook.update_or_create_student(submission.student_id)
            record = gradebook.update_or_create_submission(submission.assignment_id, submission.student_id)
            for notebook in record.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gradebook.db.commit()

    # --- the run -------------------------------------------------------------------------------------

    def run(
        self,
        submissions_path,
        progress=None,
        lms_assignment=None,
        collector_regex=CANVAS_REGEX,
        on_graded=None,
    ):
        """Grade everything at ``submissions_path`` that is not graded yet; return a :class:`Run`.

        ``lms_assignment`` marks the input as an LMS download of that assignment (see :func:`collect`).
        ``on_graded(student_id, assignment_id, notes)`` is called as each submission's grades are stored.
        """
        scheduler = self.settings.scheduler
        run = Run(self.out, self.db_url)
        with open_gradebook(self.db_url):
            pass  # a gradebook that cannot be used is said before anything slow starts
        if scheduler:
            _check_scheduler(scheduler)
        if not scheduler:
            zygote.shared().preload(
                "grader.blanks", "grader.verify.child", *(m for spec in self.course.specs.all() for m in spec.preload)
            )
            zygote.shared().start()  # its imports (seconds) overlap with collecting and sanitizing
        with timing.stage("preparation"):
            submissions, run.problems = collect(
                submissions_path, self.course, self.out / ".scratch", lms_assignment, collector_regex, self.intake
            )
        self.limits = self.limits.hiding(submissions_path)
        for assignment_id in sorted({s.assignment_id for s in submissions}):
            with timing.stage("setup", assignment_id):
                self.ensure_assignment(assignment_id)

        pending = []
        with open_gradebook(self.db_url) as gradebook:
            for submission in submissions:
                fingerprint = submission.fingerprint()
                if not ledger.is_graded(self.autograded, submission.student_id, submission.assignment_id, fingerprint):
                    pending.append((submission, fingerprint))
                elif _in_gradebook(gradebook, submission):
                    run.skipped.append(submission.key)
                else:  # the gradebook was emptied or replaced since: the ledger vouches for nothing
                    run.regraded.append(submission.key)
                    pending.append((submission, fingerprint))
        if progress:
            progress.start(total=len(pending))

        jobs = []
        for submission, _fingerprint in pending:
            with timing.stage("preparation", submission.assignment_id):
                stage(submission, self.submitted)
                for notebook_name in submission.files:
                    try:
                        nb = self.sanitize(submission, notebook_name)
                    except Exception as error:  # nbgrader refuses tampered metadata with various exceptions
                        submission.notes[notebook_name] = f"tampered ({error})"
                        continue
                    missing = self.missing_cells(submission.assignment_id, notebook_name, nb)
                    if missing:
                        submission.notes[notebook_name] = "; ".join(
                            filter(None, (submission.notes.get(notebook_name), f"missing-cell ({', '.join(missing)})"))
                        )
                    jobs.append((submission, notebook_name, nb))

        results: dict[tuple[str, str], dict] = {submission.key: {} for submission, _ in pending}
        expected = {submission.key: sum(1 for job in jobs if job[0] is submission) for submission, _ in pending}
        fingerprints = {submission.key: fingerprint for submission, fingerprint in pending}

        def finish(submission):
            executions = results.pop(submission.key)
            notes = dict(submission.notes)
            for name, execution in executions.items():
                if execution.note:
                    notes[name] = "; ".join(filter(None, (notes.get(name), execution.note)))
            try:
                with timing.stage("scoring", submission.assignment_id):
                    self.score(submission, executions)
                # the EM grade cells' scores come from the out-of-kernel verification, after nbgrader's
                with timing.stage("verdicts", submission.assignment_id):
                    recorded = verify.record(
                        self.db_url,
                        self.autograded,
                        submission.student_id,
                        submission.assignment_id,
                        executions,
                        self.submitted,
                        self.course.specs.get(submission.assignment_id),
                    )
                for name, note in recorded.items():
                    notes[name] = "; ".join(filter(None, (notes.get(name), note)))
            except Exception as error:  # one submission nbgrader cannot grade must not stop the class
                cause = str(error) if isinstance(error, ScoringError) else f"{type(error).__name__}: {error}"
                run.failures[submission.key] = cause
                notes["*"] = f"grading-error ({cause})"
            # a failure is the grader's, not the student's: no fingerprint, so the next run grades it again
            ledger.write(
                self.autograded,
                submission.student_id,
                submission.assignment_id,
                None if submission.key in run.failures else fingerprints[submission.key],
                notes,
            )
            run.graded.append(submission.key)
            if on_graded:
                on_graded(submission.student_id, submission.assignment_id, notes)
            if progress:
                progress.advance()

        for submission, _ in pending:
            if expected[submission.key] == 0:
                finish(submission)
        for (submission, notebook_name), execution in self._execute(jobs):
            results[submission.key][notebook_name] = execution
            if len(results[submission.key]) == expected[submission.key]:
                finish(submission)
        if progress:
            progress.stop()
        return run

    def _execute(self, jobs):
        """Yield ((submission, notebook), Execution) as executions finish, locally or on Dask."""
        if not jobs:
            return
        scheduler = self.settings.scheduler
        if scheduler:
            from distributed import Client
            from distributed import as_completed as dask_completed

            with Client(scheduler) as client:
                futures = {
                    client.submit(
                        verify.execute_and_verify,
                        dict(nb),
                        self.data_files(s.assignment_id),
                        self.limits,
                        self.spec_source(s.assignment_id),
                        self.secret,
                        pure=False,
                    ): (s, name, nb)
                    for s, name, nb in jobs
                }
                for future in dask_completed(futures):
                    submission, name, nb = futures[future]
                    yield (submission, name), _result_or_crash(future, nb)
            return
        with ThreadPoolExecutor(max_workers=self.settings.parallel) as pool:
            futures = {
                pool.submit(
                    verify.execute_and_verify,
                    nb,
                    self.data_files(s.assignment_id),
                    self.limits,
                    self.spec_source(s.assignment_id),
                    self.secret,
                ): (s, name, nb)
                for s, name, nb in jobs
            }
            for future in as_completed(futures):
                submission, name, nb = futures[future]
                yield (submission, name), _result_or_crash(future, nb)


def _check_scheduler(address, timeout=10):
    """An :class:`OutputError` naming the Dask scheduler unless a client can connect to it within ``timeout`` s."""
    try:
        from distributed import Client
    except ImportError:
        raise OutputError(
            f"--scheduler {address} needs Dask's distributed, which a student install leaves out: "
            "pip install -e '.[dask]'"
        ) from None
    try:
        with Client(address, timeout=timeout):
            pass
    except (OSError, TimeoutError, ValueError) as error:
        raise OutputError(
            f"Dask scheduler {address}: cannot connect ({type(error).__name__}: {error}); start "
            "it (dask scheduler, then dask worker ADDRESS) or check --scheduler"
        ) from None


def _result_or_crash(future, notebook):
    """A worker that failed outside the student's code still yields an Execution, marked kernel-died."""
    try:
        return future.result()
    except Exception:
        executed = json.loads(json.dumps(notebook))
        executor._mark_unexecuted(executed, "worker-failed")
        return executor.Execution(executed, "kernel-died")


def autograde(
    submissions_path,
    out,
    course=None,
    progress=None,
    lms_assignment=None,
    collector_regex=CANVAS_REGEX,
    hidden_paths=(),
    **settings,
):
    """Grade a class and write the reports; return the :class:`Run`. See ``grader autograde --help``.

    ``settings`` override the course's :class:`grader.settings.Grading` (``workers=2``,
    ``cell_timeout=60``, ...). One run at a time per output folder (a lock file in it); a second one
    raises :class:`OutputError`.
    """
    course = course or Course()
    # an input with nothing to grade is said before anything is created or started
    intake = Intake.for_course(course, **{k: settings.pop(k) for k in Intake.names() if k in settings})
    check_input(submissions_path, course, lms_assignment, collector_regex, intake)
    grader = Grader(course, out, hidden_paths, intake, **settings)
    lock = filelock.FileLock(grader.out / ".grader.lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise OutputError(
            f"{grader.out} is being graded by another run (it holds {lock.lock_file}); wait for it "
            "to finish, or grade into another --out folder"
        ) from None
    try:
        return _autograde_locked(grader, submissions_path, progress, lms_assignment, collector_regex)
    except OSError as error:
        if error.errno not in _OUTPUT_ERRNOS:
            raise
        raise OutputError(
            f"{error.filename or grader.out}: {error.strerror}; free space (or fix the permissions) "
            "and run again: what was graded is kept, the rest is graded then"
        ) from None
    finally:
        lock.release()


#: Failures of writing the output folder that the instructor can fix: full disk or quota, read-only, permissions.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _autograde_locked(grader, submissions_path, progress, lms_assignment, collector_regex):
    from .feedback import FeedbackWriter

    with (
        one_engine_per_database(),
        FeedbackWriter(grader, processes=grader.settings.renderers) as feedback,
    ):
        run = grader.run(
            submissions_path,
            progress=progress,
            lms_assignment=lms_assignment,
            collector_regex=collector_regex,
            on_graded=feedback.submission_graded,
        )
        with timing.stage("reports"):
            run.rows = report.write_all(grader, run, feedback)
    return run
