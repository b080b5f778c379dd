"""The demo region's shapes: study-area boundary, river course, lake, forest reserve, city centre."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frame import PAD_CELLS, RES_M, Frame


@dataclass
class Layout:
    boundary: object
    river: object  # shapely LineString, metres
    lake: object
    forest: object
    centre: tuple[float, float]
    core_radius_m: float
    hill_east_u: float  # where the eastern escarpment starts (unit coordinate)
    hill_sw: tuple[float, float, float]  # (u, v, radius) of the south-western hills


def blob(rng: np.random.Generator, cx: float, cy: float, radius: float, wobble: float = 0.12,
          squareness: float = 2.0, n: int = 180):
    """A smooth irregular polygon: a superellipse of ``radius`` (metres) with
    low harmonics; ``squareness`` 2 is round, larger is boxier."""
    from shapely.geometry import Polygon

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1.0 / (np.abs(np.cos(t)) ** squareness + np.abs(np.sin(t)) ** squareness) ** (1 / squareness)
    mod = np.ones_like(t)
    for k in (2, 3, 4, 5):
        mod += wobble / k * rng.uniform(0.4, 1.0) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = r * mod / (1 + wobble * 0.8)  # stays within about ``radius``
    return Polygon(np.column_stack([cx + radius * r * np.cos(t), cy + radius * r * np.sin(t)]))


def as_line(geom):
    """The longest part of a (multi)line, as a LineString."""
    import shapely

    geom = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
    if geom.geom_type == "LineString":
        return geom
    return max(geom.geoms, key=lambda g: g.length)


def make_layout(frame: Frame, rng: np.random.Generator) -> Layout:
    from shapely.geometry import LineString, Point, box

    L = frame.length_m
    margin = 0.09 * L
    boundary = blob(rng, frame.cx, frame.cy, L / 2 - margin, wobble=0.10, squareness=3.5)

    # River: enters at the north edge, leaves at the south, east of the centre;
    # a large-scale bend (scaled with the region) plus meanders of 1.5-3 km.
    v = np.linspace(0.56, -0.56, max(200, int(1.12 * L / 15)))
    u = 0.10 + 0.04 * np.sin(np.pi * (v + 0.5) * 1.3 + rng.uniform(-0.3, 0.3))
    u = u + 0.015 * np.sin(2 * np.pi * v * 2.3 + rng.uniform(0, 2 * np.pi))
    x, y = frame.xy(u, v)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    for wavelength, amp in ((2600.0, 260.0), (1500.0, 110.0), (900.0, 35.0)):
        phase = rng.uniform(0, 2 * np.pi)
        amp_mod = 1 + 0.35 * np.sin(2 * np.pi * s / (wavelength * 5.3) + rng.uniform(0, 2 * np.pi))
        x = x + amp * amp_mod * np.sin(2 * np.pi * s / wavelength + phase)
    pad_m = PAD_CELLS * RES_M
    padded = box(frame.left - pad_m, frame.top - L - pad_m, frame.left + L + pad_m, frame.top + pad_m)
    river = as_line(LineString(np.column_stack([x, y])).simplify(2.0).intersection(padded))
    coords = np.asarray(river.coords)

    # City centre on the west bank, about 1.5-2 km from the river at the base size.
    cv = rng.uniform(-0.02, 0.06)
    ry = frame.xy(0, cv)[1]
    rx = np.interp(-ry, -coords[:, 1], coords[:, 0])
    centre = (float(rx - max(0.075 * L, 900.0)), float(ry))
    core_radius = 0.058 * L

    # Lake: on the western plain, north-west of the city (a rift-valley lake).
    lx, ly = frame.xy(rng.uniform(-0.29, -0.23), rng.uniform(0.20, 0.26))
    lake = blob(rng, lx, ly, 0.045 * L, wobble=0.25, squareness=2.0)
    lake = lake.difference(river.buffer(150.0))

    # Hills: an escarpment along the east of the region, and a hill mass in the south-west.
    hill_east_u = 0.27 + rng.uniform(-0.02, 0.02)
    hill_sw = (-0.30 + rng.uniform(-0.03, 0.03), -0.28 + rng.uniform(-0.03, 0.03), 0.16)
    fx, fy = frame.xy(hill_sw[0] + 0.03, hill_sw[1] + 0.03)
    forest = blob(rng, fx, fy, 0.085 * L, wobble=0.3, squareness=2.2)
    forest = forest.difference(river.buffer(300.0)).buffer(0)
    if forest.geom_type != "Polygon":  # keep the largest part: one reserve
        forest = max(forest.geoms, key=lambda g: g.area)
    assert Point(centre).within(boundary)
    return Layout(boundary=boundary, river=river, lake=lake, forest=forest,
                   centre=centre, core_radius_m=core_radius, hill_east_u=hill_east_u,
                   hill_sw=hill_sw)
