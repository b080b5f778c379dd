"""Shared test fixtures and builders, in one place.

- small stacks made in memory: ``make_stack`` (a plain square city), ``synthetic_stack`` (a
  city growing along a road, for demand, suitability, growth and validation), ``plan_stack``
  (a river, lake, forest and highways, for the plan, hazard and risk), ``ring_stack`` (a flat,
  dry city with the arterials given, for the plan's sectors and bridges);
- layer files written to a temporary folder with a known CRS, transform and nodata
  (``write_raster``, ``write_boundary``, ``write_roads``, ``write_osm``, ``write_catalog``,
  ``make_town``), for the inputs tests;
- fixtures: ``stack`` and ``shared_data`` (the real layers beside the repository, or a skip
  with the reason).

Tests import the builders with ``from conftest import ...``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio import features
from scipy import ndimage
from shapely.geometry import LineString, Polygon, box

from expansion.grid import Grid, distance_m
from expansion.stack import Stack

# ---------------------------------------------------------------- run folders, real data and the plain stack

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# The run date on pages and static maps comes from here (reproducible builds), so runs compared
# for identical bytes agree even across midnight; the CLI runs of the tests inherit it.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01


def make_stack(n: int = 60, res: float = 30.0) -> Stack:
    """A plain n x n stack: a built-up blob in the middle, a river along the
    bottom rows, an arterial road along the middle row, flat terrain."""
    grid = Grid(crs="EPSG:32637", left=500000.0, top=950000.0, res=res, width=n, height=n)
    shape = grid.shape
    yy, xx = np.mgrid[0:n, 0:n]
    built = (yy - n // 2) ** 2 + (xx - n // 2) ** 2 <= (n // 8) ** 2
    water = yy >= n - 3
    road = yy == n // 2

    dem = (100.0 - yy * 0.0).astype(np.float32)
    return Stack(
        grid=grid, name="Test Town", synthetic=True,
        valid=np.ones(shape, bool),
        builtup={2010: built.copy(), 2020: built.copy()},
        water=water, water_dist_m=distance_m(water, res),
        arterial_dist_m=distance_m(road, res), road_dist_m=distance_m(road, res),
        protected=np.zeros(shape, bool),
        dem=dem, slope_pct=np.zeros(shape, np.float32),
        height_above_water_m=np.where(water, 0, 10).astype(np.float32),
        has_roads=True, has_water=True,
    )


@pytest.fixture
def stack() -> Stack:
    return make_stack()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the repository)")
    return SHARED_DATA


# ------------------------------------------------ synthetic_stack: a city growing along a road

BACAU = Path(__file__).resolve().parents[2] / "shared" / "data" / "bacau"


def synthetic_stack(size: int = 60, res: float = 30.0, *, dem: bool = True, roads: bool = True,
                    water: bool = True, years: tuple[int, ...] = (2000, 2010), seed: int = 0) -> Stack:
    """A small city: a built-up core that grows outwards along an east-west road.

    A river runs north-south near the east edge, a protected square sits in the
    south-west, the land rises steeply in the north-east, and a strip along the
    west edge is outside the study area.
    """
    rng = np.random.default_rng(seed)
    grid = Grid(crs="EPSG:32635", left=500_000.0, top=5_000_000.0, res=res, width=size, height=size)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    road_row = int(c)
    valid = np.ones((size, size), bool)
    valid[:, :2] = False
    r = np.hypot(rows - c, (cols - c) * 0.8)
    builtup = {}
    for i, year in enumerate(years):
        radius = size * (0.1 + 0.06 * i)
        along = (np.abs(rows - road_row) <= 1 + i) & (np.abs(cols - c) < size * (0.2 + 0.1 * i))
        b = ((r < radius) | along) & (rng.random((size, size)) > 0.05)
        if builtup:
            b |= builtup[years[i - 1]]
        builtup[year] = b & valid
    river = np.zeros((size, size), bool)
    if water:
        river[:, int(size * 0.85)] = True
    protected = np.zeros((size, size), bool)
    protected[int(size * 0.75):, 3:int(size * 0.2)] = True
    road = np.zeros((size, size), bool)
    arterial = np.zeros((size, size), bool)
    if roads:
        arterial[road_row, :] = True
        road[:, int(c)] = True
        road |= arterial
    elevation = slope = hand = None
    if dem:
        rise = np.clip(cols - size * 0.5, 0, None) * np.clip(c - rows, 0, None) * 0.35
        elevation = (100.0 + rise + 0.02 * cols * res).astype(np.float32)
        gy, gx = np.gradient(elevation, res)
        slope = (np.hypot(gx, gy) * 100).astype(np.float32)
        if water:
            _, idx = ndimage.distance_transform_edt(~river, return_indices=True)
            hand = np.clip(elevation - elevation[idx[0], idx[1]], 0, None).astype(np.float32)
    return Stack(grid=grid, name="Synthetic", synthetic=True, valid=valid, builtup=builtup,
                 water=river, water_dist_m=distance_m(river, res), arterial_dist_m=distance_m(arterial, res),
                 road_dist_m=distance_m(road, res), protected=protected, dem=elevation, slope_pct=slope,
                 height_above_water_m=hand, has_roads=roads, has_water=water)


# ------------------------------------------------ plan_stack: river, lake, forest and highways

CRS = "EPSG:32637"
BEARING = 20.0


def burn(geoms, grid: Grid, all_touched: bool = False) -> np.ndarray:
    """Geometries burnt into a bool grid (rasterio's rule: cell centres, or every cell touched)."""
    return features.rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform,
                              all_touched=all_touched, dtype="uint8").astype(bool)


def plan_stack(size: int = 400, res: float = 30.0) -> Stack:
    grid = Grid(crs=CRS, left=500_000.0, top=1_000_000.0 + size * res, res=res, width=size, height=size)
    left, bottom, right, top = grid.bounds
    cx, cy = (left + right) / 2, (bottom + top) / 2
    th = math.radians(BEARING)
    d1 = np.array([math.sin(th), math.cos(th)])
    d2 = np.array([math.cos(th), -math.sin(th)])
    c = np.array([cx, cy])
    far = size * res
    highway = shapely.LineString([c - far * d1, c + far * d1])
    cross = shapely.LineString([c + 3400 * d2, c - 3600 * d2])  # crosses the river; ends 3.6 km west
    local = shapely.LineString([(cx - 800, cy - 2000), (cx + 900, cy + 2500)])
    river = shapely.LineString([(cx + 2600, top), (cx + 2200, cy), (cx + 2900, bottom)]).buffer(25)
    lake = shapely.Point(cx - 3500, cy - 3400).buffer(450)
    forest = shapely.box(cx + 3400, cy + 2000, cx + 5500, cy + 5000)
    hill_centre = (cx - 3800, cy + 3600)

    valid = np.ones(grid.shape, bool)
    water = burn([river, lake], grid)
    protected = burn([forest], grid)
    xs, ys = grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    r_hill = np.hypot(X - hill_centre[0], Y - hill_centre[1])
    dem = (100.0 + 0.002 * (X - left) + np.maximum(0.0, 300.0 - 0.4 * r_hill)).astype(np.float32)
    gy, gx = np.gradient(dem, res)
    slope = (np.hypot(gx, gy) * 100).astype(np.float32)
    built = np.hypot(X - cx, Y - cy) < 1300
    built |= (np.abs(np.stack([X - cx, Y - cy], -1) @ d2) < 60) & (np.hypot(X - cx, Y - cy) < 2500)
    built &= ~water
    arterial_cells = burn([highway, cross], grid, all_touched=True)
    road_cells = arterial_cells | burn([local], grid, all_touched=True)
    water_dist = distance_m(water, res)
    roads = gpd.GeoDataFrame({"highway": ["trunk", "primary", "residential"],
                              "road_class": ["arterial", "arterial", "local"]},
                             geometry=[highway, cross, local], crs=CRS)
    return Stack(
        grid=grid, name="Plan Test City", synthetic=True, valid=valid, builtup={2020: built},
        water=water, water_dist_m=water_dist, arterial_dist_m=distance_m(arterial_cells, res),
        road_dist_m=distance_m(road_cells, res), protected=protected, dem=dem, slope_pct=slope,
        height_above_water_m=(water_dist / 100.0).astype(np.float32),
        vectors={"boundary": gpd.GeoDataFrame(geometry=[shapely.box(*grid.bounds)], crs=CRS),
                 "roads": roads,
                 "water": gpd.GeoDataFrame(geometry=[river, lake], crs=CRS),
                 "protected": gpd.GeoDataFrame(geometry=[forest], crs=CRS)},
        has_roads=True, has_water=True,
    )


def ring_stack(size: int = 300, res: float = 30.0, roads: list | None = None,
               built: np.ndarray | None = None, valid: np.ndarray | None = None) -> Stack:
    """A flat, dry city on a ``size`` × ``size`` grid: built land in a disc of 1 km
    around the centre (or ``built``), the arterial LineStrings ``roads`` (none by
    default), no water, no protected land; the study area is the whole grid (or
    ``valid``). For the plan's sectors and bridges."""
    grid = Grid(crs=CRS, left=600_000.0, top=1_000_000.0 + size * res, res=res, width=size, height=size)
    xs, ys = grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    left, bottom, right, top = grid.bounds
    if built is None:
        built = np.hypot(X - (left + right) / 2, Y - (bottom + top) / 2) < 1000.0
    roads = roads or []
    arterial_cells = burn(roads, grid, all_touched=True) if roads else np.zeros(grid.shape, bool)
    far = np.full(grid.shape, 1e5, np.float32)
    dist = distance_m(arterial_cells, res) if roads else far
    none = np.zeros(grid.shape, bool)
    vectors = {"boundary": gpd.GeoDataFrame(geometry=[shapely.box(*grid.bounds)], crs=CRS)}
    if roads:
        cols = {"highway": ["primary"] * len(roads), "road_class": ["arterial"] * len(roads)}
        vectors["roads"] = gpd.GeoDataFrame(cols, geometry=roads, crs=CRS)
    valid = np.ones(grid.shape, bool) if valid is None else valid
    return Stack(grid=grid, name="Ring City", synthetic=True, valid=valid,
                 builtup={2020: built}, water=none, water_dist_m=far, arterial_dist_m=dist, road_dist_m=dist,
                 protected=none.copy(), dem=np.full(grid.shape, 100.0, np.float32),
                 slope_pct=np.zeros(grid.shape, np.float32), height_above_water_m=np.full(grid.shape, 10.0,
                                                                                          np.float32),
                 vectors=vectors, has_roads=bool(roads), has_water=False)


def suitability(stack: Stack) -> tuple[np.ndarray, np.ndarray]:
    """A simple score (proximity to built-up and to arterials) and hard constraints."""
    built = stack.builtup[max(stack.builtup)]
    d = distance_m(built, stack.grid.res)
    score = (0.6 * 2 ** (-d / 1000.0) + 0.4 * 2 ** (-stack.arterial_dist_m / 1000.0)).astype(np.float32)
    excluded = ~stack.valid | stack.water | stack.protected | (stack.slope_pct > 30.0)
    score[excluded] = 0.0
    return score, excluded


# ---------------------------------------------------------------- layer files on disk

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
