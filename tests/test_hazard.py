"""One definition of flood-prone and steep land, read by suitability, the plan and risk."""

from __future__ import annotations

import numpy as np
from conftest import plan_stack, suitability

from expansion import hazard, risk
from expansion.config import PlanConfig, SuitabilityConfig
from expansion.grid import row_slices
from expansion.plan import make_plan
from expansion.suitability import score


def test_every_stage_reads_the_same_flood_prone_land():
    stack = plan_stack()
    prone = hazard.flood_prone(stack)
    assert prone.any() and not prone.all()
    flood = np.concatenate([hazard.flood_block(stack, sl) for sl in row_slices(stack.grid.shape)])
    # suitability: safety is one minus the flood hazard
    s = score(stack, SuitabilityConfig(), 2020, keep_factors=True)
    assert np.allclose(s.factors["flood"], 1.0 - flood)
    # risk: hazard land includes all flood-prone land, and off steep slopes it is just that
    hz = risk.hazard_score(stack)
    gentle = stack.slope_pct <= hazard.MAX_SLOPE_PCT / 2
    assert np.array_equal((hz >= risk.HAZARD_LAND) & gentle, prone & gentle)
    # plan: its floodplain open space is flood-prone land
    sc, ex = suitability(stack)
    plan = make_plan(stack, sc, ex, 2000.0, PlanConfig(), stack.builtup[2020])
    floodplain = plan.open_space_kind == 1
    assert floodplain.any() and not np.any(floodplain & ~prone)


def test_flood_prone_without_a_dem_is_land_near_water():
    stack = plan_stack()
    stack.height_above_water_m = None
    prone = hazard.flood_prone(stack)
    assert np.array_equal(prone, stack.water_dist_m <= 2 * hazard.BANK_M)
    stack.has_water = False
    assert not hazard.flood_prone(stack).any()


def test_steep_land_is_above_the_limit_and_nan_is_flat():
    slope = np.array([np.nan, 10.0, 30.0, 31.0], np.float32)
    assert hazard.steep(slope, 30.0).tolist() == [False, False, False, True]
