"""The bundled sample class: synthetic students, made from the current release and the specs' samples.

``python -m grader.sample_class`` regenerates ``grader/data/sample_class``;
a test fails when the bundled copy drifts from what this produces. Each
student types answers into the release's blanks (see :mod:`grader.samples`);
which answer each student hands in for an assignment is its spec's
``Samples.sample_class``.
"""

import argparse
import shutil
from pathlib import Path
from typing import Any

import nbformat

from .course import Course
from .samples import ALTERNATIVES, MUTANTS, SEED_STYLE, fill_blanks

BUNDLED = Path(__file__).resolve().parent / "data" / "sample_class"


#: The sample class's students, in the order the specs' ``Samples.sample_class`` entries name their answers.
STUDENT_NAMES = ("ada", "blaise", "carl", "dora", "emmy", "felix", "grace", "hedy")
#: A student whose first notebook is truncated JSON, as an interrupted upload leaves it.
BROKEN_STUDENT = "ivan"


def _answer(assignment_id, entry):
    """ "seed", "blank" or the Sample a ``sample_class`` entry names."""
    if entry in ("seed", "blank"):
        return entry
    key, _, name = (part.strip() for part in entry.partition(":"))
    pool = ALTERNATIVES if key == "correct" else [s for s in MUTANTS if s.misconception == key]
    matches = [s for s in pool if s.assignment_id == assignment_id and (not name or s.name == name)]
    if not matches:
        raise ValueError(f"{assignment_id}: sample_class entry {entry!r} names no sample")
    return matches[0]


def students(specs=None):
    """{student id: {assignment id: answer}} from the specs' ``sample_class`` entries."""
    if specs is None:
        from .assignments import default_registry

        specs = default_registry().all()
    roster: dict[str, dict[str, Any]] = {}
    for spec in specs:
        entries = spec.samples.sample_class if spec.samples is not None else ()
        if len(entries) > len(STUDENT_NAMES):
            raise ValueError(f"{spec.id}: the sample class has {len(STUDENT_NAMES)} students")
        for student_id, entry in zip(STUDENT_NAMES, entries):
            roster.setdefault(student_id, {})[spec.id] = _answer(spec.id, entry)
    return roster


def build(target=BUNDLED, course=None):
    """Write the sample class under ``target`` in nbgrader's submitted layout; return ``target``."""
    course = course or Course()
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    roster = students(course.specs.all())
    for student_id, answers in roster.items():
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
    student_id, assignment_id = BROKEN_STUDENT, min(roster[STUDENT_NAMES[0]])
    (notebook,) = course.notebooks(assignment_id)
    seed_answer = nbformat.writes(
        fill_blanks(
            nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4), SEED_STYLE[assignment_id]
        )
    )
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
