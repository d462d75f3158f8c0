"""Run a notebook's code cells in this process, as a kernel would, for fast tests of the checks."""

import nbformat

from grader.course import DEFAULT_ROOT, Course
from grader.samples import run_until


def release(assignment_id):
    """The committed student release of a single-notebook assignment."""
    return nbformat.read(Course(DEFAULT_ROOT).release / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def run_cells(nb, until):
    """The namespace after executing code cells up to and including the cell with id ``until`` (see run_until)."""
    return run_until(nb, until)[0]


def failures(checks, ns):
    """{check function name: CheckFailed} of every check in ``checks`` [(label, check)] that fails on ``ns``."""
    from grader.checks import CheckFailed

    out = {}
    for _label, check in checks:
        try:
            check(ns)
        except CheckFailed as failure:
            out[check.__name__] = failure
    return out


def failure_messages(checks, ns):
    """{check function name: message} of the checks that fail on ``ns``."""
    return {name: str(failure) for name, failure in failures(checks, ns).items()}


def failure_diagnoses(checks, ns):
    """{check function name: diagnosis ids} of the checks that fail on ``ns``."""
    return {name: failure.diagnosis for name, failure in failures(checks, ns).items()}


def hidden_inputs(spec, n, seed=2024):
    """The first ``n`` hidden inputs ``spec.hidden`` draws from a generator seeded with ``seed``."""
    import numpy as np

    rng, found = np.random.default_rng(seed), []
    while len(found) < n:
        drawn = spec.hidden(rng)
        if drawn is not None:
            found.append(drawn)
    return found


def student_notebook(assignment_id, student_cell, checks):
    """(release, run_until_student_cell, failures) of a single-notebook assignment whose checks are ``checks``."""

    def student_release():
        return release(assignment_id)

    def run_until_student_cell(nb):
        return run_cells(nb, student_cell)

    def failures(ns):
        return failure_messages(checks, ns)

    return student_release, run_until_student_cell, failures
