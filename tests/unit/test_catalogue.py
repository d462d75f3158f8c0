"""Every sample answer of every assignment spec, judged in this process on the notebook's and on hidden inputs.

``grader.samples`` holds each catalogued mistake written the way a student
writes it, and correct alternatives. Here each is judged as the grader judges
it (:func:`grader.samples.judge`: the cells a verification child runs, the
grade cells' checks called on what they made), on the notebook's inputs and on
the hidden inputs of another course secret, with no kernel or sandbox, so a check
that names the wrong mistake, or fails a correct answer on some data, shows
here in seconds. tests/notebooks/test_misconceptions.py grades the same samples
in one real autograde run.
"""

import functools

import nbformat
import pytest

from grader.assignments import default_registry
from grader.course import DEFAULT_ROOT, Course
from grader.samples import ALTERNATIVES, MUTANTS, judge
from grader.verify.runs import hidden_inputs

SPECS = default_registry()
#: A secret unlike the suite's course secret, on which the suite's autograde runs judge.
SECRETS = ("catalogue-unit",)


@functools.cache
def _release(assignment_id):
    return nbformat.read(Course(DEFAULT_ROOT).release / assignment_id / f"{assignment_id}.ipynb", as_version=4)


def verdicts(sample):
    """[(where, {grade_id: diagnosis ids, for the failing grade cells})] on the notebook's and on hidden inputs."""
    spec = SPECS[sample.assignment_id]
    notebook = sample.notebook(_release(sample.assignment_id))
    places = [("the notebook's inputs", None)]
    if spec.hidden_grades():
        places += [(f"hidden inputs of {secret!r}", hidden_inputs(spec, secret)) for secret in SECRETS]
    return [
        (
            where,
            {
                grade_id: tuple(getattr(failure, "diagnosis", ()))
                for grade_id, failure in judge(spec, notebook, inputs).items()
                if failure is not None
            },
        )
        for where, inputs in places
    ]


@pytest.mark.parametrize("sample", MUTANTS, ids=lambda s: s.key)
def test_each_mistake_fails_and_is_named_by_its_own_id_only(sample):
    for where, failed in verdicts(sample):
        assert failed, f"{where}: the mistake passed every grade cell"
        named = {i for ids in failed.values() for i in ids}
        assert named == {sample.misconception}, f"{where}: {failed}"


@pytest.mark.parametrize("sample", ALTERNATIVES, ids=lambda s: s.key)
def test_each_correct_alternative_passes_everywhere(sample):
    for where, failed in verdicts(sample):
        assert failed == {}, f"{where}: {failed}"
