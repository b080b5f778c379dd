"""The pages of a run folder: three maps and the summary page.

Composes :mod:`expansion.maps` layers from a computed run; the maps and the
page builder themselves stay generic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import maps, report
from .risk import CLASS_BREAKS

BOUNDARY_STYLE = {"color": "#222222", "weight": 2, "fill": False, "dashArray": "6 4"}
WATER_STYLE = {"color": "#1f78b4", "weight": 2, "fillColor": "#a6cee3", "fillOpacity": 0.6}
PROTECTED_STYLE = {"color": "#1b7837", "weight": 1, "fillColor": "#5aae61", "fillOpacity": 0.25}
ROADS_STYLE = {"color": "#555555", "weight": 1.5}
ARTERIAL_COLOURS = {"planned": "#d7301f", "existing": "#252525"}
OPEN_SPACE_COLOURS = {"floodplain": "#74add1", "steep_slope": "#b2abd2", "protected": "#5aae61",
                      "park": "#a6d96a", "wetland": "#66c2a5"}
RISK_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
# Above this many roads a map draws only the arterials: each feature costs about 3 kB
# of page (and of memory while the page is made), and a local street is below a pixel
# on a large region's map anyway.
MAX_MAP_ROADS = 20_000


def _context_layers(stack) -> list:
    """Boundary, water, protected land and roads from the stack, when present."""
    v = stack.vectors
    out = []
    if v.get("protected") is not None and len(v["protected"]):
        out.append(maps.VectorLayer("Protected land", v["protected"], PROTECTED_STYLE,
                                    legend="forests, parks, reserves (no development)", show=False))
    if v.get("water") is not None and len(v["water"]):
        out.append(maps.VectorLayer("Water", v["water"], WATER_STYLE, legend="rivers and lakes"))
    if v.get("roads") is not None and len(v["roads"]):
        roads = v["roads"]
        legend = "existing roads; thick = arterial"
        if len(roads) > MAX_MAP_ROADS:
            local = int((roads["road_class"] != "arterial").sum())
            roads = roads[roads["road_class"] == "arterial"]
            legend = (f"existing arterial roads ({local:,} local streets are too many for a page that "
                      "opens on a modest laptop: see the catalog's roads layer in QGIS)")
        out.append(maps.VectorLayer(
            "Roads today", roads,
            lambda p: {**ROADS_STYLE, "weight": 3 if p.get("road_class") == "arterial" else 1},
            tooltip_fields={"highway": "OpenStreetMap class", "road_class": "class"},
            legend=legend, show=False))
    out.append(maps.VectorLayer("Study area", v["boundary"], BOUNDARY_STYLE, legend="study area boundary"))
    return out


def _subtitle(m, what: str) -> str:
    sc = m.scenario
    return f"{sc.name}, {sc.base_year}-{sc.horizon_year}: {what}"


def period_categories(years: list[int]) -> dict:
    """Colours for the year a cell is built: grey for the base, then a ramp per step."""
    ramp = maps.colour_ramp("YlOrRd_09", max(2, len(years) - 1))
    cats = {years[0]: (f"built by {years[0]}", "#6b6b6b")}
    for i, (a, b) in enumerate(zip(years[:-1], years[1:])):
        r, g, bl = ramp[min(len(ramp) - 1, int(i * (len(ramp) - 1) / max(1, len(years) - 2)))]
        cats[b] = (f"built {a + 1}-{b}", f"#{int(r):02x}{int(g):02x}{int(bl):02x}")
    return cats


def suitability_map(m, shade) -> str:
    grid = m.stack.grid
    layers = [
        maps.RasterLayer("Land suitability", m.suitability.score, grid, colormap="RdYlGn", vmin=0, vmax=1,
                         legend="score, 0 = unsuitable to 1 = most suitable", opacity=0.75),
        # suitability class 1 is excluded land inside the study area: drawn without a full-grid mask
        maps.RasterLayer("Excluded land", m.suitability.classes, grid,
                         categories={1: ("never develops", "#3f3f3f")},
                         legend="water, protected land, slopes above the limit, flood zones",
                         opacity=0.6, show=False),
        *_context_layers(m.stack),
    ]
    return maps.make_map(m.catalog.name, _subtitle(m, "land suitability"), grid, layers, shade,
                         m.catalog.synthetic)


def risk_map(m, shade) -> str:
    grid = m.stack.grid
    labels = ["low", "moderate", "high", "very high"]
    layers = []
    policies = (("bau", "Risk, business as usual", True), ("planned", "Risk with the plan", False))
    for key, name, show in policies:
        # classes 1-4 are drawn; 0 (no risk) and 255 (outside) are not categories, so transparent
        cats = {i + 1: (f"{labels[i]} (risk >= {CLASS_BREAKS[i]:g})", RISK_COLOURS[i + 1]) for i in range(4)}
        layers.append(maps.RasterLayer(name, m.risk[key].classes, grid, categories=cats, show=show,
                                       opacity=0.75,
                                       legend="informal-settlement risk: likelihood of growth x "
                                              "(hazard, no services, pressure), 0 to 1"))
    spots = m.hotspots
    if len(spots):
        for key, policy in (("bau", "business as usual"), ("planned", "planned")):
            sub = spots[spots["policy"] == policy]
            layers.append(maps.VectorLayer(
                f"Hotspots, {policy}", sub,
                {"color": "#bd0026", "weight": 2, "fillOpacity": 0.1},
                tooltip_fields={"hectares": "hectares", "people": "expected new residents",
                                "hazard_share": "share on hazard land"},
                legend="high-risk areas of 1 ha or more", show=key == "bau"))
    layers.append(maps.VectorLayer("Planned arterials", m.plan.arterials, _arterial_style,
                                   tooltip_fields={"kind": "kind", "length_m": "length (m)",
                                                   "width_m": "right-of-way (m)"},
                                   legend="planned (red) and existing (black) arterials", show=False))
    layers += _context_layers(m.stack)
    return maps.make_map(m.catalog.name, _subtitle(m, "where informal settlements are likely to form"),
                         grid, layers, shade, m.catalog.synthetic)


def _arterial_style(p: dict) -> dict:
    return {"color": ARTERIAL_COLOURS.get(p.get("kind"), "#d7301f"), "weight": 3}


def expansion_map(m, shade) -> str:
    grid = m.stack.grid
    years = [r.year for r in m.demand]
    plan = m.plan
    layers = [
        maps.RasterLayer("Growth by period, business as usual", m.bau.urbanization_year, grid,
                         categories=period_categories(years), opacity=0.8,
                         legend="the period in which a cell is built up (run with the scenario's seed)"),
        maps.RasterLayer("Growth by period, with the plan", m.planned.urbanization_year, grid,
                         categories=period_categories(years), opacity=0.8, show=False,
                         legend="the period in which a cell is built up under the plan"),
        maps.RasterLayer("Probability of urbanization", m.bau.probability, grid, colormap="YlOrRd_09",
                         vmin=0, vmax=1, show=False, opacity=0.75,
                         legend=f"share of {m.scenario.growth.runs} runs built up by "
                                f"{m.scenario.horizon_year}, business as usual"),
        maps.VectorLayer("Expansion area", plan.expansion_gdf,
                         {"color": "#6a3d9a", "weight": 2, "fillColor": "#cab2d6", "fillOpacity": 0.15},
                         tooltip_fields={"hectares": "hectares"},
                         legend="land to plan for 30 years of growth (need x generosity)"),
        maps.VectorLayer("Open space", plan.open_space, lambda p: {
            "color": OPEN_SPACE_COLOURS.get(p.get("kind"), "#1b7837"), "weight": 1,
            "fillColor": OPEN_SPACE_COLOURS.get(p.get("kind"), "#1b7837"), "fillOpacity": 0.45},
            tooltip_fields={"kind": "kind", "hectares": "hectares"},
            legend="protected public open space: floodplains, steep slopes, forests, parks"),
        maps.VectorLayer("Rights-of-way", plan.row_gdf,
                         {"color": "#d7301f", "weight": 0.5, "fillColor": "#fc9272", "fillOpacity": 0.5},
                         legend=f"{m.scenario.plan.arterial_width_m:g} m arterial rights-of-way", show=False),
        maps.VectorLayer("Arterials", plan.arterials, _arterial_style,
                         tooltip_fields={"kind": "kind", "length_m": "length (m)",
                                         "width_m": "right-of-way (m)"},
                         legend=f"planned (red, about {m.scenario.plan.arterial_spacing_m:g} m apart) "
                                "and existing (black) arterials"),
    ]
    spots = m.hotspots
    if len(spots):
        layers.append(maps.VectorLayer(
            "Risk hotspots, business as usual", spots[spots["policy"] == "business as usual"],
            {"color": "#bd0026", "weight": 2, "fillOpacity": 0.1},
            tooltip_fields={"hectares": "hectares", "people": "expected new residents"},
            legend="where informal settlements are likely without the plan", show=False))
    layers += _context_layers(m.stack)
    return maps.make_map(m.catalog.name, _subtitle(m, "the expansion plan"), grid, layers, shade,
                         m.catalog.synthetic)


PAGES = (("expansion.html", "Expansion plan: growth, expansion area, arterials, open space", expansion_map),
         ("risk.html", "Informal-settlement risk, with and without the plan", risk_map),
         ("suitability.html", "Land suitability and constraints", suitability_map))


def _terrain(stack) -> maps.Overlay | None:
    """The hillshade background, drawn once for all the maps of a run (None without a DEM)."""
    return maps.terrain_overlay(stack.dem, stack.grid) if stack.dem is not None else None


def render_run(m, folder: Path) -> None:
    """Write index.html and the three maps of a computed run into ``folder``."""
    stack = m.stack
    shade = _terrain(stack)
    links = []
    for name, label, make in PAGES:
        maps.write_html(folder / name, make(m, shade))
        links.append((label, name))
    page = report.index_page(m.summary, m.demand, links, title=m.catalog.name, synthetic=m.catalog.synthetic)
    maps.write_html(folder / "index.html", page)


def backtest_map(stack, sc, res: dict, agreement: np.ndarray) -> str:
    """Hits, misses and false alarms of a backtest on one map."""
    shade = _terrain(stack)
    cats = {1: ("hit: predicted and observed", "#1a9850"), 2: ("miss: observed, not predicted", "#d73027"),
            3: ("false alarm: predicted, not observed", "#fdae61")}
    n = res["null_models"]["nearest_builtup"]["fom"]
    subtitle = (f"{sc.name}: backtest {res['base_year']}-{res['observed_year']}, figure of merit "
                f"{res['fom']:.3f} (nearest built-up null model {n:.3f})")
    layers = [maps.RasterLayer("Backtest agreement", agreement, stack.grid, categories=cats, opacity=0.85,
                               legend=f"new built-up {res['base_year']}-{res['observed_year']}, "
                                      "model run with the scenario's seed vs observed"),
              *_context_layers(stack)]
    return maps.make_map(stack.name, subtitle, stack.grid, layers, shade, stack.synthetic)
