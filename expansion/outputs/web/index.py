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

from .assumptions import (
    NOT_ASSESSED,
    arterial_text,
    assumption_rows,
    caveats_html,
    horizon_years,
    not_assessed,
    provenance_html,
)
from .charts import demand_charts
from .html_page import (
    NOT_COMPUTED,
    POLICIES,
    RISK_NOT_ASSESSED,
    document,
    esc,
    fmt,
    heading,
    num,
    risk_assessed,
    risk_value,
    safe_href,
    value_of,
)
from .sections import (
    density_sentence,
    enforcement_html,
    land_range_sentence,
    migration_sentence,
    next_steps,
    no_high_risk_sentence,
    phases_html,
    unmet_sentence,
)

# ---------------------------------------------------------------- facts


def summary_facts(summary: Mapping, parameters: Mapping | None = None) -> list[tuple[str, str | None]]:
    """The headline numbers as (plain-language label, formatted value or None).

    The wording takes its years and plan dimensions from the run (``summary``)
    and the scenario (``parameters``, as in run.json), never from defaults.
    """
    base, horizon = horizon_years(summary, parameters)
    by = f"by {horizon}" if horizon is not None else "by the horizon"
    period = f"{base}-{horizon}" if base is not None and horizon is not None else "over the period"
    pop_base = fmt(summary.get("population_base"))
    facts: list[tuple[str, str | None]] = [
        (f"people expected to live in the city {by}"
         + (f" (from {pop_base} in {base})" if pop_base and base is not None else ""),
         fmt(summary.get("population_horizon"))),
        (f"hectares of built-up land the city will need {by}", fmt(summary.get("land_need_ha"))),
        (f"hectares of new land to urbanize, {period} (central estimate)", fmt(summary.get("new_land_ha"))),
        (f"hectares of expansion area proposed for the growth to {horizon or 'the horizon'}",
         fmt(summary.get("expansion_area_ha"))),
        ("km of arterial roads to secure" + arterial_text(parameters),
         fmt(summary.get("arterials_planned_km"), "km")),
        ("hectares of public open space to protect", fmt(summary.get("open_space_ha"))),
    ]
    # without hazard data a 0 would read as "no risk": say it was not assessed instead
    unassessed = NOT_ASSESSED["hazard"] if "hazard" in not_assessed(summary) else None
    if not risk_assessed(summary):  # neither hazard nor roads: the figures measure crowding, not risk
        return facts + [
            ("people likely to settle on high-risk land, if nothing is done and with the plan",
             RISK_NOT_ASSESSED),
            ("share of new growth on flood-prone or steep land", unassessed or RISK_NOT_ASSESSED)]

    def risk_fact(key: str, field: str, kind: str = "int") -> str | None:
        value = risk_value(summary, key, field)
        if unassessed and (field == "hazard_share" or not num(value)):
            return unassessed
        return fmt(value, kind)

    def partial(value: str | None) -> str:
        return " (flood-prone and steep land not assessed)" if unassessed and value != unassessed else ""

    for key, label in POLICIES:
        value = risk_fact(key, "high_risk_people")
        facts.append((f"people likely to settle on high-risk land, {label}" + partial(value), value))
    for key, label in POLICIES:
        value = risk_fact(key, "high_risk_ha")
        facts.append((f"hectares at high risk, {label}" + partial(value), value))
    for key, label in POLICIES:
        facts.append((f"share of new growth on flood-prone or steep land, {label}",
                      risk_fact(key, "hazard_share", "pct")))
    risk = summary.get("risk")
    living = num(risk.get("residents_on_hazard_land")) if isinstance(risk, Mapping) else None
    if living is not None and not unassessed:  # from the population layer, where the catalog has one
        facts.append(("people already living on flood-prone or steep land (population layer)", fmt(living)))
    return facts


def _facts_html(summary: Mapping, parameters: Mapping | None) -> str:
    items = []
    for label, value in summary_facts(summary, parameters):
        if value is None:
            v = f'<span class="v na">{NOT_COMPUTED}</span>'
        elif value in NOT_ASSESSED.values() or value == RISK_NOT_ASSESSED:
            v = f'<span class="v na">{esc(value)}</span>'
        else:
            v = f'<span class="v">{esc(value)}</span>'
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
    return ('<div class="scroll"><table>\n<caption>Amounts the scenario implies (neither higher nor lower is '
            'better).</caption>\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n"
            + "\n".join(body) + "\n</tbody></table></div>")


# ---------------------------------------------------------------- plan and Atlas metrics

#: (key, label, format, which way is better)
PLAN_ROWS = (
    ("arterials_planned_km", "proposed arterials (km)", "km", "an amount to secure"),
    ("arterials_existing_km", "existing arterials inside the expansion area (km)", "km", "an amount"),
    ("crossings_km", "proposed arterials on land already built (km)", "km", "lower is better"),
    ("arterial_spacing_m", "arterial spacing, 2 x area / length (m)", "int",
     "close to the scenario's spacing"),
    ("row_share", "share of the expansion area in rights-of-way", "pct1", "about 6 % (NYU guide)"),
    ("within_500m_share", "share of the expansion area within 500 m of an arterial", "pct1",
     "higher is better"),
    ("bau_growth_share", "share of the city's expected growth (if nothing is done) inside today's city or "
     "the expansion area", "pct1", "85 % or more"),
    ("bau_growth_in_area_share", "share of all expected growth inside the expansion area", "pct1",
     "higher is better"),
    ("bau_growth_infill_share", "share of all expected growth inside today's city (infill), outside the "
     "expansion area", "pct1", "an amount"),
    ("bau_growth_outlying_share", "share of all expected growth around outlying villages, which this plan "
     "does not cover", "pct1", "plan them separately when large"),
    ("bau_growth_best_share", "the most an expansion area of this size could hold of the city's expected "
     "growth (the land likeliest to be built, however scattered)", "pct1", "an upper bound"),
    ("compactness", "compactness of the expansion area (1 = a circle)", "dec2", "higher is better"),
    ("open_space_ha", "public open space protected (ha)", "int", "higher is better"),
    ("expansion_area_ha", "expansion area (ha)", "int", "an amount"),
    ("new_land_ha", "open land that can be built inside the expansion area (ha)", "int",
     "at least the new land the plan is sized for"),
    ("land_need_ha", "new land the plan is sized for: the high end of the need by the horizon (ha)", "int",
     "an amount"),
    ("expansion_vs_need", "expansion area / new land the plan is sized for (high end)", "dec2",
     "above 1 leaves room to spare"),
)

#: Plan rows shown only when they have a value (the best share is measured only when the plan falls short).
OPTIONAL_PLAN_ROWS = frozenset({"bau_growth_best_share"})

ATLAS_ROWS = (
    ("builtup_ha", "built-up area (ha)", "int", "an amount"),
    ("urban_ha", "urban built-up: 50 % or more built within 564 m (ha)", "int", "an amount"),
    ("suburban_ha", "suburban built-up: 25-50 % (ha)", "int", "an amount"),
    ("rural_ha", "rural built-up: under 25 % (ha)", "int", "lower is more compact"),
    ("fringe_open_space_ha", "fringe open space, within 100 m of urban or suburban (ha)", "int",
     "lower is more compact"),
    ("captured_open_space_ha", "captured open space, enclosed clusters under 200 ha (ha)", "int",
     "lower is more compact"),
    ("urban_extent_ha", "urban extent (ha)", "int", "an amount"),
    ("builtup_density_pph", "built-up area density (people per ha)", "dec", "higher uses less land"),
    ("extent_density_pph", "urban extent density (people per ha)", "dec", "higher uses less land"),
    ("openness_index", "openness index (share open in the walking circle)", "dec2", "lower is more compact"),
)

ATLAS_COLUMNS = (("base", "base year"), ("horizon_bau", "horizon, if nothing is done"),
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
        rows = "\n".join(f"<tr><td>{esc(label)}</td><td>{_fmt_metric(plan.get(key), kind)}</td>"
                         f'<td class="better">{esc(better)}</td></tr>'
                         for key, label, kind, better in PLAN_ROWS
                         if key in plan and not (key in OPTIONAL_PLAN_ROWS and plan[key] is None))
        parts.append("<h3>The proposed plan</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>measure</th>"
                     "<th>value</th><th>which way is better</th></tr></thead>\n<tbody>\n" + rows
                     + "\n</tbody></table></div>")
    atlas = summary.get("metrics")
    atlas = atlas if isinstance(atlas, Mapping) else {}
    cols = [(k, lb) for k, lb in ATLAS_COLUMNS if isinstance(atlas.get(k), Mapping)]
    if cols:
        head = ("<th>Atlas of Urban Expansion metric</th>" + "".join(f"<th>{esc(lb)}</th>" for _, lb in cols)
                + "<th>which way is better</th>")
        rows = "\n".join(
            f"<tr><td>{esc(label)}</td>" + "".join(
                f"<td>{_fmt_metric(atlas[k].get(key), kind)}</td>" for k, _ in cols)
            + f'<td class="better">{esc(better)}</td></tr>'
            for key, label, kind, better in ATLAS_ROWS)
        parts.append("<h3>The city's form</h3>\n<div class=\"scroll\"><table>\n<thead><tr>" + head
                     + "</tr></thead>\n<tbody>\n" + rows + "\n</tbody></table></div>")
    return "\n".join(parts)


#: Terms of the pages, in plain words (index.html's glossary).
GLOSSARY = (
    ("If nothing is done", "what happens if nothing is planned (\"business as usual\"): the city grows "
     "along today's roads, wherever land is easiest to take."),
    ("With the plan", "growth once the proposed arterial roads exist and the open space is protected."),
    ("Built-up land", "land covered by buildings, counted cell by cell on the analysis grid as in the Atlas "
     "of Urban Expansion; density is people per hectare of it."),
    ("Expansion area", "the land proposed for the city's growth, larger than the land needed so that land "
     "stays affordable."),
    ("Arterial road", "a main road carrying traffic and buses across the city; a right-of-way is the strip "
     "of land kept free for it before anything is built."),
    ("High risk", "land where growth is likely and that is flood-prone, steep or far from roads and "
     "services (a risk score of 0.3 or more out of 1): where informal settlements are most likely to form."),
    ("Figure of merit", "how well a model placed growth in a past period it was not fitted on: of all the "
     "land it predicted or that was built, the share both predicted and built, correct / (correct + missed + "
     "wrongly predicted); 100 % is perfect."),
    ("Hectare (ha)", "10,000 square metres; 100 hectares make one square kilometre."),
)


#: In the glossary of a run whose risk was not assessed (no hazard or roads data), instead of "High risk".
CROWDING = ("Crowding", "where unplanned growth is expected to press against dense built-up land (a score of "
            "0.3 or more out of 1 is high): what the risk map shows when the layers cannot tell flood-prone, "
            "steep or unserviced land. It is not a measure of risk.")


def glossary_html(summary: Mapping | None = None) -> str:
    """The glossary; a run whose risk was not assessed explains "crowding" instead of "high risk"."""
    terms = GLOSSARY
    if summary is not None and not risk_assessed(summary):
        terms = tuple(CROWDING if term == "High risk" else (term, text) for term, text in GLOSSARY)
    items = "\n".join(f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in terms)
    return f'<h2>Glossary</h2>\n<dl class="glossary">\n{items}\n</dl>'


def _figures(images: Sequence[tuple[str, str]], printed: int = 2) -> str:
    """The static maps; only the first ``printed`` go on paper (the brief keeps to two pages)."""
    noprint = ' class="noprint"'
    figs = "\n".join(f'<figure{"" if i < printed else noprint}><img src="{safe_href(src)}" '
                      f'alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'
                      for i, (caption, src) in enumerate(images))
    return f'<div class="keymaps">\n{figs}\n</div>'


def _year_of(provenance: Mapping | None) -> int | None:
    """The year of the run from the provenance's ``run_date`` (YYYY-MM-DD), or None."""
    date = str(provenance.get("run_date") or "") if isinstance(provenance, Mapping) else ""
    return int(date[:4]) if date[:4].isdigit() else None


def index_page(summary: Mapping, demand_rows: Sequence[Any], links: Sequence[tuple[str, str]],
               title: str, synthetic: bool, parameters: Mapping | None = None,
               provenance: Mapping | None = None, images: Sequence[tuple[str, str]] = ()) -> str:
    """The run folder's ``index.html``: a brief of the proposal, then the details.

    The brief (printed on at most two A4 pages) has the headline figures, the
    caveats, the key maps, the next steps and the assumptions; the details
    (hidden in print) have the map links, phasing, enforcement, the demand
    charts and table, the metrics, data sources and the glossary.

    Parameters
    ----------
    summary : the run's summary.json as a dict (missing keys are shown as
        "not computed yet"; optional parts are left out).
    demand_rows : rows with ``year``, ``population``, ``density_pph``,
        ``land_need_ha``, ``new_land_ha`` (mappings or objects).
    links : (label, relative path) of each map page, e.g.
        ``("Land suitability", "suitability.html")``.
    title : the heading, usually the city's name (plain text).
    synthetic : show the "synthetic data" badge.
    parameters : the scenario's parameters as in run.json (for the assumptions
        and the plan's dimensions in the text).
    provenance : ``{"run_date", "version", "catalog", "sources": [{"role", "file", "year"}]}``.
    images : (caption, relative path) of the static key maps.
    """
    summary = summary if isinstance(summary, Mapping) else {}
    scenario = summary.get("scenario")
    base, horizon = horizon_years(summary, parameters)
    sub = []
    if scenario is not None:
        sub.append(f"Proposal for the scenario {scenario}")
    if base is not None and horizon is not None:
        sub.append(f"{base} to {horizon}")
    parts = [heading(title, " | ".join(sub) or "Urban expansion proposal", synthetic)]
    parts.append('<section class="brief">')
    parts.append("<h2>The proposal in brief</h2>")
    parts.append(_facts_html(summary, parameters))
    lines = [land_range_sentence(summary), migration_sentence(summary), unmet_sentence(summary),
             no_high_risk_sentence(summary)]
    lines = [t for t in lines if t]
    if lines:
        parts.append('<p class="lead">' + " ".join(esc(t) for t in lines) + "</p>")
    parts.append("<h2>Caveats</h2>")
    parts.append(caveats_html(summary))
    rows = assumption_rows(summary, parameters)
    if rows:
        parts.append("<h2>What this scenario assumes</h2>")
        body = "\n".join(f'<tr><th scope="row">{esc(a)}</th><td>{esc(b)}</td></tr>' for a, b in rows)
        parts.append(f'<table class="assumptions">\n<tbody>\n{body}\n</tbody></table>')
    if images:
        parts.append('<h2 class="pagebreak">Key maps</h2>')
        parts.append(_figures(images))
    parts.append("<h2>Next steps</h2>")
    run_year = _year_of(provenance)
    parts.append("<ol>\n" + "\n".join(f"<li>{esc(s)}</li>" for s in next_steps(summary, run_year))
                 + "\n</ol>")
    phases = phases_html(summary, run_year)
    if phases:
        parts.append(phases)
    parts.append("</section>")
    parts.append('<section class="detail">')
    if links:
        parts.append("<h2>Maps</h2>")
        parts.append('<p class="maps">' + "".join(
            f'<a href="{safe_href(href)}">{esc(label)}</a>' for label, href in links) + "</p>")
        parts.append('<p class="note">The maps open without an internet connection; the '
                     "OpenStreetMap background needs one.</p>")
    enforcement = enforcement_html(summary)
    if enforcement:
        parts.append(enforcement)
    parts.append("<h2>People and land, step by step</h2>")
    charts = demand_charts(demand_rows, summary.get("land_need_range"))
    if charts:
        parts.append(charts)
    density = density_sentence(summary)
    if density:
        parts.append(f"<p>{esc(density)}</p>")
    parts.append(demand_table(demand_rows))
    parts.append('<p class="note">Land needed = population / density of built-up land. '
                 "New land is the growth of that need from one step to the next.</p>")
    tables = metrics_tables(summary)
    if tables:
        parts.append("<h2>Plan and urban form metrics</h2>")
        parts.append(tables)
    parts.append("<h2>Data and method</h2>")
    parts.append(provenance_html(provenance, summary))
    parts.append(glossary_html(summary))
    parts.append("</section>")
    page_title = f"{title} - {scenario}" if scenario is not None else str(title)
    return document(page_title, "\n".join(parts))
