"""The one home of the colours of every output: web maps, static maps and QGIS styles.

Colours are CSS ``#rrggbb`` strings unless said otherwise; ramps are branca
linear colormap names (``"YlOrRd_09"``) or sequences of CSS colours, turned
into RGB tables by :func:`colour_ramp`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# ---------------------------------------------------------------- context layers (Leaflet path styles)

BOUNDARY_STYLE = {"color": "#222222", "weight": 2, "fill": False, "dashArray": "6 4"}
WATER_STYLE = {"color": "#1f78b4", "weight": 2, "fillColor": "#a6cee3", "fillOpacity": 0.6}
PROTECTED_STYLE = {"color": "#1b7837", "weight": 1, "fillColor": "#5aae61", "fillOpacity": 0.25}
ROADS_STYLE = {"color": "#555555", "weight": 1.5}

# ---------------------------------------------------------------- the plan

ARTERIAL_COLOURS = {"planned": "#d7301f", "existing": "#252525"}
EXPANSION_AREA_STYLE = {"color": "#6a3d9a", "weight": 2, "fillColor": "#cab2d6", "fillOpacity": 0.15}
RIGHT_OF_WAY_STYLE = {"color": "#d7301f", "weight": 0.5, "fillColor": "#fc9272", "fillOpacity": 0.5}
OPEN_SPACE_COLOURS = {"floodplain": "#74add1", "steep_slope": "#b2abd2", "protected": "#5aae61",
                      "park": "#a6d96a", "wetland": "#66c2a5"}
OPEN_SPACE_DEFAULT = "#1b7837"

# ---------------------------------------------------------------- rasters

#: Suitability score 0 (unsuitable) to 1 (most suitable).
SUITABILITY_RAMP = "RdYlGn"
EXCLUDED_COLOUR = "#3f3f3f"
#: Continuous risk score and probability of urbanization, 0 to 1.
RISK_RAMP = "YlOrRd_09"
PROBABILITY_RAMP = "YlOrRd_09"
#: Risk classes 0 (none) to 4 (very high).
RISK_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
HOTSPOT_STYLE = {"color": "#bd0026", "weight": 2, "fillOpacity": 0.1}
#: Growth by period: built at the base year, then a ramp over the steps.
BASE_BUILT_COLOUR = "#6b6b6b"
PERIOD_RAMP = "YlOrRd_09"

#: Backtest agreement: 1 hit, 2 miss, 3 false alarm, 4 correct rejection (RGBA, 0-255).
BACKTEST_COLOURS = {0: (0, 0, 0, 0), 1: (26, 152, 80, 255), 2: (215, 48, 39, 255), 3: (253, 174, 97, 255),
                    4: (230, 230, 230, 255)}


# ---------------------------------------------------------------- helpers


def hex_colour(rgb: Sequence[int]) -> str:
    """``#rrggbb`` for 0-255 (R, G, B[, A]) values (alpha is dropped)."""
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb[:3]))


def parse_colour(colour: str) -> tuple[int, int, int]:
    """A CSS colour (``#rgb``, ``#rrggbb`` or a name branca knows) as 0-255 RGB."""
    from branca.colormap import LinearColormap

    colour = str(colour).strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", colour):
        colour = "#" + "".join(c * 2 for c in colour[1:])
    try:
        r, g, b, _ = LinearColormap([colour, colour]).colors[0]
    except (ValueError, TypeError):
        raise ValueError(f"'{colour}' is not a colour; use '#rrggbb' or a CSS colour name") from None
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def colour_ramp(colormap: str | Sequence[str], n: int = 255) -> np.ndarray:
    """``n`` RGB colours (uint8, shape (n, 3)) evenly spaced along a colormap.

    ``colormap`` is a branca linear colormap name (``"viridis"``,
    ``"YlOrRd_09"``) or a sequence of CSS colours.
    """
    from branca.colormap import LinearColormap, linear

    if isinstance(colormap, str):
        # a ColorBrewer scheme without a class count ("RdYlGn") takes its longest variant
        variants = sorted((n for n in dir(linear) if re.fullmatch(re.escape(colormap) + r"_\d+", n)),
                          key=lambda n: int(n.rsplit("_", 1)[1]))
        name = colormap if hasattr(linear, colormap) or not variants else variants[-1]
        try:
            cm = getattr(linear, name)
        except AttributeError:
            raise ValueError(
                f"unknown colormap '{colormap}'; use a branca linear colormap name such as "
                "'viridis' or 'YlOrRd_09', or a list of colours"
            ) from None
    else:
        cm = LinearColormap(list(colormap))
    stops = np.asarray(cm.index, dtype="float64")
    stops = (stops - stops[0]) / ((stops[-1] - stops[0]) or 1.0)
    colours = np.asarray(cm.colors, dtype="float64")[:, :3] * 255.0
    x = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(x, stops, colours[:, k]) for k in range(3)], axis=1)
    return np.rint(out).astype("uint8")


def period_categories(years: list[int]) -> dict:
    """Colours for the year a cell is built: grey for the base, then a ramp per step.

    Returns ``{year: (label, '#rrggbb')}`` for the base year and each step's end year.
    """
    ramp = colour_ramp(PERIOD_RAMP, max(2, len(years) - 1))
    cats = {years[0]: (f"built by {years[0]}", BASE_BUILT_COLOUR)}
    for i, (a, b) in enumerate(zip(years[:-1], years[1:])):
        r, g, bl = ramp[min(len(ramp) - 1, int(i * (len(ramp) - 1) / max(1, len(years) - 2)))]
        cats[b] = (f"built {a + 1}-{b}", f"#{int(r):02x}{int(g):02x}{int(bl):02x}")
    return cats
