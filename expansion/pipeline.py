"""The pipeline: scenario -> catalog -> grid stack -> demand -> suitability ->
growth -> plan -> risk -> metrics -> maps and report.

Only this module and the CLI touch files. Everything is computed first; the
run folder is written at the end into a temporary folder renamed into place.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import demand as demand_mod
from . import growth, layers, metrics, plan, risk, suitability
from .config import Catalog, Scenario, load_catalog, load_scenario
from .errors import ConfigError
from .outputs import atomic_folder, check_target, input_files, package_versions, write_geotiff, write_json
from .stack import Stack

log = logging.getLogger(__name__)


def slug(text: str) -> str:
    """A folder-safe name: lower case letters, digits and dashes."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "unnamed"


class Timer:
    """Seconds per stage, in order."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._last = self._t0

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + now - self._last
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self._t0


@dataclass
class Model:
    """Everything a run computes, before anything is written."""

    scenario: Scenario
    catalog: Catalog
    stack: Stack
    demand: list
    suitability: suitability.Suitability
    growth_model: growth.GrowthModel
    bau: growth.GrowthResult
    plan: plan.Plan
    planned: growth.GrowthResult
    risk: dict[str, risk.Risk]
    summary: dict
    hotspots: object
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class RunResult:
    out: Path
    summary: dict
    demand: list

    def headline(self) -> list[str]:
        s = self.summary
        lines = [
            f"{s['city']} - {s['scenario']}" + (" (synthetic data)" if s.get("synthetic") else ""),
            f"population {s['population_base']:,.0f} in {s['base_year']} -> "
            f"{s['population_horizon']:,.0f} in {s['horizon_year']}",
            f"new land needed by {s['horizon_year']}: {s['new_land_ha']:,.0f} ha; "
            f"expansion area {s['expansion_area_ha']:,.0f} ha",
            f"arterials to secure: {s['arterials_planned_km']:,.1f} km; open space protected: "
            f"{s['open_space_ha']:,.0f} ha",
        ]
        r = s.get("risk", {})
        if r:
            lines.append(
                "people at high risk of informal settlement: "
                f"{r['bau']['high_risk_people']:,.0f} business as usual, "
                f"{r['planned']['high_risk_people']:,.0f} with the plan"
            )
        return lines


def default_out(catalog: Catalog, scenario: Scenario) -> Path:
    return Path("outputs") / slug(catalog.name) / slug(scenario.name)


def prepare(scenario_path: Path, runs: int | None = None, seed: int | None = None,
            progress=None) -> tuple[Scenario, Catalog, Stack]:
    """Load the scenario and catalog and build (or load) the aligned stack."""
    sc = load_scenario(scenario_path)
    growth_cfg = sc.growth
    if runs is not None:
        growth_cfg = dataclasses.replace(growth_cfg, runs=runs)
    if seed is not None:
        growth_cfg = dataclasses.replace(growth_cfg, seed=seed)
    sc = sc.replace(growth=growth_cfg)
    catalog = load_catalog(sc.layers)
    grid = layers.grid_for(catalog, sc.resolution_m, sc.crs, sc.margin_m)
    log.info("grid: %d x %d cells of %g m in %s", grid.width, grid.height, grid.res, grid.crs)
    stack = layers.build_stack(catalog, grid, progress=progress)
    for year, what in ((sc.base_year, "base_year"), (sc.growth.calibrate_from, "[growth] calibrate_from")):
        if year is not None and year not in stack.builtup:
            raise ConfigError(
                f"{sc.path}: {what} {year} has no built-up layer in {catalog.path}; "
                f"observed years are {', '.join(map(str, stack.years))}"
            )
    return sc, catalog, stack


def compute(sc: Scenario, catalog: Catalog, stack: Stack, timer: Timer) -> Model:
    """Run every stage on a prepared stack (pure: writes nothing)."""
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    base_ha = float(base.sum()) * grid.cell_area_ha
    rows = demand_mod.project_demand(sc.population, sc.density, sc.years, base_ha)
    timer.mark("demand")

    suit = suitability.score(stack, sc.suitability)
    timer.mark("suitability")

    log.info("growth: calibrating on %s -> %d", sc.growth.calibrate_from or "defaults", sc.base_year)
    model = growth.calibrate(stack, sc.growth.calibrate_from, sc.base_year, suit.excluded)
    new_cells = [int(round(r.new_land_ha / grid.cell_area_ha)) for r in rows[1:]]
    years = [r.year for r in rows]
    log.info("growth: %d Monte-Carlo runs, business as usual", sc.growth.runs)
    bau = growth.simulate(stack, model, suit.excluded, new_cells, years, seed=sc.growth.seed,
                          runs=sc.growth.runs, base_builtup=base)
    timer.mark("growth")

    land_need_ha = max(0.0, rows[-1].land_need_ha - base_ha)
    the_plan = plan.make_plan(stack, suit.score, suit.excluded, land_need_ha, sc.plan, base)
    timer.mark("plan")

    log.info("growth: %d Monte-Carlo runs, planned", sc.growth.runs)
    arterial_planned = np.minimum(stack.arterial_dist_m, the_plan.arterial_dist_m)
    road_planned = np.minimum(stack.road_dist_m, the_plan.arterial_dist_m)
    planned_excluded = suit.excluded | the_plan.constraints
    planned = growth.simulate(stack, model, planned_excluded, new_cells, years, seed=sc.growth.seed,
                              runs=sc.growth.runs, base_builtup=base, arterial_dist_m=arterial_planned,
                              road_dist_m=road_planned, allowed=the_plan.expansion_area | base)
    timer.mark("growth_planned")

    density_h = rows[-1].density_pph
    hazard = risk.hazard_score(stack)
    risks = {
        "bau": risk.risk_for_policy(stack, "business as usual", bau.probability, suit.excluded, base,
                                    sc.risk, hazard=hazard),
        "planned": risk.risk_for_policy(stack, "planned", planned.probability, planned_excluded, base,
                                        sc.risk, road_dist_m=road_planned, hazard=hazard),
    }
    probs = {"bau": bau.probability, "planned": planned.probability}
    risk_summary = {k: risk.risk_summary(r, probs[k], base, stack.valid, grid.cell_area_ha, density_h)
                    for k, r in risks.items()}
    spots = [risk.hotspots(r, probs[k], stack, density_h) for k, r in risks.items()]
    timer.mark("risk")

    horizon_bau = (bau.urbanization_year > 0) & stack.valid
    horizon_planned = (planned.urbanization_year > 0) & stack.valid
    pop0, pop_h = rows[0].population, rows[-1].population
    atlas = {
        "base": metrics.atlas_metrics(base, stack.valid, stack.water, grid.res, pop0),
        "horizon_bau": metrics.atlas_metrics(horizon_bau, stack.valid, stack.water, grid.res, pop_h),
        "horizon_planned": metrics.atlas_metrics(horizon_planned, stack.valid, stack.water, grid.res, pop_h),
    }
    plan_m = plan.plan_metrics(the_plan, stack, land_need_ha)
    timer.mark("metrics")

    summary = {
        "city": catalog.name,
        "scenario": sc.name,
        "synthetic": catalog.synthetic,
        "base_year": sc.base_year,
        "horizon_year": sc.horizon_year,
        "population_base": pop0,
        "population_horizon": pop_h,
        "density_base_pph": rows[0].density_pph,
        "density_horizon_pph": density_h,
        "builtup_base_ha": base_ha,
        "land_need_ha": rows[-1].land_need_ha,
        "new_land_ha": sum(r.new_land_ha for r in rows),
        "expansion_area_ha": plan_m.get("expansion_area_ha"),
        "arterials_planned_km": plan_m.get("arterials_planned_km"),
        "open_space_ha": plan_m.get("open_space_ha"),
        "growth_model": model.describe(),
        "risk": risk_summary,
        "plan": plan_m,
        "metrics": atlas,
        "unallocated_cells": {"bau": bau.unallocated, "planned": planned.unallocated},
    }
    import pandas as pd

    hot = pd.concat(spots, ignore_index=True) if any(len(s) for s in spots) else spots[0]
    return Model(sc, catalog, stack, rows, suit, model, bau, the_plan, planned, risks, summary, hot)


def write_run(m: Model, folder: Path, timer: Timer) -> None:
    """Write every output of a computed run into ``folder`` (an empty temporary folder)."""
    from . import maps  # noqa: F401  (imported here: maps are the heaviest to import)

    grid = m.stack.grid
    sc = m.scenario
    (folder / "demand.csv").write_text(demand_mod.demand_csv(m.demand), encoding="utf-8")
    write_geotiff(folder / "suitability.tif", m.suitability.score, grid, nodata=np.nan,
                  description="land suitability, 0 (unsuitable) to 1 (most suitable)")
    write_geotiff(folder / "risk.tif", m.risk["bau"].score, grid, nodata=np.nan,
                  description="informal-settlement risk, business as usual, 0 to 1")
    write_geotiff(folder / "risk_planned.tif", m.risk["planned"].score, grid, nodata=np.nan,
                  description="informal-settlement risk under the plan, 0 to 1")
    write_geotiff(folder / "urbanization_year.tif", m.bau.urbanization_year, grid, nodata=None,
                  description="year built up (business as usual); base year = already built; 0 = never",
                  categorical=True)
    write_geotiff(folder / "urbanization_year_planned.tif", m.planned.urbanization_year, grid,
                  nodata=None, categorical=True,
                  description="year built up under the plan; base year = already built; 0 = never")
    write_geotiff(folder / "urbanization_probability.tif", m.bau.probability, grid, nodata=np.nan,
                  description=f"share of {sc.growth.runs} runs built up by {sc.horizon_year}")
    plan.write_plan_gpkg(m.plan, folder / "plan.gpkg", risk_hotspots=m.hotspots)
    timer.mark("write")
    from .render import render_run

    render_run(m, folder)
    timer.mark("maps")
    write_json(folder / "summary.json", m.summary)


def provenance(m: Model, timer: Timer, out: Path) -> dict:
    sc = m.scenario
    files = [sc.path, m.catalog.path] + [e.path for e in m.catalog.layers]
    return {
        "scenario": str(sc.path),
        "catalog": str(m.catalog.path),
        "out": str(out),
        "inputs": input_files(files),
        "parameters": dataclasses.asdict(sc),
        "seed": sc.growth.seed,
        "runs": sc.growth.runs,
        "grid": dataclasses.asdict(m.stack.grid),
        "packages": package_versions(),
        "timings_s": {**{k: round(v, 3) for k, v in timer.stages.items()}, "total": round(timer.total, 3)},
    }


def run(scenario_path: Path, out: Path | None = None, overwrite: bool = False, runs: int | None = None,
        seed: int | None = None, progress=None) -> RunResult:
    """Run a scenario end to end and write its run folder atomically.

    Parameters
    ----------
    scenario_path : the scenario .toml.
    out : the run folder; default ``outputs/<city>/<scenario>/`` under the
        current directory.
    overwrite : replace an existing run folder; without it an existing folder
        is an error and stays untouched.
    runs, seed : override the scenario's Monte-Carlo runs and seed.
    """
    timer = Timer()
    sc = load_scenario(scenario_path)
    catalog = load_catalog(sc.layers)
    out = Path(out) if out is not None else default_out(catalog, sc)
    check_target(out, overwrite)  # fail before the work, not after
    sc, catalog, stack = prepare(scenario_path, runs=runs, seed=seed, progress=progress)
    timer.mark("layers")
    m = compute(sc, catalog, stack, timer)
    with atomic_folder(out, overwrite) as tmp:
        write_run(m, tmp, timer)
        write_json(tmp / "run.json", provenance(m, timer, out))
    log.info("run: %.1f s in all", timer.total)
    return RunResult(out=out, summary=m.summary, demand=m.demand)
