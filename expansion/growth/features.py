"""Features of the growth model: distances and built-up shares (dynamic, recomputed as
growth runs) and the layers read from the stack (static). Distances in metres in the
grid's CRS."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

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


def builtup_share(built: np.ndarray, radius_m: float, res: float,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Built-up share of the square window of half-width ``radius_m`` (float32).

    The bool grid is filtered as it is (scipy reads it into float64 lines), which
    gives the bytes of filtering a float32 copy without making one."""
    if out is None:
        out = np.empty(built.shape, np.float32)
    ndimage.uniform_filter(built, _window(radius_m, res), output=out, mode="constant")
    return out


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
    buf = np.empty(built.shape, np.float32)
    for r in radii_for(res):
        f[f"share_{int(r)}m"] = builtup_share(built, r, res, out=buf).ravel()[sample]
    del buf
    for n in names:
        if n in STATIC_FEATURES:
            f[n] = static_feature(n, stack, lambda a: np.asarray(a).ravel()[sample])
    return f

