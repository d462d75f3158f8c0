import pytest

from grader.preprocessors import blank_out
from grader.samples import blanks, fill_source


def test_single_line_blank_keeps_target_and_indent():
    src = "for k in range(K):\n    mu[k] = (g * x).sum() / n  ### BLANK\n    other = 1"
    assert blank_out(src) == "for k in range(K):\n    mu[k] = ###\n    other = 1"


def test_multi_line_blank_collapses_to_one_line():
    src = "if True:\n    cov[k] = (a *  ### BLANK\n              b).sum()\n    pi[k] = 1"
    assert blank_out(src) == "if True:\n    cov[k] = ###\n    pi[k] = 1"


def test_marker_only_inside_a_string_is_not_a_blank():
    src = "s = '### BLANK'"
    assert blank_out(src) == src


def test_marker_off_an_assignment_is_an_error():
    with pytest.raises(ValueError, match="line 1"):
        blank_out("print(1)  ### BLANK")


def test_fill_source_round_trips_a_blank():
    released = blank_out("x = 1\ny[0] = x + 1  ### BLANK")
    assert blanks(released) == ["y[0]"]
    assert fill_source(released, {"y[0]": "x + 2"}) == "x = 1\ny[0] = x + 2"
