"""Raster masks in the roles that take a raster or vectors (boundary, water, protected, flood).

A mask raster's cells are *in* when their value is in the entry's ``values``
(default: any non-zero value), or, for a flood-depth raster with a
``threshold``, when the depth is at least ``threshold`` metres; nodata cells
are out. The cells that are in are turned into polygons (their exact outlines,
in the raster's CRS) so that every later step treats a raster mask exactly as
a vector layer: the study area, the rasterizing onto the grid (a grid cell is
in when its centre is: nearest-neighbour sampling of the mask) and the maps.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import CatalogLayer
from ..errors import DataError
from ..grid import STRIP_CELLS, require_crs
from .encodings import distinct_sample, values_text
from .sources import band_of, label, open_raster, present_mask, raster_errors, raster_nodata, short_error
from .warp import shift_transform


def cells_in(entry: CatalogLayer, data: np.ndarray, nodata) -> np.ndarray:
    """Bool: the cells of ``data`` (one band of the entry's raster) that are in the mask.

    Without ``values`` or ``threshold`` a raster with more than two distinct values
    is refused (DataError): non-zero would take a DEM or a classification whole.
    """
    present = present_mask(data, nodata)
    if entry.values is not None:
        inside = np.isin(data, np.asarray(entry.values))
    elif entry.threshold is not None:  # a flood-depth raster, metres
        inside = data >= entry.threshold
    else:
        vals = distinct_sample(data, present)
        if vals.size > 2:  # a DEM, a classification ... given as a mask
            hint = " or, for a flood-depth raster, 'threshold' (metres)" if entry.role == "flood" else ""
            raise DataError(f"{label(entry)}: {values_text(vals)} but a raster {entry.role} mask takes every "
                            f"non-zero value as in; set 'values' to the codes that are in (e.g. values = [1])"
                            f"{hint}, or give the {entry.role} as polygons")
        inside = data != 0
    return inside & present


def read_raster_mask(entry: CatalogLayer, dst_crs=None,
                     bbox: tuple[float, float, float, float] | None = None):
    """The cells in the entry's mask raster as polygons (GeoDataFrame), in ``dst_crs`` if given.

    Parameters
    ----------
    entry : a catalog entry of a mask role whose file is a raster.
    dst_crs : the CRS to reproject to (e.g. the grid's); None keeps the raster's.
    bbox : (left, bottom, right, top) in ``dst_crs``: only the part of the raster
        under it is read (plus two cells).

    The raster is read in blocks of whole rows (:data:`expansion.grid.STRIP_CELLS`
    cells), so a large mask never sits in memory whole; a region that spans two
    blocks comes out as two touching polygons, which rasterize the same.
    """
    import geopandas as gpd
    import shapely
    from rasterio.features import shapes
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    with open_raster(entry) as ds:
        require_crs(ds.crs, label(entry))
        nodata = raster_nodata(entry, ds)
        col0, row0, col1, row1 = 0, 0, ds.width, ds.height
        if bbox is not None and dst_crs is not None:
            try:
                b = transform_bounds(dst_crs, ds.crs, *bbox, densify_pts=21)
            except Exception as exc:
                raise DataError(f"{label(entry)}: its CRS {ds.crs} cannot be related to the grid "
                                f"({short_error(exc)})") from None
            w = from_bounds(*b, transform=ds.transform)
            col0 = max(0, int(math.floor(w.col_off)) - 2)
            row0 = max(0, int(math.floor(w.row_off)) - 2)
            col1 = min(ds.width, int(math.ceil(w.col_off + w.width)) + 2)
            row1 = min(ds.height, int(math.ceil(w.row_off + w.height)) + 2)
        polygons = []
        rows = max(1, STRIP_CELLS // max(1, col1 - col0))
        for r in range(row0, max(row0, row1), rows):
            window = Window(col0, r, col1 - col0, min(rows, row1 - r))
            try:
                data = ds.read(band_of(entry), window=window)
            except raster_errors() as exc:
                raise DataError(f"{label(entry)}: cannot be read ({short_error(exc)}); the file may be "
                                "truncated or damaged") from None
            inside = cells_in(entry, data, nodata)
            if inside.any():
                t = shift_transform(ds.transform, col0, r)
                polygons.extend(shapely.geometry.shape(g) for g, _ in
                                shapes(inside.view("uint8"), mask=inside, transform=t))
        crs = ds.crs
    gdf = gpd.GeoDataFrame(geometry=polygons, crs=crs)
    if dst_crs is not None:
        gdf = gdf.to_crs(dst_crs)
    return gdf
