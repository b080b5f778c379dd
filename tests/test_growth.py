import dataclasses

import numpy as np
import pytest
from conftest import synthetic_stack
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from expansion import growth
from expansion.config import SuitabilityConfig
from expansion.errors import DataError
from expansion.growth import (
    FALLBACK_COEFFICIENTS,
    SURVIVAL_PRIOR,
    allocate,
    calibrate,
    logit,
    potential,
    simulate,
)
from expansion.suitability import score


@pytest.fixture(scope="module")
def city():
    s = synthetic_stack()
    ex = score(s, SuitabilityConfig(), max(s.builtup)).excluded
    return s, ex, calibrate(s, 2000, 2010, ex)


def test_calibration_learns_growth_near_builtup(city):
    s, _, m = city
    assert not m.fallback and m.auc is not None and m.auc > 0.75
    assert m.coefficients["log_dist_builtup"] < 0
    assert m.n_sample > m.n_positive > 0
    assert {"log_dist_arterial", "log_dist_road", "slope_pct", "log_dist_water"} <= set(m.features)
    assert "AUC" in m.note and m.as_dict()["from_year"] == 2000


def test_fallback_with_one_epoch():
    s = synthetic_stack(years=(2010,), roads=False)
    m = calibrate(s, None, 2010, np.zeros(s.grid.shape, bool))
    assert m.fallback and m.auc is None and "one built-up epoch" in m.note
    assert "log_dist_road" not in m.features
    assert m.coefficients["log_dist_builtup"] == FALLBACK_COEFFICIENTS["log_dist_builtup"]
    p = potential(m, s, s.builtup[2010])
    assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1


def test_missing_epoch_is_a_data_error(city):
    s, ex, _ = city
    with pytest.raises(DataError, match="1990"):
        calibrate(s, 1990, 2010, ex)


def test_potential_nan_outside_and_planned_arterials_raise_it(city):
    s, _, m = city
    base = s.builtup[2010]
    p = potential(m, s, base)
    assert p.dtype == np.float32 and np.isnan(p[~s.valid]).all() and np.isfinite(p[s.valid]).all()
    planned = np.zeros(s.grid.shape, np.float32)  # an arterial everywhere
    q = potential(m, s, base, arterial_dist_m=planned)
    if m.coefficients["log_dist_arterial"] + m.coefficients["log_dist_road"] < 0:
        assert np.nanmean(q) > np.nanmean(p)
    else:
        assert np.nanmean(q) <= np.nanmean(p)


def _run(city, new_cells, seed=7, runs=3, **kw):
    s, ex, m = city
    years = [2010 + 5 * i for i in range(len(new_cells) + 1)]
    return simulate(s, m, ex, new_cells, years, seed, runs, s.builtup[2010], **kw)


def test_allocation_meets_demand_and_respects_exclusions(city):
    s, ex, _ = city
    res = _run(city, [40, 25, 60])
    assert res.allocated_cells.shape == (3, 3)
    assert (res.allocated_cells == [40, 25, 60]).all()
    u = res.urbanization_year
    assert u.dtype == np.int16
    base = s.builtup[2010] & s.valid
    assert (u[base] == 2010).all()
    for y, n in zip((2015, 2020, 2025), (40, 25, 60)):
        assert int((u == y).sum()) == n
    assert not (u[ex & ~base] > 0).any()
    assert (u[~s.valid] == 0).all()
    p = res.probability
    assert np.isnan(p[~s.valid]).all() and (p[base] == 1).all() and (p[ex & ~base & s.valid] == 0).all()


@settings(max_examples=15, deadline=None)
@given(new=st.lists(st.integers(0, 120), min_size=1, max_size=4), seed=st.integers(0, 2**31))
def test_property_allocated_equals_demand_and_never_excluded(city, new, seed):
    s, ex, _ = city
    res = _run(city, new, seed=seed, runs=2)
    assert (res.allocated_cells == new).all()
    assert not ((res.urbanization_year > 2010) & ex).any()


def test_allowed_mask_limits_growth(city):
    s, _, _ = city
    allowed = np.zeros(s.grid.shape, bool)
    allowed[:, : s.grid.width // 2] = True
    res = _run(city, [30, 30], allowed=allowed)
    assert not ((res.urbanization_year > 2010) & ~allowed).any()


def test_demand_beyond_capacity_warns_and_allocates_what_it_can(city):
    s, ex, _ = city
    open_cells = int((s.valid & ~ex & ~s.builtup[2010]).sum())
    res = _run(city, [open_cells + 500], runs=1)
    assert res.allocated_cells[0, 0] == open_cells
    assert res.warnings and "only" in res.warnings[0]


def test_same_seed_same_bytes_different_seeds_differ(city):
    a = _run(city, [50, 50], seed=3)
    b = _run(city, [50, 50], seed=3)
    c = _run(city, [50, 50], seed=4)
    assert a.urbanization_year.tobytes() == b.urbanization_year.tobytes()
    assert a.probability.tobytes() == b.probability.tobytes()
    assert a.urbanization_year.tobytes() != c.urbanization_year.tobytes()


def test_zero_noise_is_deterministic_ranking(city):
    a = _run(city, [40], seed=1, noise=0.0)
    b = _run(city, [40], seed=2, noise=0.0)
    assert np.array_equal(a.urbanization_year, b.urbanization_year)


@pytest.mark.parametrize("noise", [0.1, 0.0])
def test_blocks_do_not_change_the_allocation(city, monkeypatch, noise):
    whole = _run(city, [40, 60, 25], seed=5, noise=noise)
    for module in (allocate, logit):  # many blocks: the best k kept across them
        monkeypatch.setattr(module, "BLOCK_CELLS", 97)
    blocks = _run(city, [40, 60, 25], seed=5, noise=noise)
    assert whole.urbanization_year.tobytes() == blocks.urbanization_year.tobytes()
    assert whole.probability.tobytes() == blocks.probability.tobytes()


def test_runs_made_in_parts_merge_to_the_same_bytes(city):
    s, _, _ = city
    whole = _run(city, [40, 60], seed=9, runs=5)
    parts = [_run(city, [40, 60], seed=9, runs=5, run_ids=ids) for ids in ([0, 1], [2], [3, 4])]
    assert parts[1].urbanization_year is None and parts[0].built_runs is not None
    merged = growth.merge_runs(parts, s.valid)
    assert merged.probability.tobytes() == whole.probability.tobytes()
    assert merged.urbanization_year.tobytes() == whole.urbanization_year.tobytes()
    assert np.array_equal(merged.allocated_cells, whole.allocated_cells)


def test_ties_go_to_the_lower_cell_index():
    keys = np.array([1, 3, 2, 3, 3, 0, 3], np.float32)
    idx = np.array([10, 60, 20, 40, 50, 0, 30])
    _, best = allocate.top_k(keys, idx, 3)
    assert sorted(best) == [30, 40, 50]


def test_survival_discount_applies_only_to_calibrated_models(city):
    s, _, m = city
    base = s.builtup[2010]
    with_discount = potential(m, s, base)
    without = potential(dataclasses.replace(m, survival=0.0), s, base)
    assert (with_discount[s.valid] <= without[s.valid] + 1e-7).all()
    assert (with_discount[s.valid] < without[s.valid]).any()


def test_survival_weight_is_learned_with_an_earlier_epoch_else_a_prior():
    s = synthetic_stack(years=(1990, 2000, 2010))
    ex = score(s, SuitabilityConfig(), max(s.builtup)).excluded
    learned = calibrate(s, 2000, 2010, ex)
    assert learned.survival_source == "learned" and learned.survival_window == (1990, 2000)
    assert learned.survival >= 0 and "learned" in learned.note
    prior = calibrate(s, 1990, 2000, ex)  # no epoch before 1990
    assert prior.survival_source == "prior" and prior.survival == SURVIVAL_PRIOR
    fixed = calibrate(s, 2000, 2010, ex, survival=0.0)
    assert fixed.survival_source == "set" and fixed.survival == 0 and fixed.survival_window is None
    # with the discount off, the potential is the plain logistic probability
    base = s.builtup[2010]
    off = potential(fixed, s, base)
    on = potential(dataclasses.replace(fixed, survival=1.0), s, base)
    assert (on[s.valid] <= off[s.valid] + 1e-7).all()
    with pytest.raises(ValueError, match="survival"):
        calibrate(s, 2000, 2010, ex, survival=-1.0)
    with pytest.raises(ValueError, match="survival"):
        calibrate(s, 2000, 2010, ex, survival="always")


def _epochs(s, **epochs):
    """``s`` with built-up epochs ``{year: mask}`` (inside the study area)."""
    return dataclasses.replace(s, builtup={int(y[1:]): m & s.valid for y, m in epochs.items()})


@pytest.fixture(scope="module")
def rings_and_corridor():
    s = synthetic_stack(size=80, years=(1990, 2000, 2010))
    rows, cols = np.mgrid[0:80, 0:80]
    r = np.hypot(rows - 40, cols - 40)
    road = np.abs(rows - 40) <= 1  # the synthetic stack's arterial runs along row 40
    ex = score(s, SuitabilityConfig(), 2010).excluded
    return s, r, road, cols, ex


def test_validation_falls_back_to_the_rule_when_the_fit_loses_there(rings_and_corridor):
    s, r, road, cols, ex = rings_and_corridor
    # 1990-2000 grew along the road, 2000-2010 in rings: a model fitted on the first loses on the second
    core = r < 8
    corridor = core | (road & (np.abs(cols - 40) < 35))
    s = _epochs(s, y1990=core, y2000=corridor, y2010=corridor | (r < 14))
    m = growth.choose_model(s, 2000, 2010, ex)
    v = m.validation
    assert m.kind == "nearest" and v["chosen"] == "nearest built-up" and v["window"] == [2000, 2010]
    assert max(v["candidates"]["logistic"], v["candidates"]["logistic + survival"]) <= v["candidates"][
        "nearest built-up"]
    assert "nearest built-up rule" in v["model"] and "nearest built-up rule" in m.note
    # the rule as a model: growth fills the rings nearest the base built-up land
    out = simulate(s, m, ex, [60], [2010, 2020], seed=0, runs=1, base_builtup=s.builtup[2010])
    new = (out.urbanization_year == 2020) & ~s.builtup[2010]
    d = ndimage.distance_transform_edt(~s.builtup[2010])
    open_ = s.valid & ~ex & ~s.builtup[2010]
    assert d[new].max() <= np.sort(d[open_])[59] + 1e-9


def test_validation_keeps_the_fit_when_it_beats_the_rule(rings_and_corridor):
    s, r, road, cols, ex = rings_and_corridor
    core = r < 6
    s = _epochs(s, y1990=core, y2000=core | (road & (np.abs(cols - 40) < 18)),
                y2010=core | (road & (np.abs(cols - 40) < 30)))
    m = growth.choose_model(s, 2000, 2010, ex)
    v = m.validation
    assert m.kind == "logistic" and v["chosen"].startswith("logistic")
    assert v["fom"] > v["candidates"]["nearest built-up"] and v["fitted_on"] == [1990, 2000]
    assert m.from_year == 2000 and m.to_year == 2010  # refitted on the window before the base year
    assert 0 <= v["ece"] <= 1
    assert set(v) >= {"window", "fom", "null_nearest_fom", "ece", "brier_skill", "model"}


def test_two_epochs_use_the_documented_default_unvalidated(city):
    s, ex, _ = city
    m = growth.choose_model(s, 2000, 2010, ex)
    assert m.validation is None and m.kind == "logistic" and m.survival == SURVIVAL_PRIOR
    assert m.temperature == 1.0 and "not validated" in m.note


def test_neighbourhood_radii_follow_the_cell_size():
    from expansion.growth.features import radii_for

    assert radii_for(30.0) == (30.0, 90.0, 270.0, 810.0)
    assert radii_for(100.0) == (30.0, 270.0, 810.0)  # 30 m and 90 m are both 3 x 3 cells at 100 m
    s = synthetic_stack(size=40, res=100.0, years=(1990, 2000))
    ex = score(s, SuitabilityConfig(), 2000).excluded
    m = calibrate(s, 1990, 2000, ex)
    assert "share_90m" not in m.features and "share_30m" in m.features and m.radii_m == (30.0, 270.0, 810.0)


@pytest.mark.parametrize("shape", [(61, 47), (3, 5), (1, 1)])
def test_builtup_shares_are_the_exact_window_means(shape):
    """The summed-area table gives the built-up share of each window exactly (correctly rounded
    to float32), with land outside the grid counted as not built; windows larger than the grid too."""
    from expansion.growth.features import _window, builtup_shares

    built = np.random.default_rng(3).random(shape) < 0.4
    seen = []
    for r, share in builtup_shares(built, (30.0, 90.0, 270.0, 810.0), 30.0):
        w = _window(r, 30.0)
        exact = ndimage.correlate(built.astype(np.float64), np.ones((w, w)), mode="constant") / (w * w)
        assert share.dtype == np.float32
        np.testing.assert_array_equal(share, exact.astype(np.float32))
        seen.append(r)
    assert seen == [30.0, 90.0, 270.0, 810.0]
    assert list(builtup_shares(built, (), 30.0)) == []


def test_learned_survival_weight_is_bounded(city):
    from expansion.growth.model import SURVIVAL_MAX

    s = synthetic_stack(years=(1990, 2000, 2010))
    ex = score(s, SuitabilityConfig(), 2010).excluded
    m = calibrate(s, 2000, 2010, ex)
    assert m.survival_source == "learned" and 0 <= m.survival <= SURVIVAL_MAX


@pytest.mark.parametrize("cells", [1, 37.5, 400])
def test_probability_adds_up_to_the_quantity(city, cells):
    s, ex, m = city
    base = s.builtup[2010] & s.valid
    p = growth.probability_by_horizon(m, s, base, ex, cells)
    open_ = s.valid & ~ex & ~base
    assert p[open_].sum(dtype=np.float64) == pytest.approx(cells, rel=1e-3)
    assert (p[base] == 1).all() and (p[s.valid & ex & ~base] == 0).all() and np.isnan(p[~s.valid]).all()
    assert (p[open_] > 0).all() and (p[open_] < 1).all()
    # ranked as the potential ranks the cells
    q = potential(m, s, base)[open_]
    order = np.argsort(q, kind="stable")
    assert (np.diff(p[open_][order]) >= -1e-6).all()
    allowed = np.zeros_like(base)
    allowed[:, :30] = True
    pa = growth.probability_by_horizon(m, s, base, ex, cells, allowed=allowed)
    assert (pa[open_ & ~allowed] == 0).all() and pa[open_ & allowed].sum(dtype=np.float64) == pytest.approx(
        min(cells, (open_ & allowed).sum()), rel=1e-3)


def test_temperature_is_fitted_to_the_outcomes():
    from expansion.growth.probability import fit_temperature

    rng = np.random.default_rng(0)
    logq = np.log(rng.uniform(1e-4, 1, (80, 80))).astype(np.float32)
    open_ = np.ones((80, 80), bool)
    for t in (0.5, 2.0):  # outcomes drawn with a known temperature
        p = 1 / (1 + np.exp(-(t * logq + 1.0)))
        y = rng.random((80, 80)) < p
        assert fit_temperature(logq, open_, y) == pytest.approx(t, rel=0.35)


def test_summary_reports_the_validation_as_design_section_5(rings_and_corridor, city):
    from expansion.pipeline.run import growth_validation, growth_warnings

    s, r, road, cols, ex = rings_and_corridor
    core = r < 8
    corridor = core | (road & (np.abs(cols - 40) < 35))
    switched = _epochs(s, y1990=core, y2000=corridor, y2010=corridor | (r < 14))
    rule = growth.choose_model(switched, 2000, 2010, ex)
    v = growth_validation(rule)["growth"]["validation"]
    assert list(v) == ["window", "fom", "null_nearest_fom", "ece", "brier_skill", "model"]
    assert v["window"] == [2000, 2010] and "nearest built-up rule" in v["model"]
    assert growth_warnings(rule) and "simple rule" in growth_warnings(rule)[0]
    s2, ex2, _ = city
    default = growth.choose_model(s2, 2000, 2010, ex2)  # two epochs: nothing to validate on
    assert growth_validation(default) == {} and "indicative only" in growth_warnings(default)[0]
    assert "default coefficients" in growth_warnings(growth.fallback_model(s2))[0]
