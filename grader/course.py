"""The course on disk: its nbgrader configuration, assignments and release.

Everything here works on a course root (the folder holding
``nbgrader_config.py``, ``solutions/`` and ``notebooks/``), so tests can point
it at a temporary copy.
"""

import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import ClearSolutions, Execute
from traitlets.config import Config, PyFileConfigLoader

from . import assignments
from .nbgrader_internals import check_metadata_schemas_once, preprocessors_swapped, read_schema_version_in_process
from .preprocessors import ClearSolutionsAndBlanks, SocketFolderExecute

#: nbgrader's own GenerateAssignment pipeline with ClearSolutions swapped for ours.
GENERATE_ASSIGNMENT_PREPROCESSORS = preprocessors_swapped(
    GenerateAssignment, "preprocessors", replace=ClearSolutions, by=ClearSolutionsAndBlanks
)
#: nbgrader's own Autograde pipeline with its kernels on Unix sockets (grader.preprocessors.execute says why).
AUTOGRADE_PREPROCESSORS = preprocessors_swapped(
    Autograde, "autograde_preprocessors", replace=Execute, by=SocketFolderExecute
)

#: The package root: a checkout of the course is the default course.
DEFAULT_ROOT = Path(__file__).resolve().parent.parent


class CourseError(Exception):
    """The course itself is unusable (missing config, unknown assignment)."""


def ensure_tools_on_path():
    """Make nbgrader usable from this interpreter, as a program and as a library.

    nbgrader (as a program) runs ``alembic``: this interpreter's scripts go on
    PATH. As a library it runs ``alembic heads`` in a subprocess for every new
    gradebook (2.5 s, a third of grading a small class); the same revision is
    read in-process instead. Its cell-metadata schema is checked once, not
    for every cell it reads.
    """
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    read_schema_version_in_process()
    check_metadata_schemas_once()


class Course:
    """A course root with ``nbgrader_config.py``, ``solutions/`` and ``notebooks/``."""

    def __init__(self, root=DEFAULT_ROOT):
        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"{self.root}: not a course (no nbgrader_config.py)")
        self.solutions = self.root / "solutions"
        self.release = self.root / "notebooks"
        #: The assignment specs: the course's own ``assignments/`` folder first, then the package's.
        self.specs = assignments.for_course(self.root)

    @property
    def assignments(self):
        """Assignment ids: the folders of ``solutions/`` that hold notebooks."""
        return sorted(p.parent.name for p in self.solutions.glob("*/*.ipynb"))

    def notebooks(self, assignment_id):
        """Notebook names (without .ipynb) of one assignment."""
        self.require(assignment_id)
        return sorted(p.stem for p in (self.solutions / assignment_id).glob("*.ipynb"))

    def require(self, assignment_id):
        if assignment_id not in self.assignments:
            raise CourseError(
                f"assignment {assignment_id!r} is not in {self.solutions} "
                f"(the course has: {', '.join(self.assignments)})"
            )

    def config(self, **sections):
        """The course's nbgrader config, with ``sections`` merged on top.

        ``config(CourseDirectory={"db_url": ...})`` overrides single traits.
        """
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.merge(Config(sections))
        return config

    def generate_release(self, release_dir=None, db_url=None, assignments=None):
        """Run nbgrader's generate_assignment for each assignment into ``release_dir``.

        Defaults write the committed release (``notebooks/``) and the course's
        gradebook. Returns the release directory.
        """
        from nbgrader.coursedir import CourseDirectory

        ensure_tools_on_path()
        release_dir = Path(release_dir or self.release).resolve()
        overrides = {"release_directory": str(release_dir)}
        if db_url:
            overrides["db_url"] = db_url
        config = self.config(CourseDirectory=overrides)
        for assignment_id in assignments or self.assignments:
            self.require(assignment_id)
            target = release_dir / assignment_id
            if target.exists():
                shutil.rmtree(target)
            config.CourseDirectory.assignment_id = assignment_id
            coursedir = CourseDirectory(config=config)
            converter = GenerateAssignment(coursedir=coursedir, config=config)
            converter.force = True
            with _quiet_logs(converter):
                converter.start()
        return release_dir

    def nbgrader_autograde(self, assignment_id, student_id="*", db_url=None):
        """Plain, sequential ``nbgrader autograde`` of ``submitted/`` (the baseline our pipeline must match)."""
        from nbgrader.coursedir import CourseDirectory

        ensure_tools_on_path()
        self.require(assignment_id)
        overrides = {"assignment_id": assignment_id, "student_id": student_id}
        if db_url:
            overrides["db_url"] = db_url
        config = self.config(CourseDirectory=overrides)
        converter = Autograde(coursedir=CourseDirectory(config=config), config=config)
        converter.force = True
        with _quiet_logs(converter):
            converter.start()

    def db_url(self, **overrides):
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config(CourseDirectory=overrides)).db_url


def read_grades(db_url, assignment_id):
    """Autograded scores from a gradebook: ``{(student, notebook, grade_id): (score, max_score)}``."""
    from nbgrader.api import Gradebook

    grades = {}
    with Gradebook(db_url) as gradebook:
        assignment = gradebook.find_assignment(assignment_id)
        for submission in assignment.submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grades[(submission.student.id, notebook.name, grade.name)] = (grade.score, grade.max_score)
    return grades


@contextlib.contextmanager
def _quiet_logs(app):
    """nbgrader logs every file at INFO; keep warnings and errors only."""
    level = app.log.level
    app.log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.log.setLevel(level)
