"""The arterial grid: one orientation per sector of the city (:mod:`.sectors`), lines
about a spacing apart, cut on obstacles, built land crossed only where that joins the
network (:mod:`.network`), dead ends joined; and their rights-of-way."""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from ..config import PlanConfig
from ..grid import Grid, rasterize, row_blocks
from ..hazard import MAX_SLOPE_PCT, steep
from ..stack import Stack
from .lines import Traced, cells_of, line_span, trace_line
from .morphology import dilate, polygons
from .network import join_dead_ends, link_pieces, merge_collinear, needed_bridges, stubs
from .sectors import Sector, bearing_from, city_centre, city_sectors, ray_crossing, unit

MIN_FRAGMENT_M = 200.0  # planned arterial pieces shorter than this are dropped
CROSSING_M = 100.0  # a planned line may cross water this close to an existing road crossing
BRIDGE_SHARE = 0.2  # a line may cross built land (or a protected speck) over gaps up to this × spacing
TAIL_M = 200.0  # a dangling piece shorter than this goes before the stub rule
OFFSETS = 10  # shifts tried for a family of lines no existing arterial pins down
CROSSINGS_MAX = 0.025  # backstop: bridges are cut back when the built land crossed exceeds this share
BRIDGE_COST = 5.0  # a metre of built land crossed weighs as much as this many metres of open road
SMALL_PIECE_SHARE = 2.0  # a piece of the network shorter than this × spacing is linked to the rest
STUB_SHARE = 0.5  # a planned piece shorter than this × spacing must connect two other arterials


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
    """Dominant orientation of line geometries (:func:`segments_bearing` of their segments)."""
    return segments_bearing(*segments(lines))


def segments_bearing(seg: np.ndarray, length: np.ndarray) -> float:
    """Dominant orientation of segments (n × 2 × 2, metres) of these lengths, degrees
    clockwise from grid north in [0, 90): the peak of the length-weighted bearing
    histogram modulo 90° (1° bins, smoothed over ±3°), refined by the circular mean
    of the segments within 10° of it. 0 when there are none."""
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


def obstacles(stack: Stack, land: np.ndarray, base_builtup: np.ndarray | None, max_slope_pct: float,
              crossing_m: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Where planned lines may run (``passable``: ``land`` off water,
    dilated by one cell except within ``crossing_m`` of an existing road crossing,
    off steep and protected land and off land built at the base year), and where a
    bridge may take them across (``bridge``: built or protected land that is not
    water or steep; None without ``base_builtup``)."""
    res = stack.grid.res
    water = stack.water
    crossing = water & (stack.road_dist_m <= 0.5 * res)
    water_block = ndimage.binary_dilation(water, structure=np.ones((3, 3), bool))
    if crossing.any():
        water_block &= ~dilate(crossing, crossing_m, res)
    hard = water_block
    if stack.slope_pct is not None:
        hard = hard | steep(stack.slope_pct, max_slope_pct)
    passable = land & ~hard & ~stack.protected
    bridge = None
    if base_builtup is not None:
        bridge = (base_builtup | stack.protected) & ~hard & stack.valid
        passable &= ~base_builtup
    return passable, bridge


def existing_near(art: gpd.GeoDataFrame | None, area_poly, spacing: float, res: float) -> list:
    """The parts inside the area (lines at least a cell long) of the existing
    arterials within half a spacing of it."""
    if art is None:
        return []
    near = art.geometry.values[shapely.dwithin(art.geometry.values, area_poly, spacing / 2)]
    clipped = shapely.intersection(near, area_poly)
    return [g for g in shapely.get_parts(shapely.line_merge(shapely.union_all(clipped)))
            if shapely.get_type_id(g) == 1 and g.length >= res]


def sector_of(sectors: list[Sector], centre: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Number (1 for the first) of the sector each point (n × 2) lies in."""
    b = bearing_from(centre, points[:, 0], points[:, 1])
    out = np.ones(len(points), np.int64)
    for i, sec in enumerate(sectors):
        out[sec.contains(b)] = i + 1
    return out


def lay_sector(traced: Traced, no: int, sec: Sector, centre: np.ndarray, cell_xy: np.ndarray, passable,
               bridge, grid: Grid, spacing: float, min_len: float, existing: tuple, bands: dict,
               cost: np.ndarray | None = None, frame: tuple | None = None) -> None:
    """The two families of lines of sector ``sec`` (number ``no``) into ``traced``.

    Each family is shifted (the length-weighted circular mean of positions modulo
    the spacing) so that its lines run along the sector's existing arterials
    parallel to it (within 10°), or else through the city's centre, shifted by
    the one of :data:`OFFSETS` fractions of the spacing that scores best
    (:func:`laid_score`: the most open road for the least built land crossed),
    scored over ``frame`` (``(points, passable, bridge)`` of the city's land in the
    sector, so that every scenario of a city gets the same lines; over the area
    itself without it). Planned lines within a quarter spacing of a parallel
    existing arterial are left out (the existing road is that line). Lines stop at
    the sector's edge, exactly on its boundary ray. A bridge costs the metres of
    ``cost`` (e.g. built land) it crosses."""
    seg, seg_len, seg_bearing = existing
    step = grid.res / 3.0
    d1 = unit(sec.bearing_deg)  # along the bearing
    d2 = np.array([d1[1], -d1[0]])  # perpendicular to it
    seg_in = sec.contains(seg_bearing)
    for normal, along in ((d2, d1), (d1, d2)):
        if len(seg):
            u = (seg[:, 1] - seg[:, 0]) / np.maximum(seg_len, 1e-9)[:, None]
            par = np.abs(u @ along) >= math.cos(math.radians(10.0))
        else:
            par = np.zeros(0, bool)
        pos, w = seg.mean(axis=1)[par & seg_in] @ normal, seg_len[par & seg_in]
        band = None
        if par.any():
            key = par.tobytes()
            if key not in bands:
                bands[key] = dilate(rasterize([shapely.LineString(s) for s in seg[par]], grid), spacing / 4,
                                    grid.res)
            band = bands[key]
        c0, c1, t0, t1 = line_span(cell_xy, normal, along, grid.res)
        ts = np.arange(math.floor(t0 / step) * step, t1 + step, step)  # samples at fixed places along a line
        lay = FamilyLayout(sec, no, centre, normal, along, ts, (c0, c1), spacing, band, cost)
        if w.sum() > 0:  # pinned to the existing arterials
            lay.trace(family_offset(pos, w, spacing, fallback=0.0), traced, passable, bridge, grid, min_len)
            continue
        # free: of OFFSETS shifts from the centre, the one with most open road for least built land crossed
        base = float(centre @ normal)
        shifts = [base + j * spacing / OFFSETS for j in range(OFFSETS)]
        judge, j_passable, j_bridge = lay, passable, bridge
        if frame is not None:
            f_pts, j_passable, j_bridge = frame
            f0, f1, u0, u1 = line_span(f_pts, normal, along, grid.res)
            f_ts = np.arange(math.floor(u0 / step) * step, u1 + step, step)
            judge = FamilyLayout(sec, no, centre, normal, along, f_ts, (f0, f1), spacing, band, cost)
        scores = [laid_score(judge.trace(o, Traced(), j_passable, j_bridge, grid, min_len), spacing)
                  for o in shifts]
        lay.trace(shifts[int(np.argmax(scores))], traced, passable, bridge, grid, min_len)


@dataclass(frozen=True)
class FamilyLayout:
    """One family of parallel lines of a sector: lines ``p·normal = offset + k·spacing``
    for the k that meet the area (``span``: the range of ``p·normal`` over it),
    sampled at ``ts`` along ``along``, left out on ``band``."""

    sec: Sector
    no: int
    centre: np.ndarray
    normal: np.ndarray
    along: np.ndarray
    ts: np.ndarray
    span: tuple[float, float]
    spacing: float
    band: np.ndarray | None
    cost: np.ndarray | None = None

    def trace(self, offset: float, out: Traced, passable, bridge, grid: Grid, min_len: float) -> Traced:
        sec, along, ts = self.sec, self.along, self.ts
        c0, c1 = self.span
        for k in range(math.ceil((c0 - offset) / self.spacing), math.floor((c1 - offset) / self.spacing) + 1):
            origin = (offset + k * self.spacing) * self.normal
            keep = snap = None
            if sec.width_deg < 360.0:
                xy = origin[:, None] + along[:, None] * ts
                keep = sec.contains(bearing_from(self.centre, xy[0], xy[1]))
                if not keep.any():
                    continue
                snap = edge_snap(sec, self.centre, origin, along)
            trace_line(out, origin, along, ts, passable, grid, min_len, bridge=bridge, cost=self.cost,
                       bridge_len=self.spacing * BRIDGE_SHARE, keep=keep, band=self.band, snap=snap,
                       tag=(self.no, sec.bearing_deg))
        return out


def laid_score(t: Traced, spacing: float) -> float:
    """How well a family of lines lies: the length of its lines (runs joined by their
    candidate bridges) at least :data:`STUB_SHARE` of the spacing long, less
    :data:`BRIDGE_COST` × the metres those bridges cost (built land crossed)."""
    if not t.runs:
        return 0.0
    n = len(t.runs)
    parent = np.arange(n)
    for _, a, b, _, _, _ in t.bridges:  # bridges join consecutive runs: a < b
        parent[b] = parent[a]
    length = shapely.length(np.asarray(t.runs, dtype=object))
    chain_len = np.bincount(parent, weights=length, minlength=n)
    off = np.zeros(n)
    for _, a, _, m, _, _ in t.bridges:
        off[parent[a]] += m
    good = chain_len + off >= STUB_SHARE * spacing
    return float(chain_len[good].sum() - BRIDGE_COST * off[good].sum())


def sector_points(sec: Sector, centre: np.ndarray, cell_xy: np.ndarray, area: np.ndarray,
                  grid: Grid) -> np.ndarray:
    """Points (n × 2, metres) among which lie the extremes of any linear function
    over the sector's part of ``area``: the outline cells ``cell_xy`` inside the
    sector and the points of its boundary rays over the area (every cell)."""
    if sec.width_deg >= 360.0:
        return cell_xy
    inside = cell_xy[sec.contains(bearing_from(centre, cell_xy[:, 0], cell_xy[:, 1]))]
    reach = float(np.hypot(*(cell_xy - centre).T).max())
    t = np.arange(0.0, reach + grid.res, grid.res)
    rays = []
    for b in (sec.start_deg, sec.start_deg + sec.width_deg):
        xy = centre + t[:, None] * unit(b % 360.0)
        r, c, ok = cells_of(xy[:, 0], xy[:, 1], grid)
        rays.append(xy[ok & area[r, c]])
    pts = np.concatenate([inside] + rays)
    return pts if len(pts) else cell_xy


def edge_snap(sec: Sector, centre: np.ndarray, origin: np.ndarray, along: np.ndarray):
    """``f(t_in, t_out)``: where the line ``origin + t·along`` crosses a boundary ray
    of ``sec`` between those two positions (None if it does not)."""
    def snap(t_in: float, t_out: float) -> float | None:
        lo, hi = min(t_in, t_out) - 1e-6, max(t_in, t_out) + 1e-6
        for b in (sec.start_deg, sec.start_deg + sec.width_deg):
            t = ray_crossing(centre, b % 360.0, origin, along)
            if t is not None and lo <= t <= hi:
                return t
        return None
    return snap


def assemble(traced: Traced, existing_in: list, connectors: list, passable, grid: Grid, spacing: float,
             budget_m: float) -> tuple[list, list, float]:
    """The planned lines from ``traced``: runs, the bridges worth building (within
    ``budget_m`` metres of built land), connectors; tails under :data:`TAIL_M` and
    stubs dropped, collinear pieces merged, small pieces linked. Returns the lines,
    their tags and the metres of built land the kept bridges cross."""
    runs = traced.runs
    kept = needed_bridges(runs + existing_in + connectors, [(a, b, m) for _, a, b, m, _, _ in traced.bridges],
                          budget_m=budget_m)
    bridges = [traced.bridges[k] for k in kept]
    planned = runs + [b[0] for b in bridges] + connectors
    keys = traced.keys + [b[4] for b in bridges] + [None] * len(connectors)
    tags = traced.tags + [b[5] for b in bridges] + [None] * len(connectors)
    drop = stubs(planned, existing_in, TAIL_M)  # dangling tails reached over built land
    planned, keys, tags = ([x for x, d in zip(v, drop) if not d] for v in (planned, keys, tags))
    spent = sum(b[3] for b, d in zip(bridges, drop[len(runs):]) if not d)
    planned, first = merge_collinear(planned, keys)
    tags = [tags[i] for i in first]
    drop = stubs(planned, existing_in, spacing * STUB_SHARE)
    planned, tags = ([x for x, d in zip(v, drop) if not d] for v in (planned, tags))
    links = link_pieces(planned + existing_in, passable, grid, spacing / 2, SMALL_PIECE_SHARE * spacing)
    return planned + links, tags + [None] * len(links), float(spent)


def arterial_grid(stack: Stack, expansion_area: np.ndarray, cfg: PlanConfig, *,
                  base_builtup: np.ndarray | None = None, max_slope_pct: float = MAX_SLOPE_PCT,
                  min_fragment_m: float = MIN_FRAGMENT_M, crossing_m: float = CROSSING_M,
                  sectors: list[Sector] | None = None) -> tuple[gpd.GeoDataFrame, list[Sector]]:
    """The arterial grid over ``expansion_area``.

    The area is split into the city's sectors around its centre (the centroid of
    ``base_builtup``; :func:`.sectors.city_sectors`), each with one orientation:
    that of the existing arterials in it, or radial. The sectors and the positions
    of lines that no existing arterial pins down come from the city's land (the
    study area off water and off ``base_builtup``) and all its arterials, not from
    ``expansion_area``: every scenario of a city lays the same grid, clipped to its
    own area. In each sector, lines
    ``cfg.arterial_spacing_m`` apart in two perpendicular families
    (:func:`lay_sector`); where two sectors meet, a planned arterial runs along
    their common boundary ray, and the lines of both end on it. Lines are sampled
    every res/3 metres and cut outside the area, on water (except within
    ``crossing_m`` of an existing road's crossing), on slopes above
    ``max_slope_pct``, on protected land and on land built at the base year: the
    built city keeps its own streets. Pieces shorter than ``min_fragment_m`` are
    dropped. Dead ends are joined to the nearest line within half a spacing by a
    straight, passable connector (:func:`join_dead_ends`).

    A line may cross built land, or a speck of protected land, where each stretch of
    it is at most :data:`BRIDGE_SHARE` of the spacing long (200 m for 1 km; never
    over water or steep land), between two stretches of open land: such a bridge is
    built only when it joins pieces of the network that would otherwise be apart,
    the one crossing least built land first (:func:`.network.needed_bridges`); as
    a backstop, should the planned lines still cross more than
    :data:`CROSSINGS_MAX` of their length over built land, the bridges get a
    budget of built metres and the network is made again (at most four times). The crossings of built land
    are measured by :func:`built_length_m`. Then stubs go: dangling tails shorter
    than :data:`TAIL_M` (a bit of open land reached over built land) first, then,
    once the pieces of one straight line that follow each other are made one, a
    planned line shorter than :data:`STUB_SHARE` of the spacing stays only if it
    connects two other arterials. Last, pieces of the network shorter than
    :data:`SMALL_PIECE_SHARE` spacings are linked to the rest by a straight link
    over passable land of at most half a spacing (:func:`.network.link_pieces`).
    ``sectors`` imposes sectors (e.g. one north-up sector) instead of the city's.

    Returns
    -------
    (GeoDataFrame of lines with ``kind`` ("planned" | "existing"), ``length_m``,
    ``width_m``, ``sector`` (1, 2, ... in order of bearing from north; 0 for the
    lines along the boundaries between sectors) and ``bearing_deg`` (the
    orientation of the sector's grid; of the line itself on a boundary), the sectors)
    """
    grid = stack.grid
    res, spacing, width = grid.res, float(cfg.arterial_spacing_m), float(cfg.arterial_width_m)
    step = res / 3.0
    cols = {"kind": [], "length_m": [], "width_m": [], "sector": [], "bearing_deg": []}
    empty = gpd.GeoDataFrame(cols, geometry=[], crs=grid.crs)
    art = arterial_roads(stack)
    if not expansion_area.any():
        bearing = dominant_bearing(art.geometry.values) if art is not None else 0.0
        return empty, [Sector(0.0, 360.0, bearing, "roads" if art is not None else "radial", 0)]
    # The city's land: the sectors and the free lines' positions come from it and all its
    # arterials, not from this scenario's area, so that all scenarios share one grid.
    frame = stack.valid & ~stack.water
    if base_builtup is not None:
        frame &= ~base_builtup
    frame_passable, bridge = obstacles(stack, frame, base_builtup, max_slope_pct, crossing_m)
    passable = frame_passable & expansion_area  # bridges do not depend on the area
    cell_xy, centroid = outline_cells(expansion_area, grid)
    centre = city_centre(base_builtup & stack.valid, grid) if base_builtup is not None else None
    centre = centroid if centre is None else centre

    area_poly = shapely.MultiPolygon([g for _, g in polygons(expansion_area, grid, 0.0)])
    shapely.prepare(area_poly)
    existing_in = existing_near(art, area_poly, spacing, res)
    # all the city's arterials, cut to at most a quarter spacing (so that each segment lies in one sector)
    seg, seg_len = (segments(shapely.segmentize(art.geometry.values, spacing / 4)) if art is not None
                    else (np.zeros((0, 2, 2)), np.zeros(0)))
    if sectors is None:
        sectors = city_sectors(frame, grid, centre, seg, seg_len, spacing, segments_bearing)
    existing = (seg, seg_len, bearing_from(centre, *seg.mean(axis=1).T) if len(seg) else np.zeros(0))

    traced = Traced()
    bands: dict = {}
    frame_xy, _ = outline_cells(frame, grid)
    for no, sec in enumerate(sectors, start=1):
        pts = sector_points(sec, centre, cell_xy, expansion_area, grid)
        frame_pts = sector_points(sec, centre, frame_xy, frame, grid)
        lay_sector(traced, no, sec, centre, pts, passable, bridge, grid, spacing, min_fragment_m, existing,
                   bands, cost=base_builtup, frame=(frame_pts, frame_passable, bridge))
    if len(sectors) > 1:  # a planned arterial along each boundary between two sectors
        reach = float(np.hypot(*(cell_xy - centre).T).max()) + res
        ts = np.arange(0.0, reach + step, step)
        for sec in sectors:
            trace_line(traced, centre, unit(sec.start_deg), ts, passable, grid, min_fragment_m, bridge=bridge,
                       cost=base_builtup,
                       bridge_len=spacing * BRIDGE_SHARE, tag=(0, sec.start_deg % 90.0))

    connectors = join_dead_ends(traced, existing_in, art, passable, grid, spacing)
    # built land is crossed only to join the network; a budget of crossings only when they exceed the target
    budget = math.inf
    for _ in range(4):
        planned, tags, spent = assemble(traced, existing_in, connectors, passable, grid, spacing, budget)
        if base_builtup is None or not planned:
            break
        total = float(shapely.length(np.asarray(planned, dtype=object)).sum())
        built = built_length_m(planned, base_builtup, grid)
        if built <= CROSSINGS_MAX * total or spent <= 0:
            break
        budget = spent * CROSSINGS_MAX * total / built * 0.9
    geoms = planned + existing_in
    if not geoms:
        return empty, sectors
    mids = shapely.get_coordinates(shapely.line_interpolate_point(np.asarray(geoms, dtype=object), 0.5,
                                                                  normalized=True))
    where = sector_of(sectors, centre, mids)
    tags = tags + [None] * len(existing_in)
    sector_no = [t[0] if t is not None else int(w) for t, w in zip(tags, where)]
    bearing = [t[1] if t is not None else sectors[int(w) - 1].bearing_deg for t, w in zip(tags, where)]
    kinds = ["planned"] * len(planned) + ["existing"] * len(existing_in)
    gdf = gpd.GeoDataFrame({"kind": kinds, "length_m": [float(g.length) for g in geoms],
                            "width_m": [width] * len(geoms), "sector": np.asarray(sector_no, np.int64),
                            "bearing_deg": np.asarray(bearing, float)}, geometry=geoms, crs=grid.crs)
    return gdf, sectors

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
