"""The comparison of runs: a terminal table and an HTML page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .charts import demand_charts
from .html_page import NOT_COMPUTED, document, esc, fmt, heading, num, risk_value

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
    ("risk.bau.high_risk_people", "people at high risk, no plan"),
    ("risk.planned.high_risk_people", "people at high risk, with plan"),
    ("risk.bau.high_risk_ha", "high-risk ha, no plan"),
    ("risk.planned.high_risk_ha", "high-risk ha, with plan"),
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
            out.append(fmt(risk_value(s, policy, field)))
        elif key in ("scenario", "city"):
            v = s.get(key)
            out.append(str(v) if v is not None else None)
        elif key == "horizon_year":
            v = num(s.get(key))
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
    parts = [heading(title, f"{len(runs)} run(s) side by side", synthetic)]
    head = "".join(f"<th>{esc(label)}</th>" for _, label in COMPARE_COLUMNS)
    body = []
    for run in runs:
        cells = "".join(f"<td>{esc(v) if v is not None else '&ndash;'}</td>" for v in compare_values(run))
        body.append(f"<tr>{cells}</tr>")
    parts.append("<h2>Headline numbers</h2>")
    parts.append('<div class="scroll"><table>\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n"
                 + "\n".join(body) + "\n</tbody></table></div>")
    parts.append('<p class="note">A dash means the run did not '
                 f"compute that number ({NOT_COMPUTED}).</p>")
    for run, s in zip(runs, summaries):
        rows = run.get("demand") or run.get("demand_rows") or []
        charts = demand_charts(rows)
        if charts:
            parts.append(f"<h2>{esc(s.get('scenario', 'run'))}</h2>")
            parts.append(charts)
    return document(title, "\n".join(parts))
