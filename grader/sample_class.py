"""The bundled sample class: synthetic students for notebooks 01-02, made from the current release.

``python -m grader.sample_class`` regenerates ``grader/data/sample_class``;
a test fails when the bundled copy drifts from what this produces. Each
student types answers into the release's blanks (see :mod:`grader.samples`).
"""

import argparse
import shutil
from pathlib import Path

import nbformat

from .course import Course
from .samples import ALTERNATIVES, MUTANTS, SEED_STYLE, fill_blanks

BUNDLED = Path(__file__).resolve().parent / "data" / "sample_class"


def _mutant(assignment_id, misconception, name=None):
    return next(s for s in MUTANTS if s.assignment_id == assignment_id and s.misconception == misconception
                and (name is None or s.name == name))


def _alternative(assignment_id, name):
    return next(s for s in ALTERNATIVES if s.assignment_id == assignment_id and s.name == name)


#: student id -> assignment id -> "seed" (correct, seed style), "blank" (untouched release) or a Sample.
STUDENTS = {
    "ada": {"01_em_1d": "seed", "02_em_2d": "seed"},
    "blaise": {"01_em_1d": "blank", "02_em_2d": "blank"},
    "carl": {"01_em_1d": _mutant("01_em_1d", "sigma-is-variance"),
             "02_em_2d": _mutant("02_em_2d", "covariance-unweighted")},
    "dora": {"01_em_1d": _mutant("01_em_1d", "mean-divided-by-n"),
             "02_em_2d": _mutant("02_em_2d", "loglik-wrong", "blank log_likelihood")},
    "emmy": {"01_em_1d": _mutant("01_em_1d", "weights-missing-in-estep"),
             "02_em_2d": _mutant("02_em_2d", "history-aliased")},
    "felix": {"01_em_1d": _mutant("01_em_1d", "old-mean-in-variance"),
              "02_em_2d": _mutant("02_em_2d", "covariance-old-mean")},
    "grace": {"01_em_1d": _alternative("01_em_1d", "np.average"),
              "02_em_2d": _alternative("02_em_2d", "np.average and np.cov with aweights")},
    "hedy": {"01_em_1d": _mutant("01_em_1d", "responsibilities-unnormalised", "normalisation deleted"),
             "02_em_2d": _mutant("02_em_2d", "weights-not-updated")},
}

#: A student whose notebook is truncated JSON, as an interrupted upload leaves it.
BROKEN = ("ivan", "01_em_1d")


def build(target=BUNDLED, course=None):
    """Write the sample class under ``target`` in nbgrader's submitted layout; return ``target``."""
    course = course or Course()
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    for student_id, answers in STUDENTS.items():
        for assignment_id, answer in answers.items():
            (notebook,) = course.notebooks(assignment_id)
            release = nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4)
            if answer == "seed":
                submitted = fill_blanks(release, SEED_STYLE[assignment_id])
            elif answer == "blank":
                submitted = release
            else:
                submitted = answer.notebook(release)
            folder = target / student_id / assignment_id
            folder.mkdir(parents=True)
            nbformat.write(submitted, folder / f"{notebook}.ipynb")
    student_id, assignment_id = BROKEN
    (notebook,) = course.notebooks(assignment_id)
    seed_answer = nbformat.writes(fill_blanks(
        nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4), SEED_STYLE[assignment_id]))
    folder = target / student_id / assignment_id
    folder.mkdir(parents=True)
    (folder / f"{notebook}.ipynb").write_text(seed_answer[: len(seed_answer) // 2])
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BUNDLED, help="where to write the class (default: bundled)")
    print(build(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
