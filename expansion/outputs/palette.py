"""The one home of the colours of every output: web maps, static maps and QGIS styles.

Colours are CSS ``#rrggbb`` strings unless said otherwise; ramps are branca
linear colormap names (``"YlOrRd_09"``) or sequences of CSS colours, turned
into RGB tables by :func:`colour_ramp`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# The tables below are chosen to stay apart for readers with the common colour-vision
# deficiencies (deuteranopia, protanopia, tritanopia; checked by simulation in
# tests/test_palette.py): growth and risk are yellow-orange-red ramps, arterials are
# purple and black (never a growth or risk hue), water is light blue and the plan's
# areas are outlined in black, never filled blue or purple.

# ---------------------------------------------------------------- context layers (Leaflet path styles)

BOUNDARY_STYLE = {"color": "#4d4d4d", "weight": 2, "fill": False, "dashArray": "2 5"}
WATER_STYLE = {"color": "#2b8cbe", "weight": 1.5, "fillColor": "#a6dbf0", "fillOpacity": 0.7}
PROTECTED_STYLE = {"color": "#1b7837", "weight": 1, "fillColor": "#5aae61", "fillOpacity": 0.25}
ROADS_STYLE = {"color": "#737373", "weight": 1.5}
#: Built-up land at the base year, under the risk maps (to find one's way).
BUILT_TODAY_COLOUR = "#bdbdbd"

# ---------------------------------------------------------------- the plan

ARTERIAL_COLOURS = {"planned": "#54278f", "existing": "#1a1a1a"}
#: Planned arterials by the year to secure them: darkest first.
PHASE_RAMP = ("#3f007d", "#6a51a3", "#9e9ac8")
EXPANSION_AREA_STYLE = {"color": "#000000", "weight": 2.5, "dashArray": "9 5", "fillColor": "#000000",
                        "fillOpacity": 0.04}
RIGHT_OF_WAY_STYLE = {"color": "#3f007d", "weight": 0.5, "fillColor": "#6a51a3", "fillOpacity": 0.5}
#: Open space kinds, apart in lightness as well as hue (dark teal, brown, mid green, pale green, pale teal).
OPEN_SPACE_COLOURS = {"floodplain": "#01665e", "steep_slope": "#8c510a", "protected": "#5aae61",
                      "park": "#d9f0a3", "wetland": "#80cdc1"}
OPEN_SPACE_DEFAULT = "#5aae61"

# ---------------------------------------------------------------- rasters

#: Suitability score 0 (unsuitable) to 1 (most suitable): viridis, readable with any colour vision.
SUITABILITY_RAMP = "viridis"
EXCLUDED_COLOUR = "#525252"
#: Continuous risk score and probability of urbanization, 0 to 1.
RISK_RAMP = "YlOrRd_09"
PROBABILITY_RAMP = "YlOrRd_09"
#: Risk classes 0 (none) to 4 (very high).
RISK_COLOURS = ["#ffffb2", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]
HOTSPOT_STYLE = {"color": "#67000d", "weight": 2, "fillOpacity": 0.05}
#: Growth by period: built at the base year, then a ramp over the steps.
BASE_BUILT_COLOUR = "#6b6b6b"
PERIOD_RAMP = "YlOrRd_09"

#: Backtest agreement: 1 hit, 2 miss, 3 false alarm, 4 correct rejection (RGBA, 0-255):
#: blue, vermillion and yellow (Okabe & Ito), apart for every colour vision.
BACKTEST_COLOURS = {0: (0, 0, 0, 0), 1: (0, 114, 178, 255), 2: (213, 94, 0, 255), 3: (240, 228, 66, 255),
                    4: (230, 230, 230, 255)}


# ---------------------------------------------------------------- charts

#: Scenario lines on charts, in turn (Okabe & Ito's colour-blind-safe set; with dashes and markers).
SERIES_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


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


RISK_LABELS = ("low", "moderate", "high", "very high")


def risk_classes(what: str = "risk") -> dict:
    """Risk classes 1-4 ``{class: (plain label, colour)}`` (0, no risk, and 255, outside, are not drawn);
    ``what`` names the measure ("crowding" when risk could not be assessed)."""
    return {i + 1: (f"{RISK_LABELS[i]} {what}", RISK_COLOURS[i + 1]) for i in range(4)}


def phase_colours(years: list) -> dict:
    """``{phase year: colour}`` from the first phase (darkest) to the last, for the planned arterials."""
    years = sorted({int(y) for y in years})
    ramp = colour_ramp(PHASE_RAMP, max(2, len(years)))
    return {y: hex_colour(ramp[i]) for i, y in enumerate(years)}


def period_categories(years: list[int]) -> dict:
    """Colours for the year a cell is built: grey for the base, then a ramp per step.

    Returns ``{year: (label, '#rrggbb')}`` for the base year and each step's end year.
    """
    ramp = colour_ramp(PERIOD_RAMP, max(2, len(years) - 1))
    cats = {years[0]: (f"built by {years[0]}", BASE_BUILT_COLOUR)}
    for i, (a, b) in enumerate(zip(years[:-1], years[1:])):
        r, g, bl = ramp[min(len(ramp) - 1, int(i * (len(ramp) - 1) / max(1, len(years) - 2)))]
        when = f"in {b}" if b == a + 1 else f"{a + 1}-{b}"  # a 1-year step is one year, not "2045-2045"
        cats[b] = (f"built {when}", f"#{int(r):02x}{int(g):02x}{int(bl):02x}")
    return cats
