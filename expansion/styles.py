"""QGIS styles for the GeoTIFFs of a run folder.

QGIS loads ``name.qml`` beside ``name.tif`` as the layer's default style, so
every raster opens coloured with a legend, as on the HTML maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from .outputs.palette import colour_ramp


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def raster_qml(items: Sequence[tuple[float, str, str]], ramp: str = "INTERPOLATED",
               vmin: float | None = None, vmax: float | None = None, opacity: float = 1.0) -> str:
    """A singleband pseudocolour QML.

    Parameters
    ----------
    items : (value, '#rrggbb' colour, label), ascending by value.
    ramp : "INTERPOLATED" (continuous values) or "EXACT" (categories).
    vmin, vmax : classification range; default the first and last values.
    """
    lo = items[0][0] if vmin is None else vmin
    hi = items[-1][0] if vmax is None else vmax
    rows = "\n".join(
        f'          <item alpha="255" value="{value:g}" label="{escape(label)}" color="{colour}"/>'
        for value, colour, label in items
    )
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.28.0" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="{opacity:g}" alphaBand="-1"
                    classificationMin="{lo:g}" classificationMax="{hi:g}">
      <rasterTransparency/>
      <rastershader>
        <colorrampshader colorRampType="{ramp}" classificationMode="{2 if ramp == 'EXACT' else 1}" clip="0">
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
    items = [(v, _hex(c), f"{v:g} {label}".strip()) for v, c in zip(values, colours)]
    return raster_qml(items, "INTERPOLATED", vmin, vmax)


def categories_qml(categories: dict[int, tuple[str, str]]) -> str:
    """Exact colours for categories ``{value: (label, '#rrggbb')}``; other values are not drawn."""
    items = [(float(v), colour, label) for v, (label, colour) in sorted(categories.items())]
    return raster_qml(items, "EXACT")


def write_qml(tif: Path, qml: str) -> None:
    """Write ``qml`` beside ``tif`` (same name, .qml), where QGIS looks for it."""
    Path(tif).with_suffix(".qml").write_text(qml, encoding="utf-8")
