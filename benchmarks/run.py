"""Benchmark the whole pipeline on synthetic regions of several sizes.

    python benchmarks/run.py --sizes 500 1000 2000 [--json FILE] [--runs N] [--regions DIR]

For each size, `expansion demo --size` writes a region of that many cells per
side (30 m cells) in a process of its own (into ``--regions DIR/demo-SIZE``,
kept and reused, or a temporary folder); a scenario scaled to its area is then
run once in a fresh process with a cold stack cache, and the seconds and peak
memory of each stage are reported. ``cells`` is the region's cells (size²,
as DESIGN.md section 5 has it); the analysis grid is the region's boundary
plus a 1 km margin, so it has fewer (``grid``, ``grid_cells``: 63 % of the
region's on large regions), and time and bytes per cell are per grid cell.

Memory is sampled every 10 ms from /proc/self/status: ``peak_mb`` is the peak
resident set (VmRSS, which counts the pages of the memory-mapped stack and of
files being written, both of which the kernel can drop or write out under
pressure) and ``peak_anon_mb`` the peak of anonymous memory (RssAnon: the
arrays the program itself holds, which must fit in RAM).

The JSON is a list of ``{"size": 1000, "cells": 1000000, "grid": [rows, cols],
"grid_cells": ..., "total_s": ..., "peak_mb": ..., "peak_anon_mb": ...,
"stages": {...}, "stage_peak_mb": {...}, "stage_peak_anon_mb": {...},
"us_per_cell": ..., "bytes_per_cell": ..., "anon_bytes_per_cell": ...}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCENARIO = """
name = "bench-{size}"
layers = "{layers}"
base_year = 2020
horizon_year = 2050
step_years = 5
resolution_m = 30
[population]
base = {population}
natural_growth = 0.022
net_migration = {migration}
[density]
base = "observed"
annual_change = -0.01
[growth]
calibrate_from = 2005
runs = {runs}
seed = 42
"""


def memory_mb() -> tuple[float, float]:
    """(resident set, anonymous resident memory) of this process, in MB."""
    rss = anon = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1000
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1000
    return rss, anon


class PeakSampler(threading.Thread):
    """Samples this process's memory; ``take()`` returns the peaks (rss, anon) since the last call."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.overall = memory_mb()
        self.running = True

    def run(self) -> None:
        while self.running:
            m = memory_mb()
            self.peak = tuple(map(max, self.peak, m))
            self.overall = tuple(map(max, self.overall, m))
            time.sleep(0.01)

    def take(self) -> tuple[float, float]:
        p, self.peak = self.peak, memory_mb()
        return p


def make_region(size: int, folder: Path) -> float:
    """Write the demo region of ``size`` cells a side into ``folder`` (in a process of its
    own, so its memory is not counted); seconds taken, 0 when it was already there."""
    if (folder / "layers.toml").is_file():
        return 0.0
    t0 = time.perf_counter()
    code = ("import sys; from pathlib import Path; from expansion.demo import write_demo; "
            "write_demo(Path(sys.argv[1]), size=int(sys.argv[2]), seed=7)")
    proc = subprocess.run([sys.executable, "-c", code, str(folder), str(size)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"size {size}: making the region failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def measure_one(size: int, runs: int, region: Path, workdir: Path) -> dict:
    """Runs in a child process: the pipeline stage by stage on the region's catalog (cold cache)."""
    from expansion.pipeline import run as pipeline

    shutil.rmtree(region / ".cache", ignore_errors=True)
    sampler = PeakSampler()
    sampler.start()
    scale = (size / 834) ** 2
    scen = workdir / "scenario.toml"
    scen.write_text(SCENARIO.format(size=size, population=round(350000 * scale),
                                    migration=round(6000 * scale), runs=runs,
                                    layers=(region / "layers.toml").as_posix()))
    stage_peak: dict[str, float] = {}
    stage_anon: dict[str, float] = {}

    def record_peak(stage: str) -> None:
        rss, anon = sampler.take()
        stage_peak[stage] = round(max(stage_peak.get(stage, 0.0), rss), 1)
        stage_anon[stage] = round(max(stage_anon.get(stage, 0.0), anon), 1)

    timer = pipeline.Timer(on_mark=record_peak)
    sc, catalog, stack = pipeline.prepare(scen)
    timer.mark("layers")
    out = workdir / "out"
    out.mkdir()
    spill = pipeline.spill_for(stack.grid, out)  # as `expansion run` does
    model = pipeline.compute(sc, catalog, stack, timer, spill=spill)
    pipeline.write_run(model, out, timer)
    del model
    spill.close()
    total = timer.total
    sampler.running = False
    grid_cells = stack.grid.cells
    shutil.rmtree(region / ".cache", ignore_errors=True)
    return {
        "size": size,
        "cells": size * size,
        "grid": list(stack.grid.shape),
        "grid_cells": grid_cells,
        "total_s": round(total, 2),
        "peak_mb": round(sampler.overall[0], 1),
        "peak_anon_mb": round(sampler.overall[1], 1),
        "stages": {k: round(v, 3) for k, v in timer.stages.items()},
        "stage_peak_mb": stage_peak,
        "stage_peak_anon_mb": stage_anon,
        "us_per_cell": round(total / grid_cells * 1e6, 3),
        "bytes_per_cell": round(sampler.overall[0] * 1e6 / grid_cells, 1),
        "anon_bytes_per_cell": round(sampler.overall[1] * 1e6 / grid_cells, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--runs", type=int, default=1, help="Monte-Carlo runs per policy (default 1)")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--regions", type=Path, default=None,
                    help="keep the generated regions in this folder (demo-SIZE) and reuse them")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--region", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        with tempfile.TemporaryDirectory(prefix="expansion-bench-") as d:
            print(json.dumps(measure_one(args.child, args.runs, args.region, Path(d))))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="expansion-regions-") as scratch:
        for size in args.sizes:
            region = (args.regions or Path(scratch)) / f"demo-{size}"
            print(f"size {size}: region ...", file=sys.stderr, flush=True)
            demo_s = make_region(size, region)
            print(f"size {size}: pipeline ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, __file__, "--child", str(size), "--runs", str(args.runs),
                                   "--region", str(region)], capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"size {size} failed:\n{proc.stderr[-3000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            if demo_s:
                result["demo_s"] = round(demo_s, 2)
            results.append(result)
            if args.regions is None:
                shutil.rmtree(region, ignore_errors=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def table(results: list[dict]) -> str:
    """The results as a text table: totals, memory and seconds per stage."""
    stages = list(results[0]["stages"])
    lines = [f"{'size':>6} {'grid':>11} {'grid cells':>11} {'total s':>8} {'peak MB':>8} {'anon MB':>8} "
             f"{'us/cell':>8}  " + " ".join(f"{s[:10]:>10}" for s in stages)]
    for r in results:
        grid = "x".join(str(n) for n in r["grid"])
        lines.append(f"{r['size']:>6} {grid:>11} {r['grid_cells']:>11,} {r['total_s']:>8.1f} "
                     f"{r['peak_mb']:>8.0f} {r['peak_anon_mb']:>8.0f} {r['us_per_cell']:>8.2f}  "
                     + " ".join(f"{r['stages'].get(s, 0):>10.2f}" for s in stages))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
