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
    like[5:8, 40:50] = 0.5    # and some elsewhere
    stack.road_dist_m[:] = 2500.0
    r = _risk(stack, like)
    base = stack.builtup[2020]
    s = risk_summary(r, like, base, stack.valid, stack.grid.cell_area_ha, new_residents=1000.0)
    grow = np.where(stack.valid & ~base, like, 0)
    assert s["expected_growth_ha"] == pytest.approx(grow.sum() * 0.09)
    high = np.nan_to_num(r.score) >= HIGH_RISK
    # one definition: the map's high classes, the score >= 0.3 and the headline are the same land
    assert np.array_equal(r.high_land, high) and np.array_equal(high, (r.classes >= 3) & (r.classes != 255))
    assert high.any() and s["high_risk_ha"] == pytest.approx(high.sum() * 0.09)
    assert s["high_risk_people"] == pytest.approx(1000.0 * grow[high].sum() / grow.sum())
    assert 0 < s["high_risk_people"] <= 1000.0
    assert 0 < s["hazard_share"] <= 1
    spots = hotspots(r, like, stack, people_per_ha=1000.0 / s["expected_growth_ha"])
    assert len(spots) >= 1 and spots.crs == stack.grid.crs
    # the hotspots layer adds up to the headline: an official finds its hectares and people in QGIS
    assert spots["hectares"].sum() == pytest.approx(s["high_risk_ha"], rel=1e-6)
    assert spots["people"].sum() == pytest.approx(s["high_risk_people"], rel=1e-6)
    assert set(spots.columns) >= {"policy", "hectares", "people", "hazard_share", "geometry"}
    assert spots.geometry.area.sum() == pytest.approx(spots["hectares"].sum() * 10_000)


def test_without_a_roads_layer_distance_to_roads_is_left_out(stack):
    assert weights_for(RiskConfig(), has_roads=False) == pytest.approx(
        {"hazard": 0.4 / 0.65, "unserviced": 0.0, "pressure": 0.25 / 0.65})
    like = np.full(stack.grid.shape, 0.9, np.float32)
    stack.has_roads = False
    stack.road_dist_m[:] = 1e5  # no roads: the distance would say "unserviced" everywhere
    far = _risk(stack, like)
    stack.road_dist_m[:] = 0.0
    near = _risk(stack, like)
    assert np.array_equal(far.score, near.score, equal_nan=True)
    with pytest.raises(ConfigError, match="without a roads layer"):
        weights_for(RiskConfig(weights={"hazard": 0, "pressure": 0}), has_roads=False)


def test_without_hazard_data_the_hazard_term_is_left_out(stack):
    from expansion.risk import hazard_assessed

    assert hazard_assessed(stack)
    assert weights_for(RiskConfig(), has_hazard=False) == pytest.approx(
        {"hazard": 0.0, "unserviced": 0.35 / 0.6, "pressure": 0.25 / 0.6})
    stack.has_water, stack.slope_pct, stack.flood = False, None, None
    stack.water_dist_m[:] = 1e5
    assert not hazard_assessed(stack)
    like = np.full(stack.grid.shape, 0.9, np.float32)
    r = _risk(stack, like, keep_factors=True)
    assert not r.hazard.any()
    w = weights_for(RiskConfig(), has_hazard=False)
    ok = stack.valid & ~stack.builtup[2020]
    expect = (w["unserviced"] * r.unserviced + w["pressure"] * r.pressure) * 0.9
    assert np.allclose(r.score[ok], np.clip(expect[ok], 0, 1), atol=1e-6)  # not diluted by a hazard of 0
    with pytest.raises(ConfigError, match="hazard"):
        weights_for(RiskConfig(weights={"unserviced": 0, "pressure": 0}), has_hazard=False)


@pytest.mark.parametrize("residents", [0.0, 10.0, 1e6])
def test_people_at_high_risk_never_exceed_the_new_residents(stack, residents):
    like = np.full(stack.grid.shape, 1.0, np.float32)  # everything grows, most of it on high-risk land
    stack.road_dist_m[:] = 5000.0
    r = _risk(stack, like)
    s = risk_summary(r, like, stack.builtup[2020], stack.valid, stack.grid.cell_area_ha, residents)
    assert r.high_land.mean() > 0.5
    assert 0 <= s["high_risk_people"] <= residents


def test_people_at_high_risk_keep_the_density_of_the_new_land_when_it_does_not_fit(stack):
    """Unmet demand: the expected new land is less than the demand asks for. The residents of the land
    that does not fit are not crowded onto the land that is left (which made securing land look as if it
    put more people at risk: Rionegro at half enforcement, 7,242 against 7,057 if nothing is done)."""
    like = np.zeros(stack.grid.shape, np.float32)
    like[50:57, 0:20] = 1.0
    stack.road_dist_m[:] = 2500.0
    r = _risk(stack, like)
    base = stack.builtup[2020]
    args = (r, like, base, stack.valid, stack.grid.cell_area_ha, 1000.0)
    grow = float(np.where(stack.valid & ~base, like, 0).sum())
    high = float(like[r.high_land].sum())
    placed = risk_summary(*args)  # no demand given: the expected new land is the denominator
    assert placed["high_risk_people"] == pytest.approx(1000.0 * high / grow)
    short = risk_summary(*args, demanded_cells=4 * grow)  # four times more land asked for than fits
    assert short["high_risk_people"] == pytest.approx(1000.0 * high / (4 * grow))
    assert short["people_per_ha"] == pytest.approx(1000.0 / (4 * grow * stack.grid.cell_area_ha))
    # less demand than expected land (never with a calibrated probability) changes nothing
    assert risk_summary(*args, demanded_cells=grow / 2)["high_risk_people"] == placed["high_risk_people"]
    assert placed["max_score"] == pytest.approx(float(np.nanmax(r.score)))


def test_residents_on_hazard_land_come_from_the_population_layer(stack):
    from expansion.risk import residents_on_hazard_land

    hz = hazard_score(stack)
    assert residents_on_hazard_land(stack, hz) is None
    stack.population = np.full(stack.grid.shape, 2.0, np.float32)
    on_hazard = np.count_nonzero((hz >= 0.5) & stack.valid)
    assert residents_on_hazard_land(stack, hz) == pytest.approx(2.0 * on_hazard)


def test_beyond_the_roads_coverage_distance_to_roads_is_left_out(stack):
    like = np.full(stack.grid.shape, 0.9, np.float32)
    cover = np.zeros(stack.grid.shape, bool)
    cover[:, : stack.grid.width // 2] = True  # the roads layer covers the western half
    stack.roads_coverage = cover
    stack.road_dist_m[:] = 3000.0
    far = _risk(stack, like)
    stack.road_dist_m[:] = 0.0
    near = _risk(stack, like)
    east, west = ~cover & stack.valid, cover & stack.valid
    assert np.array_equal(far.score[east], near.score[east])  # unknown there: the distance does not count
    assert np.all(far.score[west] >= near.score[west]) and np.any(far.score[west] > near.score[west])
    w = weights_for(RiskConfig())
    h, p = far.hazard, pressure_score(stack, stack.builtup[2020])
    expect = (w["hazard"] * h + w["pressure"] * p) / (w["hazard"] + w["pressure"]) * 0.9
    base = stack.builtup[2020]
    ok = east & ~base
    assert np.allclose(far.score[ok], np.clip(expect[ok], 0, 1), atol=1e-6)


def test_without_hazard_data_risk_beyond_the_roads_cover_is_not_assessed(stack):
    """No DEM, no water or flood layer and a roads layer covering the western half: in the east no term but
    growth pressure is known, so the risk there is blank (NaN, never high-risk land), not crowding read as
    risk; the west keeps its score."""
    from expansion.risk import assessed_share, risk_assessed, roads_share

    stack.has_water, stack.slope_pct, stack.flood = False, None, None
    stack.water_dist_m[:] = 1e5
    cover = np.zeros(stack.grid.shape, bool)
    cover[:, : stack.grid.width // 2] = True
    stack.roads_coverage = cover
    stack.road_dist_m[:] = 3000.0  # far from roads: high risk where growth is likely
    like = np.full(stack.grid.shape, 1.0, np.float32)
    r = _risk(stack, like)
    ok = stack.valid & ~stack.builtup[2020]
    assert np.isnan(r.score[ok & ~cover]).all() and not r.high_land[~cover].any()
    assert np.isfinite(r.score[ok & cover]).all() and r.high_land[ok & cover].any()
    assert (r.classes[stack.valid & ~cover] == 0).all()  # drawn as nothing, not as a risk class
    share = np.count_nonzero(cover & stack.valid) / np.count_nonzero(stack.valid)
    assert risk_assessed(stack) and roads_share(stack) == assessed_share(stack) == pytest.approx(share)
    s = risk_summary(r, like, stack.builtup[2020], stack.valid, stack.grid.cell_area_ha, 1000.0)
    assert np.isfinite(s["max_score"]) and 0 < s["high_risk_people"] < 1000.0
    # with hazard data the east is assessed (hazard and pressure) and keeps a score
    stack.slope_pct = np.zeros(stack.grid.shape, np.float32)
    assert assessed_share(stack) == 1.0 and np.isfinite(_risk(stack, like).score[ok]).all()
