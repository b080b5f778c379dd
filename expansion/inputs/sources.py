"""Opening input files: existence, rasters and their nodata policy, footprints, cell areas.

Shared by every reader of :mod:`expansion.inputs`; errors are one-line
:class:`expansion.errors.DataError` naming the layer as the catalog writes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import box

from ..config import MASK_ROLES, RASTER_ROLES, CatalogLayer
from ..errors import DataError

OSM_SUFFIXES = (".osm.pbf", ".osm")

#: File endings read as rasters in the mask roles (boundary, water, protected, flood: a raster or vectors).
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2", ".bil", ".hgt", ".adf", ".rst",
                   ".sdat")

#: Files that belong with a raster or vector file (georeferencing, statistics, overviews, attribute
#: tables, shapefile parts), as endings after the file's stem or after its whole name.
SIDECAR_ENDINGS = (".tfw", ".tifw", ".tiffw", ".wld", ".jgw", ".pgw", ".prj", ".aux.xml", ".aux", ".ovr",
                   ".rrd", ".vat.dbf", ".msk", ".xml", ".cpg", ".qml", ".qmd")
#: A callable given short step names while the stack is built (or None).
Progress = Callable[[str], None] | None


def step(progress: Progress, name: str) -> None:
    if progress is not None:
        progress(name)


def label(entry: CatalogLayer) -> str:
    """How errors name a layer: its path as written in the catalog."""
    return entry.path_as_written


def check_file(entry: CatalogLayer) -> None:
    """Raise DataError unless the entry's file exists and is a file."""
    path = entry.path
    if not path.exists():
        raise DataError(
            f"{label(entry)}: file not found (resolved: {path}); fix its 'path' in the "
            "catalog (paths are relative to layers.toml) or put the file there"
        )
    if path.is_dir():
        raise DataError(
            f"{label(entry)}: is a directory ({path}), not a file; give the file inside it "
            "(e.g. the .tif, .gpkg or .shp)"
        )


def is_osm(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def is_raster(entry: CatalogLayer) -> bool:
    """Whether ``entry`` is read as a raster: always in the raster roles, by its file
    ending in the mask roles (a raster mask or vectors)."""
    if entry.role in RASTER_ROLES:
        return True
    return entry.role in MASK_ROLES and entry.path.name.lower().endswith(RASTER_SUFFIXES)


def raster_errors() -> tuple[type[BaseException], ...]:
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    return (RasterioError, CPLE_BaseError, OSError)


def open_raster(entry: CatalogLayer):
    """Open the entry's raster (a rasterio dataset); DataError if it cannot be."""
    import rasterio

    check_file(entry)
    try:
        ds = rasterio.open(entry.path)
    except raster_errors() as exc:
        raise DataError(
            f"{label(entry)}: cannot be read as a raster ({short_error(exc)}); check that it is a "
            "complete GeoTIFF (e.g. `gdalinfo` it, or download it again)"
        ) from None
    if ds.count < 1:
        ds.close()
        raise DataError(f"{label(entry)}: has no raster bands")
    if entry.band is not None and entry.band > ds.count:
        ds.close()
        raise DataError(f"{label(entry)}: has {ds.count} band(s), no band {entry.band}; "
                        "fix 'band' in the catalog")
    return ds


def band_of(entry: CatalogLayer) -> int:
    """The band read from the entry's raster (1-based): its ``band``, else 1."""
    return entry.band if entry.band is not None else 1


def band_warning(entry: CatalogLayer, ds) -> str | None:
    """A warning for a multi-band raster whose catalog entry does not choose a band."""
    if ds.count > 1 and entry.band is None:
        return (f"{label(entry)}: has {ds.count} bands and band 1 is read; if another band holds the "
                f"{entry.role} layer, set 'band' in the catalog")
    return None


def raster_names(entry: CatalogLayer, ds) -> tuple[str, ...]:
    """The file's name and the description of the band read (what a sanity check may read
    the layer's meaning from, e.g. "population")."""
    return (entry.path.name, ds.descriptions[band_of(entry) - 1] or "")


def short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def raster_nodata(entry: CatalogLayer, ds):
    """The nodata value of the entry's raster (catalog override first), checked
    against the band's data type. None when there is none."""
    band = band_of(entry)
    value = entry.nodata if entry.nodata is not None else ds.nodatavals[band - 1]
    if value is None and entry.nodata is None:
        value = _declared_nodata(ds, band)
    if value is None:
        return None
    dtype = np.dtype(ds.dtypes[band - 1])
    if not value_fits(value, dtype):
        where = "the catalog's 'nodata'" if entry.nodata is not None else "its nodata tag"
        raise DataError(
            f"{label(entry)}: nodata value {value:g} ({where}) does not fit its data type {dtype}; "
            "fix it (`gdal_edit.py -a_nodata VALUE`) or set a fitting 'nodata' in the catalog"
        )
    return dtype.type(value) if dtype.kind in "iu" else value


def _declared_nodata(ds, band: int = 1) -> float | None:
    """The band's nodata value as the file declares it, even when it does not fit the dtype.

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
            band = ET.fromstring(mem.read()).find(f"VRTRasterBand[@band='{band}']")
        text = band.findtext("NoDataValue") if band is not None else None
        return None if text is None else float(text)
    except Exception:  # no VRT description: keep what rasterio reported
        return None


def present_mask(data: np.ndarray, nodata) -> np.ndarray:
    """Bool: the cells of ``data`` that hold data (not ``nodata``, not NaN)."""
    if nodata is None:
        present = np.ones(data.shape, dtype=bool)
    elif isinstance(nodata, float) and math.isnan(nodata):
        present = ~np.isnan(data)
    else:
        present = data != nodata
    if data.dtype.kind == "f":
        present &= ~np.isnan(data)
    return present


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


def pixel_area_m2(crs, transform, rows: int, cols: int) -> np.ndarray:
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


def sidecars(file: Path) -> list[Path]:
    """The files that go with ``file``, then the file itself: for a shapefile every file
    with its stem (.shx .dbf .prj .cpg .sbn ...), for any file ``stem`` + or ``name`` +
    one of :data:`SIDECAR_ENDINGS` (``x.tfw``, ``x.tif.aux.xml``, ``x.tif.ovr``, ``x.vat.dbf`` ...)."""
    stem = file.name[: -len(file.suffix)] if file.suffix else file.name
    out = []
    for p in sorted(file.parent.iterdir()):
        if not p.is_file() or p == file:
            continue
        name = p.name.lower()
        if file.suffix.lower() == ".shp" and p.name.startswith(stem + "."):
            out.append(p)
        elif any(name == (base + end).lower() for base in (stem, file.name) for end in SIDECAR_ENDINGS):
            out.append(p)
    return out + [file]
