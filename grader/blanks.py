"""IPython extension: running a cell with an unfilled ``lhs = ###`` blank says which blank, not SyntaxError.

Load it with ``%load_ext grader.blanks`` in a notebook's first code cell. A
cell is rewritten only while it still contains a line of the exact form
``<target> = ###``; a filled cell reaches the kernel unchanged.
"""

import re

BLANK_LINE = re.compile(r"^\s*(?P<target>[^#=\s][^#=]*?)\s*=\s*###\s*$")

#: What each blank computes, shown to the student. Keyed by the blank's target.
HINTS = {
    "gamma[:, k]": "the E-step numerator pi_k * N(x_n | component k) for every point (PRML eq. 9.23)",
    "mu[k]": "the responsibility-weighted mean of the data for component k (eq. 9.24)",
    "sigma[k]": "the square root of the responsibility-weighted variance around the new mu[k] (eq. 9.25)",
    "cov[k]": "the responsibility-weighted covariance around the new mu[k] (eq. 9.25)",
    "pi[k]": "the mixing weight N_k / N (eq. 9.26)",
    "log_likelihood": "sum over points of log sum over k of pi_k N(x_n | component k) (eq. 9.14)",
}


class UnfilledBlank(Exception):
    """Raised instead of running a cell that still has ``###`` blanks."""

    def _render_traceback_(self):
        # One line in the notebook instead of a traceback through this module.
        return [f"UnfilledBlank: {self}"]


def unfilled_blanks(lines):
    """(line number, target) for every unfilled blank in a cell's lines."""
    return [(number, match.group("target"))
            for number, match in enumerate(map(BLANK_LINE.match, lines), start=1) if match]


def describe(blanks):
    first_line, target = blanks[0]
    what = HINTS.get(target, "the expression described in the markdown above")
    more = f" ({len(blanks) - 1} more blank(s) below it)" if len(blanks) > 1 else ""
    return f"line {first_line}: `{target} = ###` is not filled in yet; it should compute {what}{more}."


def transform(lines):
    """IPython cleanup transformer: a cell with blanks becomes one ``raise UnfilledBlank``."""
    blanks = unfilled_blanks([line.rstrip("\n") for line in lines])
    if not blanks:
        return lines
    return [f"raise __import__('grader.blanks').blanks.UnfilledBlank({describe(blanks)!r})\n"]


def load_ipython_extension(ipython):
    if transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(transform)


def unload_ipython_extension(ipython):
    if transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(transform)
