"""Out-of-kernel verification: every graded cell decided outside the student's process.

In plain nbgrader the test cells run in the student's kernel, after the
student's code, so that code can disarm them (patch NumPy, turn later cells
into ``pass``, hide tracebacks, rebind the checks) or type in the notebook's
answers. Here the student's code runs again in fresh sandboxed children on
the notebook's inputs and on hidden ones (:mod:`.runs`); the children answer
questions with plain data (:mod:`.transport`, :mod:`.remote`) and the checks
judge the answers in the grading process, where no student code runs. The
verdicts replace the kernel's in the gradebook (:mod:`.record`).
"""

from .record import VERDICTS, edited_cells, read_verdicts, record
from .runs import VerifiedExecution, cells_to_run, execute_and_verify, hidden_inputs, judge, verify, verify_source
from .secret import SECRET_FILE, course_secret

__all__ = [
    "SECRET_FILE",
    "VERDICTS",
    "VerifiedExecution",
    "cells_to_run",
    "course_secret",
    "edited_cells",
    "execute_and_verify",
    "hidden_inputs",
    "judge",
    "read_verdicts",
    "record",
    "verify",
    "verify_source",
]
