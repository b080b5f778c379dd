"""Features of the growth model: distances and built-up shares (dynamic, recomputed as
growth runs) and the layers read from the stack (static). Distances in metres in the
grid's CRS."""

from __future__ import annotations

import numpy as np

from ..grid import distance_m
from ..stack import Stack
from .model import HAND_CLIP_M, LOCAL_ROAD_FEATURE, RADII_M, STATIC_FEATURES


def _window(radius_m: float, res: float) -> int:
    return max(3, 2 * int(round(radius_m / res)) + 1)


def radii_for(res: float) -> tuple[float, ...]:
    """The neighbourhood half-widths (m) of :data:`RADII_M` whose windows differ on cells of
    ``res`` metres: at 100 m the 30 m and 90 m windows are both 3 × 3 cells, the same
    feature twice, so only the first is kept."""
    seen, out = set(), []
    for r in RADII_M:
        w = _window(r, res)
        if w not in seen:
            seen.add(w)
            out.append(r)
    return tuple(out)


def feature_names(stack: Stack) -> tuple[str, ...]:
    """The model's features on this stack, in their order in the logit."""
    radii = radii_for(stack.grid.res)
    names = ["log_dist_builtup", "dist_builtup_km"] + [f"share_{int(r)}m" for r in radii]
    if stack.has_roads:
        names += ["log_dist_arterial", "log_dist_road"]
    if stack.slope_pct is not None:
        names.append("slope_pct")
    if stack.has_water or bool(stack.water.any()):
        names.append("log_dist_water")
        if stack.height_above_water_m is not None:
            names.append("height_above_water_m")
    return tuple(names)


def without_local_roads(stack: Stack) -> tuple[str, ...]:
    """The stack's features less the distance to any road (for a window the roads layer may
    post-date: a street drawn to serve growth "knows" where that growth went). The
    distance to arterial roads is kept: main roads mostly predate the growth they carry
    (the issue's "main roads only in the growth model")."""
    return tuple(n for n in feature_names(stack) if n != LOCAL_ROAD_FEATURE)


def builtup_shares(built: np.ndarray, radii_m, res: float, out: np.ndarray | None = None):
    """Yield ``(radius_m, share)`` for each of ``radii_m``: the built-up share of the square
    window of half-width ``radius_m`` round each cell (float32; land outside the grid counts
    as not built).

    All the windows' counts come from one summed-area table of ``built`` (exact integer
    counts), so each further radius costs two subtractions and a division; the share is
    the count divided by the window's cells, correctly rounded to float32. ``share`` is
    the same array (``out`` when given) every time: use it before taking the next.
    """
    radii = list(radii_m)
    if not radii:
        return
    halves = [_window(r, res) // 2 for r in radii]
    hm = max(halves)
    h_, w_ = built.shape
    dtype = np.int32 if built.size < 2**31 else np.int64
    # table[hm + i, hm + j] = cells built in rows < i and columns < j, with i and j clipped to
    # the grid (zero before it, the last row / column after it)
    table = np.zeros((h_ + 1 + 2 * hm, w_ + 1 + 2 * hm), dtype)
    inner = table[hm + 1:hm + 1 + h_, hm + 1:hm + 1 + w_]
    inner[...] = built
    np.cumsum(inner, axis=1, out=inner)  # along rows first: the contiguous axis
    np.cumsum(inner, axis=0, out=inner)
    table[hm + 1:hm + 1 + h_, hm + 1 + w_:] = inner[:, -1:]
    table[hm + 1 + h_:, :] = table[hm + h_, :]
    rows = np.empty((h_, table.shape[1]), dtype)
    share = np.empty(built.shape, np.float32) if out is None else out
    count = share.view(np.int32) if dtype == np.int32 else np.empty(built.shape, dtype)
    for r, h in zip(radii, halves):
        top, bottom = hm - h, hm + h + 1
        np.subtract(table[bottom:bottom + h_], table[top:top + h_], out=rows)
        np.subtract(rows[:, bottom:bottom + w_], rows[:, top:top + w_], out=count)
        np.divide(count, np.float32((2 * h + 1) ** 2), out=share, dtype=np.float32)
        yield r, share


def static_feature(name: str, stack: Stack, take, arterial_dist_m=None, road_dist_m=None) -> np.ndarray:
    """One static feature (float32) on the cells ``take`` picks from a grid (a row block, or
    sample cells): ``take(a)`` returns those cells of the grid ``a``.

    ``arterial_dist_m`` / ``road_dist_m`` replace the stack's distances (metres); the
    distance to any road is then the nearer of the two (planned arterials are roads too).
    """
    if name == "log_dist_arterial":
        art = stack.arterial_dist_m if arterial_dist_m is None else arterial_dist_m
        return np.log1p(np.asarray(take(art), np.float32))
    if name == "log_dist_road":
        road = stack.road_dist_m if road_dist_m is None else road_dist_m
        x = np.asarray(take(road), np.float32)
        if arterial_dist_m is not None:
            x = np.minimum(x, take(arterial_dist_m))
        return np.log1p(x)
    if name == "slope_pct":
        return np.array(take(stack.slope_pct), np.float32)  # a copy: callers fill it in place
    if name == "log_dist_water":
        return np.log1p(np.asarray(take(stack.water_dist_m), np.float32))
    if name == "height_above_water_m":
        return np.minimum(take(stack.height_above_water_m), HAND_CLIP_M).astype(np.float32)
    raise KeyError(name)


def sample_features(stack: Stack, names, built: np.ndarray, sample: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature of ``names`` at the flat cell indices ``sample`` (float32), with the
    neighbourhood features of ``built``. One grid-sized array at a time."""
    res = stack.grid.res
    f: dict[str, np.ndarray] = {}
    d = distance_m(built, res).ravel()[sample]
    f["log_dist_builtup"] = np.log1p(d)
    f["dist_builtup_km"] = d / np.float32(1000.0)
    for r, share in builtup_shares(built, radii_for(res), res):
        f[f"share_{int(r)}m"] = share.ravel()[sample]
    for n in names:
        if n in STATIC_FEATURES:
            f[n] = static_feature(n, stack, lambda a: np.asarray(a).ravel()[sample])
    return f

