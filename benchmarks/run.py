"""Benchmark the whole pipeline on synthetic regions of several sizes.

    python benchmarks/run.py --sizes 500 1000 2000 [--json FILE] [--runs N]

For each size, `expansion demo --size` writes a region of that many cells per
side (30 m cells) into a temporary folder, a scenario scaled to its area is
run once in a fresh process (cold stack cache), and the seconds and peak
memory (resident set size, sampled every 10 ms) of each stage are reported.
The JSON is a list of
``{"size": 1000, "cells": 1000000, "total_s": 12.3, "peak_mb": 850, "stages": {...}}``
with per-stage seconds in ``stages`` and per-stage peak MB in ``stage_peak_mb``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCENARIO = """
name = "bench-{size}"
layers = "layers/layers.toml"
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


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class PeakSampler(threading.Thread):
    """Samples this process's resident memory; ``take()`` returns the peak since the last call."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.overall = self.peak
        self.running = True

    def run(self) -> None:
        while self.running:
            m = rss_mb()
            self.peak = max(self.peak, m)
            self.overall = max(self.overall, m)
            time.sleep(0.01)

    def take(self) -> float:
        p, self.peak = self.peak, rss_mb()
        return p


def measure_one(size: int, runs: int, workdir: Path) -> dict:
    """Runs in a child process: generate the region, run the pipeline stage by stage."""
    from expansion import pipeline
    from expansion.demo import write_demo

    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    write_demo(workdir / "layers", size=size, seed=7)
    demo_s = time.perf_counter() - t0
    sampler.take()
    scale = (size / 834) ** 2
    scen = workdir / "scenario.toml"
    scen.write_text(SCENARIO.format(size=size, population=round(350000 * scale),
                                    migration=round(6000 * scale), runs=runs))
    stage_peak: dict[str, float] = {}

    def record_peak(stage: str) -> None:
        stage_peak[stage] = round(max(stage_peak.get(stage, 0.0), sampler.take()), 1)

    timer = pipeline.Timer(on_mark=record_peak)
    sc, catalog, stack = pipeline.prepare(scen)
    timer.mark("layers")
    model = pipeline.compute(sc, catalog, stack, timer)
    out = workdir / "out"
    out.mkdir()
    pipeline.write_run(model, out, timer)
    total = timer.total
    sampler.running = False
    return {
        "size": size,
        "cells": size * size,
        "total_s": round(total, 2),
        "peak_mb": round(sampler.overall, 1),
        "demo_s": round(demo_s, 2),
        "stages": {k: round(v, 3) for k, v in timer.stages.items()},
        "stage_peak_mb": stage_peak,
        "us_per_cell": round(total / (size * size) * 1e6, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--runs", type=int, default=1, help="Monte-Carlo runs per policy (default 1)")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        with tempfile.TemporaryDirectory(prefix="expansion-bench-") as d:
            print(json.dumps(measure_one(args.child, args.runs, Path(d))))
        return
    results = []
    for size in args.sizes:
        print(f"size {size} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--child", str(size), "--runs", str(args.runs)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"size {size} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    stages = list(results[0]["stages"])
    head = f"{'size':>6} {'cells':>11} {'total s':>8} {'peak MB':>8} {'us/cell':>8}  " + " ".join(
        f"{s[:10]:>10}" for s in stages)
    print(head)
    for r in results:
        print(f"{r['size']:>6} {r['cells']:>11,} {r['total_s']:>8.1f} {r['peak_mb']:>8.0f} "
              f"{r['us_per_cell']:>8.2f}  " + " ".join(f"{r['stages'].get(s, 0):>10.2f}" for s in stages))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
