"""Cheating the checks, through REAL ``autograde`` runs: out-of-kernel verification scores what was earned.

In a plain nbgrader kernel every cheat here earns points it did not earn:
the tests run after the student's code, which can patch NumPy, turn later
cells into ``pass``, swallow exceptions, or type in the seed run's numbers.
Each cheater below is a student who did only part of the work (the E-step)
and cheats for the rest, written in the EM cell the way a student would. All
cheaters of an assignment are graded in one run, next to an honest correct
student and an honest student with the same partial work.
"""

import csv

import nbformat
import numpy as np
import pytest

from grader.assignments import draws
from grader.course import Course
from grader.em import multivariate, univariate
from grader.pipeline.autograde import autograde
from grader.samples import SEED_STYLE, fill_blanks, variant
from tests.support.course import CourseCopy, copy_course

LIMITS = {"cell_timeout": 60, "notebook_timeout": 180}
POINTS = {
    "01_em_1d": {"test_estep": 3, "test_mu": 2, "test_sigma": 2, "test_pi": 1, "test_convergence": 2},
    "02_em_2d": {
        "test_estep": 3,
        "test_mu": 2,
        "test_cov": 2,
        "test_pi": 1,
        "test_loglik": 1,
        "test_history": 1,
        "test_convergence": 2,
    },
}
#: What a student who wrote only the E-step earns: the E-step, and in 2D what the given lines compute.
EARNED_BY_PARTIAL_WORK = {"01_em_1d": {"test_estep"}, "02_em_2d": {"test_estep", "test_history", "test_loglik"}}
#: M-step blanks left as "no change": the partial work every cheater starts from.
UNCHANGED = {
    "01_em_1d": {"mu[k]": "mu[k]", "sigma[k]": "sigma[k]", "pi[k]": "pi[k]"},
    "02_em_2d": {"mu[k]": "mu[k]", "cov[k]": "cov[k]", "pi[k]": "pi[k]"},
}

PATCH_NUMPY = """
# comparisons always succeed
np.allclose = lambda *args, **kwargs: True
np.all = lambda *args, **kwargs: True
"""
SKIP_LATER_CELLS = """
# every cell after this one does nothing
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
"""
SWALLOW_ERRORS = """
# failed tests print nothing
get_ipython().set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: None)
"""
ALWAYS_EQUAL = """
class Anything(float):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = float.__hash__
mu, pi = Anything(), Anything()
"""


def literal(array):
    return f"np.array({np.asarray(array, dtype=float).tolist()!r})"


def hard_coded_cell(assignment_id):
    """An EM cell that types in every number the seed run records, as copied from a classmate's output."""
    problem = Course().specs[assignment_id].notebook().details
    initial_gamma = draws.dirichlet_start_2d(problem.data)[0] if problem.data.ndim == 2 else None
    em = univariate if assignment_id == "01_em_1d" else multivariate
    run = em.fit(problem.data, *problem.start, problem.n_iterations)
    gammas = ([initial_gamma] if initial_gamma is not None else []) + run.gammas
    spread = "sigma" if assignment_id == "01_em_1d" else "cov"
    lines = [
        f"n_iterations = {problem.n_iterations}",
        "params_history = ["
        + ",\n    ".join(f"({', '.join(literal(a) for a in params)})" for params in run.params[:-1])
        + "]",
        "responsibilities_over_time = [" + ",\n    ".join(literal(g) for g in gammas) + "]",
        f"log_likelihoods = {[float(v) for v in run.log_likelihoods]!r}",
        "gamma = responsibilities_over_time[-1]",
    ]
    lines += [f"{name} = {literal(value)}" for name, value in zip(("mu", spread, "pi"), run.final)]
    return "\n".join(lines) + "\n"


def em_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "em_loop")


def partial(release, assignment_id, appended=""):
    """The E-step done, the M-step blanks answered with 'no change', then ``appended`` in the EM cell."""
    nb = fill_blanks(release, variant(assignment_id, **UNCHANGED[assignment_id]))
    em_cell(nb).source += "\n" + appended
    return nb


def edits_tests(release, assignment_id):
    """Partial work, and every test cell emptied with its points raised."""
    nb = partial(release, assignment_id)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cell.source = "pass"
            meta["points"] = 100
    return nb


def raises_points(release, assignment_id):
    """Correct work, and the points of the E-step test raised in its metadata."""
    nb = fill_blanks(release, SEED_STYLE[assignment_id])
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_estep":
            meta["points"] = 30
    return nb


def deletes_tests(release, assignment_id):
    nb = partial(release, assignment_id)
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


def hard_coded(release, assignment_id):
    nb = fill_blanks(release, SEED_STYLE[assignment_id])
    em_cell(nb).source = hard_coded_cell(assignment_id)
    return nb


STUDENTS = {
    "honest": lambda release, aid: fill_blanks(release, SEED_STYLE[aid]),
    "partial": partial,
    "patches_numpy": lambda release, aid: partial(release, aid, PATCH_NUMPY),
    "skips_later_cells": lambda release, aid: partial(release, aid, SKIP_LATER_CELLS),
    "swallows_errors": lambda release, aid: partial(release, aid, SWALLOW_ERRORS),
    "always_equal": lambda release, aid: partial(release, aid, ALWAYS_EQUAL),
    "edits_tests": edits_tests,
    "raises_points": raises_points,
    "deletes_tests": deletes_tests,
    "hard_coded": hard_coded,
}
#: Cheats that fool the checks when they run in the student's kernel: the clean re-run exposes them.
FOOLS_THE_KERNEL = {"patches_numpy", "skips_later_cells", "swallows_errors"}
CHEATERS_2D = ["honest", "partial", "patches_numpy", "skips_later_cells", "hard_coded"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{assignment: {student: {grade_id: (score, max_score, diagnosis, note)}}}, one autograde run each."""
    root = tmp_path_factory.mktemp("adversarial-checks")
    course = CourseCopy(copy_course(root / "course"))
    results = {}
    for assignment_id, students in (("01_em_1d", list(STUDENTS)), ("02_em_2d", CHEATERS_2D)):
        release = course.release_notebook(assignment_id)
        folder = root / f"class-{assignment_id}"
        for student_id in students:
            target = folder / student_id / assignment_id
            target.mkdir(parents=True)
            nbformat.write(STUDENTS[student_id](release, assignment_id), target / f"{assignment_id}.ipynb")
        out = root / f"out-{assignment_id}"
        autograde(folder, out, course=course, workers=2, **LIMITS)
        with open(out / "grades.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["grade_id"]:
                    results.setdefault(assignment_id, {}).setdefault(row["student_id"], {})[row["grade_id"]] = (
                        float(row["score"]),
                        float(row["max_score"]),
                        row["diagnosis"],
                        row["note"],
                    )
    return results


def scores(graded, assignment_id, student_id):
    return {grade_id: score for grade_id, (score, _, _, _) in graded[assignment_id][student_id].items()}


def notes(graded, assignment_id, student_id):
    return {note for _, _, _, note in graded[assignment_id][student_id].values()}


def partial_credit(assignment_id):
    return {g: (p if g in EARNED_BY_PARTIAL_WORK[assignment_id] else 0) for g, p in POINTS[assignment_id].items()}


@pytest.mark.parametrize("assignment_id", ["01_em_1d", "02_em_2d"])
def test_honest_students_keep_their_grades(graded, assignment_id):
    assert scores(graded, assignment_id, "honest") == POINTS[assignment_id]
    assert notes(graded, assignment_id, "honest") == {""}
    assert scores(graded, assignment_id, "partial") == partial_credit(assignment_id)
    assert notes(graded, assignment_id, "partial") == {""}


@pytest.mark.parametrize(
    "assignment_id,student_id",
    [("01_em_1d", s) for s in sorted(FOOLS_THE_KERNEL)]
    + [("02_em_2d", s) for s in CHEATERS_2D if s in FOOLS_THE_KERNEL],
)
def test_disarming_the_tests_earns_only_the_real_work_and_is_noted(graded, assignment_id, student_id):
    assert scores(graded, assignment_id, student_id) == partial_credit(assignment_id)
    assert notes(graded, assignment_id, student_id) == {"tampered"}


@pytest.mark.parametrize("assignment_id", ["01_em_1d", "02_em_2d"])
def test_typed_in_results_earn_nothing_and_are_noted_hard_coded(graded, assignment_id):
    assert scores(graded, assignment_id, "hard_coded") == dict.fromkeys(POINTS[assignment_id], 0)
    assert notes(graded, assignment_id, "hard_coded") == {"hard-coded"}


def test_objects_equal_to_anything_earn_nothing(graded):
    # the checks read numbers (float arrays), never ==, so the kernel was not fooled either: nothing to note.
    # The malformed final mu and pi fail their own steps only: the E-step the student did write keeps its points.
    assert scores(graded, "01_em_1d", "always_equal") == partial_credit("01_em_1d")
    assert notes(graded, "01_em_1d", "always_equal") == {""}


def test_edited_test_cells_and_points_change_nothing_and_are_noted(graded):
    for student_id, earned in (("edits_tests", partial_credit("01_em_1d")), ("raises_points", POINTS["01_em_1d"])):
        rows = graded["01_em_1d"][student_id]
        assert scores(graded, "01_em_1d", student_id) == earned
        assert {g: maximum for g, (_, maximum, _, _) in rows.items()} == POINTS["01_em_1d"]
    assert notes(graded, "01_em_1d", "edits_tests") == {
        "tampered (test_estep, test_mu, test_sigma, test_pi, test_convergence edited)"
    }
    assert notes(graded, "01_em_1d", "raises_points") == {"tampered (test_estep edited)"}


def test_deleted_test_cells_change_nothing_and_are_noted(graded):
    assert scores(graded, "01_em_1d", "deletes_tests") == partial_credit("01_em_1d")
    assert all("missing-cell" in note for note in notes(graded, "01_em_1d", "deletes_tests"))


def test_verification_names_the_mistake_in_the_diagnosis_column(graded):
    # "no change" in the M-step is the student who forgot to update the weights
    for student_id in ("partial", "patches_numpy"):
        assert "weights-not-updated" in graded["01_em_1d"][student_id]["test_pi"][2]
