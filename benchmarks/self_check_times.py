"""How long each notebook's self-check cell takes in a real Jupyter kernel, as a student runs it.

Per assignment, three kinds of runs, each executing the notebook's code cells
(nbclient, in the notebook's own folder, errors allowed as in JupyterLab) up
to and including the cell with id ``self_check``:

* the reference solution, in a fresh kernel (``--repeats`` times): the
  self-check's first run, then the same cell once more (a student re-checks);
* then, in the last of those kernels, the untouched release (every blank
  unfilled) and every catalogued mistake of the assignment's spec
  (``grader.samples.MUTANTS``: the release filled as that student did): a
  failing self-check also looks for the catalogued mistake that explains it,
  which is where the time goes.

A cell's time is the kernel's own, from nbclient's timing metadata
(``iopub.execute_input`` to ``shell.execute_reply``): kernel start and the
other cells are not counted. Run:
``python benchmarks/self_check_times.py [--repeats 3] [assignment ...]``.
"""

import argparse
from datetime import datetime

import nbformat
from nbclient import NotebookClient

from grader.course import Course
from grader.samples import MUTANTS

CELL_ID = "self_check"
PASSED = "All checks passed"


def cell_seconds(cell):
    timing = cell.metadata["execution"]
    start, end = (
        datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
        for key in ("iopub.execute_input", "shell.execute_reply")
    )
    return (end - start).total_seconds()


def run_to_self_check(client, notebook, checks=1):
    """Run ``notebook``'s code cells up to the self-check, that cell ``checks`` times; [(seconds, output)]."""
    client.nb = notebook
    cells = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    last = next(n for n, (_, cell) in enumerate(cells) if cell.get("id") == CELL_ID)
    for index, cell in cells[:last]:
        client.execute_cell(cell, index)
    index, check = cells[last]
    runs = []
    for _ in range(checks):
        client.execute_cell(check, index)
        runs.append((cell_seconds(check), "".join(output.get("text", "") for output in check.outputs)))
    return runs


def span(values):
    return f"{min(values):6.3f} - {max(values):6.3f}"


def main():
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("assignments", nargs="*")
    options.add_argument("--repeats", type=int, default=3, help="fresh kernels for the reference (default 3)")
    args = options.parse_args()
    course = Course()
    print(
        f"{'notebook':20s} {'reference, 1st (s)':>18s} {'re-run (s)':>16s} {'untouched (s)':>14s} "
        f"{'mistakes (s)':>16s}  slowest mistake"
    )
    every = []
    for assignment_id in args.assignments or course.assignments:
        (name,) = course.notebooks(assignment_id)
        folder = course.solutions / assignment_id
        first, again = [], []
        for repeat in range(args.repeats):
            solution = nbformat.read(folder / f"{name}.ipynb", as_version=4)
            client = NotebookClient(
                solution,
                timeout=600,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(folder)}},
            )
            with client.setup_kernel():
                runs = run_to_self_check(client, solution, checks=2)
                if not all(PASSED in output for _, output in runs):
                    raise RuntimeError(f"{name}: the reference's self-check did not pass:\n{runs[0][1]}")
                first.append(runs[0][0])
                again.append(runs[1][0])
                if repeat < args.repeats - 1:
                    continue
                release = nbformat.read(course.release / assignment_id / f"{name}.ipynb", as_version=4)
                ((untouched, _),) = run_to_self_check(client, release)
                mistakes = []
                for sample in (s for s in MUTANTS if s.assignment_id == assignment_id):
                    ((seconds, output),) = run_to_self_check(client, sample.notebook(release))
                    mistakes.append((seconds, sample.key, PASSED in output))
        slowest = max(mistakes)
        every += [*first, *again, untouched, *(m[0] for m in mistakes)]
        passed = sum(m[2] for m in mistakes)
        print(
            f"{name:20s} {span(first):>18s} {span(again):>16s} {untouched:14.3f} "
            f"{span([m[0] for m in mistakes]):>16s}  {slowest[1]} ({slowest[0]:.2f} s; {len(mistakes)} mistakes"
            f"{f', {passed} pass the self-check' if passed else ''})",
            flush=True,
        )
    print(f"all runs: {span(every)} s")


if __name__ == "__main__":
    main()
