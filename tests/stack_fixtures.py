"""Stacks for the modelling tests: a tiny synthetic city (Bacău comes from layers.build_stack).

Owned by the demand/suitability/growth/validation tests; conftest.py is someone else's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from expansion.grid import Grid
from expansion.stack import Stack

BACAU = Path(__file__).resolve().parents[2] / "shared" / "data" / "bacau"


def _dist(mask: np.ndarray, res: float) -> np.ndarray:
    if not mask.any():
        return np.full(mask.shape, float(np.hypot(*mask.shape) * res), np.float32)
    return ndimage.distance_transform_edt(~mask, sampling=res).astype(np.float32)


def synthetic_stack(size: int = 60, res: float = 30.0, *, dem: bool = True, roads: bool = True,
                    water: bool = True, years: tuple[int, ...] = (2000, 2010), seed: int = 0) -> Stack:
    """A small city: a built-up core that grows outwards along an east-west road.

    A river runs north-south near the east edge, a protected square sits in the
    south-west, the land rises steeply in the north-east, and a strip along the
    west edge is outside the study area.
    """
    rng = np.random.default_rng(seed)
    grid = Grid(crs="EPSG:32635", left=500_000.0, top=5_000_000.0, res=res, width=size, height=size)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    road_row = int(c)
    valid = np.ones((size, size), bool)
    valid[:, :2] = False
    r = np.hypot(rows - c, (cols - c) * 0.8)
    builtup = {}
    for i, year in enumerate(years):
        radius = size * (0.1 + 0.06 * i)
        along = (np.abs(rows - road_row) <= 1 + i) & (np.abs(cols - c) < size * (0.2 + 0.1 * i))
        b = ((r < radius) | along) & (rng.random((size, size)) > 0.05)
        if builtup:
            b |= builtup[years[i - 1]]
        builtup[year] = b & valid
    river = np.zeros((size, size), bool)
    if water:
        river[:, int(size * 0.85)] = True
    protected = np.zeros((size, size), bool)
    protected[int(size * 0.75):, 3:int(size * 0.2)] = True
    road = np.zeros((size, size), bool)
    arterial = np.zeros((size, size), bool)
    if roads:
        arterial[road_row, :] = True
        road[:, int(c)] = True
        road |= arterial
    elevation = slope = hand = None
    if dem:
        rise = np.clip(cols - size * 0.5, 0, None) * np.clip(c - rows, 0, None) * 0.35
        elevation = (100.0 + rise + 0.02 * cols * res).astype(np.float32)
        gy, gx = np.gradient(elevation, res)
        slope = (np.hypot(gx, gy) * 100).astype(np.float32)
        if water:
            _, idx = ndimage.distance_transform_edt(~river, return_indices=True)
            hand = np.clip(elevation - elevation[idx[0], idx[1]], 0, None).astype(np.float32)
    return Stack(grid=grid, name="Synthetic", synthetic=True, valid=valid, builtup=builtup,
                 water=river, water_dist_m=_dist(river, res), arterial_dist_m=_dist(arterial, res),
                 road_dist_m=_dist(road, res), protected=protected, dem=elevation, slope_pct=slope,
                 height_above_water_m=hand, has_roads=roads, has_water=water)
