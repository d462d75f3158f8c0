"""Out-of-kernel verification: what the child runs, safe transport, hidden inputs.

Parity with the kernel (Validate) for every catalogued mistake and correct
alternative is proven in-process in tests/unit/test_catalogue.py, and for a
sixth of them through one real autograde run in
tests/notebooks/test_misconceptions.py.
"""

import base64
import json
import os
import stat

import nbformat
import numpy as np
import pytest

from grader.course import DEFAULT_ROOT, Course
from grader.runtime import sandbox
from grader.samples import SEED_STYLE, fill_blanks
from grader.verify import (
    cells_to_run,
    course_secret,
    hidden_inputs,
    runs,
    transport,
    verify,
)
from grader.verify.secret import SECRET_ENV, SECRET_FILE

COURSE = Course(DEFAULT_ROOT)
SPECS = {spec.id: spec for spec in COURSE.specs.all()}
ASSIGNMENTS = sorted(SPECS)


def release(assignment_id):
    return nbformat.read(COURSE.release / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def solution(assignment_id):
    return nbformat.read(COURSE.solutions / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def plain(nb):
    return json.loads(nbformat.writes(nb))


def run_checks(assignment_id, notebook, secret):
    files = {p.name: p.read_bytes() for p in (COURSE.solutions / assignment_id).iterdir() if p.suffix != ".ipynb"}
    return verify(SPECS[assignment_id], notebook, files, sandbox.Limits(), secret)


# --- what the child runs ----------------------------------------------------------------------------


def test_test_cells_never_run_and_nothing_after_the_last_answer_cell():
    cells = dict(cells_to_run(SPECS["01_em_1d"], plain(solution("01_em_1d"))))
    assert "em_loop" in cells and "data" in cells and "init" in cells
    assert not any(name.startswith("test_") for name in cells)
    assert "self_check" not in cells and not any(name.endswith("-plot") for name in cells)


def test_a_cell_that_claims_to_be_a_test_is_not_run_but_an_added_cell_is():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    added = nbformat.v4.new_code_cell("helper = 1")
    nb.cells.insert(2, added)
    names = [name for name, _ in cells_to_run(SPECS["01_em_1d"], plain(nb))]
    assert added.id in names


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_every_graded_cell_has_a_check_in_the_spec(assignment_id):
    """The spec decides exactly the notebook's graded cells (so the two cannot drift apart)."""
    graded = {
        c.metadata["nbgrader"]["grade_id"]
        for c in solution(assignment_id).cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    assert set(SPECS[assignment_id].grades) == graded
    assert set(SPECS[assignment_id].seed_only) <= graded


# --- transport ------------------------------------------------------------------------------------------


def wire(array):
    """An array's bytes as the transport writes them."""
    return base64.b64encode(array.tobytes()).decode("ascii")


def round_trip(value):
    encoder, decoder = transport.Encoder(), transport.Decoder()
    return decoder.decode(json.loads(json.dumps(encoder.encode(value))))


def test_arrays_structures_and_aliasing_survive_the_round_trip():
    shared = np.arange(6.0).reshape(3, 2)
    history = [shared, np.ones((3, 2)), shared, {"run": (1, 2.5, True, None, "x")}]
    decoded = round_trip(history)
    assert all(np.array_equal(a, b) for a, b in zip(decoded[:3], history))
    assert decoded[0] is decoded[2] and decoded[0] is not decoded[1]
    assert decoded[3] == {"run": (1, 2.5, True, None, "x")}
    nan = round_trip(np.array([np.nan, np.inf]))
    assert np.isnan(nan[0]) and np.isinf(nan[1])
    assert round_trip(np.array([1, 2])).dtype.kind == "i" and round_trip(np.array([True])).dtype == bool
    exact = np.array([0.1, -0.0, 5e-324, 1.7976931348623157e308, -np.inf])
    assert round_trip(exact).tobytes() == exact.tobytes()  # bit for bit, denormals and signed zero included
    transposed = np.arange(6.0).reshape(2, 3).T
    assert np.array_equal(round_trip(transposed), transposed) and round_trip(transposed).flags.writeable
    assert round_trip(np.array([2**40], dtype=np.uint64))[0] == 2.0**40


def test_values_that_are_not_data_arrive_as_a_placeholder_named_after_their_type():
    class Anything:
        def __eq__(self, other):
            return True

    placeholder = round_trip(Anything())
    assert isinstance(placeholder, transport.Opaque) and type(placeholder).__name__ == "Anything"
    assert placeholder != 0


@pytest.mark.parametrize(
    "message",
    [
        [1, 2],
        {"array": [2], "kind": "f", "data": wire(np.ones(1)), "id": 0},
        {"array": [1], "kind": "f", "data": wire(np.ones(2)), "id": 0},
        {"array": [1], "kind": "f", "data": wire(np.ones(1))[:-1] + "!", "id": 0},
        {"array": [1], "kind": "f", "data": [1.0], "id": 0},
        {"array": [1], "kind": "i", "values": [1], "id": 0},
        {"array": [1], "kind": "O", "data": wire(np.ones(1)), "id": 0},
        {"array": [2], "kind": "b", "data": wire(np.array([1, 7], dtype=np.uint8)), "id": 0},
        {"array": [-1], "kind": "f", "data": "", "id": 0},
        {"array": [10**7], "kind": "f", "data": "", "id": 0},
        {"array": [2**21, 2**21], "kind": "f", "data": "", "id": 0},
        {"ref": 3},
        {"yours": 0},
        {"function": 0, "name": "f"},
        {"list": [{"ref": 0}], "id": 1},
        {"int": 1.5},
        {"pickle": "x"},
    ],
)
def test_malformed_values_are_refused(message):
    with pytest.raises(transport.Malformed):
        transport.Decoder().decode(message)


# --- hidden inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_hidden_inputs_differ_from_the_notebook_and_are_reproducible(assignment_id):
    spec = SPECS[assignment_id]
    if not spec.hidden:
        pytest.skip(f"{assignment_id} has no hidden inputs")
    notebook, hidden, other = spec.notebook(), hidden_inputs(spec, "secret-a"), hidden_inputs(spec, "secret-b")
    again = runs._hidden_inputs.__wrapped__(spec, "secret-a")  # drawn anew, not the run's cached copy
    assert hidden.cell == notebook.cell and set(hidden.variables) == set(notebook.variables)
    for name, value in hidden.variables.items():
        if isinstance(value, np.ndarray) and value.size > 1:
            assert np.array_equal(value, again.variables[name])
            assert value.shape != other.variables[name].shape or not np.allclose(value, other.variables[name])
            reference = notebook.variables[name]
            assert value.shape != np.shape(reference) or not np.allclose(value, reference), name


def test_the_secret_is_created_once_private_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    first = course_secret(tmp_path)
    assert first == course_secret(tmp_path) and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600
    monkeypatch.setenv(SECRET_ENV, "from-the-environment")
    assert course_secret(tmp_path) == "from-the-environment"


def test_the_secret_file_is_gitignored():
    assert f"/{SECRET_FILE}" in (DEFAULT_ROOT / ".gitignore").read_text().split()


# --- the sandboxed run ------------------------------------------------------------------------------------


def test_a_child_that_dies_earns_nothing():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "em_loop":
            cell.source += "\nimport os\nos._exit(0)\n"
    result = run_checks("01_em_1d", plain(nb), "test")
    assert not any(v["passed"] for run in ("seed", "hidden") for v in result[run].values())


def test_a_cell_over_its_time_limit_is_interrupted_and_the_next_cells_still_run():
    """As in the graded execution: the cell fails with CellTimeout, the notebook is not held to its deadline."""
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    looping = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "init")
    looping.source += "\nimport time\ntime.sleep(3600)\n"
    files = {}
    limits = sandbox.Limits(cell_timeout=1, notebook_timeout=120)
    result = verify(SPECS["01_em_1d"], plain(nb), files, limits, "test")
    assert result["errors"] == {"seed": "", "hidden": ""}
    assert result["cell_errors"]["seed"]["init"].startswith("CellTimeout")
    # the cell's own assignments before the sleep happened, and the answer cell after it ran
    assert "em_loop" not in result["cell_errors"]["seed"]
    assert any(v["passed"] for v in result["seed"].values())


def passed(result, run):
    return {grade_id: verdict["passed"] for grade_id, verdict in result[run].items()}


def test_names_the_locked_cells_define_are_there_on_both_problems():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "em_loop":
            cell.source = cell.source.replace("len(data)", "n_samples").replace("range(K)", "range(len(w_true))")
            assert "n_samples" in cell.source and "w_true" in cell.source
    result = run_checks("01_em_1d", plain(nb), "names")
    assert all(passed(result, "seed").values()) and all(passed(result, "hidden").values())


def test_a_function_the_checks_call_runs_in_the_child_and_its_errors_come_back_by_name():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    nb.cells.insert(2, nbformat.v4.new_code_cell("def broken(x):\n    raise ZeroDivisionError('boom')\n"))
    spec = SPECS["01_em_1d"]
    from grader.verify.remote import RemoteNamespace
    from grader.verify.runs import Child

    child = Child(cells_to_run(spec, plain(nb)), {}, {}, sandbox.Limits(), float("inf"))
    try:
        assert child.ready(60)
        ns = RemoteNamespace(child.session, {"K": 2})
        with pytest.raises(Exception) as raised:
            ns["broken"](np.ones(3))
        assert type(raised.value).__name__ == "ZeroDivisionError" and "boom" in str(raised.value)
        assert ns["K"] == 2 and ns["params_history"][0][0].shape == (2,)
        assert ns["params_history"] is ns["params_history"]
        with pytest.raises(KeyError):
            ns["never_defined"]
    finally:
        child.close()
