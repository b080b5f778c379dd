"""Shared fixtures: tiny synthetic stacks and scenario files with a known CRS and grid."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from expansion.grid import Grid, distance_m
from expansion.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# The run date on pages and static maps comes from here (reproducible builds), so runs compared
# for identical bytes agree even across midnight; the CLI runs of the tests inherit it.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01


def make_stack(n: int = 60, res: float = 30.0) -> Stack:
    """A plain n x n stack: a built-up blob in the middle, a river along the
    bottom rows, an arterial road along the middle row, flat terrain."""
    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=res, width=n, height=n)
    shape = grid.shape
    yy, xx = np.mgrid[0:n, 0:n]
    built = (yy - n // 2) ** 2 + (xx - n // 2) ** 2 <= (n // 8) ** 2
    water = yy >= n - 3
    road = yy == n // 2

    dem = (100.0 - yy * 0.0).astype(np.float32)
    return Stack(
        grid=grid, name="Test Town", synthetic=True,
        valid=np.ones(shape, bool),
        builtup={2010: built.copy(), 2020: built.copy()},
        water=water, water_dist_m=distance_m(water, res),
        arterial_dist_m=distance_m(road, res), road_dist_m=distance_m(road, res),
        protected=np.zeros(shape, bool),
        dem=dem, slope_pct=np.zeros(shape, np.float32),
        height_above_water_m=np.where(water, 0, 10).astype(np.float32),
        has_roads=True, has_water=True,
    )


@pytest.fixture
def stack() -> Stack:
    return make_stack()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the repository)")
    return SHARED_DATA
