"""Whole-series throughput of `grader autograde` against plain sequential `nbgrader autograde`, in one run.

    python benchmarks/autograde_throughput.py [--per-assignment 3] [--assignments 01_em_1d 02_em_2d]
                                              [--workers N] [--floor-processes N]

Covers every assignment that has a spec (``Course().specs``, so a new notebook
joins by having one) with a mixed class: student ``s<i>`` submits every
assignment, and their submission is ``correct`` (i % 3 == 0: filled in the
seed's style where the spec has samples, and the release with its answer
cells replaced by the reference solution's, alternately), a catalogued ``mistake`` (i % 3 == 1: the next of
``grader.samples.MUTANTS`` of the assignment; correct where it has none) or
``hostile`` (i % 3 == 2: the untouched release plus the traceback-hook or the
patch-check-functions cheat of tests/notebooks/test_cheats.py, alternately). The class
is graded four ways, in this order, and seconds per notebook printed per
assignment and overall; the machine is shared and noisy, so only ratios
measured in the same run mean anything:

1. grader: ``grader.pipeline.autograde.autograde`` in a fresh process, as the
   ``grader autograde`` command runs it (parallel sandboxed forks, out-of-kernel
   verification on the notebook's and on hidden inputs, nbgrader scoring,
   feedback, reports), the process's wall time from start to exit;
2. nbgrader: ``nbgrader autograde <id> --force`` per assignment in a copy of
   the course (sequential, a kernel per notebook);
3. grader again: the ratios use the mean of the two grader runs, so that a
   machine getting faster or slower during the run favours neither side;
4. warm floor: the notebooks' code cells (not the graded test cells, IPython
   magics stripped, cwd the notebook's folder) exec'd in a ``multiprocessing``
   pool of one process per core that imported NumPy, SciPy, Matplotlib (Agg),
   scikit-learn and the checks once: no kernel, no grading, no figure
   rendering; the pool's wall time.

The grader runs in one process for the whole class, so its per-assignment
figures are its wall time apportioned by what each assignment's notebooks
measurably cost it (:mod:`grader.pipeline.timing`: worker-thread and renderer
stages over the worker count, main-thread stages as they are); nbgrader's are
measured per assignment, and the floor's are each notebook's own time over the
number of processes. Where the grader's time goes (start-up, setup,
execution, verification runs, scoring, feedback, reports) is printed as a
table, from the same timing hooks.

Scores must equal plain nbgrader's on every graded cell of every correct
submission: the script exits 1 otherwise. For the other submissions it prints
how many cells differ and why (a verdict from hidden inputs, a cheat).
"""

import argparse
import contextlib
import csv
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests/ (the cheats) is not part of the installed package

import nbformat  # noqa: E402

from grader.course import DEFAULT_ROOT, Course, ensure_tools_on_path, read_grades  # noqa: E402
from grader.samples import MUTANTS, fill_blanks  # noqa: E402
from grader.verify import VERDICTS  # noqa: E402

KINDS = ("correct", "mistake", "hostile")
#: The hostile submissions: cheats of tests/notebooks/test_cheats.py (the release plus one extra cell).
HOSTILE = ("cheat-traceback-hook", "cheat-patch-check-functions")

#: The grading process: what ``grader autograde`` does, with the stage timings recorded and saved.
GRADE_RUN = """\
import time
begun = time.time()
import json, sys
from grader.course import Course
from grader.pipeline import timing
from grader.pipeline.autograde import autograde

submissions, out, root, workers, dest = sys.argv[1:]
imported = time.time()
started = time.perf_counter()
with timing.recording() as totals:
    run = autograde(submissions, out, course=Course(root), workers=int(workers))
seconds = time.perf_counter() - started
with open(dest, "w") as handle:
    json.dump({"autograde": seconds, "graded": len(run.graded), "begun": begun, "imported": imported,
               "returned": time.time(),
               "stages": [[name, assignment, t, n] for (name, assignment), (t, n) in totals.items()],
               "failures": {"/".join(key): why for key, why in run.failures.items()},
               "feedback_errors": {str(page): why for page, why in run.feedback_errors.items()}}, handle)
"""

#: (stage, where it runs, what it is), in the order of a run; stage names are grader.pipeline.timing's.
STAGES = [
    ("start-up", "main", "interpreter and imports, before the autograde call"),
    ("setup", "main", "gradebook of the output folder (generate_assignment)"),
    ("preparation", "main", "collect, stage, sanitize"),
    ("execution", "workers", "the notebook run in a sandboxed fork (the first wait for the zygote)"),
    ("verification", "workers", "children on the notebook's and hidden inputs, checks"),
    ("verification checks", "workers", "  of which judging the children's answers"),
    ("scoring", "main", "nbgrader Autograde, outputs replayed"),
    ("verdicts", "main", "verification into the gradebook, notes"),
    ("feedback", "renderer", "feedback HTML (renderer process)"),
    ("reports", "main", "grades.csv, feedback wait, summary.html"),
    ("feedback wait", "main", "  of which waiting for the renderer"),
    ("summary", "main", "  of which summary.html (its figures)"),
    ("exit", "main", "after the call until the process ended"),
]
#: Stages of the main thread, not nested in another.
MAIN_STAGES = ["setup", "preparation", "scoring", "verdicts", "reports"]


# --- the class ------------------------------------------------------------------------------------------


def course_copy(target):
    target.mkdir(parents=True)
    shutil.copy(DEFAULT_ROOT / "nbgrader_config.py", target)
    for folder in ("solutions", "notebooks"):
        shutil.copytree(DEFAULT_ROOT / folder, target / folder)
    return Course(target)


def graded_assignments(course, wanted=None):
    """The assignments with a spec and a notebook (all of them, or those ``wanted``), in order."""
    available = [a for a in course.specs.ids() if a in course.assignments]
    if not wanted:
        return available
    unknown = [a for a in wanted if a not in available]
    if unknown:
        raise SystemExit(f"unknown assignments {', '.join(unknown)} (with a spec: {', '.join(available)})")
    return [a for a in available if a in wanted]


def make_class(course, folder, assignment_ids, per_assignment):
    """Write the class; return {(student, assignment): (kind, what was submitted)}."""
    from tests.notebooks.test_cheats import CHEATS, check_module, with_extra_cell, with_reference_answers

    kinds = {}
    for index, assignment_id in enumerate(assignment_ids):
        spec = course.specs.get(assignment_id)
        mutants = [m for m in MUTANTS if m.assignment_id == assignment_id]
        counts = Counter()
        for notebook in course.notebooks(assignment_id):
            where = f"{assignment_id}/{notebook}.ipynb"
            release = nbformat.read(course.release / assignment_id / f"{notebook}.ipynb", as_version=4)
            solution = nbformat.read(course.solutions / assignment_id / f"{notebook}.ipynb", as_version=4)
            counts.clear()
            for i in range(per_assignment):
                kind = KINDS[i % 3]
                if kind == "mistake" and not mutants:
                    kind = "correct"
                k = counts[kind]
                counts[kind] += 1
                if kind == "correct" and spec.samples is not None and k % 2 == 0:
                    nb, what = fill_blanks(release, spec.samples.seed_style), "seed-style answers"
                elif kind == "correct":
                    nb, what = with_reference_answers(release, solution, where), "reference answers"
                elif kind == "mistake":
                    mutant = mutants[k % len(mutants)]
                    nb, what = mutant.notebook(release), f"{mutant.misconception} ({mutant.name})"
                else:
                    cheat = HOSTILE[(index + k) % len(HOSTILE)]
                    nb = with_extra_cell(release, CHEATS[cheat].format(module=check_module(release, where)), where)
                    what = f"{cheat} on the release"
                student = f"s{i:02d}"
                target = folder / student / assignment_id
                target.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target / f"{notebook}.ipynb")
                kinds[(student, assignment_id)] = (kind, what)
        # the data files the release comes with sit next to every submitted notebook (nbgrader runs it there)
        for data in sorted((course.release / assignment_id).rglob("*")):
            if data.is_file() and data.suffix != ".ipynb" and ".ipynb_checkpoints" not in data.parts:
                for student_folder in folder.glob(f"*/{assignment_id}"):
                    destination = student_folder / data.relative_to(course.release / assignment_id)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(data, destination)
    return kinds


# --- the three ways of grading it --------------------------------------------------------------------------


def _environment():
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    return dict(
        os.environ, PYTHONPATH=path, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    )


def time_grader(course, submissions, out, workers):
    """(process seconds, {cell key: score}, what the run recorded) of one ``grader autograde`` process."""
    dest = out.parent / f"{out.name}-timings.json"
    started, begun = time.perf_counter(), time.time()
    done = subprocess.run(
        [sys.executable, "-c", GRADE_RUN, str(submissions), str(out), str(course.root), str(workers), str(dest)],
        env=_environment(),
        capture_output=True,
        text=True,
    )
    seconds, ended = time.perf_counter() - started, time.time()
    if done.returncode != 0:
        raise SystemExit(f"grader autograde failed ({done.returncode}):\n{done.stderr[-3000:]}")
    recorded = json.loads(dest.read_text())
    recorded["process"] = seconds
    recorded["start-up"] = recorded["imported"] - begun
    recorded["exit"] = ended - recorded["returned"]
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    grades = {
        (r["student_id"], r["assignment_id"], r["notebook_id"], r["grade_id"]): (
            float(r["score"]) if r["score"] != "" else None
        )
        for r in rows
        if r["grade_id"]
    }
    recorded["rows"] = {(r["student_id"], r["assignment_id"], r["notebook_id"], r["grade_id"]): r for r in rows}
    return seconds, grades, recorded


def time_nbgrader(course_root, submissions, assignment_ids):
    """({assignment: seconds}, {cell key: score}) of plain ``nbgrader autograde <id> --force``, one after the other."""
    shutil.copytree(submissions, course_root / "submitted")
    course = Course(course_root)
    course.generate_release(release_dir=course_root / "release-scratch", assignments=assignment_ids)
    nbgrader = os.path.join(os.path.dirname(sys.executable), "nbgrader")
    seconds = {}
    for assignment_id in assignment_ids:
        started = time.perf_counter()
        # nbgrader exits 1 when any one submission fails; the grades it did record are compared below
        subprocess.run(
            [nbgrader, "autograde", assignment_id, "--force"], cwd=course_root, env=_environment(), capture_output=True
        )
        seconds[assignment_id] = time.perf_counter() - started
    grades = {}
    for assignment_id in assignment_ids:
        for (student, notebook, grade_id), (score, _) in read_grades(course.db_url(), assignment_id).items():
            grades[(student, assignment_id, notebook, grade_id)] = None if score is None else float(score)
    return seconds, grades


# --- the warm floor --------------------------------------------------------------------------------------

FLOOR_IMPORTS = [
    "numpy",
    "scipy",
    "scipy.special",
    "scipy.stats",
    "matplotlib",
    "matplotlib.pyplot",
    "sklearn",
    "sklearn.mixture",
    "sklearn.cluster",
    "sklearn.datasets",
]


def _floor_start(modules, barrier):
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for module in modules:
        importlib.import_module(module)
    barrier.wait()  # every process preloaded before the first notebook is timed


def _floor_ready(_):
    return os.getpid()


def _floor_run(path):
    """Exec one notebook's code cells (no graded test cells) in a fresh namespace; (path, seconds)."""
    import io
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np

    nb = nbformat.read(path, as_version=4)
    cells = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and not (c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.get("nbgrader", {}).get("solution"))
    ]
    ns = {"__name__": "__main__"}
    saved = {
        name: dict(vars(module))
        for name, module in list(sys.modules.items())
        if module is not None and name.split(".")[0] == "grader"
    }
    started = time.perf_counter()
    with (
        contextlib.chdir(Path(path).parent),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        for cell in cells:
            source = "\n".join(line for line in cell.source.split("\n") if not line.lstrip().startswith(("%", "!")))
            with contextlib.suppress(BaseException):  # a cell that fails keeps the state it reached, as in a kernel
                exec(compile(source, str(cell.get("id", "cell")), "exec"), ns)
    seconds = time.perf_counter() - started
    plt.close("all")
    for name, attributes in saved.items():  # a hostile cell patched the checks: not for the next notebook
        module = sys.modules.get(name)
        for attribute, value in attributes.items():
            if module is not None and vars(module).get(attribute) is not value:
                setattr(module, attribute, value)
    return str(path), seconds


def time_floor(paths, processes, modules):
    """(wall seconds, {path: seconds}) of the notebooks run in ``processes`` preloaded processes, in order."""
    context = multiprocessing.get_context("spawn")
    # one BLAS thread per process, as the grader's zygote gives each child: the parallelism is across notebooks
    threads = {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update(dict.fromkeys(threads, "1"))
    try:
        barrier = context.Barrier(processes)
        with context.Pool(processes, initializer=_floor_start, initargs=(modules, barrier)) as pool:
            pool.map(_floor_ready, range(processes), chunksize=1)
            started = time.perf_counter()
            each = dict(pool.imap_unordered(_floor_run, [str(p) for p in paths], chunksize=1))
            wall = time.perf_counter() - started
    finally:
        for name, value in threads.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return wall, each


# --- reading the runs --------------------------------------------------------------------------------------


def stage_totals(recorded):
    """{(stage, assignment): seconds} of one grader run, with its process's start-up and exit."""
    totals = defaultdict(float)
    for name, assignment, seconds, _ in recorded["stages"]:
        totals[(name, assignment)] += seconds
    totals[("start-up", "")] = recorded["start-up"]
    totals[("exit", "")] = recorded["exit"]
    return totals


def mean_totals(runs):
    keys = set().union(*runs)
    return {key: sum(run.get(key, 0.0) for run in runs) / len(runs) for key in keys}


def apportion(totals, wall, assignment_ids, workers):
    """{assignment: seconds} of the grader's wall time, by what each assignment's notebooks cost it.

    Stages beside the main thread (workers, the renderer) share the cores: their seconds count over the
    worker count; the main thread's count as they are.
    """
    weight = {}
    for a in assignment_ids:
        beside = sum(totals.get((name, a), 0) for name in ("execution", "verification", "feedback"))
        weight[a] = beside / workers + sum(totals.get((name, a), 0) for name in MAIN_STAGES)
    whole = sum(weight.values()) or 1.0
    return {a: wall * weight[a] / whole for a in assignment_ids}


def reason(row, verdict):
    note = (verdict or {}).get("note", "")
    if note == "tampered" or "tampered" in row.get("note", ""):
        return "a cheat (tampered)"
    if note == "hard-coded":
        return "hidden inputs: same answers on other data (hard-coded)"
    if note == "other-inputs":
        return "a verdict from hidden inputs"
    return "out-of-kernel verdict on the notebook's inputs"


def differences(ours, theirs, recorded, out, kinds):
    """(correct cells compared, [correct cells that differ], {(assignment, kind, what): (differ, cells, Counter)})."""
    compared, wrong, others = 0, [], {}
    for key in sorted(set(ours) | set(theirs)):
        student, assignment, notebook, grade_id = key
        kind, what = kinds.get((student, assignment), ("?", "?"))
        differ = ours.get(key, "missing") != theirs.get(key, "missing")
        if kind == "correct":
            compared += 1
            if differ:
                wrong.append((key, ours.get(key, "missing"), theirs.get(key, "missing")))
            continue
        entry = others.setdefault((assignment, kind, what), [0, 0, Counter()])
        entry[1] += 1
        if differ:
            entry[0] += 1
            try:
                verdicts = json.loads((out / "autograded" / student / assignment / VERDICTS).read_text())
            except (OSError, json.JSONDecodeError):
                verdicts = {}
            why = reason(recorded["rows"].get(key, {}), verdicts.get(notebook, {}).get(grade_id))
            direction = "nbgrader higher" if (theirs.get(key) or 0) > (ours.get(key) or 0) else "grader higher"
            entry[2][f"{why}, {direction}"] += 1
    return compared, wrong, others


# --- the report --------------------------------------------------------------------------------------------


def ratio(a, b):
    return f"{a / b:5.2f}x" if b else "    -"


def print_report(args, assignment_ids, notebooks, before, after, plain, floor_wall, floor_each, totals):
    n = sum(notebooks.values())
    ours = (before["process"] + after["process"]) / 2
    share = apportion(totals, ours, assignment_ids, args.workers)
    floor_by = defaultdict(list)
    for path, seconds in floor_each.items():
        floor_by[Path(path).parent.name].append(seconds)
    processes = args.floor_processes
    print(
        f"{n} notebooks ({args.per_assignment} per assignment, {len(assignment_ids)} assignments), "
        f"grader with {args.workers} workers, floor with {processes} processes, {os.cpu_count()} cores"
    )
    print()
    header = (
        f"{'assignment':<22} {'n':>3} {'nbgrader':>9} {'grader':>9} {'floor':>9} {'nbgrader/grader':>16} "
        f"{'grader/floor':>13}"
    )
    print(
        "seconds per notebook (grader: its one run's wall time apportioned by stage times, see the docstring; "
        "floor per assignment: mean notebook time / processes):"
    )
    print(header)
    print("-" * len(header))
    for a in assignment_ids:
        nb_plain = plain[a] / notebooks[a]
        nb_ours = share[a] / notebooks[a]
        nb_floor = sum(floor_by[a]) / len(floor_by[a]) / processes if floor_by[a] else 0.0
        print(
            f"{a:<22} {notebooks[a]:>3} {nb_plain:>9.3f} {nb_ours:>9.3f} {nb_floor:>9.3f} "
            f"{ratio(nb_plain, nb_ours):>16} {ratio(nb_ours, nb_floor):>13}"
        )
    print("-" * len(header))
    overall_plain, overall_ours, overall_floor = sum(plain.values()) / n, ours / n, floor_wall / n
    print(
        f"{'overall (measured)':<22} {n:>3} {overall_plain:>9.3f} {overall_ours:>9.3f} {overall_floor:>9.3f} "
        f"{ratio(overall_plain, overall_ours):>16} {ratio(overall_ours, overall_floor):>13}"
    )
    print(f"{'(issue 15 targets)':<22} {'':>3} {'':>9} {'':>9} {'':>9} {'>= 6x':>16} {'<= 2.5x':>13}")
    print(
        f"grader: {before['process'] / n:.3f} s/notebook before nbgrader, {after['process'] / n:.3f} after "
        f"(autograde call {before['autograde'] / n:.3f} and {after['autograde'] / n:.3f}); "
        f"floor: pool wall time {floor_wall:.1f} s, the notebooks' own times sum to {sum(floor_each.values()):.1f} s"
    )
    print()

    print("where the grader's time goes (mean of its two runs; worker and renderer stages overlap the main thread):")
    header = f"{'stage':<21} {'runs in':<9} {'seconds':>8} {'s/notebook':>11}   what"
    print(header)
    print("-" * (len(header) + 40))
    for name, where, what in STAGES:
        seconds = sum(v for (stage, _), v in totals.items() if stage == name)
        print(f"{name:<21} {where:<9} {seconds:>8.2f} {seconds / n:>11.3f}   {what}")
    print("-" * (len(header) + 40))
    busy = sum(v for (stage, _), v in totals.items() if stage in ("execution", "verification"))
    main = sum(v for (stage, _), v in totals.items() if stage in MAIN_STAGES)
    wall_call = (before["autograde"] + after["autograde"]) / 2
    print(
        f"{'process wall time':<21} {'':<9} {ours:>8.2f} {ours / n:>11.3f}   "
        f"(autograde call {wall_call:.2f} s; workers busy {busy / (args.workers * wall_call):.0%} of it; "
        f"main-thread stages {main:.2f} s)"
    )
    print()

    print("per assignment, grader stage seconds per notebook:")
    columns = [
        "setup",
        "preparation",
        "execution",
        "verification",
        "verification checks",
        "scoring",
        "verdicts",
        "feedback",
    ]
    labels = ["setup", "prep", "execution", "verify", "of it checks", "scoring", "verdicts", "feedback"]
    print(f"{'assignment':<22}" + "".join(f"{label:>13}" for label in labels))
    for a in assignment_ids:
        print(f"{a:<22}" + "".join(f"{totals.get((c, a), 0.0) / notebooks[a]:>13.3f}" for c in columns))
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--per-assignment",
        type=int,
        default=3,
        help="submissions per assignment (default 3: correct, mistake, hostile)",
    )
    parser.add_argument("--assignments", nargs="+", help="only these assignment ids (default: every spec's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="grader workers (default: cores)")
    parser.add_argument(
        "--floor-processes", type=int, default=os.cpu_count(), help="warm floor processes (default: one per core)"
    )
    args = parser.parse_args(argv)
    ensure_tools_on_path()
    wanted = [a for item in args.assignments or () for a in item.split(",") if a]

    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch:
        scratch = Path(scratch)
        course = course_copy(scratch / "course")
        assignment_ids = graded_assignments(course, wanted)
        submissions = scratch / "class"
        kinds = make_class(course, submissions, assignment_ids, args.per_assignment)
        notebooks = Counter(path.parent.name for path in submissions.glob("*/*/*.ipynb"))
        spec_modules = [m for a in assignment_ids for m in course.specs.get(a).preload]

        print(f"grading {len(kinds)} submissions: grader, nbgrader, grader again, warm floor", file=sys.stderr)
        _, ours_before, before = time_grader(course, submissions, scratch / "out-before", args.workers)
        plain, theirs = time_nbgrader(course_copy(scratch / "nbgrader-course").root, submissions, assignment_ids)
        _, ours_after, after = time_grader(course, submissions, scratch / "out-after", args.workers)
        totals = mean_totals([stage_totals(before), stage_totals(after)])
        # the costliest notebooks first, so that the pool's wall time is not one slow notebook run last
        cost = {a: totals.get(("execution", a), 0) / notebooks[a] for a in assignment_ids}
        paths = sorted(submissions.glob("*/*/*.ipynb"), key=lambda p: (-cost.get(p.parent.name, 0), str(p)))
        floor_wall, floor_each = time_floor(paths, args.floor_processes, FLOOR_IMPORTS + spec_modules)
        print_report(args, assignment_ids, notebooks, before, after, plain, floor_wall, floor_each, totals)

        status = 0
        for label, ours, recorded, out in (
            ("before", ours_before, before, scratch / "out-before"),
            ("after", ours_after, after, scratch / "out-after"),
        ):
            for what, problems in (
                ("grading failures", recorded["failures"]),
                ("feedback not written", recorded["feedback_errors"]),
            ):
                if problems:
                    print(f"grader run {label}: {len(problems)} {what}: {dict(list(problems.items())[:3])}")
            compared, wrong, others = differences(ours, theirs, recorded, out, kinds)
            if wrong:
                status = 1
                print(
                    f"grader run {label}: SCORES DIFFER from nbgrader on {len(wrong)} of {compared} cells of "
                    f"correct submissions, e.g. {wrong[:5]}"
                )
            else:
                styles = Counter(what for kind, what in kinds.values() if kind == "correct")
                print(
                    f"grader run {label}: correct submissions ("
                    + ", ".join(f"{count} {what}" for what, count in sorted(styles.items()))
                    + f") scored as nbgrader scores them on all {compared} graded cells"
                )
            if label == "after":
                print("other submissions, cells where the grader's score differs from nbgrader's (run after):")
                for (assignment, kind, what), (differ, cells, why) in sorted(others.items()):
                    reasons = "; ".join(f"{count} {text}" for text, count in sorted(why.items()))
                    print(
                        f"  {assignment:<22} {kind:<8} {differ:>2} of {cells:>2}  {what}"
                        + (f": {reasons}" if reasons else "")
                    )
    return status


if __name__ == "__main__":
    sys.exit(main())
