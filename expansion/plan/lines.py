"""Straight arterial lines laid over the grid: sampled every third of a cell, cut into
runs over passable land, with the stretches over built land (or specks of protected
land) that could join two runs kept aside as candidate bridges.

Coordinates are metres in the grid's CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from ..grid import Grid


def cells_of(xs, ys, grid: Grid):
    """Row and column of the cells under points (clipped to the grid) and whether each point is on it."""
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


def runs_on(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample of every run of ``ok`` (two samples or more)."""
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    s, e = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return s[e > s], e[e > s]


def bridgeable(s: np.ndarray, e: np.ndarray, bridge: np.ndarray, step: float, max_len: float) -> np.ndarray:
    """Bool per pair of consecutive runs i, i + 1 (first samples ``s``, last ``e``):
    whether a bridge may join them, every sample between them lying on ``bridge``,
    and the last sample of run i at most ``max_len`` metres from the first of run i + 1."""
    out = np.zeros(max(len(s) - 1, 0), bool)
    for i in range(len(s) - 1):
        a, b = e[i] + 1, s[i + 1]
        out[i] = (b - a + 1) * step <= max_len + 1e-6 and bool(np.all(bridge[a:b]))
    return out


@dataclass
class Traced:
    """Pieces of traced lines: ``runs`` (LineStrings over passable land), each with
    ``keys`` ``(line, t0, t1)`` (its line and where it starts and ends along it,
    metres) and ``tags`` (whatever the caller passed, e.g. its sector); candidate
    ``bridges`` ``(LineString, run a, run b, cost in metres, key, tag)``;
    ``dead_ends`` ``(point, run)``: ends stopped by something other than an
    obstacle (a band along an existing road, a sector's edge), to be joined."""

    runs: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    bridges: list = field(default_factory=list)
    dead_ends: list = field(default_factory=list)
    lines: int = 0


def trace_line(out: Traced, origin: np.ndarray, along: np.ndarray, ts: np.ndarray, passable: np.ndarray,
               grid: Grid, min_len: float, *, bridge: np.ndarray | None = None, bridge_len: float = 0.0,
               keep: np.ndarray | None = None, band: np.ndarray | None = None, snap=None, tag=None,
               cost: np.ndarray | None = None) -> None:
    """Lay the line ``origin + t·along`` (t in ``ts``, metres, evenly spaced) into ``out``.

    A sample is usable where it is on the grid, on ``passable``, inside ``keep`` (a
    bool per sample, e.g. inside a sector) and off ``band`` (a raster, e.g. near a
    parallel existing arterial). A gap between two runs of usable samples whose
    samples all lie on ``bridge`` (and inside ``keep``), at most ``bridge_len``
    metres long (from the last usable sample to the next), is a candidate bridge.
    Runs shorter than ``min_len`` are dropped unless a candidate bridge touches
    them. A bridge costs the metres of its samples on ``cost`` (e.g. built land;
    all its samples without). A run that ends because the next sample leaves ``keep``
    (passable still) ends at ``snap(t_in, t_out)`` when given (e.g. exactly on the
    sector's boundary ray) and is a dead end to join, as is one stopped by ``band``.
    """
    step = float(ts[1] - ts[0])
    xs, ys = origin[0] + ts * along[0], origin[1] + ts * along[1]
    rows, cols, inside = cells_of(xs, ys, grid)
    raw = inside & passable[rows, cols]
    kept = np.ones(len(ts), bool) if keep is None else keep
    ok = raw & kept
    if band is not None:
        ok &= ~band[rows, cols]
    s, e = runs_on(ok)
    joins = bridgeable(s, e, inside & bridge[rows, cols] & kept, step, bridge_len) if bridge is not None \
        else np.zeros(max(len(s) - 1, 0), bool)
    # a run shorter than min_len stays only where a bridge may join it to the next or the previous one
    near_bridge = np.concatenate([joins, [False]]) | np.concatenate([[False], joins])
    long = (ts[e] - ts[s] >= min_len) | near_bridge
    if not long.any():
        return
    line = out.lines
    out.lines += 1
    n = len(ts)
    index = {}
    for j in np.flatnonzero(long):
        i0, i1 = s[j], e[j]
        t0, t1 = float(ts[i0]), float(ts[i1])
        for end, beyond in ((0, i0 - 1), (1, i1 + 1)):
            if not (0 <= beyond < n and raw[beyond]):
                continue  # an obstacle or the edge of the area: a true end
            if not kept[beyond] and snap is not None:
                t = snap(float(ts[i0] if end == 0 else ts[i1]), float(ts[beyond]))
                if t is not None:
                    t0, t1 = (t, t1) if end == 0 else (t0, t)
            point = origin + (t0 if end == 0 else t1) * along
            out.dead_ends.append((tuple(point), len(out.runs)))
        index[j] = len(out.runs)
        out.runs.append(shapely.LineString([origin + t0 * along, origin + t1 * along]))
        out.keys.append((line, t0, t1))
        out.tags.append(tag)
    for j in np.flatnonzero(joins):
        ta, tb = float(ts[e[j]]), float(ts[s[j + 1]])
        geom = shapely.LineString([origin + ta * along, origin + tb * along])
        gap = slice(e[j] + 1, s[j + 1])
        off = np.count_nonzero(cost[rows[gap], cols[gap]]) if cost is not None else s[j + 1] - e[j] - 1
        off_m = float(off) * step
        out.bridges.append((geom, index[j], index[j + 1], off_m, (line, ta, tb), tag))


def line_span(points: np.ndarray, normal: np.ndarray, along: np.ndarray, pad: float):
    """Range of ``p·normal`` and ``p·along`` over ``points`` (n × 2), padded by ``pad``."""
    c, t = points @ normal, points @ along
    return c.min() - pad, c.max() + pad, t.min() - pad, t.max() + pad
