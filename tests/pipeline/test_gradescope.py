"""``grader gradescope build`` and its ``run_autograder`` (issue 14, item 2), run locally.

The zip of 01_em_1d is built once through the CLI; for each notebook a folder
laid out like Gradescope's ``/autograder`` gets the zip's contents in
``source/`` and the notebook in ``submission/``, and the zip's own
``run_autograder`` is run there (``GRADESCOPE_AUTOGRADER_ROOT`` points at it,
``TMPDIR`` elsewhere, so only the grader's own hiding keeps ``source/`` from
student code). The notebooks: correct, a catalogued mistake, one that is right
on the notebook's data only (its N typed in: other inputs have another N), and
a hostile one (it reads the course secret and the solution, writes a
results.json of its own, and comes with a link named as a notebook pointing at
the secret). ``results.json`` is checked against Gradescope's field names and
types (gradescope-autograders.readthedocs.io, "Autograder Specifications"),
and its scores against ``grader autograde`` of the same notebooks.
"""

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from grader import cli
from grader.course import CourseError
from grader.em import seed, univariate
from grader.lms import gradescope
from grader.misconceptions import CATALOGUE
from grader.pipeline.autograde import autograde
from grader.pipeline.report import Row
from grader.samples import MUTANTS, SEED_STYLE, fill_blanks, variant
from grader.verify import SECRET_FILE, hidden_inputs
from grader.verify.secret import SECRET_ENV
from tests.support.course import CourseCopy, copy_course

ASSIGNMENT = "01_em_1d"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
GRADED = ["test_estep", "test_mu", "test_sigma", "test_pi", "test_convergence"]
POINTS = 10.0

HOSTILE = """\
import json, pathlib
stolen = []
for path in {paths!r}:
    try:
        stolen.append(pathlib.Path(path).read_text()[:200])
    except Exception as error:
        stolen.append(type(error).__name__)
print("STOLEN", stolen)
for target in {targets!r}:
    try:
        pathlib.Path(target).write_text(json.dumps({{"score": 1000.0, "output": "all mine", "tests": []}}))
    except Exception:
        pass
"""


def insert_after_imports(nb, source):
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "hostile1"
    nb.cells.insert(index + 1, cell)
    return nb


def choose_secret(course):
    """A course secret whose hidden data has another size than the notebook's 300 points."""
    spec = course.specs.get(ASSIGNMENT)
    for attempt in range(50):
        secret = f"gradescope-test-secret-{attempt}"
        if len(hidden_inputs(spec, secret).variables["data"]) != len(seed.problem_1d().data):
            return secret
    raise AssertionError("no secret with another hidden size")


def setup(template, root):
    """What Gradescope does when it builds the image: the zip in source/, then setup.sh, as root.

    The virtual environment sees this machine's packages and pip installs only
    the zip's package (Gradescope's image has none, so setup.sh installs them).
    """
    shutil.copytree(template, root / "source", symlinks=True)
    env = {
        **os.environ,
        "GRADESCOPE_AUTOGRADER_ROOT": str(root),
        "GRADER_VENV_OPTIONS": "--system-site-packages",
        "GRADER_PIP_OPTIONS": "--no-deps",
    }
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def run_autograder(template, root, notebooks, links=(), installed=False):
    """A fresh /autograder-like folder with the zip in source/ and ``notebooks`` in submission/; run it.

    ``installed``: setup.sh has made root/venv, which run_autograder uses by
    default; otherwise it runs on this interpreter (GRADER_PYTHON).
    """
    if not installed:
        shutil.copytree(template, root / "source", symlinks=True)
    (root / "submission").mkdir()
    for name, nb in notebooks.items():
        if isinstance(nb, str):
            (root / "submission" / name).write_text(nb)
        else:
            nbformat.write(nb, root / "submission" / name)
    for name, target in links:
        (root / "submission" / name).symlink_to(target)
    (root / "tmp").mkdir()
    env = {**os.environ, "GRADESCOPE_AUTOGRADER_ROOT": str(root), "TMPDIR": str(root / "tmp")}
    if installed:
        env.pop("PYTHONPATH", None)
    else:
        env["GRADER_PYTHON"] = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(gradescope.DEFAULT_ROOT), os.environ.get("PYTHONPATH")]))
    env.pop("GRADER_SECRET", None)
    done = subprocess.run(
        [str(root / "source" / "run_autograder")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (root / "results" / "results.json").read_text()
    return json.loads(text), text, done.stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(SECRET_ENV)  # the course's own secret file is what the autograder zip must carry
        yield _graded(tmp_path_factory)


def _graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    course = CourseCopy(copy_course(base / "course"))
    secret = choose_secret(course)
    (course.root / SECRET_FILE).write_text(secret + "\n")
    release = course.release_notebook(ASSIGNMENT)
    zip_path = base / "autograder.zip"
    assert cli.main(["--course", str(course.root), "gradescope", "build", ASSIGNMENT, "--out", str(zip_path)]) == 0
    template = base / "unzipped"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(template)
        for info in archive.infolist():  # extractall drops permissions: set them as unzip would
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(template / info.filename, mode)

    mistake = next(s for s in MUTANTS if s.assignment_id == ASSIGNMENT and s.misconception == "sigma-is-variance")
    roots = {name: base / name for name in ("correct", "wrong", "other", "hostile", "empty")}
    hostile_paths = [
        str(roots["hostile"] / "source" / "course" / SECRET_FILE),
        str(roots["hostile"] / "source" / "course" / "solutions" / ASSIGNMENT / NOTEBOOK),
    ]
    hostile_targets = [str(roots["hostile"] / "results" / "results.json"), "/autograder/results/results.json"]
    notebooks = {
        "correct": fill_blanks(release, SEED_STYLE[ASSIGNMENT]),
        "wrong": mistake.notebook(release),
        "other": fill_blanks(release, variant(ASSIGNMENT, **{"pi[k]": f"N_k[k] / {len(seed.problem_1d().data)}"})),
        "hostile": insert_after_imports(
            mistake.notebook(release), HOSTILE.format(paths=hostile_paths, targets=hostile_targets)
        ),
    }
    link = ("secret.ipynb", str(roots["hostile"] / "source" / "course" / SECRET_FILE))
    results = {}
    setup(template, roots["correct"])  # this one as on Gradescope: setup.sh's venv, the zip's own package
    for name, nb in notebooks.items():
        results[name] = run_autograder(
            template,
            roots[name],
            {NOTEBOOK: nb},
            links=[link] if name == "hostile" else (),
            installed=name == "correct",
        )
    results["empty"] = run_autograder(template, roots["empty"], {"answers.py": "print('EM')\n"})

    # the same notebooks through `grader autograde`
    for name, nb in notebooks.items():
        folder = base / "class" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    (base / "class" / "hostile" / ASSIGNMENT / "secret.ipynb").symlink_to(link[1])
    autograde(base / "class", base / "report", course=course, workers=2)
    with open(base / "report" / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "zip": zip_path,
        "results": results,
        "rows": rows,
        "secret": secret,
        "course": course,
        "roots": roots,
        "report": base / "report",
    }


def cell_scores(graded, student):
    return {r["grade_id"]: float(r["score"]) for r in graded["rows"] if r["student_id"] == student and r["grade_id"]}


def test_zip_has_gradescope_layout(graded):
    with zipfile.ZipFile(graded["zip"]) as archive:
        names = archive.namelist()
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
        config = json.loads(archive.read(gradescope.CONFIG))
        secret = archive.read(f"course/{SECRET_FILE}").decode().strip()
    assert names[:2] == ["setup.sh", "run_autograder"]  # at the root, not in a folder
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert config == {"assignment": ASSIGNMENT, "notebooks": [ASSIGNMENT], "hidden_visibility": "after_due_date"}
    for needed in (
        "package/pyproject.toml",
        "package/grader/lms/gradescope.py",
        "package/grader/checks/em1d.py",
        "course/nbgrader_config.py",
        f"course/solutions/{ASSIGNMENT}/{NOTEBOOK}",
        f"course/notebooks/{ASSIGNMENT}/{NOTEBOOK}",
    ):
        assert needed in names
    assert not any("__pycache__" in name or name.startswith("course/solutions/02") for name in names)
    assert secret == graded["secret"] and modes[f"course/{SECRET_FILE}"] == 0o600
    assert stat.S_IMODE(graded["zip"].stat().st_mode) == 0o600
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(graded["zip"]) as archive:
            source = archive.read(script)
        assert subprocess.run(["bash", "-n"], input=source, check=False).returncode == 0


def test_setup_installs_the_zips_package_which_run_autograder_uses(graded):
    venv_python = graded["roots"]["correct"] / "venv" / "bin" / "python"
    where = subprocess.run(
        [str(venv_python), "-c", "import grader; print(grader.__file__)"],
        capture_output=True,
        text=True,
        cwd=graded["roots"]["correct"],
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert where.stdout.startswith(str(graded["roots"]["correct"] / "venv" / "lib")), where.stdout + where.stderr
    assert graded["results"]["correct"][0]["score"] == POINTS


@pytest.mark.parametrize("name", ["correct", "wrong", "other", "hostile", "empty"])
def test_results_json_follows_the_spec(graded, name):
    data, _text, _stdout = graded["results"][name]
    assert isinstance(data["score"], float) and isinstance(data["output"], str)
    assert isinstance(data["execution_time"], int) and isinstance(data["tests"], list) and data["tests"]
    assert set(data) <= {
        "score",
        "execution_time",
        "output",
        "visibility",
        "stdout_visibility",
        "extra_data",
        "tests",
        "leaderboard",
    }
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] in gradescope.VISIBILITIES
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == POINTS


@pytest.mark.parametrize("name", ["correct", "wrong", "other", "hostile"])
def test_scores_equal_grader_autograde(graded, name):
    data, _text, _stdout = graded["results"][name]
    scores = cell_scores(graded, name)
    assert data["score"] == sum(scores.values())
    by_name = {t["name"]: t for t in data["tests"]}
    for grade_id in GRADED:
        assert by_name[f"{grade_id} (other inputs)"]["score"] == scores[grade_id]
        assert by_name[f"{grade_id} (other inputs)"]["visibility"] == "after_due_date"
        assert by_name[f"{grade_id} (your notebook's data)"]["visibility"] == "visible"
        assert by_name[f"{grade_id} (your notebook's data)"]["max_score"] == 0.0
    expected = {"correct": POINTS, "empty": 0.0}
    if name in expected:
        assert data["score"] == expected[name]


def test_wrong_notebook_gets_the_misconception_hint_visibly(graded):
    data, text, _stdout = graded["results"]["wrong"]
    sigma = next(t for t in data["tests"] if t["name"] == "test_sigma (your notebook's data)")
    assert sigma["status"] == "failed" and sigma["visibility"] == "visible"
    assert "sigma-is-variance" in sigma["output"] and CATALOGUE["sigma-is-variance"].hint in sigma["output"]
    assert data["score"] < POINTS
    # never the reference numbers or test code
    problem = seed.problem_1d()
    final_mu, final_sigma, final_pi = univariate.fit(problem.data, *problem.start, problem.n_iterations).final
    for number in (*final_mu, *final_sigma, *final_pi):
        assert f"{number:.4f}" not in text
    assert "check_sigma" not in text and "globals()" not in text and "Traceback" not in text


def test_work_right_only_on_the_notebooks_data_is_told_after_the_due_date(graded):
    data, _text, _stdout = graded["results"]["other"]
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    later = [t for t in data["tests"] if t["visibility"] == "after_due_date"]
    assert all(t["status"] == "passed" and t["score"] == 0.0 for t in visible)
    failed = [t for t in later if t["status"] == "failed"]
    assert failed and any(t["name"] == "test_pi (other inputs)" for t in failed)
    assert all("right on this notebook's data but not on other data" in t["output"] for t in failed)
    # nothing shown before the due date says how it fared on the other inputs
    shown = data["output"] + "".join(t["output"] for t in visible)
    assert "other data" not in shown and "other-inputs" not in shown
    assert data["score"] == sum(cell_scores(graded, "other").values()) < POINTS


def test_hostile_notebook_reads_nothing_and_writes_no_results(graded):
    data, text, stdout = graded["results"]["hostile"]
    assert graded["secret"] not in text and graded["secret"] not in stdout
    assert "all mine" not in text and data["score"] < POINTS
    assert "secret.ipynb" in data["output"]  # the link named as a notebook is refused, and said so
    real = Path("/autograder/results/results.json")
    assert not real.exists() or "all mine" not in real.read_text()


def test_submission_without_notebook(graded):
    data, _text, _stdout = graded["results"]["empty"]
    assert data["score"] == 0.0 and "no notebook" in data["output"] and "answers.py" in data["output"]
    assert [t["name"] for t in data["tests"]] == GRADED and all(t["status"] == "failed" for t in data["tests"])


def test_hidden_input_tests_can_be_shown_when_published(graded, tmp_path):
    """--hidden-visibility after_published: the same results, the hidden-input tests shown on publishing."""
    zip_path = tmp_path / "published.zip"
    assert (
        cli.main(
            [
                "--course",
                str(graded["course"].root),
                "gradescope",
                "build",
                ASSIGNMENT,
                "--out",
                str(zip_path),
                "--hidden-visibility",
                "after_published",
            ]
        )
        == 0
    )
    with zipfile.ZipFile(zip_path) as archive:
        assert json.loads(archive.read(gradescope.CONFIG))["hidden_visibility"] == "after_published"
    # results() on the "other" student's grading in the `grader autograde` report, as the class of one
    shutil.copytree(graded["report"] / "autograded" / "other", tmp_path / "autograded" / gradescope.STUDENT)
    rows = [
        Row(**{**r, "student_id": gradescope.STUDENT, "score": float(r["score"]), "max_score": float(r["max_score"])})
        for r in graded["rows"]
        if r["student_id"] == "other"
    ]
    run = SimpleNamespace(rows=rows, out=tmp_path, problems=[])
    published = gradescope.results(run, graded["course"], ASSIGNMENT, hidden_visibility="after_published")
    on_gradescope = graded["results"]["other"][0]
    assert published["score"] == on_gradescope["score"]
    assert [t["visibility"] for t in published["tests"]] == [
        "after_published" if t["visibility"] == "after_due_date" else t["visibility"] for t in on_gradescope["tests"]
    ]
    assert [(t["name"], t["score"], t["status"]) for t in published["tests"]] == [
        (t["name"], t["score"], t["status"]) for t in on_gradescope["tests"]
    ]
    assert "when the grades are published" in published["output"]
    with pytest.raises(CourseError, match="not 'hidden'"):
        gradescope.build(ASSIGNMENT, tmp_path / "x.zip", course=graded["course"], hidden_visibility="hidden")
