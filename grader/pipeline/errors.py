"""Errors the instructor pipeline reports as one line (the CLI exits 2 on :class:`OutputError`)."""


class OutputError(Exception):
    """The output folder or its gradebook cannot be used (held by another run, unreadable, no driver)."""


class ScoringError(Exception):
    """nbgrader could not score a submission; the message is the cause nbgrader logged."""
