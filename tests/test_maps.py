"""Offline maps: no external references, escaping, determinism, sizes, alignment."""

from __future__ import annotations

import re
import struct
import zlib

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.transform import rowcol
from rasterio.warp import transform_bounds
from shapely.geometry import LineString, box

from expansion.errors import DataError
from expansion.grid import Grid
from expansion.outputs import palette
from expansion.outputs.web import leaflet, raster, vector

NASTY = '<script>alert(1)</script> & "Ñandú"'
NASTY_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Ñandú&quot;"


@pytest.fixture
def grid() -> Grid:
    # 60 x 50 cells of 30 m in UTM zone 37N (Ethiopia), row 0 north
    return Grid(crs="EPSG:32637", left=500_010.0, top=1_001_520.0, res=30.0, width=60, height=50)


@pytest.fixture
def dem(grid) -> np.ndarray:
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    z = 2000 + 40 * np.sin(cols / 8.0) + 30 * np.cos(rows / 6.0)
    z[0, 0] = np.nan
    return z.astype("float32")


@pytest.fixture
def layers(grid):
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    score = (cols / grid.width).astype("float32")
    score[:5, :5] = np.nan
    classes = ((rows // 10 + cols // 10) % 3).astype("int16")
    left, bottom, right, top = grid.bounds
    gdf = gpd.GeoDataFrame(
        {"name": [NASTY, "ring road"], "hectares": [12.5, 3400.0], "other": [1, 2]},
        geometry=[box(left + 300, bottom + 300, left + 600, bottom + 600),
                  LineString([(left, bottom), (right, top)])],
        crs=grid.crs,
    )
    return [
        raster.RasterLayer("Suitability " + NASTY, score, grid, "viridis", 0.0, 1.0,
                           "score, 0 to 1 " + NASTY),
        raster.RasterLayer("Classes", classes, grid, categories={0: ("low", "#fee8c8"), 1: ("mid", "#fdbb84"),
                                                                2: (NASTY, "#e34a33")},
                         legend="class", show=False),
        vector.VectorLayer("Hotspots " + NASTY, gdf, {"color": "#b30000", "weight": 2, "fillOpacity": 0.3},
                         {"name": "Name " + NASTY, "hectares": "hectares"}, "risk hotspots " + NASTY),
    ]


@pytest.fixture
def page(grid, dem, layers) -> str:
    return leaflet.make_map(NASTY, "Scenario " + NASTY, grid, layers,
                            hillshade=raster.hillshade(dem, grid.res), synthetic=True)


EXTERNAL = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", re.I)


def test_page_has_no_external_scripts_or_styles(page):
    assert not EXTERNAL.search(page)
    assert "@import" not in page
    for host in ("cdn.jsdelivr", "code.jquery", "cdnjs.cloudflare", "bootstrapcdn", "unpkg.com"):
        assert host not in page
    # Leaflet itself is inlined, and only what the map needs
    assert "L.version" in page or 't.version="1.9.3"' in page
    assert "jQuery" not in page and "bootstrap" not in page.lower()


def test_osm_tiles_are_offered_but_not_loaded_by_default(grid, layers):
    page = leaflet.make_map("City", "scenario", grid, layers, hillshade=None, synthetic=False, osm_tiles=True)
    start = page.index("L.tileLayer(")
    snippet = page[start : page.index(";", page.index(")", start))]
    assert "tile.openstreetmap.org" in snippet
    tile_var = re.search(r"var (\w+) = L\.tileLayer\(", page).group(1)
    assert f"{tile_var}.addTo(" not in page
    no_osm = leaflet.make_map("City", "scenario", grid, layers, osm_tiles=False)
    assert "L.tileLayer(" not in no_osm


def test_user_strings_are_escaped(page):
    assert "<script>alert(1)" not in page
    assert "alert(1)</script>" not in page
    # title, subtitle, legend and layer names carry the escaped text
    assert page.count(NASTY_ESCAPED) >= 4
    assert f"<title>{NASTY_ESCAPED} - Scenario {NASTY_ESCAPED}</title>" in page


def test_tooltip_values_are_escaped(layers):
    data = vector.vector_geojson(layers[2])
    props = data["features"][0]["properties"]
    assert props["f0"] == NASTY_ESCAPED
    assert props["f1"] == "12.50"
    assert data["features"][1]["properties"]["f1"] == "3,400"
    assert "other" not in props  # only tooltip fields are embedded


def test_same_inputs_give_identical_html(grid, dem, layers, page):
    again = leaflet.make_map(NASTY, "Scenario " + NASTY, grid, layers,
                          hillshade=raster.hillshade(dem, grid.res), synthetic=True)
    assert again == page
    assert not re.search(r"_[0-9a-f]{32}\b", page), "a random folium id is left"


def test_page_shows_badge_legend_scale_and_layer_control(page, grid, layers):
    assert "SYNTHETIC DATA" in page
    # a metric scale bar only (no feet or miles)
    assert "L.control.scale({metric: true, imperial: false" in page and "L.control.scale()" not in page
    assert "L.control.layers(" in page
    assert "xp-legend" in page and "score, 0 to 1" in page and "risk hotspots" in page
    plain = leaflet.make_map("City", "s", grid, layers, synthetic=False)
    assert "SYNTHETIC DATA" not in plain


def test_overlay_bounds_match_grid_bounds_and_vectors(grid):
    ov = raster.raster_overlay(raster.RasterLayer("x", np.ones(grid.shape, "float32"), grid, "viridis", 0, 1))
    merc = transform_bounds(grid.crs, "EPSG:3857", *grid.bounds, densify_pts=101)
    assert ov.bounds_3857 == pytest.approx(merc, abs=1e-6)
    w, s, e, n = transform_bounds("EPSG:3857", "EPSG:4326", *merc)
    (south, west), (north, east) = ov.bounds_latlon
    assert (south, west, north, east) == pytest.approx((s, w, n, e), abs=1e-9)
    assert 38.9 < west < east < 39.1 and 9.0 < south < north < 9.1
    # the grid's outline drawn as a vector has the same lat/lon envelope
    outline = gpd.GeoSeries([box(*grid.bounds).segmentize(grid.res)], crs=grid.crs).to_crs("EPSG:4326")
    ow, os_, oe, on = outline.total_bounds
    assert (south, west, north, east) == pytest.approx((os_, ow, on, oe), abs=1e-6)


def from_bounds(left, bottom, right, top, width, height) -> Affine:
    return Affine((right - left) / width, 0.0, left, 0.0, -(top - bottom) / height, top)


def test_overlay_pixels_land_where_the_cells_are(grid):
    arr = np.zeros(grid.shape, dtype="int16")
    arr[10:20, 40:50] = 1  # a 300 m block in the north-east
    ov = raster.raster_overlay(raster.RasterLayer("b", arr, grid, categories={1: ("block", "#ff0000")}))
    x = grid.left + 45 * grid.res
    y = grid.top - 15 * grid.res
    mx, my = Transformer.from_crs(grid.crs, "EPSG:3857", always_xy=True).transform(x, y)
    h, w = ov.indices.shape
    row, col = rowcol(from_bounds(*ov.bounds_3857, w, h), mx, my)
    assert ov.indices[row, col] == 1
    assert tuple(ov.palette[1]) == (255, 0, 0)
    # cells with other values are transparent (index 0), e.g. the south-west
    x2, y2 = grid.left + 5 * grid.res, grid.top - 45 * grid.res
    mx2, my2 = Transformer.from_crs(grid.crs, "EPSG:3857", always_xy=True).transform(x2, y2)
    row2, col2 = rowcol(from_bounds(*ov.bounds_3857, w, h), mx2, my2)
    assert ov.indices[row2, col2] == 0


def test_continuous_overlay_is_transparent_at_nan_and_clipped(grid):
    arr = np.full(grid.shape, 2.0, dtype="float32")
    arr[:, : grid.width // 2] = np.nan
    ov = raster.raster_overlay(raster.RasterLayer("c", arr, grid, ["#000000", "#ffffff"], 0.0, 1.0))
    h, w = ov.indices.shape
    assert ov.indices[h // 2, 2] == 0  # NaN side
    assert ov.indices[h // 2, w - 3] == 255  # above vmax: clipped to the top colour
    assert tuple(ov.palette[255]) == (255, 255, 255)


def test_overlay_size_is_capped():
    big = Grid(crs="EPSG:32637", left=500_000.0, top=1_100_000.0, res=10.0, width=2400, height=600)
    zeros = np.zeros(big.shape, "float32")
    ov = raster.raster_overlay(raster.RasterLayer("big", zeros, big, "viridis", 0, 1))
    assert max(ov.indices.shape) == raster.MAX_OVERLAY_PX
    small = raster.raster_overlay(raster.RasterLayer("s", zeros, big, "viridis", 0, 1), max_px=200)
    assert max(small.indices.shape) == 200


def test_demo_sized_page_stays_under_5_mb():
    n = 834
    g = Grid(crs="EPSG:32637", left=480_000.0, top=1_020_000.0, res=30.0, width=n, height=n)
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:n, 0:n]
    dem = 2000 + 60 * np.sin(cols / 25.0) * np.cos(rows / 31.0) + rng.normal(0, 1.5, (n, n))
    noisy = np.clip(cols / n + rng.normal(0, 0.08, (n, n)), 0, 1).astype("float32")
    year = np.where(rng.random((n, n)) < 0.3, 2020 + 5 * rng.integers(0, 7, (n, n)), 0)
    layers = [
        raster.RasterLayer("Suitability", noisy, g, "YlGn_09", 0, 1, "score"),
        raster.RasterLayer("Risk", noisy[::-1].copy(), g, "YlOrRd_09", 0, 1, "score"),
        raster.RasterLayer("Year", year, g, categories={y: (str(y), "#%02x3030" % (40 + (y - 2020) * 6))
                                                      for y in range(2020, 2051, 5)}),
    ]
    page = leaflet.make_map("Demo", "demo", g, layers, hillshade=raster.hillshade(dem, g.res), synthetic=True)
    assert len(page.encode("utf-8")) < 5 * 1024 * 1024


def _read_png(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(tag + body)
        chunks[tag] = body
        pos += 12 + length
    return chunks


def test_png_roundtrip():
    idx = np.array([[0, 1, 2], [2, 1, 0]], dtype="uint8")
    pal = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype="uint8")
    chunks = _read_png(raster.png_paletted(idx, pal))
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour_type) == (3, 2, 8, 3)
    assert chunks[b"PLTE"] == pal.tobytes()
    assert chunks[b"tRNS"] == b"\x00"
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype="uint8").reshape(2, 4)
    assert (raw[:, 0] == 0).all() and (raw[:, 1:] == idx).all()


def test_hillshade_lights_slopes_facing_the_light():
    cols = np.tile(np.arange(20, dtype="float64"), (20, 1))
    rising_east = cols * 3.0  # faces west, towards a north-west light
    rising_west = -cols * 3.0  # faces east, away from it
    flat = np.zeros((20, 20))
    a = raster.hillshade(rising_east, 10.0)[5:15, 5:15]
    b = raster.hillshade(rising_west, 10.0)[5:15, 5:15]
    f = raster.hillshade(flat, 10.0)
    assert a.min() > f.max() > b.max()
    assert f[0, 0] == 1 + round(254 * np.sin(np.radians(45)))
    with_gap = flat.copy()
    with_gap[3, 4] = np.nan
    hs = raster.hillshade(with_gap, 10.0)
    assert hs.dtype == np.uint8 and hs[3, 4] == 0 and (hs[np.isfinite(with_gap)] > 0).all()


def test_vector_layer_without_crs_is_a_data_error(grid):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(DataError, match="no coordinate reference system"):
        leaflet.make_map("c", "s", grid, [vector.VectorLayer("v", gdf, {"color": "red"}, ["a"])])


def test_missing_tooltip_column_is_a_data_error(grid, layers):
    bad = vector.VectorLayer("v", layers[2].gdf, {"color": "red"}, ["nope"])
    with pytest.raises(DataError, match="nope"):
        vector.vector_geojson(bad)


def test_empty_vector_layer_and_callable_style(grid, layers):
    gdf = layers[2].gdf
    empty = vector.VectorLayer("none", gdf.iloc[0:0], {"color": "red"}, ["name"], "nothing here")
    styled = vector.VectorLayer("styled", gdf,
                                lambda p: {"color": "#00ff00" if p["other"] == 1 else "#0000ff"}, ["name"])
    page = leaflet.make_map("c", "s", grid, [empty, styled])
    # the legend draws each distinct style of a feature-dependent style
    assert "background:rgba(0,255,0,0.30)" in page and "background:rgba(0,0,255,0.30)" in page


def test_write_html(tmp_path, page):
    path = leaflet.write_html(tmp_path / "map.html", page)
    assert path.read_bytes() == page.encode("utf-8")


def test_colormap_names():
    assert (palette.colour_ramp("RdYlGn", 5) == palette.colour_ramp("RdYlGn_11", 5)).all()
    assert tuple(palette.colour_ramp(["#000000", "white"], 3)[1]) == (128, 128, 128)
    with pytest.raises(ValueError, match="unknown colormap"):
        palette.colour_ramp("no-such-map")


def test_hillshade_by_strips_is_the_whole_dem_hillshade(monkeypatch):
    rng = np.random.default_rng(3)
    z = (2000 + np.cumsum(rng.normal(0, 2, (70, 40)), axis=0)).astype("float32")
    z[10:13, 5:9] = np.nan
    whole = raster.hillshade(z, 30.0)
    monkeypatch.setattr(raster, "MAP_STRIP_CELLS", 3 * 40)  # strips of 3 rows
    assert np.array_equal(raster.hillshade(z, 30.0), whole)
    assert (whole[10:13, 5:9] == 0).all() and (np.delete(whole, range(10, 13), axis=0) > 0).all()


def test_block_mean_ignores_nodata_and_keeps_partial_blocks(monkeypatch):
    a = np.arange(7 * 5, dtype="float32").reshape(7, 5)
    a[0, 0] = np.nan
    a[6, 4] = -1
    m = raster.block_mean(a, 3, nodata=-1)
    assert m.shape == (3, 2) and m.dtype == np.float32
    assert m[0, 0] == pytest.approx(np.nanmean(a[0:3, 0:3]))
    assert m[2, 1] == pytest.approx(a[6, 3])  # a 1 x 2 corner block, one cell of it nodata
    monkeypatch.setattr(raster, "MAP_STRIP_CELLS", 5)
    assert np.array_equal(raster.block_mean(a, 3, nodata=-1), m)


def test_small_grids_are_drawn_cell_for_cell(grid, dem):
    # the demo's grids are smaller than an overlay: nothing is reduced, and the terrain
    # overlay is exactly the hillshade's
    assert raster.overlay_factor(grid) == 1
    a = raster.terrain_overlay(dem, grid)
    b = raster.hillshade_overlay(raster.hillshade(dem, grid.res), grid)
    assert np.array_equal(a.indices, b.indices) and a.bounds_3857 == b.bounds_3857
    page = leaflet.make_map("c", "s", grid, [], hillshade=a)
    assert page == leaflet.make_map("c", "s", grid, [], hillshade=raster.hillshade(dem, grid.res))


def test_reduced_overlays_land_where_the_cells_are(grid):
    # with an image of 20 pixels a side each pixel covers about 3 cells: the grid is reduced first
    assert raster.overlay_factor(grid, max_px=20) >= 2
    arr = np.zeros(grid.shape, dtype="int16")
    arr[9:21, 39:51] = 1
    cont = np.where(arr == 1, 1.0, np.nan).astype("float32")
    for layer in (raster.RasterLayer("b", arr, grid, categories={1: ("block", "#ff0000")}),
                  raster.RasterLayer("c", cont, grid, ["#000000", "#ffffff"], 0.0, 1.0)):
        ov = raster.raster_overlay(layer, max_px=20)
        assert max(ov.indices.shape) == 20
        x, y = grid.left + 45 * grid.res, grid.top - 15 * grid.res
        mx, my = Transformer.from_crs(grid.crs, "EPSG:3857", always_xy=True).transform(x, y)
        h, w = ov.indices.shape
        row, col = rowcol(from_bounds(*ov.bounds_3857, w, h), mx, my)
        assert ov.indices[row, col] > 0
        assert ov.indices[h - 2, 1] == 0  # the south-west stays transparent


def test_overlays_of_a_large_grid_make_no_full_size_copy():
    import tracemalloc

    # the memory needed is bounded by the image and the strips, not by the grid (tracemalloc sees numpy's)
    n = 3000
    big = Grid(crs="EPSG:32637", left=500_000.0, top=1_100_000.0, res=30.0, width=n, height=n)
    rows, cols = np.ogrid[0:n, 0:n]
    dem = (2000 + 50 * np.sin(cols / 40.0) * np.cos(rows / 30.0)).astype("float32")
    score = np.broadcast_to((cols / n).astype("float32"), big.shape).copy()
    year = np.where(rows % 7 == 0, 2030, 0).astype("int16") * np.ones(big.shape, "int16")
    steps = [
        lambda: raster.terrain_overlay(dem, big, max_px=400),
        lambda: raster.raster_overlay(raster.RasterLayer("s", score, big, "viridis"), max_px=400),
        lambda: raster.raster_overlay(
            raster.RasterLayer("y", year, big, categories={2030: ("2030", "#ff0000")}), max_px=400),
    ]
    for step in steps:
        tracemalloc.start()
        ov = step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert max(ov.indices.shape) == 400
        assert peak < score.nbytes / 2, f"{peak / 1e6:.1f} MB for a {score.nbytes / 1e6:.0f} MB layer"


def test_terrain_of_a_large_grid_looks_like_the_full_hillshade():
    n = 1200
    big = Grid(crs="EPSG:32637", left=500_000.0, top=1_100_000.0, res=30.0, width=n, height=n)
    rows, cols = np.mgrid[0:n, 0:n]
    dem = (2000 + 80 * np.sin(cols / 60.0) * np.cos(rows / 45.0)).astype("float32")
    full = raster.hillshade_overlay(raster.hillshade(dem, big.res), big, max_px=300)
    reduced = raster.terrain_overlay(dem, big, max_px=300)
    assert raster.overlay_factor(big, max_px=300) == 4
    assert reduced.bounds_3857 == full.bounds_3857 and reduced.indices.shape == full.indices.shape
    inside = (full.indices > 0) & (reduced.indices > 0)
    assert inside.mean() > 0.95
    diff = np.abs(full.indices.astype(int) - reduced.indices.astype(int))[inside]
    assert diff.mean() < 2 and np.percentile(diff, 99) <= 6


def test_maps_of_regions_with_very_many_roads_draw_the_arterials_only(monkeypatch, grid):
    from types import SimpleNamespace

    from expansion.outputs.web import run_maps

    left, bottom, right, top = grid.bounds
    lines = [LineString([(left, bottom + i), (right, bottom + i)]) for i in range(1, 31)]
    roads = gpd.GeoDataFrame({"highway": ["primary"] * 5 + ["residential"] * 25,
                              "road_class": ["arterial"] * 5 + ["local"] * 25}, geometry=lines, crs=grid.crs)
    boundary = gpd.GeoDataFrame(geometry=[box(*grid.bounds)], crs=grid.crs)
    stack = SimpleNamespace(vectors={"roads": roads, "boundary": boundary})
    (layer,) = [x for x in run_maps.context_layers(stack) if x.name == "Roads today"]
    assert len(layer.gdf) == 30 and "thick = arterial" in layer.legend
    monkeypatch.setattr(run_maps, "MAX_MAP_ROADS", 20)
    (layer,) = [x for x in run_maps.context_layers(stack) if x.name == "Roads today"]
    assert len(layer.gdf) == 5 and (layer.gdf["road_class"] == "arterial").all()
    assert "25 local streets" in layer.legend


def test_place_and_road_names_and_caveats_on_a_map(grid):
    from shapely.geometry import Point

    from expansion.outputs.web import labels

    left, bottom, right, top = grid.bounds
    roads = gpd.GeoDataFrame(
        {"name": ["Ring Road", "Ring Road", None, "Lane 4"],
         "road_class": ["arterial", "arterial", "arterial", "local"]},
        geometry=[LineString([(left, bottom + 300), (right, bottom + 300)]),
                  LineString([(left, bottom + 600), (left + 300, bottom + 600)]),
                  LineString([(left, top - 300), (right, top - 300)]),
                  LineString([(left, top - 600), (right, top - 600)])], crs=grid.crs)
    names = labels.road_labels(roads)
    assert [lab[2] for lab in names.labels] == ["Ring Road"]  # arterials only, one label per name
    places = gpd.GeoDataFrame({"name": ["Hamlet " + NASTY, "Centre", ""],
                               "place": ["hamlet", "town", "town"]},
                              geometry=[Point(left + 100, top - 100), Point(left + 900, top - 700),
                                        Point(left + 50, top - 50)], crs=grid.crs)
    towns = labels.place_labels(places)
    assert [lab[2] for lab in towns.labels] == ["Centre", "Hamlet " + NASTY]  # towns first, blanks dropped
    assert labels.place_labels(None) is None and labels.road_labels(roads.drop(columns="name")) is None
    page = leaflet.make_map("c", "s", grid, [names, towns], notes=["no DEM " + NASTY, "second", "third"])
    assert "Place names" in page and "Road names" in page and "L.divIcon" in page
    assert "<script>alert" not in page.split("<body>")[1].split("xp-legend")[0]
    assert "no DEM &lt;script&gt;" in page and "<li>third</li>" in page and 'href="index.html"' in page
    # names reach the page as JSON data set with textContent, never as markup
    assert "span.textContent = l[2]" in page


def test_warnings_go_to_the_maps_they_concern():
    """QA 15: each map shows all the caveats that concern it, once (the warnings of the QA runs)."""
    from expansion.outputs.web.assumptions import warnings_for

    dem = ("no DEM (elevation): the maps cannot show steep land, and flood-prone land is judged by distance "
           "to water alone; add a DEM (e.g. SRTM) and rerun")
    roads = ("no roads layer: land suitability and informal-settlement risk ignore access to roads, and the "
             "plan has no existing arterials to connect to; add a roads layer (e.g. an OpenStreetMap "
             "extract) and rerun")  # one caveat for the three maps
    risk_roads = ("the roads layer covers 62% of the study area: beyond it the risk map cannot tell which "
                  "land is far from roads, and counts only flood-prone or steep land and where growth "
                  "crowds; a roads layer covering the whole study area would complete it")
    unmet = ("the study area fills by about 2044: 1,906 hectares of the new land needed by 2049 cannot be "
             "placed in it and is not shown as met (unmet demand)")
    density = ("this city's own density trend could not be measured: the population is not known for both "
               "2000 and 2014 (for planners: give a [population] table, or a population layer of each year)")
    people = ("no population layer: the risk map cannot count the people already living on flood-prone or "
              "steep land; add a population raster (e.g. WorldPop) to count them")
    ws = [dem, roads, risk_roads, unmet, density, people, roads]
    assert warnings_for("suitability.html", ws) == [dem, roads]
    assert warnings_for("risk.html", ws) == [dem, roads, risk_roads, people]
    assert warnings_for("expansion.html", ws) == [roads, unmet, density]


def test_a_one_year_step_is_one_year_in_the_legend():
    """QA 18: 'built in 2045', not 'built 2045-2045'."""
    from expansion.outputs.palette import period_categories

    cats = period_categories([2030, 2035, 2040, 2044, 2045])
    assert cats[2045][0] == "built in 2045" and cats[2035][0] == "built 2031-2035"
    assert cats[2030][0] == "built by 2030"


def test_the_risk_map_says_what_it_could_not_assess():
    """QA 4 and 15: risk.html carries the 'not assessed' caveat first, and all its own caveats."""
    from types import SimpleNamespace

    from expansion.outputs.web.run_maps import map_notes

    ws = ["no population layer: people already living on hazard land are not counted",
          "no roads layer: the arterials and roads factors are dropped"]
    m = SimpleNamespace(summary={"warnings": ws, "risk": {"assessed": {"hazard": False}}})
    notes = map_notes(m, "risk.html")
    assert notes[0].startswith("Flood-prone and steep land not assessed") and notes[1:] == ws[:1]
    assert not any("not assessed" in n for n in map_notes(m, "expansion.html"))
    m.summary["risk"]["assessed"]["hazard"] = True
    assert map_notes(m, "risk.html") == ws[:1]
    # when the run's warnings already say it, the caveat is not repeated
    said = "no DEM or water layer: flood-prone and steep land cannot be mapped, so hazard is not assessed"
    m.summary = {"warnings": [said], "risk": {"assessed": {"hazard": False}}}
    assert map_notes(m, "risk.html") == [said]


def test_arterial_legend_lists_the_years_to_secure_in_the_colours_drawn(grid):
    """The expansion map's legend names each phase year, darkest first, in the colours QGIS and the static
    map use for those years (existing arterials, phase_year 0, do not take a phase colour), and shows
    'existing arterial' only when there are some."""
    from types import SimpleNamespace

    from expansion.outputs.web.legend import vector_legend
    from expansion.outputs.web.run_maps import arterials_layer

    left, bottom, right, top = grid.bounds
    lines = [LineString([(left + 100, bottom + y), (right - 100, bottom + y)]) for y in (200, 500, 800, 1100)]
    arts = gpd.GeoDataFrame({"kind": ["planned", "planned", "planned", "existing"],
                             "length_m": [1.0] * 4, "width_m": [30.0] * 4,
                             "phase_year": [2030, 2025, 2030, 0]}, geometry=lines, crs=grid.crs)
    m = SimpleNamespace(plan=SimpleNamespace(arterials=arts),
                        scenario=SimpleNamespace(plan=SimpleNamespace(arterial_spacing_m=1000.0,
                                                                      arterial_width_m=30.0)))
    layer = arterials_layer(m)
    colours = palette.phase_colours([2025, 2030])
    assert [label for _, label in layer.legend_items] == ["2025", "2030", "existing arterial"]
    assert [st["color"] for st, _ in layer.legend_items] == [colours[2025], colours[2030],
                                                             palette.ARTERIAL_COLOURS["existing"]]
    drawn = {int(p["phase_year"]): layer.style(p)["color"] for p in arts.drop(columns="geometry")
             .to_dict("records")}
    assert drawn == {2025: colours[2025], 2030: colours[2030], 0: palette.ARTERIAL_COLOURS["existing"]}
    text = vector_legend(layer, vector.vector_geojson(layer))
    assert "to secure by" in text and text.index("2025") < text.index("2030") < text.index("existing")
    m.plan.arterials = arts[arts["kind"] == "planned"]
    assert "existing" not in vector_legend(arterials_layer(m), vector.vector_geojson(arterials_layer(m)))


def test_open_space_legend_lists_only_the_kinds_on_the_map(grid):
    """The expansion map's legend names the open space kinds the plan protects, each in its colour."""
    from expansion.outputs.web.legend import vector_legend
    from expansion.outputs.web.run_maps import open_space_layer

    left, bottom, right, top = grid.bounds
    cells = [box(left + 30 * i, bottom, left + 30 * (i + 1), bottom + 30) for i in range(3)]
    space = gpd.GeoDataFrame({"kind": ["protected", "protected", "park"], "hectares": [0.09] * 3},
                             geometry=cells, crs=grid.crs)
    layer = open_space_layer(space)
    assert [label for _, label in layer.legend_items] == ["protected land (forests, reserves)", "park"]
    assert [st["fillColor"] for st, _ in layer.legend_items] == [palette.OPEN_SPACE_COLOURS["protected"],
                                                                 palette.OPEN_SPACE_COLOURS["park"]]
    text = vector_legend(layer, vector.vector_geojson(layer))
    assert "floodplain" not in text and "steep" not in text and "protected land" in text


def test_land_that_never_develops_names_the_constraints_the_layers_hold():
    from types import SimpleNamespace

    from expansion.outputs.web.run_maps import never_develops_legend

    none = np.zeros((3, 3), bool)
    some = none.copy()
    some[1, 1] = True
    rionegro = SimpleNamespace(has_water=False, water=none, protected=some, slope_pct=None, flood=None)
    assert never_develops_legend(rionegro) == "protected land"
    full = SimpleNamespace(has_water=True, water=some, protected=some, slope_pct=np.zeros((3, 3)), flood=some)
    assert never_develops_legend(full) == "open water, protected land, steep slopes, mapped flood zones"
    bare = SimpleNamespace(has_water=False, water=none, protected=none, slope_pct=None, flood=None)
    assert never_develops_legend(bare) == "none in this run's layers"
