"""The student's JupyterLab: their own copy of the course's notebooks, with nbgrader's student tools only.

**The workspace.** A student never works in the committed release
(``notebooks/``, which ``grader release`` regenerates and a test compares with
the solutions). ``grader lab`` first fetches each released assignment into the
student's workspace, with nbgrader's own ``ExchangeFetchAssignment`` reading
the course's release folder where it would read an exchange's ``outbound/``:
``<workspace>/<assignment_id>/``, exactly where ``nbgrader fetch_assignment``
puts an assignment fetched into the workspace (``<workspace>/<course_id>/
<assignment_id>/`` with ``Exchange.path_includes_course``). The workspace is
nbgrader's ``Exchange.assignment_dir`` setting; its default here is
``~/<course_id>`` (``~/gmm-em``), and ``grader lab --workspace DIR`` or that
setting in the course's ``nbgrader_config.py`` choose another. An assignment
the workspace does not have yet is copied whole; one it has is fetched with
``replace_missing_files`` (nbgrader's ``fetch_assignment --replace``): a file
the student deleted comes back, a file that exists is never overwritten.

**The tools.** nbgrader 0.9.6 installs four server extensions and one Lab
extension with several plugins, all enabled for everyone. A student needs
Validate and the assignment/course lists; the formgrader and the "Create
Assignment" cell toolbar are the instructor's and would show a gradebook that
is not theirs. They are switched off for this server only, through a config
directory put first on ``JUPYTER_CONFIG_PATH`` (the same files ``jupyter
labextension disable`` writes), so the student's and the instructor's own
Jupyter configurations stay untouched. The server runs in the course root,
where Validate (which loads ``nbgrader_config.py`` from the server's working
directory) finds the course's configuration.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default import ExchangeFetchAssignment
from traitlets import default

from ..course import DEFAULT_ROOT, CourseError

#: nbgrader's server extensions as a student gets them.
STUDENT_SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.course_list": True,
    "nbgrader.server_extensions.formgrader": False,
}

#: Plugins of nbgrader's Lab extension (``@jupyter/nbgrader``) that only an instructor uses.
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")


def write_student_config(config_dir):
    """Write the Jupyter config that enables only the student's nbgrader tools; returns ``config_dir``."""
    config_dir = Path(config_dir)
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, True)}
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2))
    server_config = {"ServerApp": {"jpserver_extensions": STUDENT_SERVER_EXTENSIONS}}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=2))
    return config_dir


def lab_environment(config_dir, environ=None):
    """``environ`` (default: this process's) with ``config_dir`` first on ``JUPYTER_CONFIG_PATH``."""
    env = dict(os.environ if environ is None else environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(config_dir), env.get("JUPYTER_CONFIG_PATH")]))
    return env


class FetchFromRelease(ExchangeFetchAssignment):
    """nbgrader's ``fetch_assignment`` with the course's release folder in place of an exchange.

    The source is ``CourseDirectory``'s release path of the assignment (what
    ``release_assignment`` would copy to the exchange); destination, ignore
    patterns and the copy are nbgrader's. Files the student has are never
    replaced: ``replace_missing_files`` defaults to True, so fetching into an
    existing copy only adds what is missing.
    """

    @default("assignment_dir")
    def _workspace_default(self):
        return os.path.join("~", self.coursedir.course_id or "course")

    @default("replace_missing_files")
    def _never_overwrite(self):
        return True

    def ensure_root(self):
        """There is no exchange to check: the release folder is read directly."""

    def init_src(self):
        release = self.coursedir.release_directory
        self.src_path = os.path.normpath(self.coursedir.format_path(release, ".", self.coursedir.assignment_id))
        if not os.path.isdir(self.src_path):
            self._assignment_not_found(self.src_path, os.path.normpath(self.coursedir.format_path(release, ".", "*")))

    def init_dest(self):
        self.assignment_dir = os.path.expanduser(self.assignment_dir)  # type: ignore[has-type]  # a trait of untyped nbgrader
        super().init_dest()


def _files(folder):
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def released_assignments(course):
    """Assignment ids of the course's release: its folders that hold notebooks."""
    return sorted({path.parent.name for path in course.release.glob("*/*.ipynb")})


def _config(course, workspace=None):
    if workspace is None:
        return course.config()
    return course.config(ExchangeFetchAssignment={"assignment_dir": str(Path(workspace).expanduser().resolve())})


def workspace_path(course, workspace=None):
    """The student's workspace: ``workspace`` if given, else the course's ``Exchange.assignment_dir``, resolved.

    A workspace in the course's release (``notebooks/``) is refused: the
    release is regenerated by ``grader release`` and must stay as generated.
    """
    config = _config(course, workspace)
    fetch = FetchFromRelease(coursedir=CourseDirectory(config=config), config=config)
    path = Path(os.path.expanduser(fetch.assignment_dir)).resolve()
    if path == course.release or path.is_relative_to(course.release):
        raise CourseError(
            f"{path} is in the course's release {course.release}, which `grader release` "
            f"regenerates: choose a workspace outside it (--workspace DIR)"
        )
    return path


class Fetched(NamedTuple):
    """One assignment fetched into the workspace: where, whether it was new there, and the files copied."""

    path: Path
    new: bool
    copied: list


def fetch_assignments(course, workspace=None, assignments=None):
    """Fetch the released assignments into the student's workspace; ``{assignment_id: Fetched}``.

    ``workspace`` overrides the configured ``Exchange.assignment_dir``;
    ``assignments`` defaults to every assignment of the release (its folders
    that hold notebooks). An assignment whose files are all in the workspace
    already copies nothing; one that is not there yet is copied whole.
    """
    workspace_path(course, workspace)
    config = _config(course, workspace)
    fetched = {}
    for assignment_id in assignments or released_assignments(course):
        config.CourseDirectory.assignment_id = assignment_id
        fetch = FetchFromRelease(coursedir=CourseDirectory(config=config), config=config)
        fetch.init_src()
        try:
            fetch.init_dest()
        except ExchangeError:
            # The workspace has this assignment and the configuration turned replace_missing_files off:
            # nbgrader's fetch would refuse it, and the student's copy is what they work on.
            fetched[assignment_id] = Fetched(Path(fetch.dest_path), False, [])
            continue
        destination = Path(fetch.dest_path)
        new, before = not destination.exists(), _files(destination)
        fetch.copy_files()
        fetched[assignment_id] = Fetched(destination, new, sorted(str(p) for p in _files(destination) - before))
    return fetched


def lab_command(root_dir, port=None, open_browser=True):
    """argv that starts JupyterLab on ``root_dir`` (the student's workspace) with this interpreter's Jupyter.

    With ``port`` the server takes exactly that port on loopback (or fails),
    which is what a test needs; without it Jupyter picks a free one.
    """
    # The command line outranks every config file, so the instructor's formgrader stays off
    # even where a user-level config enables it.
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(root_dir).resolve()}"]
    argv += [f"--ServerApp.jpserver_extensions={name}={enabled}" for name, enabled in STUDENT_SERVER_EXTENSIONS.items()]
    if port is not None:
        argv += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if not open_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Containers and CI run as root; Jupyter refuses that unless told.
        argv.append("--allow-root")
    return argv


def launch_lab(course_root=DEFAULT_ROOT, workspace=None, port=None, open_browser=True):
    """Run the student's JupyterLab on ``workspace`` until it is stopped; returns its exit status.

    The workspace is filled by :func:`fetch_assignments` first. The server
    runs in the course root, where nbgrader's Validate finds the course's
    ``nbgrader_config.py``. Ctrl+C in the terminal reaches the server too
    (Jupyter asks to confirm, then shuts its kernels down) and SIGTERM is
    passed on to it: either way this waits for the server's own shutdown
    instead of leaving it or its kernels behind.
    """
    with tempfile.TemporaryDirectory(prefix="grader-lab-") as config_dir:
        write_student_config(config_dir)
        server = subprocess.Popen(
            lab_command(workspace, port, open_browser), cwd=Path(course_root), env=lab_environment(config_dir)
        )
        previous = signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            while True:
                try:
                    return server.wait()
                except KeyboardInterrupt:
                    continue
        finally:
            signal.signal(signal.SIGTERM, previous)
