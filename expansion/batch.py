"""Many scenarios at once on Dask distributed.

Each scenario is one task. By default a local cluster of worker processes
(one thread each: the stages are single-threaded numpy) runs them; with a
scheduler address an existing cluster does. Failures are reported as they
happen and do not stop the other scenarios.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .errors import ExpansionError

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    scenario: str
    ok: bool
    seconds: float
    out: str = ""
    message: str = ""
    summary: dict | None = None


def run_one(scenario: str, out: str | None, overwrite: bool) -> BatchResult:
    """Run one scenario; never raises (the error becomes the result's message)."""
    from .pipeline import run

    t0 = time.perf_counter()
    try:
        result = run(Path(scenario), out=Path(out) if out else None, overwrite=overwrite)
        return BatchResult(scenario, True, time.perf_counter() - t0, str(result.out), "", result.summary)
    except ExpansionError as exc:
        return BatchResult(scenario, False, time.perf_counter() - t0, message=str(exc))
    except Exception as exc:  # a bug in one scenario must not stop the batch
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
        return BatchResult(scenario, False, time.perf_counter() - t0,
                           message=f"internal error {type(exc).__name__}: {exc}{where}")


def run_batch(scenarios: list[Path], workers: int | None = None, scheduler: str | None = None,
              out_root: Path | None = None, overwrite: bool = False, on_result=None) -> list[BatchResult]:
    """Run scenarios as Dask tasks; return one result per scenario, in input order.

    Parameters
    ----------
    workers : worker processes of the local cluster (default: 2, or fewer
        when there are fewer scenarios).
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``);
        the scenario paths must then be readable by its workers.
    out_root : write each run to ``out_root/<scenario file stem>``; default
        ``outputs/<city>/<scenario>/``.
    on_result : called with each :class:`BatchResult` as it finishes.
    """
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
            n = max(1, min(workers or 2, len(paths)))
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        with client:
            futures = {client.submit(run_one, p, o, overwrite, pure=False, key=f"scenario-{i}"): i
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
