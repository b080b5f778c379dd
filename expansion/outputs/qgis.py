"""QGIS styles (QML) for the outputs of a run folder.

Rasters: QGIS loads ``name.qml`` beside ``name.tif`` as the layer's default
style, so every raster opens coloured with a legend, as on the HTML maps.
Vectors: :func:`plan_layer_styles` go into ``plan.gpkg``'s ``layer_styles`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from . import palette as pal
from .palette import colour_ramp, hex_colour, parse_colour


def raster_qml(items: Sequence[tuple[float, str, str]], ramp: str = "INTERPOLATED",
               vmin: float | None = None, vmax: float | None = None, opacity: float = 1.0) -> str:
    """A singleband pseudocolour QML.

    Parameters
    ----------
    items : (value, '#rrggbb' colour, label), ascending by value; a colour of None
        leaves the values it stands for undrawn (transparent).
    ramp : "INTERPOLATED" (continuous values), "EXACT" (categories) or "DISCRETE"
        (classes: each item colours the values up to its own).
    vmin, vmax : classification range; default the first and last values.
    """
    lo = items[0][0] if vmin is None else vmin
    hi = items[-1][0] if vmax is None else vmax
    mode = 1 if ramp == "INTERPOLATED" else 2  # QGIS: continuous, else equal interval
    rows = "\n".join(
        f'          <item alpha="{0 if colour is None else 255}" value="{value:g}" label="{escape(label)}" '
        f'color="{colour or "#ffffff"}"/>'
        for value, colour, label in items
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="{opacity:g}" alphaBand="-1"
                    classificationMin="{lo:g}" classificationMax="{hi:g}">
      <rasterTransparency/>
      <rastershader>
        <colorrampshader colorRampType="{ramp}" classificationMode="{mode}" clip="0">
{rows}
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
  </pipe>
</qgis>
"""


def continuous_qml(colormap: str, vmin: float, vmax: float, label: str, steps: int = 5) -> str:
    """A continuous ramp from ``vmin`` to ``vmax`` with ``steps`` stops labelled in ``label`` units."""
    colours = colour_ramp(colormap, steps)
    values = [vmin + (vmax - vmin) * i / (steps - 1) for i in range(steps)]
    items = [(v, hex_colour(c), f"{v:g} {label}".strip()) for v, c in zip(values, colours)]
    return raster_qml(items, "INTERPOLATED", vmin, vmax)


def categories_qml(categories: dict[int, tuple[str, str]]) -> str:
    """Exact colours for categories ``{value: (label, '#rrggbb')}``; other values are not drawn."""
    items = [(float(v), colour, label) for v, (label, colour) in sorted(categories.items())]
    return raster_qml(items, "EXACT")


def risk_qml(assessed: bool = True) -> str:
    """The risk score (``risk.tif``, ``risk_planned.tif``, 0 to 1) in the classes and colours of
    the risk map (:data:`..risk.CLASS_BREAKS`, :func:`.palette.risk_classes`; under the first
    break not drawn), named "risk", or "crowding" when risk was not assessed (no hazard and no
    roads data: the score is then growth pressure alone), as on risk.html."""
    from ..risk import CLASS_BREAKS

    cats = pal.risk_classes("risk" if assessed else "crowding")
    uppers = [*CLASS_BREAKS[1:], float("inf")]
    lowers = CLASS_BREAKS
    items = [(CLASS_BREAKS[0], None, f"none (under {CLASS_BREAKS[0]:g})")]
    for k, (lo, hi) in enumerate(zip(lowers, uppers), start=1):
        label, colour = cats[k]
        span = f"{lo:g} to {hi:g}" if hi != float("inf") else f"{lo:g} or more"
        items.append((hi, colour, f"{label} ({span})"))
    return raster_qml(items, "DISCRETE", 0.0, 1.0)


def write_raster_styles(folder: Path, years: list[int], risk_assessed: bool = True) -> None:
    """QGIS styles (.qml) beside each GeoTIFF of a run folder, coloured as on the maps:
    ``years`` the base year and step ends (growth by period), ``risk_assessed`` False
    when the risk rasters hold growth pressure alone (their classes then say "crowding")."""
    for name, ramp, label in (("suitability", pal.SUITABILITY_RAMP, "suitability"),
                              ("urbanization_probability", pal.PROBABILITY_RAMP, "probability")):
        write_qml(folder / f"{name}.tif", continuous_qml(ramp, 0.0, 1.0, label))
    for name in ("risk", "risk_planned"):
        write_qml(folder / f"{name}.tif", risk_qml(risk_assessed))
    cats = categories_qml(pal.period_categories(years))
    for name in ("urbanization_year", "urbanization_year_planned"):
        write_qml(folder / f"{name}.tif", cats)


def write_qml(tif: Path, qml: str) -> None:
    """Write ``qml`` beside ``tif`` (same name, .qml), where QGIS looks for it."""
    Path(tif).with_suffix(".qml").write_text(qml, encoding="utf-8")


# ------------------------------------------------------------ vector styles


def _fill_symbol(name: str, fill: str, outline: str, width: float = 0.4, style: str = "solid") -> str:
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            f'<prop k="color" v="{fill}"/><prop k="style" v="{style}"/>'
            f'<prop k="outline_color" v="{outline}"/><prop k="outline_style" v="solid"/>'
            f'<prop k="outline_width" v="{width}"/><prop k="outline_width_unit" v="MM"/>'
            '<prop k="joinstyle" v="bevel"/></layer></symbol>')


def _line_symbol(name: str, colour: str, width: float, style: str = "solid") -> str:
    return (f'<symbol type="line" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleLine" enabled="1" locked="0" pass="0">'
            f'<prop k="line_color" v="{colour}"/><prop k="line_width" v="{width}"/>'
            f'<prop k="line_width_unit" v="MM"/><prop k="line_style" v="{style}"/>'
            '<prop k="capstyle" v="flat"/><prop k="joinstyle" v="round"/></layer></symbol>')


def _qml(renderer: str, geometry_type: int) -> str:
    """A QGIS style document (QML) with one renderer; geometry type 1 line, 2 polygon."""
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            f"{renderer}\n<layerGeometryType>{geometry_type}</layerGeometryType>\n</qgis>\n")


def _single(symbol: str) -> str:
    return ('<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{symbol}</symbols></renderer-v2>")


def _categorized(attr: str, cats: list[tuple[str, str, str]]) -> str:
    """``cats``: (value, label, symbol xml whose name is its index)."""
    categories = "".join(f'<category symbol="{i}" value="{v}" label="{lab}" render="true"/>'
                         for i, (v, lab, _) in enumerate(cats))
    symbols = "".join(s for _, _, s in cats)
    return (f'<renderer-v2 type="categorizedSymbol" attr="{attr}" symbollevels="0" enableorderby="0" '
            f'forceraster="0"><categories>{categories}</categories><symbols>{symbols}</symbols>'
            "</renderer-v2>")


def _rgba(colour: str, alpha: float = 1.0) -> str:
    """'r,g,b,a' (0-255) as QGIS writes colours, from a palette colour and an opacity (0-1)."""
    return ",".join(str(c) for c in (*parse_colour(colour), int(round(alpha * 255))))


def arterial_renderer(width_m: float, phase_years: list[int] | None = None) -> str:
    """The ``arterials`` layer's renderer: with ``phase_years`` (the planned arterials'
    ``phase_year`` values), planned arterials categorized by ``phase_year``, the earlier
    darker and thicker (:func:`palette.phase_colours`, as on the web maps), existing
    arterials (``phase_year`` 0) in their own colour; without, by ``kind``."""
    arts, line = pal.ARTERIAL_COLOURS, _line_symbol
    years = sorted({int(y) for y in phase_years or [] if int(y) > 0})
    if not years:
        return _categorized("kind", [
            ("planned", f"proposed arterial ({width_m:g} m right-of-way)",
             line("0", _rgba(arts["planned"]), 1.2)),
            ("existing", "existing arterial", line("1", _rgba(arts["existing"]), 0.9)),
        ])
    colours = pal.phase_colours(years)
    n = len(years)
    cats = [(str(y), f"secure by {y} ({width_m:g} m right-of-way)",
             line(str(i), _rgba(colours[y]), round(1.6 - 0.6 * i / max(1, n - 1), 2)))
            for i, y in enumerate(years)]
    cats.append(("0", "existing arterial", line(str(n), _rgba(arts["existing"]), 0.9)))
    return _categorized("phase_year", cats)


def plan_layer_styles(width_m: float, phase_years: list[int] | None = None) -> dict[str, tuple[str, str]]:
    """QGIS styles of ``plan.gpkg``'s layers (title, QML) by layer name; ``width_m`` is
    the scenario's arterial right-of-way width, for the legend; ``phase_years`` the planned
    arterials' ``phase_year`` values (see :func:`arterial_renderer`). Colours from
    :mod:`.palette`, as on the web and static maps."""
    fill, cat = _fill_symbol, _categorized
    ea, row, arts = pal.EXPANSION_AREA_STYLE, pal.RIGHT_OF_WAY_STYLE, pal.ARTERIAL_COLOURS
    os_ = pal.OPEN_SPACE_COLOURS
    return {
        "expansion_area": ("Expansion area",
                           _qml(_single(fill("0", _rgba(ea["fillColor"], ea["fillOpacity"]),
                                             _rgba(ea["color"]), 0.6)), 2)),
        "arterials": ("Arterial grid", _qml(arterial_renderer(width_m, phase_years), 1)),
        "open_space": ("Open space", _qml(cat("kind", [
            (kind, label, fill(str(i), _rgba(os_[kind], 0.6), _rgba(os_[kind])))
            for i, (kind, label) in enumerate((("floodplain", "floodplain"), ("steep_slope", "steep slope"),
                                               ("protected", "protected land"), ("park", "park")))
        ]), 2)),
        "risk_hotspots": ("Informal-settlement risk hotspots",
                          _qml(_single(fill("0", _rgba(pal.RISK_COLOURS[3], 0.45),
                                            _rgba(pal.HOTSPOT_STYLE["color"]), 0.5)), 2)),
        "right_of_way": ("Rights-of-way", _qml(cat("kind", [
            ("planned", f"proposed right-of-way ({width_m:g} m)",
             fill("0", _rgba(row["fillColor"], row["fillOpacity"]), _rgba(row["color"]), 0.2)),
            ("existing", "existing arterial right-of-way",
             fill("1", _rgba(arts["existing"], 0.35), _rgba(arts["existing"]), 0.2)),
        ]), 2)),
    }
