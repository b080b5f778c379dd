"""Layers as GIS staff have them (issue 13): land-cover classes, year-first-built rasters,
raster masks, road classes, sidecars, import options, sanity checks, grid snapping, .osm.pbf, places."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import (
    UTM,
    X0,
    Y0,
    make_town,
    utm_transform,
    write_catalog,
    write_raster,
    write_roads,
)
from shapely.geometry import LineString, Point
from test_layers import BASE, RES, N, blob, grid30, needs_shared, stack_of

from expansion.cli import cli
from expansion.config import load_catalog
from expansion.errors import ConfigError, DataError
from expansion.inputs import build_stack, check_catalog, check_problems, grid_for, import_layer

PBF = Path(__file__).parent / "data" / "town.osm.pbf"


@pytest.fixture
def town(tmp_path) -> Path:
    """A folder with a boundary and a binary built-up disc (2010), as in test_layers."""
    return make_town(tmp_path, N, RES, blob(N))


def classes_raster(path: Path) -> np.ndarray:
    """Land-cover codes 1-4 in bands of 25 rows; code 3 (built-up) inside the blob."""
    codes = np.repeat(np.array([1, 2, 4, 1], "uint8"), N // 4)[:, None] * np.ones((1, N), "uint8")
    codes[blob(N)] = 3
    write_raster(path, codes, UTM, utm_transform(RES))
    return codes


# ================================================================ built-up encodings


def test_classes_encoding_takes_the_built_up_codes(town):
    classes_raster(town / "lc.tif")
    s = stack_of(
        town,
        base=[
            BASE[0],
            {"role": "builtup", "path": "lc.tif", "year": 2015, "encoding": "classes", "values": [3]},
        ],
    )
    assert np.array_equal(s.builtup[2015], blob(N))
    s = stack_of(
        town,
        base=[
            BASE[0],
            {"role": "builtup", "path": "lc.tif", "year": 2015, "encoding": "classes", "values": [3, 4]},
        ],
    )
    assert s.builtup[2015].sum() == blob(N).sum() + (~blob(N))[50:75].sum()


def test_binary_layer_with_many_values_is_refused_with_the_fix(town):
    classes_raster(town / "lc.tif")
    layers = [BASE[0], {"role": "builtup", "path": "lc.tif", "year": 2015}]
    with pytest.raises(
        DataError, match=r"^lc\.tif: has 4 distinct values \(1, 2, 3, 4\).*encoding = \"classes\""
    ):
        stack_of(town, base=layers)
    cat = load_catalog(write_catalog(town, layers))
    problems = check_problems(cat, check_catalog(cat))
    assert len(problems) == 1 and "lc.tif: has 4 distinct values" in problems[0]


def test_classes_needs_values_and_values_must_occur(town):
    classes_raster(town / "lc.tif")
    with pytest.raises(ConfigError, match="needs 'values'"):
        load_catalog(
            write_catalog(
                town, [BASE[0], {"role": "builtup", "path": "lc.tif", "year": 2015, "encoding": "classes"}]
            )
        )
    cat = load_catalog(
        write_catalog(
            town,
            [
                BASE[0],
                {"role": "builtup", "path": "lc.tif", "year": 2015, "encoding": "classes", "values": [50]},
            ],
        )
    )
    assert "none of its values is in 'values' (50)" in check_problems(cat, check_catalog(cat))[0]


def test_year_encoding_gives_one_epoch_per_year(town):
    first = np.zeros((N, N), "uint16")  # 0: never built
    first[40:60, 40:60] = 1995
    first[30:70, 30:70][first[30:70, 30:70] == 0] = 2010
    first[0, 0] = 65535  # nodata
    write_raster(town / "wsf.tif", first, UTM, utm_transform(RES), nodata=65535)
    s = stack_of(
        town,
        base=[
            BASE[0],
            {"role": "builtup", "path": "wsf.tif", "encoding": "year", "years": [1990, 2000, 2015]},
        ],
    )
    assert s.years == [1990, 2000, 2015]
    assert s.builtup[1990].sum() == 0 and s.builtup[2000].sum() == 400 and s.builtup[2015].sum() == 1600
    assert not s.valid[0, 0] and s.valid[0, 1]
    with pytest.raises(ConfigError, match="needs 'years'"):
        load_catalog(
            write_catalog(town, [BASE[0], {"role": "builtup", "path": "wsf.tif", "encoding": "year"}])
        )


# ================================================================ raster masks


def test_raster_masks_in_boundary_protected_and_flood_roles(town):
    inside = np.zeros((N, N), "uint8")
    inside[10:90, 10:90] = 1
    write_raster(town / "mask.tif", inside, UTM, utm_transform(RES))
    zones = np.zeros((N, N), "uint8")
    zones[10:20, 10:90] = 7  # a reserve, code 7
    zones[20:30, 10:90] = 9  # something else
    write_raster(town / "zones.tif", zones, UTM, utm_transform(RES))
    depth = np.full((N, N), -1.0, "float32")
    depth[80:90, 10:90] = 0.2  # shallow
    depth[85:90, 10:90] = 1.5  # deep
    write_raster(town / "depth.tif", depth, UTM, utm_transform(RES), nodata=-1.0)
    s = stack_of(
        town,
        [
            {"role": "protected", "path": "zones.tif", "values": [7]},
            {"role": "flood", "path": "depth.tif", "threshold": 0.5},
        ],
        base=[{"role": "boundary", "path": "mask.tif"}, BASE[1]],
    )
    assert np.array_equal(s.valid, inside.astype(bool))
    assert s.protected.sum() == 10 * 80 and s.protected[10:20, 10:90].all()
    assert s.flood.sum() == 5 * 80 and s.flood[85:90, 10:90].all()
    assert s.vectors["boundary"].area.sum() == pytest.approx(80 * 80 * 900)
    rows = {r["file"]: r for r in check_catalog(load_catalog(town / "layers.toml"))}
    assert rows["mask.tif"]["problems"] == [] and rows["mask.tif"]["overlap_pct"] == pytest.approx(100)
    assert rows["zones.tif"]["notes"] == ["8 % of its cells are in"]


# ================================================================ roads


def test_roads_with_their_own_classes(town):
    write_roads(town / "roads.shp", field="cls")  # values "primary", "residential"
    gdf = gpd.read_file(town / "roads.shp")
    gdf["cls"] = [1, 4]  # national class codes: 1 = national road, 4 = street
    gdf.to_file(town / "roads.shp")
    s = stack_of(
        town, [{"role": "roads", "path": "roads.shp", "class_field": "cls", "arterial_values": [1, 2]}]
    )
    assert sorted(zip(s.roads["highway"], s.roads["road_class"])) == [("1", "arterial"), ("4", "local")]
    assert list(s.roads["name"]) == ["Main Road", "Side Street"]
    assert s.arterial_dist_m[49].max() == 0 and not s.warnings
    s = stack_of(town, [{"role": "roads", "path": "roads.shp", "class_field": "cls"}])
    assert (s.roads["road_class"] == "local").all()
    assert any(
        "no road is arterial (its 'cls' values are 1, 4)" in w and "arterial_values" in w for w in s.warnings
    )
    rows = check_catalog(load_catalog(town / "layers.toml"))
    assert "no road is arterial" in rows[-1]["notes"][0]


def test_partial_roads_warn_and_expose_their_coverage(town):
    gpd.GeoDataFrame(
        {"highway": ["primary"]}, geometry=[LineString([(X0, Y0 + 2800), (X0 + 3000, Y0 + 2800)])], crs=UTM
    ).to_file(town / "north.gpkg")
    s = stack_of(town, [{"role": "roads", "path": "north.gpkg"}])
    assert s.roads_coverage.dtype == bool
    # a line's bounding box is the line: covered is the 500 m around it (rows 0-23)
    assert s.roads_coverage[:15].all() and not s.roads_coverage[30:].any()
    (w,) = [w for w in s.warnings if "cover" in w]
    assert w.startswith("north.gpkg: the roads cover 2") and "unknown" in w


def test_dated_roads_give_the_network_as_of_a_year(town):
    write_roads(town / "roads_2020.gpkg")  # the primary and a street
    gpd.GeoDataFrame(
        {"highway": ["residential"]},
        geometry=[LineString([(X0 + 1515, Y0), (X0 + 1515, Y0 + 3000)])],
        crs=UTM,
    ).to_file(town / "roads_2000.gpkg")
    gpd.GeoDataFrame(
        {"highway": ["track"]}, geometry=[LineString([(X0 + 105, Y0), (X0 + 105, Y0 + 3000)])], crs=UTM
    ).to_file(town / "tracks.gpkg")
    s = stack_of(
        town,
        [
            {"role": "roads", "path": "roads_2000.gpkg", "year": 2000},
            {"role": "roads", "path": "roads_2020.gpkg", "year": 2020},
            {"role": "roads", "path": "tracks.gpkg"},
        ],
    )
    assert sorted(s.roads["year"]) == ["", "2000", "2020", "2020"]
    assert sorted(s.roads_as_of(2010)["highway"]) == ["residential", "track"]
    assert sorted(s.roads_as_of(2025)["highway"]) == ["primary", "residential", "track"]
    assert list(s.roads_as_of(1990)["highway"]) == ["track"]
    arterial, road = s.road_distances_as_of(2010)
    assert arterial.min() > 1000 and road[:, 3].max() == 0  # no arterial in 2010; the track is
    # the stack's own distances are today's network
    assert s.arterial_dist_m[49].max() == 0
    assert np.array_equal(s.road_distances_as_of(2025)[0], s.arterial_dist_m)


# ================================================================ import: every key, sidecars


def test_import_sets_every_key_and_copies_sidecars(town, tmp_path_factory):
    cat_path = write_catalog(town, BASE)
    src = tmp_path_factory.mktemp("src")
    codes = classes_raster(src / "lc.tif")
    # an ESRI-style raster: no georeferencing in the file, a world file and a .prj beside it
    with rasterio.open(
        src / "esri.tif", "w", driver="GTiff", height=N, width=N, count=1, dtype="uint8"
    ) as ds:
        ds.write(codes, 1)
    (src / "esri.tfw").write_text(f"{RES}\n0\n0\n{-RES}\n{X0 + RES / 2}\n{Y0 + 3000 - RES / 2}\n")
    (src / "esri.prj").write_text(rasterio.crs.CRS.from_string(UTM).to_wkt())
    wkt = rasterio.crs.CRS.from_string(UTM).to_wkt()
    (src / "esri.tif.aux.xml").write_text(f"<PAMDataset><SRS>{wkt}</SRS></PAMDataset>")
    (src / "esri.tif.ovr").write_bytes(b"")
    entry = import_layer(cat_path, "builtup", src / "esri.tif", year=2016, encoding="classes", values=[3])
    for name in ("esri.tif", "esri.tfw", "esri.prj", "esri.tif.aux.xml", "esri.tif.ovr"):
        assert (town / name).exists(), name
    assert entry.values == (3,)
    cat = load_catalog(cat_path)
    assert check_problems(cat, check_catalog(cat)) == []
    assert np.array_equal(build_stack(cat, grid30(), cache=False).builtup[2016], blob(N))

    write_roads(src / "roads.gpkg", field="cls")
    entry = import_layer(
        cat_path,
        "roads",
        src / "roads.gpkg",
        class_field="cls",
        arterial_values=["primary"],
        layer="roads",
        year=2020,
    )
    assert (entry.class_field, entry.arterial_values, entry.layer, entry.year) == (
        "cls",
        ("primary",),
        "roads",
        2020,
    )
    text = cat_path.read_text()
    assert 'class_field = "cls"\narterial_values = ["primary"]\nlayer = "roads"' in text
    depth = np.zeros((N, N), "float32")
    write_raster(src / "depth.tif", depth, UTM, utm_transform(RES))
    with pytest.raises(DataError, match="no cell is in the mask.*lower 'threshold'"):
        import_layer(cat_path, "flood", src / "depth.tif", threshold=0.5, nodata=-9999, band=1)
    with pytest.raises(ConfigError, match="--threshold"):
        import_layer(cat_path, "roads", src / "roads.gpkg", threshold=3)
    with pytest.raises(ConfigError, match="needs --values"):
        import_layer(cat_path, "builtup", src / "lc.tif", year=2010, encoding="classes")


def test_cli_import_options(town, tmp_path):
    cat_path = write_catalog(town, BASE)
    first = np.zeros((N, N), "uint16")
    first[blob(N)] = 2005
    write_raster(tmp_path / "wsf.tif", first, UTM, utm_transform(RES))
    wsf = ["layers", "import", str(cat_path), "--role", "builtup", str(tmp_path / "wsf.tif")]
    wsf += ["--encoding", "year"]
    r = CliRunner().invoke(cli, [*wsf, "--years", "2000,2015", "--nodata", "65535"])
    assert r.exit_code == 0, r.output
    assert 'encoding = "year"\nyears = [2000, 2015]\nnodata = 65535' in cat_path.read_text()
    r = CliRunner().invoke(cli, [*wsf, "--years", "2000.5"])
    assert r.exit_code == 2 and "whole years" in r.output


# ================================================================ sanity checks


def test_dem_that_is_not_elevation_warns_in_check_and_run(town):
    yy, xx = np.mgrid[0:N, 0:N]
    rng = np.random.default_rng(1)
    slope_deg = rng.gamma(2.0, 3.0, (N, N)).astype("float32")  # a slope raster: rough, 0-40
    write_raster(town / "slope.tif", slope_deg, UTM, utm_transform(RES))
    dist = (np.hypot(yy - 20, xx - 20) * RES).astype("float32")  # metres from a point
    write_raster(town / "dist.tif", dist, UTM, utm_transform(RES))
    dem = (300 + 0.05 * xx * RES + 5 * np.sin(yy / 10)).astype("float32")  # real-looking terrain
    write_raster(town / "dem.tif", dem, UTM, utm_transform(RES))
    for name, words in (
        ("slope.tif", "like a slope"),
        ("dist.tif", "like a distance raster"),
        ("dem.tif", None),
    ):
        s = stack_of(town, [{"role": "dem", "path": name}])
        rows = check_catalog(load_catalog(town / "layers.toml"))
        found = [w for w in s.warnings if "DEM" in w]
        if words is None:
            assert found == [] and rows[-1]["notes"] == []
        else:
            assert (
                found and found[0].startswith(f"{name}: DEM") and words in found[0] and "metres" in found[0]
            )
            assert words in rows[-1]["notes"][0]


def _dem_notes(town: Path, name: str) -> tuple[list[str], list[str]]:
    """(the run's DEM warnings, the `layers check` notes of the dem row) for ``name`` as the DEM."""
    s = stack_of(town, [{"role": "dem", "path": name}])
    rows = check_catalog(load_catalog(town / "layers.toml"))
    return [w for w in s.warnings if "DEM" in w], rows[-1]["notes"]


def test_population_raster_as_dem_warns_but_flat_coastal_dems_do_not(town):
    """QA 8: a population raster (float people per cell) given as the DEM warns, by its name, its band
    description or its values; flat coastal DEMs (whole-metre SRTM with the sea at 0 and noise; a
    smooth float one) do not."""
    yy, xx = np.mgrid[0:N, 0:N].astype("float32")
    rng = np.random.default_rng(3)
    # WorldPop-like: a smooth town of up to ~45 people per cell over a floor of a few tenths
    people = 0.3 + 45 * np.exp(-((yy - 50) ** 2 + (xx - 45) ** 2) / 600) + rng.gamma(2, 0.3, (N, N))
    write_raster(town / "dem.tif", people.astype("float32"), UTM, utm_transform(RES))
    write_raster(town / "rou_ppp_2020.tif", people.astype("float32"), UTM, utm_transform(RES))
    write_raster(town / "band.tif", people.astype("float32"), UTM, utm_transform(RES))
    with rasterio.open(town / "band.tif", "r+") as ds:
        ds.set_band_description(1, "Population count")
    sea = xx >= 75  # the east quarter is sea
    land = np.clip((75 - xx) * 0.15, 0, None)  # 0 at the shore, 11 m inland
    srtm = np.where(sea, 0, np.round(land + rng.normal(0, 1.5, (N, N)))).astype("int16")  # noise: some < 0
    write_raster(town / "srtm.tif", srtm, UTM, utm_transform(RES), nodata=-32768)
    cop = np.where(sea, 0.0, 0.2 + land + 0.5 * np.sin(yy / 7)).astype("float32")
    write_raster(town / "cop.tif", cop, UTM, utm_transform(RES), nodata=-9999.0)
    for name, words in (("dem.tif", "like a population or count raster"),
                        ("rou_ppp_2020.tif", "('rou_ppp_2020.tif') says population"),
                        ("band.tif", "('Population count') says population")):
        found, notes = _dem_notes(town, name)
        assert len(found) == 1 and found[0].startswith(f"{name}: DEM") and words in found[0], found
        assert "--role population" in found[0] and "elevation model in metres" in found[0]
        assert any(words in n and "--role population" in n for n in notes), notes
    for name in ("srtm.tif", "cop.tif"):
        assert _dem_notes(town, name) == ([], []), name


DEMO_DEM = Path(__file__).resolve().parents[1] / "layers" / "demo" / "dem.tif"


@pytest.mark.skipif(not DEMO_DEM.exists(), reason="layers/demo not found")
def test_demo_dem_is_not_taken_for_population(town):
    shutil.copy(DEMO_DEM, town / "demo_dem.tif")  # the demo's DEM is in another frame: only check its values
    write_catalog(town, BASE + [{"role": "dem", "path": "demo_dem.tif"}])
    assert check_catalog(load_catalog(town / "layers.toml"))[-1]["notes"] == []
    with rasterio.open(DEMO_DEM) as ds:
        from expansion.inputs.sanity import dem_problem

        assert dem_problem(ds.read(1, masked=True).filled(np.nan), ds.res[0], ["dem.tif"]) is None


@needs_shared
def test_bacau_population_as_dem_warns_in_check_and_run(tmp_path):
    """QA 8 on the real files: WorldPop (float people per cell, 0.35-47) as the DEM warns in `layers
    check` and in the stack's warnings, by its name and, renamed, by its values; the SRTM DEM does not."""
    from test_layers import BACAU

    pop = BACAU / "01_population_Bacau_AOI_4326.tif"
    shutil.copy(pop, tmp_path / "elevation.tif")  # a population raster whose name says nothing
    for dem, words in ((str(pop), "says population"), ("elevation.tif", "like a population or count raster"),
                       (str(BACAU / "04_elevation_Bacau_AOI_4326.tif"), None)):
        cat = load_catalog(write_catalog(tmp_path, [
            {"role": "boundary", "path": str(BACAU / "Bacau_AOI_4326.shp")},
            {"role": "builtup", "path": str(BACAU / "02_urban_change_Bacau_GHSL_LDSMT_4326.tif"),
             "encoding": "ghsl-ldsmt"},
            {"role": "dem", "path": dem}], name="Bacau", synthetic=False))
        notes = check_catalog(cat)[-1]["notes"]
        found = [w for w in build_stack(cat, grid_for(cat, 30.0), cache=False).warnings if "DEM" in w]
        if words is None:
            assert notes == [] and found == []
        else:
            assert any(words in n and "--role population" in n for n in notes), notes
            assert len(found) == 1 and words in found[0] and "--role population" in found[0], found


def test_builtup_covering_everything_and_shrinking_epochs_warn(town):
    write_raster(town / "all.tif", np.ones((N, N), "uint8"), UTM, utm_transform(RES))
    small = np.zeros((N, N), "uint8")
    small[45:55, 45:55] = 1
    write_raster(town / "small.tif", small, UTM, utm_transform(RES))
    s = stack_of(
        town,
        [
            {"role": "builtup", "path": "all.tif", "year": 2000},
            {"role": "builtup", "path": "small.tif", "year": 2020},
        ],
    )
    assert any(w.startswith("all.tif: built-up 2000 covers 100 % of the study area") for w in s.warnings)
    assert any(
        w.startswith("built-up shrinks from 900 ha in 2000 (all.tif) to 178 ha in 2010 (built_2010.tif)")
        for w in s.warnings
    )
    assert any(
        w.startswith("built-up shrinks from 178 ha in 2010 (built_2010.tif) to 9 ha in 2020 (small.tif)")
        for w in s.warnings
    )
    s = stack_of(town)
    assert s.warnings == []  # a plain layer gets no warning


def test_multiband_raster_warns_and_band_chooses(town):
    with rasterio.open(
        town / "rgb.tif",
        "w",
        driver="GTiff",
        height=N,
        width=N,
        count=3,
        dtype="uint8",
        crs=UTM,
        transform=utm_transform(RES),
    ) as ds:
        ds.write(np.zeros((N, N), "uint8"), 1)
        ds.write(blob(N).astype("uint8"), 2)
        ds.write(np.ones((N, N), "uint8"), 3)
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "rgb.tif", "year": 2015}])
    assert any(w.startswith("rgb.tif: has 3 bands and band 1 is read") for w in s.warnings)
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "rgb.tif", "year": 2015, "band": 2}])
    assert np.array_equal(s.builtup[2015], blob(N)) and not any("bands" in w for w in s.warnings)
    with pytest.raises(DataError, match=r"rgb\.tif: has 3 band\(s\), no band 4"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "rgb.tif", "year": 2015, "band": 4}])


# ================================================================ grid snapping


def test_grid_snaps_to_a_raster_of_its_resolution(town):
    write_raster(
        town / "built_2010.tif", blob(N).astype("uint8"), UTM, utm_transform(RES, left=X0 + 7, top=Y0 + 3013)
    )
    cat = load_catalog(write_catalog(town, BASE))
    g = grid_for(cat, 30.0, margin_m=100)
    assert (g.left - (X0 + 7)) % 30 == pytest.approx(0) and (g.top - (Y0 + 3013)) % 30 == pytest.approx(0)
    g = grid_for(cat, 50.0, margin_m=100)  # another resolution: multiples of it
    assert g.left % 50 == 0 and g.top % 50 == 0


# ================================================================ OpenStreetMap .pbf and places


def test_osm_pbf_roads_water_and_places(town):
    shutil.copy(PBF, town / "region.osm.pbf")
    s = stack_of(
        town,
        [
            {"role": "roads", "path": "region.osm.pbf"},
            {"role": "water", "path": "region.osm.pbf"},
            {"role": "places", "path": "region.osm.pbf"},
        ],
    )
    assert sorted(zip(s.roads["highway"], s.roads["road_class"])) == [
        ("primary", "arterial"),
        ("residential", "local"),
    ]
    assert set(s.roads["name"]) == {"Main Road", ""}
    assert s.arterial_dist_m[49, 10] == 0 and s.arterial_dist_m[39, 10] == pytest.approx(300.0)
    assert len(s.vectors["water"]) == 2 and s.water[96].all() and s.water[15, 85]
    places = s.places.sort_values("name")
    assert list(places["name"]) == ["Little Test", "Testville"] and list(places["place"]) == [
        "village",
        "town",
    ]
    assert places.crs == UTM and places.geometry.iloc[1].distance(Point(X0 + 1500, Y0 + 1500)) < 1
    rows = check_catalog(load_catalog(town / "layers.toml"))
    assert all(r["problems"] == [] for r in rows)


@pytest.mark.skipif(
    shutil.which("osmium") is None, reason="osmium-tool is not installed (apt install osmium-tool)"
)
def test_pbf_fixture_is_the_hand_written_osm_file(tmp_path):
    """tests/data/town.osm.pbf is `osmium cat` of write_osm's file (remake it when that changes)."""
    import subprocess

    import pyogrio
    from conftest import write_osm

    write_osm(tmp_path / "town.osm")
    subprocess.run(
        ["osmium", "cat", str(tmp_path / "town.osm"), "-o", str(tmp_path / "town.osm.pbf")], check=True
    )
    for layer in ("points", "lines", "multipolygons"):
        a = pyogrio.read_dataframe(tmp_path / "town.osm.pbf", layer=layer)
        b = pyogrio.read_dataframe(PBF, layer=layer)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")) and a.geom_equals(b).all(), layer


def test_places_from_a_vector_file_need_a_name(town):
    gpd.GeoDataFrame({"label": ["A"]}, geometry=[Point(X0 + 100, Y0 + 100)], crs=UTM).to_file(town / "p.gpkg")
    with pytest.raises(DataError, match=r"p\.gpkg: places layer has no field 'name'; its fields are: label"):
        stack_of(town, [{"role": "places", "path": "p.gpkg"}])
    s = stack_of(town)
    assert s.places is None


# ================================================================ real data


@needs_shared
def test_rionegro_raster_masks_and_snapped_grid():
    cat = load_catalog(Path(__file__).parents[1] / "layers" / "rionegro" / "layers.toml")
    assert check_problems(cat, check_catalog(cat)) == []
    grid = grid_for(cat, 100.0)
    with rasterio.open(cat.by_role("builtup")[0].path) as ds:
        assert (grid.left - ds.transform.c) % 100 == pytest.approx(0, abs=1e-6)
        mask = rasterio.open(cat.by_role("boundary")[0].path).read(1)
    s = build_stack(cat, grid, cache=False)
    assert int(s.valid.sum()) == int((mask == 1).sum())  # aligned: every mask cell, once
    assert s.protected[s.valid].mean() > 0.1
    assert s.builtup_ha(2019) > 3 * s.builtup_ha(2000) > 0


@needs_shared
def test_hubli_classes_check_passes():
    cat = load_catalog(Path(__file__).parents[1] / "layers" / "hubli" / "layers.toml")
    rows = check_catalog(cat)
    assert check_problems(cat, rows) == []
    assert [r["year"] for r in rows[1:]] == ["2016", "2019", "2022", "2025"]


def test_catalog_keys_in_summary_are_json_friendly(town):
    """The stack's warnings are plain strings (they go into summary.json)."""
    s = stack_of(town, [{"role": "builtup", "path": "built_2010.tif", "year": 2011}])
    json.dumps(s.warnings)


# ================================================================ QA 18: import-time hints


def test_ldsmt_codes_imported_as_binary_suggest_ghsl_ldsmt(town):
    import_layer(town / "cat", "boundary", town / "boundary.gpkg")
    codes = np.where(blob(N), 4, 2).astype("uint8")  # LDSMT-like: 2 never built, 4 built, 1 water, 0 none
    codes[:5] = 1
    codes[-5:] = 0
    codes[40:45, 40:45] = 6
    write_raster(town / "ldsmt.tif", codes, UTM, utm_transform(RES))
    with pytest.raises(DataError, match=r'encoding = "ghsl-ldsmt" \(`--encoding ghsl-ldsmt`\)'):
        import_layer(town / "cat", "builtup", town / "ldsmt.tif", year=2014)
    # a land-cover classification with codes beyond 0-6 is not taken for LDSMT
    write_raster(town / "lc.tif", np.where(blob(N), 50, 10).astype("uint8") + (np.arange(N) % 3 == 0),
                 UTM, utm_transform(RES))
    with pytest.raises(DataError) as err:
        import_layer(town / "cat", "builtup", town / "lc.tif", year=2014)
    assert "ghsl-ldsmt" not in str(err.value) and 'encoding = "classes"' in str(err.value)


@needs_shared
def test_real_ldsmt_imported_as_binary_suggests_ghsl_ldsmt(tmp_path):
    from test_layers import BACAU

    import_layer(tmp_path / "cat", "boundary", BACAU / "Bacau_AOI_4326.shp")
    with pytest.raises(DataError, match="--encoding ghsl-ldsmt"):
        import_layer(tmp_path / "cat", "builtup", BACAU / "02_urban_change_Bacau_GHSL_LDSMT_4326.tif",
                     year=2014)


def test_roads_import_warns_when_no_road_is_arterial(town):
    cat = town / "cat" / "layers.toml"
    import_layer(cat, "boundary", town / "boundary.gpkg")
    before = cat.read_text()
    write_roads(town / "roads.gpkg", field="surface")
    gdf = gpd.read_file(town / "roads.gpkg")
    gdf["surface"] = ["asphalt", None]  # one feature without a value
    gdf.to_file(town / "roads.gpkg")
    args = ["layers", "import", str(town / "cat"), "--role", "roads", str(town / "roads.gpkg"),
            "--class-field", "surface"]
    r = CliRunner().invoke(cli, [*args, "--arterial-values", "motorway"])
    assert r.exit_code == 0, r.output
    warning = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "roads.gpkg: no road is arterial" in warning[0], r.stderr
    assert "values are asphalt; 1 feature without one" in warning[0] and "--arterial-values" in warning[0]
    # the same note in `layers check`, its value list not starting with an empty value
    note = check_catalog(load_catalog(cat))[-1]["notes"]
    assert note and "values are asphalt; 1 feature without one" in note[0]
    cat.write_text(before)
    r = CliRunner().invoke(cli, [*args, "--arterial-values", "asphalt"])
    assert r.exit_code == 0 and "warning:" not in r.stderr, r.stderr
