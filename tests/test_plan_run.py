"""The plan and risk figures of a whole run on a small synthetic region (summary.json and plan.gpkg)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

from expansion.demo import write_demo
from expansion.pipeline import run as pipeline

pytestmark = pytest.mark.slow  # runs the whole pipeline (make quick leaves it out)

SCENARIO = """
name = "plan-{step}-{enforcement}"
layers = "region/layers.toml"
base_year = 2020
horizon_year = 2040
step_years = {step}
resolution_m = 30
[population]
base = 20000
natural_growth = 0.02
net_migration = 800
[density]
base = "observed"
annual_change = -0.01
[growth]
calibrate_from = 2005
runs = 3
seed = 7
[plan]
enforcement = {enforcement}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan-run")
    write_demo(folder / "region", size=150, seed=3)
    out = {}
    for step, enforcement in ((5, 1.0), (10, 1.0), (5, 0.5)):
        path = folder / f"s{step}-{enforcement}.toml"
        path.write_text(SCENARIO.format(step=step, enforcement=enforcement))
        res = pipeline.run(path, out=folder / f"out-{step}-{enforcement}")
        out[(step, enforcement)] = (res.out, json.loads((res.out / "summary.json").read_text()))
    return out


def test_summary_plan_keys_and_phases(runs):
    for (step, _), (_, s) in runs.items():
        p = s["plan"]
        assert [ph["year"] for ph in p["phases"]] == list(range(2020 + step, 2041, step))
        total = sum(ph["arterial_km"] for ph in p["phases"])
        assert total == pytest.approx(p["arterials_planned_km"], rel=1e-9)
        assert s["arterials_planned_km"] == p["arterials_planned_km"]
        assert 0 <= p["crossings_km"] <= 0.03 * p["arterials_planned_km"] + 1e-9
        assert 0 < p["bau_growth_share"] <= 1 and 0 < p["compactness"] <= 1
        assert all(isinstance(w, str) for w in s["warnings"])


def test_people_at_high_risk_never_exceed_new_residents_and_follow_enforcement(runs):
    for (_, enforcement), (_, s) in runs.items():
        r = s["risk"]
        assert s["plan"]["enforcement"] == enforcement
        assert r["new_residents"] == pytest.approx(s["population_horizon"] - s["population_base"])
        levels = [x["enforcement"] for x in r["by_enforcement"]]
        assert levels == [0.0, 0.5, 1.0]
        for x in [r["bau"], r["planned"], *r["by_enforcement"]]:
            assert 0 <= x["high_risk_people"] <= r["new_residents"]
        by = {x["enforcement"]: x for x in r["by_enforcement"]}
        # nothing secured: business as usual
        assert by[0.0]["high_risk_people"] == r["bau"]["high_risk_people"]
        assert by[enforcement]["high_risk_people"] == r["planned"]["high_risk_people"]
    half = runs[(5, 0.5)][1]
    assert any("50% enforced" in w for w in half["warnings"])


def test_risk_does_not_depend_on_the_step(runs):
    a, b = runs[(5, 1.0)][1]["risk"], runs[(10, 1.0)][1]["risk"]
    for policy in ("bau", "planned"):
        people = b[policy]["high_risk_people"]
        assert a[policy]["high_risk_people"] == pytest.approx(people, rel=0.05, abs=1.0)


def test_plan_gpkg_has_phased_arterials_and_rights_of_way(runs):
    out, s = runs[(5, 1.0)]
    arts = gpd.read_file(out / "plan.gpkg", layer="arterials")
    row = gpd.read_file(out / "plan.gpkg", layer="right_of_way")
    planned = arts[arts["kind"] == "planned"]
    assert len(planned) and set(planned["phase_year"]) <= {2025, 2030, 2035, 2040}
    assert len(row) == len(arts) and row.geometry.area.sum() > 0
    assert planned["length_m"].sum() / 1000 == pytest.approx(s["plan"]["arterials_planned_km"], rel=1e-6)
    # one orientation per sector: summary.json lists them, the layer says which line is in which sector
    bearings = s["plan"]["bearings_deg"]
    assert bearings and all(0 <= b < 90 for b in bearings) and s["plan"]["bearing_deg"] in bearings
    on_grid = planned[planned["sector"] > 0]
    assert set(on_grid["sector"]) <= set(range(1, len(bearings) + 1))
    assert np.allclose(on_grid["bearing_deg"], [bearings[k - 1] for k in on_grid["sector"]])


def test_unmet_demand_under_the_plan_is_reported_beside_business_as_usual(tmp_path):
    """A region far too small for its growth: both policies leave land unplaced, and summary.json
    gives the planned shortfall beside the business-as-usual one."""
    write_demo(tmp_path / "region", size=150, seed=3)
    text = SCENARIO.format(step=5, enforcement=1.0).replace("net_migration = 800", "net_migration = 60000")
    (tmp_path / "s.toml").write_text(text.replace("horizon_year = 2040", "horizon_year = 2030"))
    res = pipeline.run(tmp_path / "s.toml", out=tmp_path / "out")
    s = json.loads((res.out / "summary.json").read_text())
    unmet = s["unmet_demand"]
    assert unmet["year_full"] and unmet["ha"] > 0
    assert unmet["planned_year_full"] and unmet["planned_ha"] > 0
    assert unmet["planned_ha"] <= s["new_land_ha"] + 1e-6
    assert any("with the plan too the study area fills" in w and "(unmet demand)" in w for w in s["warnings"])
    # the residents of the land that does not fit are not crowded onto the land that is left: people at
    # high risk are counted at the new land's own density (new residents / new land asked for)
    r = s["risk"]
    for key in ("bau", "planned"):
        assert r[key]["people_per_ha"] == pytest.approx(r["new_residents"] / s["new_land_ha"], rel=0.02)
        assert r[key]["expected_growth_ha"] < s["new_land_ha"]
        placed = r[key]["expected_growth_ha"] / s["new_land_ha"]
        assert r[key]["high_risk_people"] <= r["new_residents"] * placed * 1.02


def test_without_hazard_or_roads_data_risk_is_not_assessed_on_any_page(tmp_path):
    """No DEM, no water and no roads layer: the risk score is growth pressure alone, which says where growth
    crowds, not where it is at risk. summary.json keeps numeric figures (never above the new residents) and
    says what was used; index.html, its enforcement table, risk.html, the terminal headline and the compare
    page say "not assessed" and give no count of people at high risk."""
    import re
    import tomllib

    from expansion.outputs.web import compare_page, compare_table
    from expansion.outputs.web.html_page import RISK_NOT_ASSESSED

    write_demo(tmp_path / "region", size=150, seed=3)
    catalog = tmp_path / "region" / "layers.toml"
    data = tomllib.loads(catalog.read_text())
    lines = [f'name = "{data["name"]}"', "synthetic = true"]
    for e in data["layers"]:
        if e["role"] not in ("dem", "water", "roads", "flood"):
            lines += ["", "[[layers]]"] + [f"{k} = {json.dumps(v)}" for k, v in e.items()]
    catalog.write_text("\n".join(lines) + "\n")
    (tmp_path / "s.toml").write_text(SCENARIO.format(step=5, enforcement=1.0))
    res = pipeline.run(tmp_path / "s.toml", out=tmp_path / "out")
    s = json.loads((res.out / "summary.json").read_text())
    r = s["risk"]
    assert r["assessed"]["high_risk"] is False and r["assessed"]["weights"] == {
        "hazard": 0.0, "unserviced": 0.0, "pressure": 1.0}
    for x in [r["bau"], r["planned"], *r["by_enforcement"]]:
        assert 0 <= x["high_risk_people"] <= r["new_residents"]
    said = [w for w in s["warnings"] if "not assessed" in w or "risk map" in w]
    assert len(said) == 1 and said[0].startswith("informal-settlement risk not assessed"), said
    # each missing layer is said once, in words that say what the maps cannot show and what to add
    for layer in ("no DEM", "no water layer", "no roads layer"):
        ws = [w for w in s["warnings"] if w.startswith(layer)]
        assert len(ws) == 1 and "rerun" in ws[0] and "factor" not in ws[0], (layer, ws)
    page = (res.out / "index.html").read_text()
    facts = page.split('<ul class="facts">')[1].split("</ul>")[0]
    assert RISK_NOT_ASSESSED in facts and "high-risk land" in facts
    assert not re.search(r'<span class="v">[^<]*</span><span class="k">[^<]*high-risk', facts)
    section = page.split("What enforcing the plan buys")[1].split("<h2")[0]
    assert "<table" not in section and "Not assessed for this run" in section  # one sentence, not a table
    assert "Serve or guard" not in page and "Add a DEM, a water or flood layer, or a roads layer" in page
    risk_page = (res.out / "risk.html").read_text()
    assert "risk not assessed" in risk_page and "high crowding" in risk_page and "high risk" not in risk_page
    assert "High-risk areas" not in risk_page
    assert len(gpd.read_file(res.out / "plan.gpkg", layer="risk_hotspots")) == 0  # none claims people at risk
    import rasterio

    with rasterio.open(res.out / "risk.tif") as ds:  # GIS staff read the same in QGIS
        assert "risk not assessed" in ds.descriptions[0]
    for name in ("risk", "risk_planned"):  # and its QGIS style's legend says crowding, as risk.html
        labels = re.findall(r'label="([^"]*)"', (res.out / f"{name}.qml").read_text())
        assert "high crowding (0.3 to 0.5)" in labels and not any("risk" in lab for lab in labels)
    assert "Where unplanned growth will crowd if nothing is done (risk not assessed)" in page
    assert any("not assessed" in line for line in res.headline())
    assert not any("business as usual" in line for line in res.headline())
    run = {"summary": s, "demand": []}
    assert "not assessed" in compare_page([run]) and "not assessed" in compare_table([run])
