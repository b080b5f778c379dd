"""The run's summary page and the comparison of runs.

Pure functions: a run's ``summary.json`` (as a dict) and demand rows in, HTML
or text out. The pages follow the same rules as the maps (see
:mod:`expansion.maps`): no network (no external script, style, font or
image; the chart is inline SVG written here), every user string HTML-escaped,
and the same inputs give byte-identical output.

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

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

NOT_COMPUTED = "not computed yet"

POLICIES = (("bau", "business as usual"), ("planned", "with the plan"))

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0;
  color: #1b1b1b; background: #f6f5f1; line-height: 1.45; }
main { max-width: 960px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 28px 0 8px; }
.sub { color: #444; margin: 0; }
.badge { display: inline-block; margin-top: 8px; padding: 3px 10px; border-radius: 12px;
  background: #c0392b; color: #fff; font-size: 13px; font-weight: 600; }
.facts { list-style: none; padding: 0; margin: 0; display: grid;
  grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px; }
.facts li { background: #fff; border-radius: 6px; padding: 10px 12px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.facts .v { display: block; font-size: 22px; font-weight: 700; }
.facts .na { font-size: 15px; font-weight: 400; color: #777; font-style: italic; }
.facts .k { color: #444; font-size: 14px; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
th, td { padding: 5px 10px; border-bottom: 1px solid #ddd; text-align: right;
  font-variant-numeric: tabular-nums; }
th { background: #ecebe6; font-size: 13px; }
td:first-child, th:first-child { text-align: left; }
.maps a { display: inline-block; margin: 0 10px 8px 0; padding: 8px 14px; background: #1f5f8b; color: #fff;
  border-radius: 6px; text-decoration: none; font-weight: 600; }
.maps a:hover { background: #174a6c; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-bottom: 16px; }
.charts svg { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.note { color: #555; font-size: 13px; }
.scroll { overflow-x: auto; }
"""


# ---------------------------------------------------------------- helpers


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _num(value: Any) -> float | None:
    """A finite float, or None (missing, not a number, NaN, inf)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt(value: Any, kind: str = "int") -> str | None:
    """Format a number for people: ``int`` (1,234), ``km`` (12.3), ``pct`` (12 %)
    or ``dec`` (one decimal); None when the value is missing."""
    v = _num(value)
    if v is None:
        return None
    if kind == "pct":
        return f"{v * 100:.0f} %"
    if kind in ("km", "dec"):
        return f"{v:,.1f}"
    return f"{round(v):,}"


def _risk(summary: Mapping, policy: str, key: str) -> Any:
    risk = summary.get("risk")
    if not isinstance(risk, Mapping):
        return None
    entry = risk.get(policy)
    return entry.get(key) if isinstance(entry, Mapping) else None


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _safe_href(href: str) -> str:
    """A link target that cannot run script: relative paths and http(s) only."""
    scheme = urlsplit(str(href)).scheme.lower()
    if scheme not in ("", "http", "https"):
        return "#"
    return _esc(quote(str(href), safe="/:#?&=%~.-_"))


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
                      fmt(_risk(summary, key, "high_risk_people"))))
    for key, label in POLICIES:
        facts.append((f"hectares at high risk, {label}", fmt(_risk(summary, key, "high_risk_ha"))))
    for key, label in POLICIES:
        facts.append((f"share of new growth on flood-prone or steep land, {label}",
                      fmt(_risk(summary, key, "hazard_share"), "pct")))
    return facts


def _facts_html(summary: Mapping) -> str:
    items = []
    for label, value in summary_facts(summary):
        v = f'<span class="v">{_esc(value)}</span>' if value is not None else \
            f'<span class="v na">{NOT_COMPUTED}</span>'
        items.append(f'<li>{v}<span class="k">{_esc(label)}</span></li>')
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
    head = "".join(f"<th>{_esc(label)}</th>" for _, label, _ in _DEMAND_COLUMNS)
    body = []
    for row in rows:
        cells = []
        for key, _, kind in _DEMAND_COLUMNS:
            raw = _get(row, key)
            if kind == "year":
                v = _num(raw)
                text = str(int(v)) if v is not None else None
            else:
                text = fmt(raw, kind)
            cells.append(f"<td>{_esc(text) if text is not None else '&ndash;'}</td>")
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
    v = _num(value)
    if v is None:
        return "&ndash;"
    if kind == "pct1":
        return f"{v * 100:.1f} %"
    if kind == "dec2":
        return f"{v:.2f}"
    return _esc(fmt(v, kind))


def metrics_tables(summary: Mapping) -> str:
    """The plan metrics and the Atlas of Urban Expansion metrics as HTML tables ('' if absent)."""
    parts = []
    plan = summary.get("plan")
    if isinstance(plan, Mapping) and plan:
        rows = "\n".join(f"<tr><td>{_esc(label)}</td><td>{_fmt_metric(plan.get(key), kind)}</td></tr>"
                         for key, label, kind in PLAN_ROWS)
        parts.append("<h3>The plan</h3>\n<table>\n<tbody>\n" + rows + "\n</tbody></table>")
    atlas = summary.get("metrics")
    atlas = atlas if isinstance(atlas, Mapping) else {}
    cols = [(k, lb) for k, lb in ATLAS_COLUMNS if isinstance(atlas.get(k), Mapping)]
    if cols:
        head = "<th>Atlas of Urban Expansion metric</th>" + "".join(f"<th>{_esc(lb)}</th>" for _, lb in cols)
        rows = "\n".join(
            f"<tr><td>{_esc(label)}</td>" + "".join(
                f"<td>{_fmt_metric(atlas[k].get(key), kind)}</td>" for k, _ in cols) + "</tr>"
            for key, label, kind in ATLAS_ROWS)
        parts.append("<h3>The city's form</h3>\n<div class=\"scroll\"><table>\n<thead><tr>" + head
                     + "</tr></thead>\n<tbody>\n" + rows + "\n</tbody></table></div>")
    return "\n".join(parts)


# ---------------------------------------------------------------- SVG chart


def _nice_step(span: float, target: int = 4) -> float:
    if span <= 0:
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag  # pragma: no cover - the loop always returns


def _short(v: float, top: float) -> str:
    """An axis label; the scale (M, k) is chosen from the axis top so all labels agree."""
    if top >= 1e6:
        return f"{v / 1e6:g}M"
    if top >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def line_chart(xs: Sequence[float], ys: Sequence[float | None], title: str, colour: str,
               width: int = 440, height: int = 240) -> str:
    """A small inline SVG line chart (years on x, one series on y from 0)."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if _num(x) is not None and _num(y) is not None]
    if len(pts) < 1:
        return ""
    left, right, top, bottom = 62, 16, 34, 30
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    ymax = max(p[1] for p in pts)
    step = _nice_step(ymax if ymax > 0 else 1.0)
    ytop = step * max(1, math.ceil(ymax / step)) if ymax > 0 else step

    def sx(x: float) -> float:
        return left + (pw * (x - x0) / (x1 - x0) if x1 > x0 else pw / 2)

    def sy(y: float) -> float:
        return top + ph * (1 - y / ytop)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}">',
           f"<title>{_esc(title)}</title>",
           f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#222">{_esc(title)}</text>']
    k = 0
    while k * step <= ytop + 1e-9:
        y = sy(k * step)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e2e2"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                   f'fill="#555">{_esc(_short(k * step, ytop))}</text>')
        k += 1
    years = sorted({p[0] for p in pts})
    every = max(1, math.ceil(len(years) / 7))
    for i, x in enumerate(years):
        if i % every == 0 or i == len(years) - 1:
            out.append(f'<text x="{sx(x):.1f}" y="{top + ph + 18}" font-size="11" text-anchor="middle" '
                       f'fill="#555">{int(x)}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts))
    out.append(f'<path d="{path}" fill="none" stroke="{_esc(colour)}" stroke-width="2.5"/>')
    for x, y in pts:
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{_esc(colour)}">'
                   f"<title>{int(x)}: {_esc(fmt(y))}</title></circle>")
    out.append("</svg>")
    return "\n".join(out)


def demand_charts(rows: Sequence[Any]) -> str:
    """Population and built-up land needed by year, as two inline SVG charts."""
    xs = [_get(r, "year") for r in rows]
    pop = line_chart(xs, [_get(r, "population") for r in rows], "Population (people)", "#1f5f8b")
    land = line_chart(xs, [_get(r, "land_need_ha") for r in rows], "Built-up land needed (hectares)",
                      "#c0602b")
    if not (pop or land):
        return ""
    return f'<div class="charts">\n{pop}\n{land}\n</div>'


# ---------------------------------------------------------------- pages


def _heading(title: str, subtitle: str, synthetic: bool) -> str:
    badge = ('\n<div class="badge">SYNTHETIC DATA - a made-up city for testing and demonstration</div>'
             if synthetic else "")
    return f"<header>\n<h1>{_esc(title)}</h1>\n<p class=\"sub\">{_esc(subtitle)}</p>{badge}\n</header>"


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
    parts = [_heading(title, " | ".join(sub) or "Urban expansion plan", synthetic)]
    parts.append("<h2>What this plan says</h2>")
    parts.append(_facts_html(summary))
    if links:
        parts.append("<h2>Maps</h2>")
        parts.append('<p class="maps">' + "".join(
            f'<a href="{_safe_href(href)}">{_esc(label)}</a>' for label, href in links) + "</p>")
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
    return _page(page_title, "\n".join(parts))


# ---------------------------------------------------------------- comparison

COMPARE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("scenario", "scenario"),
    ("city", "city"),
    ("horizon_year", "horizon"),
    ("population_horizon", "population at horizon"),
    ("land_need_ha", "land need (ha)"),
    ("new_land_ha", "new land (ha)"),
    ("expansion_area_ha", "expansion area (ha)"),
    ("arterials_planned_km", "arterials (km)"),
    ("risk.bau.high_risk_people", "people at high risk, BAU"),
    ("risk.planned.high_risk_people", "people at high risk, planned"),
    ("risk.bau.high_risk_ha", "high-risk ha, BAU"),
    ("risk.planned.high_risk_ha", "high-risk ha, planned"),
)


def _run_summary(run: Mapping) -> Mapping:
    """A run dict is either summary.json itself or ``{"summary": ..., "demand": ...}``."""
    inner = run.get("summary")
    return inner if isinstance(inner, Mapping) else run


def compare_values(run: Mapping) -> list[str | None]:
    """One run's row for the comparison: formatted values, None when missing."""
    s = _run_summary(run)
    out: list[str | None] = []
    for key, _ in COMPARE_COLUMNS:
        if key.startswith("risk."):
            _, policy, field = key.split(".")
            out.append(fmt(_risk(s, policy, field)))
        elif key in ("scenario", "city"):
            v = s.get(key)
            out.append(str(v) if v is not None else None)
        elif key == "horizon_year":
            v = _num(s.get(key))
            out.append(str(int(v)) if v is not None else None)
        elif key == "arterials_planned_km":
            out.append(fmt(s.get(key), "km"))
        else:
            out.append(fmt(s.get(key)))
    return out


def compare_table(runs: Sequence[Mapping]) -> str:
    """The comparison as a plain-text table for the terminal (one row per run).

    Missing values show as ``-``.
    """
    header = [label for _, label in COMPARE_COLUMNS]
    rows = [[v if v is not None else "-" for v in compare_values(r)] for r in runs]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def compare_page(runs: Sequence[Mapping]) -> str:
    """An HTML page comparing runs side by side, with each run's population and land charts."""
    summaries = [_run_summary(r) for r in runs]
    synthetic = any(bool(s.get("synthetic")) for s in summaries)
    cities = sorted({str(s.get("city")) for s in summaries if s.get("city") is not None})
    title = "Scenario comparison" + (f": {', '.join(cities)}" if cities else "")
    parts = [_heading(title, f"{len(runs)} run(s) side by side", synthetic)]
    head = "".join(f"<th>{_esc(label)}</th>" for _, label in COMPARE_COLUMNS)
    body = []
    for run in runs:
        cells = "".join(f"<td>{_esc(v) if v is not None else '&ndash;'}</td>" for v in compare_values(run))
        body.append(f"<tr>{cells}</tr>")
    parts.append("<h2>Headline numbers</h2>")
    parts.append('<div class="scroll"><table>\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n"
                 + "\n".join(body) + "\n</tbody></table></div>")
    parts.append('<p class="note">BAU = business as usual (no plan). A dash means the run did not '
                 f"compute that number ({NOT_COMPUTED}).</p>")
    for run, s in zip(runs, summaries):
        rows = run.get("demand") or run.get("demand_rows") or []
        charts = demand_charts(rows)
        if charts:
            parts.append(f"<h2>{_esc(s.get('scenario', 'run'))}</h2>")
            parts.append(charts)
    return _page(title, "\n".join(parts))
