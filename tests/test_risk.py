"""Informal-settlement risk on constructed cases: the ordering behaves."""

from __future__ import annotations

import numpy as np
import pytest

from expansion import grid
from expansion.config import RiskConfig
from expansion.errors import ConfigError
from expansion.risk import (
    HIGH_RISK,
    classify,
    hazard_score,
    hotspots,
    pressure_score,
    risk_for_policy,
    risk_summary,
    weights_for,
)


def _risk(stack, likelihood, **kw):
    base = stack.builtup[2020]
    blocked = np.zeros(stack.grid.shape, bool)
    return risk_for_policy(stack, "bau", likelihood, blocked, base, RiskConfig(), **kw)


def test_hazard_raises_risk(stack):
    like = np.full(stack.grid.shape, 0.8, np.float32)
    r = _risk(stack, like)
    near_river = (stack.grid.height - 5, 5)   # within 100 m of the river: flood hazard
    dry = (12, 5)                              # same distance from the road, far from water
    assert r.hazard[near_river] == 1.0 and r.hazard[dry] == 0.0
    # the two cells differ only in hazard (and a little in pressure): compare vulnerability terms
    assert r.score[near_river] > r.score[dry]


def test_steep_slope_is_hazard(stack):
    stack.slope_pct[:, :10] = 40.0
    stack.slope_pct[:, 10:20] = 22.5
    h = hazard_score(stack)
    assert h[10, 5] == 1.0 and h[10, 15] == pytest.approx(0.5) and h[10, 30] == 0.0


def test_planned_arterial_nearby_lowers_risk(stack):
    like = np.full(stack.grid.shape, 0.8, np.float32)
    far_cell = (5, 55)
    stack.road_dist_m[:] = 3000.0
    bau = _risk(stack, like, keep_factors=True)
    planned_roads = stack.road_dist_m.copy()
    planned_roads[far_cell] = 0.0
    planned = _risk(stack, like, road_dist_m=planned_roads, keep_factors=True)
    assert bau.unserviced[far_cell] == 1.0 and planned.unserviced[far_cell] == 0.0
    assert planned.score[far_cell] < bau.score[far_cell]


def test_cell_that_cannot_urbanize_has_zero_risk(stack):
    like = np.full(stack.grid.shape, 1.0, np.float32)
    blocked = np.zeros(stack.grid.shape, bool)
    blocked[40:45, 40:45] = True
    r = risk_for_policy(stack, "planned", like, blocked, stack.builtup[2020], RiskConfig())
    assert np.all(r.score[blocked] == 0)
    assert np.all(r.score[stack.builtup[2020]] == 0)  # already built: no new settlement
    assert r.score[50, 5] > 0
    zero = _risk(stack, np.zeros(stack.grid.shape, np.float32))
    assert np.nanmax(zero.score) == 0


def test_row_blocks_and_factors_give_the_same_bytes(stack, monkeypatch):
    like = np.linspace(0, 1, stack.grid.width * stack.grid.height, dtype=np.float32).reshape(stack.grid.shape)
    whole = _risk(stack, like, keep_factors=True)
    lean = _risk(stack, like)
    assert lean.unserviced is None and lean.pressure is None
    assert np.array_equal(whole.pressure, pressure_score(stack, stack.builtup[2020]))
    monkeypatch.setattr(grid, "STRIP_CELLS", stack.grid.width * 3 + 1)  # 3 rows a block
    blocks = _risk(stack, like, keep_factors=True)
    for r in (lean, blocks):
        assert r.score.tobytes() == whole.score.tobytes() and r.classes.tobytes() == whole.classes.tobytes()
    for name in ("hazard", "unserviced", "pressure"):
        assert getattr(blocks, name).tobytes() == getattr(whole, name).tobytes()
    args = (like, stack.builtup[2020], stack.valid, stack.grid.cell_area_ha, 100.0)
    assert risk_summary(blocks, *args) == pytest.approx(risk_summary(whole, *args), rel=1e-12)


def test_outside_study_area_is_nodata(stack):
    stack.valid[:, :3] = False
    r = _risk(stack, np.full(stack.grid.shape, 0.5, np.float32))
    assert np.isnan(r.score[:, :3]).all() and (r.classes[:, :3] == 255).all()


def test_weights_validated_and_normalized():
    assert sum(weights_for(RiskConfig()).values()) == pytest.approx(1.0)
    w = weights_for(RiskConfig(weights={"hazard": 2.0, "unserviced": 0.0, "pressure": 0.0}))
    assert w == {"hazard": 1.0, "unserviced": 0.0, "pressure": 0.0}
    with pytest.raises(ConfigError, match="unknown factor 'slope'; valid factors are: hazard"):
        weights_for(RiskConfig(weights={"slope": 1.0}))


def test_classes():
    score = np.array([[0.0, 0.1, 0.2, 0.4, 0.9]], np.float32)
    assert classify(score, np.ones(score.shape, bool)).tolist() == [[0, 1, 2, 3, 4]]


def test_summary_and_hotspots(stack):
    like = np.zeros(stack.grid.shape, np.float32)
    like[50:57, 0:20] = 1.0   # likely growth on the floodplain, far from the road
    stack.road_dist_m[:] = 2500.0
    r = _risk(stack, like)
    s = risk_summary(r, like, stack.builtup[2020], stack.valid, stack.grid.cell_area_ha, density_pph=100.0)
    high = np.nan_to_num(r.score) >= HIGH_RISK
    assert s["high_risk_ha"] == pytest.approx(high.sum() * 0.09)
    assert s["high_risk_people"] == pytest.approx(like[high].sum() * 0.09 * 100)
    assert 0 < s["hazard_share"] <= 1
    spots = hotspots(r, like, stack, density_pph=100.0)
    assert len(spots) >= 1 and spots.crs == stack.grid.crs
    assert spots["hectares"].sum() == pytest.approx(s["high_risk_ha"], rel=1e-6)
    assert set(spots.columns) >= {"policy", "hectares", "people", "hazard_share", "geometry"}
    assert spots.geometry.area.sum() == pytest.approx(spots["hectares"].sum() * 10_000)
