"""The pages of a run folder: three maps and the summary page, and the backtest's map.

Composes layers of :mod:`.raster` and :mod:`.vector` from a computed run; the
map and page builders themselves stay generic. Colours come from
:mod:`expansion.outputs.palette`; the wording of the maps takes its years and
plan dimensions from the scenario.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from .. import palette as pal
from ..palette import period_categories, phase_colours, risk_classes
from .assumptions import distance_text, not_assessed_caveat, warnings_for, warnings_of
from .html_page import num, risk_assessed
from .index import index_page
from .labels import place_labels, road_labels
from .leaflet import make_map, write_html
from .raster import Overlay, RasterLayer, terrain_overlay
from .vector import VectorLayer

# Above this many roads a map draws only the arterials: each feature costs about 3 kB
# of page (and of memory while the page is made), and a local street is below a pixel
# on a large region's map anyway.
MAX_MAP_ROADS = 20_000



def context_layers(stack) -> list:
    """Boundary, water, protected land, roads and place names from the stack, when present."""
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
        tips = {"highway": "OpenStreetMap class", "road_class": "class"}
        if "name" in roads.columns:
            tips = {"name": "name", **tips}
        out.append(VectorLayer(
            "Roads today", roads,
            lambda p: {**pal.ROADS_STYLE, "weight": 3 if p.get("road_class") == "arterial" else 1},
            tooltip_fields={k: lab for k, lab in tips.items() if k in roads.columns},
            legend=legend, show=False))
    out.append(VectorLayer("Study area", v["boundary"], pal.BOUNDARY_STYLE, legend="study area boundary"))
    return out


def _labels(stack) -> list:
    """Place names and main road names for orientation (from the stack's places and roads' names)."""
    out = []
    roads = stack.vectors.get("roads")
    names = road_labels(roads) if roads is not None else None
    if names is not None:
        out.append(names)
    places = place_labels(getattr(stack, "places", None))
    if places is not None:
        out.append(places)
    return out


def _builtup_today(m) -> RasterLayer:
    """Built-up land at the base year, light grey: the city as it is, to find one's way by."""
    base = m.scenario.base_year
    arr = (m.stack.builtup_at(base) & m.stack.valid).view("uint8")
    return RasterLayer(f"Built-up land in {base}", arr, m.stack.grid,
                       categories={1: (f"built up in {base}", pal.BUILT_TODAY_COLOUR)}, opacity=0.7,
                       legend="the city today")


def _subtitle(m, what: str) -> str:
    sc = m.scenario
    return f"Proposal for {sc.name}, {sc.base_year}-{sc.horizon_year}: {what}"


def map_notes(m, page: str) -> list[str]:
    """The run's warnings that concern a map page (on the risk map, first what it could not assess)."""
    notes = warnings_for(page, warnings_of(m.summary))
    first = not_assessed_caveat(m.summary) if page == "risk.html" else ""
    said = any("not assessed" in n.lower() for n in notes)  # the run's own warning says it already
    return ([first] if first and not said else []) + notes


def never_develops_legend(stack) -> str:
    """What the land that never develops is made of, of the constraints the run's layers hold (Rionegro,
    with no DEM and no water layer, has protected land only)."""
    kinds = [name for name, present in (
        ("open water", bool(getattr(stack, "has_water", False)) or bool(np.any(stack.water))),
        ("protected land", bool(np.any(stack.protected))),
        ("steep slopes", getattr(stack, "slope_pct", None) is not None),
        ("mapped flood zones", getattr(stack, "flood", None) is not None)) if present]
    return ", ".join(kinds) if kinds else "none in this run's layers"


def suitability_map(m, shade) -> str:
    grid = m.stack.grid
    layers = [
        RasterLayer("Land suitability", m.suitability.score, grid, colormap=pal.SUITABILITY_RAMP, vmin=0,
                    vmax=1, legend="score: 0 = unsuitable, 1 = most suitable (higher is better)",
                    opacity=0.75),
        # suitability class 1 is excluded land inside the study area: drawn without a full-grid mask
        RasterLayer("Land that never develops", m.suitability.classes, grid,
                    categories={1: ("never develops", pal.EXCLUDED_COLOUR)},
                    legend=never_develops_legend(m.stack), opacity=0.6, show=False),
        *context_layers(m.stack),
        *_labels(m.stack),
    ]
    return make_map(m.catalog.name, _subtitle(m, "land suitability"), grid, layers, shade,
                    m.catalog.synthetic, notes=map_notes(m, "suitability.html"))


def risk_map(m, shade) -> str:
    grid = m.stack.grid
    layers = [_builtup_today(m)]
    assessed = risk_assessed(m.summary)
    what = "Risk" if assessed else "Crowding (risk not assessed)"
    policies = (("bau", f"{what} if nothing is done", True), ("planned", f"{what} with the plan", False))
    legend = ("where informal settlement is likely: growth expected on flood-prone or steep land, or far "
              "from roads and services" if assessed else
              "where unplanned growth will crowd, near dense built-up land; flood, slope and road access not "
              "assessed (no data)")
    cats = risk_classes("risk" if assessed else "crowding")
    for key, name, show in policies:
        layers.append(RasterLayer(name, m.risk[key].classes, grid, categories=cats, show=show, opacity=0.75,
                                  legend=legend))
    spots = m.hotspots
    if len(spots) and assessed:
        for key, policy, label in (("bau", "business as usual", "if nothing is done"),
                                   ("planned", "planned", "with the plan")):
            sub = spots[spots["policy"] == policy]
            layers.append(VectorLayer(
                f"High-risk areas, {label}", sub, pal.HOTSPOT_STYLE,
                tooltip_fields={"hectares": "hectares", "people": "expected new residents",
                                "hazard_share": "share on hazard land"},
                legend="high-risk areas of 1 ha or more", show=key == "bau"))
    layers.append(arterials_layer(m, show=False))
    layers += context_layers(m.stack)
    layers += _labels(m.stack)
    title = ("where informal settlements are likely to form" if assessed else
             "where unplanned growth will crowd (risk not assessed)")
    return make_map(m.catalog.name, _subtitle(m, title), grid, layers, shade, m.catalog.synthetic,
                    notes=map_notes(m, "risk.html"))


def arterials_layer(m, show: bool = True) -> VectorLayer:
    """Existing arterials in black, planned ones by the year to secure them (when phased), the
    legend listing each year (as index.html's table of phases) and existing arterials if any."""
    arts = m.plan.arterials
    sc = m.scenario
    spacing = distance_text(sc.plan.arterial_spacing_m)
    width = f"{sc.plan.arterial_width_m:g} m"
    tips = {"kind": "kind", "length_m": "length (m)", "width_m": "right-of-way (m)"}
    if "sector" in arts.columns:  # one grid orientation per sector of the city (0: between two sectors)
        tips.update({"sector": "sector of the city (0: on a boundary)",
                     "bearing_deg": "grid orientation (°)"})
    kinds = set(arts["kind"]) if "kind" in arts.columns else set()
    existing = [({"color": pal.ARTERIAL_COLOURS["existing"], "weight": 3}, "existing arterial")] \
        if "existing" in kinds else []
    years = []
    if "phase_year" in arts.columns:
        planned_years = arts.loc[arts["kind"] == "planned", "phase_year"].dropna()
        years = sorted({int(y) for y in planned_years if y > 0})  # existing arterials carry 0
    if years:
        colours = phase_colours(years)
        # sooner: darker and thicker
        weights = {y: round(4.5 - 2.5 * i / max(1, len(colours) - 1), 2) for i, y in enumerate(colours)}

        def style(p: dict) -> dict:
            year = num(p.get("phase_year"))
            if p.get("kind") == "planned" and year is not None and int(year) in colours:
                return {"color": colours[int(year)], "weight": weights[int(year)]}
            return _arterial_style(p)

        tips["phase_year"] = "secure by"
        legend = f"proposed: {width} rights-of-way, about {spacing} apart, to secure by"
        items = [({"color": colours[y], "weight": weights[y]}, f"{y}") for y in years] + existing
    else:
        style = _arterial_style
        legend = f"proposed: {width} rights-of-way, about {spacing} apart"
        items = [({"color": pal.ARTERIAL_COLOURS["planned"], "weight": 3}, "proposed arterial")] + existing
    return VectorLayer("Arterial roads", arts, style, tooltip_fields=tips, legend=legend, show=show,
                       legend_items=items)


def _arterial_style(p: dict) -> dict:
    return {"color": pal.ARTERIAL_COLOURS.get(p.get("kind"), pal.ARTERIAL_COLOURS["planned"]), "weight": 3}


#: Open space kinds of plan.gpkg in the legend's words, in the legend's order.
OPEN_SPACE_LABELS = (("floodplain", "floodplain"), ("steep_slope", "steep slope"),
                     ("protected", "protected land (forests, reserves)"), ("park", "park"),
                     ("wetland", "wetland"))


def open_space_layer(open_space) -> VectorLayer:
    """The plan's open space by kind, the legend listing the kinds the plan protects (Rionegro's is
    all protected land: the legend named floodplains, steep slopes and parks too)."""
    kinds = set(open_space["kind"]) if "kind" in open_space.columns else set()
    items = [(_open_space_style({"kind": k}), label) for k, label in OPEN_SPACE_LABELS if k in kinds]
    items += [(_open_space_style({"kind": k}), str(k)) for k in sorted(map(str, kinds))
              if k not in dict(OPEN_SPACE_LABELS)]
    return VectorLayer("Open space", open_space, _open_space_style,
                       tooltip_fields={"kind": "kind", "hectares": "hectares"},
                       legend="public open space to protect", legend_items=items)


def _open_space_style(p: dict) -> dict:
    colour = pal.OPEN_SPACE_COLOURS.get(p.get("kind"), pal.OPEN_SPACE_DEFAULT)
    return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.45}


def expansion_map(m, shade) -> str:
    grid = m.stack.grid
    sc = m.scenario
    years = [r.year for r in m.demand]
    plan = m.plan
    layers = [
        RasterLayer("Growth by period, if nothing is done", m.bau.urbanization_year, grid,
                    categories=period_categories(years), opacity=0.8,
                    legend="when land is built up if nothing is done, in one simulation"),
        RasterLayer("Growth by period, with the plan", m.planned.urbanization_year, grid,
                    categories=period_categories(years), opacity=0.8, show=False,
                    legend="when land is built up under the plan"),
        RasterLayer("Likelihood of growth", m.bau.probability, grid, colormap=pal.PROBABILITY_RAMP,
                    vmin=0, vmax=1, show=False, opacity=0.75,
                    legend=f"probability that land is built up by {sc.horizon_year} if nothing is done "
                           "(checked against past growth)"),
        VectorLayer("Expansion area", plan.expansion_gdf, pal.EXPANSION_AREA_STYLE,
                    tooltip_fields={"hectares": "hectares"},
                    legend=f"land proposed for the growth to {sc.horizon_year}, with room to spare"),
        open_space_layer(plan.open_space),
        VectorLayer("Rights-of-way", plan.row_gdf, pal.RIGHT_OF_WAY_STYLE,
                    legend=f"{sc.plan.arterial_width_m:g} m strips kept free for the arterials", show=False),
        arterials_layer(m),
    ]
    spots = m.hotspots
    if len(spots) and risk_assessed(m.summary):
        layers.append(VectorLayer(
            "High-risk areas, if nothing is done", spots[spots["policy"] == "business as usual"],
            pal.HOTSPOT_STYLE,
            tooltip_fields={"hectares": "hectares", "people": "expected new residents"},
            legend="where informal settlements are likely without the plan", show=False))
    layers += context_layers(m.stack)
    layers += _labels(m.stack)
    return make_map(m.catalog.name, _subtitle(m, "the proposed expansion plan"), grid, layers, shade,
                    m.catalog.synthetic, notes=map_notes(m, "expansion.html"))


PAGES = (("expansion.html", "Expansion plan: growth, expansion area, arterials, open space", expansion_map),
         ("risk.html", "Informal-settlement risk, with and without the plan", risk_map),
         ("suitability.html", "Land suitability and constraints", suitability_map))


def _terrain(stack) -> Overlay | None:
    """The hillshade background, drawn once for all the maps of a run (None without a DEM)."""
    return terrain_overlay(stack.dem, stack.grid) if stack.dem is not None else None


def run_date() -> str:
    """The date of the run (UTC, YYYY-MM-DD), shown on the pages and static maps.

    ``SOURCE_DATE_EPOCH`` (seconds, the reproducible-builds convention) fixes it,
    so a rebuild on another day gives the same bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = int(epoch) if epoch and epoch.strip().isdigit() else int(time.time())
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def run_provenance(m, date: str) -> dict:
    """Data sources and years, run date and version, for the pages."""
    from importlib import metadata

    try:
        version = metadata.version("expansion")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "unknown"
    sources = [{"role": e.role, "file": e.path_as_written, "year": e.year} for e in m.catalog.layers]
    return {"run_date": date, "version": version, "catalog": m.catalog.name, "sources": sources}


def render_run(m, folder: Path) -> None:
    """Write index.html, the three maps and the static PNG maps of a computed run into ``folder``."""
    from .static import write_static_maps

    stack = m.stack
    shade = _terrain(stack)
    links = []
    for name, label, make in PAGES:
        write_html(folder / name, make(m, shade))
        links.append((label, name))
    date = run_date()
    images = write_static_maps(m, folder, date)
    page = index_page(m.summary, m.demand, links, title=m.catalog.name, synthetic=m.catalog.synthetic,
                      parameters=dataclasses.asdict(m.scenario), provenance=run_provenance(m, date),
                      images=images)
    write_html(folder / "index.html", page)


def backtest_map(stack, sc, res: dict, agreement: np.ndarray) -> str:
    """Hits, misses and false alarms of a backtest on one map."""
    shade = _terrain(stack)
    labels = {1: "hit: predicted and observed", 2: "miss: observed, not predicted",
              3: "false alarm: predicted, not observed"}
    cats = {k: (label, pal.hex_colour(pal.BACKTEST_COLOURS[k])) for k, label in labels.items()}
    n = res["null_models"]["nearest_builtup"]["fom"]
    subtitle = (f"{sc.name}: test on {res['base_year']}-{res['observed_year']}, figure of merit "
                f"{res['fom'] * 100:.0f} % (simple rule of growing next to the city: {n * 100:.0f} %)")
    layers = [RasterLayer("Test against observed growth", agreement, stack.grid, categories=cats,
                          opacity=0.85,
                          legend=f"new built-up land {res['base_year']}-{res['observed_year']}, one "
                                 "simulation against what was observed"),
              *context_layers(stack)]
    # a backtest folder has no summary page: the caveats box links nowhere
    return make_map(stack.name, subtitle, stack.grid, layers, shade, stack.synthetic, notes=res["warnings"],
                    summary_page=None)
