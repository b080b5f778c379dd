"""The synthetic demo region: deterministic, loadable, and consistent with itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio import features

from expansion.config import load_catalog, load_scenario
from expansion.demo import write_demo
from expansion.errors import ExpansionError

ROOT = Path(__file__).resolve().parents[1]
SIZE = 120  # 3.6 km: small and fast
YEARS = (1995, 2005, 2020)


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A small demo region, written once for the module; returns its catalog."""
    return write_demo(tmp_path_factory.mktemp("demo") / "city", size=SIZE, seed=7)


def _builtup(folder: Path) -> dict[int, np.ndarray]:
    out = {}
    for year in YEARS:
        with rasterio.open(folder / f"builtup_{year}.tif") as src:
            out[year] = src.read(1)
    return out


def test_same_seed_same_bytes_other_seed_differs(demo, tmp_path):
    again = write_demo(tmp_path / "again", size=SIZE, seed=7)
    first = _hashes(demo.parent)
    assert first == _hashes(again.parent)
    assert set(first) == {"layers.toml", "boundary.gpkg", "dem.tif", "water.gpkg", "roads.gpkg",
                          "protected.gpkg", "population_2020.tif"} | {f"builtup_{y}.tif" for y in YEARS}
    other = _hashes(write_demo(tmp_path / "other", size=SIZE, seed=8).parent)
    changed = {name for name in first if first[name] != other[name]}
    assert changed >= {"dem.tif", "roads.gpkg", "builtup_2020.tif", "water.gpkg"}


def test_catalog_loads_with_every_role(demo):
    cat = load_catalog(demo)
    assert cat.name == "Demo City" and cat.synthetic
    roles = sorted(e.role for e in cat.layers)
    assert roles == sorted(["boundary", "builtup", "builtup", "builtup", "dem", "roads", "water",
                            "protected", "population"])
    assert sorted(e.year for e in cat.by_role("builtup")) == list(YEARS)
    assert all(e.encoding == "binary" for e in cat.by_role("builtup"))
    assert cat.by_role("roads")[0].class_field == "highway"
    assert all(e.path.exists() and not Path(e.path_as_written).is_absolute() for e in cat.layers)


def test_layers_have_the_stated_crs_and_attributes(demo):
    folder = demo.parent
    with rasterio.open(folder / "dem.tif") as src:
        assert src.crs.to_epsg() == 4326
        assert src.nodata is not None
        assert src.res[0] == pytest.approx(1 / 3600)
        dem_bounds = src.bounds
        assert src.profile["compress"].lower() == "deflate"
    for year in YEARS:
        with rasterio.open(folder / f"builtup_{year}.tif") as src:
            assert src.crs.to_epsg() == 32637
            assert src.res == (30.0, 30.0) and src.shape == (SIZE, SIZE)
            assert src.dtypes[0] == "uint8" and src.nodata == 255
            region = src.bounds
    with rasterio.open(folder / "population_2020.tif") as src:
        assert src.crs.to_epsg() == 32637 and src.nodata == -1
        assert src.read(1).sum() == pytest.approx(350_000 * (SIZE / 834) ** 2, rel=1e-3)
    # the DEM covers the whole region
    from rasterio.warp import transform_bounds
    w, s, e, n = transform_bounds("EPSG:32637", "EPSG:4326", *region)
    assert dem_bounds.left < w and dem_bounds.bottom < s and dem_bounds.right > e and dem_bounds.top > n
    frames = {name: gpd.read_file(folder / f"{name}.gpkg")
              for name in ("boundary", "water", "roads", "protected")}
    for name, gdf in frames.items():
        assert gdf.crs.to_epsg() == 32637, name
        assert len(gdf) > 0, name
    assert "name" in frames["boundary"].columns
    assert set(frames["protected"]["kind"]) == {"forest"}
    water = frames["water"]
    assert "river" in set(water["waterway"].dropna())
    assert "water" in set(water["natural"].dropna())
    classes = set(frames["roads"]["highway"])
    assert {"trunk", "primary"} <= classes


def test_builtup_epochs_nest_and_avoid_water_and_protected_land(demo):
    folder = demo.parent
    built = _builtup(folder)
    for earlier, later in zip(YEARS, YEARS[1:]):
        assert built[earlier].sum() > 0
        assert np.all(built[later][built[earlier] == 1] == 1), f"{earlier} not inside {later}"
        assert built[later].sum() > built[earlier].sum()
    with rasterio.open(folder / f"builtup_{YEARS[0]}.tif") as src:
        shape, transform = src.shape, src.transform
    for name in ("water", "protected"):
        gdf = gpd.read_file(folder / f"{name}.gpkg")
        mask = features.rasterize([(g, 1) for g in gdf.geometry], out_shape=shape, transform=transform,
                                  all_touched=True).astype(bool)
        for year in YEARS:
            assert not (built[year][mask] == 1).any(), f"built-up {year} on {name}"


def test_a_highway_crosses_the_river(tmp_path):
    folder = write_demo(tmp_path / "city", size=300, seed=3).parent
    roads = gpd.read_file(folder / "roads.gpkg")
    water = gpd.read_file(folder / "water.gpkg")
    river = water[water["waterway"] == "river"].union_all()
    highways = roads[roads["highway"].isin(["trunk", "primary"])]
    assert highways.intersects(river).any()
    local = roads[roads["highway"].isin(["residential", "unclassified"])]
    lake = water[water["natural"] == "water"].union_all()
    assert not local.intersects(lake).any()


def test_refuses_to_clobber_a_catalog(tmp_path):
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "layers.toml").write_text('name = "mine"\n')
    with pytest.raises(ExpansionError, match="already holds files") as err:
        write_demo(folder, size=60)
    assert "\n" not in str(err.value)
    with pytest.raises(ExpansionError, match="not a demo folder"):   # not even with overwrite
        write_demo(folder, size=60, overwrite=True)
    assert (folder / "layers.toml").read_text() == 'name = "mine"\n'
    assert sorted(p.name for p in folder.iterdir()) == ["layers.toml"]
    (folder / "layers.toml").unlink()
    write_demo(folder, size=60)
    write_demo(folder, size=60, overwrite=True)   # an earlier demo is replaced
    assert load_catalog(folder / "layers.toml").name == "Demo City"


def test_bad_size_is_a_one_line_error(tmp_path):
    with pytest.raises(ExpansionError, match="at least 60"):
        write_demo(tmp_path / "x", size=10)


def test_committed_demo_meets_the_area_targets():
    folder = ROOT / "layers" / "demo"
    built = _builtup(folder)
    for year, target_km2 in zip(YEARS, (16.0, 24.0, 35.0)):
        area = float((built[year] == 1).sum()) * 900 / 1e6
        assert area == pytest.approx(target_km2, rel=0.2), year
    with rasterio.open(folder / "population_2020.tif") as src:
        assert src.read(1).sum() == pytest.approx(350_000, rel=0.01)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10_000_000


@pytest.mark.parametrize("name, migration", [("demo", 6000), ("demo-low", 2000), ("demo-high", 12000)])
def test_demo_scenarios_load(name, migration):
    s = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    assert s.layers == (ROOT / "layers" / "demo" / "layers.toml").resolve()
    assert s.population.net_migration == migration
    assert (s.base_year, s.horizon_year, s.step_years) == (2020, 2050, 5)
    assert s.growth.calibrate_from == 2005
    load_catalog(s.layers)


def test_growth_is_learnable_beyond_distance(tmp_path):
    """A logistic model on the growth drivers beats "nearest to built-up" for 2005 to 2020."""
    from scipy import ndimage
    from sklearn.linear_model import LogisticRegression

    folder = write_demo(tmp_path / "city", size=300, seed=11).parent
    built = {y: b == 1 for y, b in _builtup(folder).items()}
    with rasterio.open(folder / "builtup_2005.tif") as src:
        shape, transform = src.shape, src.transform
    roads = gpd.read_file(folder / "roads.gpkg")
    main = roads[roads["highway"].isin(["trunk", "primary", "secondary", "tertiary"])]
    road = features.rasterize([(g, 1) for g in main.geometry], out_shape=shape, transform=transform,
                              all_touched=True).astype(bool)
    dem = np.zeros(shape, np.float32)
    with rasterio.open(folder / "dem.tif") as src:
        rasterio.warp.reproject(rasterio.band(src, 1), dem, dst_transform=transform,
                                dst_crs="EPSG:32637", resampling=rasterio.warp.Resampling.bilinear)
    gy, gx = np.gradient(dem, 30.0)
    slope = np.hypot(gx, gy) * 100

    def drivers(b):
        dist = ndimage.distance_transform_edt(~b, sampling=30.0) / 1000
        share = ndimage.uniform_filter(b.astype(float), 21)
        rd = ndimage.distance_transform_edt(~road, sampling=30.0) / 1000
        return np.stack([dist, np.sqrt(dist), share, rd, slope / 10], -1), dist

    def fom(pred, obs):
        return (pred & obs).sum() / (pred | obs).sum()

    x1, _ = drivers(built[1995])
    cand1 = ~built[1995] & (dem > 0)
    model = LogisticRegression(max_iter=1000).fit(x1[cand1], (built[2005] & ~built[1995])[cand1])
    x2, dist = drivers(built[2005])
    cand = ~built[2005] & (dem > 0)
    obs = (built[2020] & ~built[2005])[cand]
    n = int(obs.sum())
    by_model = np.zeros(obs.size, bool)
    by_model[np.argsort(-model.predict_proba(x2[cand])[:, 1], kind="stable")[:n]] = True
    nearest = np.zeros(obs.size, bool)
    nearest[np.argsort(dist[cand], kind="stable")[:n]] = True
    assert fom(by_model, obs) > fom(nearest, obs) + 0.03


def test_progress_gets_messages(tmp_path):
    messages: list[str] = []
    write_demo(tmp_path / "city", size=60, progress=messages.append)
    assert len(messages) == 10 and any("built-up 2020" in m for m in messages)
