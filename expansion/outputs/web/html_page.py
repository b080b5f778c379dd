"""Shared pieces of the run's pages: escaping, number formatting, the stylesheet and the page frame.

The pages follow the same rules as the maps (see :mod:`expansion.outputs.web.leaflet`):
no network (no external script, style, font or image), every user string
HTML-escaped, and the same inputs give byte-identical output.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

NOT_COMPUTED = "not computed yet"

POLICIES = (("bau", "if nothing is done"), ("planned", "with the plan"))

#: What the pages show instead of people or hectares at high risk when the run had neither hazard
#: data nor a roads layer (``risk.assessed.high_risk`` false): the score then measures crowding only.
RISK_NOT_ASSESSED = "not assessed: needs a DEM, a water or flood layer, or a roads layer"

CSS = """
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
caption { caption-side: top; text-align: left; color: #555; font-size: 13px; padding: 2px 0 4px; }
td.better { text-align: left; color: #555; font-size: 13px; }
.caveats { background: #fff8e1; border-left: 4px solid #b7791f; margin: 0; padding: 8px 12px 8px 30px; }
.caveats li { margin: 3px 0; }
.lead { font-size: 16px; }
.keymaps { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.keymaps figure { margin: 0; background: #fff; padding: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.keymaps img { width: 100%; height: auto; display: block; }
.keymaps figcaption { font-size: 13px; color: #444; padding-top: 4px; }
table.assumptions th { text-align: left; font-weight: 600; background: #f3f2ee; }
table.assumptions td { text-align: left; }
.glossary dt { font-weight: 700; margin-top: 6px; }
.glossary dd { margin: 0 0 0 16px; }
@media (max-width: 640px) {
  main { padding: 12px 12px 30px; }
  h1 { font-size: 22px; }
  .facts, .keymaps { grid-template-columns: 1fr; }
  .charts svg { max-width: 100%; height: auto; }
  th, td { padding: 4px 6px; }
}
@page { size: A4; margin: 12mm 12mm 14mm; }
@media print {
  body { background: #fff; font-size: 9.5pt; line-height: 1.3; }
  main { max-width: none; padding: 0; }
  .detail, .maps, .noprint { display: none !important; }
  h1 { font-size: 17pt; }
  h2 { font-size: 12pt; margin: 10px 0 4px; break-after: avoid; }
  h2.pagebreak { margin-top: 8px; }
  .badge { background: none; color: #c0392b; border: 1px solid #c0392b; padding: 1px 6px; }
  .facts { grid-template-columns: repeat(3, 1fr); gap: 5px; }
  .facts li { box-shadow: none; border: 1px solid #bbb; padding: 4px 6px; break-inside: avoid; }
  .facts .v { font-size: 13pt; }
  .facts .k { font-size: 8.5pt; }
  .lead { font-size: 10pt; }
  .caveats { background: none; border-left: 3px solid #b7791f; padding: 2px 8px 2px 20px; font-size: 8.5pt;
    line-height: 1.25; }
  .caveats li { margin: 0; }
  table { box-shadow: none; font-size: 8.5pt; width: 100%; }
  th, td { padding: 2px 5px; }
  .scroll { overflow: visible; }
  .keymaps { gap: 6px; break-inside: avoid; }
  .keymaps figure { box-shadow: none; border: 1px solid #bbb; padding: 3px; break-inside: avoid; }
  .keymaps figcaption { font-size: 8.5pt; }
  .keymaps img { max-height: 66mm; width: auto; max-width: 100%; margin: 0 auto; }
  tr, li { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


# ---------------------------------------------------------------- helpers


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def value_of(obj: Any, key: str) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def num(value: Any) -> float | None:
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
    v = num(value)
    if v is None:
        return None
    if kind == "pct":
        return f"{v * 100:.0f} %"
    if kind in ("km", "dec"):
        return f"{v:,.1f}"
    return f"{round(v):,}"


def risk_assessed(summary: Mapping) -> bool:
    """False when the run could assess neither hazard nor distance to roads (``risk.assessed``:
    ``high_risk`` false, or, in runs made before that key, both ``hazard`` and ``unserviced``
    false): its high-risk figures then measure growth pressure alone and are not shown as risk."""
    risk = summary.get("risk")
    assessed = risk.get("assessed") if isinstance(risk, Mapping) else None
    if not isinstance(assessed, Mapping):
        return True
    if "high_risk" in assessed:
        return assessed["high_risk"] is not False
    return not (assessed.get("hazard") is False and assessed.get("unserviced") is False)


def risk_value(summary: Mapping, policy: str, key: str) -> Any:
    risk = summary.get("risk")
    if not isinstance(risk, Mapping):
        return None
    entry = risk.get(policy)
    return entry.get(key) if isinstance(entry, Mapping) else None


def document(title: str, body: str, extra_css: str = "") -> str:
    """A complete page: the shared stylesheet (plus ``extra_css``) and ``body`` (HTML) in ``<main>``."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}{extra_css}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def safe_href(href: str) -> str:
    """A link target that cannot run script: relative paths and http(s) only."""
    scheme = urlsplit(str(href)).scheme.lower()
    if scheme not in ("", "http", "https"):
        return "#"
    return esc(quote(str(href), safe="/:#?&=%~.-_"))


def heading(title: str, subtitle: str, synthetic: bool) -> str:
    badge = ('\n<div class="badge">SYNTHETIC DATA - a made-up city for testing and demonstration</div>'
             if synthetic else "")
    return f"<header>\n<h1>{esc(title)}</h1>\n<p class=\"sub\">{esc(subtitle)}</p>{badge}\n</header>"


