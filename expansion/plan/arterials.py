"""The arterial grid: lines about a spacing apart, aligned with the existing
arterials, cut on obstacles, with dead ends joined; and their rights-of-way."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from ..config import PlanConfig
from ..grid import Grid, rasterize, row_blocks
from ..hazard import MAX_SLOPE_PCT, steep
from ..stack import Stack
from .morphology import dilate, polygons

MIN_FRAGMENT_M = 200.0  # planned arterial pieces shorter than this are dropped
CROSSING_M = 100.0  # a planned line may cross water this close to an existing road crossing
BRIDGE_SHARE = 0.2  # a line crosses built land (or a speck of protected land) over gaps up to this × spacing
STUB_SHARE = 0.5  # a planned piece shorter than this × spacing must connect two other arterials


def cells_of(xs, ys, grid: Grid):
    cols = np.floor((xs - grid.left) / grid.res).astype(np.int64)
    rows = np.floor((grid.top - ys) / grid.res).astype(np.int64)
    inside = (cols >= 0) & (cols < grid.width) & (rows >= 0) & (rows < grid.height)
    return rows.clip(0, grid.height - 1), cols.clip(0, grid.width - 1), inside


def passable_along(line_xy: np.ndarray, mask: np.ndarray, grid: Grid, step: float) -> bool:
    """Whether every sample of the straight segment ``line_xy`` (2 × 2) lies on ``mask``."""
    (x0, y0), (x1, y1) = line_xy
    n = max(2, int(math.hypot(x1 - x0, y1 - y0) / step) + 1)
    t = np.linspace(0.0, 1.0, n)
    rows, cols, inside = cells_of(x0 + t * (x1 - x0), y0 + t * (y1 - y0), grid)
    return bool(np.all(inside & mask[rows, cols]))


def arterial_roads(stack: Stack) -> gpd.GeoDataFrame | None:
    roads = stack.vectors.get("roads")
    if roads is None or len(roads) == 0 or "road_class" not in roads:
        return None
    art = roads[roads["road_class"].to_numpy() == "arterial"]
    art = art[~art.geometry.is_empty & art.geometry.notna()]
    return art if len(art) else None


def segments(geoms) -> tuple[np.ndarray, np.ndarray]:
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
    seg, length = segments(lines)
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



def family_offset(positions: np.ndarray, weights: np.ndarray, spacing: float, fallback: float) -> float:
    """Weighted circular mean of ``positions`` modulo ``spacing``."""
    if len(positions) == 0 or weights.sum() <= 0:
        return fallback % spacing
    phi = 2 * np.pi * positions / spacing
    ang = math.atan2(float(np.sum(weights * np.sin(phi))), float(np.sum(weights * np.cos(phi))))
    return (ang / (2 * np.pi) * spacing) % spacing


def trace(normal, along, offset, spacing, cell_xy, passable, grid, step, min_len, bridge=None,
          bridge_len=0.0):
    """Straight lines ``p·normal = offset + k·spacing`` sampled every ``step`` metres,
    split into runs over ``passable``; runs shorter than ``min_len`` dropped.
    A gap of at most ``bridge_len`` metres between two runs whose samples all lie
    on ``bridge`` (bool raster, e.g. land built at the base year) joins them.
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
        rows, cols, inside = cells_of(xs, ys, grid)
        ok = inside & passable[rows, cols]
        if bridge is not None and bridge_len > 0:
            ok = _bridged(ok, inside & bridge[rows, cols], ts, bridge_len)
        edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for s, e in zip(starts, ends):
            if ts[e] - ts[s] >= min_len:
                out.append(((xs[s], ys[s]), (xs[e], ys[e])))
    return out


def _bridged(ok: np.ndarray, bridge: np.ndarray, ts: np.ndarray, max_len: float) -> np.ndarray:
    """``ok`` with its inner gaps (False runs between True runs) set True where every
    sample of the gap is on ``bridge`` and the gap spans at most ``max_len`` metres."""
    edges = np.diff(np.concatenate([[1], ok.astype(np.int8), [1]]))
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)  # gap = [start, end)
    out = ok.copy()
    for s, e in zip(starts, ends):
        if s == 0 or e == len(ok):
            continue  # not between two runs
        if ts[e] - ts[s - 1] <= max_len + 1e-6 and bridge[s:e].all():
            out[s:e] = True
    return out


def nearest_connector(point, network: list, exclude: int | None, max_m: float, passable, grid, step,
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
        if passable_along(q, passable, grid, step):
            return (tuple(q[0]), tuple(q[1]))
    return None


def outline_cells(mask: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y) of the first and last True cell of every row of ``mask``, and
    the centroid of all its True cells, metres.

    The extremes of a linear function of the cell centres over ``mask`` (what
    :func:`trace` needs) are among these cells, so that every cell's coordinates
    (32 bytes a cell) need not be held.
    """
    h, w = mask.shape
    n, sum_r, sum_c = 0, 0, 0
    first = np.zeros(h, np.int64)
    last = np.zeros(h, np.int64)
    for r0, r1 in row_blocks(mask.shape):
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
                  base_builtup: np.ndarray | None = None, max_slope_pct: float = MAX_SLOPE_PCT,
                  min_fragment_m: float = MIN_FRAGMENT_M,
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
    ``min_fragment_m`` are dropped. Planned lines run on land not built at the
    base year (``base_builtup``): the built city keeps its own streets, and a line
    crosses built land, or a speck of protected land, only over a gap of at most
    :data:`BRIDGE_SHARE` of the spacing (200 m for 1 km) between two stretches of
    open land, to connect them, so that it stays one road (never over water or
    steep land); the crossings of built land are measured by
    :func:`built_length_m`. Dead ends (existing arterials ending inside the area,
    planned lines stopped next to an existing road) are joined to the nearest line
    within half a spacing by a straight, passable connector. Then stubs go
    (:func:`drop_stubs`): a planned piece shorter than :data:`STUB_SHARE` of the
    spacing stays only if it connects two other arterials.

    Returns
    -------
    (GeoDataFrame of lines with ``kind``, ``length_m``, ``width_m``; bearing in degrees)
    """
    grid = stack.grid
    res, spacing, width = grid.res, float(cfg.arterial_spacing_m), float(cfg.arterial_width_m)
    step = res / 3.0
    empty = gpd.GeoDataFrame({"kind": [], "length_m": [], "width_m": []}, geometry=[], crs=grid.crs)
    art = arterial_roads(stack)
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
        water_block &= ~dilate(crossing, crossing_m, res)
    blocked = water_block | stack.protected
    if stack.slope_pct is not None:
        blocked |= steep(stack.slope_pct, max_slope_pct)
    passable = expansion_area & ~blocked
    bridge = None
    if base_builtup is not None:
        hard = water_block.copy()
        if stack.slope_pct is not None:
            hard |= steep(stack.slope_pct, max_slope_pct)
        bridge = (base_builtup | stack.protected) & ~hard & stack.valid
        passable &= ~base_builtup

    cell_xy, centroid = outline_cells(expansion_area, grid)

    # Existing arterials near and inside the area.
    area_poly = shapely.MultiPolygon([g for _, g in polygons(expansion_area, grid, 0.0)])
    shapely.prepare(area_poly)
    existing_in: list = []
    seg = np.zeros((0, 2, 2))
    seg_len = np.zeros(0)
    entries = np.zeros((0, 2))
    if art is not None:
        near = art.geometry.values[shapely.dwithin(art.geometry.values, area_poly, spacing / 2)]
        seg, seg_len = segments(near)
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
        offset = family_offset(pos, w, spacing, fallback=float(centroid @ normal) + spacing / 2)
        fam_passable = passable
        if par.any():
            band = dilate(rasterize([shapely.LineString(s) for s in seg[par]], grid),
                           spacing / 4, res)
            fam_passable = passable & ~band
        runs = trace(normal, along, offset, spacing, cell_xy, fam_passable, grid, step, min_fragment_m,
                     bridge, spacing * BRIDGE_SHARE)
        for a, b in runs:
            i = len(lines_planned)
            lines_planned.append(shapely.LineString([a, b]))
            for end, away in ((a, -1.0), (b, 1.0)):
                beyond = np.array(end) + away * step * along
                r_, c_, ins = cells_of(beyond[:1], beyond[1:], grid)
                if ins[0] and passable[r_[0], c_[0]]:
                    ends_to_check.append((end, i))  # stopped by the duplicate band: a dead end

    # Join dead ends.
    connectors: list = []
    network = lines_planned + existing_in
    network_tree = shapely.STRtree(network)
    for end, i in ends_to_check:
        con = nearest_connector(end, network, i, spacing / 2, passable, grid, step, network_tree)
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
            r_, c_, ins = cells_of(end[:1], end[1:], grid)
            if not (ins[0] and passable[r_[0], c_[0]]):
                continue
            if len(tree.query(shapely.Point(end).buffer(1.0))) > 1:
                continue  # a junction, not a dead end
            con = nearest_connector(end, lines_planned, None, spacing / 2, passable, grid, step,
                                     planned_tree)
            if con is not None:
                connectors.append(shapely.LineString(con))

    planned = lines_planned + [c for c in connectors if c.length >= res]
    planned = drop_stubs(planned, existing_in, spacing * STUB_SHARE)
    geoms = planned + existing_in
    kinds = ["planned"] * len(planned) + ["existing"] * len(existing_in)
    if not geoms:
        return empty, bearing
    gdf = gpd.GeoDataFrame({"kind": kinds, "length_m": [float(g.length) for g in geoms],
                            "width_m": [width] * len(geoms)}, geometry=geoms, crs=grid.crs)
    return gdf, bearing


def drop_stubs(planned: list, existing: list, min_len_m: float, touch_m: float = 1.0) -> list:
    """``planned`` lines without stubs: a planned line shorter than ``min_len_m`` stays
    only if it connects two other arterials (it touches at least two other planned or
    existing lines within ``touch_m`` metres); dropping one may make another a stub, so
    this repeats until nothing changes. Order kept."""
    keep = list(planned)
    while True:
        lines = keep + list(existing)
        if not keep:
            return keep
        tree = shapely.STRtree(lines)
        pairs = tree.query(np.asarray(keep, dtype=object), predicate="dwithin", distance=touch_m)
        other = pairs[0] != pairs[1]
        degree = np.bincount(pairs[0][other], minlength=len(keep))
        short = shapely.length(np.asarray(keep, dtype=object)) < min_len_m
        stub = short & (degree < 2)
        if not stub.any():
            return keep
        keep = [g for g, s in zip(keep, stub) if not s]


def right_of_way(arterials: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rights-of-way: each arterial buffered by half its width with flat caps (one
    polygon per arterial row, in the same order), columns ``kind``, ``width_m``,
    ``hectares`` and ``phase_year`` where the arterials have it."""
    polys = shapely.buffer(arterials.geometry.values, arterials["width_m"].to_numpy() / 2.0, cap_style="flat")
    cols = {"kind": arterials["kind"].to_numpy(), "width_m": arterials["width_m"].to_numpy(),
            "hectares": shapely.area(polys) / 10_000.0}
    if "phase_year" in arterials:
        cols["phase_year"] = arterials["phase_year"].to_numpy()
    return gpd.GeoDataFrame(cols, geometry=polys, crs=arterials.crs)



def built_length_m(lines, built: np.ndarray, grid: Grid) -> float:
    """Length (metres) of ``lines`` lying on ``built`` cells, sampled every third of a cell."""
    total = 0.0
    step = grid.res / 3.0
    for g in lines:
        n = max(2, int(math.ceil(g.length / step)) + 1)
        xy = shapely.get_coordinates(shapely.line_interpolate_point(g, np.linspace(0.0, g.length, n)))
        rows, cols, inside = cells_of(xy[:, 0], xy[:, 1], grid)
        total += g.length * float(np.mean(inside & built[rows, cols]))
    return total
