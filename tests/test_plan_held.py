"""The plan's hold on business-as-usual growth (expansion/plan/held.py) and the parts
of the expansion area around growth away from the main city (expansion_area.py)."""

from __future__ import annotations

import html
import math

import numpy as np
import pytest

from expansion.grid import Grid, distance_m
from expansion.plan.expansion_area import grow_expansion_area
from expansion.plan.held import HELD_TARGET, growth_held, held_notes, likeliest_cells
from expansion.stack import Stack

RES = 30.0


def disk(shape, r0, c0, radius):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (yy - r0) ** 2 + (xx - c0) ** 2 <= radius ** 2


def ring(block: np.ndarray, cells: int) -> np.ndarray:
    """Cells within ``cells`` (chessboard) of ``block``, outside it."""
    from scipy import ndimage
    return ndimage.binary_dilation(block, np.ones((3, 3), bool), iterations=cells) & ~block


def flat_stack(built: np.ndarray) -> Stack:
    """A flat, dry study area with ``built`` built-up at 2010 and 2020 and no roads."""
    h, w = built.shape
    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=RES, width=w, height=h)
    none = np.zeros(built.shape, bool)
    far = distance_m(none, RES)
    return Stack(grid=grid, name="Test Town", synthetic=True, valid=np.ones(built.shape, bool),
                 builtup={2010: built.copy(), 2020: built.copy()}, water=none, water_dist_m=far,
                 arterial_dist_m=far, road_dist_m=far, protected=none, dem=None, slope_pct=None,
                 height_above_water_m=None, has_roads=False, has_water=False)


@pytest.fixture(scope="module")
def town():
    """A dense city (radius 0.9 km) with an unbuilt gap inside, a village 600 m north of it
    and a village 3.3 km east of it, on a 7.2 km square; expected growth on the gap,
    on a block east of the city (the expansion area), on a block north of the city
    outside the area, and around both villages."""
    shape = (240, 240)
    city = disk(shape, 120, 60, 30)
    gap = np.zeros(shape, bool)
    gap[116:124, 56:64] = True
    city &= ~gap
    near_village = np.zeros(shape, bool)
    near_village[59:62, 59:62] = True  # 28 cells (840 m) north of the city's edge
    far_village = np.zeros(shape, bool)
    far_village[119:122, 199:202] = True  # 109 cells (3.3 km) east of the city's edge
    built = city | near_village | far_village
    area = np.zeros(shape, bool)
    area[110:130, 91:101] = True  # 200 cells along the city's east edge
    missed = np.zeros(shape, bool)
    missed[75:85, 50:70] = True  # north of the city, 5 cells past its fringe
    p = np.zeros(shape, np.float32)
    p[gap] = 0.5
    p[area] = 1.0
    p[missed] = 0.25
    p[ring(near_village, 4)] = 0.5
    p[ring(far_village, 4)] = 0.5
    return dict(built=built, gap=gap, area=area, missed=missed, near=ring(near_village, 4),
                far=ring(far_village, 4), p=p)


def test_infill_counts_as_held_and_growth_around_a_far_village_is_outlying(town):
    t = town
    none = np.zeros(t["built"].shape, bool)
    h = growth_held(t["p"], t["built"], ~none, none, t["area"], 1000.0, RES)
    g = {k: float(t["p"][t[k]].sum()) for k in ("gap", "area", "missed", "near", "far")}
    total = sum(g.values())
    assert h.growth_ha == pytest.approx(total * RES * RES / 10_000)
    assert h.infill_share == pytest.approx(g["gap"] / total)  # the gap inside the city: infill
    assert h.in_area_share == pytest.approx(g["area"] / total)
    # growth around the village 3.3 km out is outlying; around the one 840 m out it is the city's
    assert h.outlying_share == pytest.approx(g["far"] / total)
    assert h.share == pytest.approx((g["gap"] + g["area"]) / (total - g["far"]))
    assert h.share < HELD_TARGET and h.best_share is not None
    # an area of as many cells, the likeliest to be built, holds at least as much
    assert h.best_share >= h.share
    notes = held_notes(h, 1000.0)
    assert any("outlying villages more than 1 km from the city" in n for n in notes)
    assert any(f"only {h.share:.0%} of the city's expected growth" in n for n in notes)


def test_the_plan_covering_the_far_village_holds_its_growth(town):
    t = town
    none = np.zeros(t["built"].shape, bool)
    area = t["area"] | t["far"] | t["missed"] | t["near"]
    h = growth_held(t["p"], t["built"], ~none, none, area, 1000.0, RES)
    assert h.outlying_share == 0.0
    assert h.share == pytest.approx(1.0)
    assert h.best_share is None and held_notes(h, 1000.0) == []


def test_no_growth_no_figures():
    built = disk((60, 60), 30, 30, 8)
    none = np.zeros(built.shape, bool)
    assert growth_held(np.zeros(built.shape, np.float32), built, ~none, none, none, 1000.0, RES) is None


def test_likeliest_cells():
    g = np.array([[0.0, 0.2, 0.9], [0.5, 0.5, 0.1]], np.float32)
    assert likeliest_cells(g, 1).sum() == 1 and likeliest_cells(g, 1)[0, 2]
    assert likeliest_cells(g, 2).sum() == 3  # a tie at the 2nd value takes both
    assert likeliest_cells(g, 0).sum() == 0 and likeliest_cells(g, 99).sum() == 5


def test_a_patch_around_growth_away_from_the_city_is_kept_under_the_cap():
    """A village 6 km from the city, where growth is expected: with a big target (2 % of
    it larger than the patch around the village), the patch is dropped unless the
    fragment size is capped; either way the area is sized by the target."""
    shape = (200, 400)
    city = disk(shape, 100, 100, 30)
    village = np.zeros(shape, bool)
    village[97:103, 327:333] = True
    stack = flat_stack(city | village)
    p = np.zeros(shape, np.float32)
    p[ring(village, 2)] = 1.0
    score = np.full(shape, 0.5, np.float32)
    target = 3000.0
    kept, got_kept = grow_expansion_area(stack, score, np.zeros(shape, bool), city | village, target,
                                         likelihood=p, fragment_cap_ha=20.0)
    dropped, got_dropped = grow_expansion_area(stack, score, np.zeros(shape, bool), city | village, target,
                                               likelihood=p, fragment_cap_ha=math.inf)
    around = ring(village, 2)
    assert kept[around].all()
    assert not dropped[around].any()
    assert got_kept == pytest.approx(target, rel=0.01) and got_dropped == pytest.approx(target, rel=0.01)
    # the patch is a real part: more than 20 ha, fewer than 2 % of the target
    from scipy import ndimage
    lab, n = ndimage.label(kept, np.ones((3, 3), bool))
    part = np.count_nonzero(lab == lab[around][0]) * stack.grid.cell_area_ha
    assert n == 2 and 20.0 <= part < 0.02 * target


def test_index_says_what_the_plan_holds_in_plain_words():
    from expansion.outputs.web.index import metrics_tables

    plan = {"bau_growth_share": 0.876, "bau_growth_in_area_share": 0.593, "bau_growth_infill_share": 0.042,
            "bau_growth_outlying_share": 0.275, "bau_growth_best_share": None}
    page = html.unescape(metrics_tables({"plan": plan}))
    assert ("share of the city's expected growth (if nothing is done) inside today's city or the expansion "
            "area</td><td>87.6 %") in page
    assert "around outlying villages, which this plan does not cover</td><td>27.5 %" in page
    assert "the most an expansion area of this size could hold" not in page  # only when it falls short
    short = {**plan, "bau_growth_share": 0.8, "bau_growth_best_share": 0.93}
    page = html.unescape(metrics_tables({"plan": short}))
    assert "the most an expansion area of this size could hold" in page and "93.0 %" in page


def test_make_plan_reports_outlying_growth_and_warns():
    """Growth around a village 3.3 km out is the larger part of the expected growth: the
    plan reports it apart and says so in its notes (summary.json warnings)."""
    from expansion.config import PlanConfig
    from expansion.plan import make_plan, plan_metrics

    shape = (240, 240)
    city = disk(shape, 120, 60, 30)
    village = np.zeros(shape, bool)
    village[119:122, 199:202] = True
    built = city | village
    p = np.zeros(shape, np.float32)
    p[ring(village, 4)] = 1.0
    p[ring(city, 6)] = 0.05
    plan = make_plan(flat_stack(built), np.full(shape, 0.5, np.float32), np.zeros(shape, bool), 100.0,
                     PlanConfig(), built, bau_probability=p)
    m = plan_metrics(plan)
    assert m["bau_growth_outlying_share"] == pytest.approx(p[ring(village, 4)].sum() / p.sum())
    assert m["bau_growth_share"] == pytest.approx(
        (m["bau_growth_infill_share"] + m["bau_growth_in_area_share"]) / (1 - m["bau_growth_outlying_share"]))
    assert m["bau_growth_share"] >= HELD_TARGET and m["bau_growth_best_share"] is None
    assert [n for n in plan.notes if "outlying villages more than 1 km from the city" in n]
