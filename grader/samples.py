"""Student answers typed into the release's blanks: the seed's style, and typical mistakes.

``fill_blanks`` turns a release notebook into a submission, the way a student
fills the ``lhs = ###`` lines. The bundled sample class and the tests are made
from these answers, so they always match the current release.
"""

import contextlib
import copy
import io
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .assignments import Assignment, Inputs

BLANK_LINE = re.compile(r"^(?P<indent>\s*)(?P<target>.+?) = ###\s*$")


def run_until(notebook: "NotebookNode", cell_id: str) -> tuple[dict[str, Any], Exception | None]:
    """Execute the code cells up to and including ``cell_id`` in this process: (namespace, last exception or None).

    For tests and benchmarks that need a filled notebook's variables fast.
    IPython magic lines are skipped; output and warnings are discarded. A cell
    that raises keeps the state it reached and the next cells still run, as in
    a kernel.
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cells.append((cell.id, cell.source))
            if cell.id == cell_id:
                return run_sources(cells)
    raise ValueError(f"the notebook has no {cell_id!r} cell")


def run_sources(
    cells: Iterable[tuple[str, str]], after: str = "", variables: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Exception | None]:
    """Execute ``cells`` [(name, source)] as :func:`run_until` does; ``variables`` are set after the cell ``after``.

    The setting is what a verification child does with hidden inputs.
    """
    ns: dict[str, Any] = {}
    error: Exception | None = None
    with _quiet():
        for name, source in cells:
            error = _execute(ns, name, source) or error
            if name == after:
                ns.update(variables or {})
    return ns, error


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Output, warnings and floating-point errors of the executed cells discarded."""
    import numpy as np

    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        yield


def _execute(ns: dict[str, Any], name: str, source: str) -> Exception | None:
    """Run one cell's ``source`` (IPython magic lines skipped) in ``ns``; what it raised, or None."""
    source = "\n".join(line for line in source.split("\n") if not line.startswith("%"))
    try:
        exec(compile(source, name, "exec"), ns)
    except Exception as raised:
        return raised
    return None


@dataclass
class KernelRun:
    """What a kernel running a whole notebook shows: the graded cells that raised, and the self-check's output."""

    errors: dict[str, str]  # grade_id -> "ExceptionName: message"
    self_check: str


def run_as_kernel(notebook: Mapping[str, Any], folder: "str | os.PathLike[str]") -> KernelRun:
    """Every code cell of ``notebook`` in order, in one namespace in this process, in ``folder``.

    What the Lab's kernel, Validate and the autograded notebook show of the
    visible grade cells and the self-check, without a kernel: for tests that
    hold every sample answer to one verdict. Figures are made and closed, not drawn.
    """
    import matplotlib.pyplot as plt

    ns: dict[str, Any] = {}
    errors: dict[str, str] = {}
    self_check = io.StringIO()
    with contextlib.chdir(folder), _quiet():
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id", "")
            with contextlib.redirect_stdout(self_check if grade_id == "self_check" else io.StringIO()):
                raised = _execute(ns, grade_id or cell.get("id", "cell"), cell["source"])
            plt.close("all")
            if raised is not None and meta.get("grade"):
                errors[grade_id] = f"{type(raised).__name__}: {raised}"
    return KernelRun(errors, self_check.getvalue())


def judge(
    spec: "Assignment", notebook: Mapping[str, Any], inputs: "Inputs | None" = None
) -> dict[str, Exception | None]:
    """{grade_id: what its check raised, or None}: ``notebook`` judged in this process as the grader judges it.

    The cells a verification child runs are executed here, with ``inputs``
    (hidden ones) set after the cell that makes them, and each grade cell's
    check is called on the result as the grading process calls it: every
    grade cell on the notebook's own inputs, the spec's hidden grades on
    ``inputs``. For tests and benchmarks: fast, and with no sandbox.
    """
    from .verify.runs import cells_to_run

    cells = cells_to_run(spec, notebook)
    if inputs is None:
        ns, _ = run_sources(cells)
        ns, grade_ids = {**ns, **spec.notebook().trusted()}, list(spec.grades)
    else:
        ns, _ = run_sources(cells, inputs.cell, inputs.variables)
        ns, grade_ids = {**ns, **inputs.trusted()}, spec.hidden_grades()
        if spec.hidden_view:
            ns = dict(spec.hidden_view(ns))
    verdicts: dict[str, Exception | None] = {}
    for grade_id in grade_ids:
        try:
            spec.grades[grade_id](ns)
        except Exception as failure:  # a kernel fails the cell on any exception too
            verdicts[grade_id] = failure
        else:
            verdicts[grade_id] = None
    return verdicts


class UnknownBlank(KeyError):
    pass


def blanks(source: str) -> list[str]:
    """Targets of the unfilled blanks in a cell's source, in order."""
    return [m.group("target") for m in map(BLANK_LINE.match, source.split("\n")) if m]


def fill_source(source: str, answers: Mapping[str, str]) -> str:
    """Replace each ``target = ###`` line by ``target = answers[target]``.

    Multi-line answers are indented to the blank's level.
    """
    out = []
    for line in source.split("\n"):
        match = BLANK_LINE.match(line)
        if not match:
            out.append(line)
            continue
        target, indent = match.group("target"), match.group("indent")
        if target not in answers:
            raise UnknownBlank(f"no answer for blank {target!r}")
        first, *rest = answers[target].split("\n")
        out.append(f"{indent}{target} = {first}")
        out.extend(indent + line_ for line_ in rest)
    return "\n".join(out)


def fill_blanks(notebook: "NotebookNode", answers: Mapping[str, str]) -> "NotebookNode":
    """A copy of ``notebook`` with every blank filled from ``answers`` ({target: expression})."""
    filled = copy.deepcopy(notebook)
    for cell in filled.cells:
        if cell.cell_type == "code" and blanks(cell.source):
            cell.source = fill_source(cell.source, answers)
    return filled


@dataclass(frozen=True)
class Samples:
    """An assignment's sample answers (in its spec): how the seed's students fill the blanks, what they get wrong.

    ``seed_style`` {blank target: expression}; ``mistakes`` {misconception id:
    blanks that differ from the seed style}; ``mutants`` and ``alternatives``
    are :class:`Sample` s: every catalogued mistake as a student makes it, and
    correct answers written differently.
    """

    seed_style: dict[str, str]
    mistakes: dict[str, dict[str, str]] = field(default_factory=dict)
    mutants: tuple["Sample", ...] = ()
    alternatives: tuple["Sample", ...] = ()
    #: What the bundled sample class's students hand in, one entry per student in order (see
    #: :mod:`grader.sample_class`): "seed", "blank", a misconception id (its first mutant),
    #: "<id>: <sample name>" or "correct: <sample name>".
    sample_class: tuple[str, ...] = ()


def _specs() -> list[tuple[str, Samples]]:
    """(assignment id, samples) of every spec that has samples."""
    from .assignments import default_registry

    return [(spec.id, spec.samples) for spec in default_registry().all() if spec.samples is not None]


def __getattr__(name: str) -> Any:
    """SEED_STYLE, MISTAKES, MUTANTS and ALTERNATIVES of every assignment, gathered from the specs."""
    if name == "SEED_STYLE":
        return {spec_id: samples.seed_style for spec_id, samples in _specs()}
    if name == "MISTAKES":
        return {
            (spec_id, mistake): blanks for spec_id, samples in _specs() for mistake, blanks in samples.mistakes.items()
        }
    if name == "MUTANTS":
        return [
            Sample(spec_id, "blank " + ", ".join(blanks), mistake, blanks)
            for spec_id, samples in _specs()
            for mistake, blanks in samples.mistakes.items()
        ] + [sample for _, samples in _specs() for sample in samples.mutants]
    if name == "ALTERNATIVES":
        return [sample for _, samples in _specs() for sample in samples.alternatives]
    raise AttributeError(name)


def variant(assignment_id: str, **changes: str) -> dict[str, str]:
    """The seed-style answers of an assignment with some blanks answered differently."""
    from .assignments import default_registry

    samples = default_registry()[assignment_id].samples
    if samples is None:
        raise UnknownBlank(f"{assignment_id}'s spec has no sample answers")
    answers = dict(samples.seed_style)
    unknown = set(changes) - set(answers)
    if unknown:
        raise UnknownBlank(f"{assignment_id} has no blanks {sorted(unknown)}")
    answers.update(changes)
    return answers


class UnknownGivenLine(ValueError):
    pass


def edit_source(source: str, edits: Iterable[tuple[str, str]]) -> str:
    """Apply ``(given text, replacement)`` edits; each given text must occur exactly once."""
    for given, replacement in edits:
        if source.count(given) != 1:
            raise UnknownGivenLine(f"{given!r} occurs {source.count(given)} times, expected once")
        source = source.replace(given, replacement)
    return source


@dataclass(frozen=True)
class Sample:
    """A student's EM cell: blank answers that differ from the seed style, then edits of the filled cell.

    ``name`` says in a few words what the student wrote; ``misconception``
    is the catalogue id it should be diagnosed as (None for a correct answer).
    """

    assignment_id: str
    name: str
    misconception: str | None = None
    blanks: dict[str, str] = field(default_factory=dict)
    edits: tuple[tuple[str, str], ...] = ()
    #: The cell (grade_id) the edits apply to.
    cell: str = ""

    @property
    def key(self) -> str:
        return f"{self.assignment_id}-{self.misconception or 'correct'}-{self.name}"

    def notebook(self, release: "NotebookNode") -> "NotebookNode":
        """The release notebook ``release`` filled in the way this student did."""
        filled = fill_blanks(release, variant(self.assignment_id, **self.blanks))
        if self.edits:
            (cell,) = [c for c in filled.cells if c.get("id") == self.cell]
            cell.source = edit_source(cell.source, self.edits)
        return filled
