"""Inline SVG charts for the pages (written here: no plotting script, nothing fetched)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .html_page import esc, fmt, num, value_of

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
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if num(x) is not None and num(y) is not None]
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
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
           f"<title>{esc(title)}</title>",
           f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#222">{esc(title)}</text>']
    k = 0
    while k * step <= ytop + 1e-9:
        y = sy(k * step)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e2e2"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                   f'fill="#555">{esc(_short(k * step, ytop))}</text>')
        k += 1
    years = sorted({p[0] for p in pts})
    every = max(1, math.ceil(len(years) / 7))
    for i, x in enumerate(years):
        if i % every == 0 or i == len(years) - 1:
            out.append(f'<text x="{sx(x):.1f}" y="{top + ph + 18}" font-size="11" text-anchor="middle" '
                       f'fill="#555">{int(x)}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts))
    out.append(f'<path d="{path}" fill="none" stroke="{esc(colour)}" stroke-width="2.5"/>')
    for x, y in pts:
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{esc(colour)}">'
                   f"<title>{int(x)}: {esc(fmt(y))}</title></circle>")
    out.append("</svg>")
    return "\n".join(out)


def demand_charts(rows: Sequence[Any]) -> str:
    """Population and built-up land needed by year, as two inline SVG charts."""
    xs = [value_of(r, "year") for r in rows]
    pop = line_chart(xs, [value_of(r, "population") for r in rows], "Population (people)", "#1f5f8b")
    land = line_chart(xs, [value_of(r, "land_need_ha") for r in rows], "Built-up land needed (hectares)",
                      "#c0602b")
    if not (pop or land):
        return ""
    return f'<div class="charts">\n{pop}\n{land}\n</div>'

