"""Vector layers: GeoPackage, Shapefile, GeoJSON and OpenStreetMap files, read and repaired.

Also the study area (the union of the boundary layers), the roads' classes and
the named places. A raster in a mask role is read as the polygons of its cells
that are in (:mod:`expansion.inputs.masks`).
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

from ..config import Catalog, CatalogLayer
from ..errors import DataError
from ..grid import Grid, require_crs
from ..stack import ARTERIAL_HIGHWAYS_WITH_LINKS
from .masks import read_raster_mask
from .sources import check_file, is_osm, is_raster, label, short_error

log = logging.getLogger(__name__)

# Which OSM features make each vector role (OSM driver layers and SQL filters).
OSM_QUERIES = {
    "roads": [("lines", "highway IS NOT NULL")],
    "water": [("lines", "waterway IS NOT NULL"), ("multipolygons", "natural = 'water'")],
    "protected": [("multipolygons",
                   "boundary = 'protected_area' OR leisure IN ('park', 'nature_reserve') OR "
                   "landuse IN ('forest', 'military') OR natural = 'wood' OR aeroway = 'aerodrome'")],
    "places": [("points", "place IS NOT NULL AND name IS NOT NULL")],
}


def read_vector(entry: CatalogLayer, dst_crs=None, bbox: tuple[float, float, float, float] | None = None):
    """Read a vector layer (GeoDataFrame), repaired, in ``dst_crs`` if given.

    Parameters
    ----------
    entry : the catalog entry (GeoPackage with optional ``layer``, Shapefile,
        GeoJSON, or OpenStreetMap ``.osm.pbf`` / ``.osm``; a raster in a mask
        role gives the polygons of its cells that are in).
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
    if is_raster(entry):
        return _repair(read_raster_mask(entry, dst_crs=dst_crs, bbox=bbox), label(entry))
    where = label(entry)
    osm = is_osm(entry.path)
    if osm:
        if entry.role not in OSM_QUERIES:
            raise DataError(
                f"{where}: role '{entry.role}' cannot be read from OpenStreetMap data; "
                f"OSM files serve {', '.join(OSM_QUERIES)} — export the {entry.role} as a GeoPackage"
            )
        queries = OSM_QUERIES[entry.role]
        if entry.role == "roads" and entry.class_field not in (None, "highway"):
            raise DataError(f"{where}: OSM roads are classed by 'highway'; remove 'class_field' "
                            f"({entry.class_field!r}) from the catalog")
    else:
        try:
            names = [str(n) for n in pyogrio.list_layers(entry.path)[:, 0]]
        except Exception as exc:  # pyogrio.errors.DataSourceError and friends
            raise DataError(f"{where}: cannot be read as a vector layer ({short_error(exc)}); "
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
            raise DataError(f"{where}: cannot be read as a vector layer ({short_error(exc)})") from None
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
            raise DataError(f"{where}: cannot be read ({short_error(exc)}); check the file in QGIS") from None
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


def roads_frame(entry: CatalogLayer, gdf):
    """Roads with columns ``highway`` (the class field, as text, lower case), ``road_class``
    ("arterial" when the class is in the entry's ``arterial_values``, by default
    OpenStreetMap's arterial classes; else "local") and ``name`` when the source has one."""
    import geopandas as gpd

    fld = entry.class_field or "highway"
    if fld not in gdf.columns:
        fields = [c for c in gdf.columns if c != gdf.geometry.name]
        raise DataError(
            f"{label(entry)}: roads layer has no field '{fld}' to class roads by; its fields are: "
            f"{', '.join(fields) or '(none)'} — set 'class_field' in the catalog to one of them"
        )
    highway = _as_text(gdf[fld]).str.lower()
    arterial = ARTERIAL_HIGHWAYS_WITH_LINKS if entry.arterial_values is None else \
        [v.strip().lower() for v in entry.arterial_values]
    road_class = np.where(highway.isin(arterial), "arterial", "local")
    columns = {"highway": highway.to_numpy(dtype=object), "road_class": road_class}
    if "name" in gdf.columns:
        columns["name"] = _as_text(gdf["name"]).to_numpy(dtype=object)
    return gpd.GeoDataFrame(columns, geometry=gdf.geometry.values, crs=gdf.crs)


def class_values_text(highway) -> str:
    """A roads frame's class values for messages: up to 8 distinct ones, sorted; features
    without a class ("") are counted, not shown as an empty value."""
    named = sorted({v for v in highway if v})
    text = ", ".join(named[:8]) + (", ..." if len(named) > 8 else "") if named else "all empty"
    blank = sum(1 for v in highway if not v)
    return text + (f"; {blank} feature{'s' if blank > 1 else ''} without one" if blank else "")


def _as_text(column):
    """A column as stripped text ("" for missing); whole-number floats lose their ".0"
    (a Shapefile's numeric class codes read as 3.0 match "3")."""
    import pandas as pd

    if pd.api.types.is_float_dtype(column):
        whole = column.notna() & (column == column.round())
        column = column.astype(object).where(~whole, column.fillna(0).astype("int64"))
    return column.astype("string").fillna("").str.strip()


def places_frame(entry: CatalogLayer, gdf):
    """Named places: points with columns ``name`` and ``place`` (OpenStreetMap's kind of
    place, "" when the source has none); polygons give their representative point."""
    import geopandas as gpd

    if "name" not in gdf.columns:
        fields = [c for c in gdf.columns if c != gdf.geometry.name]
        raise DataError(f"{label(entry)}: places layer has no field 'name'; its fields are: "
                        f"{', '.join(fields) or '(none)'} — name the field of the place names 'name'")
    names = _as_text(gdf["name"])
    keep = (names != "").to_numpy()
    kind = _as_text(gdf["place"]) if "place" in gdf.columns else names.where(names == "", "")
    points = shapely.point_on_surface(gdf.geometry.values[keep])
    return gpd.GeoDataFrame({"name": names[keep].to_numpy(dtype=object),
                             "place": kind[keep].str.lower().to_numpy(dtype=object)},
                            geometry=points, crs=gdf.crs)


def geometry_only(gdf):
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs)



def study_area(catalog: Catalog, crs=None):
    """The union of the boundary layers (shapely geometry) and their frame, in ``crs``."""
    import geopandas as gpd
    import pandas as pd

    entries = catalog.by_role("boundary")
    if not entries:
        raise DataError(f"{catalog.path}: no boundary layer; the study area boundary is required")
    frames = [geometry_only(read_vector(e, dst_crs=crs)) for e in entries]
    gdf = frames[0] if len(frames) == 1 else gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    areal = gdf[shapely.get_type_id(gdf.geometry.values) != 7]
    union = shapely.union_all(shapely.get_parts(areal.geometry.values)) if len(areal) else None
    if union is None or union.is_empty or union.area <= 0:
        raise DataError(f"{entries[0].path_as_written}: the boundary has no polygon with an area; "
                        "give the study area as a polygon layer")
    return union, gdf



def concat_frames(frames, grid: Grid):
    import geopandas as gpd
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=grid.crs)
