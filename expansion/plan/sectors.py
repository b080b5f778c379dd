"""Sectors of the city: wedges around its centre, each with one arterial grid orientation.

Making Room lays the arterial grid of each part of the expansion area as a
continuation of the roads that leave the city there; where none do, its arterials
radiate out of the city. :func:`city_sectors` splits the city's land (the plan
passes the study area's land that is not water or built at the base year, not one
scenario's expansion area, so that every scenario of a city gets the same sectors
and its no-regret arterials are the same lines) into :data:`WEDGES` angular wedges
around the city's centre (the centroid of the land built at the base year), turned
so that their boundary rays cross as little of that land as they can, and gives
each an orientation: the dominant bearing of the existing arterials in it when
they add up to :data:`MIN_ROAD_SPACINGS` spacings, else radial (one family of
lines runs from the centre towards the sector's land, the other across it).
Wedges holding less than :data:`MIN_SECTOR_SUPERBLOCKS` superblocks (spacing²) of
that land join their larger neighbour, and neighbours whose orientations differ by
less than :data:`MERGE_DEG` become one sector.

Bearings are degrees clockwise from grid north (the grid's +y axis): a point's in
[0, 360), a grid orientation's in [0, 90) (a grid looks the same turned by 90°).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..grid import Grid, row_blocks

WEDGES = 6  # angular wedges around the centre before merging (a multiple of 4 would make radial grids agree)
MERGE_DEG = 10.0  # neighbouring sectors whose orientations differ by less than this become one
MIN_SECTOR_SUPERBLOCKS = 4.0  # a sector holds at least this many spacing² of the expansion area
MIN_ROAD_SPACINGS = 2.0  # existing arterials orient a sector when they add up to this many spacings


@dataclass(frozen=True)
class Sector:
    """A wedge of the city around ``centre``: bearings from ``start_deg`` over
    ``width_deg`` (360 for the whole circle); its grid is turned to ``bearing_deg``
    ([0, 90)), taken from the existing arterials (``source`` "roads") or radial
    ("radial"); ``cells`` of the expansion area lie in it."""

    start_deg: float
    width_deg: float
    bearing_deg: float
    source: str
    cells: int

    def contains(self, bearing: np.ndarray) -> np.ndarray:
        """Whether points at these bearings from the centre (degrees) lie in the sector."""
        if self.width_deg >= 360.0:
            return np.ones(np.shape(bearing), bool)
        return (np.asarray(bearing) - self.start_deg) % 360.0 < self.width_deg


def bearing_from(centre: np.ndarray, x, y) -> np.ndarray:
    """Bearings (degrees in [0, 360), clockwise from grid north) of points seen from ``centre``."""
    return np.degrees(np.arctan2(np.asarray(x) - centre[0], np.asarray(y) - centre[1])) % 360.0


def unit(bearing_deg: float) -> np.ndarray:
    """The unit vector (x, y) pointing at ``bearing_deg``."""
    th = math.radians(bearing_deg)
    return np.array([math.sin(th), math.cos(th)])


def orientation_gap(a: float, b: float) -> float:
    """Difference of two grid orientations (degrees, period 90), in [0, 45]."""
    return abs((a - b + 45.0) % 90.0 - 45.0)


def city_centre(base_builtup: np.ndarray, grid: Grid) -> np.ndarray | None:
    """Centroid (x, y, metres) of the cells of ``base_builtup``; None when there are none."""
    n, sum_r, sum_c = 0, 0, 0
    for r0, r1 in row_blocks(base_builtup.shape):
        rr, cc = np.nonzero(base_builtup[r0:r1])
        n += len(rr)
        sum_r += int(rr.sum()) + r0 * len(rr)
        sum_c += int(cc.sum())
    if n == 0:
        return None
    return np.array([grid.left + (sum_c / n + 0.5) * grid.res, grid.top - (sum_r / n + 0.5) * grid.res])


def angular_histograms(area: np.ndarray, grid: Grid, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 1° of bearing from ``centre``: the cells of ``area``, and the sum of
    ``res / r`` over them (r their distance from the centre, metres): the length of
    a ray at that bearing through the area, in cells, is about that sum × 57.3."""
    cells = np.zeros(360)
    ray = np.zeros(360)
    xs, ys = grid.cell_centres()
    for r0, r1 in row_blocks(area.shape):
        rr, cc = np.nonzero(area[r0:r1])
        if not len(rr):
            continue
        x, y = xs[cc], ys[rr + r0]
        b = np.floor(bearing_from(centre, x, y)).astype(np.int64) % 360
        r = np.maximum(np.hypot(x - centre[0], y - centre[1]), grid.res)
        cells += np.bincount(b, minlength=360)
        ray += np.bincount(b, weights=grid.res / r, minlength=360)
    return cells, ray


def radial_bearing(cells: np.ndarray, first_deg: int, width_deg: int) -> float:
    """Grid orientation of a radial sector: the cell-weighted mean bearing of its
    1° bins, modulo 90 (its bisector when it holds no cells; north-up, 0, for a
    whole circle whose cells lie all around the centre)."""
    bins = (first_deg + np.arange(width_deg)) % 360
    w = cells[bins]
    phi = np.radians(bins + 0.5)
    sx, cy = float(np.sum(w * np.sin(phi))), float(np.sum(w * np.cos(phi)))
    if w.sum() <= 0 or math.hypot(sx, cy) < 0.25 * w.sum():  # no cells, or all around the centre
        return (first_deg + width_deg / 2.0) % 90.0 if width_deg < 360 else 0.0
    return round(math.degrees(math.atan2(sx, cy)) % 90.0, 6)


def city_sectors(area: np.ndarray, grid: Grid, centre: np.ndarray, seg: np.ndarray, seg_len: np.ndarray,
                 spacing: float, road_bearing, *, wedges: int = WEDGES, merge_deg: float = MERGE_DEG,
                 min_superblocks: float = MIN_SECTOR_SUPERBLOCKS,
                 min_road_spacings: float = MIN_ROAD_SPACINGS) -> list[Sector]:
    """The sectors of the city (see the module's docstring), in order of bearing.

    Parameters
    ----------
    area : bool raster of the land to split (the plan passes the city's land, see above).
    centre : (x, y) of the city's centre, metres in the grid's CRS.
    seg, seg_len : existing arterial segments (n × 2 × 2, metres) and their lengths.
    spacing : arterial spacing, metres.
    road_bearing : ``f(seg, seg_len) -> degrees``, the dominant bearing of segments
        (:func:`expansion.plan.arterials.segments_bearing`).
    """
    cells, ray = angular_histograms(area, grid, centre)
    width = 360 // wedges
    smooth = sum(np.roll(ray, s) for s in range(-2, 3))
    cost = [sum(smooth[(rho + k * width) % 360] for k in range(wedges)) for rho in range(width)]
    rot = int(np.argmin(cost))
    seg_bin = (np.floor(bearing_from(centre, *seg.mean(axis=1).T)).astype(np.int64) % 360 if len(seg)
               else np.zeros(0, np.int64))
    min_cells = min_superblocks * spacing * spacing / grid.cell_area_m2

    def describe(first: int, count: int) -> Sector:
        start, span = (rot + first * width) % 360, count * width
        inside = (seg_bin - start) % 360 < span
        n = int(cells[(start + np.arange(span)) % 360].sum())
        if seg_len[inside].sum() >= min_road_spacings * spacing:
            return Sector(float(start), float(span), float(road_bearing(seg[inside], seg_len[inside])),
                          "roads", n)
        return Sector(float(start), float(span), radial_bearing(cells, start, span), "radial", n)

    groups = [(k, 1) for k in range(wedges)]  # (first wedge, wedges), in circular order
    sectors = [describe(*g) for g in groups]

    def merge_next(i: int) -> None:
        """Group i and the one after it (around the circle) become one."""
        j = (i + 1) % len(groups)
        merged = (groups[i][0], groups[i][1] + groups[j][1])
        keep, drop = (i, j) if j > i else (j, i)
        groups[keep], sectors[keep] = merged, describe(*merged)
        del groups[drop], sectors[drop]

    while len(groups) > 1:  # small sectors join their larger neighbour
        small = [i for i, s in enumerate(sectors) if s.cells < min_cells]
        if not small:
            break
        i = min(small, key=lambda k: (sectors[k].cells, k))
        prev, nxt = (i - 1) % len(groups), (i + 1) % len(groups)
        merge_next(i if sectors[nxt].cells > sectors[prev].cells else prev)
    while len(groups) > 1:  # neighbours of about the same orientation become one
        n = len(groups)
        gap, i = min((orientation_gap(sectors[i].bearing_deg, sectors[(i + 1) % n].bearing_deg), i)
                     for i in range(n if n > 2 else 1))
        if gap >= merge_deg:
            break
        merge_next(i)
    if len(groups) == 1:
        s = sectors[0]
        sectors = [Sector(0.0, 360.0, s.bearing_deg, s.source, s.cells)]
    return sorted(sectors, key=lambda s: s.start_deg)


def ray_crossing(centre: np.ndarray, bearing_deg: float, point: np.ndarray,
                 along: np.ndarray) -> float | None:
    """Parameter t at which the line ``point + t·along`` meets the ray from
    ``centre`` at ``bearing_deg`` (None if parallel or behind the centre)."""
    u = unit(bearing_deg)
    den = along[0] * u[1] - along[1] * u[0]
    if abs(den) < 1e-12:
        return None
    d = point - centre
    t = -(d[0] * u[1] - d[1] * u[0]) / den
    if (d + t * along) @ u < 0:
        return None
    return float(t)
