"""Inline blanks: ``mu[k] = <solution>  ### BLANK`` becomes ``mu[k] = ###`` in the release.

Stock ``ClearSolutions`` replaces whole regions with a stub; the seed's blanks
keep the left-hand side of an assignment and clear only its right-hand side,
so students fill in exactly one expression per line.
"""

import ast
import io
import tokenize

from traitlets import Unicode

from ..nbgrader_internals import SolutionRegions

BLANK = "###"


def blank_out(source, marker="### BLANK"):
    """Replace each assignment carrying a ``marker`` comment by ``<target> = ###``.

    The statement may span several lines; the marker may sit on any of them.
    A marker that is not on an assignment is a mistake in the solution and
    raises ``ValueError`` naming its line.
    """
    marked = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and token.string.strip() == marker
    }
    if not marked:
        return source
    lines = source.split("\n")
    replacements = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            end_lineno = node.end_lineno or node.lineno  # always set on a parsed node
            span = range(node.lineno, end_lineno + 1)
            if marked.intersection(span):
                first = lines[node.lineno - 1]
                indent = first[: len(first) - len(first.lstrip())]
                target = ast.get_source_segment(source, node.targets[0])
                replacements[node.lineno] = (end_lineno, f"{indent}{target} = {BLANK}")
                marked.difference_update(span)
    if marked:
        raise ValueError(f"'{marker}' on line {min(marked)} is not on a single-target assignment")
    out, line_no = [], 1
    while line_no <= len(lines):
        if line_no in replacements:
            end, text = replacements[line_no]
            out.append(text)
            line_no = end + 1
        else:
            out.append(lines[line_no - 1])
            line_no += 1
    return "\n".join(out)


class ClearSolutionsAndBlanks(SolutionRegions):
    """``ClearSolutions`` that also clears inline blanks.

    Reporting the cell as replaced matters: otherwise nbgrader treats a
    solution cell without ``BEGIN SOLUTION`` as all-solution and stubs it whole.
    """

    blank_marker = Unicode("### BLANK", help="Trailing comment that marks an inline blank").tag(config=True)

    def after_solution_regions(self, cell, replaced):
        if cell.cell_type == "code" and self.blank_marker in cell.source:
            cell.source = blank_out(cell.source, self.blank_marker)
            replaced = True
        return replaced
