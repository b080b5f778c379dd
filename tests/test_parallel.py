"""Monte-Carlo runs on several cores give the bytes of one process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from conftest import synthetic_stack

from expansion.config import SuitabilityConfig
from expansion.growth import calibrate, simulate
from expansion.pipeline import parallel
from expansion.pipeline.parallel import LocalRuns, worker_count
from expansion.suitability import score

needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="this platform cannot fork: runs stay in one process")


@pytest.fixture(scope="module")
def job():
    s = synthetic_stack(size=80)
    ex = score(s, SuitabilityConfig(), 2010).excluded
    model = calibrate(s, 2000, 2010, ex)
    base = s.builtup[2010] & s.valid
    return (s, model, ex, [60, 80, 100], [2010, 2015, 2020, 2025]), {"base_builtup": base, "noise": 0.3}


@needs_fork
@pytest.mark.parametrize("workers,runs", [(2, 7), (3, 3), (2, 2)])
def test_runs_in_processes_are_the_bytes_of_one_call(job, workers, runs):
    args, kw = job
    one = simulate(*args, seed=11, runs=runs, **kw)
    many = LocalRuns(workers)(*args, seed=11, runs=runs, **kw)()
    assert many.probability.tobytes() == one.probability.tobytes()
    assert many.urbanization_year.tobytes() == one.urbanization_year.tobytes()
    np.testing.assert_array_equal(many.allocated_cells, one.allocated_cells)
    assert many.warnings == one.warnings and many.demanded_cells == one.demanded_cells
    assert parallel._JOB is None  # nothing of the job stays behind in this process


@needs_fork
def test_a_failing_part_raises_here_and_leaves_no_process(job):
    args, kw = job
    with pytest.raises(ValueError, match="new_cells must not be negative"):
        LocalRuns(2)(*args[:3], [60, -1, 5], args[4], seed=1, runs=4, **kw)
    assert not multiprocessing.active_children()


def test_one_process_for_one_run_in_a_daemon_or_when_memory_is_short(monkeypatch):
    assert worker_count(1000, 1) == 1
    monkeypatch.setattr(parallel, "available_memory", lambda: 10 * parallel.WORKER_BYTES_PER_CELL * 1000)
    assert worker_count(1000, 20) <= 10
    assert worker_count(10**9, 20) == 1  # one process: the extra ones' grids would not fit
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert worker_count(1000, 20) == 1
