"""The Making Room plan on a synthetic city (tests/plan_fixtures.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sqlite3

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import BEARING, plan_stack, suitability

from expansion.config import PlanConfig
from expansion.outputs.plan_gpkg import write_plan_gpkg
from expansion.plan import (
    OPEN_KINDS,
    dominant_bearing,
    make_plan,
    plan_metrics,
)

NEED_HA = 2000.0


@pytest.fixture(scope="module")
def city():
    stack = plan_stack()
    score, excluded = suitability(stack)
    base = stack.builtup[2020]
    plan = make_plan(stack, score, excluded, NEED_HA, PlanConfig(), base)
    return stack, score, excluded, base, plan


def test_expansion_area_meets_the_generous_land_need(city):
    stack, _, excluded, base, plan = city
    m = plan_metrics(plan)
    assert m["target_ha"] == NEED_HA * 1.5
    assert m["new_land_ha"] == pytest.approx(m["target_ha"], rel=0.02)
    assert not np.any(plan.expansion_area & stack.water)
    assert not np.any(plan.expansion_area & ~stack.valid)
    assert not np.any(plan.expansion_area & base)
    # A few compact polygons whose areas are the figures reported, and close to the raster's.
    assert 1 <= len(plan.expansion) <= 5
    assert m["expansion_area_ha"] == pytest.approx(plan.expansion.geometry.area.sum() / 10_000, rel=1e-9)
    cell_ha = stack.grid.cell_area_ha
    assert m["expansion_area_ha"] == pytest.approx(plan.expansion_area.sum() * cell_ha, rel=0.02)
    assert m["open_space_ha"] == pytest.approx(plan.open_space.geometry.area.sum() / 10_000, rel=1e-9)
    assert m["open_space_ha"] == pytest.approx(plan.open_space_mask.sum() * cell_ha, rel=1e-9)
    # Grown outward: every expansion cell is nearer the city than the farthest ring allows.
    from scipy import ndimage
    d = ndimage.distance_transform_edt(~base, sampling=stack.grid.res)
    assert d[plan.expansion_area].max() < 4000


def test_grid_spacing_row_share_and_coverage(city):
    m = plan_metrics(city[4])
    assert m["arterial_spacing_m"] == pytest.approx(1000.0, rel=0.10)
    assert 0.05 <= m["row_share"] <= 0.07
    assert m["within_500m_share"] >= 0.95
    assert m["arterials_planned_km"] > 20
    assert m["arterials_existing_km"] > 0


def test_grid_follows_the_existing_arterials(city):
    stack, *_, plan = city
    assert plan.bearing_deg == pytest.approx(BEARING, abs=0.01)
    th = math.radians(BEARING)
    normal = np.array([math.cos(th), -math.sin(th)])
    highway = stack.vectors["roads"].geometry.values[0]
    h_pos = shapely.get_coordinates(highway)[0] @ normal
    planned = plan.arterials[plan.arterials["kind"] == "planned"].geometry.values
    for line in planned:
        a, b = shapely.get_coordinates(line)[[0, -1]]
        u = (b - a) / np.hypot(*(b - a))
        if abs(u @ np.array([math.sin(th), math.cos(th)])) > 0.999:  # parallel to the highway
            offset = ((a @ normal - h_pos) + 500) % 1000 - 500
            assert abs(offset) < 1.0  # on a line through the highway, 1 km multiples away
    # The highway itself is not duplicated by a planned line within a quarter spacing.
    near = shapely.distance(planned, highway) < 250
    par = [abs(np.diff(shapely.get_coordinates(g), axis=0)[0] @ [math.sin(th), math.cos(th)])
           / g.length > 0.99 for g in planned]
    assert not np.any(near & np.array(par))


def test_planned_arterials_cross_water_only_at_existing_crossings(city):
    stack, *_, plan = city
    water = shapely.union_all(stack.vectors["water"].geometry.values)
    roads = shapely.union_all(stack.vectors["roads"].geometry.values)
    crossings = shapely.intersection(roads, water)
    planned = plan.arterials[plan.arterials["kind"] == "planned"].geometry.values
    wet = shapely.intersection(planned, water)
    wet = [g for g in wet if not g.is_empty]
    for g in wet:
        assert shapely.distance(g, crossings) <= 100.0 + 1.5 * stack.grid.res
    # And never on protected land or steep slopes: sample the lines.
    for line in planned:
        pts = shapely.line_interpolate_point(line, np.arange(0, line.length, 10.0))
        xy = shapely.get_coordinates(pts)
        cols = ((xy[:, 0] - stack.grid.left) // stack.grid.res).astype(int)
        rows = ((stack.grid.top - xy[:, 1]) // stack.grid.res).astype(int)
        assert not np.any(stack.protected[rows, cols])
        assert not np.any(stack.slope_pct[rows, cols] > 30.0)


def test_no_planned_line_over_water_without_a_crossing():
    stack = plan_stack()
    roads = stack.vectors["roads"]
    stack = dataclasses.replace(stack, vectors={**stack.vectors, "roads": roads.iloc[[0]]},
                                road_dist_m=stack.arterial_dist_m * 0 + 1e4)  # no road cells at all
    score, excluded = suitability(stack)
    plan = make_plan(stack, score, excluded, NEED_HA, PlanConfig(), stack.builtup[2020])
    water = shapely.union_all(stack.vectors["water"].geometry.values)
    planned = plan.arterials[plan.arterials["kind"] == "planned"].geometry.values
    assert not np.any(shapely.intersects(planned, water))


def test_open_space_hierarchy(city):
    stack, *_, plan = city
    kinds = set(plan.open_space["kind"])
    assert {"floodplain", "park"} <= kinds
    assert kinds <= set(OPEN_KINDS.values())
    parks = plan.open_space[plan.open_space["kind"] == "park"]
    assert np.all(np.abs(parks["hectares"] - 2.0) < 0.8)
    assert not np.any(plan.open_space_mask & stack.water)
    assert np.array_equal(plan.constraints, plan.open_space_mask | plan.row)
    # Parks sit in superblocks, never on a right-of-way.
    assert not np.any((plan.open_space_kind == 4) & plan.row)


def test_distance_rasters(city):
    stack, *_, plan = city
    for d in (plan.arterial_dist_m, plan.network_dist_m):
        assert d.dtype == np.float32 and d.shape == stack.grid.shape and np.all(np.isfinite(d))
    assert np.all(plan.network_dist_m <= plan.arterial_dist_m)
    assert np.all(plan.network_dist_m <= stack.arterial_dist_m)
    assert np.count_nonzero(plan.arterial_dist_m == 0) > 0


def test_dominant_bearing():
    lines = [shapely.LineString([(0, 0), (math.sin(math.radians(a)) * L, math.cos(math.radians(a)) * L)])
             for a, L in ((30, 1000), (120, 800), (75, 300), (-60, 200))]
    assert dominant_bearing(lines) == pytest.approx(30.0, abs=1e-6)
    assert dominant_bearing([]) == 0.0
    near_zero = [shapely.LineString([(0, 0), (math.sin(math.radians(a)), math.cos(math.radians(a)))])
                 for a in (89.0, 1.0)]
    assert dominant_bearing(near_zero) in (pytest.approx(0.0, abs=1e-6), pytest.approx(90.0, abs=1e-6))


def test_empty_need_gives_an_empty_plan(tmp_path, city):
    stack, score, excluded, base, _ = city
    plan = make_plan(stack, score, excluded, 0.0, PlanConfig(), base)
    m = plan_metrics(plan)
    assert m["expansion_area_ha"] == 0 and m["arterials_planned_km"] == 0
    assert m["arterial_spacing_m"] is None
    path = write_plan_gpkg(plan, tmp_path / "plan.gpkg")
    assert [name for name, _ in pyogrio.list_layers(path)][:5] == [
        "expansion_area", "arterials", "open_space", "risk_hotspots", "right_of_way"]


def test_qgis_style_colours_planned_arterials_by_phase_year_earlier_darker():
    import re

    from expansion.outputs.qgis import arterial_renderer

    xml = arterial_renderer(30.0, [2040, 2030, 2030, 2050])
    assert 'attr="phase_year"' in xml
    assert re.findall(r'value="(\d+)"', xml) == ["2030", "2040", "2050", "0"]  # 0: existing arterials
    found = re.findall(r'k="line_color" v="([^"]+)"', xml)
    colours = [tuple(int(v) for v in c.split(",")[:3]) for c in found]
    brightness = [sum(c) for c in colours[:3]]
    assert brightness == sorted(brightness) and brightness[0] < brightness[-1]  # earlier darker
    assert colours[3] != colours[0] and all(len(c) == 3 for c in colours)
    assert 'attr="kind"' in arterial_renderer(30.0, [])  # no phasing: by kind


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plan_gpkg_layers_styles_and_determinism(tmp_path, city):
    stack, *_, plan = city
    a = write_plan_gpkg(plan, tmp_path / "a.gpkg")
    assert {_sha(write_plan_gpkg(plan, tmp_path / f"{i}.gpkg")) for i in range(20)} == {_sha(a)}
    layers = dict(pyogrio.list_layers(a))
    for name in ("expansion_area", "arterials", "open_space", "risk_hotspots"):
        assert name in layers
    arts = gpd.read_file(a, layer="arterials")
    assert set(arts["kind"]) == {"planned", "existing"}
    assert {"length_m", "width_m", "phase_year"} <= set(arts.columns)
    row = gpd.read_file(a, layer="right_of_way")
    assert len(row) == len(plan.right_of_way) and {"kind", "hectares", "phase_year"} <= set(row.columns)
    assert arts.crs == stack.grid.pyproj_crs
    assert len(arts) == len(plan.arterials)
    spots = gpd.read_file(a, layer="risk_hotspots")
    assert len(spots) == 0
    assert {"policy", "hectares", "people", "hazard_share", "mean_risk"} <= set(spots.columns)
    with sqlite3.connect(a) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, useAsDefault, styleQML, update_time "
                           "FROM layer_styles ORDER BY id").fetchall()
        stamps = {r[0] for r in con.execute("SELECT DISTINCT last_change FROM gpkg_contents")}
    assert [r[0] for r in rows] == ["expansion_area", "arterials", "open_space", "risk_hotspots",
                                    "right_of_way"]
    assert all(r[1] == "geom" and r[2] == 1 and r[3].startswith("<!DOCTYPE qgis") for r in rows)
    assert len(stamps) == 1
    # Hotspots given: written as they are.
    spot = gpd.GeoDataFrame({"policy": ["bau"], "hectares": [9.0], "people": [500.0], "hazard_share": [0.5],
                             "mean_risk": [0.8]}, geometry=[shapely.box(0, 0, 300, 300)], crs=stack.grid.crs)
    c = write_plan_gpkg(plan, tmp_path / "c.gpkg", risk_hotspots=spot)
    back = gpd.read_file(c, layer="risk_hotspots")
    assert back["people"].tolist() == [500.0]


def test_a_planned_line_may_cross_water_next_to_an_existing_bridge():
    from conftest import burn, distance_m

    from expansion.plan import arterial_grid
    from expansion.plan.sectors import Sector

    stack = plan_stack()
    g = stack.grid
    xs, ys = g.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    left, bottom, right, top = g.bounds
    area = (X > left + 4000) & (X < right - 1000) & (Y > bottom + 2000) & (Y < top - 2000)
    cy = Y[area].mean()
    north_up = [Sector(0.0, 360.0, 0.0, "radial", int(area.sum()))]
    free = dataclasses.replace(stack, vectors={k: v for k, v in stack.vectors.items() if k != "roads"},
                               arterial_dist_m=np.full(g.shape, 1e5, np.float32))
    arts0, _ = arterial_grid(free, area, PlanConfig(), sectors=north_up)
    ends = map(shapely.get_coordinates, arts0.geometry.values)
    ys0 = [c[0, 1] for c in ends if abs(c[0, 1] - c[-1, 1]) < 1]
    line_y = min(ys0, key=lambda y: abs(y - cy))  # an east-west line of the grid without roads
    bridge = shapely.LineString([(left, line_y + 60.0), (right, line_y + 60.0)])
    roads = gpd.GeoDataFrame({"highway": ["residential"], "road_class": ["local"]}, geometry=[bridge],
                             crs=g.crs)
    no_roads = np.full(g.shape, 1e5, np.float32)
    stack = dataclasses.replace(stack, vectors={**stack.vectors, "roads": roads}, arterial_dist_m=no_roads,
                                road_dist_m=distance_m(burn([bridge], g, all_touched=True), g.res),
                                protected=np.zeros(g.shape, bool), slope_pct=np.zeros(g.shape, np.float32))
    arts, sectors = arterial_grid(stack, area, PlanConfig(), sectors=north_up)
    assert sectors == north_up
    water = shapely.union_all(stack.vectors["water"].geometry.values)
    planned = arts.geometry.values
    wet = shapely.intersects(planned, water)
    east_west = np.array([abs(np.diff(shapely.get_coordinates(p)[:, 1]))[0] < 1 for p in planned])
    assert wet.sum() == 1  # only the east-west line next to the bridge crosses the river
    crossing_line = planned[wet][0]
    assert east_west[wet][0]
    assert abs(shapely.get_coordinates(crossing_line)[0, 1] - (line_y + 60.0)) <= 100.0 + g.res
    # The other east-west lines stop at the river.
    assert east_west.sum() > wet.sum()


# ------------------------------------------------------------ O(n) helpers


@pytest.mark.parametrize("spread", ["ties", "wide"])
def test_cheapest_cells_equal_a_stable_argsort(spread):
    from expansion.plan.expansion_area import Cheapest

    rng = np.random.default_rng(3)
    shape = (70, 90)
    cand = rng.random(shape) < 0.7
    if spread == "ties":  # few distinct costs: many ties, broken by cell index
        cost = rng.integers(1, 6, shape).astype(np.float64) * 30.0
    else:  # eight orders of magnitude and near-equal values in one 16-bit bucket
        cost = 10.0 ** rng.uniform(0, 8, shape) * (1 + 1e-12 * rng.integers(0, 3, shape))
    ranking = Cheapest(cand, lambda r0, r1: cost[r0:r1], lambda flat: cost.reshape(-1)[flat])
    idx = np.flatnonzero(cand)
    order = idx[np.argsort(cost.reshape(-1)[idx], kind="stable")]
    assert ranking.n == len(idx)
    for k in (0, 1, 2, 17, 1000, len(idx) // 2, len(idx) - 1, len(idx), len(idx) + 5):
        want = np.zeros(cand.size, bool)
        want[order[:k]] = True
        assert np.array_equal(ranking.first(k).reshape(-1), want), k


def test_cheapest_cells_without_candidates():
    from expansion.plan.expansion_area import Cheapest

    cand = np.zeros((5, 4), bool)
    ranking = Cheapest(cand, lambda r0, r1: np.ones((r1 - r0, 4)), lambda flat: np.ones(len(flat)))
    assert ranking.n == 0 and not ranking.first(3).any()


@pytest.mark.parametrize("r_m", [0.0, 29.0, 30.0, 42.43, 90.0, 150.0, 250.0])
def test_dilate_and_erode_equal_scipys_distance_transform(r_m):
    from scipy import ndimage

    from expansion.plan.morphology import dilate, erode

    rng = np.random.default_rng(int(r_m))
    res = 30.0
    mask = ndimage.binary_opening(rng.random((60, 80)) < 0.55)
    mask[:, :3] = True  # touches the raster edge, which neither grows nor erodes
    dil = ndimage.distance_transform_edt(~mask, sampling=res) <= r_m + 1e-6
    ero = ndimage.distance_transform_edt(mask, sampling=res) > r_m + 1e-6
    assert np.array_equal(dilate(mask, r_m, res), dil)
    assert np.array_equal(erode(mask, r_m, res), ero)
    assert not dilate(np.zeros_like(mask), r_m, res).any()
    assert erode(np.ones_like(mask), r_m, res).all()


def test_deepest_cells_equal_maximum_position_and_take_the_middle_of_a_ridge():
    from scipy import ndimage

    from expansion.plan.morphology import deepest

    rng = np.random.default_rng(5)
    lab, n = ndimage.label(rng.random((80, 90)) < 0.6)
    depth = rng.random(lab.shape).astype(np.float32)  # no ties: scipy's answer is definite
    labels = np.arange(1, n + 1)[::-3]
    expected = np.array(ndimage.maximum_position(depth, lab, labels))
    assert np.array_equal(deepest(depth, lab, labels), expected)
    # A 3 x 7 block: the deepest cells are the middle row's five inner cells; the middle one is taken.
    lab = np.zeros((9, 13), np.int32)
    lab[2:5, 3:10] = 1
    lab[6:8, 0:2] = 2
    depth = ndimage.distance_transform_edt(lab > 0)
    assert deepest(depth, lab, np.array([1, 2])).tolist() == [[3, 6], [6, 0]]


def test_steep_counts_nan_as_flat():
    from expansion.hazard import steep

    slope = np.array([np.nan, 10.0, 31.0, np.inf], np.float32)
    assert steep(slope, 30.0).tolist() == [False, False, True, True]
    assert steep(slope, -1.0).tolist() == [True, True, True, True]


def test_outline_cells_hold_the_extremes_and_the_centroid():
    from expansion.plan.arterials import outline_cells

    g = plan_stack(size=60).grid
    rng = np.random.default_rng(9)
    mask = np.zeros(g.shape, bool)
    mask[10:50, 5:40] = rng.random((40, 35)) < 0.4
    rr, cc = np.nonzero(mask)
    xs, ys = g.cell_centres()
    every = np.column_stack([xs[cc], ys[rr]])
    outline, centroid = outline_cells(mask, g)
    assert len(outline) <= 2 * 40
    for v in (np.array([0.3, -0.95]), np.array([1.0, 0.0]), np.array([-0.7, -0.7])):
        assert (outline @ v).min() == (every @ v).min() and (outline @ v).max() == (every @ v).max()
    assert centroid == pytest.approx(every.mean(axis=0), abs=1e-6)


def test_next_k_reaches_the_target_where_the_proportional_step_oscillates():
    """Smoothing adds land roughly as a·k - b: the secant step lands on the target in
    one or two rounds, where scaling k by want/got overshoots back and forth."""
    from expansion.plan.expansion_area import next_k

    def got(k):
        return 1.4 * k - 460_000.0  # as on the 8000 region: 8 proportional rounds, 3.7 % off

    want, tried = 1_000_000.0, []
    k = 1_000_000
    for _ in range(4):
        tried.append((k, got(k)))
        if abs(got(k) - want) <= 0.01 * want:
            break
        k = next_k(tried, want, n_cand=10_000_000)
    assert abs(got(k) - want) <= 0.01 * want and len(tried) <= 3
    # a first round, or a response that does not grow with k: scale in proportion
    assert next_k([(100, 50.0)], 80.0, 1000) == 160
    assert next_k([(100, 50.0), (160, 40.0)], 80.0, 1000) == 320
    assert next_k([(100, 50.0)], 80.0, 120) == 120  # never more than the candidates


# ------------------------------------------- BAU placement, crossings, phases, enforcement

YEARS = [2020, 2025, 2030, 2035]


def _bau(stack, base):
    """A business-as-usual projection heading east: probability 1 in a band east of
    the city, growing outward a step at a time (the year each cell is built)."""
    xs, ys = stack.grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    cx, cy = np.mean(xs), np.mean(ys)
    east = (X - cx > 1300) & (X - cx < 1300 + 2400) & (np.abs(Y - cy) < 1200) & ~stack.water & ~base
    prob = np.where(east, 0.9, 0.0).astype(np.float32)
    year = np.where(base, 2020, 0).astype(np.int16)
    for i, y in enumerate(YEARS[1:]):
        year[east & (year == 0) & (X - cx < 1300 + 800 * (i + 1))] = y
    return prob, year


@pytest.fixture(scope="module")
def phased():
    stack = plan_stack()
    score, excluded = suitability(stack)
    base = stack.builtup[2020]
    prob, year = _bau(stack, base)
    plan = make_plan(stack, score, excluded, 700.0, PlanConfig(), base, bau_probability=prob, bau_year=year,
                     years=YEARS)
    return stack, base, prob, plan


def test_expansion_area_is_placed_where_business_as_usual_growth_goes(phased):
    stack, base, prob, plan = phased
    held = prob[plan.expansion_area & ~base].sum() / prob[~base].sum()
    assert plan_metrics(plan)["bau_growth_in_area_share"] == pytest.approx(held)
    assert held >= 0.85
    # the city's growth held also counts infill inside today's urban extent
    assert plan_metrics(plan)["bau_growth_share"] >= held - 1e-6
    m = plan_metrics(plan)
    assert 0 < m["compactness"] <= 1 and m["parts"] >= 1 and m["boundary_km"] > 0


def test_planned_arterials_keep_off_the_built_city(city, phased):
    from expansion.plan.arterials import built_length_m

    for stack, base, plan in ((city[0], city[3], city[4]), (phased[0], phased[1], phased[3])):
        planned = plan.arterials[plan.arterials["kind"] == "planned"]
        m = plan_metrics(plan)
        on_built = built_length_m(planned.geometry.values, base, stack.grid)
        assert m["crossings_km"] == pytest.approx(on_built / 1000)
        assert m["crossings_share"] <= 0.03


def test_phases_add_up_and_every_planned_piece_has_a_year(phased):
    stack, base, prob, plan = phased
    m = plan_metrics(plan)
    assert [p["year"] for p in m["phases"]] == YEARS[1:]
    assert sum(p["arterial_km"] for p in m["phases"]) == pytest.approx(m["arterials_planned_km"], rel=1e-9)
    assert sum(p["row_ha"] for p in m["phases"]) == pytest.approx(m["row_ha"], rel=1e-9)
    assert sum(p["open_space_ha"] for p in m["phases"]) == pytest.approx(m["open_space_ha"], rel=1e-9)
    kinds, years = plan.arterials["kind"].to_numpy(), plan.arterials["phase_year"].to_numpy()
    assert set(years[kinds == "planned"]) <= set(YEARS[1:]) and set(years[kinds == "existing"]) <= {0}
    assert len(plan.right_of_way) == len(plan.arterials)
    # growth reaches the west later than the east (it heads east in _bau): the first phase is east of the city
    first = plan.arterials[(plan.arterials["phase_year"] == YEARS[1])]
    assert len(first) and first.geometry.centroid.x.mean() > np.mean(stack.grid.cell_centres()[0])


def test_enforcement_secures_the_first_phases_first(phased):
    from expansion.plan.phases import secure

    stack, base, prob, plan = phased
    full, none, half = (secure(plan, e, stack.valid) for e in (1.0, 0.0, 0.5))
    assert np.array_equal(full.constraints, plan.constraints) and full.confined
    assert np.array_equal(full.arterial_dist_m, plan.arterial_dist_m)
    assert not none.constraints.any() and not none.confined and none.row_share == 0
    assert 0.5 <= half.row_share < 0.6 and half.open_space_share == pytest.approx(0.5, abs=0.01)
    assert not half.confined
    assert np.all(half.constraints <= full.constraints)
    # what is secured at 0.5 is reached no later than what is not
    kind = plan.open_space_kind > 0
    assert plan.phase[kind & half.constraints].max() <= plan.phase[kind & ~half.constraints].min()


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_enforcement_outside_0_1_is_refused(tmp_path, value):
    from expansion.config import load_scenario
    from expansion.errors import ConfigError

    path = tmp_path / "s.toml"
    path.write_text('name = "t"\nlayers = "l.toml"\nbase_year = 2020\nhorizon_year = 2050\n'
                    f'[population]\nbase = 1000\n[plan]\nenforcement = {value}\n')
    with pytest.raises(ConfigError, match=r"'enforcement' is the share of the plan actually secured"):
        load_scenario(path)


def test_short_planned_pieces_stay_only_when_they_connect_two_arterials():
    from expansion.plan.network import drop_stubs

    a = shapely.LineString([(0, 0), (3000, 0)])
    b = shapely.LineString([(0, 400), (3000, 400)])
    link = shapely.LineString([(1000, 0), (1000, 400)])  # 400 m, joins a and b: kept
    stub = shapely.LineString([(2000, 0), (2000, -300)])  # a "+" arm: dropped
    e = shapely.LineString([(2500, 400), (2500, 600)])  # joins b and f ...
    f = shapely.LineString([(2500, 600), (2700, 600)])  # ... a dead end: both go, one after the other
    assert drop_stubs([a, b, link, stub, e, f], [], 500.0) == [a, b, link]
    existing = shapely.LineString([(0, -200), (3000, -200)])
    assert drop_stubs([a, stub], [existing], 500.0) == [a, stub]  # the stub reaches an existing road
    assert drop_stubs([stub], [], 500.0) == []


def test_a_link_between_junctions_takes_the_year_growth_first_reaches_it():
    """Rights-of-way are secured link by link: a planned line crossed by another is cut
    at the junction, and each link is due when growth first reaches any part of it."""
    from conftest import make_stack
    from shapely.geometry import LineString

    from expansion.plan.phases import split_by_phase

    grid = make_stack(60).grid
    x0, y0 = grid.left, grid.top - grid.height * grid.res
    mid_x, mid_y = x0 + 900.0, y0 + 900.0
    lines = gpd.GeoDataFrame(
        {"kind": ["planned", "planned", "existing"], "length_m": [1500.0, 1500.0, 300.0],
         "width_m": [30.0] * 3},
        geometry=[LineString([(x0 + 100, mid_y), (x0 + 1650, mid_y)]),
                  LineString([(mid_x, y0 + 100), (mid_x, y0 + 1700)]),
                  LineString([(x0 + 1200, mid_y), (x0 + 1200, mid_y + 300)])],  # ends on line 0
        crs=grid.crs)
    phase = np.full(grid.shape, 2050, np.int16)
    phase[:, :4] = 2025  # growth reaches the far west (x < 120 m) first
    phase[:4, :] = 2035  # and the north edge (y > 1,680 m) next
    out = split_by_phase(lines, phase, grid)
    horiz = out[(out["kind"] == "planned") & (out.geometry.bounds["miny"] == out.geometry.bounds["maxy"])]
    # cut at x = 900 (the vertical line) and x = 1200 (the existing road ending on it)
    assert sorted(round(v) for v in horiz.geometry.bounds["minx"] - x0) == [100, 900, 1200]
    west = horiz[horiz.geometry.bounds["minx"] - x0 < 150]
    assert list(west["phase_year"]) == [2025]  # one link, due whole when growth first touches it
    assert set(horiz["phase_year"]) == {2025, 2050}
    vert = out[(out["kind"] == "planned") & (out.geometry.bounds["minx"] == out.geometry.bounds["maxx"])]
    assert len(vert) == 2 and set(vert["phase_year"]) == {2035, 2050}
    assert out["length_m"][out["kind"] == "planned"].sum() == pytest.approx(1550.0 + 1600.0)
    assert list(out["phase_year"][out["kind"] == "existing"]) == [0]


# ------------------------------------------------ sectors of the city and crossings of built land


def _ring(stack, inner_m: float = 1300.0, outer_m: float = 4200.0) -> np.ndarray:
    """The expansion area of a ring city: a ring around the grid's centre."""
    xs, ys = stack.grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    left, bottom, right, top = stack.grid.bounds
    r = np.hypot(X - (left + right) / 2, Y - (bottom + top) / 2)
    return (r >= inner_m) & (r <= outer_m)


def _direction(line) -> float:
    """Orientation of a straight line, degrees clockwise from grid north modulo 90."""
    (x0, y0), (x1, y1) = shapely.get_coordinates(line)[[0, -1]]
    return math.degrees(math.atan2(x1 - x0, y1 - y0)) % 90.0


def _gap(a: float, b: float) -> float:
    return abs((a - b + 45.0) % 90.0 - 45.0)


def test_two_sectors_with_differently_oriented_roads_get_two_grids_on_one_network():
    import sys

    from conftest import ROOT, ring_stack

    from expansion.plan import arterial_grid
    from expansion.plan.arterials import built_length_m

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plan_real import network_pieces

    size, res = 300, 30.0
    left, bottom = 600_000.0, 1_000_000.0
    cx, cy = left + size * res / 2, bottom + size * res / 2
    # east of the centre, roads run north-south; west of it, they run at 30° (each a few km long)
    east = [shapely.LineString([(cx + dx, cy - 4300), (cx + dx, cy + 4300)])
            for dx in (1500.0, 2500.0, 3500.0)]
    u = np.array([math.sin(math.radians(30)), math.cos(math.radians(30))])
    west = []
    for k in (2.0, 3.0, 4.0):
        c = np.array([cx, cy]) - k * 1000.0 * np.array([1.0, 0.0])
        c = c - (c - [cx, cy]) @ u * u  # the foot of the line nearest the centre
        west.append(shapely.LineString([c - 4300 * u, c + 4300 * u]).intersection(
            shapely.box(left, bottom, cx - 800, bottom + size * res)))
    stack = ring_stack(size, res, roads=east + west)
    stack = ring_stack(size, res, roads=east + west,
                       valid=_ring(stack) | stack.builtup[2020])  # a ring study area
    area = _ring(stack) & ~stack.builtup[2020]
    arts, sectors = arterial_grid(stack, area, PlanConfig(), base_builtup=stack.builtup[2020])

    assert len(sectors) == 2 and {s.source for s in sectors} == {"roads"}
    assert sorted(round(s.bearing_deg) for s in sectors) == [0, 30]
    planned = arts[arts["kind"] == "planned"]
    for no, sec in enumerate(sectors, start=1):
        mine = planned.geometry.values[planned["sector"].to_numpy() == no]
        grid_lines = mine[shapely.length(mine) > 500.0]  # not the connectors of dead ends (< half a spacing)
        assert len(grid_lines) > 4
        assert all(_gap(_direction(g), sec.bearing_deg) < 0.5 for g in grid_lines)  # one orientation a sector
        in_sector = planned["sector"].to_numpy() == no
        assert np.allclose(planned["bearing_deg"].to_numpy()[in_sector], sec.bearing_deg)
    # a planned arterial along each boundary ray, and the grids of both sides end on it: one network
    boundary = planned.geometry.values[planned["sector"].to_numpy() == 0]
    assert len(boundary) >= 2
    pieces, short = network_pieces(arts.geometry.values)
    assert pieces == 1 and short == 0.0
    assert built_length_m(planned.geometry.values, stack.builtup[2020], stack.grid) == 0.0


def test_without_roads_each_sector_radiates_from_the_centre():
    from conftest import ring_stack

    from expansion.plan import arterial_grid
    from expansion.plan.sectors import bearing_from

    stack = ring_stack()
    stack = ring_stack(valid=_ring(stack) | stack.builtup[2020])  # a study area even all round
    area = _ring(stack) & ~stack.builtup[2020]
    arts, sectors = arterial_grid(stack, area, PlanConfig(), base_builtup=stack.builtup[2020])
    g = stack.grid
    centre = np.array([g.left + g.width * g.res / 2, g.top - g.height * g.res / 2])
    assert len(sectors) >= 3 and {s.source for s in sectors} == {"radial"}
    assert len({round(s.bearing_deg) for s in sectors}) >= 3  # not one orientation for the whole city
    for no, sec in enumerate(sectors, start=1):
        # one family runs out from the centre along the sector's bisector (the ring is even all round)
        bisector = (sec.start_deg + sec.width_deg / 2) % 360
        assert _gap(sec.bearing_deg, bisector) < 1.0
        mine = arts.geometry.values[arts["sector"].to_numpy() == no]
        mids = shapely.get_coordinates(shapely.centroid(mine))
        assert sec.contains(bearing_from(centre, mids[:, 0], mids[:, 1])).all()
        grid_lines = mine[shapely.length(mine) > 500.0]
        assert len(grid_lines) > 4
        assert all(_gap(_direction(line), sec.bearing_deg) < 0.5 for line in grid_lines)


def test_a_bridge_over_built_land_is_built_only_where_it_joins_the_network():
    from conftest import ring_stack

    from expansion.plan import arterial_grid
    from expansion.plan.sectors import Sector

    size, res = 240, 30.0
    stack0 = ring_stack(size, res, built=np.zeros((size, size), bool))
    xs, ys = stack0.grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    left, bottom, right, top = stack0.grid.bounds
    area = (X > left + 300) & (X < right - 300) & (Y > bottom + 1000) & (Y < top - 1000)
    # a built strip 90 m wide across the whole area splits it in two: one crossing is needed
    strip = (np.abs(X - (left + 4700)) < 45) & area
    # a built block 120 m wide and 1.2 km tall in the west part: the lines around it connect its sides
    block = (np.abs(X - (left + 2200)) < 60) & (np.abs(Y - (bottom + top) / 2) < 600) & area
    built = strip | block
    stack = ring_stack(size, res, built=built)
    north_up = [Sector(0.0, 360.0, 0.0, "radial", int(area.sum()))]
    arts, _ = arterial_grid(stack, area, PlanConfig(), base_builtup=built, sectors=north_up)
    lines = arts.geometry.values
    strip_poly = shapely.box(left + 4655, bottom, left + 4735, top)  # inside the strip (4,650-4,740 m)
    block_poly = shapely.box(left + 2135, (bottom + top) / 2 - 590, left + 2245, (bottom + top) / 2 + 590)
    over_strip = shapely.intersects(lines, strip_poly)
    assert over_strip.sum() == 1  # the one needed crossing; the other east-west lines stop at the strip
    assert _direction(lines[over_strip][0]) == pytest.approx(0.0, abs=1e-6) or \
        abs(np.diff(shapely.get_coordinates(lines[over_strip][0])[:, 1]))[0] < 1e-6
    assert not shapely.intersects(lines, block_poly).any()  # redundant: not built
    # both parts have their grid, and the network is one
    west = shapely.get_coordinates(lines)[:, 0] < left + 4660
    assert west.any() and (~west).any()
    import sys

    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plan_real import network_pieces

    assert network_pieces(lines)[0] == 1


def test_small_pieces_are_linked_to_the_network_over_open_land_only():
    from conftest import make_stack

    from expansion.plan.network import link_pieces, pieces

    grid = make_stack(200).grid  # 6 km square, 30 m cells
    x0, y0 = grid.left, grid.top - grid.height * grid.res
    passable = np.ones(grid.shape, bool)
    main = shapely.LineString([(x0 + 500, y0 + 3000), (x0 + 5500, y0 + 3000)])
    near = shapely.LineString([(x0 + 1000, y0 + 3300), (x0 + 1600, y0 + 3300)])  # 300 m off: linked
    far = shapely.LineString([(x0 + 3000, y0 + 3800), (x0 + 3600, y0 + 3800)])  # 800 m off: left alone
    walled = shapely.LineString([(x0 + 4500, y0 + 2600), (x0 + 5100, y0 + 2600)])  # 400 m off, behind a wall
    rows = slice(int((grid.top - (y0 + 2850)) / grid.res), int((grid.top - (y0 + 2700)) / grid.res))
    passable[rows, :] = False  # a band of built land between the main line and the walled piece
    links = link_pieces([main, near, far, walled], passable, grid, 500.0, 2000.0)
    assert len(links) == 1 and links[0].length == pytest.approx(300.0)
    assert len(set(pieces([main, near, far, walled] + links))) == 3


def test_needed_bridges_join_pieces_cheapest_first_within_a_budget():
    from expansion.plan.network import needed_bridges

    a = shapely.LineString([(0, 0), (1000, 0)])
    b = shapely.LineString([(1100, 0), (2000, 0)])
    c = shapely.LineString([(2150, 0), (3000, 0)])
    ring = shapely.LineString([(1500, 0), (1500, 500), (2500, 500), (2500, 0)])  # b and c already meet
    lines = [a, b, c, ring]
    bridges = [(1, 2, 150.0), (0, 1, 100.0)]
    assert needed_bridges(lines, bridges) == [1]  # b-c is redundant: the ring joins them
    assert needed_bridges(lines[:3], bridges) == [0, 1]
    assert needed_bridges(lines[:3], bridges, budget_m=120.0) == [1]  # the cheapest first, then the budget


def test_a_lone_built_cell_does_not_make_a_place_due_settlement_does():
    from expansion.plan.phases import reach_year

    years = [2020, 2025, 2030, 2035]
    uy = np.zeros((40, 40), np.int16)
    uy[5, 5] = 2025  # one house in the north-west by 2025
    uy[28:34, 28:34] = 2030  # a settlement in the south-east by 2030
    mask = np.ones((40, 40), bool)
    ph = reach_year(mask, uy, years, 150.0, 30.0)  # windows of 11 x 11 cells, a tenth = 12.1 cells
    assert ph[5, 5] == 2035  # the house alone: never reached, the last step
    assert ph[31, 31] == 2030 and ph[25, 31] == 2030  # the settlement and land 180 m from its centre
    assert ph[10, 31] == 2035
    every = reach_year(mask, uy, years, 150.0, 30.0, share=1e-4)
    assert every[5, 5] == 2025  # with no threshold one cell is enough


def test_sectors_are_the_citys_so_a_smaller_scenario_lays_the_same_grid():
    """The sectors come from the city's land and arterials, not from one scenario's
    expansion area: a smaller area gets the same sectors and mostly the same lines,
    which is what makes arterials 'no-regret' across scenarios."""
    from conftest import ring_stack

    from expansion.plan import arterial_grid

    stack = ring_stack(roads=[shapely.LineString([(601_500.0, 1_000_000.0), (606_000.0, 1_009_000.0)])])
    base = stack.builtup[2020]
    big = _ring(stack, 1300.0, 4200.0) & ~base
    small = _ring(stack, 1300.0, 2600.0) & ~base
    arts_big, sectors_big = arterial_grid(stack, big, PlanConfig(), base_builtup=base)
    arts_small, sectors_small = arterial_grid(stack, small, PlanConfig(), base_builtup=base)
    assert sectors_small == sectors_big and len(sectors_big) > 1
    lines_big = shapely.union_all(arts_big.geometry.values[arts_big["kind"].to_numpy() == "planned"])
    planned_small = arts_small.geometry.values[arts_small["kind"].to_numpy() == "planned"]
    shared = shapely.length(shapely.intersection(planned_small, lines_big.buffer(5.0))).sum()
    assert shared / shapely.length(planned_small).sum() >= 0.8


def test_no_sliver_links_where_a_junction_lies_within_a_cell_of_another_or_of_an_end():
    from conftest import make_stack
    from shapely.geometry import LineString

    from expansion.plan.phases import split_by_phase

    grid = make_stack(60).grid
    x0, y0 = grid.left, grid.top - grid.height * grid.res
    y = y0 + 900.0
    lines = gpd.GeoDataFrame(
        {"kind": ["planned"] * 4, "length_m": [1500.0, 600.0, 600.0, 600.0], "width_m": [30.0] * 4},
        geometry=[LineString([(x0 + 100, y), (x0 + 1600, y)]),
                  LineString([(x0 + 110, y - 300), (x0 + 110, y + 300)]),  # 10 m from the start
                  LineString([(x0 + 800, y - 300), (x0 + 800, y + 300)]),
                  LineString([(x0 + 805, y - 300), (x0 + 805, y + 300)])],  # 5 m from the one before
        crs=grid.crs)
    out = split_by_phase(lines, np.full(grid.shape, 2030, np.int16), grid)
    horiz = out[out.geometry.bounds["miny"] == out.geometry.bounds["maxy"]]
    assert len(horiz) == 2 and (horiz["length_m"] >= grid.res).all()  # cut once, near x = 800
    assert horiz["length_m"].sum() == pytest.approx(1500.0)
