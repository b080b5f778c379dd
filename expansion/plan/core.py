"""The Making Room plan: the :class:`Plan` and :func:`make_plan`, which lays it out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from ..config import PlanConfig
from ..grid import Grid, distance_m, rasterize
from ..hazard import MAX_SLOPE_PCT
from ..stack import Stack
from .arterials import arterial_grid, right_of_way
from .expansion_area import grow_expansion_area
from .morphology import polygons
from .open_space import open_space, open_space_frame

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """A Making Room plan on one grid.

    Attributes
    ----------
    grid : the analysis grid (arrays are ``grid.shape``).
    land_need_ha : new land needed by the horizon, hectares.
    target_ha : ``land_need_ha × generosity``: the new buildable land sought.
    new_land_ha : buildable land (not excluded, not built) inside the expansion area.
    expansion_area : bool raster.
    expansion : polygons of the expansion area, column ``hectares``.
    bearing_deg : orientation of the grid, degrees clockwise from grid north, in [0, 90).
    arterials : lines, columns ``kind`` ("planned" | "existing"), ``length_m``,
        ``width_m``; existing arterials are clipped to the expansion area.
    right_of_way : polygons (each arterial buffered by half its width, flat caps),
        columns ``kind``, ``width_m``, ``hectares``.
    row : bool raster of the rights-of-way (cell centre inside).
    open_space : polygons, columns ``kind`` (floodplain, steep_slope, protected,
        park) and ``hectares``.
    open_space_kind : uint8 raster, 0 none, codes of :data:`OPEN_KINDS`.
    arterial_dist_m : float32, distance to the nearest *planned* arterial, metres
        (the grid diagonal where none is planned); the planned growth policy takes
        its minimum with the stack's existing arterial distance.
    network_dist_m : float32, distance to the nearest planned or existing arterial.
    constraints : bool, open space or right-of-way: land the plan keeps unbuilt.
    """

    grid: Grid
    land_need_ha: float
    target_ha: float
    new_land_ha: float
    expansion_area: np.ndarray
    expansion: gpd.GeoDataFrame
    bearing_deg: float
    arterials: gpd.GeoDataFrame
    right_of_way: gpd.GeoDataFrame
    row: np.ndarray
    open_space: gpd.GeoDataFrame
    open_space_kind: np.ndarray
    arterial_dist_m: np.ndarray
    network_dist_m: np.ndarray
    constraints: np.ndarray
    spacing_m: float = 1000.0
    max_slope_pct: float = MAX_SLOPE_PCT
    notes: list[str] = field(default_factory=list)

    @property
    def open_space_mask(self) -> np.ndarray:
        return self.open_space_kind > 0

    @property
    def expansion_gdf(self) -> gpd.GeoDataFrame:
        """Alias of ``expansion`` (the name the map pages use)."""
        return self.expansion

    @property
    def row_gdf(self) -> gpd.GeoDataFrame:
        """Alias of ``right_of_way`` (the name the map pages use)."""
        return self.right_of_way



def make_plan(stack: Stack, suitability_score: np.ndarray, excluded: np.ndarray, land_need_ha: float,
              cfg: PlanConfig, base_builtup: np.ndarray, *, max_slope_pct: float = MAX_SLOPE_PCT) -> Plan:
    """Lay out the Making Room plan.

    Parameters
    ----------
    stack : the city's layers on the analysis grid.
    suitability_score : float32 in [0, 1] (NaN ignored), 1 = most suitable.
    excluded : bool, cells that never develop (water, protected, steep, outside).
    land_need_ha : new land needed by the horizon, hectares.
    cfg : arterial spacing and width (metres), generosity, park size (hectares).
    base_builtup : bool, today's built-up area.
    max_slope_pct : slope limit for arterials and steep-slope open space, percent.
        (Not yet in PlanConfig; the suitability stage's ``max_slope_pct`` is the
        natural value to pass.)
    """
    grid = stack.grid
    target = max(0.0, float(land_need_ha)) * cfg.generosity
    area, new_ha = grow_expansion_area(stack, suitability_score, excluded, base_builtup, target)
    notes = []
    if new_ha < 0.95 * target:
        notes.append(f"only {new_ha:,.0f} ha of buildable land found for a target of {target:,.0f} ha")
        log.warning("plan: %s", notes[-1])
    expansion = [(g, float(g.area) / 10_000.0) for _, g in polygons(area, grid, grid.res / 2)]
    expansion_gdf = gpd.GeoDataFrame({"hectares": [h for _, h in expansion]},
                                     geometry=[g for g, _ in expansion], crs=grid.crs)
    arterials, bearing = arterial_grid(stack, area, cfg, max_slope_pct=max_slope_pct)
    row_gdf = right_of_way(arterials)
    row = rasterize(row_gdf.geometry.values, grid) & stack.valid
    kind = open_space(stack, area, row, cfg, max_slope_pct=max_slope_pct)
    planned = arterials.geometry.values[arterials["kind"].to_numpy() == "planned"]
    planned_dist = distance_m(rasterize(planned, grid), grid.res)
    existing = stack.arterial_dist_m
    network = np.minimum(planned_dist, existing if existing is not None else planned_dist)
    return Plan(grid=grid, land_need_ha=float(land_need_ha), target_ha=target, new_land_ha=new_ha,
                expansion_area=area, expansion=expansion_gdf, bearing_deg=bearing, arterials=arterials,
                right_of_way=row_gdf, row=row, open_space=open_space_frame(kind, grid),
                open_space_kind=kind, arterial_dist_m=planned_dist, network_dist_m=network.astype(np.float32),
                constraints=(kind > 0) | row, spacing_m=float(cfg.arterial_spacing_m),
                max_slope_pct=max_slope_pct, notes=notes)

