"""The Making Room plan: the :class:`Plan` and :func:`make_plan`, which lays it out."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from ..config import PlanConfig
from ..grid import Grid, distance_m, rasterize
from ..hazard import MAX_SLOPE_PCT
from ..metrics import classify_builtup
from ..stack import Stack
from .arterials import arterial_grid, built_length_m, right_of_way
from .expansion_area import PART_SUPERBLOCKS, grow_expansion_area
from .held import GrowthHeld, growth_held, held_notes
from .morphology import polygons
from .open_space import open_space, open_space_frame
from .phases import phase_table, reach_year, split_by_phase
from .sectors import Sector

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
    bearing_deg : orientation of the grid in its largest sector, degrees clockwise
        from grid north, in [0, 90).
    bearings_deg : orientation of the grid in each sector of the city (see
        :mod:`.sectors`), in the order of ``sectors``.
    sectors : the sectors of the city (:class:`.sectors.Sector`), in order of bearing.
    arterials : lines, columns ``kind`` ("planned" | "existing"), ``length_m``,
        ``width_m``, ``sector``, ``bearing_deg`` (see :func:`.arterials.arterial_grid`)
        and ``phase_year``; existing arterials are clipped to the expansion area.
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
    crossings_m : planned arterial length on land built at the base year, metres.
    phase : int16 raster, the year by which each place in and around the area is
        reached by business-as-usual growth (see :mod:`.phases`); 0 away from the plan.
    phases : ``[{"year", "arterial_km", "row_ha", "open_space_ha"}, ...]`` per step.
    held : the plan's hold on business-as-usual growth (a :class:`~.held.GrowthHeld`:
        shares inside today's urban extent, inside the expansion area, around outlying
        settlements, and of the city's growth held); None without a business-as-usual projection.
    compactness : Polsby-Popper index of the expansion area's outlines, 4πA/P²
        (1 for a disc; see :func:`polsby_popper`).
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
    spacing_m: float = PlanConfig.arterial_spacing_m
    width_m: float = PlanConfig.arterial_width_m
    max_slope_pct: float = MAX_SLOPE_PCT
    notes: list[str] = field(default_factory=list)
    crossings_m: float = 0.0
    phase: np.ndarray | None = None
    phases: list[dict] = field(default_factory=list)
    held: GrowthHeld | None = None
    compactness: float | None = None
    bearings_deg: list[float] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)

    @property
    def bau_growth_share(self) -> float | None:
        """Share of the city's business-as-usual growth the plan holds (:attr:`.GrowthHeld.share`)."""
        return None if self.held is None else self.held.share

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
              cfg: PlanConfig, base_builtup: np.ndarray, *, max_slope_pct: float = MAX_SLOPE_PCT,
              bau_probability: np.ndarray | None = None, bau_year: np.ndarray | None = None,
              years: list[int] | None = None) -> Plan:
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
    bau_probability : float32, business-as-usual probability that a cell is built
        by the horizon: the expansion area is placed where it is high.
    bau_year : int16, the year each cell is built in the business-as-usual run with
        the scenario's seed (base year for built cells, 0 never), and ``years`` the
        base year and step-end years: with both, arterials and open space are phased.

    The expansion area is smoothed at the scale of the grid (gaps under one spacing
    closed, holes smaller than one superblock, spacing², filled unless water), so
    that the arterials run through it as one network rather than across a maze.
    Its separate parts must be at least 2 % of the target but never need more than
    :data:`PART_SUPERBLOCKS` superblocks.
    """
    grid = stack.grid
    res = grid.res
    base = np.asarray(base_builtup, bool) & stack.valid
    target = max(0.0, float(land_need_ha)) * cfg.generosity
    # smoothed at the scale of the grid: gaps under a spacing closed, holes under a superblock filled
    spacing = float(cfg.arterial_spacing_m)
    classes = classify_builtup(base, stack.valid, stack.water, res)  # one Atlas classification for both
    area, new_ha = grow_expansion_area(stack, suitability_score, excluded, base, target,
                                       close_m=spacing / 2.0, min_hole_ha=spacing * spacing / 10_000.0,
                                       fragment_cap_ha=PART_SUPERBLOCKS * spacing * spacing / 10_000.0,
                                       likelihood=bau_probability, classes=classes)
    held = None
    if bau_probability is not None:
        held = growth_held(bau_probability, base, stack.valid, stack.water, area, spacing, res, classes)
    del classes
    notes = []
    if new_ha < 0.95 * target:
        notes.append(f"only {new_ha:,.0f} ha of buildable land was found for the {target:,.0f} ha of new "
                     f"land the expansion area should hold ({cfg.generosity:g} times the land need, the "
                     "Making Room margin): "
                     "the study area is too small for the projected growth; enlarge the study area (the "
                     "catalog's boundary) or plan for higher density")
        log.warning("plan: %s", notes[-1])
    expansion_gdf = expansion_polygons(area, grid)
    arterials, sectors = arterial_grid(stack, area, cfg, base_builtup=base, max_slope_pct=max_slope_pct)
    bearing = max(sectors, key=lambda s: s.cells).bearing_deg
    kind = None
    phase = None
    if bau_year is not None and years is not None and len(years) > 1:
        phase = reach_year(area, bau_year, years, cfg.arterial_spacing_m / 4.0, res)
        arterials = split_by_phase(arterials, phase, grid)
    else:
        arterials = arterials.assign(phase_year=np.zeros(len(arterials), np.int64))
    planned_lines = arterials.geometry.values[arterials["kind"].to_numpy() == "planned"]
    crossings = built_length_m(planned_lines, base, grid)  # of the lines delivered (split by phase)
    row_gdf = right_of_way(arterials)
    row = rasterize(row_gdf.geometry.values, grid) & stack.valid
    kind = open_space(stack, area, row, cfg, max_slope_pct=max_slope_pct)
    if phase is not None:
        phase = np.where(phase > 0, phase, reach_year(kind > 0, bau_year, years, cfg.arterial_spacing_m / 4.0,
                                                      res)).astype(np.int16)
    planned = arterials.geometry.values[arterials["kind"].to_numpy() == "planned"]
    planned_dist = distance_m(rasterize(planned, grid), grid.res)
    existing = stack.arterial_dist_m
    network = np.minimum(planned_dist, existing if existing is not None else planned_dist)
    notes += held_notes(held, spacing)
    phases = (phase_table(arterials, row_gdf, kind, phase, years, grid.cell_area_ha)
              if phase is not None else [])
    return Plan(grid=grid, land_need_ha=float(land_need_ha), target_ha=target, new_land_ha=new_ha,
                expansion_area=area, expansion=expansion_gdf, bearing_deg=bearing, arterials=arterials,
                right_of_way=row_gdf, row=row, open_space=open_space_frame(kind, grid),
                open_space_kind=kind, arterial_dist_m=planned_dist, network_dist_m=network.astype(np.float32),
                constraints=(kind > 0) | row, spacing_m=float(cfg.arterial_spacing_m),
                width_m=float(cfg.arterial_width_m),
                max_slope_pct=max_slope_pct, notes=notes, crossings_m=crossings, phase=phase, phases=phases,
                held=held, compactness=polsby_popper(expansion_gdf.geometry.values),
                bearings_deg=[s.bearing_deg for s in sectors], sectors=sectors)


def expansion_polygons(area: np.ndarray, grid: Grid) -> gpd.GeoDataFrame:
    """The expansion area as deliverable polygons: cell patches that touch (also
    at a corner) joined by a closing of half a cell, outlines generalized (cell
    stairs removed: simplified with a tolerance of one cell), slivers under four
    cells dropped; column ``hectares``."""
    parts = [g for _, g in polygons(area, grid, 0.0)]
    if not parts:
        return gpd.GeoDataFrame({"hectares": []}, geometry=[], crs=grid.crs)
    half = grid.res / 2.0
    merged = shapely.buffer(shapely.buffer(shapely.union_all(parts), half, join_style="mitre"), -half,
                            join_style="mitre")
    merged = shapely.simplify(merged, grid.res, preserve_topology=True)
    geoms = [g for g in shapely.get_parts(merged) if g.area >= 4 * grid.cell_area_m2]
    return gpd.GeoDataFrame({"hectares": [float(g.area) / 10_000.0 for g in geoms]}, geometry=geoms,
                            crs=grid.crs)


def polsby_popper(geoms) -> float | None:
    """4πA/P² of polygons taken together, their holes filled (A the area inside the
    outer rings, P their length): 1 for a disc, lower for ragged or elongated outlines
    (holes, such as the existing city or a lake inside the area, do not count)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return None
    rings = shapely.get_exterior_ring(shapely.get_parts(geoms))
    a = float(shapely.area(shapely.polygons(rings)).sum())
    p = float(shapely.length(rings).sum())
    return 4.0 * math.pi * a / (p * p) if p > 0 else None
