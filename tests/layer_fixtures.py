"""Tiny synthetic layer files for tests/test_layers.py (owned by the layers tests).

The synthetic study area is a 3 km square in UTM zone 35N (EPSG:32635) with
its south-west corner at (500 000, 5 000 000) m, i.e. near 27° E, 45.1° N.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString, Polygon, box

UTM = "EPSG:32635"
X0, Y0, SIDE = 500_000.0, 5_000_000.0, 3_000.0
BOUNDS = (X0, Y0, X0 + SIDE, Y0 + SIDE)  # (left, bottom, right, top), metres in UTM


def write_raster(path: Path, data: np.ndarray, crs: str | None, transform: Affine, nodata=None) -> Path:
    """A one-band GeoTIFF; ``crs`` None writes a raster without CRS."""
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1,
               "dtype": data.dtype.name, "transform": transform}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    return path


def utm_transform(res: float, left: float = X0, top: float = Y0 + SIDE) -> Affine:
    return Affine(res, 0, left, 0, -res, top)


def geographic_transform(res_deg: float, pad_m: float = 600.0) -> tuple[Affine, int, int]:
    """A EPSG:4326 transform covering the study area plus ``pad_m``; (transform, width, height)."""
    t = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    xs = [BOUNDS[0] - pad_m, BOUNDS[2] + pad_m]
    ys = [BOUNDS[1] - pad_m, BOUNDS[3] + pad_m]
    lons, lats = t.transform([xs[0], xs[1], xs[0], xs[1]], [ys[0], ys[0], ys[1], ys[1]])
    left, right, bottom, top = min(lons), max(lons), min(lats), max(lats)
    width = int(np.ceil((right - left) / res_deg))
    height = int(np.ceil((top - bottom) / res_deg))
    return Affine(res_deg, 0, left, 0, -res_deg, top), width, height


def write_boundary(path: Path, crs: str = UTM, bounds=BOUNDS, driver: str | None = None) -> Path:
    gdf = gpd.GeoDataFrame({"name": ["town"]}, geometry=[box(*bounds)], crs=UTM)
    if crs != UTM:
        gdf = gdf.to_crs(crs)
    gdf.to_file(path, driver=driver, engine="pyogrio")
    return path


def write_roads(path: Path, field: str = "highway", crs: str | None = UTM) -> Path:
    """An arterial (primary) along the row at y = Y0 + 1515 m and a residential street at x = X0 + 1515 m."""
    y, x = Y0 + 1515.0, X0 + 1515.0
    gdf = gpd.GeoDataFrame(
        {field: ["primary", "residential"], "name": ["Main Road", "Side Street"]},
        geometry=[LineString([(X0 - 100, y), (X0 + SIDE + 100, y)]),
                  LineString([(x, Y0 - 100), (x, Y0 + SIDE + 100)])],
        crs=crs,
    )
    gdf.to_file(path, engine="pyogrio")
    return path


def bowtie(x: float, y: float, size: float) -> Polygon:
    """A self-intersecting (invalid) polygon: a bow tie."""
    return Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size), (x, y)])


def write_catalog(folder: Path, layers: list[dict], name: str = "Test Town", synthetic: bool = True) -> Path:
    """A layers.toml in ``folder`` with the given [[layers]] tables (keys as in the catalog)."""
    lines = [f"name = {json.dumps(name)}", f"synthetic = {'true' if synthetic else 'false'}"]
    for layer in layers:
        lines.append("")
        lines.append("[[layers]]")
        for k, v in layer.items():
            lines.append(f"{k} = {json.dumps(str(v)) if isinstance(v, str | Path) else json.dumps(v)}")
    path = folder / "layers.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  {nodes}
  <node id="20" version="1" lat="{town_lat}" lon="{town_lon}">
    <tag k="place" v="town"/><tag k="name" v="Testville"/></node>
  <node id="21" version="1" lat="{village_lat}" lon="{village_lon}">
    <tag k="place" v="village"/><tag k="name" v="Little Test"/></node>
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="primary"/><tag k="name" v="Main Road"/></way>
  <way id="101" version="1"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/></way>
  <way id="102" version="1"><nd ref="5"/><nd ref="6"/>
    <tag k="waterway" v="river"/></way>
  <way id="103" version="1"><nd ref="7"/><nd ref="8"/><nd ref="9"/><nd ref="10"/><nd ref="7"/>
    <tag k="natural" v="water"/></way>
</osm>
"""


def write_osm(path: Path) -> Path:
    """A tiny hand-written OpenStreetMap XML file over the study area (same GDAL
    OSM driver and code path as .osm.pbf): a primary road (east-west, middle),
    a residential street (north-south, middle), a river along the southern edge
    and a small lake (natural=water) in the north-east; two named places: the town
    Testville in the middle and the village Little Test in the south-west."""
    t = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    pts = {
        1: (X0 - 100, Y0 + 1515), 2: (X0 + SIDE + 100, Y0 + 1515),
        3: (X0 + 1515, Y0 - 100), 4: (X0 + 1515, Y0 + SIDE + 100),
        5: (X0 - 100, Y0 + 105), 6: (X0 + SIDE + 100, Y0 + 105),
        7: (X0 + 2400, Y0 + 2400), 8: (X0 + 2700, Y0 + 2400), 9: (X0 + 2700, Y0 + 2700),
        10: (X0 + 2400, Y0 + 2700),
    }
    nodes = []
    for i, (x, y) in pts.items():
        lon, lat = t.transform(x, y)
        nodes.append(f'<node id="{i}" version="1" lat="{lat:.8f}" lon="{lon:.8f}"/>')
    places = {}
    for name, (x, y) in (("town", (X0 + 1500, Y0 + 1500)), ("village", (X0 + 600, Y0 + 600))):
        lon, lat = t.transform(x, y)
        places[f"{name}_lat"], places[f"{name}_lon"] = f"{lat:.8f}", f"{lon:.8f}"
    path.write_text(OSM_XML.format(nodes="\n  ".join(nodes), **places), encoding="utf-8")
    return path


def make_town(folder: Path, n: int, res: float, built: np.ndarray) -> Path:
    """``folder`` with a boundary (GeoPackage, UTM) and a binary built-up ``built_2010.tif`` (UTM, n x n cells
    of ``res`` metres from the study area's north-west corner)."""
    write_boundary(folder / "boundary.gpkg")
    write_raster(folder / "built_2010.tif", built.astype("uint8"), UTM, utm_transform(res))
    return folder
