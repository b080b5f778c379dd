"""The run folder's index.html: the plain-language summary of a run.

Pure functions: a run's ``summary.json`` (as a dict) and demand rows in, HTML
out. The pages follow the same rules as the maps (see
:mod:`expansion.outputs.web.leaflet`): no network (no external script, style,
font or image; the charts are inline SVG written here), every user string
HTML-escaped, and the same inputs give byte-identical output.

``summary`` keys read (all optional; a missing one is shown as "not computed
yet"): ``city``, ``scenario``, ``synthetic``, ``base_year``, ``horizon_year``,
``population_base``, ``population_horizon``, ``land_need_ha`` (built-up land
needed at the horizon), ``new_land_ha`` (new land over all steps),
``expansion_area_ha``, ``arterials_planned_km``, ``open_space_ha``,
``risk`` = ``{"bau": {...}, "planned": {...}}`` each with ``high_risk_ha``,
``high_risk_people``, ``hazard_share`` (0 to 1).

Demand rows are mappings or objects with ``year``, ``population``,
``density_pph`` (persons per hectare of built-up), ``land_need_ha``,
``new_land_ha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .charts import demand_charts
from .html_page import (
    NOT_COMPUTED,
    POLICIES,
    document,
    esc,
    fmt,
    heading,
    num,
    risk_value,
    safe_href,
    value_of,
)

# ---------------------------------------------------------------- facts


def summary_facts(summary: Mapping) -> list[tuple[str, str | None]]:
    """The headline numbers as (plain-language label, formatted value or None)."""
    base, horizon = summary.get("base_year"), summary.get("horizon_year")
    by = f"by {horizon}" if horizon is not None else "by the horizon"
    pop_base = fmt(summary.get("population_base"))
    facts: list[tuple[str, str | None]] = [
        (f"people expected to live in the city {by}"
         + (f" (from {pop_base} in {base})" if pop_base and base is not None else ""),
         fmt(summary.get("population_horizon"))),
        (f"hectares of built-up land the city will need {by}", fmt(summary.get("land_need_ha"))),
        ("hectares of new land to urbanize over the period", fmt(summary.get("new_land_ha"))),
        ("hectares of expansion area to plan for 30 years of growth", fmt(summary.get("expansion_area_ha"))),
        ("km of arterial roads to secure (30 m rights-of-way, about 1 km apart)",
         fmt(summary.get("arterials_planned_km"), "km")),
        ("hectares of public open space to protect", fmt(summary.get("open_space_ha"))),
    ]
    for key, label in POLICIES:
        facts.append((f"people at high risk of informal settlement, {label}",
                      fmt(risk_value(summary, key, "high_risk_people"))))
    for key, label in POLICIES:
        facts.append((f"hectares at high risk, {label}", fmt(risk_value(summary, key, "high_risk_ha"))))
    for key, label in POLICIES:
        facts.append((f"share of new growth on flood-prone or steep land, {label}",
                      fmt(risk_value(summary, key, "hazard_share"), "pct")))
    return facts


def _facts_html(summary: Mapping) -> str:
    items = []
    for label, value in summary_facts(summary):
        v = f'<span class="v">{esc(value)}</span>' if value is not None else \
            f'<span class="v na">{NOT_COMPUTED}</span>'
        items.append(f'<li>{v}<span class="k">{esc(label)}</span></li>')
    return '<ul class="facts">\n' + "\n".join(items) + "\n</ul>"


# ---------------------------------------------------------------- demand table

_DEMAND_COLUMNS = (
    ("year", "year", "year"),
    ("population", "population", "int"),
    ("density_pph", "density (people per ha)", "dec"),
    ("land_need_ha", "built-up land needed (ha)", "int"),
    ("new_land_ha", "new land this step (ha)", "int"),
)


def demand_table(rows: Sequence[Any]) -> str:
    """The demand rows as an HTML table (missing cells shown as a dash)."""
    if not rows:
        return f'<p class="note">Demand table: {NOT_COMPUTED}.</p>'
    head = "".join(f"<th>{esc(label)}</th>" for _, label, _ in _DEMAND_COLUMNS)
    body = []
    for row in rows:
        cells = []
        for key, _, kind in _DEMAND_COLUMNS:
            raw = value_of(row, key)
            if kind == "year":
                v = num(raw)
                text = str(int(v)) if v is not None else None
            else:
                text = fmt(raw, kind)
            cells.append(f"<td>{esc(text) if text is not None else '&ndash;'}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="scroll"><table>\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n"
            + "\n".join(body) + "\n</tbody></table></div>")


# ---------------------------------------------------------------- plan and Atlas metrics

PLAN_ROWS = (
    ("arterials_planned_km", "planned arterials (km)", "km"),
    ("arterials_existing_km", "existing arterials inside the expansion area (km)", "km"),
    ("arterial_spacing_m", "arterial spacing, 2 x area / length (m)", "int"),
    ("row_share", "share of the expansion area in rights-of-way (NYU: about 6 %)", "pct1"),
    ("within_500m_share", "share of the expansion area within 500 m of an arterial", "pct1"),
    ("open_space_ha", "public open space protected (ha)", "int"),
    ("expansion_area_ha", "expansion area (ha)", "int"),
    ("land_need_ha", "new land needed by the horizon (ha)", "int"),
    ("expansion_vs_need", "expansion area / land need", "dec2"),
)

ATLAS_ROWS = (
    ("builtup_ha", "built-up area (ha)", "int"),
    ("urban_ha", "urban built-up: 50 % or more built within 564 m (ha)", "int"),
    ("suburban_ha", "suburban built-up: 25-50 % (ha)", "int"),
    ("rural_ha", "rural built-up: under 25 % (ha)", "int"),
    ("fringe_open_space_ha", "fringe open space, within 100 m of urban or suburban (ha)", "int"),
    ("captured_open_space_ha", "captured open space, enclosed clusters under 200 ha (ha)", "int"),
    ("urban_extent_ha", "urban extent (ha)", "int"),
    ("builtup_density_pph", "built-up area density (people per ha)", "dec"),
    ("extent_density_pph", "urban extent density (people per ha)", "dec"),
    ("openness_index", "openness index (share open in the walking circle)", "dec2"),
)

ATLAS_COLUMNS = (("base", "base year"), ("horizon_bau", "horizon, business as usual"),
                 ("horizon_planned", "horizon, with the plan"))


def _fmt_metric(value: Any, kind: str) -> str:
    v = num(value)
    if v is None:
        return "&ndash;"
    if kind == "pct1":
        return f"{v * 100:.1f} %"
    if kind == "dec2":
        return f"{v:.2f}"
    return esc(fmt(v, kind))


def metrics_tables(summary: Mapping) -> str:
    """The plan metrics and the Atlas of Urban Expansion metrics as HTML tables ('' if absent)."""
    parts = []
    plan = summary.get("plan")
    if isinstance(plan, Mapping) and plan:
        rows = "\n".join(f"<tr><td>{esc(label)}</td><td>{_fmt_metric(plan.get(key), kind)}</td></tr>"
                         for key, label, kind in PLAN_ROWS)
        parts.append("<h3>The plan</h3>\n<table>\n<tbody>\n" + rows + "\n</tbody></table>")
    atlas = summary.get("metrics")
    atlas = atlas if isinstance(atlas, Mapping) else {}
    cols = [(k, lb) for k, lb in ATLAS_COLUMNS if isinstance(atlas.get(k), Mapping)]
    if cols:
        head = "<th>Atlas of Urban Expansion metric</th>" + "".join(f"<th>{esc(lb)}</th>" for _, lb in cols)
        rows = "\n".join(
            f"<tr><td>{esc(label)}</td>" + "".join(
                f"<td>{_fmt_metric(atlas[k].get(key), kind)}</td>" for k, _ in cols) + "</tr>"
            for key, label, kind in ATLAS_ROWS)
        parts.append("<h3>The city's form</h3>\n<div class=\"scroll\"><table>\n<thead><tr>" + head
                     + "</tr></thead>\n<tbody>\n" + rows + "\n</tbody></table></div>")
    return "\n".join(parts)


def index_page(summary: Mapping, demand_rows: Sequence[Any], links: Sequence[tuple[str, str]],
               title: str, synthetic: bool) -> str:
    """The run folder's ``index.html``: plain-language summary, charts, demand table, map links.

    Parameters
    ----------
    summary : the run's summary.json as a dict (missing keys are shown as
        "not computed yet").
    demand_rows : rows with ``year``, ``population``, ``density_pph``,
        ``land_need_ha``, ``new_land_ha`` (mappings or objects).
    links : (label, relative path) of each map page, e.g.
        ``("Land suitability", "suitability.html")``.
    title : the heading, usually the city's name (plain text).
    synthetic : show the "synthetic data" badge.
    """
    summary = summary if isinstance(summary, Mapping) else {}
    scenario = summary.get("scenario")
    base, horizon = summary.get("base_year"), summary.get("horizon_year")
    sub = []
    if scenario is not None:
        sub.append(f"Scenario: {scenario}")
    if base is not None and horizon is not None:
        sub.append(f"{base} to {horizon}")
    parts = [heading(title, " | ".join(sub) or "Urban expansion plan", synthetic)]
    parts.append("<h2>What this plan says</h2>")
    parts.append(_facts_html(summary))
    if links:
        parts.append("<h2>Maps</h2>")
        parts.append('<p class="maps">' + "".join(
            f'<a href="{safe_href(href)}">{esc(label)}</a>' for label, href in links) + "</p>")
        parts.append('<p class="note">The maps open without an internet connection; the '
                     "OpenStreetMap background needs one.</p>")
    parts.append("<h2>People and land, step by step</h2>")
    charts = demand_charts(demand_rows)
    if charts:
        parts.append(charts)
    parts.append(demand_table(demand_rows))
    parts.append('<p class="note">Land needed = population / density of built-up land. '
                 "New land is the growth of that need from one step to the next.</p>")
    tables = metrics_tables(summary)
    if tables:
        parts.append("<h2>Plan and urban form metrics</h2>")
        parts.append(tables)
    page_title = f"{title} - {scenario}" if scenario is not None else str(title)
    return document(page_title, "\n".join(parts))

