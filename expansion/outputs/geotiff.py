"""Tiled, DEFLATE-compressed GeoTIFFs with internal overviews, written in row bands."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from ..grid import Grid

GTIFF_OPTIONS = {"compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}
#: Rows written at once (a multiple of the tile height) and GDAL's block cache in MB while writing.
WRITE_ROWS = 4 * GTIFF_OPTIONS["blockysize"]
GDAL_CACHE_MB = 64


def write_geotiff(
    path: Path,
    array: np.ndarray,
    grid: Grid,
    nodata: float | int | None,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
    description: str | None = None,
    overviews: bool = True,
    categorical: bool = False,
) -> None:
    """Write one band on ``grid`` as a tiled, DEFLATE-compressed GeoTIFF.

    Internal overviews (2, 4, 8, 16 ...) are built so QGIS draws it fast:
    nearest for ``categorical`` data, average otherwise. Same array, same
    bytes: GDAL writes no timestamp into a GeoTIFF.

    Written a band of ``WRITE_ROWS`` rows at a time with a ``GDAL_CACHE_MB``
    block cache, so the memory it needs does not grow with the grid.
    """
    if array.shape != grid.shape:
        raise ValueError(f"array shape {array.shape} != grid shape {grid.shape}")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": grid.pyproj_crs.to_wkt(),
        "transform": grid.transform,
        "nodata": nodata,
        **GTIFF_OPTIONS,
    }
    if array.dtype.kind == "f":
        profile["predictor"] = 3
    elif array.dtype.kind in "iu" and array.dtype.itemsize > 1:
        profile["predictor"] = 2
    if grid.width < 256 or grid.height < 256:
        profile.pop("blockxsize")
        profile.pop("blockysize")
        profile["tiled"] = False
    _check_space(Path(path), int(array.nbytes * 1.4) + (1 << 20))
    # GDAL's block cache (5 % of RAM by default) would keep every tile written and read for the
    # overviews; a small one bounds the memory on large grids and gives the same bytes.
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(path, "w", **profile) as dst:
        # Whole rows of tiles at a time: rasterio copies what it writes, so this bounds the copy, and
        # the tiles are complete when written, in the same order, so the file is the same.
        step = WRITE_ROWS if profile["tiled"] else grid.height
        for r0 in range(0, grid.height, step):
            r1 = min(grid.height, r0 + step)
            dst.write(array[r0:r1], 1, window=Window(0, r0, grid.width, r1 - r0))
        if description:
            dst.set_band_description(1, description)
        if colormap:
            dst.write_colormap(1, colormap)
        if overviews:
            factors = [f for f in (2, 4, 8, 16, 32) if min(grid.shape) // f >= 64]
            if factors:
                dst.build_overviews(factors, Resampling.nearest if categorical else Resampling.average)
                dst.update_tags(ns="rio_overview", resampling="nearest" if categorical else "average")


def _check_space(path: Path, need: int) -> None:
    """Raise OSError(ENOSPC) unless ``need`` bytes are free where ``path`` goes.

    GDAL's GeoTIFF writer (libtiff) can crash the process outright when the disk
    fills up in the middle of a file, so a GeoTIFF is written only when its
    uncompressed size with overviews (an upper bound) fits.
    """
    free = shutil.disk_usage(path.parent).free
    if free < need:
        raise OSError(errno.ENOSPC, f"No space left on device ({free / 1e6:.1f} MB free, "
                      f"{need / 1e6:.1f} MB needed)", str(path))
