"""The pipeline: scenario -> catalog -> grid stack -> demand -> suitability ->
growth -> plan -> risk -> metrics -> maps and report.

Only this module and the CLI touch files. Everything is computed first; the
run folder is written at the end into a temporary folder renamed into place.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import demand as demand_mod
from . import growth, layers, metrics, plan, risk, suitability
from .config import Catalog, Scenario, load_catalog, load_scenario
from .errors import ConfigError, ExpansionError, OutputExistsError
from .grid import STRIP_CELLS
from .outputs.folder import Spill, atomic_folder, check_target
from .outputs.geotiff import write_geotiff
from .outputs.provenance import input_files, package_versions, write_json
from .stack import Stack

log = logging.getLogger(__name__)


# The files of a run folder (DESIGN.md section 5, plus risk_planned.tif); .qml styles sit beside the .tifs.
RUN_FILES = ("index.html", "suitability.html", "risk.html", "expansion.html", "demand.csv", "summary.json",
             "suitability.tif", "risk.tif", "risk_planned.tif", "urbanization_year.tif",
             "urbanization_year_planned.tif", "urbanization_probability.tif", "plan.gpkg", "run.json")


def slug(text: str) -> str:
    """A folder-safe name: lower case letters, digits and dashes."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "unnamed"


class Timer:
    """Seconds per stage, in order; ``on_mark(stage)`` is called after each stage."""

    def __init__(self, on_mark=None) -> None:
        self.stages: dict[str, float] = {}
        self.on_mark = on_mark
        self._t0 = time.perf_counter()
        self._last = self._t0

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + now - self._last
        log.info("%s: done in %.1f s", stage.replace("_", " "), now - self._last)
        self._last = now
        if self.on_mark:
            self.on_mark(stage)

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


def load(scenario_path: Path, runs: int | None = None, seed: int | None = None) -> tuple[Scenario, Catalog]:
    """The scenario (with ``runs`` and ``seed`` overriding its own) and its catalog."""
    sc = load_scenario(scenario_path)
    growth_cfg = sc.growth
    if runs is not None:
        growth_cfg = dataclasses.replace(growth_cfg, runs=runs)
    if seed is not None:
        growth_cfg = dataclasses.replace(growth_cfg, seed=seed)
    sc = sc.replace(growth=growth_cfg)
    return sc, load_catalog(sc.layers)


def prepare(scenario_path: Path, runs: int | None = None, seed: int | None = None,
            progress=None) -> tuple[Scenario, Catalog, Stack]:
    """Load the scenario and catalog and build (or load) the aligned stack."""
    sc, catalog = load(scenario_path, runs, seed)
    return sc, catalog, stack_for(sc, catalog, progress)


# Memory a run needs: anonymous (non file-backed) memory at its peak, measured by
# benchmarks/run.py on large grids (README "Large regions"), plus the program.
RUN_BYTES_PER_CELL = 60
RUN_BASE_BYTES = 400e6


def physical_memory() -> float:
    """Bytes of RAM on this machine."""
    return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_grid_fits(sc: Scenario, grid) -> None:
    """Raise ConfigError when a run on ``grid`` would need more memory than this machine has.

    The estimate is the measured peak per cell (:data:`RUN_BYTES_PER_CELL`);
    the message gives the coarsest-needed resolution that fits.
    """
    need = grid.cells * RUN_BYTES_PER_CELL + RUN_BASE_BYTES
    have = physical_memory()
    if need <= have:
        return
    fits = (have - RUN_BASE_BYTES) / RUN_BYTES_PER_CELL
    res = math.ceil(grid.res * math.sqrt(grid.cells / max(fits, 1.0)) / 5.0) * 5.0
    raise ConfigError(
        f"{sc.path}: a grid of {grid.width:,} x {grid.height:,} cells of {grid.res:g} m needs about "
        f"{need / 1e9:,.0f} GB of memory and this machine has {have / 1e9:.0f} GB, so the run would run out "
        f"of memory; use a coarser resolution_m ({res:g} m or more) or a smaller study area"
    )


def stack_for(sc: Scenario, catalog: Catalog, progress=None) -> Stack:
    """Build (or load from the cache) the scenario's aligned stack and check its years."""
    grid = layers.grid_for(catalog, sc.resolution_m, sc.crs, sc.margin_m)
    log.info("grid: %d x %d cells of %g m in %s", grid.width, grid.height, grid.res, grid.crs)
    check_grid_fits(sc, grid)
    stack = layers.build_stack(catalog, grid, progress=progress)
    for year, what in ((sc.base_year, "base_year"), (sc.growth.calibrate_from, "[growth] calibrate_from")):
        if year is not None and year not in stack.builtup:
            raise ConfigError(
                f"{sc.path}: {what} {year} has no built-up layer in {catalog.path}; "
                f"observed years are {', '.join(map(str, stack.years))}: use one of them, or add "
                f"a built-up layer of {year} to the catalog"
            )
    return stack


def check_plan_fits(sc: Scenario, stack: Stack) -> None:
    """Raise ConfigError when the arterial spacing is larger than the study area.

    An arterial grid needs at least two lines of a family across the study
    area (the boundary's bounding box, metres in the grid's CRS); with a
    spacing wider than the area's longer side there would be at most one, so
    the plan would say nothing. This is a scenario error, not a warning.
    """
    left, bottom, right, top = stack.vectors["boundary"].total_bounds
    side = max(right - left, top - bottom)
    spacing = sc.plan.arterial_spacing_m
    if spacing > side:
        raise ConfigError(
            f"{sc.path} [plan]: 'arterial_spacing_m' ({spacing:g} m) is larger than the study area "
            f"({(right - left) / 1000:.1f} x {(top - bottom) / 1000:.1f} km), so no arterial grid fits; "
            f"use a spacing under {side:.0f} m (Making Room: about 1000 m)"
        )


def run_counter(runs: int):
    """An ``on_run`` callback that shows "run i/N" on a terminal (nothing when stderr is not one)."""
    if not sys.stderr.isatty() or log.getEffectiveLevel() > logging.INFO:
        return None

    def show(run: int, _uyear) -> None:
        sys.stderr.write(f"\r  run {run + 1}/{runs}" + ("\n" if run + 1 == runs else ""))
        sys.stderr.flush()

    return show


def simulate_here(*args, **kwargs) -> Callable[[], growth.GrowthResult]:
    """Run :func:`expansion.growth.simulate` now, in this process; return a function giving its result.

    On a terminal, the Monte-Carlo runs are counted as they finish."""
    kwargs.setdefault("on_run", run_counter(kwargs.get("runs", 1)))
    result = growth.simulate(*args, **kwargs)
    return lambda: result


def compute(sc: Scenario, catalog: Catalog, stack: Stack, timer: Timer,
            start_simulation: Callable[..., Callable[[], growth.GrowthResult]] = simulate_here,
            spill: Spill | None = None) -> Model:
    """Run every stage on a prepared stack (pure: writes nothing).

    ``start_simulation`` takes the arguments of :func:`expansion.growth.simulate`,
    starts it and returns a function that waits for its result. The default runs
    it at once, here; :mod:`expansion.batch` passes one that spreads the
    Monte-Carlo runs over Dask workers (same bytes: see ``growth.merge_runs``),
    so that the business-as-usual runs go on while the plan is made.

    ``spill`` (see :class:`expansion.outputs.folder.Spill`) moves each stage's
    finished grids to files as they are made, for large grids.
    """
    spill = spill or Spill()
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    base_ha = float(base.sum()) * grid.cell_area_ha
    rows = demand_mod.project_demand(sc.population, sc.density, sc.years, base_ha)
    timer.mark("demand")

    suit = spill(suitability.score(stack, sc.suitability))  # without its factor grids (~20 bytes a cell)
    timer.mark("suitability")

    log.info("growth: calibrating on %s -> %d", sc.growth.calibrate_from or "defaults", sc.base_year)
    model = growth.calibrate(stack, sc.growth.calibrate_from, sc.base_year, suit.excluded,
                             survival=sc.growth.survival)
    new_cells = [int(round(r.new_land_ha / grid.cell_area_ha)) for r in rows[1:]]
    years = [r.year for r in rows]
    log.info("growth: %d Monte-Carlo runs, business as usual", sc.growth.runs)
    bau_result = start_simulation(stack, model, suit.excluded, new_cells, years, seed=sc.growth.seed,
                                  runs=sc.growth.runs, base_builtup=base, noise=sc.growth.noise)
    timer.mark("growth")

    land_need_ha = max(0.0, rows[-1].land_need_ha - base_ha)
    the_plan = spill(plan.make_plan(stack, suit.score, suit.excluded, land_need_ha, sc.plan, base,
                                    max_slope_pct=sc.suitability.max_slope_pct))
    timer.mark("plan")

    log.info("growth: %d Monte-Carlo runs, planned", sc.growth.runs)
    arterial_planned = spill(np.minimum(stack.arterial_dist_m, the_plan.arterial_dist_m))
    road_planned = spill(np.minimum(stack.road_dist_m, the_plan.arterial_dist_m))
    planned_excluded = spill(suit.excluded | the_plan.constraints)
    planned_result = start_simulation(stack, model, planned_excluded, new_cells, years,
                                      seed=sc.growth.seed, runs=sc.growth.runs, base_builtup=base,
                                      arterial_dist_m=arterial_planned, road_dist_m=road_planned,
                                      allowed=the_plan.expansion_area | base, noise=sc.growth.noise)
    bau, planned = spill(bau_result()), spill(planned_result())
    timer.mark("growth_planned")

    density_h = rows[-1].density_pph
    hazard = spill(risk.hazard_score(stack))
    risks = {
        "bau": spill(risk.risk_for_policy(stack, "business as usual", bau.probability, suit.excluded, base,
                                          sc.risk, hazard=hazard)),
        "planned": spill(risk.risk_for_policy(stack, "planned", planned.probability, planned_excluded, base,
                                              sc.risk, road_dist_m=road_planned, hazard=hazard)),
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
        "growth_model": model.as_dict(),
        "risk": risk_summary,
        "plan": plan_m,
        "metrics": atlas,
        "warnings": suit.warnings + bau.warnings + [f"planned: {w}" for w in planned.warnings],
    }
    import pandas as pd

    hot = pd.concat(spots, ignore_index=True) if any(len(s) for s in spots) else spots[0]
    return Model(sc, catalog, stack, rows, suit, model, bau, the_plan, planned, risks, summary, hot)


def spill_for(grid, folder: Path) -> Spill:
    """Where a run on ``grid`` keeps its finished grids: on grids of more than one
    strip, files in ``folder/.grids`` (``folder`` being the hidden temporary run
    folder, removed with it if the run fails or is killed); else in memory."""
    return Spill(folder / ".grids" if grid.cells > STRIP_CELLS else None)


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
    write_raster_styles(folder, [r.year for r in m.demand])
    timer.mark("write")
    from .render import render_run

    render_run(m, folder)
    timer.mark("maps")
    write_json(folder / "summary.json", m.summary)


def write_raster_styles(folder: Path, years: list[int]) -> None:
    """QGIS styles (.qml) beside each GeoTIFF of a run, coloured as on the maps."""
    from . import styles
    from .render import period_categories

    for name, ramp, label in (("suitability", "RdYlGn", "suitability"), ("risk", "YlOrRd_09", "risk"),
                              ("risk_planned", "YlOrRd_09", "risk"),
                              ("urbanization_probability", "YlOrRd_09", "share of runs")):
        styles.write_qml(folder / f"{name}.tif", styles.continuous_qml(ramp, 0.0, 1.0, label))
    cats = styles.categories_qml(period_categories(years))
    for name in ("urbanization_year", "urbanization_year_planned"):
        styles.write_qml(folder / f"{name}.tif", cats)


def provenance(sc: Scenario, catalog: Catalog, grid, timer: Timer, out: Path, **extra) -> dict:
    """run.json: inputs with sha256, parameters, seed, grid, package versions, timings."""
    files = [sc.path, catalog.path] + [e.path for e in catalog.layers]
    return {
        "scenario": str(sc.path),
        "catalog": str(catalog.path),
        "out": str(out),
        **extra,
        "inputs": input_files(files),
        "parameters": dataclasses.asdict(sc),
        "seed": sc.growth.seed,
        "runs": sc.growth.runs,
        "grid": dataclasses.asdict(grid),
        "packages": package_versions(),
        "timings_s": {**{k: round(v, 3) for k, v in timer.stages.items()}, "total": round(timer.total, 3)},
    }


def run(scenario_path: Path, out: Path | None = None, overwrite: bool = False, runs: int | None = None,
        seed: int | None = None, progress=None, start_simulation=simulate_here) -> RunResult:
    """Run a scenario end to end and write its run folder atomically.

    Parameters
    ----------
    scenario_path : the scenario .toml.
    out : the run folder; default ``outputs/<city>/<scenario>/`` under the
        current directory.
    overwrite : replace an existing run folder; without it an existing folder
        is an error and stays untouched.
    runs, seed : override the scenario's Monte-Carlo runs and seed.
    start_simulation : how the Monte-Carlo runs are made (see :func:`compute`).
    """
    timer = Timer()
    sc, catalog = load(scenario_path, runs, seed)
    out = Path(out) if out is not None else default_out(catalog, sc)
    check_target(out, overwrite)  # fail before the work, not after
    stack = stack_for(sc, catalog, progress)
    check_plan_fits(sc, stack)
    timer.mark("layers")
    with atomic_folder(out, overwrite) as tmp:
        spill = spill_for(stack.grid, tmp)
        m = compute(sc, catalog, stack, timer, start_simulation, spill)
        write_run(m, tmp, timer)
        write_json(tmp / "run.json", provenance(sc, catalog, stack.grid, timer, out))
        result = RunResult(out=out, summary=m.summary, demand=m.demand)
        del m  # unmap the spilled grids before their folder goes
        spill.close()
    log.info("run: %.1f s in all", timer.total)
    return result


def backtest(scenario_path: Path, observed_year: int, quantity: str | None = None, out: Path | None = None,
             overwrite: bool = False, runs: int | None = None, seed: int | None = None) -> tuple[Path, dict]:
    """Backtest: calibrate on ``calibrate_from -> base_year``, grow to ``observed_year``,
    compare with the observed built-up there, and against three null models.

    Writes ``backtest.json``, ``urbanization_year.tif`` (run 0),
    ``urbanization_probability.tif``, ``backtest_map.tif`` (1 hit, 2 miss,
    3 false alarm, 4 correct rejection, 0 not a candidate), ``backtest.html``
    and ``run.json`` into the run folder (default
    ``outputs/<city>/<scenario>-backtest-<year>/``).
    """
    from . import validation

    timer = Timer()
    sc, catalog = load(scenario_path, runs, seed)
    out = Path(out) if out is not None else (
        Path("outputs") / slug(catalog.name) / f"{slug(sc.name)}-backtest-{observed_year}")
    check_target(out, overwrite)
    stack = stack_for(sc, catalog)
    if observed_year not in stack.builtup:
        raise ConfigError(f"--observed-year {observed_year} has no built-up layer in {catalog.path}; "
                          f"observed years are {', '.join(map(str, stack.years))}")
    timer.mark("layers")
    quantity = quantity or sc.growth.quantity
    suit = suitability.score(stack, sc.suitability)
    res = validation.backtest(stack, sc, observed_year, quantity, suit, sc.growth.runs, sc.growth.seed)
    arrays = res.pop("arrays")
    timer.mark("backtest")
    res.update({"city": catalog.name, "scenario": sc.name, "synthetic": catalog.synthetic})
    pred, obs, cand = arrays["predicted_new"], arrays["observed_new"], arrays["candidates"]
    agreement = np.zeros(stack.grid.shape, np.uint8)
    agreement[cand & ~pred & ~obs] = 4
    agreement[pred & obs] = 1
    agreement[~pred & obs] = 2
    agreement[pred & ~obs] = 3
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    uyear = np.where(pred, observed_year, np.where(base, sc.base_year, 0)).astype(np.int16)
    with atomic_folder(out, overwrite) as tmp:
        write_json(tmp / "backtest.json", res)
        write_geotiff(tmp / "backtest_map.tif", agreement, grid, nodata=0, categorical=True,
                      colormap=BACKTEST_COLOURS,
                      description="1 hit, 2 miss, 3 false alarm, 4 correct rejection, 0 not a candidate")
        write_geotiff(tmp / "urbanization_year.tif", uyear, grid, nodata=None, categorical=True,
                      description="year built up in the backtest run with the scenario's seed")
        write_geotiff(tmp / "urbanization_probability.tif", arrays["probability"], grid, nodata=np.nan,
                      description=f"share of runs built up by {observed_year}")
        from . import maps
        from .render import backtest_map

        maps.write_html(tmp / "backtest.html", backtest_map(stack, sc, res, agreement))
        timer.mark("write")
        write_json(tmp / "run.json", provenance(sc, catalog, grid, timer, out, observed_year=observed_year,
                                                quantity=quantity))
    return out, res


BACKTEST_COLOURS = {0: (0, 0, 0, 0), 1: (26, 152, 80, 255), 2: (215, 48, 39, 255), 3: (253, 174, 97, 255),
                    4: (230, 230, 230, 255)}


def read_run(folder: Path) -> dict:
    """A run folder's summary.json plus its demand rows (``demand`` key)."""
    import csv
    import json

    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not folder.is_dir():
        raise ExpansionError(f"{folder} is not a folder; give run folders written by `expansion run`")
    if not summary_path.is_file():
        raise ExpansionError(f"{folder} is not a run folder: it has no summary.json "
                             "(was the run finished with `expansion run`?)")
    try:
        run = json.loads(summary_path.read_text(encoding="utf-8"))
        with open(folder / "demand.csv", newline="", encoding="utf-8") as f:
            run["demand"] = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except (json.JSONDecodeError, ValueError, OSError) as exc:
        raise ExpansionError(f"{folder}: summary.json or demand.csv is unreadable ({exc}); "
                             "run the scenario again") from None
    run["folder"] = str(folder)
    return run


def compare_runs(folders: list[Path], out: Path | None = None, overwrite: bool = False) -> str:
    """The comparison table of several run folders; with ``out``, also an HTML page there."""
    import os

    from . import report

    runs = [read_run(f) for f in folders]
    if out is not None:
        out = Path(out)
        if out.exists() and not overwrite:
            raise OutputExistsError(f"{out} already exists; pass --overwrite to replace it")
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
        try:
            tmp.write_text(report.compare_page(runs), encoding="utf-8")
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return report.compare_table(runs)
