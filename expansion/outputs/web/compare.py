"""The comparison of runs: a terminal table and an HTML page for a council.

A run is a dict: summary.json's keys, or ``{"summary": ..., "demand": ...}``;
optionally ``parameters`` (the scenario's, from run.json), ``plan_layers``
(``{"expansion_area": gdf, "arterials": gdf}`` from plan.gpkg), ``href`` (a
link to its index.html) and ``folder``. The page shows each run's assumptions
beside its results, differences against a baseline, one chart per quantity
with every scenario on the same axes, a map of the land and arterials needed
in every scenario (no-regret), each run's caveats and links; it prints on A4
without cutting columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .assumptions import assumption_rows, skill_sentence, warnings_of
from .charts import chart, styled
from .compare_map import comparison_svg, no_regret
from .html_page import (
    NOT_COMPUTED,
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

COMPARE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("scenario", "scenario"),
    ("city", "city"),
    ("horizon_year", "horizon"),
    ("population_horizon", "population at horizon"),
    ("land_need_ha", "land need (ha)"),
    ("new_land_ha", "new land (ha)"),
    ("expansion_area_ha", "expansion area (ha)"),
    ("arterials_planned_km", "arterials (km)"),
    ("risk.bau.high_risk_people", "people at high risk, if nothing is done"),
    ("risk.planned.high_risk_people", "people at high risk, with the plan"),
    ("risk.bau.high_risk_ha", "high-risk ha, if nothing is done"),
    ("risk.planned.high_risk_ha", "high-risk ha, with the plan"),
)


def _run_summary(run: Mapping) -> Mapping:
    """A run dict is either summary.json itself or ``{"summary": ..., "demand": ...}``."""
    inner = run.get("summary")
    return inner if isinstance(inner, Mapping) else run


#: A risk figure of a run that could assess neither hazard nor roads (see ``html_page.risk_assessed``).
UNASSESSED = "not assessed"


def _risk(policy: str, field: str) -> Callable[[Mapping], Any]:
    """Getter of a high-risk figure: :data:`UNASSESSED` when the run could not assess risk."""
    return lambda s: risk_value(s, policy, field) if risk_assessed(s) else UNASSESSED


def _value(s: Mapping, key: str) -> Any:
    if key.startswith("risk."):
        _, policy, field = key.split(".")
        return _risk(policy, field)(s)
    return s.get(key)


def compare_values(run: Mapping) -> list[str | None]:
    """One run's row for the comparison: formatted values, None when missing."""
    s = _run_summary(run)
    out: list[str | None] = []
    for key, _ in COMPARE_COLUMNS:
        v = _value(s, key)
        if v == UNASSESSED:
            out.append(UNASSESSED)
        elif key in ("scenario", "city"):
            out.append(str(v) if v is not None else None)
        elif key == "horizon_year":
            out.append(str(int(num(v))) if num(v) is not None else None)
        else:
            out.append(fmt(v, "km" if key == "arterials_planned_km" else "int"))
    return out


def compare_table(runs: Sequence[Mapping], baseline: int | None = None) -> str:
    """The comparison as a plain-text table for the terminal (one row per run; the
    baseline, when given, is marked with ``*``). Missing values show as ``-``."""
    header = [label for _, label in COMPARE_COLUMNS]
    rows = [[v if v is not None else "-" for v in compare_values(r)] for r in runs]
    if baseline is not None and rows:
        rows[baseline][0] = rows[baseline][0] + " *"
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    if baseline is not None:
        out.append("* baseline")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the page

#: Results compared: (label, getter, format, which way is better).
RESULTS: tuple[tuple[str, Callable[[Mapping], Any], str, str], ...] = (
    ("people at the horizon", lambda s: s.get("population_horizon"), "int", "an amount"),
    ("built-up land needed at the horizon (ha)", lambda s: s.get("land_need_ha"), "int",
     "lower uses less land"),
    ("new land to urbanize (ha)", lambda s: s.get("new_land_ha"), "int", "lower uses less land"),
    ("density at the horizon (people per ha)", lambda s: s.get("density_horizon_pph"), "dec",
     "higher uses less land"),
    ("expansion area proposed (ha)", lambda s: s.get("expansion_area_ha"), "int", "an amount to secure"),
    ("arterials to secure (km)", lambda s: s.get("arterials_planned_km"), "km", "an amount to secure"),
    ("public open space to protect (ha)", lambda s: s.get("open_space_ha"), "int", "an amount to secure"),
    ("people likely to settle on high-risk land, if nothing is done", _risk("bau", "high_risk_people"), "int",
     "lower is better"),
    ("people likely to settle on high-risk land, with the plan", _risk("planned", "high_risk_people"), "int",
     "lower is better"),
    ("hectares at high risk, if nothing is done", _risk("bau", "high_risk_ha"), "int", "lower is better"),
    ("hectares at high risk, with the plan", _risk("planned", "high_risk_ha"), "int", "lower is better"),
)

#: Quantities over the years charted with every scenario on the same axes: (demand key, title).
CHARTS = (("population", "Population (people)"), ("land_need_ha", "Built-up land needed (hectares)"),
          ("new_land_ha", "New land each step (hectares)"), ("density_pph", "Density (people per hectare)"))

CSS = """
.compare { table-layout: fixed; width: 100%; }
.compare th, .compare td { overflow-wrap: anywhere; vertical-align: top; }
.compare th:first-child, .compare td:first-child { width: 24%; }
.compare td.better { width: 12%; text-align: left; color: #555; font-size: 12px; }
.compare .diff { display: block; font-size: 12px; color: #444; }
.compare tr.group th { background: #d9e6ef; text-align: left; }
.compare td.text { text-align: left; font-size: 13px; }
.compare td:first-child { font-size: 14px; }
@media (max-width: 640px) {
  .compare { table-layout: auto; width: max-content; max-width: none; }
  .compare th, .compare td { min-width: 7em; max-width: 14em; }
}
.nr-map svg { max-width: 100%; height: auto; background: #fff; }
@media print {
  .compare { font-size: 8pt; }
  .compare .diff { font-size: 7pt; }
  .charts svg { width: 48%; height: auto; box-shadow: none; }
  .nr-map { break-inside: avoid; }
  .runcaveats { break-inside: avoid; }
}
"""


def _diff(value: float | None, base: float | None, kind: str) -> str:
    """'+1,234 (+5 %)' of a value against the baseline's; '' when either is missing."""
    if value is None or base is None:
        return ""
    d = value - base
    if abs(d) < 1e-9:
        return "same as baseline"
    text = ("+" if d > 0 else "-") + (fmt(abs(d), kind) or "")
    if base:
        text += f" ({'+' if d > 0 else '-'}{abs(d) / abs(base) * 100:.0f} %)"
    return text


def _table(summaries: Sequence[Mapping], params: Sequence[Mapping], names: Sequence[str],
           baseline: int | None) -> str:
    head = "<th>scenario</th>" + "".join(
        f"<th>{esc(n)}{' (baseline)' if i == baseline else ''}</th>" for i, n in enumerate(names))
    head += "<th>which way is better</th>"
    ncol = len(names) + 2
    rows = [f'<tr class="group"><th colspan="{ncol}">What each scenario assumes</th></tr>']
    per_run = [dict(assumption_rows(s, p)) for s, p in zip(summaries, params)]
    labels = list(dict.fromkeys(label for r in per_run for label in r))
    for label in labels:
        cells = "".join(f'<td class="text">{esc(r.get(label, "-"))}</td>' for r in per_run)
        rows.append(f"<tr><td>{esc(label)}</td>{cells}<td class=\"better\"></td></tr>")
    if not labels:
        rows.append(f'<tr><td colspan="{ncol}">The runs did not record their assumptions.</td></tr>')
    rows.append(f'<tr class="group"><th colspan="{ncol}">What each scenario gives</th></tr>')
    for label, get, kind, better in RESULTS:
        raw = [get(s) for s in summaries]
        values = [num(v) for v in raw]
        if all(v is None for v in values) and UNASSESSED not in raw:
            continue
        base = values[baseline] if baseline is not None else None
        cells = []
        for i, v in enumerate(values):
            text = esc(fmt(v, kind)) if v is not None else UNASSESSED if raw[i] == UNASSESSED else "&ndash;"
            diff = _diff(v, base, kind) if baseline is not None and i != baseline else ""
            cells.append(f"<td>{text}" + (f'<span class="diff">{esc(diff)}</span>' if diff else "") + "</td>")
        rows.append(f"<tr><td>{esc(label)}</td>{''.join(cells)}<td class=\"better\">{esc(better)}</td></tr>")
    return (f'<div class="scroll"><table class="compare">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>")


def _charts(runs: Sequence[Mapping], names: Sequence[str]) -> str:
    demands = [r.get("demand") or r.get("demand_rows") or [] for r in runs]
    years = [num(value_of(row, "year")) for d in demands for row in d]
    years = [y for y in years if y is not None]
    if not years:
        return ""
    out = []
    for key, title in CHARTS:
        series = [styled(i, n, [value_of(row, "year") for row in d], [value_of(row, key) for row in d])
                  for i, (n, d) in enumerate(zip(names, demands))]
        out.append(chart(series, title, x_range=(min(years), max(years))))
    out = [c for c in out if c]
    return '<div class="charts">\n' + "\n".join(out) + "\n</div>" if out else ""


def _wrap(text: str, width: int) -> list[str]:
    """Words of ``text`` on lines of at most about ``width`` characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _bars(summaries: Sequence[Mapping], names: Sequence[str]) -> str:
    """One horizontal bar chart per headline result, every scenario on the same axis."""
    from ..palette import SERIES_COLOURS
    from .charts import nice_top

    out = []
    for label, get, kind, _ in RESULTS[4:]:
        raw = [get(s) for s in summaries]
        values = [num(v) for v in raw]
        if all(v is None for v in values):
            continue
        _, top = nice_top(max(v or 0.0 for v in values))
        w, left, row_h = 440, 150, 22
        top_px = 16 + 15 * len(_wrap(label, 52))
        h = top_px + row_h * len(names) + 8
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                 f'role="img" aria-label="{esc(label)}"><title>{esc(label)}</title>',
                 *(f'<text x="8" y="{16 + 15 * k}" font-size="13" font-weight="600" fill="#222">'
                   f"{esc(t)}</text>" for k, t in enumerate(_wrap(label, 52)))]
        for i, (n, v) in enumerate(zip(names, values)):
            y = top_px + i * row_h
            parts.append(f'<text x="{left - 6}" y="{y + 14}" font-size="11" text-anchor="end" fill="#333">'
                         f"{esc(n[:24])}</text>")
            if v is not None:
                bw = (w - left - 70) * v / top
                colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
                parts.append(f'<rect x="{left}" y="{y + 3}" width="{bw:.1f}" height="{row_h - 7}" '
                             f'fill="{colour}"/>'
                             f'<text x="{left + bw + 4:.1f}" y="{y + 14}" font-size="11" fill="#333">'
                             f"{esc(fmt(v, kind))}</text>")
            else:
                parts.append(f'<text x="{left}" y="{y + 14}" font-size="11" fill="#777">'
                             f"{UNASSESSED if raw[i] == UNASSESSED else NOT_COMPUTED}</text>")
        parts.append("</svg>")
        out.append("\n".join(parts))
    return '<div class="charts">\n' + "\n".join(out) + "\n</div>" if out else ""


def _crs_name(crs: Any) -> str:
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    return f"EPSG:{epsg}" if epsg else str(crs)


def mismatch(runs: Sequence[Mapping]) -> str:
    """Why the runs cannot share a map ('' when they can): different cities, or plans in different CRS.

    Figures of different cities may stand side by side, but land "in every scenario" across them
    means nothing (QA: Bacau + Rionegro drew a 2,000 km map with 0 hectares in common).
    """
    summaries = [_run_summary(r) for r in runs]
    cities = sorted({str(s.get("city")) for s in summaries if s.get("city") is not None})
    if len(cities) > 1:
        return (f"the runs are of different cities ({', '.join(cities)}): their figures are side by side, "
                "but no map or land common to every scenario is drawn across them")
    crs = sorted({_crs_name(layer.crs) for r in runs for layer in (r.get("plan_layers") or {}).values()
                  if getattr(layer, "crs", None) is not None})
    if len(crs) > 1:
        return (f"the runs' plans are in different coordinate systems ({', '.join(crs)}): no map or land "
                "common to every scenario is drawn; rerun them with the same crs to compare their maps")
    return ""


def _map(runs: Sequence[Mapping], names: Sequence[str]) -> str:
    why = mismatch(runs)
    if why:
        return f'<p class="note warn">No map: {esc(why)}.</p>'
    layers = [r.get("plan_layers") or {} for r in runs]
    try:
        nr = no_regret(layers)
    except Exception:  # noqa: BLE001 - a failed overlay costs the map only
        nr = None
    if nr is None:
        return ('<p class="note">No map: every run needs its plan.gpkg (expansion area and arterials) in one '
                "projected CRS to draw the land needed in every scenario.</p>")
    return (f"<p>Secure first what every scenario needs: {esc(fmt(nr.land_ha))} hectares of land lie in "
            f"every scenario's expansion area and {esc(fmt(nr.arterials_km, 'km'))} km of arterials are "
            "proposed in "
            "every scenario.</p>\n" + f'<div class="nr-map">{comparison_svg(names, layers, nr)}</div>')


def compare_page(runs: Sequence[Mapping], baseline: int | None = None) -> str:
    """An HTML page comparing runs for a council (see the module's docstring).

    ``baseline`` is the index of the run the others are compared with (None: no differences).
    """
    summaries = [_run_summary(r) for r in runs]
    params = [r.get("parameters") if isinstance(r.get("parameters"), Mapping) else {} for r in runs]
    names = [str(s.get("scenario") or f"run {i + 1}") for i, s in enumerate(summaries)]
    synthetic = any(bool(s.get("synthetic")) for s in summaries)
    cities = sorted({str(s.get("city")) for s in summaries if s.get("city") is not None})
    title = "Scenario comparison" + (f": {', '.join(cities)}" if cities else "")
    sub = f"{len(runs)} scenarios"
    if baseline is not None:
        sub += f", compared with the baseline {names[baseline]}"
    parts = [heading(title, sub, synthetic)]
    why = mismatch(runs)
    if why:
        parts.append(f'<ul class="caveats"><li>Warning: {esc(why)}.</li></ul>')
    parts.append("<h2>Assumptions and results</h2>")
    if baseline is not None:
        parts.append('<p class="note">Under each figure, its difference from the baseline.</p>')
    table = _table(summaries, params, names, baseline)
    parts.append(table)
    notes = []
    if "&ndash;" in table:  # said only when the table has a dash
        notes.append(f"A dash means the run did not compute that number ({NOT_COMPUTED}).")
    if not all(risk_assessed(s) for s in summaries):
        notes.append(f'Risk "{UNASSESSED}": the run had no DEM, no water or flood layer and no roads layer, '
                     "so it could not tell hazardous or unserviced land from the rest.")
    if notes:
        parts.append(f'<p class="note">{" ".join(notes)}</p>')
    parts.append("<h2>The land and arterials every scenario needs</h2>")
    parts.append(_map(runs, names))
    charts = _charts(runs, names)
    if charts:
        parts.append("<h2>Over the years, every scenario on the same axes</h2>")
        parts.append(charts)
    bars = _bars(summaries, names)
    if bars:
        parts.append("<h2>The proposals side by side</h2>")
        parts.append(bars)
    parts.append("<h2>Caveats of each run</h2>")
    for run, s, name in zip(runs, summaries, names):
        items = [*warnings_of(s), skill_sentence(s)]
        link = f' <a href="{safe_href(run["href"])}">open its pages</a>' if run.get("href") else ""
        parts.append(f'<div class="runcaveats"><h3>{esc(name)}{link}</h3>\n<ul class="caveats">\n'
                     + "\n".join(f"<li>{esc(i)}</li>" for i in items) + "\n</ul></div>")
    return document(title, "\n".join(parts), extra_css=CSS)
