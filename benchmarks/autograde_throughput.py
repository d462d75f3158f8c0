"""Throughput of `grader autograde` against plain sequential `nbgrader autograde`, in one run.

    python benchmarks/autograde_throughput.py [--n 40] [--workers N]

Grades the same N submissions (mixed correct and wrong, notebooks 01 and 02)
three ways and prints seconds per submission and ratios; the machine is shared
and noisy, so only ratios measured in the same run mean anything:

- grader: `grader.pipeline.autograde.autograde` (parallel sandboxed forks, nbgrader
  scoring, feedback and reports), timed before and after nbgrader so that a
  machine getting faster or slower during the run does not favour either side;
  the ratio uses the mean of the two;
- nbgrader: `nbgrader autograde <assignment>` (sequential, a kernel per notebook);
- floor: a bare nbclient kernel start + run of each notebook, no grading at all.

Scores of nbgrader and grader must be identical; the script exits non-zero otherwise.
"""

import argparse
import csv
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.course import DEFAULT_ROOT, Course, ensure_tools_on_path, read_grades
from grader.pipeline.autograde import autograde
from grader.samples import MUTANTS, SEED_STYLE, fill_blanks

ASSIGNMENTS = ["01_em_1d", "02_em_2d"]


def make_class(course, folder, n):
    """n submissions, alternating assignments; every third correct, the rest catalogued mistakes."""
    mutants = {aid: [m for m in MUTANTS if m.assignment_id == aid] for aid in ASSIGNMENTS}
    cycles = {aid: itertools.cycle(mutants[aid]) for aid in ASSIGNMENTS}
    for i in range(n):
        assignment_id = ASSIGNMENTS[i % 2]
        release = nbformat.read(course.release / assignment_id / f"{assignment_id}.ipynb", as_version=4)
        nb = fill_blanks(release, SEED_STYLE[assignment_id]) if i % 3 == 0 else \
            next(cycles[assignment_id]).notebook(release)
        target = folder / f"s{i:03d}" / assignment_id
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{assignment_id}.ipynb")
    return folder


def time_nbgrader(course_root, submissions):
    shutil.copytree(submissions, course_root / "submitted")
    course = Course(course_root)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    course.generate_release(release_dir=course_root / "release-scratch")
    started = time.perf_counter()
    for assignment_id in ASSIGNMENTS:
        # nbgrader exits 1 when any one submission fails; the grades it did record are compared below
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", assignment_id,
                        "--force"], cwd=course_root, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    grades = {}
    for assignment_id in ASSIGNMENTS:
        grades.update({k: v[0] for k, v in read_grades(course.db_url(), assignment_id).items()})
    return seconds, grades


def time_grader(course, submissions, out, workers):
    started = time.perf_counter()
    autograde(submissions, out, course=course, workers=workers)
    seconds = time.perf_counter() - started
    with open(out / "grades.csv", newline="") as handle:
        grades = {(r["student_id"], r["notebook_id"], r["grade_id"]): float(r["score"]) for r in csv.DictReader(handle)}
    return seconds, grades


def time_floor(submissions, sample):
    paths = sorted(submissions.rglob("*.ipynb"))[:sample]
    started = time.perf_counter()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        # the kernel's stderr (ipykernel's start-up warnings) is not part of the result
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute(stderr=subprocess.DEVNULL)
    return (time.perf_counter() - started) / len(paths)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--floor-sample", type=int, default=10, help="notebooks timed for the floor")
    args = parser.parse_args(argv)
    ensure_tools_on_path()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        root = scratch / "course"
        root.mkdir()
        shutil.copy(DEFAULT_ROOT / "nbgrader_config.py", root)
        for folder in ("solutions", "notebooks"):
            shutil.copytree(DEFAULT_ROOT / folder, root / folder)
        course = Course(root)
        submissions = make_class(course, scratch / "class", args.n)

        before, our_grades = time_grader(course, submissions, scratch / "out-before", args.workers)
        plain, plain_grades = time_nbgrader(root, submissions)
        after, after_grades = time_grader(course, submissions, scratch / "out-after", args.workers)
        floor = time_floor(submissions, args.floor_sample)
    ours = (before + after) / 2

    print(f"{args.n} submissions, {args.workers} workers, {os.cpu_count()} cores")
    print(f"nbgrader autograde (sequential): {plain / args.n:6.3f} s/submission")
    print(f"grader autograde   (parallel)  : {ours / args.n:6.3f} s/submission "
          f"({before / args.n:.3f} before nbgrader, {after / args.n:.3f} after)")
    print(f"floor (bare kernel start + run): {floor:6.3f} s/notebook")
    print(f"throughput ratio grader / nbgrader: {plain / ours:.2f}x")
    print(f"grader vs the sequential floor  : {floor * args.n / ours:.2f}x")
    for grades in (our_grades, after_grades):
        if grades != plain_grades:
            differ = sorted(k for k in set(grades) | set(plain_grades) if grades.get(k) != plain_grades.get(k))
            print(f"SCORES DIFFER on {len(differ)} cells, e.g. {differ[:5]}")
            return 1
    print(f"scores identical on {len(our_grades)} graded cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
