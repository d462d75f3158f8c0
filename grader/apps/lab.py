"""The student's JupyterLab: the course's notebooks with nbgrader's student tools and nothing of the instructor's.

nbgrader 0.9.6 installs four server extensions and one Lab extension with
several plugins, all enabled for everyone. A student needs Validate and the
assignment/course lists; the formgrader and the "Create Assignment" cell
toolbar are the instructor's and would show a gradebook that is not theirs.
They are switched off for this server only, through a config directory put
first on ``JUPYTER_CONFIG_PATH`` (the same files ``jupyter labextension
disable`` writes), so the student's and the instructor's own Jupyter
configurations stay untouched.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..course import DEFAULT_ROOT

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
    page_config = {"disabledExtensions": {plugin: True for plugin in INSTRUCTOR_LAB_PLUGINS}}
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config, indent=2))
    server_config = {"ServerApp": {"jpserver_extensions": STUDENT_SERVER_EXTENSIONS}}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config, indent=2))
    return config_dir


def lab_environment(config_dir, environ=None):
    """``environ`` (default: this process's) with ``config_dir`` first on ``JUPYTER_CONFIG_PATH``."""
    env = dict(os.environ if environ is None else environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(config_dir), env.get("JUPYTER_CONFIG_PATH")]))
    return env


def lab_command(course_root=DEFAULT_ROOT, port=None, open_browser=True):
    """argv that starts JupyterLab on ``<course_root>/notebooks`` with this interpreter's Jupyter.

    With ``port`` the server takes exactly that port on loopback (or fails),
    which is what a test needs; without it Jupyter picks a free one.
    """
    notebooks = Path(course_root).resolve() / "notebooks"
    # The command line outranks every config file, so the instructor's formgrader stays off
    # even where a user-level config enables it.
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}"]
    argv += [f"--ServerApp.jpserver_extensions={name}={enabled}" for name, enabled in STUDENT_SERVER_EXTENSIONS.items()]
    if port is not None:
        argv += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if not open_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Containers and CI run as root; Jupyter refuses that unless told.
        argv.append("--allow-root")
    return argv


def launch_lab(course_root=DEFAULT_ROOT, port=None, open_browser=True):
    """Run the student's JupyterLab until it is stopped (Ctrl+C); returns its exit status.

    It runs in the course root, where nbgrader's Validate finds the course's ``nbgrader_config.py``.
    """
    with tempfile.TemporaryDirectory(prefix="grader-lab-") as config_dir:
        write_student_config(config_dir)
        try:
            return subprocess.call(lab_command(course_root, port, open_browser), cwd=Path(course_root),
                                   env=lab_environment(config_dir))
        except KeyboardInterrupt:
            return 0
