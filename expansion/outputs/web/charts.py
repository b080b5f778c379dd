"""Inline SVG charts for the pages (written here: no plotting script, nothing fetched).

A chart has years on x and one quantity on y from 0, one or more series
(scenarios) on the same axes, each with its own colour, dash pattern and
marker shape so that they stay apart in grey print and for colour-blind
readers, and optionally a shaded band (a low-high range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..palette import SERIES_COLOURS
from .html_page import esc, fmt, num, value_of

#: Dash patterns and markers given to the series in turn (with SERIES_COLOURS).
DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 4", "1 2")
MARKERS = ("circle", "square", "triangle", "diamond")


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``ys[i]`` at year ``xs[i]`` (missing values are skipped)."""

    label: str
    xs: Sequence[Any]
    ys: Sequence[Any]
    colour: str = SERIES_COLOURS[0]
    dash: str = ""
    marker: str = "circle"

    def points(self) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in zip(self.xs, self.ys)
                if num(x) is not None and num(y) is not None]


@dataclass(frozen=True)
class Band:
    """A shaded range: ``lows[i]`` to ``highs[i]`` at year ``xs[i]``."""

    label: str
    xs: Sequence[Any]
    lows: Sequence[Any]
    highs: Sequence[Any]
    colour: str = "#c0602b"

    def points(self) -> list[tuple[float, float, float]]:
        return [(float(x), float(lo), float(hi)) for x, lo, hi in zip(self.xs, self.lows, self.highs)
                if num(x) is not None and num(lo) is not None and num(hi) is not None]


def styled(i: int, label: str, xs: Sequence[Any], ys: Sequence[Any]) -> Series:
    """The ``i``-th series of a chart of several, with its colour, dash and marker."""
    return Series(label, xs, ys, SERIES_COLOURS[i % len(SERIES_COLOURS)], DASHES[i % len(DASHES)],
                  MARKERS[i % len(MARKERS)])


def nice_top(ymax: float) -> tuple[float, float]:
    """(step, top) of a y axis from 0 that holds ``ymax``, with about 4 round steps."""
    step = _nice_step(ymax if ymax > 0 else 1.0)
    return step, (step * max(1, math.ceil(ymax / step)) if ymax > 0 else step)


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


def _marker(kind: str, x: float, y: float, colour: str, tip: str) -> str:
    title = f"<title>{tip}</title>"
    c = esc(colour)
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{c}">{title}</rect>'
    if kind == "triangle":
        return (f'<polygon points="{x:.1f},{y - 4:.1f} {x - 4:.1f},{y + 3:.1f} {x + 4:.1f},{y + 3:.1f}" '
                f'fill="{c}">{title}</polygon>')
    if kind == "diamond":
        return (f'<polygon points="{x:.1f},{y - 4:.1f} {x - 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} {x + 4:.1f},'
                f'{y:.1f}" fill="{c}">{title}</polygon>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}">{title}</circle>'


def chart(series: Sequence[Series], title: str, band: Band | None = None, y_top: float | None = None,
          x_range: tuple[float, float] | None = None, width: int = 440, height: int = 240) -> str:
    """An inline SVG chart of one quantity over the years; '' when there is nothing to draw.

    Parameters
    ----------
    series : the lines; with more than one, a legend names them under the plot.
    title : the quantity with its unit ("Built-up land needed (hectares)").
    band : an optional shaded low-high range, drawn under the lines and named in the legend.
    y_top, x_range : fix the axes (several charts on the same axes); default from the data.
    """
    lines = [(s, s.points()) for s in series]
    lines = [(s, p) for s, p in lines if p]
    shade = band.points() if band is not None else []
    if not lines and not shade:
        return ""
    xs = [p[0] for _, pts in lines for p in pts] + [b[0] for b in shade]
    ys = [p[1] for _, pts in lines for p in pts] + [b[2] for b in shade]
    x0, x1 = x_range if x_range is not None else (min(xs), max(xs))
    step, ytop = nice_top(max(max(ys), y_top or 0.0))
    named = [s.label for s, _ in lines if len(lines) > 1] + ([band.label] if shade else [])
    legend_h = 18 * math.ceil(len(named) / 2) if named else 0
    left, right, top, bottom = 62, 16, 34, 30
    pw, ph = width - left - right, height - top - bottom
    height += legend_h  # the legend goes under the plot, which keeps its size

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
    years = sorted(set(xs))
    every = max(1, math.ceil(len(years) / 7))
    for i, x in enumerate(years):
        if i % every == 0 or i == len(years) - 1:
            out.append(f'<text x="{sx(x):.1f}" y="{top + ph + 18}" font-size="11" text-anchor="middle" '
                       f'fill="#555">{int(x)}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#888"/>')
    if shade:
        upper = [f"{sx(x):.1f},{sy(hi):.1f}" for x, _, hi in shade]
        lower = [f"{sx(x):.1f},{sy(lo):.1f}" for x, lo, _ in reversed(shade)]
        out.append(f'<polygon points="{" ".join(upper + lower)}" fill="{esc(band.colour)}" '
                   f'fill-opacity="0.18" stroke="none"><title>{esc(band.label)}</title></polygon>')
    for s, pts in lines:
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<path d="{path}" fill="none" stroke="{esc(s.colour)}" stroke-width="2.5"{dash}/>')
        for x, y in pts:
            tip = (f"{esc(s.label)}, " if len(lines) > 1 else "") + f"{int(x)}: {esc(fmt(y))}"
            out.append(_marker(s.marker, sx(x), sy(y), s.colour, tip))
    for i, label in enumerate(named):
        lx, ly = left + (i % 2) * (pw // 2), top + ph + 36 + 18 * (i // 2)
        if shade and i == len(named) - 1:
            out.append(f'<rect x="{lx}" y="{ly - 9}" width="22" height="10" fill="{esc(band.colour)}" '
                       'fill-opacity="0.25"/>')
        else:
            s = lines[i][0]
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" stroke="{esc(s.colour)}" '
                       f'stroke-width="2.5"{dash}/>')
            out.append(_marker(s.marker, lx + 11, ly - 4, s.colour, esc(s.label)))
        out.append(f'<text x="{lx + 28}" y="{ly}" font-size="11" fill="#333">{esc(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def line_chart(xs: Sequence[float], ys: Sequence[float | None], title: str, colour: str,
               width: int = 440, height: int = 240) -> str:
    """A small inline SVG line chart (years on x, one series on y from 0)."""
    return chart([Series(title, xs, ys, colour)], title, width=width, height=height)


def land_band(land_need_range: Any) -> Band | None:
    """The land-need band from summary.json's ``land_need_range`` (a list of
    ``{"year", "low_ha", "high_ha", ...}``), or None when absent."""
    if not isinstance(land_need_range, list | tuple) or not land_need_range:
        return None
    rows = [r for r in land_need_range if isinstance(r, dict)]
    if not rows:
        return None
    return Band("plausible range (density trends of comparable cities)", [r.get("year") for r in rows],
                [r.get("low_ha") for r in rows], [r.get("high_ha") for r in rows])


def demand_charts(rows: Sequence[Any], land_need_range: Any = None) -> str:
    """Population and built-up land needed by year, as two inline SVG charts
    (the land chart with the land-need band when the run has one)."""
    xs = [value_of(r, "year") for r in rows]
    pop = line_chart(xs, [value_of(r, "population") for r in rows], "Population (people)", "#1f5f8b")
    land = chart([Series("land needed, this scenario", xs, [value_of(r, "land_need_ha") for r in rows],
                         "#c0602b")], "Built-up land needed (hectares)", band=land_band(land_need_range))
    if not (pop or land):
        return ""
    return f'<div class="charts">\n{pop}\n{land}\n</div>'
