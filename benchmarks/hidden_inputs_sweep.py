"""Do honest answers get one verdict on every hidden input? A sweep over many course secrets.

The test suite grades every sample answer (grader.samples: correct
alternatives and catalogued mistakes) on the hidden inputs of one fixed
secret. A course's secret is random, so a check whose verdict on an honest
answer depends on the data drawn (a numerical corner a correct line runs
into, a mistake that only shows on some data) passes the suite and then
takes a point, noted ``other-inputs``, in somebody's class.

This sweep runs every sample's cells (those a verification child runs) in this process on the hidden inputs of
``--secrets`` secrets, as the verification child would, and prints each
graded cell that passes on the notebook's data but fails on a hidden input,
with the check's message. Nothing printed but the summary means none was
found. Run: ``python benchmarks/hidden_inputs_sweep.py --secrets 20 [--only 02_em_2d]``
(about a minute per secret for the twelve notebooks on one core).
"""

import argparse
import time
from collections import Counter

import nbformat

from grader.assignments import Assignment, Inputs, default_registry
from grader.course import DEFAULT_ROOT, Course
from grader.samples import ALTERNATIVES, MUTANTS, Sample, judge
from grader.verify.runs import hidden_inputs


def verdicts(spec: Assignment, nb: nbformat.NotebookNode, inputs: Inputs | None = None) -> dict[str, str]:
    """{grade_id: "" if the cell's check passes, else its message}."""
    return {
        grade_id: "" if failure is None else (str(failure)[:300] or type(failure).__name__)
        for grade_id, failure in judge(spec, nb, inputs).items()
    }


def sweep(samples: list[Sample], secrets: list[str]) -> int:
    registry, course = default_registry(), Course(DEFAULT_ROOT)
    found, seconds = 0, Counter()
    for sample in samples:
        spec = registry[sample.assignment_id]
        if not spec.hidden_grades():
            continue
        start = time.perf_counter()
        release = nbformat.read(course.release / spec.id / f"{spec.id}.ipynb", as_version=4)
        nb = sample.notebook(release)
        seed = verdicts(spec, nb)
        for secret in secrets:
            for grade_id, message in verdicts(spec, nb, hidden_inputs(spec, secret)).items():
                if message and not seed[grade_id]:
                    found += 1
                    print(f"{sample.key} | secret {secret!r} | {grade_id}: {message}", flush=True)
        seconds[spec.id] += time.perf_counter() - start
    per_assignment = ", ".join(f"{assignment} {spent:.0f}" for assignment, spent in seconds.items())
    print(f"{found} verdict(s) that differ; seconds per assignment: {per_assignment}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--secrets", type=int, default=10, help="how many secrets (sweep-0, sweep-1, ...)")
    parser.add_argument("--only", default="", help="assignment ids, comma-separated")
    arguments = parser.parse_args()
    only = {a for a in arguments.only.split(",") if a}
    samples = [s for s in MUTANTS + ALTERNATIVES if not only or s.assignment_id in only]
    raise SystemExit(1 if sweep(samples, [f"sweep-{i}" for i in range(arguments.secrets)]) else 0)


if __name__ == "__main__":
    main()
