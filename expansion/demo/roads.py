"""The demo's roads: highways and secondary roads from the centre, villages and their roads,
and the local street grid around the built-up land. Lines are shapely, in metres (UTM 37N)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .frame import RES_M, Frame
from .layout import Layout, as_line


def _wiggly(rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float],
            amp: float, wavelength: float, step: float = 60.0):
    """A gently curving LineString from ``a`` to ``b`` (metres)."""
    from shapely.geometry import LineString

    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.hypot(*(b - a)))
    n = max(3, int(length / step))
    t = np.linspace(0, 1, n)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-9)
    off = np.zeros(n)
    for k in (1.0, 2.1):
        w = wavelength / k
        off += amp / k * np.sin(2 * np.pi * t * length / w + rng.uniform(0, 2 * np.pi))
    off *= np.sin(np.pi * t)  # ends stay put
    pts = a[None, :] + t[:, None] * (b - a)[None, :] + off[:, None] * normal[None, :]
    return LineString(pts)


def main_roads(frame: Frame, layout: Layout, rng: np.random.Generator, scale: float) -> list:
    """Highways through the centre and secondary roads radiating from it.

    Returns a list of (LineString, highway class)."""
    from shapely.geometry import LineString, box

    L = frame.length_m
    cx, cy = layout.centre
    region = box(frame.left, frame.top - L, frame.left + L, frame.top).buffer(60)
    ext = 0.58 * L
    roads = []

    def through(angle_deg: float, cls: str, bend: float) -> None:
        ang = np.radians(angle_deg)
        d = np.array([np.cos(ang), np.sin(ang)])
        half1 = _wiggly(rng, (cx, cy), (cx + ext * d[0], cy + ext * d[1]), bend * L, 0.5 * L)
        half2 = _wiggly(rng, (cx - ext * d[0], cy - ext * d[1]), (cx, cy), bend * L, 0.5 * L)
        line = LineString(list(half2.coords) + list(half1.coords)[1:]).intersection(region)
        roads.append((as_line(line), cls))

    # The trunk road runs west-east across the river (the bridge) and up the escarpment.
    through(rng.uniform(-8, 8), "trunk", 0.02)
    # The primary road runs north-south, west of the river.
    through(90 + rng.uniform(-12, -4), "primary", 0.03)

    # Secondary roads radiate from near the centre, about 3 per 25 km of region width.
    n_sec = max(2, int(round(3 * scale)))
    base_angles = np.array([45.0, 145.0, 235.0, 320.0])
    for i in range(n_sec):
        if i < len(base_angles):
            ang = np.radians(base_angles[i] + rng.uniform(-15, 15))
            start = np.array(layout.centre) + rng.uniform(0.2, 0.6) * layout.core_radius_m * np.array(
                [np.cos(ang), np.sin(ang)])
        else:  # in large regions, secondary roads also join outlying towns
            ang = rng.uniform(0, 2 * np.pi)
            start = np.array(frame.xy(*rng.uniform(-0.4, 0.4, 2)))
        length = rng.uniform(0.35, 0.6) * L
        end = start + length * np.array([np.cos(ang), np.sin(ang)])
        line = _wiggly(rng, start, end, 0.015 * L, 0.3 * L)
        if line.intersects(layout.lake):
            line = line.difference(layout.lake.buffer(200))
            if line.geom_type != "LineString":
                line = max(line.geoms, key=lambda g: g.length)
        line = line.intersection(region)
        if not line.is_empty:
            line = as_line(line)
        if not line.is_empty and line.length > 500:
            roads.append((line, "secondary"))
    return roads


def place_villages(frame: Frame, layout: Layout, rng: np.random.Generator, scale: float,
              road_dist: np.ndarray, blocked: np.ndarray, slope: np.ndarray,
              floodplain: np.ndarray) -> list[tuple[float, float, float]]:
    """Village centres (x, y in metres) and radii (metres): about 9 per 625 km²,
    mostly near roads, on dry, gentle land away from the city core."""
    n_target = max(2, int(round(9 * scale**2)))
    n = frame.size
    cx, cy = layout.centre
    xs = frame.left + (np.arange(n) + 0.5) * RES_M
    ys = frame.top - (np.arange(n) + 0.5) * RES_M
    d_centre = np.hypot(xs[None, :] - cx, ys[:, None] - cy)
    w = np.exp(-road_dist / 1200.0) + 0.08
    w[blocked | (slope > 15) | floodplain | (d_centre < 1.6 * layout.core_radius_m)] = 0
    w = w.ravel().astype(np.float64)
    total = w.sum()
    if total <= 0:
        return []
    picks = rng.choice(w.size, size=n_target * 8, p=w / total)
    rows, cols = np.divmod(picks, n)
    spacing = 1800.0 * min(1.0, max(0.35, scale))
    chosen: list[tuple[float, float, float]] = []
    for r, c in zip(rows, cols):
        x, y = float(xs[c]), float(ys[r])
        if all(np.hypot(x - a, y - b) > spacing for a, b, _ in chosen):
            chosen.append((x, y, float(rng.uniform(130, 300))))
            if len(chosen) == n_target:
                break
    return chosen


def village_roads(frame: Frame, layout: Layout, villages: list, roads: list,
                   rng: np.random.Generator) -> list:
    """A tertiary road from each village to the nearest point of the road network."""
    from shapely.geometry import LineString, MultiLineString, Point
    from shapely.ops import nearest_points

    network = MultiLineString([g for g, _ in roads if g.geom_type == "LineString"])
    out = []
    for x, y, _ in villages:
        p = Point(x, y)
        q = nearest_points(p, network)[1]
        if p.distance(q) < 150:
            continue
        line = _wiggly(rng, (x, y), (q.x, q.y), min(250.0, 0.08 * p.distance(q)), 1500.0)
        if line.intersects(layout.lake):
            continue
        out.append((line, "tertiary"))
        # a short track on through the village
        ang = rng.uniform(0, 2 * np.pi)
        d = rng.uniform(600, 1400)
        out.append((LineString([(x, y), (x + d * np.cos(ang), y + d * np.sin(ang))]), "unclassified"))
    keep = []
    for line, cls in out:
        if cls == "unclassified" and (line.intersects(layout.lake) or line.intersects(layout.river)):
            continue
        keep.append((line, cls))
    return keep


def local_streets(frame: Frame, layout: Layout, built: dict[int, np.ndarray], blocked: np.ndarray,
                  rng: np.random.Generator) -> list:
    """A jittered street grid (about 200 m blocks) over and around the built-up land of each
    epoch: ``(line, class, year)``, ``year`` the first epoch of ``built`` (year → bool grid,
    ascending) whose built-up land the street serves. The streets are those around the last
    epoch's built-up land; dating them keeps a backtest from the earlier epochs from seeing
    streets drawn for growth it must predict."""
    import shapely

    n = frame.size
    L = frame.length_m
    spacing = 200.0
    years = sorted(built)
    last = built[years[-1]]
    share = ndimage.uniform_filter(last.astype(np.float32), size=11, mode="constant")
    near = {y: ndimage.binary_dilation(built[y], iterations=2) & ~blocked for y in years}
    angle = np.radians(rng.uniform(-10, 10))
    ca, sa = np.cos(angle), np.sin(angle)
    m = int(np.ceil(0.75 * L / spacing))
    g = np.arange(-m, m + 1) * spacing
    A, B = np.meshgrid(g, g)  # lattice coordinates (rotated frame)
    A = A + rng.uniform(-40, 40, A.shape)
    B = B + rng.uniform(-40, 40, B.shape)
    X = frame.cx + A * ca - B * sa
    Y = frame.cy + A * sa + B * ca
    segs = []
    for a0, a1 in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                   ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
        x0, y0, x1, y1 = X[a0].ravel(), Y[a0].ravel(), X[a1].ravel(), Y[a1].ravel()
        segs.append(np.stack([x0, y0, x1, y1], axis=1))
    s = np.concatenate(segs)
    # keep segments whose midpoint and ends are near built-up land
    keep = {y: np.ones(len(s), bool) for y in years}
    shares = np.zeros(len(s), np.float32)
    for fx, fy in ((0.5, 0.5), (0.0, 0.0), (1.0, 1.0)):
        px = s[:, 0] * (1 - fx) + s[:, 2] * fx
        py = s[:, 1] * (1 - fy) + s[:, 3] * fy
        r, c = frame.rowcol(px, py)
        ok = (r >= 0) & (r < n) & (c >= 0) & (c < n)
        r, c = np.clip(r, 0, n - 1), np.clip(c, 0, n - 1)
        for y in years:
            keep[y] &= ok & near[y][r, c]
        shares += share[r, c] / 3
    first = np.full(len(s), years[-1])
    for y in reversed(years[:-1]):
        first[keep[y]] = y
    k = keep[years[-1]]
    s, shares, first = s[k], shares[k], first[k]
    lines = shapely.linestrings(s.reshape(-1, 2, 2))
    wet = shapely.intersects(lines, layout.river.buffer(20.0)) | shapely.intersects(lines, layout.lake)
    wet |= shapely.intersects(lines, layout.forest)
    lines, shares, first = lines[~wet], shares[~wet], first[~wet]
    classes = np.where(shares > 0.45, "residential", "unclassified")
    return list(zip(lines.tolist(), classes.tolist(), first.tolist()))
