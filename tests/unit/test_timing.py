"""grader.pipeline.timing: stage totals only while a caller records, and a pool's work timed where it runs."""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from grader.pipeline import timing


def test_stages_add_up_per_assignment_while_recording_only():
    with timing.stage("scoring", "01"):
        pass  # nothing records: nothing kept
    with timing.recording() as totals:
        for _ in range(2):
            with timing.stage("scoring", "01"):
                pass
        with timing.stage("reports"):
            pass
    with timing.stage("scoring", "01"):
        pass
    assert set(totals) == {("scoring", "01"), ("reports", "")}
    assert totals[("scoring", "01")][1] == 2
    assert all(seconds >= 0 for seconds, _ in totals.values())


def test_a_stage_that_raises_is_timed_and_the_error_kept():
    with timing.recording() as totals, pytest.raises(ZeroDivisionError), timing.stage("verification", "02"):
        1 / 0  # noqa: B018
    assert totals[("verification", "02")][1] == 1


@pytest.mark.parametrize("pool_type", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_submit_returns_the_function_result_and_times_it(pool_type):
    with pool_type(1) as pool:
        assert timing.submit(pool, "feedback", "01", pow, 2, 10).result() == 1024  # not recording: plain submit
        with timing.recording() as totals:
            assert timing.submit(pool, "feedback", "01", pow, 2, 10).result() == 1024
            with pytest.raises(ZeroDivisionError):
                timing.submit(pool, "feedback", "01", divmod, 1, 0).result()
    assert totals[("feedback", "01")][1] == 1
