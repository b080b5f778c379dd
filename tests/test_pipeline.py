"""The whole pipeline on a small synthetic region: every file of the run folder, read back."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio

from expansion.demo import write_demo
from expansion.errors import OutputExistsError
from expansion.pipeline import common
from expansion.pipeline import run as pipeline

pytestmark = pytest.mark.slow  # runs the whole pipeline (make quick leaves it out)

SCENARIO = """
name = "small-{name}"
layers = "region/layers.toml"
base_year = {base}
horizon_year = {horizon}
step_years = 5
resolution_m = 30
[population]
base = 20000
natural_growth = 0.02
net_migration = {migration}
[density]
base = "observed"
annual_change = -0.01
[growth]
calibrate_from = {calibrate}
runs = 3
seed = 7
"""



def scenario(folder: Path, name: str, migration: int = 500, base: int = 2020, horizon: int = 2050,
             calibrate: int = 2005) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(SCENARIO.format(name=name, migration=migration, base=base, horizon=horizon,
                                    calibrate=calibrate))
    return path


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    write_demo(folder / "region", size=150, seed=3)
    return folder


@pytest.fixture(scope="module")
def run(region):
    out = region / "out-medium"
    result = pipeline.run(scenario(region, "medium"), out=out)
    return result, out


def test_run_folder_has_every_file(run):
    result, out = run
    assert result.out == out
    for name in pipeline.RUN_FILES:
        assert (out / name).is_file(), name
    assert not list(out.parent.glob(".out-medium.partial-*"))


def test_demand_csv_and_summary(run):
    result, out = run
    with open(out / "demand.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["year", "population", "density_pph", "land_need_ha", "new_land_ha"]
    assert [int(r["year"]) for r in rows] == [2020, 2025, 2030, 2035, 2040, 2045, 2050]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["synthetic"] is True and summary["city"] == "Demo City"
    assert summary["population_base"] == 20000
    assert summary["new_land_ha"] == pytest.approx(sum(float(r["new_land_ha"]) for r in rows), abs=0.05)
    for policy in ("bau", "planned"):
        assert {"high_risk_ha", "high_risk_people", "hazard_share"} <= set(summary["risk"][policy])
    assert {"base", "horizon_bau", "horizon_planned"} == set(summary["metrics"])
    assert summary["plan"]["expansion_area_ha"] > 0


def test_rasters_read_back(run):
    result, out = run
    with rasterio.open(out / "urbanization_year.tif") as src:
        assert src.dtypes[0] == "int16" and src.crs.is_projected
        years = src.read(1)
        transform, shape = src.transform, years.shape
    built_base = years == 2020
    new = years > 2020
    assert built_base.any() and new.any()
    assert set(np.unique(years[years > 0])) <= {2020, 2025, 2030, 2035, 2040, 2045, 2050}
    with rasterio.open(out / "urbanization_probability.tif") as src:
        p = src.read(1)
        assert src.transform == transform and p.shape == shape
    assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1
    assert np.all(p[new] > 0)   # a cell built in run 0 has a probability of at least 1/runs
    with rasterio.open(out / "suitability.tif") as src:
        s = src.read(1, masked=True)
        assert src.nodata is not None and np.isnan(src.nodata)
        assert 0 <= s.min() and s.max() <= 1
    for name in ("suitability", "risk", "urbanization_year", "urbanization_probability"):
        qml = (out / f"{name}.qml").read_text()
        assert "singlebandpseudocolor" in qml and "<item" in qml


def test_new_land_matches_demand(run):
    """Allocated area equals demand within one cell per step (run 0, business as usual)."""
    result, out = run
    with rasterio.open(out / "urbanization_year.tif") as src:
        years = src.read(1)
        cell_ha = abs(src.transform.a * src.transform.e) / 10_000
    for row in result.demand[1:]:
        allocated = (years == row.year).sum() * cell_ha
        assert allocated == pytest.approx(row.new_land_ha, abs=cell_ha + 1e-6)


def test_plan_gpkg_layers(run):
    result, out = run
    names = [name for name, _ in pyogrio.list_layers(out / "plan.gpkg")]
    assert {"expansion_area", "arterials", "open_space", "risk_hotspots"} <= set(names)
    arterials = gpd.read_file(out / "plan.gpkg", layer="arterials")
    assert arterials.crs.is_projected and len(arterials)
    assert {"length_m", "kind", "width_m"} <= set(arterials.columns)
    hotspots = gpd.read_file(out / "plan.gpkg", layer="risk_hotspots")
    assert {"hectares", "people", "hazard_share"} <= set(hotspots.columns)


def test_run_json_provenance(run):
    result, out = run
    prov = json.loads((out / "run.json").read_text())
    assert prov["seed"] == 7 and prov["runs"] == 3
    assert any(i["path"].endswith("builtup_2020.tif") and len(i["sha256"]) == 64 for i in prov["inputs"])
    assert {"numpy", "rasterio", "python"} <= set(prov["packages"])
    assert prov["timings_s"]["total"] > 0 and "growth" in prov["timings_s"]


def test_existing_folder_is_not_overwritten(run, region):
    result, out = run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(OutputExistsError, match="--overwrite"):
        pipeline.run(region / "medium.toml", out=out)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_compare_and_backtest_commands(run, region):
    result, out = run
    other = region / "out-high"
    pipeline.run(scenario(region, "high", migration=1500), out=other)
    page = region / "compare.html"
    proc = subprocess.run([sys.executable, "-m", "expansion.cli", "compare", str(out), str(other),
                           "--out", str(page)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "small-medium" in proc.stdout and "small-high" in proc.stdout
    assert "small-high" in page.read_text()

    bt = scenario(region, "bt", base=2005, horizon=2020, calibrate=1995)
    proc = subprocess.run([sys.executable, "-m", "expansion.cli", "backtest", str(bt), "--observed-year",
                           "2020", "--quantity", "observed", "--out", str(region / "bt")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "nearest_builtup" in proc.stdout and "FoM" in proc.stdout
    res = json.loads((region / "bt" / "backtest.json").read_text())
    for key in ("fom", "producers_accuracy", "users_accuracy", "quantity_disagreement",
                "allocation_disagreement"):
        assert 0 <= res[key] <= 1
        assert key in res["null_models"]["nearest_builtup"]
    assert res["quantity"]["predicted_cells"] == res["quantity"]["observed_cells"]
    assert (region / "bt" / "backtest.html").is_file()


def test_a_grid_too_large_for_this_machine_is_refused_before_any_work(monkeypatch, tmp_path):
    from expansion.errors import ConfigError
    from expansion.grid import Grid

    sc = type("Sc", (), {"path": tmp_path / "city.toml"})()
    grid = Grid(crs="EPSG:32637", left=0.0, top=0.0, res=10.0, width=20_000, height=15_000)
    monkeypatch.setattr(common, "physical_memory", lambda: 16e9)
    with pytest.raises(ConfigError) as err:
        common.check_grid_fits(sc, grid)
    msg = str(err.value)
    assert "20,000 x 15,000 cells of 10 m" in msg and "this machine has 16 GB" in msg
    # the resolution it suggests fits
    res = float(msg.split("resolution_m (")[1].split(" m")[0])
    assert res > 10 and res % 5 == 0
    coarser = Grid(crs="EPSG:32637", left=0.0, top=0.0, res=res, width=int(200_000 / res),
                   height=int(150_000 / res))
    common.check_grid_fits(sc, coarser)
    common.check_grid_fits(sc, Grid(crs="EPSG:32637", left=0.0, top=0.0, res=30.0, width=5000, height=5000))


def test_spilled_grids_give_the_same_files(run, region, monkeypatch):
    """On large grids finished grids wait in files (Spill); the run's files are the same bytes."""
    import hashlib

    from expansion.outputs import folder

    saved = []
    real_save = np.save

    def counting_save(path, arr, *a, **kw):
        saved.append(Path(path))
        return real_save(path, arr, *a, **kw)

    monkeypatch.setattr(pipeline, "STRIP_CELLS", 1000)  # every grid of this region counts as large
    monkeypatch.setattr(folder.Spill.__init__, "__defaults__", (None, 1000))
    monkeypatch.setattr(folder.np, "save", counting_save)
    out = region / "out-spilled"
    pipeline.run(scenario(region, "medium"), out=out)
    spilled = [p for p in saved if p.parent.name == ".grids"]
    assert len(spilled) >= 10
    assert not (out / ".grids").exists()

    def digests(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
                if p.name != "run.json"}

    assert digests(out) == digests(run[1])
