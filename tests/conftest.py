"""Shared fixtures: a throwaway copy of the course with its own gradebook; each test's layer as a marker."""

from pathlib import Path

import pytest

from grader.course import ensure_tools_on_path
from grader.verify.secret import SECRET_ENV
from tests.support.course import CourseCopy, copy_course

ensure_tools_on_path()


@pytest.fixture
def course(tmp_path):
    """A copy of the course (fresh gradebook) in a temp folder."""
    return CourseCopy(copy_course(tmp_path / "course"))


@pytest.fixture(scope="session", autouse=True)
def fit_cache(tmp_path_factory):
    """Notebook 06's remembered fits go to a folder of this run, not the user's ~/.cache (kernels inherit it)."""
    location = tmp_path_factory.mktemp("gmm-em-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GMM_EM_CACHE", str(location))
        yield location


@pytest.fixture(scope="session", autouse=True)
def course_secret():
    """One grading secret for every course of the run, so every run draws the same hidden inputs.

    A course's own secret is random; with it the suite would judge the samples on other hidden
    data each run (benchmarks/hidden_inputs_sweep.py sweeps many secrets instead).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, "the test suite's course secret")
        yield


#: The folders of tests/, one per layer of the project; each test gets its folder's marker (registered in pyproject).
LAYERS = ("unit", "notebooks", "pipeline", "sandbox", "browser")


def pytest_collection_modifyitems(items):
    for item in items:
        layer = Path(item.path).parent.name
        if layer in LAYERS:
            item.add_marker(layer)
