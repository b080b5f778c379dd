"""The legend box of a web map: colour bars, category swatches and line symbols, in escaped HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from ..palette import colour_ramp, hex_colour, parse_colour
from .labels import LabelLayer
from .raster import RasterLayer, value_range
from .vector import VectorLayer


def _fmt_tick(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.1f}"


def raster_legend(layer: RasterLayer) -> str:
    name = html.escape(layer.name)
    units = f'<div class="xp-units">{html.escape(layer.legend)}</div>' if layer.legend else ""
    if layer.categories is not None:
        rows = "".join(
            f'<div class="xp-row"><span class="xp-swatch" '
            f'style="background:{hex_colour(parse_colour(colour))}"></span>'
            f"{html.escape(str(label))}</div>"
            for label, colour in layer.categories.values()
        )
        return f'<div class="xp-name">{name}</div>{units}{rows}'
    vmin, vmax = value_range(layer)
    ramp = colour_ramp(layer.colormap, 11)
    stops = ", ".join(f"{hex_colour(c)} {k * 10}%" for k, c in enumerate(ramp))
    mid = (vmin + vmax) / 2
    ticks = "".join(f"<span>{html.escape(_fmt_tick(v))}</span>" for v in (vmin, mid, vmax))
    return (f'<div class="xp-name">{name}</div>{units}'
            f'<div class="xp-bar" style="background: linear-gradient(to right, {stops})"></div>'
            f'<div class="xp-ticks">{ticks}</div>')


def _swatch(style: Mapping[str, Any], line: bool) -> str:
    """A legend symbol drawn with a layer's Leaflet path style."""
    colour = hex_colour(parse_colour(str(style.get("color", "#3388ff"))))
    dashed = "dashed" if style.get("dashArray") else "solid"
    if line or not style.get("fill", True) or float(style.get("fillOpacity", 0.2)) <= 0:
        weight = max(1, min(6, int(round(float(style.get("weight", 3))))))
        return f'<span class="xp-line" style="border-top:{weight}px {dashed} {colour}"></span>'
    r, g, b = parse_colour(str(style.get("fillColor", style.get("color", "#3388ff"))))
    # the swatch shows the fill as drawn (faint fills stay faint), but never invisible
    alpha = min(1.0, max(0.15, float(style.get("fillOpacity", 0.2)) * 1.5))
    return (f'<span class="xp-swatch" style="background:rgba({r},{g},{b},{alpha:.2f});'
            f'border:2px {dashed} {colour}"></span>')


def vector_legend(layer: VectorLayer, data: dict) -> str:
    """Name, symbol(s) and units of a vector layer; a style that depends on the
    features shows each distinct style drawn (up to 8), or the layer's own labelled
    ``legend_items``, one row each."""
    types = {f["geometry"]["type"] for f in data["features"] if f.get("geometry")}
    line = bool(types) and types <= {"LineString", "MultiLineString"}
    if layer.legend_items:
        units = f'<div class="xp-units">{html.escape(layer.legend)}</div>' if layer.legend else ""
        rows = "".join(f'<div class="xp-row">{_swatch(st, line)}{html.escape(str(label))}</div>'
                       for st, label in layer.legend_items)
        return f'<div class="xp-name">{html.escape(layer.name)}</div>{units}{rows}'
    if isinstance(layer.style, Mapping):
        styles = [dict(layer.style)]
    else:
        styles, seen = [], set()
        for f in data["features"]:
            st = f["properties"].get("_style", {})
            key = json.dumps(st, sort_keys=True, default=str)
            if key not in seen and len(styles) < 8:
                seen.add(key)
                styles.append(st)
        styles = styles or [{}]
    symbols = "".join(_swatch(st, line) for st in styles)
    units = html.escape(layer.legend) if layer.legend else ""
    return f'<div class="xp-row">{symbols}<span class="xp-name">{html.escape(layer.name)}</span></div>' + (
        f'<div class="xp-units">{units}</div>' if units else "")




def label_legend(layer: LabelLayer) -> str:
    """Name and source of a label layer."""
    units = f'<div class="xp-units">{html.escape(layer.legend)}</div>' if layer.legend else ""
    return f'<div class="xp-row"><span class="xp-name">Aa {html.escape(layer.name)}</span></div>{units}'
