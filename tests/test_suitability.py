import logging

import numpy as np
import pytest
from conftest import synthetic_stack

from expansion import grid
from expansion.config import SuitabilityConfig
from expansion.errors import ConfigError
from expansion.suitability import DEFAULT_WEIGHTS, FACTORS, score


def test_score_range_nan_outside_and_classes():
    st = synthetic_stack()
    s = score(st, SuitabilityConfig(), max(st.builtup), keep_factors=True)
    assert s.score.dtype == np.float32 and s.classes.dtype == np.uint8
    assert np.isnan(s.score[~st.valid]).all()
    inside = s.score[st.valid]
    assert np.isfinite(inside).all() and inside.min() >= 0 and inside.max() <= 1
    assert set(s.factors) == set(FACTORS)
    assert score(st, SuitabilityConfig(), max(st.builtup)).factors == {}  # not kept unless asked for
    assert sum(s.weights.values()) == pytest.approx(1.0)
    assert (s.classes[~st.valid] == 0).all()
    assert (s.classes[s.excluded & st.valid] == 1).all()
    assert set(np.unique(s.classes[st.valid & ~s.excluded])) <= {2, 3, 4, 5}
    # the classes follow the fixed breaks
    free = st.valid & ~s.excluded
    assert (s.classes[free & (s.score >= 0.8)] == 5).all()
    assert (s.classes[free & (s.score < 0.4)] == 2).all()


def test_hard_constraints():
    st = synthetic_stack()
    flood = np.zeros(st.grid.shape, bool)
    flood[5:8, 10:20] = True
    st.flood = flood
    s = score(st, SuitabilityConfig(max_slope_pct=15), max(st.builtup))
    assert s.excluded[st.water].all() and s.excluded[st.protected].all() and s.excluded[flood].all()
    assert s.excluded[st.slope_pct > 15].all()
    assert s.excluded[~st.valid].all()
    assert (s.score[s.excluded & st.valid] == 0).all()
    # gentle dry open land is not excluded
    assert not s.excluded[st.valid & ~st.water & ~st.protected & ~flood & (st.slope_pct < 15)].any()


def test_factor_functions_by_hand():
    st = synthetic_stack()
    s = score(st, SuitabilityConfig(max_slope_pct=20), max(st.builtup), keep_factors=True)
    expected_slope = np.clip(1 - st.slope_pct / 20, 0, 1)
    np.testing.assert_allclose(s.factors["slope"], expected_slope, atol=1e-6)
    assert s.factors["builtup"][st.builtup[2010]].min() == pytest.approx(1.0)
    at300 = np.isclose(st.road_dist_m, 300.0)
    assert at300.any()
    np.testing.assert_allclose(s.factors["roads"][at300], 0.5, atol=1e-6)
    np.testing.assert_allclose(s.factors["arterials"][np.isclose(st.arterial_dist_m, 0)], 1.0)
    # flood safety: zero on the river, one far from it
    assert s.factors["flood"][st.water].max() == 0
    assert s.factors["flood"][st.water_dist_m >= 500].min() == pytest.approx(1.0)


def test_missing_layers_drop_factors_and_renormalize(caplog):
    st = synthetic_stack(dem=False, roads=False)
    with caplog.at_level(logging.WARNING, logger="expansion.suitability"):
        s = score(st, SuitabilityConfig(), max(st.builtup), keep_factors=True)
    assert set(s.weights) == {"flood", "builtup"}
    total = DEFAULT_WEIGHTS["flood"] + DEFAULT_WEIGHTS["builtup"]
    assert s.weights["builtup"] == pytest.approx(DEFAULT_WEIGHTS["builtup"] / total)
    assert "no DEM" in caplog.text and "no roads" in caplog.text
    # the score is exactly the renormalized weighted mean of what is left
    expect = s.weights["flood"] * s.factors["flood"] + s.weights["builtup"] * s.factors["builtup"]
    free = st.valid & ~s.excluded
    np.testing.assert_allclose(s.score[free], expect[free], atol=1e-6)


def test_row_blocks_give_the_same_bytes(monkeypatch):
    st = synthetic_stack()
    flood = np.zeros(st.grid.shape, bool)
    flood[5:8, 10:20] = True
    st.flood = flood
    whole = score(st, SuitabilityConfig(), max(st.builtup), keep_factors=True)
    monkeypatch.setattr(grid, "STRIP_CELLS", st.grid.width * 3 + 1)  # 3 rows a block
    blocks = score(st, SuitabilityConfig(), max(st.builtup), keep_factors=True)
    for name in ("score", "excluded", "classes"):
        assert getattr(whole, name).tobytes() == getattr(blocks, name).tobytes()
    assert all(whole.factors[k].tobytes() == blocks.factors[k].tobytes() for k in FACTORS)


def test_weights_from_config_and_zero_drops():
    st = synthetic_stack()
    s = score(st, SuitabilityConfig(weights={"slope": 1.0, "flood": 0, "arterials": 0, "roads": 0,
                                             "builtup": 1.0}), 2010)
    assert s.weights == {"slope": 0.5, "builtup": 0.5}


def test_unknown_weight_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown weight 'elevation'.*slope, flood, builtup"):
        score(synthetic_stack(), SuitabilityConfig(weights={"elevation": 1.0}), 2010)


def test_all_zero_weights_is_an_error():
    with pytest.raises(ConfigError, match="no factor"):
        score(synthetic_stack(), SuitabilityConfig(weights={k: 0.0 for k in FACTORS}), 2010)
