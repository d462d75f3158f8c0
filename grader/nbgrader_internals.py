"""Every use the grader makes of nbgrader's private API, in one place.

nbgrader's public API (``Gradebook``, the converters, ``CourseDirectory``, the
preprocessor classes) is used where it is needed. What nbgrader does not
promise to keep lives here, and ``tests/unit/test_nbgrader_internals.py`` pins each
piece, so an nbgrader upgrade that moves one fails in one clear place:

- ``nbgrader.api.get_alembic_version`` and ``nbgrader.api.create_engine``,
  module globals the grader replaces for speed;
- ``ClearSolutions._replace_solution_region``, the hook the blanks extend;
- ``ClearHiddenTests._remove_hidden_test_region``, which says what a released
  test cell looks like;
- the default ``GenerateAssignment.preprocessors`` and
  ``Autograde.autograde_preprocessors`` lists, in each of which the course
  swaps one entry.
"""

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import nbformat
import nbgrader.api
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from traitlets import HasTraits


@functools.cache
def gradebook_schema_version() -> str:
    """The alembic revision nbgrader stamps on a new gradebook, read in this process."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    assert head is not None, f"nbgrader's alembic scripts in {ALEMBIC_DIR} have no head revision"
    return head


def read_schema_version_in_process() -> None:
    """nbgrader runs ``alembic heads`` in a subprocess for every new gradebook (2.5 s); read it here once."""
    nbgrader.api.get_alembic_version = gradebook_schema_version


@contextlib.contextmanager
def one_engine_per_database() -> Iterator[None]:
    """Within the block, nbgrader's gradebooks share one SQLAlchemy engine per database URL.

    nbgrader opens a new Gradebook, and with it a new engine, in each of its
    preprocessors: about 14 per submission, each recompiling every SQL
    statement. An engine is meant to last as long as the program, its
    statement cache with it. Only the grading thread opens gradebooks.
    """
    engines: dict[str, Any] = {}
    create_engine = nbgrader.api.create_engine

    def shared(url: str, **kwargs: Any) -> Any:
        if url not in engines:
            engines[url] = create_engine(url, **kwargs)
        return engines[url]

    nbgrader.api.create_engine = shared
    try:
        yield
    finally:
        nbgrader.api.create_engine = create_engine
        for engine in engines.values():
            engine.dispose()


def released_test_source(cell_type: str, source: str) -> str:
    """What a read-only cell of the gradebook looks like in the release: its hidden-tests region removed."""
    released = nbformat.from_dict({"cell_type": cell_type, "source": source, "metadata": {}})
    ClearHiddenTests()._remove_hidden_test_region(released)
    return released.source


class SolutionRegions(ClearSolutions):
    """``ClearSolutions`` with a public hook after each cell's solution regions are replaced.

    ``after_solution_regions(cell, replaced)`` returns whether the cell counts
    as replaced; nbgrader stubs a solution cell whole when it does not.
    """

    def _replace_solution_region(self, cell: nbformat.NotebookNode, language: str) -> bool:
        replaced = super()._replace_solution_region(cell, language)
        return self.after_solution_regions(cell, replaced)

    def after_solution_regions(self, cell: nbformat.NotebookNode, replaced: bool) -> bool:
        return replaced


def preprocessors_swapped(converter: type[HasTraits], trait: str, replace: type, by: type) -> list[type]:
    """nbgrader's default ``converter.trait`` preprocessor list, with the one entry ``replace`` swapped for ``by``."""
    default = list(converter.class_traits()[trait].default() or ())
    if default.count(replace) != 1:
        raise RuntimeError(
            f"nbgrader's {converter.__name__}.{trait} holds {replace.__name__} {default.count(replace)} times, "
            "not once: grader.nbgrader_internals needs updating for this nbgrader"
        )
    return [by if step is replace else step for step in default]
