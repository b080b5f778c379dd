"""A synthetic city for the plan tests (conftest.py is someone else's).

A 12 km plain at 30 m: a built-up blob in the middle, a river running
north-south east of it (crossed by the highway), a lake in the south-west, a
highway at a bearing of 20° through the centre with a perpendicular arterial
that ends west of the city, a forest (protected) in the north-east and a
steep hill in the north-west.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from rasterio import features
from scipy import ndimage

from expansion.grid import Grid
from expansion.stack import Stack

CRS = "EPSG:32637"
BEARING = 20.0


def _raster(geoms, grid: Grid, all_touched: bool = False) -> np.ndarray:
    return features.rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform,
                              all_touched=all_touched, dtype="uint8").astype(bool)


def _dist(mask: np.ndarray, res: float) -> np.ndarray:
    return ndimage.distance_transform_edt(~mask, sampling=res).astype(np.float32)


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
    water = _raster([river, lake], grid)
    protected = _raster([forest], grid)
    xs, ys = grid.cell_centres()
    X, Y = np.meshgrid(xs, ys)
    r_hill = np.hypot(X - hill_centre[0], Y - hill_centre[1])
    dem = (100.0 + 0.002 * (X - left) + np.maximum(0.0, 300.0 - 0.4 * r_hill)).astype(np.float32)
    gy, gx = np.gradient(dem, res)
    slope = (np.hypot(gx, gy) * 100).astype(np.float32)
    built = np.hypot(X - cx, Y - cy) < 1300
    built |= (np.abs(np.stack([X - cx, Y - cy], -1) @ d2) < 60) & (np.hypot(X - cx, Y - cy) < 2500)
    built &= ~water
    arterial_cells = _raster([highway, cross], grid, all_touched=True)
    road_cells = arterial_cells | _raster([local], grid, all_touched=True)
    water_dist = _dist(water, res)
    roads = gpd.GeoDataFrame({"highway": ["trunk", "primary", "residential"],
                              "road_class": ["arterial", "arterial", "local"]},
                             geometry=[highway, cross, local], crs=CRS)
    return Stack(
        grid=grid, name="Plan Test City", synthetic=True, valid=valid, builtup={2020: built},
        water=water, water_dist_m=water_dist, arterial_dist_m=_dist(arterial_cells, res),
        road_dist_m=_dist(road_cells, res), protected=protected, dem=dem, slope_pct=slope,
        height_above_water_m=(water_dist / 100.0).astype(np.float32),
        vectors={"boundary": gpd.GeoDataFrame(geometry=[shapely.box(*grid.bounds)], crs=CRS),
                 "roads": roads,
                 "water": gpd.GeoDataFrame(geometry=[river, lake], crs=CRS),
                 "protected": gpd.GeoDataFrame(geometry=[forest], crs=CRS)},
        has_roads=True, has_water=True,
    )


def suitability(stack: Stack) -> tuple[np.ndarray, np.ndarray]:
    """A simple score (proximity to built-up and to arterials) and hard constraints."""
    built = stack.builtup[max(stack.builtup)]
    d = _dist(built, stack.grid.res)
    score = (0.6 * 2 ** (-d / 1000.0) + 0.4 * 2 ** (-stack.arterial_dist_m / 1000.0)).astype(np.float32)
    excluded = ~stack.valid | stack.water | stack.protected | (stack.slope_pct > 30.0)
    score[excluded] = 0.0
    return score, excluded
