"""The analysis grid for a catalog: where its study area is, at which resolution."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from ..config import Catalog
from ..grid import Grid, utm_crs_for
from .sources import is_raster
from .vectors import study_area


def grid_for(catalog: Catalog, resolution_m: float, crs: str | None = None, margin_m: float = 1000.0) -> Grid:
    """The analysis grid for a catalog's study area.

    Parameters
    ----------
    catalog : the catalog; its boundary layer(s) give the study area.
    resolution_m : cell size in metres.
    crs : a projected CRS in metres (``"EPSG:32635"``); by default the WGS 84
        UTM zone of the boundary's centroid (computed in EPSG:4326).
    margin_m : land added around the boundary's bounds, in metres.

    Returns
    -------
    Grid covering the boundary's bounds in ``crs`` plus the margin. When a
    raster input (built-up first, in catalog order) is in ``crs`` with square
    north-up cells of ``resolution_m``, the grid's cell edges are those of
    that raster, so it is read without resampling; otherwise they lie on
    multiples of ``resolution_m``.
    """
    union, _ = study_area(catalog, crs="EPSG:4326")
    if crs is None:
        c = union.centroid
        crs = utm_crs_for(c.x, c.y)
    t = pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_user_input(crs), always_xy=True)
    projected = shapely.transform(union, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    origin = snap_origin(catalog, crs, resolution_m)
    return Grid.around(tuple(projected.bounds), crs, resolution_m, margin_m, origin=origin or (0.0, 0.0))


def snap_origin(catalog: Catalog, crs: str, resolution_m: float) -> tuple[float, float] | None:
    """The upper-left corner of the first raster input whose cells are the grid's
    (same CRS, north-up square cells of ``resolution_m`` metres), or None."""
    import rasterio

    target = pyproj.CRS.from_user_input(crs)
    rasters = sorted((e for e in catalog.layers if is_raster(e) and e.path.is_file()),
                     key=lambda e: e.role != "builtup")
    for e in rasters:
        try:
            with rasterio.open(e.path) as ds:
                t, ds_crs = ds.transform, ds.crs
        except Exception:  # unreadable: the stack build reports it
            continue
        if ds_crs is None or t.b != 0 or t.d != 0:
            continue
        if abs(t.a - resolution_m) > 1e-6 * resolution_m or abs(-t.e - resolution_m) > 1e-6 * resolution_m:
            continue
        if pyproj.CRS.from_user_input(ds_crs) == target:
            return (t.c, t.f)
    return None
