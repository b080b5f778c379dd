"""Phasing and enforcement: when growth reaches each part of the plan, and what a
city that secures only part of it actually holds.

Making Room plans are secured in phases (Mekelle: five), the rights-of-way and
open spaces that growth reaches first being secured first. The phase of a place
is the first step-end year by which business-as-usual growth (the Monte-Carlo
run with the scenario's seed) has built a tenth of the land within a quarter
arterial spacing of it: the year by which its right-of-way must be held. Places
where that much is built at the base year belong to the first step; places growth
never reaches by the horizon to the last. A right-of-way is secured link by link (between
junctions), so a link is due by the earliest year growth reaches any part of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from ..grid import Grid, distance_m, rasterize
from .lines import cells_of
from .morphology import crop

REACH_SHARE = 0.1  # growth has reached a place when this share of the land around it is built


def reach_year(mask: np.ndarray, urbanization_year: np.ndarray, years: list[int], reach_m: float,
               res: float, share: float = REACH_SHARE) -> np.ndarray:
    """int16 raster: for the cells of ``mask`` (and those within ``reach_m`` of it),
    the first of ``years[1:]`` by which at least ``share`` of the land within
    ``reach_m`` metres (a square window of side 2·reach_m + one cell) is built
    (``urbanization_year``: the year each cell is built, the base year for cells
    already built, 0 never); ``years[-1]`` where that never happens; 0 elsewhere.

    A share, not a single built cell: scattered cells (one house, or the noise of
    a land-cover classification) do not make a place due; settlement does."""
    out = np.zeros(mask.shape, np.int16)
    box = crop(mask, reach_m, res)
    if box is None or len(years) < 2:
        return out
    uy = urbanization_year[box]
    sub = np.zeros(uy.shape, np.int16)
    size = 2 * int(round(reach_m / res)) + 1
    built = np.empty(uy.shape, np.float32)
    for y in years[1:]:
        np.logical_and(uy > 0, uy <= y, out=built, casting="unsafe")
        ndimage.uniform_filter(built, size=size, output=built, mode="constant")
        sub[(built >= share - 1e-6) & (sub == 0)] = y
    sub[sub == 0] = years[-1]
    out[box] = sub
    return out


def junctions_along(lines, touch_m: float = 1.0) -> list[np.ndarray]:
    """For each line of ``lines``, the sorted distances along it (metres, ends
    excluded) where another line crosses it or ends on it (within ``touch_m``)."""
    lines = np.asarray(lines, dtype=object)
    cuts: list[list[float]] = [[] for _ in range(len(lines))]
    if len(lines) > 1:
        a, b = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=touch_m)
        keep = a != b
        a, b = a[keep], b[keep]
        meet = shapely.intersection(lines[a], lines[b])
        near = shapely.get_point(shapely.shortest_line(lines[a], lines[b]), 0)  # where b ends near a
        for i, m, q in zip(a, meet, near):
            pts = shapely.get_parts(m)
            pts = pts[shapely.get_type_id(pts) == 0] if len(pts) else pts
            for p in (pts if len(pts) else [q]):
                cuts[i].append(float(shapely.line_locate_point(lines[i], p)))
    out = []
    for g, c in zip(lines, cuts):
        c = np.unique(np.round(c, 6)) if c else np.zeros(0)
        out.append(c[(c > touch_m) & (c < g.length - touch_m)])
    return out


def split_by_phase(lines: gpd.GeoDataFrame, phase: np.ndarray, grid: Grid) -> gpd.GeoDataFrame:
    """Planned lines cut into links at their junctions (where another arterial,
    planned or existing, crosses them or ends on them), each link with a
    ``phase_year``: the earliest phase (``phase`` raster, a year per cell) under
    any part of it, since a right-of-way is secured link by link and must be held
    by the time growth first reaches the link. Existing arterials are not cut and
    get 0. Junctions closer than a cell to another or to an end are taken as that
    one (no sliver links). Planned lines are straight two-point segments, so the
    links add up to the lines' lengths."""
    rows = []
    step = grid.res / 3.0
    cuts = junctions_along(lines.geometry.values)
    for rec, at_cuts in zip(lines.itertuples(index=False), cuts):
        g = rec.geometry
        if rec.kind != "planned" or g.length == 0:
            rows.append({**rec._asdict(), "phase_year": 0})
            continue
        bounds = [0.0]
        for c in at_cuts:  # no link shorter than a cell: a junction that close to another is the same one
            if c - bounds[-1] >= grid.res and g.length - c >= grid.res:
                bounds.append(float(c))
        bounds = np.array(bounds + [g.length])
        ends = shapely.get_coordinates(shapely.line_interpolate_point(g, bounds))
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            n = max(2, int(math.ceil((b - a) / step)) + 1)
            xy = shapely.get_coordinates(shapely.line_interpolate_point(g, np.linspace(a, b, n)))
            r, c, inside = cells_of(xy[:, 0], xy[:, 1], grid)
            ph = phase[r[inside], c[inside]]
            ph = ph[ph > 0]
            piece = shapely.LineString([ends[k], ends[k + 1]])
            rows.append({**rec._asdict(), "geometry": piece, "length_m": float(piece.length),
                         "phase_year": int(ph.min()) if len(ph) else 0})
    cols = list(lines.columns.drop("geometry")) + ["phase_year"]
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=lines.crs)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=lines.crs)
    return gdf[cols + ["geometry"]]


def phase_table(arterials: gpd.GeoDataFrame, right_of_way: gpd.GeoDataFrame, open_space_kind: np.ndarray,
                phase: np.ndarray, years: list[int], cell_ha: float) -> list[dict]:
    """``[{"year", "arterial_km", "row_ha", "open_space_ha"}, ...]`` for every step-end
    year (in order): planned arterial length, planned rights-of-way and open space
    first reached by growth in that step."""
    planned = arterials["kind"].to_numpy() == "planned"
    ph = arterials["phase_year"].to_numpy()
    row_planned = right_of_way["kind"].to_numpy() == "planned"
    row_ph = right_of_way["phase_year"].to_numpy()
    open_ph = phase[open_space_kind > 0]
    out = []
    for y in years[1:]:
        out.append({
            "year": int(y),
            "arterial_km": float(arterials["length_m"].to_numpy()[planned & (ph == y)].sum()) / 1000.0,
            "row_ha": float(right_of_way["hectares"].to_numpy()[row_planned & (row_ph == y)].sum()),
            "open_space_ha": float(np.count_nonzero(open_ph == y)) * cell_ha,
        })
    return out


@dataclass
class Secured:
    """What a city holds of its plan at an enforcement level (arrays on the grid).

    enforcement : share of the planned rights-of-way and open space secured, 0-1.
    constraints : bool, secured rights-of-way (existing arterials' included) and open space.
    arterial_dist_m : float32, metres to the nearest secured planned arterial.
    confined : whether growth stays inside the expansion area (only when fully enforced).
    row_share, open_space_share : the shares actually secured (by area).
    """

    enforcement: float
    constraints: np.ndarray
    arterial_dist_m: np.ndarray
    confined: bool
    row_share: float
    open_space_share: float


def secure(plan, enforcement: float, valid: np.ndarray) -> Secured:
    """The part of ``plan`` secured at ``enforcement`` (0-1): planned rights-of-way
    and open space are secured in phase order (what growth reaches first, first)
    until ``enforcement`` of their area is held; existing arterials' rights-of-way
    are held unless nothing is (at 0 the plan changes nothing: business as usual);
    the expansion area's edge holds only at full enforcement (below it growth may
    spill past it)."""
    e = float(min(1.0, max(0.0, enforcement)))
    grid = plan.grid
    row = plan.right_of_way
    planned = row["kind"].to_numpy() == "planned"
    order = np.flatnonzero(planned)[np.argsort(row["phase_year"].to_numpy()[planned], kind="stable")]
    ha = row["hectares"].to_numpy()[order]
    before = np.concatenate([[0.0], np.cumsum(ha)[:-1]])
    total = float(ha.sum())
    take = order[before < e * total - 1e-9] if total > 0 else order[:0]
    keep_rows = np.concatenate([np.flatnonzero(~planned), take]) if e > 0 else take
    row_mask = rasterize(row.geometry.values[keep_rows], grid) & valid
    # rights-of-way are made from the arterials one for one, in the same order
    dist = distance_m(rasterize(plan.arterials.geometry.values[np.sort(take)], grid), grid.res)
    kind = plan.open_space_kind
    cells = np.flatnonzero(kind.reshape(-1) > 0)
    n_open = int(round(e * len(cells)))
    open_mask = np.zeros(kind.shape, bool)
    if n_open:
        first = np.argsort(plan.phase.reshape(-1)[cells], kind="stable")[:n_open]
        open_mask.reshape(-1)[cells[first]] = True
    return Secured(enforcement=e, constraints=row_mask | open_mask, arterial_dist_m=dist, confined=e >= 1.0,
                   row_share=float(ha[np.isin(order, take)].sum()) / total if total > 0 else 1.0,
                   open_space_share=n_open / len(cells) if len(cells) else 1.0)
