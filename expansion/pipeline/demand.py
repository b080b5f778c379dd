"""The demand stage of a run, and ``expansion demand``: the demand table of a scenario in
about a second, without building the layers a run needs (only the study area, the built-up
epochs and the population layer are read, or the run's cached stack is used when there is one).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from .. import demand as demand_mod
from .. import inputs
from ..config import Catalog, Scenario
from ..density import DensityPath
from ..stack import Stack
from .common import density_for, load

log = logging.getLogger(__name__)

# The roles the demand needs: the study area, the built-up epochs and the population layer.
DEMAND_ROLES = ("boundary", "builtup", "population")


@dataclass
class Demand:
    """The demand of a scenario: the density path resolved against the evidence, the low,
    central and high demand rows, and the warnings said about it."""

    path: DensityPath
    low: list[demand_mod.DemandRow]
    rows: list[demand_mod.DemandRow]
    high: list[demand_mod.DemandRow]
    warnings: list[str]

    @property
    def new_land_ha(self) -> float:
        return demand_mod.new_land_total(self.rows)

    @property
    def plan_new_land_ha(self) -> float:
        """The new land the expansion area is sized for: the high path's (Making Room)."""
        return demand_mod.new_land_total(self.high)

    def summary(self, sc: Scenario) -> dict:
        """The demand's part of summary.json."""
        return {**demand_mod.range_summary(self.low, self.rows, self.high),
                "density": self.path.summary(),
                "migration": demand_mod.migration_summary(sc.population, self.rows),
                "assumptions": demand_mod.assumptions(sc.population, sc.density, self.path)}


def project(sc: Scenario, catalog: Catalog, stack: Stack) -> Demand:
    """The scenario's demand on ``stack`` (logs the density notes and the warnings)."""
    base_ha = stack.builtup_ha(sc.base_year)
    path = density_for(sc, catalog, stack)
    low, rows, high = demand_mod.land_need_range(sc.population, sc.density, sc.years, base_ha, path)
    said = demand_mod.scenario_warnings(sc.population, sc.base_year, sc.horizon_year) + path.warnings
    for note in path.notes:
        log.info(note)
    for w in said:
        log.warning(w)
    return Demand(path, low, rows, high, said)


def demand_only(scenario_path: Path) -> tuple[Scenario, Catalog, Demand]:
    """The demand of a scenario without a run: the cached stack when a run made one, else
    only the study area, the built-up epochs and the population layer, read onto the grid
    and not cached."""
    sc, catalog = load(scenario_path)
    grid = inputs.grid_for(catalog, sc.resolution_m, sc.crs, sc.margin_m)
    if inputs.cache_path(catalog, grid).exists():
        stack = inputs.build_stack(catalog, grid)
    else:
        needed = tuple(e for e in catalog.layers if e.role in DEMAND_ROLES)
        stack = inputs.build_stack(dataclasses.replace(catalog, layers=needed), grid, cache=False)
    return sc, catalog, project(sc, catalog, stack)
