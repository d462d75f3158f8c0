"""IPython extension: one line instead of a traceback for an unfilled blank, or a figure a failed cell broke.

Load it with ``%load_ext grader.blanks`` in a notebook's first code cell.

**Blanks.** Running a cell with an unfilled ``lhs = ###`` blank says which
blank, not SyntaxError.

It can never change what a cell does: a cell is rewritten only if Python
would reject it anyway (a SyntaxError), and only if that is because a line
of real code reads ``<target> = ###``. The rewrite raises ``UnfilledBlank``,
so a rewritten cell fails exactly where it would have failed; a filled cell,
a ``###`` inside a string, or a cell magic reaches the kernel unchanged.
Grade cells therefore pass or fail on their own merit with or without it.

**Calm failure.** When a cell fails, the figures below it fail too, each
with a traceback that says nothing about the cause. A figure cell (one that
verification skips: its id ends in ``-plot`` or a spec's ``skip`` names it)
that raises while an earlier cell's error is unfixed shows one line naming
that cell instead; raising after a fresh start, it asks for the cells above.
It still fails (the error output keeps its type, so Run All stops there);
only the text shown changes. Only the front ends that send cell ids
(JupyterLab, Notebook 7) are affected: nbclient (nbgrader's Validate and
autograde) and the plain shells of the grading runs send none, so there
every error is shown as IPython shows it. Test cells and the student's
answer cells are never figure cells, so their errors always stay whole.
"""

import ast
import functools
import io
import sys
import tokenize
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

#: The release's blank marker: nothing after the ``=`` but this comment.
BLANK = "###"


def hints():
    """What each blank computes, shown to the student: {target: text}, from the assignment specs.

    Read only when a cell has a blank. The kernel runs in the notebook's
    folder (``<course>/notebooks/<assignment>/`` or a student's copy of it),
    so a course's own specs are found above it, and the folder's name says
    which assignment's hint a target shared by several notebooks (``log_p``,
    ``labels``) gets.
    """
    from .assignments import PACKAGE_SPECS, Registry

    here = Path.cwd()
    registry = Registry([*(folder / "assignments" for folder in (here, *here.parents[:3])), PACKAGE_SPECS])
    specs = registry.all()
    merged: dict[str, str] = {}
    for spec in sorted(specs, key=lambda spec: spec.id == here.name):  # this folder's assignment last: it wins
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
        if (
            equals.type == tokenize.OP
            and equals.string == "="
            and comment.type == tokenize.COMMENT
            and comment.string.startswith(BLANK)
            and end.type == tokenize.NEWLINE
        ):
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


@functools.lru_cache(maxsize=1)
def _specs():
    from .assignments import PACKAGE_SPECS, Registry

    here = Path.cwd()
    return tuple(Registry([*(folder / "assignments" for folder in (here, *here.parents[:3])), PACKAGE_SPECS]).all())


def is_graded_cell(cell_id):
    return str(cell_id).startswith("test_") or any(cell_id in spec.grades for spec in _specs())


def is_figure_cell(cell_id):
    """A given cell that only draws (or sweeps for a figure): one that verification skips, never a graded cell."""
    if not cell_id:
        return False
    try:
        specs = _specs()
    except Exception:  # an unreadable course spec: show every error whole
        return False
    return not is_graded_cell(cell_id) and any(not spec.runs_cell(cell_id) for spec in specs)


def _first_line(source):
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= 50 else line[:47] + "..."


class CalmFailure:
    """Which cells have an unfixed error, and the one line a broken figure cell shows."""

    def __init__(self, shell):
        self.shell = shell
        #: {cell id: (execution count, first line)} of the cells whose last run raised, oldest first.
        self.failed = {}
        self.current = None

    def pre_run_cell(self, info):
        self.current = getattr(info, "cell_id", None)

    def post_run_cell(self, result):
        cell_id = getattr(result.info, "cell_id", None)
        if not cell_id:
            return
        self.failed.pop(cell_id, None)
        if result.success:
            return
        try:
            # a broken figure or a failed test breaks no cell below it; the specs are read only now, on an error
            if not (is_figure_cell(cell_id) or is_graded_cell(cell_id)):
                self.failed[cell_id] = (result.execution_count, _first_line(result.info.raw_cell))
        except Exception:
            pass

    def message(self, etype):
        """The one line for a figure cell that raised ``etype``, or None to show the traceback."""
        if not is_figure_cell(self.current):
            return None
        causes = [cause for cell_id, cause in self.failed.items() if cell_id != self.current]
        if causes:
            count, first = causes[0]
            return f"This figure needs cell [{count}] (`{first}`) to run without an error: fix that cell first."
        if issubclass(etype, NameError):
            return "This figure needs the cells above it: run them first (Run > Run All Above Selected Cell)."
        return None

    def handler(self, shell, etype, value, tb, tb_offset=None):
        try:
            line = self.message(etype)
        except Exception:
            line = None
        if line is None:
            # exactly what IPython shows without the extension
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
        else:
            shell._get_exc_info((etype, value, tb))  # %debug and %tb still reach the real error
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                pyplot.close("all")  # the half-drawn figure would be shown after the cell, beside the line
            shell._showtraceback(etype, value, [line])
        return None


def _installed(ipython):
    return getattr(ipython, "_grader_calm_failure", None)


def load_ipython_extension(ipython):
    # First in line, so line numbers are the editor's (IPython's own cleanup drops leading blank lines).
    if transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.insert(0, transform)
    if _installed(ipython) is None and not ipython.custom_exceptions:
        calm = CalmFailure(ipython)
        ipython._grader_calm_failure = calm
        ipython.events.register("pre_run_cell", calm.pre_run_cell)
        ipython.events.register("post_run_cell", calm.post_run_cell)
        # Exception, not BaseException: interrupts, timeouts and SystemExit keep IPython's own handling.
        ipython.set_custom_exc((Exception,), calm.handler)


def unload_ipython_extension(ipython):
    if transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(transform)
    calm = _installed(ipython)
    if calm is not None:
        ipython.events.unregister("pre_run_cell", calm.pre_run_cell)
        ipython.events.unregister("post_run_cell", calm.post_run_cell)
        ipython.set_custom_exc((), None)
        del ipython._grader_calm_failure
