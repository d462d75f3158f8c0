"""Pins every private nbgrader API the grader relies on (all used through ``grader.nbgrader_internals``).

An nbgrader upgrade that renames, moves or changes one of them fails here,
with the name of what moved, before it fails somewhere in a grading run.
"""

import inspect
import subprocess

import nbformat
import nbgrader
import nbgrader.api
import pytest
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.dbutil import _temp_alembic_ini
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, Execute
from packaging.version import Version
from sqlalchemy import create_engine, text

from grader import nbgrader_internals
from grader.course import AUTOGRADE_PREPROCESSORS, GENERATE_ASSIGNMENT_PREPROCESSORS
from grader.nbgrader_internals import (
    gradebook_schema_version,
    one_engine_per_database,
    preprocessors_swapped,
    released_test_source,
)
from grader.preprocessors import ClearSolutionsAndBlanks, SocketFolderExecute


def test_the_nbgrader_these_pins_were_written_for():
    assert Version("0.9.6") <= Version(nbgrader.__version__) < Version("0.10")


@pytest.mark.parametrize(
    "owner, name, parameters",
    [
        (nbgrader.api, "get_alembic_version", []),
        (nbgrader.api, "create_engine", None),
        (ClearSolutions, "_replace_solution_region", ["self", "cell", "language"]),
        (ClearHiddenTests, "_remove_hidden_test_region", ["self", "cell"]),
    ],
)
def test_each_private_name_exists_with_the_signature_used(owner, name, parameters):
    found = getattr(owner, name, None)
    assert callable(found), f"{owner.__name__}.{name} is gone: update grader/nbgrader_internals.py"
    if parameters is not None:
        assert list(inspect.signature(found).parameters) == parameters


def test_gradebook_schema_version_is_the_one_alembic_reports(tmp_path):
    """grader stamps new gradebooks with a revision read in-process; nbgrader asks the alembic program."""
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:
        heads = subprocess.run(["alembic", "-c", ini, "heads"], capture_output=True, text=True, check=True).stdout
    assert gradebook_schema_version() == heads.split()[0]

    nbgrader_internals.read_schema_version_in_process()
    assert nbgrader.api.get_alembic_version is gradebook_schema_version
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    Gradebook(url).close()
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == heads.split()[0]


def test_gradebooks_share_one_engine_per_database_only_within_a_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    original = nbgrader.api.create_engine
    with one_engine_per_database():
        with Gradebook(url) as first:
            first.add_student("ada")
        with Gradebook(url) as second:
            assert second.engine is first.engine
            assert [s.id for s in second.students] == ["ada"]  # a closed gradebook's engine keeps working
        with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
            assert other.engine is not first.engine
    assert nbgrader.api.create_engine is original
    with Gradebook(url) as after:
        assert after.engine is not first.engine


def test_within_a_run_each_database_is_asked_for_its_tables_once(tmp_path):
    """nbgrader's Gradebook creates missing tables on every open; within a run, only the first open per database."""
    from sqlalchemy import event

    urls = [f"sqlite:///{tmp_path / name}" for name in ("gradebook.db", "other.db")]
    statements = []
    with one_engine_per_database():
        for url in urls + urls:
            with Gradebook(url) as gradebook:
                if len(statements) < len(urls):  # listen on each engine once, from its first open
                    event.listen(gradebook.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
                    statements.append(url)
                gradebook.add_student(f"s{len(statements)}")
    asked = [s for s in statements if isinstance(s, str) and "PRAGMA main.table_info" in s]
    assert asked == [], "a later open asked for the tables again"
    assert nbgrader.api.Base.metadata.create_all.__func__ is type(nbgrader.api.Base.metadata).create_all
    for url in urls:  # both databases got every table
        with Gradebook(url) as gradebook:
            assert len(gradebook.students) == 2


def test_metadata_checked_with_the_schema_checked_once_gives_nbgraders_verdicts():
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    nbgrader_internals.check_metadata_schemas_once()
    validator = MetadataValidator()
    good = {"grade": True, "grade_id": "a", "locked": True, "points": 2, "schema_version": 3, "solution": False}
    bad = [{**good, "points": "two"}, {**good, "grade_id": 7}, {k: v for k, v in good.items() if k != "locked"}]
    validator.validate_cell(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": good}))
    for metadata in bad:
        with pytest.raises(jsonschema.ValidationError) as ours:
            validator.validate_cell(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": metadata}))
        with pytest.raises(jsonschema.ValidationError) as theirs:
            jsonschema.validate(metadata, validator.schema)
        assert ours.value.message == theirs.value.message


@pytest.mark.parametrize(
    "converter, trait, ours, swapped",
    [
        (
            GenerateAssignment,
            "preprocessors",
            GENERATE_ASSIGNMENT_PREPROCESSORS,
            (ClearSolutionsAndBlanks, ClearSolutions),
        ),
        (Autograde, "autograde_preprocessors", AUTOGRADE_PREPROCESSORS, (SocketFolderExecute, Execute)),
    ],
)
def test_the_release_and_autograde_pipelines_are_nbgraders_with_one_entry_swapped(converter, trait, ours, swapped):
    default = converter.class_traits()[trait].default()
    assert len(ours) == len(default)
    differing = [(mine, theirs) for mine, theirs in zip(ours, default) if mine is not theirs]
    assert differing == [swapped]


def test_a_swap_nbgrader_no_longer_offers_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"holds ClearSolutionsAndBlanks 0 times.*nbgrader_internals"):
        preprocessors_swapped(GenerateAssignment, "preprocessors", replace=ClearSolutionsAndBlanks, by=ClearSolutions)


def test_the_solution_region_hook_sees_every_code_cell_and_its_verdict_counts():
    """nbgrader calls _replace_solution_region per cell; the blanks hook after it, region and blank both cleared."""
    source = "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\nz = x + 1  ### BLANK"
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade_id": "a"}})
    blanks_only = nbformat.v4.new_code_cell("w = 3  ### BLANK", metadata={"nbgrader": {"solution": True}})
    nb = nbformat.v4.new_notebook(cells=[cell, blanks_only])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb, _ = ClearSolutionsAndBlanks().preprocess(nb, {})
    assert nb.cells[0].source == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()\nz = ###"
    # replaced inline, so nbgrader does not stub the whole cell
    assert nb.cells[1].source == "w = ###"


def test_a_released_test_cell_has_its_hidden_region_removed():
    source = "check(ns)\n### BEGIN HIDDEN TESTS\nsecret(ns)\n### END HIDDEN TESTS"
    assert released_test_source("code", source) == "check(ns)"
    assert released_test_source("code", "check(ns)") == "check(ns)"
