"""Every use the grader makes of nbgrader's private API, in one place.

nbgrader's public API (``Gradebook``, the converters, ``CourseDirectory``, the
preprocessor classes) is used where it is needed. What nbgrader does not
promise to keep lives here, and ``tests/unit/test_nbgrader_internals.py`` pins each
piece, so an nbgrader upgrade that moves one fails in one clear place:

- ``nbgrader.api.get_alembic_version``, ``nbgrader.api.create_engine``,
  ``nbgrader.api.Base.metadata.create_all`` and the ``jsonschema`` module
  global of ``nbgrader.nbgraderformat.common``, which the grader replaces for
  speed;
- ``ClearSolutions._replace_solution_region``, the hook the blanks extend;
- ``ClearHiddenTests._remove_hidden_test_region``, which says what a released
  test cell looks like;
- the default ``GenerateAssignment.preprocessors`` and
  ``Autograde.autograde_preprocessors`` lists, in each of which the course
  swaps one entry.
"""

import contextlib
import functools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import nbformat
import nbgrader.api
import nbgrader.nbgraderformat.common
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


class _SchemaCheckedOnce:
    """``jsonschema`` as nbgrader's cell-metadata validation calls it, each schema checked once, not per cell.

    ``jsonschema.validate(instance, schema)`` first validates ``schema``
    against its metaschema: nbgrader calls it for every nbgrader cell of every
    notebook it reads, about nine tenths of the time it spends checking
    metadata. The instance is judged as ``jsonschema.validate`` judges it
    (the best-matching error is raised).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(jsonschema, name)

    @staticmethod
    def validate(instance: Any, schema: dict) -> None:
        validator = _checked_validator(json.dumps(schema, sort_keys=True))
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


@functools.lru_cache(maxsize=8)
def _checked_validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check_metadata_schemas_once() -> None:
    """nbgrader checks its cell-metadata schema against the JSON Schema metaschema once per process, not per cell."""
    nbgrader.nbgraderformat.common.jsonschema = _SchemaCheckedOnce()


@contextlib.contextmanager
def one_engine_per_database() -> Iterator[None]:
    """Within the block, nbgrader's gradebooks share one SQLAlchemy engine per database URL.

    nbgrader opens a new Gradebook, and with it a new engine, in each of its
    preprocessors: about 14 per submission, each recompiling every SQL
    statement and asking the database for each of its tables before creating
    what is missing. An engine is meant to last as long as the program, its
    statement cache with it; the tables, once there, stay for the block. Only
    the grading thread opens gradebooks.
    """
    engines: dict[str, Any] = {}
    create_engine = nbgrader.api.create_engine
    metadata = nbgrader.api.Base.metadata
    create_all = metadata.create_all
    created: set[Any] = set()  # engines whose tables are known to exist

    def shared(url: str, **kwargs: Any) -> Any:
        if url not in engines:
            engines[url] = create_engine(url, **kwargs)
        return engines[url]

    def create_all_once(bind: Any, **kwargs: Any) -> None:
        if bind not in created:
            create_all(bind=bind, **kwargs)
            created.add(bind)

    nbgrader.api.create_engine = shared
    metadata.create_all = create_all_once
    try:
        yield
    finally:
        nbgrader.api.create_engine = create_engine
        del metadata.create_all  # the class's method again
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
