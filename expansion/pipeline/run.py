"""``expansion run``: every stage on a prepared stack, then the run folder.

Everything is computed first; the run folder is written at the end into a
temporary folder renamed into place.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import demand as demand_mod
from .. import growth, metrics, plan, risk, suitability
from ..config import Catalog, Scenario
from ..grid import STRIP_CELLS
from ..outputs.folder import Spill, atomic_folder, check_target
from ..outputs.geotiff import write_geotiff
from ..outputs.plan_gpkg import write_plan_gpkg
from ..outputs.provenance import write_json
from ..stack import Stack
from .backtest import roads_leak
from .common import (
    Timer,
    check_grid_fits,
    check_plan_fits,
    default_out,
    input_paths,
    load,
    prepare,
    provenance,
    stack_for,
)
from .demand import project as project_demand
from .parallel import LocalRuns
from .planned import plan_and_risk

log = logging.getLogger(__name__)

__all__ = ["RUN_FILES", "Model", "RunResult", "Timer", "check_grid_fits", "compute", "prepare", "run",
           "spill_for", "write_run"]


# The files of a run folder (DESIGN.md section 5, plus risk_planned.tif); .qml styles sit beside the .tifs.
RUN_FILES = ("index.html", "suitability.html", "risk.html", "expansion.html", "demand.csv", "summary.json",
             "suitability.tif", "risk.tif", "risk_planned.tif", "urbanization_year.tif",
             "urbanization_year_planned.tif", "urbanization_probability.tif", "plan.gpkg", "run.json",
             "map_expansion_plan.png", "map_risk_without_plan.png", "map_risk_with_plan.png")


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
        if s.get("land_need_ha_range"):
            low, mid, high = s["land_need_ha_range"]
            lines.append(f"land need in {s['horizon_year']}: {mid:,.0f} ha (range {low:,.0f} to "
                         f"{high:,.0f} ha); the expansion area is sized for the high end")
        unmet = s.get("unmet_demand") or {}
        if unmet.get("year_full"):
            lines.append(f"unmet: {unmet['ha']:,.0f} ha cannot be placed; the study area fills by about "
                         f"{unmet['year_full']}")
        r = s.get("risk", {})
        if r and r.get("assessed", {}).get("high_risk") is False:
            lines.append("people at high risk of informal settlement: not assessed (needs a DEM, a water or "
                         "flood layer, or a roads layer)")
        elif r:
            lines.append(
                "people at high risk of informal settlement: "
                f"{r['bau']['high_risk_people']:,.0f} if nothing is done, "
                f"{r['planned']['high_risk_people']:,.0f} with the plan"
            )
        return lines


def compute(sc: Scenario, catalog: Catalog, stack: Stack, timer: Timer,
            start_simulation: Callable[..., Callable[[], growth.GrowthResult]] | None = None,
            spill: Spill | None = None) -> Model:
    """Run every stage on a prepared stack (pure: writes nothing).

    ``start_simulation`` takes the arguments of :func:`expansion.growth.simulate`,
    starts it and returns a function that waits for its result. The default,
    :class:`~expansion.pipeline.parallel.LocalRuns`, makes the runs at once on this
    machine's cores; :mod:`expansion.pipeline.batch` passes one that spreads them
    over Dask workers, so that the business-as-usual runs go on while the plan is
    made. Either way the bytes are those of one call (see ``growth.merge_runs``).

    ``spill`` (see :class:`expansion.outputs.folder.Spill`) moves each stage's
    finished grids to files as they are made, for large grids.
    """
    spill = spill or Spill()
    start_simulation = with_probability(start_simulation or LocalRuns())
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    base_ha = float(base.sum()) * grid.cell_area_ha
    dem = project_demand(sc, catalog, stack)
    rows, said = dem.rows, list(dem.warnings)
    new_land_ha = dem.new_land_ha
    plan_new_land_ha = dem.plan_new_land_ha  # Making Room plans for the high end
    timer.mark("demand")

    # without its factor grids (~20 bytes a cell)
    suit = spill(suitability.score(stack, sc.suitability, sc.base_year))
    timer.mark("suitability")

    log.info("growth: calibrating on %s -> %d", sc.growth.calibrate_from or "defaults", sc.base_year)
    # validation fits on the window before calibrate_from: roads that may post-date it are left out
    leak = sc.growth.calibrate_from is not None and roads_leak(catalog, sc.growth.calibrate_from)
    model = growth.choose_model(stack, sc.growth.calibrate_from, sc.base_year, suit.excluded,
                                survival=sc.growth.survival, noise=sc.growth.noise,
                                validation_features=growth.without_local_roads(stack) if leak else None)
    new_cells = [int(round(r.new_land_ha / grid.cell_area_ha)) for r in rows[1:]]
    years = [r.year for r in rows]
    log.info("growth: %d Monte-Carlo runs, business as usual", sc.growth.runs)
    bau_result = start_simulation(stack, model, suit.excluded, new_cells, years, seed=sc.growth.seed,
                                  runs=sc.growth.runs, base_builtup=base, noise=sc.growth.noise)
    bau = spill(bau_result())
    unmet = demand_mod.unmet_demand(bau.demanded_cells, bau.allocated_cells, years, grid.cell_area_ha)
    if (w := demand_mod.unmet_warning(unmet, sc.horizon_year)) is not None:
        log.warning(w)
        said.append(w)
    timer.mark("growth")

    out = plan_and_risk(sc, stack, suit, model, base, rows, bau, start_simulation, spill, timer,
                        plan_new_land_ha=plan_new_land_ha)
    the_plan, planned, risks = out.plan, out.planned, out.risks
    land_need_ha = the_plan.land_need_ha
    density_h = rows[-1].density_pph

    horizon_bau = (bau.urbanization_year > 0) & stack.valid
    horizon_planned = (planned.urbanization_year > 0) & stack.valid
    pop0, pop_h = rows[0].population, rows[-1].population
    atlas = {
        "base": metrics.atlas_metrics(base, stack.valid, stack.water, grid.res, pop0),
        "horizon_bau": metrics.atlas_metrics(horizon_bau, stack.valid, stack.water, grid.res, pop_h),
        "horizon_planned": metrics.atlas_metrics(horizon_planned, stack.valid, stack.water, grid.res, pop_h),
    }
    plan_m = {**plan.plan_metrics(the_plan, stack, land_need_ha), "enforcement": sc.plan.enforcement}
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
        "new_land_ha": new_land_ha,
        **dem.summary(sc),
        "unmet_demand": {**unmet, **out.unmet},
        "expansion_area_ha": plan_m.get("expansion_area_ha"),
        "arterials_planned_km": plan_m.get("arterials_planned_km"),
        "open_space_ha": plan_m.get("open_space_ha"),
        "growth_model": model.as_dict(),
        **growth_validation(model),
        "risk": out.risk_summary,
        "plan": plan_m,
        "metrics": atlas,
        "warnings": (stack.warnings + said + stale_base_warning(sc.base_year) + suit.warnings
                     + growth_warnings(model)
                     + [in_hectares(w, grid.cell_area_ha) for w in bau.warnings]
                     + [in_hectares(w, grid.cell_area_ha, "with the plan") for w in planned.warnings]
                     + out.warnings),
    }
    import pandas as pd

    spots = out.hotspots
    hot = pd.concat(spots, ignore_index=True) if any(len(s) for s in spots) else spots[0]
    return Model(sc, catalog, stack, rows, suit, model, bau, the_plan, planned, risks, summary, hot)


def with_probability(start_simulation: Callable[..., Callable[[], growth.GrowthResult]]):
    """``start_simulation`` whose results carry the calibrated probability of being built by
    the horizon (:func:`expansion.growth.probability_by_horizon`, for the same policy:
    exclusions, road distances, allowed area) instead of the share of runs."""
    def start(stack, model, excluded, new_cells, years, *, base_builtup, arterial_dist_m=None,
              road_dist_m=None, allowed=None, **kwargs):
        wait = start_simulation(stack, model, excluded, new_cells, years, base_builtup=base_builtup,
                                arterial_dist_m=arterial_dist_m, road_dist_m=road_dist_m, allowed=allowed,
                                **kwargs)

        def result() -> growth.GrowthResult:
            p = growth.probability_by_horizon(model, stack, base_builtup, excluded, sum(new_cells),
                                              arterial_dist_m, road_dist_m, allowed=allowed)
            return dataclasses.replace(wait(), probability=p)
        return result
    return start


#: A base year more than this many years before the run date draws a warning.
STALE_BASE_YEARS = 2


def stale_base_warning(base_year: int, run_year: int | None = None) -> list[str]:
    """A warning when the base year is years before the run (``run_year``, default the year of
    the run date): deadlines before it are already past."""
    from ..outputs.web.run_maps import run_date

    year = int(run_date()[:4]) if run_year is None else run_year
    if year - base_year <= STALE_BASE_YEARS:
        return []
    return [f"the base year {base_year} is {year - base_year} years before this run ({year}): the city has "
            f"grown since, and the deadlines before {year} are already past (marked \"overdue: secure "
            "now\"); rerun from a more recent base year when the layers allow"]


_FULL_STEP = re.compile(r"step (\S+): demand is (\d+) cells but only (\d+) open cells are left; "
                        r"all of them were allocated")


def in_hectares(warning: str, cell_ha: float, policy: str = "if nothing is done") -> str:
    """A growth allocation warning in hectares and plain words (the pages speak of land, not cells);
    other warnings are returned as they are, after ``policy`` when it is the plan's."""
    m = _FULL_STEP.fullmatch(warning)
    if m is None:
        return warning if policy == "if nothing is done" else f"{policy}: {warning}"
    want, left = int(m[2]) * cell_ha, int(m[3]) * cell_ha
    if left < 0.5:
        return (f"{m[1]}, {policy}: no open land was left in the study area for the {want:,.0f} hectares "
                "of new land needed")
    return (f"{m[1]}, {policy}: only {left:,.0f} hectares of open land were left in the study area for the "
            f"{want:,.0f} hectares of new land needed; all of it is shown as built")


def growth_validation(model: growth.GrowthModel) -> dict:
    """``{"growth": {"validation": {...}}}`` for summary.json (DESIGN section 5) when the model
    was validated on a window inside the past, else nothing."""
    v = model.validation
    if v is None:
        return {}
    return {"growth": {"validation": {k: v[k] for k in ("window", "fom", "null_nearest_fom", "ece",
                                                        "brier_skill", "model")}}}


def growth_warnings(model: growth.GrowthModel) -> list[str]:
    """Plain-language caveats on the growth model for summary.json."""
    if model.kind == "fallback":
        return ["growth: only one built-up epoch, so the growth model uses default coefficients that were "
                "not learned from this city; the growth map is indicative only"]
    if model.validation is None:
        return [f"growth: the growth model could not be checked against an earlier period (no built-up "
                f"epoch before {model.from_year}); the growth map is indicative only"]
    if model.kind == "nearest":
        v = model.validation
        return [f"growth: in {v['window'][0]}–{v['window'][1]} the fitted growth model did no better than "
                "growing the land nearest today's built-up land, so the projection uses that simple rule"]
    return []


def spill_for(grid, folder: Path) -> Spill:
    """Where a run on ``grid`` keeps its finished grids: on grids of more than one
    strip, files in ``folder/.grids`` (``folder`` being the hidden temporary run
    folder, removed with it if the run fails or is killed); else in memory."""
    return Spill(folder / ".grids" if grid.cells > STRIP_CELLS else None)


def write_run(m: Model, folder: Path, timer: Timer) -> None:
    """Write every output of a computed run into ``folder`` (an empty temporary folder)."""
    from ..outputs.web import leaflet  # noqa: F401  (imported here: maps are the heaviest to import)

    grid = m.stack.grid
    sc = m.scenario
    (folder / "demand.csv").write_text(demand_mod.demand_csv(m.demand), encoding="utf-8")
    write_geotiff(folder / "suitability.tif", m.suitability.score, grid, nodata=np.nan,
                  description="land suitability, 0 (unsuitable) to 1 (most suitable)")
    from ..outputs.web.html_page import risk_assessed

    what = ("informal-settlement risk" if risk_assessed(m.summary) else
            "growth pressure x likelihood (risk not assessed: no DEM, water, flood or roads layer)")
    write_geotiff(folder / "risk.tif", m.risk["bau"].score, grid, nodata=np.nan,
                  description=f"{what}, business as usual, 0 to 1")
    write_geotiff(folder / "risk_planned.tif", m.risk["planned"].score, grid, nodata=np.nan,
                  description=f"{what} under the plan, 0 to 1")
    write_geotiff(folder / "urbanization_year.tif", m.bau.urbanization_year, grid, nodata=None,
                  description="year built up (business as usual); base year = already built; 0 = never",
                  categorical=True)
    write_geotiff(folder / "urbanization_year_planned.tif", m.planned.urbanization_year, grid,
                  nodata=None, categorical=True,
                  description="year built up under the plan; base year = already built; 0 = never")
    write_geotiff(folder / "urbanization_probability.tif", m.bau.probability, grid, nodata=np.nan,
                  description=f"calibrated probability of being built up by {sc.horizon_year}, "
                              "business as usual")
    write_plan_gpkg(m.plan, folder / "plan.gpkg", risk_hotspots=m.hotspots)
    from ..outputs.qgis import write_raster_styles

    write_raster_styles(folder, [r.year for r in m.demand], risk_assessed(m.summary))
    timer.mark("write")
    from ..outputs.web.run_maps import render_run

    render_run(m, folder)
    timer.mark("maps")
    write_json(folder / "summary.json", m.summary)


def run(scenario_path: Path, out: Path | None = None, overwrite: bool = False, runs: int | None = None,
        seed: int | None = None, progress=None, start_simulation=None,
        out_option: str = "--out") -> RunResult:
    """Run a scenario end to end and write its run folder atomically.

    Parameters
    ----------
    scenario_path : the scenario .toml.
    out : the run folder; default ``outputs/<city>/<scenario>/`` under the
        current directory.
    overwrite : replace an existing run folder this tool wrote (never a folder
        holding anything else); without it an existing folder is an error and
        stays untouched.
    out_option : the option that chose ``out``, named in errors (batch: ``--out-root``).
    runs, seed : override the scenario's Monte-Carlo runs and seed.
    start_simulation : how the Monte-Carlo runs are made (see :func:`compute`).
    """
    timer = Timer()
    sc, catalog = load(scenario_path, runs, seed)
    out = Path(out) if out is not None else default_out(catalog, sc)
    protect = input_paths(sc, catalog)
    check_target(out, overwrite, protect, out_option)  # fail before the work, not after
    stack = stack_for(sc, catalog, progress)
    check_plan_fits(sc, stack)
    timer.mark("layers")
    with atomic_folder(out, overwrite, protect, out_option) as tmp:
        spill = spill_for(stack.grid, tmp)
        m = compute(sc, catalog, stack, timer, start_simulation, spill)
        write_run(m, tmp, timer)
        write_json(tmp / "run.json", provenance(sc, catalog, stack.grid, timer, out))
        result = RunResult(out=out, summary=m.summary, demand=m.demand)
        del m  # unmap the spilled grids before their folder goes
        spill.close()
    log.info("run: %.1f s in all", timer.total)
    return result
