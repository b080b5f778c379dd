"""Layer import and the aligned stack (expansion.inputs, expansion.terrain)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import (
    BOUNDS,
    SIDE,
    UTM,
    X0,
    Y0,
    bowtie,
    geographic_transform,
    make_town,
    utm_transform,
    write_boundary,
    write_catalog,
    write_osm,
    write_raster,
    write_roads,
)
from rasterio.enums import Resampling
from rasterio.warp import reproject
from shapely.geometry import LineString, box

from expansion.config import load_catalog
from expansion.errors import ConfigError, DataError
from expansion.grid import Grid
from expansion.inputs import build as stack_build
from expansion.inputs import (
    build_stack,
    check_catalog,
    check_problems,
    format_check_table,
    grid_for,
    import_layer,
)
from expansion.terrain import slope_percent

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BACAU = SHARED / "bacau"
UGANDA = SHARED / "uganda_roads"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real data folder {SHARED} is absent "
                                  "(../shared/data beside the repository)")

RES = 30.0
N = int(SIDE / RES)  # 100 cells a side


def grid30() -> Grid:
    """The grid that exactly covers the synthetic study area at 30 m."""
    return Grid(crs=UTM, left=X0, top=Y0 + SIDE, res=RES, width=N, height=N)


def blob(n: int) -> np.ndarray:
    """A disc of built-up in the middle of an n x n array (bool)."""
    yy, xx = np.mgrid[0:n, 0:n]
    return (yy - n / 2 + 0.5) ** 2 + (xx - n / 2 + 0.5) ** 2 <= (n / 4) ** 2


@pytest.fixture
def town(tmp_path) -> Path:
    """A folder with a boundary (GeoPackage, UTM) and a binary built-up (UTM, 30 m, 2010)."""
    return make_town(tmp_path, N, RES, blob(N))


BASE = [{"role": "boundary", "path": "boundary.gpkg"},
        {"role": "builtup", "path": "built_2010.tif", "year": 2010}]


def stack_of(folder: Path, extra: list[dict] = (), base: list[dict] = BASE, grid: Grid | None = None):
    cat = load_catalog(write_catalog(folder, list(base) + list(extra)))
    return build_stack(cat, grid or grid30(), cache=False)


# ================================================================ grid


def test_grid_for_picks_utm_from_centroid_and_adds_margin(town):
    write_boundary(town / "boundary_4326.geojson", crs="EPSG:4326")
    cat = load_catalog(write_catalog(
        town, [{"role": "boundary", "path": "boundary_4326.geojson"}] + BASE[1:]))
    g = grid_for(cat, 30.0, margin_m=1000.0)
    assert g.crs == "EPSG:32635"
    left, bottom, right, top = g.bounds
    assert left <= X0 - 1000 + 1 and right >= X0 + SIDE + 1000 - 1
    assert bottom <= Y0 - 1000 + 1 and top >= Y0 + SIDE + 1000 - 1
    assert right - left < SIDE + 2000 + 3 * 30
    g2 = grid_for(cat, 50.0, crs="EPSG:3857", margin_m=0)
    assert g2.crs == "EPSG:3857" and g2.res == 50.0


# ================================================================ built-up encodings and CRSs


def test_binary_utm_aligned_is_exact(town):
    s = stack_of(town)
    assert s.years == [2010]
    assert np.array_equal(s.builtup[2010], blob(N))
    assert s.valid.all()
    assert s.builtup_ha(2010) == pytest.approx(blob(N).sum() * 0.09)
    for name in ("water_dist_m", "road_dist_m", "arterial_dist_m"):
        arr = getattr(s, name)
        assert arr.dtype == np.float32 and arr.shape == (N, N) and np.isfinite(arr).all()
    assert s.road_dist_m.max() == pytest.approx(math.hypot(N * RES, N * RES))
    assert s.dem is None and s.slope_pct is None and s.population is None and s.flood is None
    assert s.vectors["boundary"].crs == UTM


def test_binary_in_epsg4326_keeps_area(town):
    # a disc of known area drawn on a ~10 m geographic raster
    t, w, h = geographic_transform(0.0001)
    from pyproj import Transformer

    lon, lat = np.meshgrid(t.c + (np.arange(w) + 0.5) * t.a, t.f + (np.arange(h) + 0.5) * t.e)
    x, y = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(lon, lat)
    r = 800.0
    disc = ((x - X0 - 1500) ** 2 + (y - Y0 - 1500) ** 2 <= r * r).astype("uint8")
    write_raster(town / "geo.tif", disc, "EPSG:4326", t)
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "geo.tif", "year": 2000}])
    assert s.builtup_ha(2000) == pytest.approx(math.pi * r * r / 10_000, rel=0.02)


def test_nearest_keeps_fine_scattered_builtup_area_where_mode_would_not(town):
    """Why built-up is thresholded then warped with nearest: a 10 m source with 30 %
    scattered built-up keeps its area on a 30 m grid; majority (mode) loses most of it."""
    rng = np.random.default_rng(1)
    fine = (rng.random((3 * N, 3 * N)) < 0.3).astype("uint8")
    write_raster(town / "fine.tif", fine, UTM, utm_transform(10.0))
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "fine.tif", "year": 2000}])
    true_ha = fine.sum() * 0.01
    assert s.builtup_ha(2000) == pytest.approx(true_ha, rel=0.03)
    mode = np.zeros((N, N), "uint8")
    reproject(fine, mode, src_transform=utm_transform(10.0), src_crs=UTM, dst_transform=grid30().transform,
              dst_crs=UTM, resampling=Resampling.mode)
    assert mode.sum() * 0.09 < 0.5 * true_ha


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_fraction_0_1_and_0_100_threshold_alike(town, scale):
    frac = np.zeros((N, N), "float32")
    frac[:, :40] = 0.7
    frac[:, 40:60] = 0.3
    frac[:, 60:] = 0.55
    write_raster(town / "frac.tif", frac * scale, UTM, utm_transform(RES))
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "frac.tif", "year": 2015,
                                       "encoding": "fraction"}])
    expected = frac >= 0.5
    assert np.array_equal(s.builtup[2015], expected)
    s2 = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "frac.tif", "year": 2015,
                                        "encoding": "fraction", "threshold": 0.6}])
    assert np.array_equal(s2.builtup[2015], frac >= 0.6)


def test_ghs_built_s_in_mollweide_thresholds_share_of_cell(town):
    """GHS-BUILT-S: m² of roofs per 100 m Mollweide cell; built where >= 20 % is roofed."""
    from pyproj import Transformer

    tm = Transformer.from_crs(UTM, "ESRI:54009", always_xy=True)
    xs, ys = tm.transform([BOUNDS[0] - 500, BOUNDS[2] + 500], [BOUNDS[1] - 500, BOUNDS[3] + 500])
    left, top = math.floor(min(xs) / 100) * 100, math.ceil(max(ys) / 100) * 100
    w, h = int((max(xs) - left) / 100) + 2, int((top - min(ys)) / 100) + 2
    m2 = np.full((h, w), 1_500, "uint16")  # 15 % roofed: not built
    m2[:, : w // 2] = 2_500  # 25 % roofed: built
    m2[0, :] = 65535  # nodata row (outside the study area)
    t = utm_transform(100.0, left=left, top=top)
    write_raster(town / "ghs.tif", m2, "ESRI:54009", t, nodata=65535)
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "ghs.tif", "year": 2020,
                                       "encoding": "ghs-built-s"}])
    share = s.builtup[2020][s.valid].mean()
    # the west half of the Mollweide raster (split at its middle column) is built
    xm = left + (w // 2) * 100
    xm_utm, _ = Transformer.from_crs("ESRI:54009", UTM, always_xy=True).transform(xm, (top + min(ys)) / 2)
    assert share == pytest.approx((xm_utm - X0) / SIDE, abs=0.05)
    assert 0.1 < share < 0.9
    s2 = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "ghs.tif", "year": 2020,
                                        "encoding": "ghs-built-s", "threshold": 0.1}])
    assert s2.builtup[2020][s2.valid].all()


def test_ghsl_ldsmt_epochs_water_and_nodata(town):
    codes = np.full((N, N), 2, "uint8")
    codes[40:60, 40:60] = 6
    codes[30:40, 40:60] = 5
    codes[20:30, 40:60] = 4
    codes[10:20, 40:60] = 3
    codes[90:, :] = 1  # water
    codes[:, :5] = 0  # no data
    write_raster(town / "ldsmt.tif", codes, UTM, utm_transform(RES))
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "ldsmt.tif", "encoding": "ghsl-ldsmt"}])
    assert s.years == [1975, 1990, 2000, 2014]
    for year, n_rows in ((1975, 20), (1990, 30), (2000, 40), (2014, 50)):
        assert s.builtup[year].sum() == n_rows * 20
    assert s.water[90:, 5:].all() and s.has_water
    assert not s.valid[:, :5].any() and s.valid[:, 5:].all()
    assert s.water_dist_m[89, 50] == pytest.approx(RES)


def test_tiles_are_mosaicked_first_valid_wins(town):
    built = blob(N).astype("uint8")
    west = np.full((N, 60), 255, "uint8")
    west[:, :50] = built[:, :50]  # columns 50-59 are nodata in the west tile
    write_raster(town / "west.tif", west, UTM, utm_transform(RES), nodata=255)
    write_raster(town / "east.tif", built[:, 50:], UTM, utm_transform(RES, left=X0 + 50 * RES))
    ones = np.ones((N, N), "uint8")
    write_raster(town / "late.tif", ones, UTM, utm_transform(RES))  # listed last: loses everywhere
    s = stack_of(town, base=[BASE[0]] + [{"role": "builtup", "path": p, "year": 2010}
                                          for p in ("west.tif", "east.tif", "late.tif")])
    assert np.array_equal(s.builtup[2010], blob(N))
    assert s.valid.all()


def test_nodata_is_honoured_and_catalog_can_override(town):
    data = blob(N).astype("uint8")
    data[:10, :] = 255
    write_raster(town / "nd.tif", data, UTM, utm_transform(RES), nodata=255)
    s = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "nd.tif", "year": 2010}])
    assert not s.valid[:10].any() and s.valid[10:].all()
    assert not s.builtup[2010][:10].any()
    # without the tag, the catalog's 'nodata' does the same
    write_raster(town / "untagged.tif", data, UTM, utm_transform(RES))
    s2 = stack_of(town, base=[BASE[0], {"role": "builtup", "path": "untagged.tif", "year": 2010,
                                        "nodata": 255}])
    assert np.array_equal(s2.valid, s.valid)


def test_nodata_that_does_not_fit_the_dtype_is_an_error(town):
    with pytest.raises(DataError, match=r"built_2010\.tif.*-1.*uint8"):
        stack_of(town, base=[BASE[0], {**BASE[1], "nodata": -1}])


# ================================================================ continuous rasters


def test_slope_of_a_plane_in_percent_within_1pct(town):
    g = grid30()
    xs, ys = g.cell_centres()
    xx, yy = np.meshgrid(xs - X0, ys - Y0)
    dem = (100 + 0.06 * xx + 0.08 * yy).astype("float32")  # 10 % slope
    write_raster(town / "dem.tif", dem, UTM, utm_transform(RES), nodata=-9999.0)
    s = stack_of(town, [{"role": "dem", "path": "dem.tif"}])
    assert s.slope_pct.dtype == np.float32
    assert np.nanmedian(s.slope_pct) == pytest.approx(10.0, rel=0.01)
    assert np.nanmax(np.abs(s.slope_pct[1:-1, 1:-1] - 10.0)) < 0.1
    assert slope_percent(np.zeros((5, 5), "float32"), 30.0).max() == 0.0
    # next to no data the one-sided difference keeps the slope
    plane = dem.copy()
    plane[:, :50] = np.nan
    edge = slope_percent(plane, RES)
    assert np.isnan(edge[:, :50]).all() and np.allclose(edge[:, 50:], 10.0, rtol=0.01)


def test_dem_in_epsg4326_is_bilinear_and_nan_outside(town):
    t, w, h = geographic_transform(0.0003, pad_m=300)
    dem = np.full((h, w), 200, "int16")
    dem[: h // 3] = -32768  # nodata in the north
    write_raster(town / "dem.tif", dem, "EPSG:4326", t, nodata=-32768)
    s = stack_of(town, [{"role": "dem", "path": "dem.tif"}])
    assert s.dem.dtype == np.float32
    assert np.isnan(s.dem[0]).all() and (s.dem[-1] == 200).all()
    assert np.nanmedian(s.slope_pct) == 0.0


def test_population_sum_is_preserved(town):
    rng = np.random.default_rng(3)
    t, w, h = geographic_transform(0.001, pad_m=0)  # ~80 x 110 m cells
    pop = rng.uniform(0, 50, (h, w)).astype("float32")
    write_raster(town / "pop.tif", pop, "EPSG:4326", t, nodata=-99999.0)
    # a grid that contains the whole raster, so nothing is cut off
    g = Grid(crs=UTM, left=X0 - 600, top=Y0 + SIDE + 600, res=RES, width=N + 40, height=N + 40)
    s = stack_of(town, [{"role": "population", "path": "pop.tif"}], grid=g)
    assert np.nansum(s.population) == pytest.approx(pop.sum(), rel=0.01)


def test_strip_by_strip_build_equals_whole_grid(town, monkeypatch):
    """Large grids are read, warped and derived in row strips (grid.STRIP_CELLS):
    on sources aligned with the grid the stack is the same, cell for cell, as
    built in one piece; the percent test of a "fraction" layer looks at the
    whole raster (its first strips hold only 0 and 1)."""
    import expansion.grid as grid_mod

    g = grid30()
    xs, ys = g.cell_centres()
    xx, yy = np.meshgrid(xs - X0, ys - Y0)
    write_raster(town / "dem.tif", (100 + 0.06 * xx + 0.002 * (yy - 1500) ** 2 / 30).astype("float32"),
                 UTM, utm_transform(RES))
    write_raster(town / "pop.tif", (xx / 100).astype("float32"), UTM, utm_transform(RES), nodata=-1.0)
    frac = np.zeros((N, N), "float32")
    frac[50:, :] = 60.0  # percent, only in the southern half
    frac[:20, :30] = 1.0  # 1 % in the north: not built
    write_raster(town / "frac.tif", frac, UTM, utm_transform(RES))
    river = LineString([(X0 - 50, Y0 + 105), (X0 + SIDE + 50, Y0 + 105)])
    gpd.GeoDataFrame(geometry=[river], crs=UTM).to_file(town / "water.gpkg", engine="pyogrio")
    write_roads(town / "roads.gpkg")
    extra = [{"role": "dem", "path": "dem.tif"}, {"role": "population", "path": "pop.tif"},
             {"role": "builtup", "path": "frac.tif", "year": 2015, "encoding": "fraction"},
             {"role": "water", "path": "water.gpkg"}, {"role": "roads", "path": "roads.gpkg"}]
    whole = stack_of(town, extra)
    monkeypatch.setattr(grid_mod, "STRIP_CELLS", 7 * N)  # 15 strips of 7 rows
    assert len(list(g.strips())) == 15
    strips = stack_of(town, extra)
    for name in ("valid", "water", "water_dist_m", "road_dist_m", "dem", "slope_pct", "height_above_water_m",
                 "population"):
        assert np.array_equal(getattr(whole, name), getattr(strips, name), equal_nan=True), name
    assert np.array_equal(strips.builtup[2015], frac >= 50)
    assert np.array_equal(whole.builtup[2010], strips.builtup[2010])


def test_cached_build_is_written_strip_by_strip_and_loads_memory_mapped(town):
    write_raster(town / "dem.tif", np.full((N, N), 50, "float32"), UTM, utm_transform(RES))
    cat = load_catalog(write_catalog(town, BASE + [{"role": "dem", "path": "dem.tif"}]))
    s = build_stack(cat, grid30())
    assert isinstance(s.dem, np.memmap) and isinstance(s.valid, np.memmap)
    assert np.array_equal(s.dem, build_stack(cat, grid30(), cache=False).dem)
    folders = list((town / ".cache").iterdir())
    assert len(folders) == 1 and not folders[0].name.endswith(".tmp")


def test_cached_stack_pickles_its_grids_as_paths(town):
    """Dask workers get a cached stack as file paths and map the same read-only files."""
    import dataclasses
    import pickle

    write_raster(town / "dem.tif", np.full((N, N), 50, "float32"), UTM, utm_transform(RES))
    cat = load_catalog(write_catalog(town, BASE + [{"role": "dem", "path": "dem.tif"}]))
    s = build_stack(cat, grid30())
    with pytest.raises(ValueError, match="read-only"):
        s.dem[0, 0] = 1.0  # stages never write into the stack
    data = pickle.dumps(s)
    assert len(data) < N * N  # no grid in it
    back = pickle.loads(data)
    assert isinstance(back.dem, np.memmap) and np.array_equal(back.dem, s.dem)
    assert np.array_equal(back.builtup[2010], s.builtup[2010]) and back.grid == s.grid
    assert back.vectors["boundary"].geom_equals(s.vectors["boundary"]).all()
    # an array replaced in memory travels by value
    changed = dataclasses.replace(s, dem=np.zeros((N, N), "float32"))
    assert pickle.loads(pickle.dumps(changed)).dem.max() == 0.0


def test_unwritable_cache_folder_builds_in_memory(town, caplog):
    cat = load_catalog(write_catalog(town, BASE))
    (town / ".cache").write_text("not a folder")  # the cache cannot be made
    with caplog.at_level(logging.WARNING, logger="expansion.inputs"):
        s = build_stack(cat, grid30())
    assert "could not write the cache" in caplog.text
    assert np.array_equal(s.builtup[2010], blob(N))


# ================================================================ vectors


def test_roads_classes_and_distances(town):
    write_roads(town / "roads.gpkg")
    s = stack_of(town, [{"role": "roads", "path": "roads.gpkg"}])
    roads = s.vectors["roads"]
    assert roads.crs == UTM
    assert dict(zip(roads["highway"], roads["road_class"])) == {"primary": "arterial", "residential": "local"}
    # the primary runs along row 49 (y = Y0 + 1515); 10 rows north its distance is 300 m
    assert s.arterial_dist_m[49].max() == 0
    assert s.arterial_dist_m[39, 10] == pytest.approx(300.0)
    assert s.road_dist_m[39, 50] == 0  # on the residential street (x = X0 + 1515: column 50)
    assert s.has_roads


def test_roads_other_class_field(town):
    write_roads(town / "roads.shp", field="fclass")
    s = stack_of(town, [{"role": "roads", "path": "roads.shp", "class_field": "fclass"}])
    assert sorted(s.vectors["roads"]["road_class"]) == ["arterial", "local"]


def test_roads_without_class_field_is_an_error_naming_fields(town):
    write_roads(town / "roads.gpkg", field="kind")
    with pytest.raises(DataError, match=r"roads\.gpkg.*'highway'.*kind, name"):
        stack_of(town, [{"role": "roads", "path": "roads.gpkg"}])


def test_invalid_geometry_is_repaired_with_a_warning(town, caplog):
    gdf = gpd.GeoDataFrame(geometry=[bowtie(X0 + 300, Y0 + 300, 900), None], crs=UTM)
    gdf.to_file(town / "protected.gpkg", engine="pyogrio")
    with caplog.at_level(logging.WARNING, logger="expansion.inputs"):
        s = stack_of(town, [{"role": "protected", "path": "protected.gpkg"}])
    assert "repaired 1 invalid" in caplog.text
    assert s.vectors["protected"].is_valid.all() and len(s.vectors["protected"]) == 1
    # two triangles of 900 m side / 2: half the square's area
    assert s.protected.sum() * 900 == pytest.approx(900 * 900 / 2, rel=0.1)


def test_geopackage_layer_is_chosen_by_name(town):
    write_roads(town / "multi.gpkg")
    gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 90, Y0 + 90)], crs=UTM).to_file(
        town / "multi.gpkg", layer="parks", engine="pyogrio")
    with pytest.raises(DataError, match=r"^multi\.gpkg: has 2 layers \(multi, parks\)"):
        stack_of(town, [{"role": "protected", "path": "multi.gpkg"}])
    s = stack_of(town, [{"role": "protected", "path": "multi.gpkg", "layer": "parks"}])
    assert s.protected.sum() == 9
    with pytest.raises(DataError, match=r"^multi\.gpkg: has no layer 'nope'; its layers are: multi, parks"):
        stack_of(town, [{"role": "protected", "path": "multi.gpkg", "layer": "nope"}])


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_vector_without_crs_is_an_error(town):
    gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 500, Y0 + 500)])]).to_file(
        town / "rivers.shp", engine="pyogrio")
    assert not (town / "rivers.prj").exists()
    with pytest.raises(DataError, match=r"rivers\.shp: has no coordinate reference system"):
        stack_of(town, [{"role": "water", "path": "rivers.shp"}])


def test_water_lines_polygons_and_height_above_water(town):
    g = grid30()
    xs, ys = g.cell_centres()
    _, yy = np.meshgrid(xs - X0, ys - Y0)
    write_raster(town / "dem.tif", (100 + 0.1 * yy).astype("float32"), UTM, utm_transform(RES))
    river = LineString([(X0 - 50, Y0 + 105), (X0 + SIDE + 50, Y0 + 105)])  # row 96
    gpd.GeoDataFrame(geometry=[river, box(X0 + 2400, Y0 + 2400, X0 + 2700, Y0 + 2700)], crs=UTM).to_file(
        town / "water.gpkg", engine="pyogrio")
    s = stack_of(town, [{"role": "water", "path": "water.gpkg"}, {"role": "dem", "path": "dem.tif"}])
    assert s.water[96].all() and s.water[15, 85]
    assert s.water_dist_m[86, 10] == pytest.approx(300.0)
    # 10 rows north of the river the ground is 30 m higher
    assert s.height_above_water_m[86, 10] == pytest.approx(30.0, abs=0.01)
    assert s.height_above_water_m[96, 10] == pytest.approx(0.0, abs=1e-3)


def test_osm_file_roads_and_water(town):
    write_osm(town / "region.osm")
    s = stack_of(town, [{"role": "roads", "path": "region.osm"}, {"role": "water", "path": "region.osm"},
                        {"role": "protected", "path": "region.osm"}])
    assert not s.protected.any()  # no parks or forests in the file
    roads = s.vectors["roads"]
    assert sorted(zip(roads["highway"], roads["road_class"])) == [("primary", "arterial"),
                                                                  ("residential", "local")]
    assert s.arterial_dist_m[49, 10] == 0 and s.arterial_dist_m[39, 10] == pytest.approx(300.0)
    assert len(s.vectors["water"]) == 2  # the river (lines) and the lake (multipolygons)
    assert s.water[96].all() and s.water[15, 85] and not s.water[15, 20]


# ================================================================ errors


def test_missing_file_names_it_as_written_and_resolved(town):
    with pytest.raises(DataError) as err:
        stack_of(town, [{"role": "dem", "path": "sub/nope.tif"}])
    msg = str(err.value)
    assert msg.startswith("sub/nope.tif: file not found") and str(town / "sub" / "nope.tif") in msg
    assert "\n" not in msg


def test_directory_instead_of_file(town):
    (town / "dem.tif").mkdir()
    with pytest.raises(DataError, match=r"^dem\.tif: is a directory"):
        stack_of(town, [{"role": "dem", "path": "dem.tif"}])


def test_truncated_geotiff(town):
    data = np.random.default_rng(0).integers(0, 2, (400, 400)).astype("uint8")
    write_raster(town / "big.tif", data, UTM, utm_transform(7.5))
    raw = (town / "big.tif").read_bytes()
    (town / "big.tif").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"^big\.tif: cannot be read.*(truncated|GeoTIFF)"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "big.tif", "year": 2000}])
    (town / "big.tif").write_bytes(raw[:100])  # broken header: fails at open
    with pytest.raises(DataError, match=r"^big\.tif: cannot be read as a raster"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "big.tif", "year": 2000}])


def test_raster_without_crs(town):
    write_raster(town / "nocrs.tif", blob(N).astype("uint8"), None, utm_transform(RES))
    with pytest.raises(DataError, match=r"^nocrs\.tif: has no coordinate reference system"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "nocrs.tif", "year": 2000}])


def test_raster_not_overlapping_the_study_area(town):
    far = utm_transform(RES, left=X0 + 50_000)
    write_raster(town / "far.tif", blob(N).astype("uint8"), UTM, far)
    with pytest.raises(DataError, match=r"^far\.tif: does not overlap the study area"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "far.tif", "year": 2000}])


def test_no_builtup_layer(town):
    with pytest.raises(DataError, match="no built-up layer"):
        stack_of(town, base=[BASE[0]])


def test_all_nodata_raster(town):
    write_raster(town / "empty.tif", np.full((N, N), 255, "uint8"), UTM, utm_transform(RES), nodata=255)
    with pytest.raises(DataError, match=r"^empty\.tif: has only nodata"):
        stack_of(town, base=[BASE[0], {"role": "builtup", "path": "empty.tif", "year": 2000}])


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_grid_for_boundary_without_crs(town):
    gpd.GeoDataFrame(geometry=[box(*BOUNDS)]).to_file(town / "b.shp", engine="pyogrio")
    cat = load_catalog(write_catalog(town, [{"role": "boundary", "path": "b.shp"}] + BASE[1:]))
    with pytest.raises(DataError, match=r"^b\.shp: has no coordinate reference system"):
        grid_for(cat, 30.0)


# ================================================================ cache


def test_cache_hit_and_invalidation(town, caplog, monkeypatch):
    write_roads(town / "roads.gpkg")
    cat = load_catalog(write_catalog(town, BASE + [{"role": "roads", "path": "roads.gpkg"}]))
    steps = []
    with caplog.at_level(logging.INFO, logger="expansion.inputs"):
        first = build_stack(cat, grid30(), progress=steps.append)
    assert "stack: built in" in caplog.text and "boundary" in steps
    cached = [p for p in (town / ".cache").glob("stack-*") if (p / "meta.json").is_file()]
    assert len(cached) == 1

    real_build = stack_build.assemble_stack
    monkeypatch.setattr(stack_build, "assemble_stack", lambda *a: pytest.fail("rebuilt despite the cache"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="expansion.inputs"):
        second = build_stack(cat, grid30())
    assert "stack: cached" in caplog.text
    assert np.array_equal(second.builtup[2010], first.builtup[2010])
    assert np.array_equal(second.road_dist_m, first.road_dist_m) and second.road_dist_m.dtype == np.float32
    assert list(second.vectors["roads"]["road_class"]) == list(first.vectors["roads"]["road_class"])
    assert second.vectors["roads"].geom_equals(first.vectors["roads"]).all()
    assert second.sources == first.sources and second.has_roads

    # a changed input file is rebuilt
    monkeypatch.setattr(stack_build, "assemble_stack", real_build)
    data = np.zeros((N, N), "uint8")
    write_raster(town / "built_2010.tif", data, UTM, utm_transform(RES))
    st = (town / "built_2010.tif").stat()
    os.utime(town / "built_2010.tif", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    third = build_stack(cat, grid30())
    assert not third.builtup[2010].any()
    assert len([p for p in (town / ".cache").glob("stack-*") if (p / "meta.json").is_file()]) == 2
    # cache=False neither reads nor writes
    monkeypatch.setattr(stack_build, "save_cache", lambda *a: pytest.fail("wrote the cache"))
    build_stack(cat, grid30(), cache=False)


# ================================================================ check and import


def test_check_catalog_rows_and_table(town):
    write_roads(town / "roads.gpkg", field="kind")
    t, w, h = geographic_transform(0.0003)
    slope = 5 + 2 * np.arange(h, dtype="int16")[:, None] + np.zeros((h, w), "int16")  # ~6 % slope
    write_raster(town / "dem.tif", slope, "EPSG:4326", t, nodata=-32768)
    cat = load_catalog(write_catalog(town, BASE + [
        {"role": "roads", "path": "roads.gpkg"}, {"role": "dem", "path": "dem.tif"},
        {"role": "water", "path": "missing.gpkg"}]))
    rows = {r["file"]: r for r in check_catalog(cat)}
    assert rows["built_2010.tif"]["problems"] == [] and rows["built_2010.tif"]["crs"] == UTM
    assert rows["built_2010.tif"]["resolution"] == "30 m"
    assert rows["built_2010.tif"]["overlap_pct"] == pytest.approx(100, abs=0.5)
    assert rows["dem.tif"]["nodata"] == "-32768" and "° (~" in rows["dem.tif"]["resolution"]
    assert "'highway'" in rows["roads.gpkg"]["problems"][0]
    assert "file not found" in rows["missing.gpkg"]["problems"][0]
    table = format_check_table(list(rows.values()))
    assert "built_2010.tif" in table and "file not found" in table
    assert len({len(line) for line in table.splitlines()[:2]}) == 1
    # optional roles do not fail the check
    assert check_problems(cat, list(rows.values())) == []


def test_check_problems_on_required_roles(town):
    write_raster(town / "far.tif", blob(N).astype("uint8"), UTM, utm_transform(RES, left=X0 + 90_000))
    cat = load_catalog(write_catalog(town, [BASE[0], {"role": "builtup", "path": "far.tif", "year": 2000}]))
    problems = check_problems(cat, check_catalog(cat))
    assert len(problems) == 1 and problems[0].startswith("far.tif: does not overlap")
    cat = load_catalog(write_catalog(town, [BASE[0]]))
    assert any("no builtup layer" in p for p in check_problems(cat, check_catalog(cat)))


def test_import_builds_a_catalog_boundary_first(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write_boundary(src / "town.shp")
    (src / "town.qmd").write_text("<qgis/>")
    write_raster(src / "b2010.tif", blob(N).astype("uint8"), UTM, utm_transform(RES))
    cat_path = tmp_path / "city" / "layers.toml"
    with pytest.raises(DataError, match="import the study area boundary first"):
        import_layer(cat_path, "builtup", src / "b2010.tif", year=2010)
    entry = import_layer(cat_path, "boundary", src / "town.shp")
    assert entry.role == "boundary" and entry.path_as_written == "town.shp"
    for ext in ("shp", "shx", "dbf", "prj", "cpg", "qmd"):
        assert (tmp_path / "city" / f"town.{ext}").exists(), ext
    assert 'name = "city"' in cat_path.read_text()

    cat_path.write_text(cat_path.read_text() + "# my note\n")
    entry = import_layer(cat_path, "builtup", src / "b2010.tif", year=2010)
    assert entry.year == 2010 and entry.encoding == "binary"
    text = cat_path.read_text()
    assert "# my note" in text and text.count("[[layers]]") == 2
    cat = load_catalog(cat_path)
    assert [e.role for e in cat.layers] == ["boundary", "builtup"]
    assert build_stack(cat, grid_for(cat, 30.0), cache=False).builtup_ha(2010) > 0

    with pytest.raises(DataError, match="already in"):
        import_layer(cat_path, "builtup", src / "b2010.tif", year=2010)
    other = tmp_path / "other"
    other.mkdir()
    write_raster(other / "b2010.tif", np.zeros((N, N), "uint8"), UTM, utm_transform(RES))
    with pytest.raises(DataError, match=r"b2010\.tif: already exists and differs"):
        import_layer(cat_path, "builtup", other / "b2010.tif", year=2015)


def test_import_refuses_bad_files(town, tmp_path):
    cat_path = write_catalog(town, BASE)
    before = cat_path.read_text()
    write_roads(town / "roads.gpkg")
    with pytest.raises(DataError, match=r"needs a raster"):
        import_layer(cat_path, "dem", town / "roads.gpkg")
    with pytest.raises(DataError, match=r"needs a vector"):
        import_layer(cat_path, "roads", town / "built_2010.tif")
    far = tmp_path / "far.tif"
    write_raster(far, blob(N).astype("uint8"), UTM, utm_transform(RES, left=X0 + 90_000))
    with pytest.raises(DataError, match=r"far\.tif: does not overlap the study area"):
        import_layer(cat_path, "builtup", far, year=2000)
    nocrs = tmp_path / "nocrs.tif"
    write_raster(nocrs, blob(N).astype("uint8"), None, utm_transform(RES))
    with pytest.raises(DataError, match=r"nocrs\.tif: has no CRS"):
        import_layer(cat_path, "dem", nocrs)
    with pytest.raises(ConfigError, match="needs --year"):
        import_layer(cat_path, "builtup", town / "built_2010.tif")
    assert cat_path.read_text() == before
    # a file already inside the catalog folder is referenced, not copied
    entry = import_layer(cat_path, "roads", town / "roads.gpkg")
    assert entry.path_as_written == "roads.gpkg"


# ================================================================ real data


def _bacau_catalog(folder: Path, boundary: str = "Bacau_AOI_4326.shp") -> Path:
    return write_catalog(folder, [
        {"role": "boundary", "path": str(BACAU / boundary)},
        {"role": "builtup", "path": str(BACAU / "02_urban_change_Bacau_GHSL_LDSMT_4326.tif"),
         "encoding": "ghsl-ldsmt"},
        {"role": "dem", "path": str(BACAU / "04_elevation_Bacau_AOI_4326.tif")},
    ], name="Bacau", synthetic=False)


@needs_shared
def test_bacau_ldsmt_builtup_areas(tmp_path):
    """Inside the AOI boundary (Bacau_AOI_4326.shp), on a 30 m UTM 35N grid."""
    cat = load_catalog(_bacau_catalog(tmp_path))
    grid = grid_for(cat, 30.0)
    assert grid.crs == "EPSG:32635"
    s = build_stack(cat, grid, cache=False)
    for year, km2 in {1975: 11.6, 1990: 20.8, 2000: 21.6, 2014: 22.3}.items():
        assert s.builtup_ha(year) / 100 == pytest.approx(km2, rel=0.02), year
    # slope: a river plain and hills, nothing absurd
    slope = s.slope_pct[s.valid]
    assert 0.5 < np.nanmedian(slope) < 10 and np.nanpercentile(slope, 99) < 60
    assert np.isnan(slope).mean() < 0.01
    dem = s.dem[s.valid]
    assert 100 < np.nanmin(dem) and np.nanmax(dem) < 400
    assert s.water.any() and check_problems(cat, check_catalog(cat)) == []


@needs_shared
@pytest.mark.parametrize("city", ["jinja", "arua"])
def test_uganda_roads_with_classes(tmp_path, city):
    roads = UGANDA / f"osm_main_roads_{city}_bbox0.15deg.geojson"
    gdf = gpd.read_file(roads, engine="pyogrio")
    c = gdf.to_crs("EPSG:3857").union_all().centroid
    centre = gpd.GeoSeries([c], crs="EPSG:3857").to_crs("EPSG:4326").iloc[0]
    boundary = gpd.GeoDataFrame(geometry=[box(centre.x - 0.03, centre.y - 0.03, centre.x + 0.03,
                                              centre.y + 0.03)], crs="EPSG:4326")
    boundary.to_file(tmp_path / "aoi.gpkg", engine="pyogrio")
    cat = load_catalog(write_catalog(tmp_path, [{"role": "boundary", "path": "aoi.gpkg"},
                                                {"role": "roads", "path": str(roads)}]))
    grid = grid_for(cat, 100.0, margin_m=0)
    assert grid.crs == "EPSG:32636"
    from expansion.inputs.vectors import read_vector, roads_frame

    entry = cat.by_role("roads")[0]
    r = roads_frame(entry, read_vector(entry, dst_crs=grid.crs))
    assert set(r["road_class"]) == {"arterial", "local"}
    assert set(r.loc[r["road_class"] == "arterial", "highway"]) <= {
        "trunk", "primary", "secondary", "trunk_link", "primary_link", "secondary_link"}
    assert (r.loc[r["highway"] == "tertiary", "road_class"] == "local").all()
    assert r.crs == grid.crs and r.is_valid.all()
    rows = check_catalog(cat)
    assert rows[1]["problems"] == [] and rows[1]["overlap_pct"] > 50
