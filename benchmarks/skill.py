"""The skill benchmark: backtests of the growth model on every real multi-epoch case.

    python benchmarks/skill.py [--cases bacau rionegro ...] [--json FILE] [--markdown]

For each case (a catalog with three or more built-up epochs) and each window of
three consecutive epochs ``A < B < C``, the model is calibrated on ``A → B`` (and
on what came before ``A``, as the run does) and grows ``B → C`` with the observed
quantity of new land; it is scored on the cells open at ``B``
(:func:`expansion.pipeline.backtest.score_backtest`). Reported per window:

- the figure of merit (FoM) of the model, mean and spread over the Monte-Carlo
  runs of :data:`SEEDS` (each run has its own seed);
- the nulls: nearest-built-up (grow the cells nearest ``B``'s built-up land) with
  its spread over 20 tie seeds, random, and a logistic on distance to built-up
  land and to roads only, fitted on the same window;
- the model minus the nearest-built-up rule, with a spatial block bootstrap
  interval (1 km blocks, 95 %);
- the calibration of ``urbanization_probability`` on the window: reliability bins,
  expected calibration error (ECE), Brier skill against forecasting the observed
  rate everywhere, and the share of the new built-up on cells given p = 0;
- ``quantity_ratio`` (projected / observed new land) where the case's scenario has
  population for the window.

Each case says whether its windows were used to choose the model's defaults
(``in_sample``): figures on those are not evidence of skill. The JSON goes to
``benchmarks/results/skill.json``; ``--markdown`` prints the README table.
Cases whose data are absent (``../shared/data`` beside the repository) are skipped.
The whole benchmark takes about a minute on 2 cores (Hubli's stack, 906 × 755
cells of 100 m from 10 m Dynamic World, is built once and cached).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from expansion import suitability  # noqa: E402
from expansion.config import PopulationConfig, load_catalog, load_scenario  # noqa: E402
from expansion.pipeline.backtest import roads_leak, score_backtest  # noqa: E402
from expansion.pipeline.common import stack_for  # noqa: E402

SEEDS = (42, 7)
RUNS = 10


@dataclass(frozen=True)
class Case:
    """A benchmark case: a scenario (for its catalog, grid and demand) and what to say about it.

    ``population_window`` is the window (base, observed) for which the scenario's
    population is meant (quantity_ratio is reported there only); ``in_sample`` says
    whether the model's defaults were chosen on this case's windows."""

    name: str
    scenario: str
    in_sample: bool
    note: str = ""
    resolution_m: float | None = None
    population_window: tuple[int, int] | None = None
    needs: str = ""


CASES = (
    Case("bacau", "scenarios/bacau-backtest.toml", in_sample=True,
         note="GHSL LDSMT 30 m; the noise and survival defaults were chosen on it",
         population_window=(2000, 2014), needs="../shared/data/bacau"),
    Case("rionegro", "benchmarks/scenarios/rionegro.toml", in_sample=False,
         note="Landsat urban footprints 100 m, five epochs; no roads, no DEM",
         needs="../shared/data/rionegro"),
    Case("hubli", "benchmarks/scenarios/hubli.toml", in_sample=False,
         note="Dynamic World built-up class, four epochs, at 100 m; first run after every model choice",
         needs="../shared/data/hubli"),
    Case("demo", "scenarios/demo-backtest.toml", in_sample=True,
         note="synthetic; the defaults were chosen on it", population_window=(2005, 2020)),
)


def windows(years: list[int]) -> list[tuple[int, int, int]]:
    """Every three consecutive epochs (calibrate A→B, score B→C)."""
    return list(zip(years, years[1:], years[2:]))


def run_case(case: Case) -> dict:
    """Backtest every window of one case; one dict per window."""
    sc = load_scenario(ROOT / case.scenario)
    if case.resolution_m is not None:
        sc = sc.replace(resolution_m=case.resolution_m)
    catalog = load_catalog(sc.layers)
    stack = stack_for(sc, catalog)
    rows = []
    for a, b, c in windows(stack.years):
        t0 = time.perf_counter()
        suit = suitability.score(stack, sc.suitability, b)
        own = case.population_window == (b, c)
        g = dataclasses.replace(sc.growth, calibrate_from=a, quantity="observed")
        s2 = sc.replace(base_year=b, growth=g,
                        population=sc.population if own else PopulationConfig(base=0.0))
        leak = roads_leak(catalog, b)  # streets newer than the base year are left out of the model
        per_seed = [score_backtest(stack, s2, c, "observed", suit, RUNS, seed, road_warning=leak)
                    for seed in SEEDS]
        for r in per_seed:
            r.pop("arrays")
        r0 = per_seed[0]
        foms = [f for r in per_seed for f in r["fom_runs"]]
        nulls = r0["null_models"]
        cal = r0["probability_calibration"]
        rows.append({
            "case": case.name, "window": [a, b, c], "in_sample": case.in_sample,
            "grid": list(stack.grid.shape), "cell_m": stack.grid.res,
            "new_cells": r0["quantity"]["observed_cells"], "candidates": r0["candidates"],
            "model": {"fom_mean": float(np.mean(foms)), "fom_sd": float(np.std(foms, ddof=1)),
                      "fom_min": float(np.min(foms)), "fom_max": float(np.max(foms)),
                      "fom_by_seed": {str(s): r["fom_mean"] for s, r in zip(SEEDS, per_seed)},
                      "runs": len(foms), "survival": r0["calibration"]["survival"],
                      "survival_source": r0["calibration"]["survival_source"],
                      "auc": r0["calibration"]["auc"], "note": r0["calibration"]["note"],
                      "kind": r0["calibration"]["kind"], "validation": r0["calibration"]["validation"]},
            "nearest_builtup": r0["nearest_builtup_ties"],
            "random": nulls["random"]["fom"],
            "logistic_distance": nulls.get("logistic_distance", {}).get("fom"),
            "versus_nearest": r0["versus_nearest"],
            "probability": {k: cal[k] for k in ("ece", "brier", "brier_constant", "brier_skill", "rate",
                                               "p0_share", "new_on_p0_share", "bins")},
            "quantity_ratio": _quantity_ratio(stack, s2, c, suit, leak) if own else None,
            "warnings": r0["warnings"], "seconds": round(time.perf_counter() - t0, 1),
        })
        log.info("%s %s: model %.3f, nearest %.3f", case.name, (a, b, c), rows[-1]["model"]["fom_mean"],
                 rows[-1]["nearest_builtup"]["mean"])
    return {"case": case.name, "note": case.note, "in_sample": case.in_sample, "years": stack.years,
            "windows": rows}


def _quantity_ratio(stack, scenario, observed_year: int, suit, leak) -> float | None:
    """Projected / observed new land over the window (the demand model's quantity error)."""
    r = score_backtest(stack, scenario, observed_year, "projected", suit, 1, SEEDS[0], road_warning=leak)
    return r["quantity"]["quantity_ratio"]


def markdown(results: list[dict]) -> str:
    """The README table: one row per case and window."""
    head = ("| case | window (fit → score) | new cells | model used | model FoM (sd) | "
            "nearest-built-up FoM (tie range) | "
            "logistic on distances | random | model − nearest [95 % block CI] | ECE | Brier skill | "
            "new on p = 0 | quantity ratio | sample |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for case in results:
        for w in case["windows"]:
            a, b, c = w["window"]
            m, n, v, p = w["model"], w["nearest_builtup"], w["versus_nearest"], w["probability"]
            lg = "–" if w["logistic_distance"] is None else f"{w['logistic_distance']:.3f}"
            qr = "–" if w["quantity_ratio"] is None else f"{w['quantity_ratio']:.2f}"
            lines.append(
                f"| {w['case']} | {a}→{b}, {b}→{c} | {w['new_cells']:,} | {_used(m)} | "
                f"{m['fom_mean']:.3f} ({m['fom_sd']:.3f}) | "
                f"{n['mean']:.3f} ({n['min']:.3f}–{n['max']:.3f}) | {lg} | {w['random']:.3f} | "
                f"{v['difference']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}] | {p['ece']:.3f} | "
                f"{p['brier_skill']:+.3f} | {100 * p['new_on_p0_share']:.0f} % | {qr} | "
                f"{'in' if w['in_sample'] else 'out'} |")
    return head + "\n".join(lines) + "\n"


def _used(model: dict) -> str:
    """Which model the backtest used, in a few words."""
    v = model["validation"]
    if v is None:
        return "default" + (f" (survival {model['survival']:g})" if model["survival"] else "")
    return f"{v['chosen']} (validated)"


log = logging.getLogger("skill")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=[c.name for c in CASES])
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "skill.json")
    ap.add_argument("--markdown", action="store_true", help="print the README table")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results, t0 = [], time.perf_counter()
    for case in CASES:
        if case.name not in args.cases:
            continue
        if case.needs and not (ROOT / case.needs).exists():
            log.warning("%s: skipped (%s not found)", case.name, case.needs)
            continue
        results.append(run_case(case))
    out = {"seeds": list(SEEDS), "runs_per_seed": RUNS, "seconds": round(time.perf_counter() - t0, 1),
           "cases": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(markdown(results) if args.markdown else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
