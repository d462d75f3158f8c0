"""Run a notebook's code cells in this process, as a kernel would, for fast tests of the checks."""

import contextlib
import io

import nbformat
import numpy as np

from grader.course import DEFAULT_ROOT, Course


def release(assignment_id):
    """The committed student release of a single-notebook assignment."""
    return nbformat.read(Course(DEFAULT_ROOT).release / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def run_cells(nb, until):
    """Execute code cells up to and including the cell with id ``until``; return the namespace.

    IPython magic lines are skipped and output is discarded. A cell that raises
    keeps the state it reached, and the next cells still run, as in a kernel.
    """
    return run_cells_with_error(nb, until)[0]


def run_cells_with_error(nb, until):
    """:func:`run_cells`, returning (namespace, the last exception a cell raised or None)."""
    ns, error = {}, None
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.split("\n") if not line.startswith("%"))
            try:
                exec(compile(source, cell.id, "exec"), ns)
            except Exception as raised:  # a kernel keeps the state of a cell that raised; so do we
                error = raised
            if cell.id == until:
                return ns, error
    raise AssertionError(f"no cell {until!r}")


def failure_messages(checks, ns):
    """{check function name: message} of every check in ``checks`` [(label, check)] that fails on ``ns``."""
    from grader.checks import CheckFailed

    out = {}
    for _label, check in checks:
        try:
            check(ns)
        except CheckFailed as failure:
            out[check.__name__] = str(failure)
    return out


def student_notebook(assignment_id, student_cell, checks):
    """(release, run_until_student_cell, failures) of a single-notebook assignment whose checks are ``checks``."""

    def student_release():
        return release(assignment_id)

    def run_until_student_cell(nb):
        return run_cells(nb, student_cell)

    def failures(ns):
        return failure_messages(checks, ns)

    return student_release, run_until_student_cell, failures
