"""The demo's elevation: river valley, floodplain, plain, hills and a lake (metres, padded grid)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frame import PAD_CELLS, RES_M, Frame, densify, edt_m, smooth_noise, unit_coords
from .layout import Layout


@dataclass
class Terrain:
    dem: np.ndarray  # padded grid, metres
    river_dist: np.ndarray | None  # padded grid, metres
    river_cells: np.ndarray  # padded grid, bool
    floodplain_m: np.ndarray | None  # padded grid, half-width of the floodplain, metres


def make_terrain(frame: Frame, layout: Layout, rng: np.random.Generator) -> Terrain:
    """Elevation on the grid padded by PAD_CELLS: river valley, floodplain, plain, hills."""
    n = frame.size + 2 * PAD_CELLS
    shape = (n, n)
    L = frame.length_m

    # The river runs north to south; its level falls 0.8 m per km southwards and
    # every cell's valley floor takes the level of its latitude, so the river
    # always lies at the bottom of the valley.
    pts = densify(layout.river, 10.0)
    r, c = frame.rowcol(pts[:, 0], pts[:, 1], pad=PAD_CELLS)
    ok = (r >= 0) & (r < n) & (c >= 0) & (c < n)
    river_cells = np.zeros(shape, bool)
    river_cells[r[ok], c[ok]] = True
    dist = edt_m(~river_cells)
    base = (1590.0 - 0.0008 * RES_M * np.arange(n, dtype=np.float32))[:, None]

    u, v = unit_coords(frame, PAD_CELLS)
    U, V = u[None, :], v[:, None]

    # Floodplain: flat, 300-700 m either side of the river.
    fp = (480.0 + 160.0 * smooth_noise(rng, shape, 2500 / RES_M)).clip(250, 800)
    above = np.maximum(dist - fp, 0)
    # Valley sides rise 3 % then ease into the plain's 0.6 % gradient.
    valley = 1.2 + 22.0 * (1 - np.exp(-above / 700.0)) + 0.006 * above
    z = base + valley
    del above, valley
    z += 0.35 * smooth_noise(rng, shape, 300 / RES_M) * (dist < fp)  # floodplain micro-relief

    # Plain: gentle swells of a few metres.
    away = np.clip((dist - fp) / 1500.0, 0, 1)
    z += away * (6.0 * smooth_noise(rng, shape, 3000 / RES_M) + 1.5 * smooth_noise(rng, shape, 400 / RES_M))

    # Hills: an eastern escarpment and a south-western hill mass, textured so
    # that slopes reach about 40 %.
    hu = layout.hill_east_u
    esc = 1 / (1 + np.exp(-(U - hu - 0.02 * smooth_noise(rng, shape, 0.1 * L / RES_M)) / 0.025))
    su, sv, sr = layout.hill_sw
    dsw = np.sqrt((U - su) ** 2 + (V - sv) ** 2) / sr
    sw = np.exp(-(dsw**2) * 1.6)
    del dsw
    hills = np.maximum(esc, sw) * np.clip((dist - fp) / 1200.0, 0, 1)
    del esc, sw
    relief = 0.55 * smooth_noise(rng, shape, 700 / RES_M) + 0.3 * smooth_noise(rng, shape, 250 / RES_M)
    ridged = 1 - np.abs(relief)
    z += hills * (220.0 + 120.0 * ridged)
    del relief, ridged, hills, away

    # Lake: a flat water surface with gently rising shores.
    lake = _rasterize_padded(layout.lake, frame, n)
    if lake.any():
        lake_level = float(np.median(z[lake])) - 1.0
        # shores rise 2 %: within 5 km they meet the plain, so work in a window
        rows, cols = np.nonzero(lake)
        m = int(5000 / RES_M)
        win = (slice(max(0, rows.min() - m), rows.max() + m + 1),
               slice(max(0, cols.min() - m), cols.max() + m + 1))
        z[win] = np.minimum(z[win], lake_level + 0.02 * edt_m(~lake[win]))
    z = z.astype(np.float32)
    return Terrain(dem=z, river_dist=dist, river_cells=river_cells, floodplain_m=fp.astype(np.float32))


def _rasterize_padded(geom, frame: Frame, n: int) -> np.ndarray:
    from rasterio import features

    t = frame.padded_transform
    return features.rasterize([(geom, 1)], out_shape=(n, n), transform=t, fill=0,
                              dtype="uint8").astype(bool)
