"""The analysis grid for a catalog: where its study area is, at which resolution."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from ..config import Catalog
from ..grid import Grid, utm_crs_for
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
    Grid covering the boundary's bounds in ``crs`` plus the margin.
    """
    union, _ = study_area(catalog, crs="EPSG:4326")
    if crs is None:
        c = union.centroid
        crs = utm_crs_for(c.x, c.y)
    t = pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_user_input(crs), always_xy=True)
    projected = shapely.transform(union, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return Grid.around(tuple(projected.bounds), crs, resolution_m, margin_m)
