from pathlib import Path

import numpy as np
import pytest
from conftest import BACAU, synthetic_stack

from expansion.config import GrowthConfig, PopulationConfig, Scenario, SuitabilityConfig
from expansion.pipeline.backtest import score_backtest
from expansion.suitability import score
from expansion.validation import (
    block_counts,
    bootstrap_fom_difference,
    coarsen_compare,
    compare,
    null_nearest,
    null_no_change,
    null_random,
    reliability,
)


def _grass_oracle(sim, ref, orig):
    """The formulas of GRASS r.futures.validation (Pontius 2008; Pontius & Millones 2011),
    restricted to cells not developed originally, written independently as a check."""
    keep = orig == 0
    s, r = sim[keep].astype(int), ref[keep].astype(int)
    tab = np.zeros((2, 2))
    np.add.at(tab, (s, r), 1)
    q = np.abs(tab.sum(axis=0) - tab.sum(axis=1)) / tab.sum()
    a = 2 * np.minimum(tab.sum(axis=0) - tab.diagonal(), tab.sum(axis=1) - tab.diagonal()) / tab.sum()
    return q.sum() / 2, a.sum() / 2


def test_hand_made_example():
    # 4 x 5 = 20 cells; 4 built at the base, 16 candidates
    orig = np.zeros((4, 5), bool)
    orig[0, :4] = True
    obs = np.zeros((4, 5), bool)
    obs[1, 0:3] = True   # observed new: 3 cells ...
    obs[2, 0] = True     # ... and a fourth
    pred = np.zeros((4, 5), bool)
    pred[1, 1:4] = True  # predicted new: 3 cells, 2 of them right
    cand = ~orig
    r = compare(pred, obs, cand)
    assert (r["hits"], r["misses"], r["false_alarms"], r["correct_rejections"]) == (2, 2, 1, 11)
    assert r["fom"] == pytest.approx(2 / 5)
    assert r["producers_accuracy"] == pytest.approx(2 / 4)
    assert r["users_accuracy"] == pytest.approx(2 / 3)
    assert r["quantity_disagreement"] == pytest.approx(1 / 16)
    assert r["allocation_disagreement"] == pytest.approx(2 / 16)
    q, a = _grass_oracle(pred, obs, orig)
    assert (r["quantity_disagreement"], r["allocation_disagreement"]) == pytest.approx((q, a))
    # kappa: p_o = 13/16, p_e = (3/16)(4/16) + (13/16)(12/16)
    p_e = 3 / 16 * 4 / 16 + 13 / 16 * 12 / 16
    assert r["kappa_simulation"] == pytest.approx((13 / 16 - p_e) / (1 - p_e))


def test_undefined_ratios_are_zero_like_grass():
    cand = np.ones((3, 3), bool)
    r = compare(null_no_change(cand), np.eye(3, dtype=bool), cand)
    assert r["fom"] == 0 and r["users_accuracy"] == 0 and r["quantity_disagreement"] == pytest.approx(3 / 9)


def test_coarsening():
    cand = np.ones((4, 4), bool)
    obs = np.zeros((4, 4), bool)
    obs[0, 0] = True
    pred = np.zeros((4, 4), bool)
    pred[1, 1] = True  # wrong cell, right 2x2 block
    assert compare(pred, obs, cand)["fom"] == 0
    c2 = coarsen_compare(pred, obs, cand, 2)
    assert c2["fom"] == 1 and c2["allocation_disagreement"] == 0
    assert coarsen_compare(pred, obs, cand, 1)["fom"] == compare(pred, obs, cand)["fom"]
    # a grid that is not a multiple of the factor is padded, not cropped
    assert coarsen_compare(np.ones((5, 5), bool), np.ones((5, 5), bool), np.ones((5, 5), bool), 4)[
        "hits"] == 25


def test_null_models():
    cand = np.ones((10, 10), bool)
    cand[0, :] = False
    base = np.zeros((10, 10), bool)
    base[5, 5] = True
    cand[5, 5] = False
    r = null_random(7, cand, np.random.default_rng(0))
    assert r.sum() == 7 and not (r & ~cand).any()
    n = null_nearest(8, cand, base, 30.0)
    assert n.sum() == 8 and n[4:7, 4:7].sum() == 8  # the 8 neighbours, all equally near
    n4 = null_nearest(4, cand, base, 30.0)
    assert n4[4:7, 4:7].sum() == 4 and n4[[4, 5, 5, 6], [5, 4, 6, 5]].all()  # rook before diagonal
    assert np.array_equal(n4, null_nearest(4, cand, base, 30.0))
    assert null_nearest(500, cand, base, 30.0).sum() == cand.sum()


def test_reliability_of_perfect_and_constant_forecasts():
    rng = np.random.default_rng(3)
    cand = np.ones((60, 60), bool)
    cand[0] = False
    p = rng.random((60, 60))
    y = rng.random((60, 60)) < p  # outcomes drawn from p: calibrated by construction
    r = reliability(p, y, cand)
    assert r["ece"] < 0.05 and r["brier_skill"] > 0.2 and r["p0_share"] == 0
    assert sum(b["cells"] for b in r["bins"]) == cand.sum()
    const = reliability(np.full((60, 60), y[cand].mean()), y, cand)
    assert const["brier_skill"] == pytest.approx(0, abs=1e-9) and const["ece"] == pytest.approx(0, abs=1e-9)
    zero = reliability(np.zeros((60, 60)), y, cand)
    assert zero["new_on_p0_share"] == 1 and zero["brier_skill"] < 0


def test_block_bootstrap_interval():
    rng = np.random.default_rng(0)
    cand = np.ones((40, 40), bool)
    obs = rng.random((40, 40)) < 0.2
    good = obs.copy()
    good[:20] = rng.random((20, 40)) < 0.2  # right on half the map, random on the other
    bad = rng.random((40, 40)) < 0.2
    a, b = block_counts(good, obs, cand, 5), block_counts(bad, obs, cand, 5)
    assert a.shape == (64, 3) and a[:, 0].sum() == (good & obs).sum()
    r = bootstrap_fom_difference(a, b, np.random.default_rng(1))
    assert r["low"] > 0 and r["low"] <= r["difference"] <= r["high"]
    same = bootstrap_fom_difference(a, a, np.random.default_rng(1))
    assert same["low"] == same["high"] == same["difference"] == 0


def _scenario(base, cal, **kw):
    return Scenario(name="t", path=Path("/tmp/s.toml"), layers=Path("/tmp/l.toml"), base_year=base,
                    horizon_year=base + 30, step_years=5, growth=GrowthConfig(calibrate_from=cal),
                    **kw)


def test_backtest_on_synthetic_city():
    s = synthetic_stack(years=(2000, 2010, 2020))
    suit = score(s, SuitabilityConfig(), max(s.builtup))
    r = score_backtest(s, _scenario(2010, 2000), 2020, "observed", suit, runs=3, seed=1)
    for key in ("fom", "producers_accuracy", "users_accuracy", "quantity_disagreement",
                "allocation_disagreement", "hits", "misses", "false_alarms"):
        assert key in r and key in r["null_models"]["nearest_builtup"]
    assert set(r["null_models"]) == {"no_change", "random", "nearest_builtup", "logistic_distance"}
    ties = r["nearest_builtup_ties"]
    assert ties["min"] <= r["null_models"]["nearest_builtup"]["fom"] <= ties["max"]
    vs = r["versus_nearest"]
    assert vs["low"] <= vs["difference"] <= vs["high"]
    cal = r["probability_calibration"]
    assert 0 <= cal["ece"] <= 1 and cal["brier_constant"] > 0 and 0 <= cal["new_on_p0_share"] <= 1
    assert r["quantity"]["quantity_ratio"] is None  # no population in the scenario
    assert r["quantity"]["predicted_cells"] == r["quantity"]["observed_cells"]
    assert r["quantity_disagreement"] == 0
    assert len(r["fom_runs"]) == 3 and set(r["multi_resolution"]) == {"2", "4", "8"}
    assert r["arrays"]["predicted_new"].sum() == r["quantity"]["predicted_cells"]
    r2 = score_backtest(s, _scenario(2010, 2000, population=PopulationConfig(base=1e5, growth_rate=0.03)),
                  2020, "projected", suit, runs=1, seed=1)
    assert r2["quantity"]["mode"] == "projected" and r2["quantity"]["predicted_cells"] > 0
    q = r2["quantity"]
    assert q["quantity_ratio"] == pytest.approx(sum(q["new_cells_per_step"]) / q["observed_cells"])


@pytest.mark.skipif(not (BACAU / "02_urban_change_Bacau_GHSL_LDSMT_4326.tif").exists(),
                    reason="Bacău data not found in ../shared/data/bacau (real-data backtest)")
@pytest.mark.parametrize("cal,base,obs", [(1990, 2000, 2014), (1975, 1990, 2000)])
def test_bacau_backtest_invariants(cal, base, obs):
    """Not a win on the data the defaults were chosen on: over two seeds, the model is never below
    the nearest-built-up rule's tie-breaking range (tolerance 0.005), and the probability map is
    calibrated (ECE, Brier skill, no new built-up on p = 0)."""
    from expansion.config import load_catalog
    from expansion.inputs import build_stack, grid_for

    catalog = load_catalog(Path(__file__).resolve().parents[1] / "layers" / "bacau" / "layers.toml")
    s = build_stack(catalog, grid_for(catalog, 30.0, None, 1000.0), cache=False)
    suit = score(s, SuitabilityConfig(), base)
    for seed in (42, 7):
        r = score_backtest(s, _scenario(base, cal), obs, "observed", suit, runs=5, seed=seed)
        assert r["calibration"]["survival_source"] == ("learned" if cal == 1990 else "prior")
        assert (r["calibration"]["validation"] is None) == (cal == 1975)  # 1975 is the first epoch
        assert r["fom_mean"] >= r["nearest_builtup_ties"]["min"] - 0.005
        assert r["fom"] > r["null_models"]["random"]["fom"] > r["null_models"]["no_change"]["fom"]
        cal_ = r["probability_calibration"]
        assert cal_["ece"] <= 0.10 and cal_["brier_skill"] > 0 and cal_["new_on_p0_share"] <= 0.10


DEMO = Path(__file__).resolve().parents[1] / "layers" / "demo" / "layers.toml"


@pytest.mark.skipif(not DEMO.exists(), reason="layers/demo not found")
def test_demo_backtest_has_no_road_leak():
    """The demo's roads layer holds the streets of 2020; a backtest from 2005 says it may leak and
    leaves the distance to any road out of its model (arterials kept), unless asked to keep it."""
    from expansion.config import load_catalog, load_scenario
    from expansion.inputs import build_stack, grid_for
    from expansion.pipeline.backtest import roads_leak

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "demo-backtest.toml")
    catalog = load_catalog(DEMO)
    warning = roads_leak(catalog, sc.base_year)
    assert warning is not None and "2020" in warning and roads_leak(catalog, 2020) is None
    s = build_stack(catalog, grid_for(catalog, sc.resolution_m, sc.crs, sc.margin_m), cache=False)
    suit = score(s, sc.suitability, sc.base_year)
    r = score_backtest(s, sc, 2020, "observed", suit, runs=2, seed=sc.growth.seed, road_warning=warning)
    feats = r["calibration"]["features"]
    assert "log_dist_road" not in feats and "log_dist_arterial" in feats
    assert any("leak" in w and "left out" in w for w in r["warnings"])
    assert r["quantity"]["predicted_cells"] == r["quantity"]["observed_cells"]
    kept = score_backtest(s, sc, 2020, "observed", suit, runs=1, seed=1, road_warning=warning,
                          keep_roads=True)
    assert "log_dist_road" in kept["calibration"]["features"] and any("kept" in w for w in kept["warnings"])


def test_roads_leak_reads_the_catalog_years(tmp_path):
    from expansion.config import Catalog, CatalogLayer
    from expansion.pipeline.backtest import roads_leak

    def cat(*years):
        return Catalog(name="t", path=tmp_path / "l.toml", synthetic=True, layers=tuple(
            CatalogLayer(role="roads", path=tmp_path / "r.gpkg", path_as_written="r.gpkg", year=y)
            for y in years))

    assert roads_leak(cat(), 2000) is None
    assert "undated" in roads_leak(cat(None), 2000)
    assert "2010" in roads_leak(cat(1990, 2010), 2000) and roads_leak(cat(1990, 2000), 2000) is None


def test_growth_keys_are_validated(tmp_path):
    from expansion.config import load_scenario
    from expansion.errors import ConfigError

    text = ('name = "t"\nlayers = "l.toml"\nbase_year = 2010\nhorizon_year = 2030\n'
            "[population]\nbase = 1000\n[growth]\n")
    for bad, key in (('survival = "sometimes"', "survival"), ("survival = -1", "survival"),
                     ("noise = -0.1", "noise")):
        (tmp_path / "s.toml").write_text(text + bad + "\n")
        with pytest.raises(ConfigError, match=key):
            load_scenario(tmp_path / "s.toml")
    (tmp_path / "s.toml").write_text(text + "survival = 0.5\nnoise = 0.3\n")
    g = load_scenario(tmp_path / "s.toml").growth
    assert (g.survival, g.noise) == (0.5, 0.3)


def test_nearest_rule_fom_averages_the_tie_orders():
    from expansion.growth.select import nearest_rule_fom

    base = np.zeros((5, 5), bool)
    base[2, 2] = True
    open_ = ~base
    rook = np.zeros((5, 5), bool)
    rook[[1, 3, 2, 2], [2, 2, 1, 3]] = True  # the four cells 30 m from the built-up cell: tied
    # no tie left undecided: the rule takes all four, all were built
    assert nearest_rule_fom(base, open_, rook, 30.0) == 1.0 == compare(
        null_nearest(4, open_, base, 30.0), rook, open_)["fom"]
    # two cells built, one of them tied: the rule takes two of the four tied cells, so it hits 0 or 1
    # (FoM 0 or 1/3, each half the time); the figure is their mean over the tie orders, not one draw
    obs = np.zeros((5, 5), bool)
    obs[1, 2] = obs[0, 0] = True
    f = nearest_rule_fom(base, open_, obs, 30.0)
    assert 0 < f < 1 / 3 and f == nearest_rule_fom(base, open_, obs, 30.0)
    assert nearest_rule_fom(base, open_, np.zeros((5, 5), bool), 30.0) == 0.0


def _three_epochs(switch: bool):
    """An 80 x 80 city grown along a road in 1990-2000; in 2000-2010 in rings (``switch``: a
    model fitted on the first window loses to the nearest-built-up rule on the second) or
    along the road again (the fitted model wins)."""
    import dataclasses

    s = synthetic_stack(size=80, years=(1990, 2000, 2010))
    rows, cols = np.mgrid[0:80, 0:80]
    r = np.hypot(rows - 40, cols - 40)
    road = np.abs(rows - 40) <= 1
    core = r < (8 if switch else 6)
    y2000 = core | (road & (np.abs(cols - 40) < (35 if switch else 18)))
    y2010 = (y2000 | (r < 14)) if switch else (core | (road & (np.abs(cols - 40) < 30)))
    s = dataclasses.replace(s, builtup={1990: core & s.valid, 2000: y2000 & s.valid, 2010: y2010 & s.valid})
    return s, score(s, SuitabilityConfig(), 2010).excluded


def _rule_tie_spread(s, ex, a, b, seeds=20):
    base = s.builtup[a] & s.valid
    open_ = s.valid & ~ex & ~base
    observed = s.builtup[b] & open_
    return [compare(null_nearest(int(observed.sum()), open_, base, s.grid.res, tie_seed=t), observed,
                    open_)["fom"] for t in range(seeds)]


@pytest.mark.parametrize("switch", [True, False])
def test_validation_quotes_one_nearest_figure(switch):
    """QA 11: the `model` sentence of growth.validation quotes the rule's figure that
    `null_nearest_fom` holds, whichever model is chosen; it is the rule's mean over tie orders."""
    from expansion import growth
    from expansion.pipeline.run import growth_validation

    s, ex = _three_epochs(switch)
    m = growth.choose_model(s, 2000, 2010, ex)
    v = m.validation
    assert v["chosen"] == "nearest built-up" if switch else v["chosen"].startswith("logistic")
    assert v["candidates"]["nearest built-up"] == v["null_nearest_fom"]
    assert f"{v['null_nearest_fom']:.3f}" in v["model"]
    summary = growth_validation(m)["growth"]["validation"]
    assert f"{summary['null_nearest_fom']:.3f}" in summary["model"]
    if switch:  # the rule chosen: its FoM is the model's
        assert v["fom"] == v["null_nearest_fom"] and f"{v['fom']:.3f}" in v["model"]
    ties = _rule_tie_spread(s, ex, 2000, 2010)
    assert min(ties) <= v["null_nearest_fom"] <= max(ties)


def test_backtest_calibration_quotes_one_nearest_figure():
    s = synthetic_stack(years=(1990, 2000, 2010, 2020))
    suit = score(s, SuitabilityConfig(), 2010)
    v = score_backtest(s, _scenario(2010, 2000), 2020, "observed", suit, runs=1, seed=1)["calibration"][
        "validation"]
    assert v["window"] == [2000, 2010] and f"{v['null_nearest_fom']:.3f}" in v["model"]
    assert v["candidates"]["nearest built-up"] == v["null_nearest_fom"]


@pytest.mark.skipif(not (BACAU / "02_urban_change_Bacau_GHSL_LDSMT_4326.tif").exists(),
                    reason="Bacău data not found in ../shared/data/bacau (real-data validation)")
def test_bacau_validation_quotes_one_nearest_figure():
    from expansion import growth
    from expansion.config import load_catalog
    from expansion.inputs import build_stack, grid_for

    catalog = load_catalog(Path(__file__).resolve().parents[1] / "layers" / "bacau" / "layers.toml")
    s = build_stack(catalog, grid_for(catalog, 30.0, None, 1000.0), cache=False)
    ex = score(s, SuitabilityConfig(), 2014).excluded
    v = growth.choose_model(s, 2000, 2014, ex).validation
    assert v["candidates"]["nearest built-up"] == v["null_nearest_fom"]
    assert f"{v['null_nearest_fom']:.3f}" in v["model"]
    ties = _rule_tie_spread(s, ex, 2000, 2014, seeds=10)
    assert min(ties) <= v["null_nearest_fom"] <= max(ties)


@pytest.mark.skipif(not DEMO.exists(), reason="layers/demo not found")
def test_backtest_records_and_shows_the_runs_warnings(tmp_path):
    """QA 18: backtest.json's `warnings` hold the run's caveats (no DEM, no water, the road leak), and
    backtest.html shows them; an --observed-year not after the base year is refused before any layer
    is read."""
    import json
    import tomllib

    from expansion.errors import ConfigError
    from expansion.pipeline.backtest import backtest

    data = tomllib.loads(DEMO.read_text())
    keep = [e for e in data["layers"] if e["role"] not in ("dem", "water")]
    lines = [f'name = "{data["name"]}"', "synthetic = true"]
    for e in keep:
        lines += ["", "[[layers]]"] + [f"{k} = {json.dumps(str(DEMO.parent / v) if k == 'path' else v)}"
                                       for k, v in e.items()]
    (tmp_path / "layers.toml").write_text("\n".join(lines) + "\n")
    sc = (Path(__file__).resolve().parents[1] / "scenarios" / "demo-backtest.toml").read_text()
    sc = sc.replace('layers = "../layers/demo/layers.toml"', f'layers = "{tmp_path / "layers.toml"}"')
    sc = sc.replace("resolution_m = 30", "resolution_m = 120")
    (tmp_path / "bt.toml").write_text(sc)
    out, res = backtest(tmp_path / "bt.toml", 2020, out=tmp_path / "bt", runs=1)
    saved = json.loads((out / "backtest.json").read_text())["warnings"]
    assert saved == res["warnings"]
    for words in ("no DEM", "no water layer", "leak"):
        assert any(words in w for w in saved), (words, saved)
    page = (out / "backtest.html").read_text()
    assert "Caveats" in page and "no DEM" in page
    # a backtest folder has no summary page: the caveats box does not link to one
    assert 'href="index.html"' not in page and not (out / "index.html").exists()
    # on the command line each warning is said once (suitability logs its own; they were echoed again)
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "expansion.cli", "backtest", str(tmp_path / "bt.toml"),
                           "--observed-year", "2020", "--out", str(tmp_path / "bt-cli"), "--runs", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    for w in saved:
        core = w.removeprefix("suitability: ")
        assert said.count(core) == 1, (core, said)
    # the observed year must come after the base year (2005): refused before the layers are built
    (tmp_path / "layers.toml").write_text((tmp_path / "layers.toml").read_text().replace(
        "builtup_2005.tif", "missing_2005.tif"))
    for year in (2005, 1995):
        with pytest.raises(ConfigError, match=f"--observed-year {year} must be after the scenario's base"):
            backtest(tmp_path / "bt.toml", year, out=tmp_path / f"bt{year}", runs=1)
        assert not (tmp_path / f"bt{year}").exists()
