"""Monte-Carlo runs on this machine's cores, with the bytes of one call.

``expansion run`` hands the runs of each policy to :class:`LocalRuns`: the runs
are split into one part per core and each part is made by
:func:`expansion.growth.simulate` (``run_ids``) in a forked process, which sees
the stack and the policy's grids without copying them (copy on write). The
parts' counts are merged with :func:`expansion.growth.merge_runs`, so the
result is the same bytes as one call in this process (run ``r`` draws from its
own seeded stream whichever process makes it).

One process is used where forking is not available (not Linux or macOS), inside a
daemonic process (a Dask worker: ``expansion batch`` spreads runs its own way),
for a single run, or when the extra processes' grids would not fit in memory.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable

from .. import growth
from .common import physical_memory

log = logging.getLogger(__name__)

#: Memory one more process needs for its runs, in bytes a grid cell (its potential, survival,
#: neighbourhood scratch grids, built-up and year grids and counts: ~26 measured on the 2000 region;
#: since then +4 for the base year's key kept for all runs, +8 for the summed-area table of a refresh).
WORKER_BYTES_PER_CELL = 40

# The job the forked processes read: set just before they are forked, never sent through a pipe.
_JOB: tuple[tuple, dict] | None = None


def available_memory() -> float:
    """Bytes of memory available to new processes (MemAvailable; physical memory where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return physical_memory()


def worker_count(cells: int, runs: int) -> int:
    """How many processes should make ``runs`` runs on a grid of ``cells`` cells."""
    if runs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if multiprocessing.current_process().daemon:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    fits = int(available_memory() // (cells * WORKER_BYTES_PER_CELL + 1))
    return max(1, min(cores, runs, fits))


def _hold_sigint() -> set | None:
    """Block SIGINT in this thread (where the platform can); the mask to restore, or None."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _release_sigint(held: set | None) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _die_with_parent() -> None:
    """In a worker: be sent SIGTERM when the run's process dies (Linux), so that a killed
    run leaves no process behind making runs nobody will read. Workers start with SIGINT
    blocked (see :meth:`LocalRuns.__call__`) and keep it so: the run stops them itself."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _part(run_ids: list[int]) -> growth.GrowthResult:
    args, kwargs = _JOB
    return growth.simulate(*args, **kwargs, run_ids=run_ids)


class LocalRuns:
    """``start_simulation`` for :func:`expansion.pipeline.run.compute`: the runs on this
    machine's cores (``workers`` processes; default: :func:`worker_count`).

    On a terminal, the runs are counted as they finish (in one process) or as each
    process's part comes back.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def __call__(self, stack, *args, **kwargs) -> Callable[[], growth.GrowthResult]:
        global _JOB
        runs = int(kwargs["runs"])
        n = max(1, min(self.workers or worker_count(stack.grid.cells, runs), runs))
        if n == 1:
            kwargs.setdefault("on_run", _counter(runs, lambda run, _uyear: run + 1))
            result = growth.simulate(stack, *args, **kwargs)
            return lambda: result
        kwargs.pop("on_run", None)
        parts = [list(range(runs * i // n, runs * (i + 1) // n)) for i in range(n)]
        log.debug("growth: %d runs in %d processes", runs, n)
        show = _counter(runs, lambda done: done)
        pool = None
        try:
            # Ctrl-C is held while the processes are forked, so it cannot land between their start
            # and `pool` being set (it would leave them running); it is raised when released.
            held = _hold_sigint()
            _JOB = ((stack, *args), kwargs)
            try:
                pool = multiprocessing.get_context("fork").Pool(n, _die_with_parent)  # they see _JOB
            finally:
                _JOB = None
                _release_sigint(held)
            pending = [pool.apply_async(_part, (ids,)) for ids in parts]
            results, done = [], 0
            for ids, p in zip(parts, pending):  # in run order: the first holds run 0
                results.append(p.get())
                done += len(ids)
                if show:
                    show(done)
            pool.close()
        except BaseException:
            if pool is not None:
                pool.terminate()  # Ctrl-C or a failed part: stop the other parts now
            raise
        finally:
            if pool is not None:
                pool.join()
        result = growth.merge_runs(results, stack.valid)
        return lambda: result


def _counter(runs: int, done_of: Callable[..., int]) -> Callable[..., None] | None:
    """A callback that shows "run i/N" on a terminal (None when stderr is not one or -q)."""
    if not sys.stderr.isatty() or log.getEffectiveLevel() > logging.INFO:
        return None

    def show(*args) -> None:
        done = done_of(*args)
        sys.stderr.write(f"\r  run {done}/{runs}" + ("\n" if done == runs else ""))
        sys.stderr.flush()

    return show
