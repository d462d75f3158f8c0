"""IPython extension: running a cell with an unfilled ``lhs = ###`` blank says which blank, not SyntaxError.

Load it with ``%load_ext grader.blanks`` in a notebook's first code cell.

It can never change what a cell does: a cell is rewritten only if Python
would reject it anyway (a SyntaxError), and only if that is because a line
of real code reads ``<target> = ###``. The rewrite raises ``UnfilledBlank``,
so a rewritten cell fails exactly where it would have failed; a filled cell,
a ``###`` inside a string, or a cell magic reaches the kernel unchanged.
Grade cells therefore pass or fail on their own merit with or without it.
"""

import ast
import io
import tokenize
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

#: The release's blank marker: nothing after the ``=`` but this comment.
BLANK = "###"

def hints():
    """What each blank computes, shown to the student: {target: text}, from the assignment specs.

    Read only when a cell has a blank. The kernel runs in the notebook's
    folder (``<course>/notebooks/<assignment>/`` or a student's copy of it),
    so a course's own specs are found above it.
    """
    from .assignments import PACKAGE_SPECS, Registry

    here = Path.cwd()
    registry = Registry([*(folder / "assignments" for folder in (here, *here.parents[:3])), PACKAGE_SPECS])
    merged = {}
    for spec in registry.all():
        merged.update(spec.blank_hints)
    return merged


class UnfilledBlank(Exception):
    """Raised instead of running a cell that still has ``###`` blanks."""

    def _render_traceback_(self):
        # One line in the notebook instead of a traceback through this module.
        return [f"UnfilledBlank: {self}"]


def _is_assignment_target(text):
    """``mu[k]`` or ``gamma[:, k]`` is; ``!echo x`` or ``f(x)`` is not."""
    try:
        tree = ast.parse(f"{text} = None")
    except SyntaxError:
        return False
    return isinstance(tree.body[0], ast.Assign) and len(tree.body[0].targets) == 1


def unfilled_blanks(source):
    """(line number, target) of every line of real code reading ``<target> = ###``.

    Tokens, not text, decide: ``=`` must be followed directly by a ``###``
    comment and the end of the statement, so a ``###`` inside a string or
    after a finished expression is not a blank. Source that cannot be
    tokenized (a cell magic's foreign language) has no blanks.
    """
    lines = source.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    found = []
    for equals, comment, end in zip(tokens, tokens[1:], tokens[2:]):
        if (equals.type == tokenize.OP and equals.string == "="
                and comment.type == tokenize.COMMENT and comment.string.startswith(BLANK)
                and end.type == tokenize.NEWLINE):
            number, column = equals.start
            target = lines[number - 1][:column].strip()
            if _is_assignment_target(target):
                found.append((number, target))
    return found


def python_rejects(source):
    """True if the cell, after IPython's standard syntax (magics, ``!``), is a SyntaxError."""
    code = TransformerManager().transform_cell(source)
    try:
        compile(code, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError:
        return True
    return False


def describe(blanks):
    """The one-line message: the first blank, what it computes, how many follow."""
    first_line, target = blanks[0]
    what = hints().get(target, "the expression described in the markdown above")
    more = f" ({len(blanks) - 1} more blank(s) below it)" if len(blanks) > 1 else ""
    return f"line {first_line}: `{target} = {BLANK}` is not filled in yet; it should compute {what}{more}."


def transform(lines):
    """IPython cleanup transformer: a cell failing only for its blanks becomes one ``raise UnfilledBlank``."""
    source = "".join(lines)
    if BLANK not in source:
        return lines
    blanks = unfilled_blanks(source)
    if not blanks or not python_rejects(source):
        return lines
    return [f"raise __import__('grader.blanks').blanks.UnfilledBlank({describe(blanks)!r})\n"]


def load_ipython_extension(ipython):
    # First in line, so line numbers are the editor's (IPython's own cleanup drops leading blank lines).
    if transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.insert(0, transform)


def unload_ipython_extension(ipython):
    if transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(transform)
