"""Many scenarios at once on Dask distributed.

Each scenario is one task. By default a local cluster of worker processes
(one thread each: the stages are single-threaded numpy) runs them; with a
scheduler address an existing cluster does. Failures are reported as they
happen and do not stop the other scenarios.

Finer grain: most of a run is its Monte-Carlo runs (two policies times
``[growth] runs``), and three scenarios on two workers would leave one worker
idle for a third of the time. So a scenario task leaves its worker's slot
(``worker_client``, which secedes) and submits its runs in parts of
``runs_per_task`` as tasks of their own (:class:`DaskRuns`); the business-as-usual
parts run while the scenario makes its plan, and any idle worker takes a part.
The parts are merged with :func:`expansion.growth.merge_runs`, so a scenario
gives the same bytes in a batch as with ``expansion run``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExpansionError

log = logging.getLogger(__name__)

# Monte-Carlo runs per Dask task: 20 runs a policy make 4 tasks, enough to keep
# two workers busy while the per-task set-up (potential, survival) stays small.
RUNS_PER_TASK = 5


@dataclass
class BatchResult:
    scenario: str
    ok: bool
    seconds: float
    out: str = ""
    message: str = ""
    summary: dict | None = None


class _Named(logging.Filter):
    """Prefixes the messages logged by one thread (one Dask task) with its scenario."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread and not getattr(record, "scenario_named", False):
            record.msg = f"{self.label}: {record.getMessage()}"
            record.args = ()
            record.scenario_named = True
        return True


@contextlib.contextmanager
def named_warnings(label: str) -> Iterator[None]:
    """While this thread runs ``label``'s work, its warnings (and messages) say ``label: ...``.

    In a Dask worker the ``expansion`` logger has no handler: one that prints warnings
    as ``warning: ...`` on stderr is added once and kept (tasks of several scenarios
    share it, each labelling its own thread's messages).
    """
    root = logging.getLogger("expansion")
    if not root.handlers:
        own = logging.StreamHandler(sys.stderr)
        own.setLevel(logging.WARNING)
        own.setFormatter(logging.Formatter("warning: %(message)s"))
        root.addHandler(own)
        root.propagate = False
    named = _Named(label)
    handlers = list(root.handlers)
    for h in handlers:
        h.addFilter(named)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(named)


def simulate_part(stack, arrays: dict, args: tuple, kwargs: dict, run_ids: list[int], label: str = ""):
    """A Dask task: some of the Monte-Carlo runs of one policy (``growth.simulate(run_ids=...)``)."""
    from .. import growth

    with named_warnings(label):
        return growth.simulate(stack, *args, **arrays, **kwargs, run_ids=run_ids)


class DaskRuns:
    """``start_simulation`` for :func:`expansion.pipeline.run.compute` that submits the
    Monte-Carlo runs as Dask tasks of ``runs_per_task`` runs each.

    Used from inside a task, with the client of ``distributed.worker_client()``.
    The stack is scattered once and shared by both policies' parts.
    """

    def __init__(self, client, runs_per_task: int, label: str = "") -> None:
        self.client = client
        self.label = label  # the scenario's file name, for its warnings
        self.runs_per_task = max(1, int(runs_per_task))
        self._stack = None  # (stack object, its future)

    def __call__(self, stack, model, excluded, new_cells, years, seed, runs, base_builtup,
                 arterial_dist_m=None, road_dist_m=None, allowed=None, **kwargs):
        from .. import growth

        if self._stack is None or self._stack[0] is not stack:
            self._stack = (stack, self.client.scatter([stack], hash=False)[0])
        stack_f = self._stack[1]
        arrays = {"excluded": excluded, "base_builtup": base_builtup, "arterial_dist_m": arterial_dist_m,
                  "road_dist_m": road_dist_m, "allowed": allowed}
        [arrays_f] = self.client.scatter([arrays], hash=False)
        args = (model,)
        kw = {"new_cells": list(new_cells), "years": list(years), "seed": seed, "runs": runs, **kwargs}
        step = self.runs_per_task
        parts = [list(range(a, min(runs, a + step))) for a in range(0, runs, step)]
        futures = [self.client.submit(simulate_part, stack_f, arrays_f, args, kw, ids, self.label, pure=False)
                   for ids in parts]  # in run order: the first holds run 0

        def result() -> growth.GrowthResult:
            return growth.merge_runs(self.client.gather(futures), stack.valid)

        return result


def run_one(scenario: str, out: str | None, overwrite: bool, runs_per_task: int | None = None,
            runs: int | None = None, seed: int | None = None) -> BatchResult:
    """Run one scenario; never raises (the error becomes the result's message).

    With ``runs_per_task``, this must run as a Dask task: the Monte-Carlo runs are
    then submitted as tasks of that many runs (see :class:`DaskRuns`). ``runs`` and
    ``seed`` override the scenario's. Its warnings name the scenario's file.
    """
    from .run import run

    t0 = time.perf_counter()
    label = Path(scenario).name
    target = {"out": Path(out) if out else None, "overwrite": overwrite, "out_option": "--out-root",
              "runs": runs, "seed": seed}
    try:
        with named_warnings(label):
            if runs_per_task:
                from dask.distributed import worker_client

                with worker_client() as client:
                    result = run(Path(scenario), **target,
                                 start_simulation=DaskRuns(client, runs_per_task, label))
            else:
                result = run(Path(scenario), **target)
        return BatchResult(scenario, True, time.perf_counter() - t0, str(result.out), "", result.summary)
    except ExpansionError as exc:
        return BatchResult(scenario, False, time.perf_counter() - t0, message=str(exc))
    except Exception as exc:  # a bug in one scenario must not stop the batch
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
        return BatchResult(scenario, False, time.perf_counter() - t0,
                           message=f"internal error {type(exc).__name__}: {exc}{where}")


def run_batch(scenarios: list[Path], workers: int | None = None, scheduler: str | None = None,
              out_root: Path | None = None, overwrite: bool = False, on_result=None,
              runs_per_task: int | None = RUNS_PER_TASK, runs: int | None = None,
              seed: int | None = None) -> list[BatchResult]:
    """Run scenarios as Dask tasks; return one result per scenario, in input order.

    Parameters
    ----------
    workers : worker processes of the local cluster (default 2, even for one
        scenario: its Monte-Carlo runs are spread over them).
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``);
        the scenario paths must then be readable by its workers.
    out_root : write each run to ``out_root/<scenario file stem>``; default
        ``outputs/<city>/<scenario>/``.
    on_result : called with each :class:`BatchResult` as it finishes.
    runs, seed : Monte-Carlo runs and seed for every scenario (default: each scenario's own).
    runs_per_task : Monte-Carlo runs per Dask task (see the module docstring);
        None or 0 runs each scenario whole in one task.
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    paths = [str(Path(s).resolve()) for s in scenarios]
    outs = [str((out_root / Path(p).stem).resolve()) if out_root else None for p in paths]
    if not paths:
        return []
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ExpansionError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            n = max(1, workers or 2)  # not fewer than the scenarios: their runs are split
            # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which also fixes glibc's mmap
            # threshold at 128 kB: every grid-sized numpy array is then mapped and faulted in
            # afresh, and the workers spent about a third of their time in the kernel.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        with client:
            futures = {client.submit(run_one, p, o, overwrite, runs_per_task, runs, seed, pure=False,
                                     key=f"scenario-{i}-{uuid.uuid4().hex[:8]}"): i
                       for i, (p, o) in enumerate(zip(paths, outs))}
            results: list[BatchResult | None] = [None] * len(paths)
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # the worker died (out of memory, killed)
                    res = BatchResult(paths[i], False, 0.0, message=f"worker failed: {exc}")
                results[i] = res
                if on_result:
                    on_result(res)
        return [r for r in results if r is not None]
    finally:
        if cluster is not None:
            cluster.close()


def format_batch_table(results: list[BatchResult]) -> str:
    """A plain text table: scenario, status, seconds, output folder or error."""
    rows = [("scenario", "status", "seconds", "result")]
    for r in results:
        rows.append((Path(r.scenario).name, "ok" if r.ok else "FAILED", f"{r.seconds:.1f}",
                     r.out if r.ok else r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] for row in rows
    )
