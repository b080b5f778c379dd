"""Atomic run folders, GeoTIFF writing and stable JSON."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import rasterio

from expansion.errors import ExpansionError, OutputExistsError
from expansion.grid import Grid
from expansion.outputs.folder import atomic_folder
from expansion.outputs.geotiff import write_geotiff
from expansion.outputs.provenance import json_text


def test_atomic_folder_replaces_only_on_success(tmp_path):
    out = tmp_path / "run"
    with atomic_folder(out, overwrite=False) as tmp:
        (tmp / "a.txt").write_text("first")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "first"
    with pytest.raises(OutputExistsError, match="already exists; pass --overwrite"):
        with atomic_folder(out, overwrite=False):
            pass
    with pytest.raises(RuntimeError):
        with atomic_folder(out, overwrite=True) as tmp:
            (tmp / "a.txt").write_text("second")
            raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "first"          # earlier result intact
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(out, overwrite=True) as tmp:
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]   # no partial folder left
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt", "run.json"]  # run.json: what it wrote


def test_stale_partial_from_killed_run_is_removed(tmp_path):
    stale = tmp_path / ".run.partial-999999999"
    stale.mkdir()
    with atomic_folder(tmp_path / "run", overwrite=False):
        pass
    assert not stale.exists()


def test_unwritable_parent_is_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExpansionError, match="is a file, not a folder"):
        with atomic_folder(tmp_path / "file", overwrite=True):
            pass
    with pytest.raises(ExpansionError, match="cannot create output folder"):
        with atomic_folder(tmp_path / "file" / "sub" / "run", overwrite=False):
            pass


def test_geotiff_round_trip_and_deterministic(tmp_path):
    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=30.0, width=300, height=280)
    arr = np.random.default_rng(1).random(grid.shape, dtype=np.float32)
    arr[0, 0] = np.nan
    for name in ("a.tif", "b.tif"):
        write_geotiff(tmp_path / name, arr, grid, nodata=np.nan, description="test")
    h = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.tif", "b.tif")]
    assert h[0] == h[1]
    with rasterio.open(tmp_path / "a.tif") as src:
        assert src.crs.to_epsg() == 32637 and src.transform == grid.transform
        assert src.overviews(1) == [2, 4]
        back = src.read(1)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(arr))
    np.testing.assert_allclose(back[1:], arr[1:])


def test_json_is_stable():
    a = json_text({"b": np.float32(0.1), "a": [1, float("nan")], "c": np.int64(3)})
    assert a == json_text({"c": 3, "a": [1, None], "b": np.float32(0.1)})
    assert '"a": [\n    1,\n    null' in a


def test_geotiff_written_by_bands_of_rows_is_the_same_file(tmp_path, monkeypatch):
    from expansion.outputs import geotiff

    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=30.0, width=300, height=700)
    rng = np.random.default_rng(2)
    arrays = {"f": rng.random(grid.shape, dtype=np.float32), "y": rng.integers(0, 2050, grid.shape, np.int16)}
    for name, arr in arrays.items():
        write_geotiff(tmp_path / f"{name}-whole.tif", arr, grid, nodata=None, categorical=name == "y")
        monkeypatch.setattr(geotiff, "WRITE_ROWS", 256)  # three bands of rows, the last one partial
        write_geotiff(tmp_path / f"{name}-rows.tif", arr, grid, nodata=None, categorical=name == "y")
        monkeypatch.undo()
        assert (tmp_path / f"{name}-whole.tif").read_bytes() == (tmp_path / f"{name}-rows.tif").read_bytes()
        with rasterio.open(tmp_path / f"{name}-rows.tif") as src:
            np.testing.assert_array_equal(src.read(1), arr)


def test_geotiff_writing_makes_no_full_size_copy(tmp_path):
    import tracemalloc

    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=30.0, width=2000, height=2600)
    arr = np.random.default_rng(3).random(grid.shape, dtype=np.float32)
    tracemalloc.start()
    write_geotiff(tmp_path / "big.tif", arr, grid, nodata=np.nan)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < arr.nbytes / 2, f"{peak / 1e6:.1f} MB to write a {arr.nbytes / 1e6:.0f} MB array"


def test_the_same_geopackage_twenty_times_gives_one_file(tmp_path):
    """GDAL sometimes commits once more while creating a file (the SQLite header's counters change)
    and stamps the current time; the writer pins both, so twenty writes give one hash."""
    import geopandas as gpd
    import shapely

    from expansion.outputs.gpkg import write_gpkg

    crs = "EPSG:32637"
    polys = gpd.GeoDataFrame({"kind": ["a", "b"]}, geometry=[shapely.box(0, 0, 300, 300),
                                                            shapely.box(300, 0, 900, 600)], crs=crs)
    lines = gpd.GeoDataFrame({"length_m": [500.0]}, geometry=[shapely.LineString([(0, 0), (500, 0)])],
                             crs=crs)
    styles = {"areas": ("Areas", "<!DOCTYPE qgis><qgis/>"), "lines": ("Lines", "<!DOCTYPE qgis><qgis/>")}
    hashes = set()
    for i in range(20):
        path = write_gpkg(tmp_path / f"{i}.gpkg",
                          [("areas", polys, "MultiPolygon"), ("lines", lines, "LineString")], styles=styles)
        hashes.add(hashlib.sha256(path.read_bytes()).hexdigest())
        head = path.read_bytes()[:100]
        assert head[24:28] == head[92:96]  # SQLite: change counter == version-valid-for
        # GeoPackage 1.2 (application_id "GPKG", user_version 10200): QGIS 3.22 / GDAL 3.6 open it quietly
        assert head[68:72] == b"GPKG" and int.from_bytes(head[60:64], "big") == 10200
    assert len(hashes) == 1
    back = gpd.read_file(tmp_path / "0.gpkg", layer="areas")
    assert back["kind"].tolist() == ["a", "b"] and back.crs == crs


def _qml_items(qml: str) -> list[dict]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(qml.split("\n", 1)[1])  # past the DOCTYPE line
    shader = root.find(".//colorrampshader")
    return [dict(item.attrib, ramp=shader.get("colorRampType")) for item in shader.iter("item")]


@pytest.mark.parametrize("assessed, what", [(True, "risk"), (False, "crowding")])
def test_risk_qml_has_the_classes_and_words_of_the_risk_map(tmp_path, assessed, what):
    """risk.tif opens in QGIS in the risk map's classes and colours, named as risk.html names them:
    "crowding" when risk was not assessed, never "risk" then."""
    from expansion.outputs.palette import RISK_COLOURS
    from expansion.outputs.qgis import write_raster_styles
    from expansion.risk import CLASS_BREAKS

    write_raster_styles(tmp_path, [2020, 2030, 2040], risk_assessed=assessed)
    for name in ("risk", "risk_planned"):
        items = _qml_items((tmp_path / f"{name}.qml").read_text())
        assert {i["ramp"] for i in items} == {"DISCRETE"}
        assert [float(i["value"]) for i in items] == [*CLASS_BREAKS, float("inf")]
        assert items[0]["alpha"] == "0"  # under the first break: not drawn, as on the web map
        assert [i["color"] for i in items[1:]] == RISK_COLOURS[1:]
        labels = [i["label"] for i in items[1:]]
        assert labels[2].startswith(f"high {what}") and all(what in lab for lab in labels)
        if not assessed:
            assert not any("risk" in i["label"] for i in items)
    for name in ("suitability", "urbanization_probability", "urbanization_year", "urbanization_year_planned"):
        assert "<item" in (tmp_path / f"{name}.qml").read_text()  # the other styles are still written
