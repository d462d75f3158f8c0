"""Time and size of a student's install against the test install, each into a fresh venv.

For each target (default: ``.`` then ``.[test]``) a new virtual environment is
made in a temp folder, ``pip install --no-cache-dir -e <course><extra>`` runs in
it with pip's ``--isolated`` (no pip config, no local wheel folders: packages
come from the package index, as on a student's machine), and the script
prints the wall time and the number of distributions installed (``pip list``
minus what a bare venv holds). In each venv it then checks that a student
can work: every check module and the blanks extension import, and ``grader
lab --fetch-only`` fills a workspace with every assignment. Run: ``python benchmarks/student_install.py``
(or ``... "" test`` to choose the extras).
"""

import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def installed(python):
    listing = subprocess.run(
        [python, "-m", "pip", "--isolated", "--disable-pip-version-check", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {entry["name"].lower() for entry in json.loads(listing)}


def measure(extra):
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    with tempfile.TemporaryDirectory(prefix="student-install-") as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        bare = installed(python)
        start = time.monotonic()
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "--isolated",
                "--disable-pip-version-check",
                "install",
                "--quiet",
                "--no-cache-dir",
                "-e",
                target,
            ],
            check=True,
        )
        seconds = time.monotonic() - start
        packages = installed(python) - bare
        works(python, Path(folder) / "workspace")
    return seconds, packages


def works(python, workspace):
    """The student's side runs in this venv: checks, blanks, grader lab's fetch."""
    subprocess.run(
        [
            python,
            "-c",
            "import importlib, pkgutil, grader.checks, grader.blanks\n"
            "for module in pkgutil.iter_modules(grader.checks.__path__):\n"
            "    importlib.import_module(f'grader.checks.{module.name}')",
        ],
        check=True,
    )
    subprocess.run(
        [python, "-m", "grader", "lab", "--workspace", str(workspace), "--fetch-only"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    released = sorted(path.parent.name for path in (ROOT / "notebooks").glob("*/*.ipynb"))
    fetched = sorted(path.parent.name for path in workspace.glob("*/*.ipynb"))
    if fetched != released:
        raise RuntimeError(f"grader lab --fetch-only fetched {fetched}, the release has {released}")


def main(extras):
    results = {}
    for extra in extras:
        seconds, packages = measure(extra)
        results[extra] = packages
        label = f"pip install -e .[{extra}]" if extra else "pip install -e ."
        print(f"{label:32s} {seconds:6.1f} s  {len(packages):4d} packages", flush=True)
    if len(extras) == 2:
        first, second = (results[e] for e in extras)
        print(f"only in {extras[1] or 'base'}: {', '.join(sorted(second - first))}")
        print(f"only in {extras[0] or 'base'}: {', '.join(sorted(first - second))}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["", "test"])
