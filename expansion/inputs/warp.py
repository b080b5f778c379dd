"""Windowed reading and warping of rasters onto the analysis grid, strip by strip.

Resampling, by kind of data (source → grid):

- built-up: each source is turned into a 0/1/nodata code *at source
  resolution* (see :mod:`expansion.inputs.encodings`), then warped with
  **nearest**. Nearest samples one source cell per grid cell, so the expected
  built-up area (km²) is unchanged whatever the ratio of cell sizes. Mode
  (majority) is deliberately not used: when the source is finer than the grid,
  majority erases scattered built-up cells and under-counts area (tested in
  ``tests/test_layers.py``).
- DEM: bilinear, float32 metres, NaN for no data.
- population: sum-preserving. Persons per source cell are divided by the source
  cell's area (m², per row for geographic sources) to give a density, the
  density is warped with **average**, and multiplied by the grid cell area.
  The total is kept up to edge effects and nodata.

Several files of one role (tiles) are mosaicked: each is warped into the same
destination and the first valid value wins (catalog order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.enums import Resampling

from ..config import CatalogLayer
from ..errors import DataError
from ..grid import Grid, require_crs
from .cache import Sink
from .sources import (
    band_of,
    footprint,
    label,
    open_raster,
    pixel_area_m2,
    present_mask,
    raster_errors,
    raster_nodata,
    short_error,
    step,
)


@dataclass
class SourceWindow:
    """The part of a source raster that covers the grid."""

    data: np.ndarray
    present: np.ndarray  # bool: not nodata
    transform: object
    crs: object


def read_window(entry: CatalogLayer, ds, grid: Grid, dtype=None) -> SourceWindow | None:
    """Read the block of band 1 that covers ``grid`` (plus 2 cells); None if none does."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    require_crs(ds.crs, label(entry))
    nodata = raster_nodata(entry, ds)
    try:
        left, bottom, right, top = transform_bounds(grid.crs, ds.crs, *grid.bounds, densify_pts=21)
    except Exception as exc:
        raise DataError(f"{label(entry)}: its CRS {ds.crs} cannot be related to the grid "
                        f"({short_error(exc)})") from None
    win = from_bounds(left, bottom, right, top, transform=ds.transform)
    col0 = max(0, int(math.floor(win.col_off)) - 2)
    row0 = max(0, int(math.floor(win.row_off)) - 2)
    col1 = min(ds.width, int(math.ceil(win.col_off + win.width)) + 2)
    row1 = min(ds.height, int(math.ceil(win.row_off + win.height)) + 2)
    if col1 <= col0 or row1 <= row0:
        return None
    window = Window(col0, row0, col1 - col0, row1 - row0)
    try:
        data = ds.read(band_of(entry), window=window)
    except raster_errors() as exc:
        raise DataError(
            f"{label(entry)}: cannot be read ({short_error(exc)}); the file may be truncated or damaged — "
            "check it with `gdalinfo -checksum` or download it again"
        ) from None
    present = present_mask(data, nodata)
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    return SourceWindow(data, present, shift_transform(ds.transform, col0, row0), ds.crs)


def shift_transform(t, cols: float, rows: float):
    """``t`` moved by whole cells (ds.window_transform, without affine's ``*`` deprecation warning)."""
    from affine import Affine

    return Affine(t.a, t.b, t.c + cols * t.a + rows * t.b, t.d, t.e, t.f + cols * t.d + rows * t.e)


def warp_into(dest: np.ndarray, source: np.ndarray, win: SourceWindow, grid: Grid, resampling: Resampling,
               nodata) -> None:
    """Warp ``source`` (on ``win``) onto the grid and fill ``dest`` where it is still nodata."""
    from rasterio.warp import reproject

    tmp = np.full(grid.shape, nodata, dtype=dest.dtype)
    reproject(source, tmp, src_transform=win.transform, src_crs=win.crs, src_nodata=nodata,
              dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=nodata,
              resampling=resampling, init_dest_nodata=True)
    if isinstance(nodata, float) and math.isnan(nodata):
        empty = np.isnan(dest)
    else:
        empty = dest == nodata
    np.copyto(dest, tmp, where=empty)



def raster_strips(entry: CatalogLayer, grid: Grid, study: shapely.Geometry, dtype=None):
    """Check a raster, then read it strip by strip of the grid (:meth:`Grid.strips`):
    yields ``(row0, row1, strip_grid, window)`` for each strip it has data in.

    Only the source block under one strip is in memory at a time, so a raster
    much larger than memory can be warped onto a large grid. Raises DataError
    when the raster misses the study area or has only nodata over the grid.
    """
    with open_raster(entry) as ds:
        require_crs(ds.crs, label(entry))
        fp = footprint(tuple(ds.bounds), ds.crs, grid.crs)
        if not fp.intersects(study):
            raise DataError(
                f"{label(entry)}: does not overlap the study area (raster extent "
                f"{_fmt_bounds(ds.bounds)} in {ds.crs}); check the file and the boundary's CRS"
            )
        found = False
        for r0, r1, strip in grid.strips():
            win = read_window(entry, ds, strip, dtype=dtype)
            if win is None or not win.present.any():
                continue
            found = True
            yield r0, r1, strip, win
    if not found:
        raise DataError(
            f"{label(entry)}: has only nodata over the study area; check its nodata value "
            "(or the catalog's 'nodata') and that it covers the boundary"
        )


def _fmt_bounds(b) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in tuple(b)) + ")"


def warp_dem(entries, grid, study, progress, sink: Sink) -> np.ndarray:
    dem = sink.new("dem", "float32", np.nan)
    for entry in entries:
        step(progress, f"dem {label(entry)}")
        for r0, r1, strip, win in raster_strips(entry, grid, study, dtype="float32"):
            src = np.where(win.present, win.data, np.nan).astype("float32")
            warp_into(dem[r0:r1], src, win, strip, Resampling.bilinear, np.nan)
    return dem


def warp_population(entries, grid, study, progress, sink: Sink) -> np.ndarray:
    pop = sink.new("population", "float32", np.nan)
    for entry in entries:
        step(progress, f"population {label(entry)}")
        for r0, r1, strip, win in raster_strips(entry, grid, study, dtype="float64"):
            area = pixel_area_m2(win.crs, win.transform, *win.data.shape)
            density = np.where(win.present, win.data / area, np.nan).astype("float32")  # persons per m²
            dens_grid = np.full(strip.shape, np.nan, dtype="float32")
            warp_into(dens_grid, density, win, strip, Resampling.average, np.nan)
            # Average ignores nodata, so a grid cell half over nodata gets the density of its
            # data half: scale by the share of the cell that has data, or edges over-count.
            # The coverage source is padded with one ring of 0 so that the raster's own edge
            # counts as "no data" too (inside the raster, the ring lies beyond the two cells
            # read around the strip, outside every cell of the strip).
            padded = SourceWindow(np.pad(win.present.astype("float32"), 1), win.present,
                             shift_transform(win.transform, -1, -1), win.crs)
            cover = np.full(strip.shape, np.nan, dtype="float32")
            warp_into(cover, padded.data, padded, strip, Resampling.average, np.nan)
            persons = dens_grid * np.float32(strip.cell_area_m2) * np.nan_to_num(cover, nan=0.0)
            block = pop[r0:r1]
            np.copyto(block, persons.astype("float32"), where=np.isnan(block))
    return pop
