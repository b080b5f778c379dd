"""Hazardous land: flood-prone and steep land, one definition for every stage.

Suitability (the flood factor and the hard constraints), the plan (floodplain
and steep-slope open space, arterials kept off steep land) and risk (the hazard
score) all read these functions, so that "flood-prone" and "steep" mean the
same thing on every map. Arrays are on the stack's grid; distances and heights
in metres, slopes in percent.
"""

from __future__ import annotations

import numpy as np

from .stack import Stack

MAX_SLOPE_PCT = 30.0  # default slope limit (percent): steeper land is not built on

FLOOD_BUFFER_M = 100.0  # floodplain: this close to rivers and lakes ...
LOW_HAND_M = 2.0  # ... or lower than this above the nearest water ...
LOW_HAND_WITHIN_M = 500.0  # ... within this distance of it

FLOOD_DISTANCE_M = 500.0  # suitability: beyond this distance from water, no flood exposure
FLOOD_HEIGHT_M = 10.0  # suitability: beyond this height above the nearest water, no flood exposure


def steep(slope_pct: np.ndarray, max_slope_pct: float) -> np.ndarray:
    """Slope above ``max_slope_pct`` (percent); NaN counts as flat (0 %)."""
    out = slope_pct > max_slope_pct
    if max_slope_pct < 0:
        out |= np.isnan(slope_pct)
    return out


def floodplain(stack: Stack) -> np.ndarray:
    """Flood-prone land (bool): within 100 m of water, or less than 2 m above the
    nearest water within 500 m of it where a DEM exists, or a mapped flood zone;
    nowhere when the stack has neither water nor flood zones."""
    flood = stack.water_dist_m <= FLOOD_BUFFER_M
    if stack.height_above_water_m is not None:  # NaN: unknown height, not low
        flood |= (stack.height_above_water_m < LOW_HAND_M) & (stack.water_dist_m <= LOW_HAND_WITHIN_M)
    if stack.flood is not None:
        flood |= stack.flood
    if not stack.water.any() and stack.flood is None:
        flood = np.zeros(stack.grid.shape, bool)
    return flood


def hazard_block(stack: Stack, sl: slice) -> np.ndarray:
    """Hazard in [0, 1] (float32) of the rows ``sl``: the larger of flood and slope hazard.

    Flood is 1 inside mapped flood zones and on water banks (within 100 m of
    water); elsewhere within 500 m of water it falls linearly from 1 at 1 m to
    0 at 5 m above the nearest water (where a DEM exists; without a DEM, from 1
    at 100 m to 0 at 300 m from water). Slope is 0 up to 15 %, rising linearly
    to 1 at 30 %.
    """
    shape = stack.valid[sl].shape
    flood = np.zeros(shape, np.float32)
    if stack.has_water:
        d = stack.water_dist_m[sl]
        if stack.height_above_water_m is not None:
            h = np.nan_to_num(stack.height_above_water_m[sl], nan=1e6)
            low = np.clip((5.0 - h) / 4.0, 0.0, 1.0) * (d <= 500)
        else:
            low = np.clip((300.0 - d) / 200.0, 0.0, 1.0)
        flood = np.maximum(low, (d <= 100).astype(np.float32)).astype(np.float32)
    if stack.flood is not None:
        flood[stack.flood[sl]] = 1.0
    slope = np.zeros(shape, np.float32)
    if stack.slope_pct is not None:
        slope = np.clip((np.nan_to_num(stack.slope_pct[sl]) - 15.0) / 15.0, 0.0, 1.0).astype(np.float32)
    return np.maximum(flood, slope)


def flood_safety_block(stack: Stack, sl: slice) -> np.ndarray:
    """Safety from flooding in [0, 1] (float32) of the rows ``sl``, from distance to
    water ``d`` and, where a DEM exists, height above the nearest water ``h``:
    ``s_d = min(1, d / 500)``, ``s_h = min(1, h / 10)``, ``1 − (1 − s_d)·(1 − s_h)``
    (exposed only when both near water and low above it); without a DEM (or in a
    DEM gap), ``s_d``."""
    s_d = np.clip(stack.water_dist_m[sl] / np.float32(FLOOD_DISTANCE_M), 0, 1)
    if stack.height_above_water_m is not None:
        s_h = np.clip(stack.height_above_water_m[sl] / np.float32(FLOOD_HEIGHT_M), 0, 1)
        flood = 1.0 - (1.0 - s_d) * (1.0 - s_h)
        flood = np.where(np.isnan(flood), s_d, flood)  # DEM gap: distance only
    else:
        flood = s_d
    return flood.astype(np.float32)


def hard_constraint_block(stack: Stack, sl: slice, max_slope_pct: float) -> np.ndarray:
    """Land that never develops (bool) on the rows ``sl``: outside the study area,
    water, protected land, slope above ``max_slope_pct`` (NaN: flat), mapped flood zones."""
    ex = ~stack.valid[sl] | stack.water[sl] | stack.protected[sl]
    if stack.slope_pct is not None:
        ex |= np.nan_to_num(stack.slope_pct[sl], nan=0.0) > max_slope_pct
    if stack.flood is not None:
        ex |= stack.flood[sl]
    return ex
