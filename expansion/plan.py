"""The Making Room plan: expansion area, arterial grid, open-space hierarchy.

Following the NYU Urban Expansion Program (``reference/nyu-making-room.md``
section 4), :func:`make_plan` lays out, on the analysis grid:

1. **an expansion area** generous enough for the land need (``land_need_ha ×
   generosity`` of new, buildable land), grown outward from today's urban extent
   over suitable land and smoothed into a few compact polygons;
2. **an arterial grid** about ``arterial_spacing_m`` apart with
   ``arterial_width_m`` rights-of-way, turned to the dominant bearing of the
   existing arterials and shifted so that its lines run along them, cut where it
   would cross water (except near existing crossings), slopes above the limit or
   protected land; existing arterials inside the area are part of the network,
   and dead ends are joined to the nearest line;
3. **a hierarchy of open spaces**: large ones (floodplains, steep slopes,
   protected land) in and near the expansion area, and a small park in every
   arterial superblock that has no open space yet.

Everything is computed on the stack's grid (metres in its projected CRS); the
stage is pure except :func:`write_plan_gpkg`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features
from scipy import ndimage

from .config import PlanConfig
from .grid import Grid, distance_m, rasterize, row_blocks
from .metrics import CAPTURED, FRINGE, SUBURBAN, URBAN, classify_builtup
from .outputs.gpkg import write_gpkg
from .stack import Stack

log = logging.getLogger(__name__)

MAX_SLOPE_PCT = 30.0
MIN_FRAGMENT_M = 200.0  # planned arterial pieces shorter than this are dropped
CROSSING_M = 100.0  # a planned line may cross water this close to an existing road crossing
FLOOD_BUFFER_M = 100.0  # floodplain: this close to rivers and lakes ...
LOW_HAND_M = 2.0  # ... or lower than this above the nearest water ...
LOW_HAND_WITHIN_M = 500.0  # ... within this distance of it
OPEN_SPACE_MARGIN_M = 500.0  # large open spaces kept this far around the expansion area
MIN_OPEN_HA = 1.0  # large open-space patches smaller than this are dropped
_STRIP_CELLS = 1 << 20  # row strips of this many cells bound the float64 temporaries

OPEN_KINDS = {1: "floodplain", 2: "steep_slope", 3: "protected", 4: "park"}
_KIND_CODE = {v: k for k, v in OPEN_KINDS.items()}


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


# ------------------------------------------------------------------ helpers


def _crop(mask: np.ndarray, r_m: float, res: float) -> tuple[slice, slice] | None:
    """The bounding box of ``mask``'s True cells grown by ``r_m`` plus two cells
    (clipped to the raster), as slices; None when ``mask`` has no True cell.

    Distances up to ``r_m`` from ``mask`` are the same measured in this window
    as on the whole grid, so morphology on a small area costs the area, not the grid.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    pad = int(math.ceil(r_m / res)) + 2
    h, w = mask.shape
    return (slice(max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)),
            slice(max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)))


def _sq_cells(mask: np.ndarray) -> np.ndarray:
    """Squared distance, in cells (float32), from each True cell of ``mask`` to the
    nearest False cell; 0 on False cells. The raster edge is not background (as in
    ``scipy.ndimage.distance_transform_edt``); ``inf`` everywhere when ``mask`` has
    no False cell.

    The ``edt`` package: exact (squared distances are integers, exact in float32 up
    to 2²⁴, i.e. 4096 cells), about 4 bytes a cell and a tenth of scipy's time.
    """
    import edt

    return edt.edtsq(np.ascontiguousarray(mask, dtype=bool), black_border=False, parallel=1)


def _within_sq(r_m: float, res: float) -> int:
    """The largest squared distance in cells ``d2`` (an integer) with
    ``sqrt(d2 · res²) <= r_m + 1e-6``: "within ``r_m`` metres" on squared cell
    distances, the same test as on metres in float64."""
    lim = r_m + 1e-6
    if lim < 0:
        return -1
    t = int((lim / res) ** 2)
    while t > 0 and math.sqrt(t * res * res) > lim:
        t -= 1
    while math.sqrt((t + 1) * res * res) <= lim:
        t += 1
    return t


def _dilate(mask: np.ndarray, r_m: float, res: float) -> np.ndarray:
    """Cells within ``r_m`` metres (centre to centre) of ``mask``."""
    box = _crop(mask, r_m, res)
    if box is None:
        return np.zeros_like(mask)
    sub = mask[box]
    out = np.zeros_like(mask)
    if sub.all():
        out[box] = sub
    else:
        out[box] = _sq_cells(~sub) <= _within_sq(r_m, res)
    return out


def _erode(mask: np.ndarray, r_m: float, res: float) -> np.ndarray:
    """Cells of ``mask`` farther than ``r_m`` from any non-mask cell (the raster
    edge does not erode)."""
    box = _crop(mask, r_m, res)
    if box is None:
        return np.zeros_like(mask)
    sub = mask[box]
    out = np.zeros_like(mask)
    if sub.all():  # no non-mask cell in the window: the window is the whole raster
        out[box] = sub
    else:
        out[box] = _sq_cells(sub) > _within_sq(r_m, res)
    return out


def _steep(slope_pct: np.ndarray, max_slope_pct: float) -> np.ndarray:
    """Slope above ``max_slope_pct`` (percent); NaN counts as flat (0 %)."""
    steep = slope_pct > max_slope_pct
    if max_slope_pct < 0:
        steep |= np.isnan(slope_pct)
    return steep


def _deepest(depth: np.ndarray, lab: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(row, col) for each of ``labels``: a cell where ``depth`` reaches its
    maximum over the cells of that label in ``lab``; among several such cells
    (a ridge), the one nearest their mean position, then the first in index order.

    Like ``ndimage.maximum_position(depth, lab, labels)``, which sorts every cell
    and leaves ties to the sort (so its choice differs between machines), but
    searched in each label's bounding box: O(cells).
    """
    objects = ndimage.find_objects(lab)
    out = np.zeros((len(labels), 2), np.int64)
    for i, label in enumerate(labels):
        sl = objects[label - 1]
        d = np.where(lab[sl] == label, depth[sl], -np.inf)
        rr, cc = np.nonzero(d == d.max())
        k = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2)) if len(rr) > 1 else 0
        out[i] = sl[0].start + rr[k], sl[1].start + cc[k]
    return out


def _polygons(labels: np.ndarray, grid: Grid, tolerance: float) -> list[tuple[int, shapely.Geometry]]:
    """(value, polygon) for every 4-connected patch of nonzero ``labels``."""
    out = []
    if labels.dtype == bool:
        arr, mask = labels.view(np.uint8), labels
    else:  # uint8 and int32 as they are: an int32 copy of a bool or uint8 raster costs 4 bytes a cell
        arr = labels if labels.dtype in (np.uint8, np.int32) else labels.astype(np.int32)
        mask = arr > 0
    for geom, value in features.shapes(arr, mask=mask, transform=grid.transform):
        poly = shapely.geometry.shape(geom)
        if tolerance > 0:
            poly = poly.simplify(tolerance, preserve_topology=True)
        if not poly.is_empty:
            out.append((int(value), poly))
    return out


def _cells_of(xs, ys, grid: Grid):
    cols = np.floor((xs - grid.left) / grid.res).astype(np.int64)
    rows = np.floor((grid.top - ys) / grid.res).astype(np.int64)
    inside = (cols >= 0) & (cols < grid.width) & (rows >= 0) & (rows < grid.height)
    return rows.clip(0, grid.height - 1), cols.clip(0, grid.width - 1), inside


def _passable_along(line_xy: np.ndarray, mask: np.ndarray, grid: Grid, step: float) -> bool:
    """Whether every sample of the straight segment ``line_xy`` (2 × 2) lies on ``mask``."""
    (x0, y0), (x1, y1) = line_xy
    n = max(2, int(math.hypot(x1 - x0, y1 - y0) / step) + 1)
    t = np.linspace(0.0, 1.0, n)
    rows, cols, inside = _cells_of(x0 + t * (x1 - x0), y0 + t * (y1 - y0), grid)
    return bool(np.all(inside & mask[rows, cols]))


def _arterial_roads(stack: Stack) -> gpd.GeoDataFrame | None:
    roads = stack.vectors.get("roads")
    if roads is None or len(roads) == 0 or "road_class" not in roads:
        return None
    art = roads[roads["road_class"].to_numpy() == "arterial"]
    art = art[~art.geometry.is_empty & art.geometry.notna()]
    return art if len(art) else None


def _segments(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Two-point segments (n × 2 × 2) of line geometries, and their lengths."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[shapely.get_type_id(parts) == 1]  # LineString
    if len(parts) == 0:
        return np.zeros((0, 2, 2)), np.zeros(0)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg = np.stack([a, b], axis=1)
    return seg, np.hypot(*(b - a).T)


def dominant_bearing(lines) -> float:
    """Dominant orientation of line geometries, degrees clockwise from grid north
    in [0, 90): the peak of the length-weighted bearing histogram modulo 90°
    (1° bins, smoothed over ±3°), refined by the circular mean of the segments
    within 10° of it. 0 when there are no lines."""
    seg, length = _segments(lines)
    keep = length > 0
    seg, length = seg[keep], length[keep]
    if len(seg) == 0:
        return 0.0
    d = seg[:, 1] - seg[:, 0]
    bearing = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 90.0
    hist = np.bincount(np.floor(bearing).astype(int) % 90, weights=length, minlength=90)
    kernel = np.array([1, 2, 3, 4, 3, 2, 1], float)
    smooth = sum(k * np.roll(hist, s) for k, s in zip(kernel, range(-3, 4)))
    peak = (np.argmax(smooth) + 0.5) % 90.0
    diff = (bearing - peak + 45.0) % 90.0 - 45.0
    near = np.abs(diff) <= 10.0
    phi = np.radians(bearing[near] * 4.0)
    mean = math.degrees(math.atan2(np.sum(length[near] * np.sin(phi)), np.sum(length[near] * np.cos(phi))))
    return float(round((mean / 4.0) % 90.0, 6))


# ------------------------------------------------------------ expansion area


_NOT_RANKED = 0xFFFF  # bucket of the cells that are not candidates


def _next_k(tried: list[tuple[int, float]], want: float, n_cand: int) -> int:
    """The next number of cheapest cells to take, from the ``(cells taken, new land got)``
    rounds so far: the secant through the last two rounds (smoothing adds or removes
    land roughly in proportion, plus a constant), or in proportion after one round."""
    k1, got1 = tried[-1]
    k = k1 * want / got1
    if len(tried) > 1:
        k0, got0 = tried[-2]
        if got1 != got0 and k1 != k0 and (got1 - got0) / (k1 - k0) > 0:
            k = k1 + (want - got1) * (k1 - k0) / (got1 - got0)
    k = int(min(n_cand, max(1, round(k))))
    if any(k == t for t, _ in tried):  # no progress: step past the closest round instead
        k = int(min(n_cand, max(1, round(k1 * want / got1))))
    return k


class _Cheapest:
    """The ``k`` cheapest candidate cells for any ``k``, ties broken by cell index
    (the first ``k`` of a stable argsort of the candidates' costs), in O(cells)
    time and 2 bytes a cell.

    Each candidate gets a 16-bit bucket of its cost: the float32 bit pattern of a
    positive number, shifted, which never decreases as the cost grows. For a
    given ``k``, the buckets below the one holding the ``k``-th cheapest cell are
    taken whole, and in that bucket (a small share of the cells) the cheapest by
    exact cost, then by index.

    Parameters
    ----------
    cand : bool raster of the cells to rank.
    cost_rows : ``(row0, row1) -> float64`` costs of those rows (all columns).
    cost_at : ``flat indices -> float64`` costs of those cells.
        Costs must be positive and finite, and the two functions must agree.
    """

    def __init__(self, cand: np.ndarray, cost_rows, cost_at) -> None:
        self.cost_at = cost_at
        blocks = list(row_blocks(cand.shape, _STRIP_CELLS))
        lo, hi = math.inf, -math.inf
        for r0, r1 in blocks:
            c = cost_rows(r0, r1)[cand[r0:r1]]
            if c.size:
                lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
        self.key = np.full(cand.shape, _NOT_RANKED, np.uint16)
        counts = np.zeros(_NOT_RANKED + 1, np.int64)
        if lo <= hi:
            if not (lo > 0 and math.isfinite(hi)):
                raise ValueError(f"costs must be positive and finite, got {lo} .. {hi}")
            b_lo = int(np.float32(lo).view(np.int32))
            span = int(np.float32(hi).view(np.int32)) - b_lo
            shift = 0
            while span >> shift >= _NOT_RANKED:
                shift += 1
            for r0, r1 in blocks:
                m = cand[r0:r1]
                bits = cost_rows(r0, r1)[m].astype(np.float32).view(np.int32)
                key = ((bits - np.int32(b_lo)) >> shift).astype(np.uint16)
                self.key[r0:r1][m] = key
                counts += np.bincount(key, minlength=_NOT_RANKED + 1)
        self.cum = np.cumsum(counts[:_NOT_RANKED])
        self.n = int(self.cum[-1])

    def first(self, k: int) -> np.ndarray:
        """Bool raster of the ``k`` cheapest candidates (all of them when ``k`` exceeds their number)."""
        k = max(0, min(int(k), self.n))
        if k == 0:
            return np.zeros(self.key.shape, bool)
        b = int(np.searchsorted(self.cum, k))  # the bucket holding the k-th cheapest
        sel = self.key < b
        idx = np.flatnonzero(self.key == b)
        m = k - (int(self.cum[b - 1]) if b else 0)
        if m < len(idx):
            idx = idx[np.argsort(self.cost_at(idx), kind="stable")[:m]]
        sel.reshape(-1)[idx] = True
        return sel


def grow_expansion_area(stack: Stack, suitability_score: np.ndarray, excluded: np.ndarray,
                        base_builtup: np.ndarray, target_ha: float, *, close_m: float = 150.0,
                        open_m: float = 90.0, min_hole_ha: float = 25.0,
                        min_fragment_ha: float | None = None) -> tuple[np.ndarray, float]:
    """Grow ``target_ha`` of new buildable land outward from today's urban extent.

    Candidate cells (valid, not excluded, not water, not built, not captured open
    space inside the city) are ranked by ``(d + res)·(2 − s)``, where ``d`` is the
    distance from today's urban extent (Atlas: urban + suburban built-up and
    urbanized open space; the built-up itself for a city with none) in metres
    and ``s`` the suitability in [0, 1] (unsuitable land counts as twice as far).
    The cheapest are taken, then smoothed: closing by ``close_m``, opening by
    ``open_m``, holes under ``min_hole_ha`` filled (small villages and excluded
    patches become part of the area, water never), and patches under
    ``min_fragment_ha`` (default: the larger of 10 ha and 2 % of the target)
    dropped. The number of cells taken is adjusted (up to 8 times) until the
    new buildable land in the smoothed area is within 1 % of ``target_ha``.

    Returns
    -------
    (bool raster, hectares of new buildable land in it)
    """
    grid = stack.grid
    res, cell_ha = grid.res, grid.cell_area_ha
    valid, water = stack.valid, stack.water
    base = np.asarray(base_builtup, bool) & valid
    classes = classify_builtup(base, valid, water, res)
    extent = np.isin(classes, (URBAN, SUBURBAN, FRINGE, CAPTURED))
    seed = extent if np.isin(classes, (URBAN, SUBURBAN)).any() else base
    if not seed.any():
        seed = np.zeros_like(valid)
        rr, cc = np.nonzero(valid)
        if len(rr) == 0:
            return np.zeros_like(valid), 0.0
        k = np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2)
        seed[rr[k], cc[k]] = True
    cand = valid & ~np.asarray(excluded, bool) & ~water & ~base & (classes != CAPTURED)
    del classes, extent
    want = target_ha / cell_ha
    if min_fragment_ha is None:
        min_fragment_ha = max(10.0, 0.02 * target_ha)
    if want <= 0 or not cand.any():
        return np.zeros_like(valid), 0.0
    # Cost (d + res)·(2 − s) in float64, computed from the squared distance in
    # cells (float32, exact) as scipy's transform gives d: sqrt(d²·res²).
    d2 = _sq_cells(~seed)
    del seed
    score = np.asarray(suitability_score)
    res2 = res * res

    def cost(d2_cells: np.ndarray, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.nan_to_num(np.asarray(s, np.float64), nan=0.0), 0.0, 1.0)
        return (np.sqrt(d2_cells.astype(np.float64) * res2) + res) * (2.0 - s)

    ranking = _Cheapest(cand, lambda r0, r1: cost(d2[r0:r1], score[r0:r1]),
                        lambda flat: cost(d2.reshape(-1)[flat], score.reshape(-1)[flat]))
    land = valid & ~water

    def smooth(k: int) -> np.ndarray:
        a = ranking.first(k)
        a = _erode(_dilate(a, close_m, res), close_m, res)
        a = _dilate(_erode(a, open_m, res), open_m, res)
        a &= land
        a &= ~base
        holes, n = ndimage.label(ndimage.binary_fill_holes(a) & ~a)
        if n:
            small = np.bincount(holes.ravel(), minlength=n + 1) * cell_ha < min_hole_ha
            small[0] = False
            a |= small[holes]
        del holes
        a &= land
        lab, n = ndimage.label(a, structure=np.ones((3, 3), bool))
        if n:
            big = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha >= min_fragment_ha
            big[0] = False
            a = big[lab]
        return a

    n_cand = ranking.n
    k = int(min(n_cand, round(want)))
    best = None
    tried: list[tuple[int, float]] = []
    for _ in range(8):
        area = smooth(k)
        got = float(np.count_nonzero(area & cand))
        tried.append((k, got))
        if best is None or abs(got - want) < abs(best[1] - want):
            best = (area, got)
        del area
        if abs(got - want) <= 0.01 * want or (k >= n_cand and got < want) or got == 0:
            break
        k = _next_k(tried, want, n_cand)
    log.debug("expansion area: cells taken and new land got per round %s (want %.0f)", tried, want)
    area, got = best
    return area, got * cell_ha


# ------------------------------------------------------------ arterial grid


def _offset(positions: np.ndarray, weights: np.ndarray, spacing: float, fallback: float) -> float:
    """Weighted circular mean of ``positions`` modulo ``spacing``."""
    if len(positions) == 0 or weights.sum() <= 0:
        return fallback % spacing
    phi = 2 * np.pi * positions / spacing
    ang = math.atan2(float(np.sum(weights * np.sin(phi))), float(np.sum(weights * np.cos(phi))))
    return (ang / (2 * np.pi) * spacing) % spacing


def _trace(normal, along, offset, spacing, cell_xy, passable, grid, step, min_len):
    """Straight lines ``p·normal = offset + k·spacing`` sampled every ``step`` metres,
    split into runs over ``passable``; runs shorter than ``min_len`` dropped.
    Returns a list of ((x0, y0), (x1, y1)) pairs."""
    c = cell_xy @ normal
    t = cell_xy @ along
    pad = grid.res
    k0 = math.ceil((c.min() - pad - offset) / spacing)
    k1 = math.floor((c.max() + pad - offset) / spacing)
    if k1 < k0:
        return []
    ts = np.arange(t.min() - pad, t.max() + pad + step, step)
    out = []
    for k in range(k0, k1 + 1):
        ck = offset + k * spacing
        xs = ck * normal[0] + ts * along[0]
        ys = ck * normal[1] + ts * along[1]
        rows, cols, inside = _cells_of(xs, ys, grid)
        ok = inside & passable[rows, cols]
        edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for s, e in zip(starts, ends):
            if ts[e] - ts[s] >= min_len:
                out.append(((xs[s], ys[s]), (xs[e], ys[e])))
    return out


def _nearest_connector(point, network: list, exclude: int | None, max_m: float, passable, grid, step,
                       tree: shapely.STRtree | None = None):
    """Shortest straight connector from ``point`` to a line of ``network`` (not
    ``exclude``) within ``max_m`` that stays on ``passable``; None if none.

    ``tree``: an STRtree of ``network``, so that only lines within ``max_m`` are
    measured (measuring every line from every dead end was quadratic in the
    area: minutes on a 240 km region)."""
    if not network:
        return None
    p = shapely.Point(point)
    if tree is None:
        tree = shapely.STRtree(network)
    near = np.sort(tree.query(p, predicate="dwithin", distance=max_m))
    dists = shapely.distance(np.asarray(network, dtype=object)[near], p)
    for k in np.argsort(dists, kind="stable"):
        i = near[k]
        if i == exclude:
            continue
        if dists[k] < 1.0:
            return None  # already connected
        q = shapely.get_coordinates(shapely.shortest_line(p, network[i]))
        if _passable_along(q, passable, grid, step):
            return (tuple(q[0]), tuple(q[1]))
    return None


def _outline_cells(mask: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y) of the first and last True cell of every row of ``mask``, and
    the centroid of all its True cells, metres.

    The extremes of a linear function of the cell centres over ``mask`` (what
    :func:`_trace` needs) are among these cells, so that every cell's coordinates
    (32 bytes a cell) need not be held.
    """
    h, w = mask.shape
    n, sum_r, sum_c = 0, 0, 0
    first = np.zeros(h, np.int64)
    last = np.zeros(h, np.int64)
    for r0, r1 in row_blocks(mask.shape, _STRIP_CELLS):
        strip = mask[r0:r1]
        rr, cc = np.nonzero(strip)
        n += len(rr)
        sum_r += int(rr.sum()) + r0 * len(rr)
        sum_c += int(cc.sum())
        first[r0:r1] = np.argmax(strip, axis=1)
        last[r0:r1] = w - 1 - np.argmax(strip[:, ::-1], axis=1)
    rows = np.flatnonzero(mask.any(axis=1))
    xs, ys = grid.cell_centres()
    rr = np.concatenate([rows, rows])
    cc = np.concatenate([first[rows], last[rows]])
    centroid = np.array([grid.left + (sum_c / n + 0.5) * grid.res, grid.top - (sum_r / n + 0.5) * grid.res])
    return np.column_stack([xs[cc], ys[rr]]), centroid


def arterial_grid(stack: Stack, expansion_area: np.ndarray, cfg: PlanConfig, *,
                  max_slope_pct: float = MAX_SLOPE_PCT, min_fragment_m: float = MIN_FRAGMENT_M,
                  crossing_m: float = CROSSING_M) -> tuple[gpd.GeoDataFrame, float]:
    """The arterial grid over ``expansion_area``.

    Lines ``cfg.arterial_spacing_m`` apart in two perpendicular families, turned
    to :func:`dominant_bearing` of the existing arterials. Each family is shifted
    (the length-weighted circular mean of positions modulo the spacing) so that
    its lines run along the existing arterials parallel to it (within 10°) near
    the area, or, without such, through the points where existing arterials enter
    the area. Lines are sampled every res/3 metres and cut outside the area, on
    water (dilated by one cell, except within ``crossing_m`` of a cell where an
    existing road crosses water), on slopes above ``max_slope_pct`` and on
    protected land; planned lines within a quarter spacing of a parallel existing
    arterial are left out (the existing road is that line); pieces shorter than
    ``min_fragment_m`` are dropped. Dead ends (existing arterials ending inside
    the area, planned lines stopped next to an existing road) are joined to the
    nearest line within half a spacing by a straight, passable connector.

    Returns
    -------
    (GeoDataFrame of lines with ``kind``, ``length_m``, ``width_m``; bearing in degrees)
    """
    grid = stack.grid
    res, spacing, width = grid.res, float(cfg.arterial_spacing_m), float(cfg.arterial_width_m)
    step = res / 3.0
    empty = gpd.GeoDataFrame({"kind": [], "length_m": [], "width_m": []}, geometry=[], crs=grid.crs)
    art = _arterial_roads(stack)
    bearing = dominant_bearing(art.geometry.values) if art is not None else 0.0
    if not expansion_area.any():
        return empty, bearing
    th = math.radians(bearing)
    d1 = np.array([math.sin(th), math.cos(th)])  # along the bearing
    d2 = np.array([math.cos(th), -math.sin(th)])  # perpendicular to it

    # Obstacles.
    water = stack.water
    road_cells = stack.road_dist_m <= 0.5 * res
    crossing = water & road_cells
    water_block = ndimage.binary_dilation(water, structure=np.ones((3, 3), bool))
    if crossing.any():
        water_block &= ~_dilate(crossing, crossing_m, res)
    blocked = water_block | stack.protected
    if stack.slope_pct is not None:
        blocked |= _steep(stack.slope_pct, max_slope_pct)
    passable = expansion_area & ~blocked

    cell_xy, centroid = _outline_cells(expansion_area, grid)

    # Existing arterials near and inside the area.
    area_poly = shapely.MultiPolygon([g for _, g in _polygons(expansion_area, grid, 0.0)])
    shapely.prepare(area_poly)
    existing_in: list = []
    seg = np.zeros((0, 2, 2))
    seg_len = np.zeros(0)
    entries = np.zeros((0, 2))
    if art is not None:
        near = art.geometry.values[shapely.dwithin(art.geometry.values, area_poly, spacing / 2)]
        seg, seg_len = _segments(near)
        clipped = shapely.intersection(near, area_poly)
        existing_in = [g for g in shapely.get_parts(shapely.line_merge(shapely.union_all(clipped)))
                       if shapely.get_type_id(g) == 1 and g.length >= res]
        bpts = shapely.get_parts(shapely.intersection(shapely.union_all(near), area_poly.boundary))
        bpts = bpts[shapely.get_type_id(bpts) == 0] if len(bpts) else bpts
        entries = shapely.get_coordinates(bpts) if len(bpts) else np.zeros((0, 2))

    lines_planned: list = []
    ends_to_check: list = []
    for normal, along in ((d2, d1), (d1, d2)):
        if len(seg):
            u = (seg[:, 1] - seg[:, 0]) / np.maximum(seg_len, 1e-9)[:, None]
            par = np.abs(u @ along) >= math.cos(math.radians(10.0))
            pos = seg.mean(axis=1)[par] @ normal
            w = seg_len[par]
        else:
            par = np.zeros(0, bool)
            pos, w = np.zeros(0), np.zeros(0)
        if w.sum() < 0.5 * spacing and len(entries):
            pos = np.concatenate([pos, entries @ normal])
            w = np.concatenate([w, np.full(len(entries), 0.5 * spacing)])
        offset = _offset(pos, w, spacing, fallback=float(centroid @ normal) + spacing / 2)
        fam_passable = passable
        if par.any():
            band = _dilate(rasterize([shapely.LineString(s) for s in seg[par]], grid),
                           spacing / 4, res)
            fam_passable = passable & ~band
        runs = _trace(normal, along, offset, spacing, cell_xy, fam_passable, grid, step, min_fragment_m)
        for a, b in runs:
            i = len(lines_planned)
            lines_planned.append(shapely.LineString([a, b]))
            for end, away in ((a, -1.0), (b, 1.0)):
                beyond = np.array(end) + away * step * along
                r_, c_, ins = _cells_of(beyond[:1], beyond[1:], grid)
                if ins[0] and passable[r_[0], c_[0]]:
                    ends_to_check.append((end, i))  # stopped by the duplicate band: a dead end

    # Join dead ends.
    connectors: list = []
    network = lines_planned + existing_in
    network_tree = shapely.STRtree(network)
    for end, i in ends_to_check:
        con = _nearest_connector(end, network, i, spacing / 2, passable, grid, step, network_tree)
        if con is not None:
            connectors.append(shapely.LineString(con))
    if art is not None and lines_planned:
        parts = shapely.get_parts(art.geometry.values)
        parts = parts[shapely.get_type_id(parts) == 1]
        ends = np.concatenate([shapely.get_coordinates(shapely.get_point(parts, 0)),
                               shapely.get_coordinates(shapely.get_point(parts, -1))])
        tree = shapely.STRtree(parts)
        planned_tree = shapely.STRtree(lines_planned)
        for end in ends:
            r_, c_, ins = _cells_of(end[:1], end[1:], grid)
            if not (ins[0] and passable[r_[0], c_[0]]):
                continue
            if len(tree.query(shapely.Point(end).buffer(1.0))) > 1:
                continue  # a junction, not a dead end
            con = _nearest_connector(end, lines_planned, None, spacing / 2, passable, grid, step,
                                     planned_tree)
            if con is not None:
                connectors.append(shapely.LineString(con))

    planned = lines_planned + [c for c in connectors if c.length >= res]
    geoms = planned + existing_in
    kinds = ["planned"] * len(planned) + ["existing"] * len(existing_in)
    if not geoms:
        return empty, bearing
    gdf = gpd.GeoDataFrame({"kind": kinds, "length_m": [float(g.length) for g in geoms],
                            "width_m": [width] * len(geoms)}, geometry=geoms, crs=grid.crs)
    return gdf, bearing


def right_of_way(arterials: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rights-of-way: each arterial buffered by half its width with flat caps."""
    polys = shapely.buffer(arterials.geometry.values, arterials["width_m"].to_numpy() / 2.0, cap_style="flat")
    return gpd.GeoDataFrame({"kind": arterials["kind"].to_numpy(), "width_m": arterials["width_m"].to_numpy(),
                             "hectares": shapely.area(polys) / 10_000.0}, geometry=polys, crs=arterials.crs)


# ------------------------------------------------------------ open space


def open_space(stack: Stack, expansion_area: np.ndarray, row: np.ndarray, cfg: PlanConfig, *,
               max_slope_pct: float = MAX_SLOPE_PCT, margin_m: float = OPEN_SPACE_MARGIN_M,
               min_open_ha: float = MIN_OPEN_HA) -> np.ndarray:
    """Open-space kind raster (codes of :data:`OPEN_KINDS`).

    Large spaces within ``margin_m`` of the expansion area (and inside the study
    area, never water): floodplain (within 100 m of water, or less than 2 m above
    the nearest water within 500 m of it where a DEM exists, or a mapped flood
    zone), steep slopes (above ``max_slope_pct``), protected land; where they
    overlap, protected wins over floodplain over steep slope; patches under
    ``min_open_ha`` are dropped. Then a park of ``cfg.park_ha`` in every
    superblock (expansion land between rights-of-way, at least a quarter of a
    spacing squared) that touches less than ``park_ha`` of open space, centred
    at the point farthest from the superblock's edge (the middle one where
    several are, see :func:`_deepest`).
    """
    grid = stack.grid
    res, cell_ha = grid.res, grid.cell_area_ha
    kind = np.zeros(grid.shape, np.uint8)
    zone = _dilate(expansion_area, margin_m, res)
    zone &= stack.valid
    zone &= ~stack.water
    if zone.any():
        flood = stack.water_dist_m <= FLOOD_BUFFER_M
        if stack.height_above_water_m is not None:  # NaN: unknown height, not low
            flood |= (stack.height_above_water_m < LOW_HAND_M) & (stack.water_dist_m <= LOW_HAND_WITHIN_M)
        if stack.flood is not None:
            flood |= stack.flood
        if not stack.water.any() and stack.flood is None:
            flood = np.zeros_like(zone)
        layers = [(1, flood)]
        if stack.slope_pct is not None:
            layers.append((2, _steep(stack.slope_pct, max_slope_pct)))
        layers.append((3, stack.protected))
        for code, m in layers:  # later layers win
            kind[m & zone] = code
        del layers, flood, zone
        lab, n = ndimage.label(kind > 0, structure=np.ones((3, 3), bool))
        if n:
            small = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha < min_open_ha
            small[0] = False
            kind[small[lab]] = 0
        del lab

    box = _crop(expansion_area, 0.0, res)  # superblocks lie in it, with two cells of margin
    if cfg.park_ha > 0 and box is not None:
        blocks = expansion_area & ~row & (kind == 0) & ~stack.water
        lab, n = ndimage.label(blocks)
        del blocks
        if n:
            sizes = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha
            near = ndimage.maximum_filter(lab[box], size=3)  # zero on the margin, as on the whole grid
            has_open = np.bincount(near[kind[box] > 0], minlength=n + 1) * cell_ha >= cfg.park_ha
            del near
            min_block = max(0.25 * cfg.arterial_spacing_m ** 2 / 10_000.0, 4 * cfg.park_ha)
            want = np.flatnonzero((sizes >= min_block) & ~has_open)
            want = want[want > 0]
            if len(want):
                # Depth: squared distance in cells to the nearest cell outside every
                # superblock (the same maxima as the distance itself).
                depth = _sq_cells(lab[box] > 0)
                centres = _deepest(depth, lab[box], want) + [box[0].start, box[1].start]
                del depth
                r_cells = math.sqrt(cfg.park_ha * 10_000.0 / math.pi) / res
                rc = int(math.ceil(r_cells))
                dy, dx = np.mgrid[-rc:rc + 1, -rc:rc + 1]
                disk = dy ** 2 + dx ** 2 <= r_cells ** 2
                for label, (r0, c0) in zip(want, centres):
                    rs, cs = r0 + dy[disk], c0 + dx[disk]
                    ok = (rs >= 0) & (rs < grid.height) & (cs >= 0) & (cs < grid.width)
                    rs, cs = rs[ok], cs[ok]
                    ok = lab[rs, cs] == label
                    kind[rs[ok], cs[ok]] = 4
    return kind


def _open_space_frame(kind: np.ndarray, grid: Grid) -> gpd.GeoDataFrame:
    rows = [(OPEN_KINDS[v], g) for v, g in _polygons(kind, grid, grid.res / 2)]
    return gpd.GeoDataFrame({"kind": [k for k, _ in rows],
                             "hectares": [float(g.area) / 10_000.0 for _, g in rows]},
                            geometry=[g for _, g in rows], crs=grid.crs)


# ------------------------------------------------------------ the plan


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
    expansion = [(g, float(g.area) / 10_000.0) for _, g in _polygons(area, grid, grid.res / 2)]
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
                right_of_way=row_gdf, row=row, open_space=_open_space_frame(kind, grid),
                open_space_kind=kind, arterial_dist_m=planned_dist, network_dist_m=network.astype(np.float32),
                constraints=(kind > 0) | row, spacing_m=float(cfg.arterial_spacing_m),
                max_slope_pct=max_slope_pct, notes=notes)


def plan_metrics(plan: Plan, stack: Stack | None = None, land_need_ha: float | None = None) -> dict:
    """Figures of a plan.

    Returns a dict: ``expansion_area_ha``, ``new_land_ha`` (buildable land in it),
    ``land_need_ha``, ``target_ha``, ``expansion_vs_need`` (expansion area ÷ land
    need), ``arterials_planned_km``, ``arterials_existing_km`` (inside the area),
    ``arterial_spacing_m`` (measured: 2 × area ÷ network length inside the area),
    ``row_share`` (share of the expansion area in rights-of-way), ``within_500m_share``
    (share of the expansion area within 500 m of a planned or existing arterial),
    ``open_space_ha`` and ``open_space_by_kind_ha``, ``parks``, ``bearing_deg``.
    ``stack`` is accepted for symmetry with the other stages and not needed;
    ``land_need_ha`` overrides the plan's own.
    """
    cell_ha = plan.grid.cell_area_ha
    area = plan.expansion_area
    n = int(np.count_nonzero(area))
    need = plan.land_need_ha if land_need_ha is None else float(land_need_ha)
    kinds = plan.arterials["kind"].to_numpy()
    lengths = plan.arterials["length_m"].to_numpy(dtype=float)
    network_m = float(lengths.sum())
    area_ha = n * cell_ha
    by_kind = {name: float(np.count_nonzero(plan.open_space_kind == k)) * cell_ha
               for k, name in OPEN_KINDS.items()}
    return {
        "expansion_area_ha": area_ha,
        "new_land_ha": plan.new_land_ha,
        "land_need_ha": need,
        "target_ha": plan.target_ha,
        "expansion_vs_need": area_ha / need if need > 0 else None,
        "arterials_planned_km": float(lengths[kinds == "planned"].sum()) / 1000.0,
        "arterials_existing_km": float(lengths[kinds == "existing"].sum()) / 1000.0,
        "arterial_spacing_m": 2.0 * area_ha * 10_000.0 / network_m if network_m > 0 else None,
        "row_share": float(np.count_nonzero(plan.row & area)) / n if n else None,
        "within_500m_share": (float(np.count_nonzero(area & (plan.network_dist_m <= 500.0))) / n
                              if n else None),
        "open_space_ha": float(np.count_nonzero(plan.open_space_kind)) * cell_ha,
        "open_space_by_kind_ha": by_kind,
        "parks": int(np.count_nonzero(plan.open_space["kind"].to_numpy() == "park")),
        "bearing_deg": plan.bearing_deg,
    }


# ------------------------------------------------------------ plan.gpkg

_HOTSPOT_COLUMNS = {"policy": "str", "hectares": "float", "people": "float", "hazard_share": "float",
                    "mean_risk": "float"}


def _fill_symbol(name: str, fill: str, outline: str, width: float = 0.4, style: str = "solid") -> str:
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<prop k="color" v="{fill}"/><prop k="style" v="{style}"/>'
            f'<prop k="outline_color" v="{outline}"/><prop k="outline_style" v="solid"/>'
            f'<prop k="outline_width" v="{width}"/><prop k="outline_width_unit" v="MM"/>'
            '<prop k="joinstyle" v="bevel"/></layer></symbol>')


def _line_symbol(name: str, colour: str, width: float, style: str = "solid") -> str:
    return (f'<symbol type="line" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleLine" enabled="1" locked="0" pass="0">'
            f'<prop k="line_color" v="{colour}"/><prop k="line_width" v="{width}"/>'
            f'<prop k="line_width_unit" v="MM"/><prop k="line_style" v="{style}"/>'
            '<prop k="capstyle" v="flat"/><prop k="joinstyle" v="round"/></layer></symbol>')


def _qml(renderer: str, geometry_type: int) -> str:
    """A QGIS style document (QML) with one renderer; geometry type 1 line, 2 polygon."""
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            f"{renderer}\n<layerGeometryType>{geometry_type}</layerGeometryType>\n</qgis>\n")


def _single(symbol: str) -> str:
    return ('<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{symbol}</symbols></renderer-v2>")


def _categorized(attr: str, cats: list[tuple[str, str, str]]) -> str:
    """``cats``: (value, label, symbol xml whose name is its index)."""
    categories = "".join(f'<category symbol="{i}" value="{v}" label="{lab}" render="true"/>'
                         for i, (v, lab, _) in enumerate(cats))
    symbols = "".join(s for _, _, s in cats)
    return (f'<renderer-v2 type="categorizedSymbol" attr="{attr}" symbollevels="0" enableorderby="0" '
            f'forceraster="0"><categories>{categories}</categories><symbols>{symbols}</symbols>'
            "</renderer-v2>")


LAYER_STYLES = {
    "expansion_area": ("Expansion area", _qml(_single(_fill_symbol("0", "255,222,140,110", "214,140,20,255",
                                                                    0.6)), 2)),
    "arterials": ("Arterial grid", _qml(_categorized("kind", [
        ("planned", "planned arterial (30 m right-of-way)", _line_symbol("0", "215,25,28,255", 1.2)),
        ("existing", "existing arterial", _line_symbol("1", "60,60,60,255", 0.9)),
    ]), 1)),
    "open_space": ("Open space", _qml(_categorized("kind", [
        ("floodplain", "floodplain", _fill_symbol("0", "140,200,230,150", "60,130,190,255")),
        ("steep_slope", "steep slope", _fill_symbol("1", "190,160,120,150", "130,100,60,255")),
        ("protected", "protected land", _fill_symbol("2", "60,140,70,150", "30,90,40,255")),
        ("park", "park", _fill_symbol("3", "120,210,90,200", "50,150,40,255")),
    ]), 2)),
    "risk_hotspots": ("Informal-settlement risk hotspots",
                      _qml(_single(_fill_symbol("0", "230,50,40,120", "160,20,20,255", 0.5)), 2)),
}


def write_plan_gpkg(plan: Plan, path: str | Path, risk_hotspots: gpd.GeoDataFrame | None = None) -> Path:
    """Write ``plan.gpkg`` with layers ``expansion_area``, ``arterials``,
    ``open_space`` and ``risk_hotspots`` (empty, with its columns, when None),
    each styled for QGIS through the GeoPackage ``layer_styles`` table.

    Same plan, same bytes (see :mod:`expansion.outputs.gpkg`). An existing file at
    ``path`` is replaced (the pipeline writes into a fresh run folder).
    """
    crs = plan.grid.crs
    if risk_hotspots is None or len(risk_hotspots) == 0:
        cols = {c: pd.Series([], dtype=object if t == "str" else "float64")
                for c, t in _HOTSPOT_COLUMNS.items()}
        if risk_hotspots is not None:
            cols.update({c: risk_hotspots[c].to_numpy() for c in risk_hotspots.columns
                         if c != risk_hotspots.geometry.name and c not in cols})
        risk_hotspots = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return write_gpkg(path, [
        ("expansion_area", plan.expansion, "MultiPolygon"),
        ("arterials", plan.arterials[["kind", "length_m", "width_m", "geometry"]], "LineString"),
        ("open_space", plan.open_space[["kind", "hectares", "geometry"]], "MultiPolygon"),
        ("risk_hotspots", risk_hotspots, "MultiPolygon"),
    ], styles=LAYER_STYLES, crs=crs)

