"""Checks that notebook cells call on the student's variables.

Every check takes the notebook namespace (``globals()`` in a test cell) and
raises :class:`CheckFailed` with a student-facing message that names the
quantity and the equation, never the expected numbers.
"""

from .core import CheckFailed

__all__ = ["CheckFailed"]
