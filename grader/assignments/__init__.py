"""Everything the grader knows about one assignment, in one spec file per assignment.

A spec is a Python file named after its assignment (``01_em_1d.py``) that
defines ``ASSIGNMENT = Assignment(...)``. The package's own specs live next to
this module; a course adds or overrides specs in ``<course root>/assignments/``.
Verification, the blanks extension, the zygote's preloads, the samples and the
reports read the specs; no other module names an assignment id.

How a spec's parts are used when a submission is verified
(:mod:`grader.verify`): the notebook's code cells run in a sandboxed child
(never the test cells, never the cells ``skip`` names, nothing after the last
answer cell), once as written and once with ``hidden(rng)``'s variables set
after the cell that makes the notebook's data; each graded cell's check then
runs in the grading process on the child's answers, with the spec's own copy
of the inputs (:class:`Inputs`) in place of the notebook's.
"""

import dataclasses
import functools
import hashlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks.core import INPUTS

if TYPE_CHECKING:
    from ..samples import Samples

__all__ = ["INPUTS", "Assignment", "Call", "Inputs", "Registry", "call", "default_registry", "load_source"]

PACKAGE_SPECS = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The inputs of one verification run.

    ``cell`` is the notebook cell that makes them; ``variables`` are what that
    cell defines (set in the child after it, for a hidden run, and given to
    the checks in place of the child's values on every run); ``details`` is
    what the checks judge against (a problem object of the check module's
    own kind), handed to them as ``ns[INPUTS]``.
    """

    cell: str
    variables: Mapping[str, Any]
    details: Any = None

    def trusted(self) -> dict[str, Any]:
        return {**self.variables, INPUTS: self.details}


@dataclasses.dataclass(frozen=True)
class Call:
    """A graded cell's verdict: ``check(ns, *args, **kwargs)``, the call its visible test cell makes.

    The visible cell runs it in the student's kernel (Validate, the feedback
    page); verification runs the same call on the out-of-kernel answers, so
    on the notebook's data both reach one verdict.
    """

    check: Callable[..., object]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __call__(self, ns: Mapping[str, Any]) -> None:
        self.check(ns, *self.args, **self.kwargs)

    @property
    def __name__(self) -> str:
        return getattr(self.check, "__name__", "check")


def call(check: Callable[..., object], *args: Any, **kwargs: Any) -> Call:
    """The :class:`Call` ``check(ns, *args, **kwargs)``."""
    return Call(check, args, dict(kwargs))


@dataclasses.dataclass(frozen=True, eq=False)
class Assignment:
    """One assignment's spec. See the module docstring for how verification uses it.

    ``grades`` maps each graded cell's grade_id to the check deciding it
    (``check(ns)`` raises :class:`grader.checks.CheckFailed`), a :func:`call`
    of the check its visible test cell calls.
    ``notebook()`` rebuilds the notebook's own inputs; ``hidden(rng)`` draws
    other inputs from the course secret's generator (None: draw again).
    ``seed_only`` names graded cells judged on the notebook's inputs only,
    each with the reason. ``hidden_view(ns)`` may narrow a hidden run before
    it is judged (e.g. to the iterations that stayed finite).
    ``skip`` lists given cells that verification need not run (figures,
    sweeps); cells whose id ends in ``-plot`` are skipped too.
    ``preload`` names modules the zygote imports once for every child.
    ``blank_hints`` says what each ``lhs = ###`` blank computes.
    ``samples`` (seed-style answers, mistakes, alternatives) feed the tests
    and the bundled sample class.
    """

    id: str
    grades: Mapping[str, Callable[[Mapping[str, Any]], object]]
    notebook: Callable[[], Inputs]
    hidden: Callable[[np.random.Generator], Inputs | None] | None = None
    seed_only: Mapping[str, str] = dataclasses.field(default_factory=dict)
    hidden_view: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    skip: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    blank_hints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    samples: "Samples | None" = None
    #: Draws of ``hidden`` tried before giving up.
    attempts: int = 50

    def runs_cell(self, cell_id: str) -> bool:
        return not (str(cell_id).endswith("-plot") or cell_id in self.skip)

    def hidden_grades(self) -> list[str]:
        return [grade_id for grade_id in self.grades if self.hidden and grade_id not in self.seed_only]


def load_source(assignment_id: str, source: str, filename: str | PathLike[str] = "<spec>") -> Assignment:
    """The :class:`Assignment` a spec's source defines (cached by content: Dask workers load it from text)."""
    return _load(assignment_id, source, str(filename))


@functools.lru_cache(maxsize=64)
def _load(assignment_id: str, source: str, filename: str) -> Assignment:
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    name = f"grader.assignments._spec_{digest}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=filename)
    if spec is None:  # not with loader=None: spec_from_loader then always makes a ModuleSpec
        raise ImportError(f"no module spec for {filename}")
    module = importlib.util.module_from_spec(spec)
    module.__file__ = filename
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    exec(compile(source, filename, "exec"), module.__dict__)
    assignment = getattr(module, "ASSIGNMENT", None)
    if not isinstance(assignment, Assignment):
        raise SpecError(f"{filename}: defines no ASSIGNMENT = Assignment(...)")
    if assignment.id != assignment_id:
        raise SpecError(f"{filename}: ASSIGNMENT.id is {assignment.id!r}, expected {assignment_id!r}")
    return assignment


class SpecError(Exception):
    """A spec file is missing or does not define its assignment."""


class Registry:
    """The specs found in ``directories`` (earlier directories win)."""

    def __init__(self, directories: Iterable[str | PathLike[str]] = (PACKAGE_SPECS,)) -> None:
        self.directories = [Path(d) for d in directories]

    def path(self, assignment_id: str) -> Path | None:
        for directory in self.directories:
            candidate = directory / f"{assignment_id}.py"
            if candidate.is_file():
                return candidate
        return None

    def ids(self) -> list[str]:
        found = {p.stem for d in self.directories if d.is_dir() for p in d.glob("*.py") if p.stem[:1].isdigit()}
        return sorted(found)

    def source(self, assignment_id: str) -> tuple[str, str] | None:
        """(source text, file name) of the spec, or None where the assignment has none."""
        path = self.path(assignment_id)
        return None if path is None else (path.read_text(), str(path))

    def get(self, assignment_id: str) -> Assignment | None:
        """The assignment's spec, or None."""
        found = self.source(assignment_id)
        return None if found is None else load_source(assignment_id, *found)

    def __getitem__(self, assignment_id: str) -> Assignment:
        spec = self.get(assignment_id)
        if spec is None:
            raise SpecError(f"no spec {assignment_id}.py in {', '.join(map(str, self.directories))}")
        return spec

    def all(self) -> list[Assignment]:
        return [self[assignment_id] for assignment_id in self.ids()]


def for_course(root: str | PathLike[str]) -> Registry:
    """The registry of the course at ``root``: its own ``assignments/`` first, then the package's."""
    return Registry([Path(root) / "assignments", PACKAGE_SPECS])


def default_registry() -> Registry:
    return Registry()
