"""The one GeoPackage writer: the same layers give the same bytes.

GDAL stamps a GeoPackage with the current time (``gpkg_contents.last_change``)
unless ``OGR_CURRENT_DATE`` is set, and it sometimes commits once more while
creating a file, which changes the SQLite header's file-change counter and
"version-valid-for" number (about one write in six). So the date is pinned while
writing, the timestamps are set to a fixed value, the file is rebuilt with
``VACUUM``, and the two header counters are set to 1 at the end: neither means
anything to a file no other connection has open, and SQLite only asks that they
be equal.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd

#: GeoPackage version written: 1.2 opens without a warning in QGIS 3.22 / GDAL 3.6 (Debian 12),
#: which say a 1.4 file "may only be partially supported"; the layers need nothing newer.
VERSION = "1.2"

#: Every timestamp in a GeoPackage this project writes.
FIXED_TIME = "2000-01-01T00:00:00.000Z"

# SQLite file header: the file change counter (offset 24) and the version-valid-for number (offset 92),
# both 4-byte big-endian integers (https://www.sqlite.org/fileformat.html, section 1.3).
_COUNTER_OFFSETS = (24, 92)


@contextlib.contextmanager
def pinned_date() -> Iterator[None]:
    """Set GDAL's ``OGR_CURRENT_DATE`` to :data:`FIXED_TIME` for the duration."""
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_TIME})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_gpkg(path: str | Path, layers: Sequence[tuple[str, gpd.GeoDataFrame, str | None]], *,
               styles: Mapping[str, tuple[str, str]] | None = None, crs=None, **options) -> Path:
    """Write ``layers`` to a new GeoPackage (version :data:`VERSION`) at ``path``, byte for
    byte reproducibly.

    Parameters
    ----------
    path : the file; an existing one is replaced.
    layers : ``(name, frame, geometry_type)`` in the order they are written; ``geometry_type``
        as pyogrio takes it (``"MultiPolygon"``, ``"LineString"``; None to let GDAL choose).
        Multi types promote single parts. A frame without a CRS gets ``crs``.
    styles : layer name -> ``(title, QML)``, written to the ``layer_styles`` table that QGIS reads
        as each layer's default style.
    options : GDAL layer creation options passed to every layer (e.g. ``SPATIAL_INDEX="NO"``).
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    with pinned_date():
        for i, (name, gdf, geometry_type) in enumerate(layers):
            if gdf.crs is None and crs is not None:
                gdf = gdf.set_crs(crs)
            kw = dict(options)
            if i == 0:  # a dataset creation option: given when the file is created
                kw["dataset_options"] = {"VERSION": VERSION}
            if geometry_type is not None:
                kw.update(geometry_type=geometry_type, promote_to_multi=geometry_type.startswith("Multi"))
            gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio", **kw)
    con = sqlite3.connect(path)
    try:
        with con:
            if styles:
                _write_styles(con, styles)
            con.execute("UPDATE gpkg_contents SET last_change = ?", (FIXED_TIME,))
        con.execute("VACUUM")
    finally:
        con.close()
    _reset_header_counters(path)
    return path


def _write_styles(con: sqlite3.Connection, styles: Mapping[str, tuple[str, str]]) -> None:
    con.execute("""CREATE TABLE "layer_styles" (
        "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT(256),
        "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
        "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN,
        "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), "update_time" DATETIME)""")
    for layer, (title, qml) in styles.items():
        geom_col = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                               (layer,)).fetchone()[0]
        con.execute(
            'INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, '
            'f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, '
            'update_time) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?)',
            ("", "", layer, geom_col, layer, qml, "", title, "", FIXED_TIME))
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
                "'QGIS layer styles', ?)", (FIXED_TIME,))


def _reset_header_counters(path: Path) -> None:
    with open(path, "r+b") as f:
        for offset in _COUNTER_OFFSETS:
            f.seek(offset)
            f.write(struct.pack(">I", 1))
