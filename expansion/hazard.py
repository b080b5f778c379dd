"""Hazardous land: flood-prone and steep land, one definition for every stage.

Suitability (the flood factor and the hard constraints), the plan (floodplain
and steep-slope open space, arterials kept off steep land) and risk (the hazard
score and "hazard land") all read these functions, so that "flood-prone" and
"steep" mean the same thing on every map. Arrays are on the stack's grid;
distances and heights in metres, slopes in percent.

Flood hazard, in [0, 1] per cell:

- 1 inside mapped flood zones and on water banks (within :data:`BANK_M` of water);
- elsewhere within :data:`NEAR_WATER_M` of water, from the height above the
  nearest water ``h`` where a DEM exists: 1 at :data:`LOW_M` or lower, falling
  linearly to 0 at :data:`HIGH_M`; without a DEM, from the distance ``d``: 1 at
  :data:`BANK_M`, falling linearly to 0 at three times that;
- 0 beyond, and everywhere when the stack has neither water nor flood zones.

**Flood-prone** land is flood hazard of at least :data:`PRONE` (one half): with a
DEM, the banks plus land up to 3 m above the nearest water within 500 m of it;
without one, land within 200 m of water; and mapped flood zones.

Slope hazard is 0 up to half the slope limit, rising linearly to 1 at the limit
(:data:`MAX_SLOPE_PCT` by default: 15 % and 30 %, the two "unbuildable" cut-offs
of Parent's Urban Growth Analysis); **steep** land is above the limit.
"""

from __future__ import annotations

import numpy as np

from .grid import row_slices
from .stack import Stack

MAX_SLOPE_PCT = 30.0  # default slope limit (percent): steeper land is not built on

BANK_M = 100.0  # water banks: this close to rivers and lakes is flood hazard 1
NEAR_WATER_M = 500.0  # with a DEM, low land floods only this close to water
LOW_M = 1.0  # with a DEM: hazard 1 at or below this height above the nearest water ...
HIGH_M = 5.0  # ... falling to 0 at this height
PRONE = 0.5  # flood-prone (and "hazard land" in risk): hazard at least this


def steep(slope_pct: np.ndarray, max_slope_pct: float) -> np.ndarray:
    """Slope above ``max_slope_pct`` (percent); NaN counts as flat (0 %)."""
    out = slope_pct > max_slope_pct
    if max_slope_pct < 0:
        out |= np.isnan(slope_pct)
    return out


def flood_block(stack: Stack, sl: slice) -> np.ndarray:
    """Flood hazard in [0, 1] (float32) of the rows ``sl`` (see the module docstring)."""
    flood = np.zeros(stack.valid[sl].shape, np.float32)
    if stack.has_water:
        d = stack.water_dist_m[sl]
        if stack.height_above_water_m is not None:
            h = np.nan_to_num(stack.height_above_water_m[sl], nan=1e6)  # DEM gap: not low
            low = np.clip((HIGH_M - h) / (HIGH_M - LOW_M), 0.0, 1.0) * (d <= NEAR_WATER_M)
        else:
            low = np.clip((3.0 * BANK_M - d) / (2.0 * BANK_M), 0.0, 1.0)
        flood = np.maximum(low, (d <= BANK_M).astype(np.float32)).astype(np.float32)
    if stack.flood is not None:
        flood[stack.flood[sl]] = 1.0
    return flood


def flood_prone(stack: Stack) -> np.ndarray:
    """Flood-prone land (bool): flood hazard of at least :data:`PRONE`."""
    out = np.empty(stack.grid.shape, bool)
    for sl in row_slices(stack.grid.shape):
        out[sl] = flood_block(stack, sl) >= PRONE
    return out


def hazard_block(stack: Stack, sl: slice, max_slope_pct: float = MAX_SLOPE_PCT) -> np.ndarray:
    """Hazard in [0, 1] (float32) of the rows ``sl``: the larger of flood and slope hazard."""
    flood = flood_block(stack, sl)
    if stack.slope_pct is None:
        return flood
    half = max_slope_pct / 2.0
    slope = np.clip((np.nan_to_num(stack.slope_pct[sl]) - half) / half, 0.0, 1.0).astype(np.float32)
    return np.maximum(flood, slope)


def hard_constraint_block(stack: Stack, sl: slice, max_slope_pct: float) -> np.ndarray:
    """Land that never develops (bool) on the rows ``sl``: outside the study area,
    water, protected land, steep land (above ``max_slope_pct``), mapped flood zones."""
    ex = ~stack.valid[sl] | stack.water[sl] | stack.protected[sl]
    if stack.slope_pct is not None:
        ex |= steep(stack.slope_pct[sl], max_slope_pct)
    if stack.flood is not None:
        ex |= stack.flood[sl]
    return ex
