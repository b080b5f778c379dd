"""The comparison map: every scenario's expansion area and arterials, and what all of them need.

*No-regret* land is the land inside the expansion area of every scenario;
*no-regret* arterials are the baseline's proposed arterials that every other
scenario proposes too (within :data:`ARTERIAL_TOLERANCE_M`). They are what to
secure first, whichever scenario comes true. Drawn as inline SVG in the runs'
own projected CRS (metres), so the page needs no script, prints sharply and
the scale bar is true.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..palette import SERIES_COLOURS
from .charts import DASHES
from .html_page import esc, fmt
from .static import nice_length

#: Two scenarios' arterials closer than this (metres) are the same road.
ARTERIAL_TOLERANCE_M = 20.0
NO_REGRET_LAND = "#4d4d4d"
NO_REGRET_ARTERIAL = "#000000"
WIDTH_PX = 860


@dataclass(frozen=True)
class NoRegret:
    """What every scenario needs: land (a shapely geometry) and arterials (lines), in ``crs``."""

    crs: object
    land: object
    arterials: object
    land_ha: float
    arterials_km: float


def _planned(layers: Mapping, crs):
    arts = layers.get("arterials")
    if arts is None or not len(arts):
        return None
    arts = arts.to_crs(crs)
    if "kind" in arts.columns:
        arts = arts[arts["kind"] == "planned"]
    return arts.geometry.union_all() if len(arts) else None


def no_regret(plan_layers: Sequence[Mapping]) -> NoRegret | None:
    """No-regret land and arterials of several runs' plans (the first is the baseline);
    None when a run has no expansion area or the layers have no CRS."""
    import shapely

    areas = [p.get("expansion_area") for p in plan_layers]
    if len(areas) < 2 or any(a is None or not len(a) or a.crs is None for a in areas):
        return None
    crs = areas[0].crs
    if not crs.is_projected:
        return None
    land = areas[0].to_crs(crs).geometry.union_all()
    for a in areas[1:]:
        land = shapely.intersection(land, a.to_crs(crs).geometry.union_all())
    lines = _planned(plan_layers[0], crs)
    for p in plan_layers[1:]:
        if lines is None or lines.is_empty:
            break
        other = _planned(p, crs)
        lines = None if other is None else shapely.intersection(lines, other.buffer(ARTERIAL_TOLERANCE_M))
    if lines is not None and not lines.is_empty:
        parts = [g for g in shapely.get_parts(lines) if g.geom_type == "LineString"]  # drop touching points
        lines = shapely.union_all(parts) if parts else None
    return NoRegret(crs, land, lines, float(land.area) / 1e4,
                    float(lines.length) / 1e3 if lines is not None else 0.0)


def _path(geom, tx, ty) -> str:
    """SVG path data of a (multi)polygon or (multi)line."""
    import shapely

    out = []
    for part in shapely.get_parts(geom):
        if part.is_empty:
            continue
        rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
        for ring in rings:
            xy = list(ring.coords)
            if len(xy) < 2:
                continue
            out.append("M" + " L".join(f"{tx(x):.1f},{ty(y):.1f}" for x, y, *_ in xy)
                       + ("Z" if part.geom_type == "Polygon" else ""))
    return " ".join(out)


def comparison_svg(names: Sequence[str], plan_layers: Sequence[Mapping], nr: NoRegret) -> str:
    """Each run's expansion area (outlined in its colour and dash) and arterials, the
    no-regret land (hatched grey) and arterials (thick black), a legend and a scale bar."""
    areas = [p["expansion_area"].to_crs(nr.crs).geometry.union_all() for p in plan_layers]
    import shapely

    left, bottom, right, top = shapely.union_all(areas).bounds
    pad = 0.03 * max(right - left, top - bottom)
    left, bottom, right, top = left - pad, bottom - pad, right + pad, top + pad
    s = WIDTH_PX / (right - left)
    height = int(math.ceil((top - bottom) * s))
    tol = (right - left) / 1500

    def tx(x: float) -> float:
        return (x - left) * s

    def ty(y: float) -> float:
        return (top - y) * s

    legend_rows = len(names) + 2
    total_h = height + 22 * legend_rows + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{total_h}" '
           f'viewBox="0 0 {WIDTH_PX} {total_h}" role="img" aria-label="Expansion areas and arterials of '
           'every scenario, and what all of them need">',
           '<defs><pattern id="xp-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="8" height="8" fill="#d9d9d9"/>'
           f'<line x1="0" y1="0" x2="0" y2="8" stroke="{NO_REGRET_LAND}" stroke-width="2.5"/>'
           "</pattern></defs>",
           f'<rect x="0" y="0" width="{WIDTH_PX}" height="{height}" fill="#fbfaf7" stroke="#999"/>']
    if not nr.land.is_empty:
        out.append(f'<path d="{_path(nr.land.simplify(tol), tx, ty)}" fill="url(#xp-hatch)" '
                   'fill-rule="evenodd" stroke="none"><title>no-regret land</title></path>')
    for i, (name, layers) in enumerate(zip(names, plan_layers)):
        colour, dash = SERIES_COLOURS[i % len(SERIES_COLOURS)], DASHES[i % len(DASHES)]
        lines = _planned(layers, nr.crs)
        if lines is not None:
            out.append(f'<path d="{_path(lines.simplify(tol), tx, ty)}" fill="none" stroke="{colour}" '
                       f'stroke-width="1" stroke-opacity="0.7"><title>{esc(name)}: arterials</title></path>')
    for i, (name, area) in enumerate(zip(names, areas)):
        colour, dash = SERIES_COLOURS[i % len(SERIES_COLOURS)], DASHES[i % len(DASHES)]
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="{_path(area.simplify(tol), tx, ty)}" fill="none" stroke="{colour}" '
                   f'stroke-width="2.5"{d}><title>{esc(name)}: expansion area</title></path>')
    if nr.arterials is not None and not nr.arterials.is_empty:
        out.append(f'<path d="{_path(nr.arterials.simplify(tol), tx, ty)}" fill="none" '
                   f'stroke="{NO_REGRET_ARTERIAL}" stroke-width="4">'
                   "<title>no-regret arterials</title></path>")
    # scale bar and north arrow
    length = nice_length(right - left)
    x0, y0 = 16, height - 18
    out.append(f'<rect x="{x0}" y="{y0}" width="{length * s:.1f}" height="6" fill="#000"/>')
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    out.append(f'<text x="{x0}" y="{y0 - 5}" font-size="12">0</text><text x="{x0 + length * s:.1f}" '
               f'y="{y0 - 5}" font-size="12" text-anchor="middle">{label}</text>')
    out.append(f'<path d="M{WIDTH_PX - 24},16 l-8,20 l8,-6 l8,6 Z" fill="#000"/><text x="{WIDTH_PX - 24}" '
               'y="52" font-size="13" font-weight="700" text-anchor="middle">N</text>')
    # legend under the map
    y = height + 22
    out.append(f'<rect x="10" y="{y - 11}" width="26" height="13" fill="url(#xp-hatch)"/>'
               f'<text x="44" y="{y}" font-size="13">no-regret land: in every scenario\'s expansion area '
               f'({esc(fmt(nr.land_ha))} ha)</text>')
    y += 22
    out.append(f'<line x1="10" x2="36" y1="{y - 4}" y2="{y - 4}" stroke="#000" stroke-width="4"/>'
               f'<text x="44" y="{y}" font-size="13">no-regret arterials: proposed in every scenario '
               f'({esc(fmt(nr.arterials_km, "km"))} km)</text>')
    for i, name in enumerate(names):
        y += 22
        colour, dash = SERIES_COLOURS[i % len(SERIES_COLOURS)], DASHES[i % len(DASHES)]
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="10" x2="36" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2.5"{d}/><text x="44" y="{y}" font-size="13">{esc(name)}: '
                   "expansion area (thick) and arterials (thin)</text>")
    out.append("</svg>")
    return "\n".join(out)
