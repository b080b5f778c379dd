"""Static PNG maps of a run for reports and slides: the expansion plan, and risk without and with it.

Drawn with matplotlib (Agg, no window) in the grid's own projected CRS, so the
scale bar is true in metres; each has a title, the date, a metric scale bar, a
north arrow and a legend, and is :data:`WIDTH_PX` pixels wide. The PNGs carry no
software version or timestamp, so the same run on the same date gives the same
bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import palette as pal
from ..palette import parse_colour, phase_colours, risk_classes
from .assumptions import not_assessed_caveat
from .html_page import risk_assessed

#: Width of the images in pixels (at 100 dots per inch).
WIDTH_PX = 1600
DPI = 100
#: Longest side, in cells, of the rasters drawn (larger grids are sampled).
MAX_CELLS = 1600

#: (file name, caption) of the images, in the order index.html shows them.
IMAGES = (("map_expansion_plan.png", "Proposed expansion plan"),
          ("map_risk_without_plan.png", "Where informal settlements are likely if nothing is done"),
          ("map_risk_with_plan.png", "Where informal settlements are likely with the plan"))


def _rgba(colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    r, g, b = parse_colour(colour)
    return r / 255, g / 255, b / 255, alpha


def _sampled(values: np.ndarray) -> np.ndarray:
    """One cell in k x k blocks, so that the longest side is at most MAX_CELLS (a view)."""
    k = max(1, math.ceil(max(values.shape) / MAX_CELLS))
    return values[k // 2 :: k, k // 2 :: k] if k > 1 else values


def _categories_image(values: np.ndarray, colours: dict) -> np.ndarray:
    """RGBA float image: ``colours[value]`` where the value is a key, transparent elsewhere."""
    v = _sampled(values)
    img = np.zeros(v.shape + (4,), dtype="float32")
    for value, colour in colours.items():
        img[v == value] = colour
    return img


def nice_length(span_m: float) -> float:
    """A round scale-bar length of about a fifth of the map's width, in metres."""
    target = span_m / 5
    mag = 10 ** math.floor(math.log10(target))
    return max(m * mag for m in (1, 2, 5) if m * mag <= target)


def _scale_bar(ax, left: float, bottom: float, right: float, top: float) -> None:
    length = nice_length(right - left)
    x0, y0 = left + 0.04 * (right - left), bottom + 0.04 * (top - bottom)
    h = 0.012 * (top - bottom)
    for i in range(4):
        ax.add_patch(_rect(x0 + i * length / 4, y0, length / 4, h, "#000000" if i % 2 == 0 else "#ffffff"))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    for x, text in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + 1.8 * h, text, ha="center", va="bottom", fontsize=11,
                bbox={"boxstyle": "round,pad=0.15", "fc": (1, 1, 1, 0.7), "ec": "none"})


def _rect(x: float, y: float, w: float, h: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="#000000", linewidth=0.8, zorder=20)


def _north_arrow(ax, left: float, bottom: float, right: float, top: float) -> None:
    x, y = right - 0.05 * (right - left), top - 0.16 * (top - bottom)
    ax.annotate("N", xy=(x, top - 0.04 * (top - bottom)), xytext=(x, y), ha="center", va="top",
                fontsize=16, fontweight="bold", zorder=21,
                arrowprops={"arrowstyle": "-|>", "color": "#000000", "lw": 2.5, "mutation_scale": 25})


def _draw_vectors(ax, m, arterials: str | None) -> list:
    """Water, boundary and arterials; returns their legend handles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    v = m.stack.vectors
    crs = m.stack.grid.crs
    water = v.get("water")
    if water is not None and len(water):
        w = water.to_crs(crs)
        polys = w[w.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        lines = w[~w.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polys):
            polys.plot(ax=ax, facecolor=pal.WATER_STYLE["fillColor"], edgecolor=pal.WATER_STYLE["color"],
                       linewidth=0.6, zorder=5)
        if len(lines):
            lines.plot(ax=ax, color=pal.WATER_STYLE["color"], linewidth=1.5, zorder=5)
        handles.append(Patch(facecolor=pal.WATER_STYLE["fillColor"], edgecolor=pal.WATER_STYLE["color"],
                             label="water"))
    arts = m.plan.arterials
    if arterials and len(arts):
        a = arts.to_crs(crs)
        existing = a[a["kind"] == "existing"]
        planned = a[a["kind"] == "planned"]
        if len(existing):
            existing.plot(ax=ax, color=pal.ARTERIAL_COLOURS["existing"], linewidth=1.6, zorder=8)
            handles.append(Line2D([], [], color=pal.ARTERIAL_COLOURS["existing"], lw=2,
                                  label="existing arterial roads"))
        if len(planned):
            width = f"{m.scenario.plan.arterial_width_m:g} m"
            phased = "phase_year" in planned.columns and planned["phase_year"].notna().any()
            if arterials == "phases" and phased:
                colours = phase_colours(planned["phase_year"].dropna().tolist())
                for i, (year, colour) in enumerate(colours.items()):
                    width = 3.4 - 2.0 * i / max(1, len(colours) - 1)  # sooner: darker and thicker
                    part = planned[planned["phase_year"] == year]
                    part.plot(ax=ax, color=colour, linewidth=width, zorder=9)
                    handles.append(Line2D([], [], color=colour, lw=width,
                                          label=f"proposed arterial, secure by {year}"))
            else:
                planned.plot(ax=ax, color=pal.ARTERIAL_COLOURS["planned"], linewidth=2.0, zorder=9)
                handles.append(Line2D([], [], color=pal.ARTERIAL_COLOURS["planned"], lw=2.5,
                                      label=f"proposed arterial roads\n({width} rights-of-way)"))
    boundary = v.get("boundary")
    if boundary is not None and len(boundary):
        boundary.to_crs(crs).boundary.plot(ax=ax, color=pal.BOUNDARY_STYLE["color"], linewidth=1.4,
                                           linestyle=(0, (1, 3)), zorder=10)
        handles.append(Line2D([], [], color=pal.BOUNDARY_STYLE["color"], lw=1.4, linestyle=(0, (1, 3)),
                              label="study area"))
    places = getattr(m.stack, "places", None)
    if places is not None and len(places) and "name" in places.columns:
        from .labels import PLACE_RANK

        pts = places.to_crs(crs)
        if "place" in pts.columns:
            pts = pts[pts["place"].isin(PLACE_RANK[:4])]
        for geom, name in list(zip(pts.geometry, pts["name"].astype(str)))[:30]:
            if geom is not None and not geom.is_empty:
                p = geom.representative_point()
                ax.text(p.x, p.y, name, fontsize=11, ha="center", va="center", zorder=22,
                        fontweight="bold", color="#1b1b1b",
                        bbox={"boxstyle": "round,pad=0.1", "fc": (1, 1, 1, 0.6), "ec": "none"})
    return handles


def _figure(m, title: str, date: str):
    from matplotlib.figure import Figure

    grid = m.stack.grid
    left, bottom, right, top = grid.bounds
    map_w_in = WIDTH_PX / DPI * 0.74
    map_h_in = map_w_in * (top - bottom) / (right - left)
    fig = Figure(figsize=(WIDTH_PX / DPI, map_h_in + 1.3), dpi=DPI, facecolor="#ffffff")
    h = map_h_in + 1.3
    ax = fig.add_axes((0.01, 0.2 / h, 0.74, map_h_in / h))
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f4f3ef")
    sc = m.scenario
    fig.text(0.01, 1 - 0.35 / h, f"{m.catalog.name}: {title}", fontsize=22, fontweight="bold", va="center")
    sub = f"Proposal for the scenario {sc.name}, {sc.base_year}-{sc.horizon_year}. Made on {date}."
    if m.catalog.synthetic:
        sub += "  SYNTHETIC DATA - not a real city."
    fig.text(0.01, 1 - 0.8 / h, sub, fontsize=13, color="#333333", va="center")
    return fig, ax, h


def _finish(fig, ax, m, handles: list, legend_title: str, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    left, bottom, right, top = m.stack.grid.bounds
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    _scale_bar(ax, left, bottom, right, top)
    _north_arrow(ax, left, bottom, right, top)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.765, 0.86), fontsize=12,
               title=legend_title, title_fontsize=13, frameon=False, alignment="left")
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})


def _background(ax, m) -> list:
    """The study area and built-up land at the base year, light grey."""
    from matplotlib.patches import Patch

    grid = m.stack.grid
    left, bottom, right, top = grid.bounds
    base = m.scenario.base_year
    colours = {1: _rgba("#ffffff"), 2: _rgba(pal.BUILT_TODAY_COLOUR)}
    valid = _sampled(m.stack.valid)  # sampled before combining: no full-size array on large grids
    codes = np.where(_sampled(m.stack.builtup_at(base)) & valid, 2, np.where(valid, 1, 0)).astype("uint8")
    ax.imshow(_categories_image(codes, colours), extent=(left, right, bottom, top), interpolation="nearest",
              zorder=1)
    return [Patch(facecolor=pal.BUILT_TODAY_COLOUR, label=f"built up in {base}")]


def plan_png(m, path: Path, date: str) -> None:
    """The expansion plan: expansion area, open space, arterials (by phase when phased), water."""
    from matplotlib.patches import Patch

    fig, ax, _ = _figure(m, "proposed expansion plan", date)
    crs = m.stack.grid.crs
    handles = _background(ax, m)
    plan = m.plan
    if len(plan.open_space):
        os_ = plan.open_space.to_crs(crs)
        for kind, colour in pal.OPEN_SPACE_COLOURS.items():
            part = os_[os_["kind"] == kind]
            if len(part):
                part.plot(ax=ax, color=colour, alpha=0.75, zorder=3, linewidth=0)
                handles.append(Patch(facecolor=colour, alpha=0.75,
                                     label=f"open space: {kind.replace('_', ' ')}"))
    if len(plan.expansion_gdf):
        plan.expansion_gdf.to_crs(crs).boundary.plot(ax=ax, color="#000000", linewidth=2.2,
                                                     linestyle=(0, (6, 3)), zorder=7)
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="#000000", lw=2.2, linestyle=(0, (6, 3)),
                              label=f"expansion area (growth to {m.scenario.horizon_year})"))
    handles += _draw_vectors(ax, m, arterials="phases")
    _finish(fig, ax, m, handles, "Legend", path)


def risk_png(m, path: Path, date: str, policy: str) -> None:
    """Risk classes under one policy ("bau" or "planned")."""
    from matplotlib.patches import Patch

    when = "if nothing is done" if policy == "bau" else "with the plan"
    assessed = risk_assessed(getattr(m, "summary", None) or {})
    title = (f"where informal settlements are likely {when}" if assessed
             else f"where unplanned growth will crowd {when} (risk not assessed)")
    fig, ax, h = _figure(m, title, date)
    left, bottom, right, top = m.stack.grid.bounds
    handles = _background(ax, m)
    cats = risk_classes("risk" if assessed else "crowding")
    colours = {k: _rgba(c, 0.9) for k, (_, c) in cats.items()}
    ax.imshow(_categories_image(m.risk[policy].classes, colours), extent=(left, right, bottom, top),
              interpolation="nearest", zorder=2)
    handles += [Patch(facecolor=c, label=label) for label, c in cats.values()]
    handles += _draw_vectors(ax, m, arterials="single" if policy == "planned" else None)
    caveat = not_assessed_caveat(getattr(m, "summary", None) or {})
    if caveat:
        import textwrap

        fig.text(0.765, 0.2 / h, textwrap.fill("Caveat: " + caveat, 42), fontsize=12, color="#7a4b00",
                 va="bottom", ha="left")
    _finish(fig, ax, m, handles, "Risk of informal settlement" if assessed else "Where growth crowds", path)


def write_static_maps(m, folder: Path, date: str) -> list[tuple[str, str]]:
    """Write the three PNG maps into ``folder``; returns (caption, file name) for index.html."""
    folder = Path(folder)
    (plan_name, plan_caption), (bau_name, bau_caption), (planned_name, planned_caption) = IMAGES
    plan_png(m, folder / plan_name, date)
    risk_png(m, folder / bau_name, date, "bau")
    risk_png(m, folder / planned_name, date, "planned")
    if not risk_assessed(getattr(m, "summary", None) or {}):
        bau_caption, planned_caption = (
            c.replace("informal settlements are likely", "unplanned growth will crowd")
            + " (risk not assessed)" for c in (bau_caption, planned_caption))
    return [(plan_caption, plan_name), (bau_caption, bau_name), (planned_caption, planned_name)]
