"""Vector layers drawn on the web maps: GeoJSON in EPSG:4326 with escaped tooltips."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import DataError
from ...grid import require_crs
from .raster import LONLAT


@dataclass(frozen=True)
class VectorLayer:
    """Vector features drawn as GeoJSON with a tooltip.

    Parameters
    ----------
    name : the layer's name in the layer control and the legend.
    gdf : a GeoDataFrame in any CRS (it must have one); converted to
        EPSG:4326 only for drawing.
    style : Leaflet path options (``{"color": "#b30000", "weight": 2,
        "fillOpacity": 0.3}``), or a function of a feature's properties
        returning them.
    tooltip_fields : columns shown when hovering a feature: a sequence of
        column names, or ``{column: label}``.
    legend : what the features are ("arterial roads, 30 m right-of-way").
    show : shown when the page opens.
    legend_items : (Leaflet path style, label) rows the legend lists, one symbol each,
        for a style that depends on the features (by default the legend shows the
        distinct styles drawn, unlabelled).
    """

    name: str
    gdf: Any
    style: Mapping[str, Any] | Callable[[dict], Mapping[str, Any]]
    tooltip_fields: Sequence[str] | Mapping[str, str] = ()
    legend: str = ""
    show: bool = True
    legend_items: Sequence[tuple[Mapping[str, Any], str]] = ()


# ---------------------------------------------------------------- vectors


def _cell(value: Any) -> str:
    """A property value as escaped tooltip text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    return html.escape(str(value))


def tooltip_items(layer: VectorLayer) -> list[tuple[str, str]]:
    fields = layer.tooltip_fields
    if isinstance(fields, Mapping):
        return [(str(k), str(v)) for k, v in fields.items()]
    return [(str(f), str(f)) for f in fields]


def vector_geojson(layer: VectorLayer, decimals: int = 6) -> dict:
    """The layer as a GeoJSON FeatureCollection in EPSG:4326 (lon/lat).

    Only the tooltip fields are kept, as escaped text under the keys ``f0``,
    ``f1`` ...; coordinates are rounded to ``decimals`` (6 decimals is about
    0.1 m).
    """
    import shapely

    gdf = layer.gdf
    require_crs(gdf.crs, f"map layer '{layer.name}'")
    items = tooltip_items(layer)
    missing = [f for f, _ in items if f not in gdf.columns]
    if missing:
        raise DataError(f"map layer '{layer.name}': no column {', '.join(missing)} for the tooltip; "
                        f"columns are {', '.join(map(str, gdf.columns))}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    geoms = shapely.transform(gdf.geometry.to_crs(LONLAT).values,
                              lambda xy: np.round(xy, decimals))
    # Columns are taken out of the frame once: indexing a GeoDataFrame per feature
    # (gdf[field].iloc[i]) cost about 0.1 ms a value, most of a map's time on big regions.
    columns = {field: gdf[field].to_numpy() for field in gdf.columns if field != gdf.geometry.name}
    tips = [(f"f{k}", columns[field]) for k, (field, _) in enumerate(items)]
    texts = shapely.to_geojson(np.asarray(geoms, dtype=object)) if len(geoms) else []
    features = []
    for i, text in enumerate(texts):
        props = {key: _cell(col[i]) for key, col in tips}
        if callable(layer.style):
            raw = {field: col[i] for field, col in columns.items()}
            props["_style"] = dict(layer.style(raw))
        features.append({"type": "Feature", "id": i, "properties": props, "geometry": json.loads(text)})
    return {"type": "FeatureCollection", "features": features}


