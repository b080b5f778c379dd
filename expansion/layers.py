"""Layer import and the aligned stack: every catalog layer on one analysis grid.

This module is an *edge* of the package: it reads files. :func:`grid_for` picks
the analysis grid for a catalog, :func:`build_stack` reads, checks, warps and
rasterizes every layer onto it and returns a :class:`expansion.stack.Stack`
(cached on disk), and :mod:`expansion.catalog_check` checks and imports layers.

Resampling, by kind of data (source → grid):

- built-up: each source is turned into a 0/1/nodata code *at source
  resolution* (threshold first), then warped with **nearest**. Nearest samples
  one source cell per grid cell, so the expected built-up area (km²) is
  unchanged whatever the ratio of cell sizes. Mode (majority) is deliberately
  not used: when the source is finer than the grid, majority erases scattered
  built-up cells and under-counts area (tested in ``tests/test_layers.py``).
  For LDSMT the class codes are warped with nearest and the epochs derived on
  the grid, which is the same thing (nearest commutes with a per-code mapping)
  for one warp instead of five.
- DEM: bilinear, float32 metres, NaN for no data.
- population: sum-preserving. Persons per source cell are divided by the source
  cell's area (m², per row for geographic sources) to give a density, the
  density is warped with **average**, and multiplied by the grid cell area.
  The total is kept up to edge effects and nodata.

Several files of one role (tiles) are mosaicked: each is warped into the same
destination and the first valid value wins (catalog order).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import shapely
from rasterio.enums import Resampling
from shapely.geometry import box

from .config import Catalog, CatalogLayer
from .errors import DataError
from .grid import Grid, distance_m, rasterize, require_crs, row_blocks, utm_crs_for
from .stack import ARTERIAL_HIGHWAYS_WITH_LINKS, Stack

log = logging.getLogger(__name__)

# Bump when the arrays or their meaning change: old cache files are then ignored.
# 2: a folder of .npy files, opened memory-mapped (was one .npz read whole).
# 3: built strip by strip straight into the folder.
CACHE_VERSION = 3

# GHSL LDSMT class codes (see DESIGN.md section 3).
LDSMT_EPOCHS = {1975: (6,), 1990: (5, 6), 2000: (4, 5, 6), 2014: (3, 4, 5, 6)}
LDSMT_WATER = 1
LDSMT_NODATA = 0

DEFAULT_THRESHOLDS = {"fraction": 0.5, "ghs-built-s": 0.2}

# Codes of the built-up arrays made at source resolution, before warping.
_NOT_BUILT, _BUILT, _NODATA8 = 0, 1, 255

OSM_SUFFIXES = (".osm.pbf", ".osm")

# Which OSM features make each vector role (OSM driver layers and SQL filters).
_OSM_QUERIES = {
    "roads": [("lines", "highway IS NOT NULL")],
    "water": [("lines", "waterway IS NOT NULL"), ("multipolygons", "natural = 'water'")],
    "protected": [("multipolygons",
                   "boundary = 'protected_area' OR leisure IN ('park', 'nature_reserve') OR "
                   "landuse IN ('forest', 'military') OR natural = 'wood' OR aeroway = 'aerodrome'")],
}

Progress = Callable[[str], None] | None


# ================================================================ files


def _where(entry: CatalogLayer) -> str:
    """How errors name a layer: its path as written in the catalog."""
    return entry.path_as_written


def check_file(entry: CatalogLayer) -> None:
    """Raise DataError unless the entry's file exists and is a file."""
    path = entry.path
    if not path.exists():
        raise DataError(
            f"{_where(entry)}: file not found (resolved: {path}); fix its 'path' in the "
            "catalog (paths are relative to layers.toml) or put the file there"
        )
    if path.is_dir():
        raise DataError(
            f"{_where(entry)}: is a directory ({path}), not a file; give the file inside it "
            "(e.g. the .tif, .gpkg or .shp)"
        )


def is_osm(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def _raster_errors() -> tuple[type[BaseException], ...]:
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    return (RasterioError, CPLE_BaseError, OSError)


def open_raster(entry: CatalogLayer):
    """Open the entry's raster (a rasterio dataset); DataError if it cannot be."""
    import rasterio

    check_file(entry)
    try:
        ds = rasterio.open(entry.path)
    except _raster_errors() as exc:
        raise DataError(
            f"{_where(entry)}: cannot be read as a raster ({_short(exc)}); check that it is a "
            "complete GeoTIFF (e.g. `gdalinfo` it, or download it again)"
        ) from None
    if ds.count < 1:
        ds.close()
        raise DataError(f"{_where(entry)}: has no raster bands")
    return ds


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def raster_nodata(entry: CatalogLayer, ds):
    """The nodata value of the entry's raster (catalog override first), checked
    against the band's data type. None when there is none."""
    value = entry.nodata if entry.nodata is not None else ds.nodata
    if value is None and entry.nodata is None:
        value = _declared_nodata(ds)
    if value is None:
        return None
    dtype = np.dtype(ds.dtypes[0])
    if not value_fits(value, dtype):
        where = "the catalog's 'nodata'" if entry.nodata is not None else "its nodata tag"
        raise DataError(
            f"{_where(entry)}: nodata value {value:g} ({where}) does not fit its data type {dtype}; "
            "fix it (`gdal_edit.py -a_nodata VALUE`) or set a fitting 'nodata' in the catalog"
        )
    return dtype.type(value) if dtype.kind in "iu" else value


def _declared_nodata(ds) -> float | None:
    """Band 1's nodata value as the file declares it, even when it does not fit the dtype.

    rasterio reports a nodata value outside the band's data type as None (no
    nodata), which would silently treat the cells meant as nodata as data; the
    value GDAL read is in the dataset's VRT description.
    """
    import xml.etree.ElementTree as ET

    import rasterio.shutil
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(ext=".vrt") as mem:
            rasterio.shutil.copy(ds, mem.name, driver="VRT")
            band = ET.fromstring(mem.read()).find("VRTRasterBand[@band='1']")
        text = band.findtext("NoDataValue") if band is not None else None
        return None if text is None else float(text)
    except Exception:  # no VRT description: keep what rasterio reported
        return None


def value_fits(value: float, dtype: np.dtype) -> bool:
    """True when ``value`` can be stored exactly in ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        if not math.isfinite(value) or float(value) != int(value):
            return False
        info = np.iinfo(dtype)
        return info.min <= int(value) <= info.max
    if dtype.kind == "f":
        return math.isnan(value) or abs(value) <= np.finfo(dtype).max
    if dtype.kind == "b":
        return value in (0, 1)
    return False


# ================================================================ geometry helpers


def footprint(bounds: tuple[float, float, float, float], src_crs, dst_crs) -> shapely.Geometry:
    """A rectangle given as (left, bottom, right, top) in ``src_crs``, densified
    and transformed into ``dst_crs`` (a polygon, so overlap areas are honest)."""
    ring = shapely.segmentize(box(*bounds), max_segment_length=max(
        (bounds[2] - bounds[0]) / 32, (bounds[3] - bounds[1]) / 32, 1e-9))
    t = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(src_crs),
                                    pyproj.CRS.from_user_input(dst_crs), always_xy=True)
    out = shapely.transform(ring, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return shapely.make_valid(out)


def _pixel_area_m2(crs, transform, rows: int, cols: int) -> np.ndarray:
    """Area in m² of the source cells, as a (rows, 1) column (per row).

    Geographic CRS: the cell area on the sphere of equal area (authalic radius)
    between the row's latitudes. Projected CRS: the nominal cell area in metres,
    corrected by the projection's areal scale at each row's middle (1 for
    equal-area CRSs such as Mollweide ESRI:54009).
    """
    c = pyproj.CRS.from_user_input(crs)
    a, e = transform.a, transform.e
    row_idx = np.arange(rows)
    if c.is_geographic:
        r = 6371007.2  # authalic radius of WGS 84, metres
        top = np.radians(transform.f + row_idx * e)
        bottom = np.radians(transform.f + (row_idx + 1) * e)
        area = r * r * abs(math.radians(a)) * np.abs(np.sin(top) - np.sin(bottom))
        return area.reshape(-1, 1)
    unit = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    nominal = abs(a * e) * unit * unit
    try:
        xs = np.full(rows, transform.c + cols / 2 * a)
        ys = transform.f + (row_idx + 0.5) * e
        lon, lat = pyproj.Transformer.from_crs(c, "EPSG:4326", always_xy=True).transform(xs, ys)
        scale = np.asarray(pyproj.Proj(c).get_factors(lon, lat).areal_scale, dtype="float64")
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    except Exception:  # a CRS without factors: keep the nominal area
        scale = np.ones(rows)
    return (nominal / scale).reshape(-1, 1)


# ================================================================ rasters


@dataclass
class _Window:
    """The part of a source raster that covers the grid."""

    data: np.ndarray
    present: np.ndarray  # bool: not nodata
    transform: object
    crs: object


def _read_window(entry: CatalogLayer, ds, grid: Grid, dtype=None) -> _Window | None:
    """Read the block of band 1 that covers ``grid`` (plus 2 cells); None if none does."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    require_crs(ds.crs, _where(entry))
    nodata = raster_nodata(entry, ds)
    try:
        left, bottom, right, top = transform_bounds(grid.crs, ds.crs, *grid.bounds, densify_pts=21)
    except Exception as exc:
        raise DataError(f"{_where(entry)}: its CRS {ds.crs} cannot be related to the grid ({_short(exc)})") \
            from None
    win = from_bounds(left, bottom, right, top, transform=ds.transform)
    col0 = max(0, int(math.floor(win.col_off)) - 2)
    row0 = max(0, int(math.floor(win.row_off)) - 2)
    col1 = min(ds.width, int(math.ceil(win.col_off + win.width)) + 2)
    row1 = min(ds.height, int(math.ceil(win.row_off + win.height)) + 2)
    if col1 <= col0 or row1 <= row0:
        return None
    window = Window(col0, row0, col1 - col0, row1 - row0)
    try:
        data = ds.read(1, window=window)
    except _raster_errors() as exc:
        raise DataError(
            f"{_where(entry)}: cannot be read ({_short(exc)}); the file may be truncated or damaged — "
            "check it with `gdalinfo -checksum` or download it again"
        ) from None
    if nodata is None:
        present = np.ones(data.shape, dtype=bool)
    elif isinstance(nodata, float) and math.isnan(nodata):
        present = ~np.isnan(data)
    else:
        present = data != nodata
    if data.dtype.kind == "f":
        present &= ~np.isnan(data)
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    return _Window(data, present, _shift(ds.transform, col0, row0), ds.crs)


def _shift(t, cols: float, rows: float):
    """``t`` moved by whole cells (ds.window_transform, without affine's ``*`` deprecation warning)."""
    from affine import Affine

    return Affine(t.a, t.b, t.c + cols * t.a + rows * t.b, t.d, t.e, t.f + cols * t.d + rows * t.e)


def _warp_into(dest: np.ndarray, source: np.ndarray, win: _Window, grid: Grid, resampling: Resampling,
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


def _builtup_codes(entry: CatalogLayer, win: _Window, percent: bool = False) -> np.ndarray:
    """0 not built / 1 built / 255 no data, at source resolution (uint8).

    ``percent``: a "fraction" layer holds 0–100 rather than 0–1 (see :func:`_is_percent`).
    """
    enc = entry.encoding or "binary"
    data, present = win.data, win.present
    if enc == "binary":
        built = data != 0
    elif enc == "fraction":
        vals = data.astype("float32", copy=False)
        share = vals / 100.0 if percent else vals
        built = share >= _threshold(entry)
    elif enc == "ghs-built-s":
        area = _pixel_area_m2(win.crs, win.transform, *data.shape)
        share = data.astype("float64") / area  # m² roofed / m² of the cell
        built = share >= _threshold(entry)
    else:  # pragma: no cover - the catalog loader only lets known encodings through
        raise DataError(f"{_where(entry)}: unknown encoding {enc!r}")
    out = np.where(built, _BUILT, _NOT_BUILT).astype("uint8")
    out[~present] = _NODATA8
    return out


def _threshold(entry: CatalogLayer) -> float:
    """The entry's threshold as a share 0–1 (a value above 1 is read as percent)."""
    t = entry.threshold if entry.threshold is not None else DEFAULT_THRESHOLDS[entry.encoding]
    return t / 100.0 if t > 1.0 else t


def _raster_strips(entry: CatalogLayer, grid: Grid, study: shapely.Geometry, dtype=None):
    """Check a raster, then read it strip by strip of the grid (:meth:`Grid.strips`):
    yields ``(row0, row1, strip_grid, window)`` for each strip it has data in.

    Only the source block under one strip is in memory at a time, so a raster
    much larger than memory can be warped onto a large grid. Raises DataError
    when the raster misses the study area or has only nodata over the grid.
    """
    with open_raster(entry) as ds:
        require_crs(ds.crs, _where(entry))
        fp = footprint(tuple(ds.bounds), ds.crs, grid.crs)
        if not fp.intersects(study):
            raise DataError(
                f"{_where(entry)}: does not overlap the study area (raster extent "
                f"{_fmt_bounds(ds.bounds)} in {ds.crs}); check the file and the boundary's CRS"
            )
        found = False
        for r0, r1, strip in grid.strips():
            win = _read_window(entry, ds, strip, dtype=dtype)
            if win is None or not win.present.any():
                continue
            found = True
            yield r0, r1, strip, win
    if not found:
        raise DataError(
            f"{_where(entry)}: has only nodata over the study area; check its nodata value "
            "(or the catalog's 'nodata') and that it covers the boundary"
        )


def _is_percent(entry: CatalogLayer, grid: Grid, study: shapely.Geometry) -> bool:
    """Whether a "fraction" built-up layer holds percent (its largest value over the grid is above 1)."""
    top = 0.0
    for _, _, _, win in _raster_strips(entry, grid, study, dtype="float32"):
        top = max(top, float(np.max(win.data, where=win.present, initial=0.0)))
    return top > 1.0 + 1e-6


def _fmt_bounds(b) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in tuple(b)) + ")"


def _warp_builtup(entries, grid, study, progress, sink: _Sink) -> tuple[dict[int, np.ndarray], np.ndarray,
                                                                         np.ndarray]:
    """Built-up per year (bool), data-present mask (bool) and LDSMT water (bool) on the grid."""
    years: dict[int, np.ndarray] = {}  # year -> uint8 codes on the grid (_NODATA8 until filled)

    def codes_of(year: int) -> np.ndarray:
        if year not in years:
            years[year] = np.full(grid.shape, _NODATA8, dtype="uint8")
        return years[year]

    ldsmt_water = np.zeros(grid.shape, dtype=bool)
    for entry in entries:
        _step(progress, f"built-up {_where(entry)}")
        if entry.encoding == "ghsl-ldsmt":
            for r0, r1, strip, win in _raster_strips(entry, grid, study):
                codes = win.data.astype("uint8")
                codes[~win.present] = LDSMT_NODATA
                grid_codes = np.zeros(strip.shape, dtype="uint8")
                # nearest: see the module docstring
                _warp_into(grid_codes, codes, win, strip, Resampling.nearest, LDSMT_NODATA)
                ldsmt_water[r0:r1] |= grid_codes == LDSMT_WATER
                for year, built_codes in LDSMT_EPOCHS.items():
                    code = np.where(np.isin(grid_codes, built_codes), _BUILT, _NOT_BUILT).astype("uint8")
                    code[grid_codes == LDSMT_NODATA] = _NODATA8
                    dest = codes_of(year)[r0:r1]
                    np.copyto(dest, code, where=dest == _NODATA8)
        else:
            percent = entry.encoding == "fraction" and _is_percent(entry, grid, study)
            dest = codes_of(entry.year)
            for r0, r1, strip, win in _raster_strips(entry, grid, study):
                # Thresholded at source resolution; nearest keeps built-up area faithful.
                _warp_into(dest[r0:r1], _builtup_codes(entry, win, percent), win, strip,
                           Resampling.nearest, _NODATA8)
    present_all = np.ones(grid.shape, dtype=bool)
    builtup = {}
    for year in sorted(years):
        codes = years.pop(year)
        present_all &= codes != _NODATA8
        builtup[year] = sink.put(f"builtup_{year}", codes == _BUILT)
    return builtup, present_all, ldsmt_water


def _warp_dem(entries, grid, study, progress, sink: _Sink) -> np.ndarray:
    dem = sink.new("dem", "float32", np.nan)
    for entry in entries:
        _step(progress, f"dem {_where(entry)}")
        for r0, r1, strip, win in _raster_strips(entry, grid, study, dtype="float32"):
            src = np.where(win.present, win.data, np.nan).astype("float32")
            _warp_into(dem[r0:r1], src, win, strip, Resampling.bilinear, np.nan)
    return dem


def _warp_population(entries, grid, study, progress, sink: _Sink) -> np.ndarray:
    pop = sink.new("population", "float32", np.nan)
    for entry in entries:
        _step(progress, f"population {_where(entry)}")
        for r0, r1, strip, win in _raster_strips(entry, grid, study, dtype="float64"):
            area = _pixel_area_m2(win.crs, win.transform, *win.data.shape)
            density = np.where(win.present, win.data / area, np.nan).astype("float32")  # persons per m²
            dens_grid = np.full(strip.shape, np.nan, dtype="float32")
            _warp_into(dens_grid, density, win, strip, Resampling.average, np.nan)
            # Average ignores nodata, so a grid cell half over nodata gets the density of its
            # data half: scale by the share of the cell that has data, or edges over-count.
            # The coverage source is padded with one ring of 0 so that the raster's own edge
            # counts as "no data" too (inside the raster, the ring lies beyond the two cells
            # read around the strip, outside every cell of the strip).
            padded = _Window(np.pad(win.present.astype("float32"), 1), win.present,
                             _shift(win.transform, -1, -1), win.crs)
            cover = np.full(strip.shape, np.nan, dtype="float32")
            _warp_into(cover, padded.data, padded, strip, Resampling.average, np.nan)
            persons = dens_grid * np.float32(strip.cell_area_m2) * np.nan_to_num(cover, nan=0.0)
            block = pop[r0:r1]
            np.copyto(block, persons.astype("float32"), where=np.isnan(block))
    return pop


# ================================================================ vectors


def read_vector(entry: CatalogLayer, dst_crs=None, bbox: tuple[float, float, float, float] | None = None):
    """Read a vector layer (GeoDataFrame), repaired, in ``dst_crs`` if given.

    Parameters
    ----------
    entry : the catalog entry (GeoPackage with optional ``layer``, Shapefile,
        GeoJSON, or OpenStreetMap ``.osm.pbf`` / ``.osm``).
    dst_crs : the CRS to reproject to (e.g. the grid's); None keeps the file's.
    bbox : (left, bottom, right, top) in ``dst_crs``: only features meeting it are read.

    Raises
    ------
    DataError
        missing or unreadable file, no CRS, several layers and no ``layer``, or
        (roads) no class field.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    check_file(entry)
    where = _where(entry)
    osm = is_osm(entry.path)
    if osm:
        if entry.role not in _OSM_QUERIES:
            raise DataError(
                f"{where}: role '{entry.role}' cannot be read from OpenStreetMap data; "
                f"OSM files serve {', '.join(_OSM_QUERIES)} — export the {entry.role} as a GeoPackage"
            )
        queries = _OSM_QUERIES[entry.role]
        if entry.role == "roads" and entry.class_field not in (None, "highway"):
            raise DataError(f"{where}: OSM roads are classed by 'highway'; remove 'class_field' "
                            f"({entry.class_field!r}) from the catalog")
    else:
        try:
            names = [str(n) for n in pyogrio.list_layers(entry.path)[:, 0]]
        except Exception as exc:  # pyogrio.errors.DataSourceError and friends
            raise DataError(f"{where}: cannot be read as a vector layer ({_short(exc)}); "
                            "use a GeoPackage, Shapefile or GeoJSON") from None
        if entry.layer is not None and entry.layer not in names:
            raise DataError(f"{where}: has no layer '{entry.layer}'; its layers are: {', '.join(names)}")
        if entry.layer is None and len(names) > 1:
            raise DataError(f"{where}: has {len(names)} layers ({', '.join(names)}); "
                            "say which one with 'layer = \"...\"' in the catalog")
        queries = [(entry.layer if entry.layer is not None else names[0] if names else None, None)]

    frames = []
    for layer, sql_where in queries:
        try:
            info = pyogrio.read_info(entry.path, layer=layer)
        except Exception as exc:
            raise DataError(f"{where}: cannot be read as a vector layer ({_short(exc)})") from None
        src_crs = info.get("crs")
        require_crs(src_crs, where)
        read_bbox = None
        if bbox is not None and dst_crs is not None:
            from rasterio.warp import transform_bounds

            read_bbox = transform_bounds(dst_crs, src_crs, *bbox, densify_pts=21)
        try:
            gdf = gpd.read_file(entry.path, layer=layer, engine="pyogrio", where=sql_where,
                                bbox=read_bbox)
        except Exception as exc:
            raise DataError(f"{where}: cannot be read ({_short(exc)}); check the file in QGIS") from None
        if gdf.crs is None:
            require_crs(None, where)
        frames.append(gdf)
    gdf = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    if dst_crs is not None and len(gdf):
        gdf = gdf.to_crs(dst_crs)
    elif dst_crs is not None:
        gdf = gdf.set_crs(dst_crs, allow_override=True)
    return _repair(gdf, where)


def _repair(gdf, where: str):
    """Drop missing/empty geometries; repair invalid ones with make_valid (logged)."""
    geoms = gdf.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if (~keep).any():
        log.warning("%s: dropped %d empty geometries", where, int((~keep).sum()))
        gdf = gdf[keep]
    invalid = ~shapely.is_valid(gdf.geometry.values)
    if invalid.any():
        log.warning("%s: repaired %d invalid geometries (shapely.make_valid)", where, int(invalid.sum()))
        gdf = gdf.copy()
        fixed = shapely.make_valid(gdf.geometry.values[invalid])
        gdf.loc[invalid, gdf.geometry.name] = fixed
        gdf = gdf[~shapely.is_empty(gdf.geometry.values)]
    return gdf.reset_index(drop=True)


def _roads_frame(entry: CatalogLayer, gdf):
    """Roads with columns ``highway`` (the class field, as text) and ``road_class``."""
    import geopandas as gpd

    fld = entry.class_field or "highway"
    if fld not in gdf.columns:
        fields = [c for c in gdf.columns if c != gdf.geometry.name]
        raise DataError(
            f"{_where(entry)}: roads layer has no field '{fld}' to class roads by; its fields are: "
            f"{', '.join(fields) or '(none)'} — set 'class_field' in the catalog to one of them"
        )
    highway = gdf[fld].astype("string").fillna("").str.strip().str.lower()
    road_class = np.where(highway.isin(ARTERIAL_HIGHWAYS_WITH_LINKS), "arterial", "local")
    return gpd.GeoDataFrame({"highway": highway.to_numpy(dtype=object), "road_class": road_class},
                            geometry=gdf.geometry.values, crs=gdf.crs)


def _geometry_only(gdf):
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs)


def slope_percent(dem: np.ndarray, res: float, out: np.ndarray | None = None) -> np.ndarray:
    """Slope in percent (rise / run × 100) of a DEM in metres on square cells of ``res`` metres.

    Central differences (as ``np.gradient``); where a neighbour is NaN (no data,
    the edge of the grid) the one-sided difference with the other neighbour is
    used, so the slope is NaN only where the cell or both neighbours on an axis
    have no elevation. Computed in strips of rows (each with the row above and
    below), into ``out`` (float32) when given.
    """
    h = dem.shape[0]
    out = np.empty(dem.shape, dtype="float32") if out is None else out
    for r0, r1 in row_blocks(dem.shape):
        a0, a1 = max(0, r0 - 1), min(h, r1 + 1)
        z = np.asarray(dem[a0:a1], dtype="float32")
        s = np.hypot(_nan_gradient(z, res, 1), _nan_gradient(z, res, 0)) * np.float32(100.0)
        out[r0:r1] = s[r0 - a0:r1 - a0]
    return out


def _nan_gradient(z: np.ndarray, res: float, axis: int) -> np.ndarray:
    pad = [(0, 0), (0, 0)]
    pad[axis] = (1, 1)
    zp = np.pad(z, pad, constant_values=np.nan)
    if axis == 0:
        before, after = zp[:-2], zp[2:]
    else:
        before, after = zp[:, :-2], zp[:, 2:]
    with np.errstate(invalid="ignore"):
        grad = (after - before) / np.float32(2 * res)
        one_sided = np.where(np.isnan(after), z - before, after - z) / np.float32(res)
    return np.where(np.isnan(grad), one_sided, grad)


def height_above_water(water: np.ndarray, dem: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Height above the nearest water cell (m, float32): the DEM minus the DEM at
    the nearest water cell that has an elevation (a simple HAND).

    Without any such water cell it is the height above the lowest point of the
    grid (where water would gather), and a warning is logged. The nearest water
    cell comes from scipy's feature transform (two int32 indices, 8 bytes a
    cell); the subtraction goes strip by strip into ``out`` when given.
    """
    from scipy.ndimage import distance_transform_edt

    out = np.empty(dem.shape, dtype="float32") if out is None else out
    target = water & ~np.isnan(dem)
    if not target.any():
        if np.isnan(dem).all():
            out[...] = np.nan
            return out
        log.warning("no water cell with an elevation: height above water is measured from the "
                    "lowest point of the grid")
        low = np.float32(np.nanmin(dem))
        for r0, r1 in row_blocks(dem.shape):
            out[r0:r1] = dem[r0:r1] - low
        return out
    ri, ci = distance_transform_edt(~target, return_distances=False, return_indices=True)
    del target
    for r0, r1 in row_blocks(dem.shape):
        out[r0:r1] = dem[r0:r1] - dem[ri[r0:r1], ci[r0:r1]]
    return out


# ================================================================ grid and stack


def _study_area(catalog: Catalog, crs=None):
    """The union of the boundary layers (shapely geometry) and their frame, in ``crs``."""
    import geopandas as gpd
    import pandas as pd

    entries = catalog.by_role("boundary")
    if not entries:
        raise DataError(f"{catalog.path}: no boundary layer; the study area boundary is required")
    frames = [_geometry_only(read_vector(e, dst_crs=crs)) for e in entries]
    gdf = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    areal = gdf[shapely.get_type_id(gdf.geometry.values) != 7]
    union = shapely.union_all(shapely.get_parts(areal.geometry.values)) if len(areal) else None
    if union is None or union.is_empty or union.area <= 0:
        raise DataError(f"{entries[0].path_as_written}: the boundary has no polygon with an area; "
                        "give the study area as a polygon layer")
    return union, gdf


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
    union, _ = _study_area(catalog, crs="EPSG:4326")
    if crs is None:
        c = union.centroid
        crs = utm_crs_for(c.x, c.y)
    t = pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_user_input(crs), always_xy=True)
    projected = shapely.transform(union, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return Grid.around(tuple(projected.bounds), crs, resolution_m, margin_m)


def _step(progress: Progress, name: str) -> None:
    if progress is not None:
        progress(name)


def _file_stamp(path: Path) -> list:
    """Path, size and mtime_ns of a file and (shapefiles) its sidecars.

    Not a sha256: hashing multi-gigabyte GHSL tiles would take longer than
    building the stack; size + mtime_ns changes whenever a file is rewritten.
    """
    paths = [path]
    if path.suffix.lower() == ".shp":
        paths = sorted(p for p in path.parent.glob(path.stem + ".*") if p.name[len(path.stem)] == ".")
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append([str(p), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(p), None, None])
    return out


def cache_path(catalog: Catalog, grid: Grid) -> Path:
    """Where :func:`build_stack` caches the stack for this catalog and grid."""
    entries = []
    for e in catalog.layers:
        entries.append({"role": e.role, "path": str(e.path), "year": e.year, "encoding": e.encoding,
                        "layer": e.layer, "class_field": e.class_field, "threshold": e.threshold,
                        "nodata": e.nodata, "files": _file_stamp(e.path)})
    text = json.dumps({"version": CACHE_VERSION, "grid": grid.key(), "layers": entries}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return catalog.folder / ".cache" / f"stack-{digest}"


class _Sink:
    """Where the stack's grid arrays go as they are made.

    With a folder (the cache being written) every array is a ``.npy`` file in
    it, memory-mapped: :meth:`new` makes one to be filled strip by strip and
    :meth:`put` saves a finished one and hands back its map, so a large stack
    is paged out to disk as it is built rather than held in memory whole.
    Without a folder both give plain arrays.
    """

    def __init__(self, shape: tuple[int, int], folder: Path | None = None) -> None:
        self.shape, self.folder = shape, folder

    def new(self, name: str, dtype, fill=None) -> np.ndarray:
        """A grid array to fill strip by strip; with ``fill`` None its cells are undefined
        until written (the caller writes them all)."""
        if self.folder is None:
            if fill is None:
                return np.empty(self.shape, dtype=dtype)
            return np.full(self.shape, fill, dtype=dtype)
        path = self.folder / f"{name}.npy"
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=self.shape)
        with open(path, "r+b") as f:  # claim the disk now: a full disk is an OSError, not a SIGBUS later
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
        if fill is not None:
            for r0, r1 in row_blocks(self.shape):
                arr[r0:r1] = fill
        return arr

    def put(self, name: str, arr: np.ndarray) -> np.ndarray:
        if self.folder is None:
            return arr
        path = self.folder / f"{name}.npy"
        if isinstance(arr, np.memmap) and arr.filename is not None and Path(arr.filename) == path:
            arr.flush()
            return arr
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        return np.load(path, mmap_mode="r", allow_pickle=False)


def build_stack(catalog: Catalog, grid: Grid, cache: bool = True, progress: Progress = None) -> Stack:
    """Read every layer of ``catalog`` onto ``grid``: the aligned :class:`Stack`.

    Parameters
    ----------
    catalog : the layers; needs a boundary and at least one built-up layer.
    grid : the analysis grid (projected CRS, metres).
    cache : reuse / write ``<catalog folder>/.cache/stack-<hash>/`` (one .npy
        file per array, opened memory-mapped, so a large stack is paged in from
        disk as the stages read it rather than held in memory whole); the
        hash covers the grid, the cache format and each file's path, size and
        modification time, so a changed file rebuilds the stack.
    progress : optional callable given short step names.

    Raises
    ------
    DataError
        one line naming the file and the problem, before anything is written.
    """
    t0 = time.perf_counter()
    path = cache_path(catalog, grid) if cache else None
    if path is not None and path.exists():
        _step(progress, "stack: cached")
        try:
            stack = load_cached_stack(path, grid, catalog.name, catalog.synthetic, _sources(catalog))
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("stack cache %s unreadable (%s); rebuilding", path, _short(exc))
        else:
            log.info("stack: cached (%s)", path.name)
            return stack
    if path is not None:
        try:
            stack = _build_cached(catalog, grid, progress, path)
        except OSError as exc:  # a read-only catalog folder, a full disk: build in memory instead
            log.warning("stack: could not write the cache %s (%s); building the stack in memory",
                        path, exc.strerror or exc)
        else:
            log.info("stack: built in %.1f s", time.perf_counter() - t0)
            return stack
    stack = _build(catalog, grid, progress, _Sink(grid.shape))
    log.info("stack: built in %.1f s", time.perf_counter() - t0)
    return stack


def _build_cached(catalog: Catalog, grid: Grid, progress: Progress, path: Path) -> Stack:
    """Build the stack straight into a temporary cache folder, rename it to ``path``, load it from there."""
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent))
    try:
        stack = _build(catalog, grid, progress, _Sink(grid.shape, tmp))
        _step(progress, "stack: caching")
        _save_cache(tmp, stack)
        del stack
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders
        if path.exists():  # a damaged or concurrent cache: replace it
            shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_cached_stack(path, grid, catalog.name, catalog.synthetic, _sources(catalog))


def _build(catalog: Catalog, grid: Grid, progress: Progress, sink: _Sink) -> Stack:
    # Every file is checked before any work: a catalog with a missing file fails at once.
    for entry in catalog.layers:
        check_file(entry)
    builtup_entries = catalog.by_role("builtup")
    if not builtup_entries:
        raise DataError(
            f"{catalog.path}: no built-up layer; add one (`expansion layers import {catalog.path} "
            "--role builtup FILE --year YEAR`)"
        )
    _step(progress, "boundary")
    study, boundary = _study_area(catalog, crs=grid.crs)
    if not study.intersects(box(*grid.bounds)):
        raise DataError(f"{catalog.by_role('boundary')[0].path_as_written}: the boundary lies outside "
                        "the analysis grid; check the scenario's 'crs'")
    inside = rasterize(shapely.get_parts(study), grid)
    if not inside.any():
        raise DataError(f"{catalog.by_role('boundary')[0].path_as_written}: the study area covers no cell "
                        f"centre of the {grid.res:g} m grid; use a finer 'resolution_m' in the scenario")

    builtup, present, ldsmt_water = _warp_builtup(builtup_entries, grid, study, progress, sink)
    present &= inside
    del inside
    if not present.any():
        raise DataError(f"{builtup_entries[0].path_as_written}: the built-up layers have no data inside "
                        "the boundary; check that they cover the study area")
    valid = sink.put("valid", present)
    del present

    dem = slope = None
    if catalog.by_role("dem"):
        _step(progress, "dem")
        dem = _warp_dem(catalog.by_role("dem"), grid, study, progress, sink)
        slope = sink.put("slope_pct", slope_percent(dem, grid.res, out=sink.new("slope_pct", "float32")))
    population = None
    if catalog.by_role("population"):
        _step(progress, "population")
        population = _warp_population(catalog.by_role("population"), grid, study, progress, sink)

    vectors = {"boundary": _geometry_only(boundary)}
    bbox = grid.bounds
    roads_mask = np.zeros(grid.shape, dtype=bool)
    arterial_mask = np.zeros(grid.shape, dtype=bool)
    if catalog.by_role("roads"):
        _step(progress, "roads")
        frames = [_roads_frame(e, read_vector(e, dst_crs=grid.crs, bbox=bbox))
                  for e in catalog.by_role("roads")]
        roads = _concat(frames, grid)
        vectors["roads"] = roads
        roads_mask = rasterize(roads.geometry.values, grid)
        arterial_mask = rasterize(roads.geometry.values[roads["road_class"].to_numpy() == "arterial"], grid)
    road_dist = sink.put("road_dist_m", distance_m(roads_mask, grid.res))
    arterial_dist = sink.put("arterial_dist_m", distance_m(arterial_mask, grid.res))
    del roads_mask, arterial_mask
    has_ldsmt_water = bool(ldsmt_water.any())
    water = ldsmt_water
    for role in ("water", "protected", "flood"):
        if catalog.by_role(role):
            _step(progress, role)
            frames = [_geometry_only(read_vector(e, dst_crs=grid.crs, bbox=bbox))
                      for e in catalog.by_role(role)]
            vectors[role] = _concat(frames, grid)
    if "water" in vectors:
        water |= rasterize(vectors["water"].geometry.values, grid)
    protected = sink.put("protected", rasterize(vectors["protected"].geometry.values, grid)
                         if "protected" in vectors else np.zeros(grid.shape, dtype=bool))
    flood = None
    if "flood" in vectors:
        flood = sink.put("flood", rasterize(vectors["flood"].geometry.values, grid))

    _step(progress, "distances")
    water_dist = sink.put("water_dist_m", distance_m(water, grid.res))
    hand = None
    if dem is not None:
        hand = sink.put("height_above_water_m",
                        height_above_water(water, dem, out=sink.new("height_above_water_m", "float32")))
    return Stack(
        grid=grid, name=catalog.name, synthetic=catalog.synthetic, valid=valid, builtup=builtup,
        water=sink.put("water", water), water_dist_m=water_dist, arterial_dist_m=arterial_dist,
        road_dist_m=road_dist, protected=protected, dem=sink.put("dem", dem) if dem is not None else None,
        slope_pct=slope, height_above_water_m=hand, flood=flood,
        population=sink.put("population", population) if population is not None else None,
        vectors=vectors, sources=_sources(catalog), has_roads=bool(catalog.by_role("roads")),
        has_water=bool(catalog.by_role("water")) or has_ldsmt_water,
    )


def _sources(catalog: Catalog) -> dict[str, list[str]]:
    sources: dict[str, list[str]] = {}
    for e in catalog.layers:
        sources.setdefault(e.role, []).append(e.path_as_written)
    return sources


def _concat(frames, grid: Grid):
    import geopandas as gpd
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=grid.crs)


# ================================================================ cache

_ARRAYS = ("valid", "water", "water_dist_m", "arterial_dist_m", "road_dist_m", "protected")
_OPTIONAL = ("dem", "slope_pct", "height_above_water_m", "flood", "population")


def _save_cache(folder: Path, stack: Stack) -> None:
    """Complete the cache folder ``folder`` (being written; renamed into place by
    the caller): one ``.npy`` per array not yet there, the vectors, and ``meta.json`` last.

    Vectors are stored as WKB (concatenated bytes and offsets) with their text
    columns, so the cache loads without pickle.
    """
    arrays = {name: getattr(stack, name) for name in _ARRAYS}
    arrays.update({name: getattr(stack, name) for name in _OPTIONAL if getattr(stack, name) is not None})
    for year, arr in stack.builtup.items():
        arrays[f"builtup_{year}"] = arr
    vec_meta = {}
    for role, gdf in stack.vectors.items():
        wkb = shapely.to_wkb(gdf.geometry.values)
        lengths = np.fromiter((len(b) for b in wkb), dtype="int64", count=len(wkb))
        arrays[f"vec_{role}_wkb"] = np.frombuffer(b"".join(wkb), dtype="uint8")
        arrays[f"vec_{role}_len"] = lengths
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        for c in cols:
            arrays[f"vec_{role}_col_{c}"] = np.asarray(gdf[c].astype(str).to_numpy(), dtype=str)
        vec_meta[role] = cols
    meta = {"version": CACHE_VERSION, "years": sorted(stack.builtup), "vectors": vec_meta,
            "has_roads": stack.has_roads, "has_water": stack.has_water, "arrays": sorted(arrays)}
    for name, arr in arrays.items():
        if not (folder / f"{name}.npy").exists():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")  # last: marks it complete


def load_cached_stack(path: Path, grid: Grid, name: str, synthetic: bool, sources: dict) -> Stack:
    """The stack cached in the folder ``path``; its grid arrays are read-only
    memory maps of the .npy files (pickled as their paths: see :class:`Stack`)."""
    import geopandas as gpd

    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != CACHE_VERSION:
        raise ValueError("old cache format")

    def load(name: str, mmap: bool = True) -> np.ndarray:
        return np.load(path / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    names = set(meta["arrays"])
    fields = {name: load(name) for name in _ARRAYS}
    fields.update({name: load(name) for name in _OPTIONAL if name in names})
    builtup = {int(y): load(f"builtup_{y}") for y in meta["years"]}
    vectors = {}
    for role, cols in meta["vectors"].items():
        buf = load(f"vec_{role}_wkb", mmap=False).tobytes()
        lengths = load(f"vec_{role}_len", mmap=False)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        geoms = shapely.from_wkb([buf[s:e] for s, e in zip(starts, ends)])
        data = {c: load(f"vec_{role}_col_{c}", mmap=False).astype(object) for c in cols}
        vectors[role] = gpd.GeoDataFrame(data, geometry=geoms, crs=grid.crs)
    for arr in (*fields.values(), *builtup.values()):
        if arr.shape != grid.shape:
            raise ValueError("cached arrays do not match the grid")
    return Stack(grid=grid, name=name, synthetic=synthetic, builtup=builtup, vectors=vectors,
                 sources=sources, has_roads=meta["has_roads"], has_water=meta["has_water"], **fields)


# Checking and importing live in their own module; re-exported here for the CLI.
from .catalog_check import (  # noqa: E402  (after the names catalog_check imports from here)
    check_catalog,
    check_problems,
    format_check_table,
    import_layer,
)

__all__ = ["build_stack", "cache_path", "check_catalog", "check_problems", "format_check_table",
           "grid_for", "import_layer", "read_vector", "rasterize", "distance_m", "slope_percent"]
