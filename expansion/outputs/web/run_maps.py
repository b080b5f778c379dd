"""The pages of a run folder: three maps and the summary page, and the backtest's map.

Composes layers of :mod:`.raster` and :mod:`.vector` from a computed run; the
map and page builders themselves stay generic. Colours come from
:mod:`expansion.outputs.palette`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...risk import CLASS_BREAKS
from .. import palette as pal
from ..palette import period_categories
from .index import index_page
from .leaflet import make_map, write_html
from .raster import Overlay, RasterLayer, terrain_overlay
from .vector import VectorLayer

# Above this many roads a map draws only the arterials: each feature costs about 3 kB
# of page (and of memory while the page is made), and a local street is below a pixel
# on a large region's map anyway.
MAX_MAP_ROADS = 20_000


def context_layers(stack) -> list:
    """Boundary, water, protected land and roads from the stack, when present."""
    v = stack.vectors
    out = []
    if v.get("protected") is not None and len(v["protected"]):
        out.append(VectorLayer("Protected land", v["protected"], pal.PROTECTED_STYLE,
                                    legend="forests, parks, reserves (no development)", show=False))
    if v.get("water") is not None and len(v["water"]):
        out.append(VectorLayer("Water", v["water"], pal.WATER_STYLE, legend="rivers and lakes"))
    if v.get("roads") is not None and len(v["roads"]):
        roads = v["roads"]
        legend = "existing roads; thick = arterial"
        if len(roads) > MAX_MAP_ROADS:
            local = int((roads["road_class"] != "arterial").sum())
            roads = roads[roads["road_class"] == "arterial"]
            legend = (f"existing arterial roads ({local:,} local streets are too many for a page that "
                      "opens on a modest laptop: see the catalog's roads layer in QGIS)")
        out.append(VectorLayer(
            "Roads today", roads,
            lambda p: {**pal.ROADS_STYLE, "weight": 3 if p.get("road_class") == "arterial" else 1},
            tooltip_fields={"highway": "OpenStreetMap class", "road_class": "class"},
            legend=legend, show=False))
    out.append(VectorLayer("Study area", v["boundary"], pal.BOUNDARY_STYLE, legend="study area boundary"))
    return out


def _subtitle(m, what: str) -> str:
    sc = m.scenario
    return f"{sc.name}, {sc.base_year}-{sc.horizon_year}: {what}"


def suitability_map(m, shade) -> str:
    grid = m.stack.grid
    layers = [
        RasterLayer("Land suitability", m.suitability.score, grid, colormap=pal.SUITABILITY_RAMP, vmin=0,
                    vmax=1, legend="score, 0 = unsuitable to 1 = most suitable", opacity=0.75),
        # suitability class 1 is excluded land inside the study area: drawn without a full-grid mask
        RasterLayer("Excluded land", m.suitability.classes, grid,
                         categories={1: ("never develops", pal.EXCLUDED_COLOUR)},
                         legend="water, protected land, slopes above the limit, flood zones",
                         opacity=0.6, show=False),
        *context_layers(m.stack),
    ]
    return make_map(m.catalog.name, _subtitle(m, "land suitability"), grid, layers, shade,
                         m.catalog.synthetic)


def risk_map(m, shade) -> str:
    grid = m.stack.grid
    labels = ["low", "moderate", "high", "very high"]
    layers = []
    policies = (("bau", "Risk, business as usual", True), ("planned", "Risk with the plan", False))
    for key, name, show in policies:
        # classes 1-4 are drawn; 0 (no risk) and 255 (outside) are not categories, so transparent
        cats = {i + 1: (f"{labels[i]} (risk >= {CLASS_BREAKS[i]:g})", pal.RISK_COLOURS[i + 1])
                for i in range(4)}
        layers.append(RasterLayer(name, m.risk[key].classes, grid, categories=cats, show=show,
                                       opacity=0.75,
                                       legend="informal-settlement risk: likelihood of growth x "
                                              "(hazard, no services, pressure), 0 to 1"))
    spots = m.hotspots
    if len(spots):
        for key, policy in (("bau", "business as usual"), ("planned", "planned")):
            sub = spots[spots["policy"] == policy]
            layers.append(VectorLayer(
                f"Hotspots, {policy}", sub,
                pal.HOTSPOT_STYLE,
                tooltip_fields={"hectares": "hectares", "people": "expected new residents",
                                "hazard_share": "share on hazard land"},
                legend="high-risk areas of 1 ha or more", show=key == "bau"))
    layers.append(VectorLayer("Planned arterials", m.plan.arterials, _arterial_style,
                                   tooltip_fields={"kind": "kind", "length_m": "length (m)",
                                                   "width_m": "right-of-way (m)"},
                                   legend="planned (red) and existing (black) arterials", show=False))
    layers += context_layers(m.stack)
    return make_map(m.catalog.name, _subtitle(m, "where informal settlements are likely to form"),
                         grid, layers, shade, m.catalog.synthetic)


def _arterial_style(p: dict) -> dict:
    return {"color": pal.ARTERIAL_COLOURS.get(p.get("kind"), pal.ARTERIAL_COLOURS["planned"]), "weight": 3}


def _open_space_style(p: dict) -> dict:
    colour = pal.OPEN_SPACE_COLOURS.get(p.get("kind"), pal.OPEN_SPACE_DEFAULT)
    return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.45}


def expansion_map(m, shade) -> str:
    grid = m.stack.grid
    years = [r.year for r in m.demand]
    plan = m.plan
    layers = [
        RasterLayer("Growth by period, business as usual", m.bau.urbanization_year, grid,
                         categories=period_categories(years), opacity=0.8,
                         legend="the period in which a cell is built up (run with the scenario's seed)"),
        RasterLayer("Growth by period, with the plan", m.planned.urbanization_year, grid,
                         categories=period_categories(years), opacity=0.8, show=False,
                         legend="the period in which a cell is built up under the plan"),
        RasterLayer("Probability of urbanization", m.bau.probability, grid, colormap=pal.PROBABILITY_RAMP,
                         vmin=0, vmax=1, show=False, opacity=0.75,
                         legend=f"share of {m.scenario.growth.runs} runs built up by "
                                f"{m.scenario.horizon_year}, business as usual"),
        VectorLayer("Expansion area", plan.expansion_gdf,
                         pal.EXPANSION_AREA_STYLE,
                         tooltip_fields={"hectares": "hectares"},
                         legend="land to plan for 30 years of growth (need x generosity)"),
        VectorLayer("Open space", plan.open_space, _open_space_style,
            tooltip_fields={"kind": "kind", "hectares": "hectares"},
            legend="protected public open space: floodplains, steep slopes, forests, parks"),
        VectorLayer("Rights-of-way", plan.row_gdf,
                         pal.RIGHT_OF_WAY_STYLE,
                         legend=f"{m.scenario.plan.arterial_width_m:g} m arterial rights-of-way", show=False),
        VectorLayer("Arterials", plan.arterials, _arterial_style,
                         tooltip_fields={"kind": "kind", "length_m": "length (m)",
                                         "width_m": "right-of-way (m)"},
                         legend=f"planned (red, about {m.scenario.plan.arterial_spacing_m:g} m apart) "
                                "and existing (black) arterials"),
    ]
    spots = m.hotspots
    if len(spots):
        layers.append(VectorLayer(
            "Risk hotspots, business as usual", spots[spots["policy"] == "business as usual"],
            pal.HOTSPOT_STYLE,
            tooltip_fields={"hectares": "hectares", "people": "expected new residents"},
            legend="where informal settlements are likely without the plan", show=False))
    layers += context_layers(m.stack)
    return make_map(m.catalog.name, _subtitle(m, "the expansion plan"), grid, layers, shade,
                         m.catalog.synthetic)


PAGES = (("expansion.html", "Expansion plan: growth, expansion area, arterials, open space", expansion_map),
         ("risk.html", "Informal-settlement risk, with and without the plan", risk_map),
         ("suitability.html", "Land suitability and constraints", suitability_map))


def _terrain(stack) -> Overlay | None:
    """The hillshade background, drawn once for all the maps of a run (None without a DEM)."""
    return terrain_overlay(stack.dem, stack.grid) if stack.dem is not None else None


def render_run(m, folder: Path) -> None:
    """Write index.html and the three maps of a computed run into ``folder``."""
    stack = m.stack
    shade = _terrain(stack)
    links = []
    for name, label, make in PAGES:
        write_html(folder / name, make(m, shade))
        links.append((label, name))
    page = index_page(m.summary, m.demand, links, title=m.catalog.name, synthetic=m.catalog.synthetic)
    write_html(folder / "index.html", page)


def backtest_map(stack, sc, res: dict, agreement: np.ndarray) -> str:
    """Hits, misses and false alarms of a backtest on one map."""
    shade = _terrain(stack)
    labels = {1: "hit: predicted and observed", 2: "miss: observed, not predicted",
              3: "false alarm: predicted, not observed"}
    cats = {k: (label, pal.hex_colour(pal.BACKTEST_COLOURS[k])) for k, label in labels.items()}
    n = res["null_models"]["nearest_builtup"]["fom"]
    subtitle = (f"{sc.name}: backtest {res['base_year']}-{res['observed_year']}, figure of merit "
                f"{res['fom']:.3f} (nearest built-up null model {n:.3f})")
    layers = [RasterLayer("Backtest agreement", agreement, stack.grid, categories=cats, opacity=0.85,
                               legend=f"new built-up {res['base_year']}-{res['observed_year']}, "
                                      "model run with the scenario's seed vs observed"),
              *context_layers(stack)]
    return make_map(stack.name, subtitle, stack.grid, layers, shade, stack.synthetic)
