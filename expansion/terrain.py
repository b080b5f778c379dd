"""Terrain derivatives of a DEM on the analysis grid: slope and height above water.

Pure array functions (no file is read): the stack builder derives
``slope_pct`` and ``height_above_water_m`` with them, and the demo generator
can share them.
"""

from __future__ import annotations

import logging

import numpy as np

from .grid import row_blocks

log = logging.getLogger(__name__)


def slope_percent(dem: np.ndarray, res: float, out: np.ndarray | None = None) -> np.ndarray:
    """Slope in percent (rise / run × 100) of a DEM in metres on square cells of ``res`` metres.

    Central differences (as ``np.gradient``); where a neighbour is NaN (no data,
    the edge of the grid) the one-sided difference with the other neighbour is
    used, so the slope is NaN only where the cell or both neighbours on an axis
    have no elevation. Computed in strips of rows (each with the row above and
    below), into ``out`` (float32) when given.
    """
    h = dem.shape[0]
    out = np.empty(dem.shape, dtype="float32") if out is None else out
    for r0, r1 in row_blocks(dem.shape):
        a0, a1 = max(0, r0 - 1), min(h, r1 + 1)
        z = np.asarray(dem[a0:a1], dtype="float32")
        s = np.hypot(_nan_gradient(z, res, 1), _nan_gradient(z, res, 0)) * np.float32(100.0)
        out[r0:r1] = s[r0 - a0:r1 - a0]
    return out


def _nan_gradient(z: np.ndarray, res: float, axis: int) -> np.ndarray:
    pad = [(0, 0), (0, 0)]
    pad[axis] = (1, 1)
    zp = np.pad(z, pad, constant_values=np.nan)
    if axis == 0:
        before, after = zp[:-2], zp[2:]
    else:
        before, after = zp[:, :-2], zp[:, 2:]
    with np.errstate(invalid="ignore"):
        grad = (after - before) / np.float32(2 * res)
        one_sided = np.where(np.isnan(after), z - before, after - z) / np.float32(res)
    return np.where(np.isnan(grad), one_sided, grad)


def height_above_water(water: np.ndarray, dem: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Height above the nearest water cell (m, float32): the DEM minus the DEM at
    the nearest water cell that has an elevation (a simple HAND).

    Without any such water cell it is the height above the lowest point of the
    grid (where water would gather), and a warning is logged. The nearest water
    cell comes from scipy's feature transform (two int32 indices, 8 bytes a
    cell); the subtraction goes strip by strip into ``out`` when given.
    """
    from scipy.ndimage import distance_transform_edt

    out = np.empty(dem.shape, dtype="float32") if out is None else out
    target = water & ~np.isnan(dem)
    if not target.any():
        if np.isnan(dem).all():
            out[...] = np.nan
            return out
        log.warning("no water inside the DEM: flood-prone land is judged by its height above the lowest "
                    "point of the study area, not above the nearest river or lake")
        low = np.float32(np.nanmin(dem))
        for r0, r1 in row_blocks(dem.shape):
            out[r0:r1] = dem[r0:r1] - low
        return out
    ri, ci = distance_transform_edt(~target, return_distances=False, return_indices=True)
    del target
    for r0, r1 in row_blocks(dem.shape):
        out[r0:r1] = dem[r0:r1] - dem[ri[r0:r1], ci[r0:r1]]
    return out
