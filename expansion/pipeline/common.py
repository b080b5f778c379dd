"""What every command of the pipeline shares: the scenario and its catalog, the stack,
checks that fail before any work, the stage timer and ``run.json`` provenance."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
from pathlib import Path

from .. import inputs
from ..config import Catalog, Scenario, load_catalog, load_scenario
from ..errors import ConfigError
from ..outputs.provenance import input_files, package_versions
from ..stack import Stack

log = logging.getLogger(__name__)


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
    if not sc.layers.exists():
        raise ConfigError(f"{scenario_path}: the layers catalog {sc.layers} is not found ('layers' is "
                          f"relative to the scenario file's folder, {sc.path.parent}); correct the path "
                          "or create the catalog (expansion demo writes one)")
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
    grid = inputs.grid_for(catalog, sc.resolution_m, sc.crs, sc.margin_m)
    log.info("grid: %d x %d cells of %g m in %s", grid.width, grid.height, grid.res, grid.crs)
    check_grid_fits(sc, grid)
    stack = inputs.build_stack(catalog, grid, progress=progress)
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


def density_for(sc: Scenario, catalog: Catalog, stack: Stack, base_year: int | None = None):
    """The scenario's density path resolved against the evidence (:mod:`expansion.density`);
    ``base_year`` defaults to the scenario's."""
    from ..density import path_for_stack

    base_year = sc.base_year if base_year is None else base_year
    layer_persons = population_by_epoch(catalog, stack, base_year)  # {} unless two dated layers
    return path_for_stack(sc.density, sc.population, base_year, sc.growth.calibrate_from, stack,
                          catalog.country, [e.year for e in catalog.by_role("population")], layer_persons)


def population_by_epoch(catalog: Catalog, stack: Stack, base_year: int) -> dict[int, float]:
    """Persons of each dated population layer on the built-up land of its year, for the years up
    to ``base_year`` that have built-up (each layer read onto the stack's grid on its own, with the
    boundary and built-up layers; nothing cached). Empty with fewer than two such years."""
    from ..density import persons_on_builtup

    entries = [e for e in catalog.by_role("population") if e.year in stack.builtup and e.year <= base_year]
    if len({e.year for e in entries}) < 2:
        return {}
    frame = tuple(e for e in catalog.layers if e.role in ("boundary", "builtup"))
    out = {}
    for year in sorted({e.year for e in entries}):
        layers = frame + tuple(e for e in entries if e.year == year)
        one = inputs.build_stack(dataclasses.replace(catalog, layers=layers), stack.grid, cache=False)
        out[year] = persons_on_builtup(one, year)[0]
    return out


def input_paths(sc: Scenario, catalog: Catalog) -> list[Path]:
    """The files a run reads: the scenario, the catalog and its layers (never to be replaced)."""
    return [sc.path, catalog.path] + [e.path for e in catalog.layers]


def provenance(sc: Scenario, catalog: Catalog, grid, timer: Timer, out: Path, **extra) -> dict:
    """run.json: inputs with sha256, parameters, seed, grid, package versions, timings."""
    files = input_paths(sc, catalog)
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
