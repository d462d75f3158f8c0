"""The grader's settings: declared once (grader.settings), set from nbgrader_config.py, the command line or the API."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.course import DEFAULT_ROOT
from grader.samples import SEED_STYLE, fill_blanks
from grader.settings import Grading, Intake, settings_markdown
from tests.support.course import CourseCopy, copy_course

ASSIGNMENT = "01_em_1d"


def configure(course, **lines):
    """Put ``c.<Section>.<name> = value`` lines in the course's nbgrader_config.py, before its last line."""
    config = course.root / "nbgrader_config.py"
    text = config.read_text()
    body, last = text.rstrip("\n").rsplit("\n", 1)
    assert last == "share_with_nbgrader(c)"
    added = "".join(f"c.{key.replace('__', '.')} = {value!r}\n" for key, value in lines.items())
    config.write_text(f"{body}\n{added}{last}\n")


@pytest.fixture
def configured_course(tmp_path):
    course = CourseCopy(copy_course(tmp_path / "course"))
    configure(course, Grading__workers=3, Grading__cell_timeout=7.0, Intake__max_notebook_mb=5)
    return course


def test_the_readme_table_lists_exactly_the_settings():
    readme = (DEFAULT_ROOT / "README.md").read_text()
    table = re.search(r"<!-- settings -->\n(.*?)\n<!-- /settings -->", readme, re.S)
    assert table, "README.md has no <!-- settings --> table"
    assert table.group(1) == settings_markdown(), "README settings table is stale: paste settings_markdown()"


def test_the_config_file_sets_them_and_a_run_overrides_them(configured_course):
    grading = Grading.for_course(configured_course)
    assert (grading.workers, grading.cell_timeout, grading.limits().cell_timeout) == (3, 7.0, 7.0)
    assert Intake.for_course(configured_course).notebook_bytes == 5 * 2**20
    override = Grading.for_course(configured_course, workers=1, cell_timeout=None)
    assert (override.workers, override.cell_timeout) == (1, 7.0)
    # nbgrader's own runs (Validate, nbgrader autograde) get the same cell timeout from the same line
    assert configured_course.config().Execute.timeout == 7


def test_every_setting_has_a_flag_that_reaches_it(configured_course):
    args = cli.parser().parse_args(
        ["autograde", "class", "--workers", "5", "--db", "sqlite:///x.db", "--memory-mb", "512", "--max-zip-ratio", "9"]
    )
    given = {name: value for name, value in cli._settings(args).items() if value is not None}
    assert given == {"workers": 5, "db_url": "sqlite:///x.db", "memory_mb": 512, "max_zip_ratio": 9}
    grading = Grading.for_course(configured_course, **{k: v for k, v in given.items() if k in Grading.names()})
    assert (grading.workers, grading.cell_timeout, grading.limits().memory_bytes) == (5, 7.0, 512 * 2**20)
    names = set(Grading.names()) | set(Intake.names())
    assert names <= set(vars(args)), "a setting without a command-line flag"


def test_a_setting_that_does_not_exist_is_named():
    with pytest.raises(TypeError, match="not a setting of Grading: cell_timout"):
        Grading.for_course(CourseCopy(DEFAULT_ROOT), cell_timout=3)


def test_a_cell_timeout_in_the_config_file_stops_a_real_grading_run(tmp_path):
    """End to end: c.Grading.cell_timeout in nbgrader_config.py, no flag, ends a sleeping cell in the sandbox."""
    course = CourseCopy(copy_course(tmp_path / "course"))
    configure(course, Grading__cell_timeout=2.0)
    nb = fill_blanks(course.release_notebook(ASSIGNMENT), SEED_STYLE[ASSIGNMENT])
    cell = next(c for c in nb.cells if c.get("id") == "em_loop")
    cell.source = "import time\ntime.sleep(600)\n" + cell.source
    target = tmp_path / "class" / "sleeper" / ASSIGNMENT
    target.mkdir(parents=True)
    nbformat.write(nb, target / f"{ASSIGNMENT}.ipynb")
    command = [sys.executable, "-m", "grader", "--course", str(course.root), "autograde", str(tmp_path / "class")]
    done = subprocess.run([*command, "--out", str(tmp_path / "out"), "--workers", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open(Path(tmp_path / "out" / "grades.csv"), newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["grade_id"]]
    assert rows and all(row["note"].startswith("timeout") for row in rows if float(row["score"]) == 0)
    assert any(float(row["score"]) == 0 for row in rows)
