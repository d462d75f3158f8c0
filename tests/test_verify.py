"""Out-of-kernel verification: extraction by metadata, safe transport, hidden problems, parity with the kernel.

The parity tests run every catalogued mistake and every correct alternative
(grader.samples) through the real sandboxed verification and compare with
the same notebook's test cells executed after its code, as in a kernel.
"""

import contextlib
import io
import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor

import nbformat
import numpy as np
import pytest

from grader.course import DEFAULT_ROOT, Course
from grader.samples import ALTERNATIVES, MUTANTS, SEED_STYLE, fill_blanks, run_until
from grader.verify import GRADES, MODULES, problems, run_checks, solution_cells, transport
from grader.verify.problems import SECRET_ENV, SECRET_FILE, course_secret, hidden_problem, seed_problem

COURSE = Course(DEFAULT_ROOT)
ASSIGNMENTS = sorted(GRADES)


def release(assignment_id):
    return nbformat.read(COURSE.release / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def solution(assignment_id):
    return nbformat.read(COURSE.solutions / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def plain(nb):
    return json.loads(nbformat.writes(nb))


# --- extraction -------------------------------------------------------------------------------------


def test_solution_cells_are_found_by_metadata_not_position():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    (em,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "em_loop"]
    decoy = nbformat.v4.new_code_cell("mu = 'not the answer'", metadata={"nbgrader": {
        "grade": False, "grade_id": "decoy", "locked": True, "solution": False, "schema_version": 3}})
    nb.cells = [em, decoy] + [c for c in nb.cells if c is not em][::-1]
    assert solution_cells(plain(nb)) == [("em_loop", em.source)]


def test_a_cell_that_is_not_a_solution_cell_is_never_run():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    for cell in nb.cells:
        cell.metadata.get("nbgrader", {})["solution"] = False
    assert solution_cells(plain(nb)) == []


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_grade_table_matches_the_test_cells(assignment_id):
    """Each verified grade cell calls exactly the check the table names (so the two cannot drift apart)."""
    module = MODULES[assignment_id].__name__.rsplit(".", 1)[-1]
    cells = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution(assignment_id).cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(cells) == set(GRADES[assignment_id])
    for grade_id, source in cells.items():
        calls = re.findall(rf"^{module}\.(\w+)\(globals\(\)", source, re.M)
        assert set(calls) == {GRADES[assignment_id][grade_id]}, grade_id


# --- transport ------------------------------------------------------------------------------------------


def test_arrays_and_aliasing_survive_the_round_trip():
    shared = np.arange(6.0).reshape(3, 2)
    history = [shared, np.ones((3, 2)), shared]
    encoded = json.loads(json.dumps(transport.encode_list(history)))
    decoded = transport.decode_list(encoded)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, history))
    assert decoded[0] is decoded[2] and decoded[0] is not decoded[1]
    nan = transport.decode(json.loads(json.dumps(transport.encode([np.nan, np.inf]))))
    assert np.isnan(nan[0]) and np.isinf(nan[1])


def test_values_that_are_not_numbers_arrive_as_a_type_name():
    class Anything:
        def __eq__(self, other):
            return True

    assert transport.decode(transport.encode(Anything())) == "<Anything>"
    assert transport.decode(transport.encode({"a": 1})) == "<dict>"


@pytest.mark.parametrize("message", [
    [1, 2], {"shape": [2], "values": [1.0]}, {"shape": [2], "values": [1.0, "2"]},
    {"shape": [1], "values": [True]}, {"shape": [-1], "values": []}, {"shape": [1, 1, 1, 1, 1], "values": [1.0]},
    {"shape": [10**7], "values": []}, {"shape": [1], "values": [[1.0]]}, {"type": ["x"]},
])
def test_malformed_values_are_refused(message):
    with pytest.raises(transport.Malformed):
        transport.decode(message)


def test_a_forged_alias_is_refused():
    with pytest.raises(transport.Malformed):
        transport.decode_list({"entries": [{"shape": [], "values": [1.0]}], "same_as": [3]})


# --- hidden problems ------------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_hidden_problem_differs_from_the_seed_and_is_reproducible(assignment_id):
    seed, _ = seed_problem(assignment_id)
    hidden, gamma = hidden_problem(assignment_id, "secret-a")
    again, gamma_again = problems._draw(assignment_id, "secret-a")[:2]  # drawn anew, not the run's cached copy
    other, _ = hidden_problem(assignment_id, "secret-b")
    assert np.array_equal(hidden.data, again.data)
    assert all(np.array_equal(a, b) for a, b in zip(hidden.start, again.start))
    assert hidden.data.shape != other.data.shape or not np.allclose(hidden.data, other.data)
    assert hidden.data.shape != seed.data.shape or not np.allclose(hidden.data, seed.data)
    assert not np.allclose(np.sort(hidden.start[0], axis=0), np.sort(seed.start[0], axis=0), rtol=0.05)
    assert hidden.n_iterations == seed.n_iterations  # the student's cell sets it
    if gamma is not None:  # like the notebook: a start computed from random responsibilities
        assert np.array_equal(gamma, gamma_again) and np.allclose(gamma.sum(axis=1), 1)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_a_hidden_problem_shared_by_the_class_cannot_be_changed_through_one_submission(assignment_id):
    first = problems.hidden_setup(assignment_id, "secret-a")
    problem, _, truth = first
    with pytest.raises(ValueError, match="read-only"):
        problem.data[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        problem.start[0][0] = 0.0
    truth.clear()
    assert problems.hidden_setup(assignment_id, "secret-a")[2], "each caller gets its own dict of true parameters"


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
    result = run_checks("01_em_1d", plain(nb), secret="test")
    assert result["errors"]["seed"] and result["errors"]["hidden"]
    assert not any(v["passed"] for run in ("seed", "hidden") for v in result[run].values())


def test_names_the_locked_cells_define_are_there_on_both_problems():
    nb = fill_blanks(release("01_em_1d"), SEED_STYLE["01_em_1d"])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "em_loop":
            cell.source = cell.source.replace("len(data)", "n_samples").replace("range(K)", "range(len(w_true))")
            assert "n_samples" in cell.source and "w_true" in cell.source
    result = run_checks("01_em_1d", plain(nb), secret="names")
    assert all(passed(result, "seed").values()) and all(passed(result, "hidden").values())


def kernel_verdicts(nb, assignment_id):
    """{grade_id: passed} with the test cells (hidden parts included) run after the notebook's code."""
    ns, _ = run_until(nb, "em_loop")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        verdicts = {}
        for cell in solution(assignment_id).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                try:
                    exec(cell.source, ns)
                    verdicts[meta["grade_id"]] = True
                except Exception:
                    verdicts[meta["grade_id"]] = False
    return verdicts


@pytest.fixture(scope="module")
def sample_verdicts():
    """{sample key: (kernel verdicts, verification result)} for every mutant and alternative."""
    samples = MUTANTS + ALTERNATIVES
    notebooks = {sample.key: sample.notebook(release(sample.assignment_id)) for sample in samples}
    # in-process notebooks seed NumPy's global generator and redirect stdout: one at a time
    kernel = {sample.key: kernel_verdicts(notebooks[sample.key], sample.assignment_id) for sample in samples}

    def verify(sample):
        return sample.key, (kernel[sample.key], run_checks(sample.assignment_id, plain(notebooks[sample.key]),
                                                           secret="parity"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(verify, samples))


def passed(result, run):
    return {grade_id: verdict["passed"] for grade_id, verdict in result[run].items()}


@pytest.mark.parametrize("sample", ALTERNATIVES, ids=lambda s: s.key)
def test_correct_alternatives_pass_on_the_seed_and_hidden_problems(sample_verdicts, sample):
    _, result = sample_verdicts[sample.key]
    assert all(passed(result, "seed").values()) and all(passed(result, "hidden").values())


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_honest_mistakes_score_as_in_the_kernel_on_both_problems(sample_verdicts, sample):
    kernel, result = sample_verdicts[sample.key]
    seed, hidden = passed(result, "seed"), passed(result, "hidden")
    assert seed == kernel
    # what the grade depends on: passing both runs. A grade passed on the seed's data and failed on the
    # hidden data would also be noted hard-coded; an honest mistake must not be.
    assert {grade_id: seed[grade_id] and hidden[grade_id] for grade_id in seed} == kernel
    diagnosed = {i for run in ("seed", "hidden") for v in result[run].values() for i in v["diagnosis"]}
    assert sample.misconception in diagnosed
