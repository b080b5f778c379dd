"""Checking a catalog's layers (``expansion layers check``).

:func:`check_catalog` opens every layer of a catalog and reports, one row per
layer, its CRS, resolution, nodata, overlap with the study area and problems.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyproj
import shapely

from ..config import MASK_ROLES, Catalog, CatalogLayer
from ..errors import DataError, ExpansionError
from ..grid import utm_crs_for
from .encodings import LDSMT_EPOCHS, YEAR_MIN, binary_problem
from .masks import cells_in
from .sanity import builtup_share_warning, dem_problem, dem_warning
from .sources import (
    band_of,
    band_warning,
    check_file,
    footprint,
    is_osm,
    is_raster,
    open_raster,
    present_mask,
    raster_names,
    raster_nodata,
    short_error,
)
from .vectors import OSM_QUERIES, class_values_text, roads_frame, study_area

REQUIRED_ROLES = ("boundary", "builtup")

# A raster covering less than this share of the study area gets a note.
_FULL_COVER_PCT = 99.5

_COLUMNS = (("role", "role"), ("file", "file"), ("year", "year"), ("crs", "CRS"),
            ("resolution", "resolution"), ("overlap_pct", "overlap"), ("nodata", "nodata"),
            ("problems", "problems"), ("notes", "notes"))


# ================================================================ check


def study_for_check(catalog: Catalog):
    """(study area polygon in a local UTM CRS, that CRS, problem or None)."""
    try:
        union, _ = study_area(catalog, crs="EPSG:4326")
    except ExpansionError as exc:
        return None, None, str(exc)
    c = union.centroid
    crs = utm_crs_for(c.x, c.y)
    t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(union, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))), crs, None


def _years_text(entry: CatalogLayer) -> str:
    if entry.encoding == "ghsl-ldsmt":
        return ",".join(str(y) for y in LDSMT_EPOCHS)
    if entry.encoding == "year":
        return ",".join(str(y) for y in entry.years)
    return "" if entry.year is None else str(entry.year)


def _cell_m(crs, res: tuple[float, float], bounds) -> float:
    """The approximate side of a cell in metres (degrees converted at the raster's middle latitude)."""
    c = pyproj.CRS.from_user_input(crs)
    if c.is_geographic:
        lat = math.radians((bounds[1] + bounds[3]) / 2)
        return math.sqrt(res[0] * 111_320.0 * math.cos(lat) * res[1] * 110_574.0)
    return res[0] * (c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0)


def _resolution_text(crs, res: tuple[float, float], bounds) -> str:
    c = pyproj.CRS.from_user_input(crs)
    if c.is_geographic:
        return f"{res[0]:.6g}° (~{_cell_m(crs, res, bounds):.0f} m)"
    unit = c.axis_info[0].unit_conversion_factor if c.axis_info else 1.0
    if abs(unit - 1.0) < 1e-12:
        return f"{res[0]:g} m"
    return f"{res[0]:g} {c.axis_info[0].unit_name} (~{res[0] * unit:.0f} m)"


def _crs_text(crs) -> str:
    c = pyproj.CRS.from_user_input(crs)
    auth = c.to_authority(min_confidence=70)
    return f"{auth[0]}:{auth[1]}" if auth else c.name


def inspect_layer(entry: CatalogLayer, study=None, study_crs=None) -> dict:
    """One row of the check table for ``entry`` (see :func:`check_catalog`).

    Parameters
    ----------
    entry : the catalog entry.
    study : the study area polygon, in ``study_crs`` (metres), or None.
    study_crs : a projected CRS in metres.
    """
    row = {"role": entry.role, "file": entry.path_as_written, "year": _years_text(entry), "crs": "",
           "resolution": "", "overlap_pct": None, "nodata": "", "problems": [], "notes": []}
    try:
        check_file(entry)
    except DataError as exc:
        row["problems"].append(strip_label(exc, entry))
        return row
    try:
        if is_raster(entry):
            _inspect_raster(entry, row, study, study_crs)
        else:
            _inspect_vector(entry, row, study, study_crs)
    except ExpansionError as exc:
        row["problems"].append(strip_label(exc, entry))
    return row


def strip_label(exc: BaseException, entry: CatalogLayer) -> str:
    """The message without the leading file name (the row already shows it)."""
    text = str(exc)
    prefix = f"{entry.path_as_written}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _overlap(row: dict, fp, study, raster: bool) -> None:
    if study is None or study.area <= 0:
        return
    pct = 100.0 * fp.intersection(study).area / study.area
    row["overlap_pct"] = pct
    if pct <= 0:
        row["problems"].append("does not overlap the study area (check its CRS and extent)")
    elif raster and pct < _FULL_COVER_PCT:
        row["notes"].append(f"covers {pct:.0f} % of the study area")


def _inspect_raster(entry: CatalogLayer, row: dict, study, study_crs) -> None:
    if is_osm(entry.path) or _looks_vector(entry.path):
        raise DataError(f"is a vector file; role '{entry.role}' needs a raster (e.g. GeoTIFF)")
    with open_raster(entry) as ds:
        if ds.crs is None:
            row["problems"].append("has no CRS; set one (`gdal_edit.py -a_srs EPSG:XXXX`)")
            return
        row["crs"] = _crs_text(ds.crs)
        row["resolution"] = _resolution_text(ds.crs, ds.res, tuple(ds.bounds))
        nodata = raster_nodata(entry, ds)  # DataError when it does not fit the dtype
        row["nodata"] = "" if nodata is None else f"{float(nodata):g}"
        if entry.encoding == "ghsl-ldsmt" and nodata is None:
            row["nodata"] = "0 (code)"
        if study is not None:
            _overlap(row, footprint(tuple(ds.bounds), ds.crs, study_crs), study, raster=True)
        note = band_warning(entry, ds)
        if note:
            row["notes"].append(strip_label(note, entry))
        # A decimated read (at most ~1000 cells a side) to spot empty or wrongly coded rasters.
        step = max(1, math.ceil(max(ds.width, ds.height) / 1000))
        shape = (max(1, ds.height // step), max(1, ds.width // step))
        spacing_m = _cell_m(ds.crs, ds.res, tuple(ds.bounds)) * ds.width / shape[1]
        names = raster_names(entry, ds)
        try:
            sample = ds.read(band_of(entry), out_shape=shape)
        except Exception as exc:  # rasterio/GDAL errors on truncated files
            raise DataError(f"cannot be read ({short_error(exc)}); the file may be truncated or damaged") \
                from None
    present = present_mask(sample, nodata)
    if entry.encoding == "ghsl-ldsmt":
        present &= sample != 0
        bad = np.setdiff1d(np.unique(sample[present]), np.arange(7))
        if bad.size:
            row["problems"].append(f"values {', '.join(f'{v:g}' for v in bad[:5])} are not LDSMT codes 0–6")
    if not present.any():
        row["problems"].append("has only nodata (check its nodata value)")
        return
    _check_values(entry, row, sample, present, spacing_m, nodata, names)


def _check_values(entry: CatalogLayer, row: dict, sample: np.ndarray, present: np.ndarray, spacing_m: float,
                  nodata, names: tuple[str, ...] = ()) -> None:
    """Problems and notes from a decimated sample of a raster (``present``: not nodata;
    ``names``: the file's name and band description)."""
    values = np.unique(sample[present][:: max(1, int(present.sum()) // 200_000)])
    shown = ", ".join(f"{v:g}" for v in values[:12]) + (", ..." if values.size > 12 else "")
    if entry.role == "dem":
        problem = dem_problem(np.where(present, sample, np.nan), spacing_m, names)
        if problem:
            row["notes"].append(strip_label(dem_warning(entry.path_as_written, problem), entry))
    elif entry.role in MASK_ROLES:
        share = float(cells_in(entry, sample, nodata).mean())
        if share == 0:
            hint = " or a lower 'threshold'" if entry.role == "flood" else ""
            row["problems"].append(f"no cell is in the mask (its values: {shown}); set 'values' to the "
                                   f"codes that are in{hint}")
        else:
            row["notes"].append(f"{100 * share:.0f} % of its cells are in")
    elif entry.role == "builtup":
        enc = entry.encoding
        if enc == "binary" and values.size > 2:
            row["problems"].append(binary_problem(values))
            return
        if enc == "classes" and not np.isin(values, np.asarray(entry.values)).any():
            wanted = ", ".join(f"{v:g}" for v in entry.values)
            row["problems"].append(f"none of its values is in 'values' ({wanted}); its values are {shown}")
            return
        if enc == "year":
            years = values[values >= YEAR_MIN]
            if not years.size:
                row["problems"].append(f"no value is a year (its values: {shown}); encoding \"year\" needs "
                                       "the year each cell was first built")
                return
            row["notes"].append(f"first built {years.min():g}–{years.max():g}")
        if enc in ("binary", "classes"):
            built = sample != 0 if enc == "binary" else np.isin(sample, np.asarray(entry.values))
            note = builtup_share_warning(entry.path_as_written, entry.year,
                                         float((built & present).sum() / present.sum()))
            if note:
                row["notes"].append(strip_label(note, entry).replace(" of the study area", " of its cells"))


def _looks_vector(path: Path) -> bool:
    return path.suffix.lower() in (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".kml", ".gml")


def _inspect_vector(entry: CatalogLayer, row: dict, study, study_crs) -> None:
    import pyogrio

    if entry.path.suffix.lower() in (".tif", ".tiff", ".vrt", ".img", ".nc"):
        raise DataError(f"is a raster; role '{entry.role}' needs a vector layer (GeoPackage, Shapefile, "
                        "GeoJSON or OpenStreetMap .osm.pbf)")
    if is_osm(entry.path):
        if entry.role not in OSM_QUERIES:
            raise DataError(f"role '{entry.role}' cannot be read from OpenStreetMap data; "
                            "export it as a GeoPackage")
        layers = sorted({q[0] for q in OSM_QUERIES[entry.role]})
    else:
        try:
            names = [str(n) for n in pyogrio.list_layers(entry.path)[:, 0]]
        except Exception as exc:
            raise DataError(f"cannot be read as a vector layer ({short_error(exc)})") from None
        if entry.layer is not None and entry.layer not in names:
            raise DataError(f"has no layer '{entry.layer}'; its layers are: {', '.join(names)}")
        if entry.layer is None and len(names) > 1:
            raise DataError(f"has {len(names)} layers ({', '.join(names)}); set 'layer' in the catalog")
        layers = [entry.layer if entry.layer is not None else names[0]]
    fp = None
    for layer in layers:
        try:
            info = pyogrio.read_info(entry.path, layer=layer, force_total_bounds=True)
        except Exception as exc:
            raise DataError(f"cannot be read as a vector layer ({short_error(exc)})") from None
        if info.get("crs") is None:
            row["problems"].append("has no CRS; set one (QGIS: Layer > Set CRS) and save again")
            return
        row["crs"] = _crs_text(info["crs"])
        fields = [str(f) for f in info.get("fields", [])]
        if entry.role == "roads":
            fld = entry.class_field or "highway"
            if fld not in fields:
                row["problems"].append(f"no field '{fld}' to class roads by (fields: {', '.join(fields)}); "
                                       "set 'class_field'")
            elif info.get("features") and not is_osm(entry.path):
                _note_arterials(entry, layer, fld, row)
        if entry.role == "places" and "name" not in fields and not is_osm(entry.path):
            row["problems"].append(f"no field 'name' (fields: {', '.join(fields)}); name the field of the "
                                   "place names 'name'")
        if entry.role == "boundary":
            gtype = str(info.get("geometry_type") or "")
            if gtype and "polygon" not in gtype.lower() and gtype.lower() != "unknown":
                row["problems"].append(f"has {gtype} geometries; the boundary must be polygons")
        bounds = info.get("total_bounds")
        if bounds is not None and all(np.isfinite(bounds)) and study is not None:
            part = footprint(tuple(float(b) for b in bounds), info["crs"], study_crs)
            fp = part if fp is None else fp.union(part)
        if not info.get("features"):
            row["notes"].append(f"layer '{layer}' is empty" if len(layers) > 1 else "has no features")
    row["resolution"] = "vector"
    if fp is not None and entry.role != "boundary":
        _overlap(row, fp, study, raster=False)
    elif entry.role == "boundary" and study is not None:
        row["overlap_pct"] = 100.0


def _note_arterials(entry: CatalogLayer, layer: str, fld: str, row: dict) -> None:
    """A note when no road of the layer is arterial by its class field."""
    import pyogrio

    gdf = pyogrio.read_dataframe(entry.path, layer=layer, columns=[fld], read_geometry=False)
    gdf["geometry"] = None
    classes = roads_frame(entry, gdf.set_geometry("geometry"))
    if not (classes["road_class"] == "arterial").any():
        values = class_values_text(classes["highway"])
        row["notes"].append(f"no road is arterial (its '{fld}' values are {values}); set 'arterial_values' "
                            "(`--arterial-values`) to the values of the main roads")


def check_catalog(catalog: Catalog) -> list[dict]:
    """Open every layer of ``catalog`` and describe it, one row per layer.

    Returns
    -------
    list of dict with keys ``role``, ``file`` (as written in the catalog),
    ``year`` (the year, or the epochs of an LDSMT layer), ``crs``,
    ``resolution`` (native units, and approximate metres for degrees),
    ``overlap_pct`` (share of the boundary's area inside the layer's extent,
    %, None when unknown), ``nodata``, ``problems`` (short strings; empty when
    fine) and ``notes`` (remarks that do not stop a run, e.g. partial cover).
    """
    study, study_crs, problem = study_for_check(catalog)
    rows = []
    for entry in catalog.layers:
        row = inspect_layer(entry, study, study_crs)
        if entry.role == "boundary" and problem and not row["problems"]:
            row["problems"].append(problem)
        rows.append(row)
    return rows


def check_problems(catalog: Catalog, rows: list[dict]) -> list[str]:
    """The problems that make ``expansion layers check`` fail: a required role
    (boundary, builtup) missing, or a problem on a layer of a required role."""
    out = []
    for role in REQUIRED_ROLES:
        if not any(r["role"] == role for r in rows):
            out.append(f"no {role} layer (add one with `expansion layers import {catalog.path} "
                       f"--role {role} FILE`)")
    for r in rows:
        if r["role"] in REQUIRED_ROLES:
            out.extend(f"{r['file']}: {p}" for p in r["problems"])
    return out


def format_check_table(rows: list[dict]) -> str:
    """``rows`` from :func:`check_catalog` as a plain text table with aligned columns."""
    def cell(row, key):
        v = row.get(key)
        if key == "overlap_pct":
            return "" if v is None else f"{v:.0f} %"
        if key == "problems":
            return "; ".join(v) if v else "ok"
        if key == "notes":
            return "; ".join(v) if v else ""
        return "" if v is None else str(v)

    table = [[title for _, title in _COLUMNS]] + [[cell(r, key) for key, _ in _COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
