"""The demo's built-up epochs (a stochastic growth process a logistic model can learn) and
its population raster (persons per 30 m cell)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .frame import RES_M, YEARS, Frame, chamfer_m, smooth_noise
from .layout import Layout


def _top_k(score: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the ``k`` highest scores among allowed cells (ties broken by index)."""
    idx = np.flatnonzero(allowed.ravel())
    if k >= idx.size:
        return idx
    vals = score.ravel()[idx]
    part = np.argpartition(-vals, k - 1)[:k]
    return idx[part]


def grow_builtup(frame: Frame, layout: Layout, villages: list, rng: np.random.Generator,
             targets: dict[int, int], blocked: np.ndarray, slope: np.ndarray, floodplain: np.ndarray,
             road_dist: np.ndarray, highway_dist: np.ndarray, step) -> dict[int, np.ndarray]:
    """Built-up per year: 1995 from a score surface (core, ribbons, villages),
    then two growth epochs of a logistic-like stochastic process."""
    n = frame.size
    shape = (n, n)
    cx, cy = layout.centre
    xs = (frame.left + (np.arange(n) + 0.5) * RES_M - cx).astype(np.float32)
    ys = (frame.top - (np.arange(n) + 0.5) * RES_M - cy).astype(np.float32)
    d_centre = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    R = layout.core_radius_m

    # 1995: a compact core, ribbons along the highways, villages.
    ragged = 1 + 0.22 * smooth_noise(rng, shape, 0.25 * R / RES_M)
    score = np.exp(-((d_centre / (R * ragged)) ** 2))
    del ragged
    score = np.maximum(score, 0.75 * np.exp(-highway_dist / 70.0) * np.exp(-d_centre / (2.2 * R)))
    for vx, vy, vrad in villages:  # a few hundred at most: small windows around each
        r, c = frame.rowcol(vx, vy)
        m = int(3 * vrad / RES_M) + 1
        r0, r1, c0, c1 = max(0, r - m), min(n, r + m + 1), max(0, c - m), min(n, c + m + 1)
        if r0 >= r1 or c0 >= c1:
            continue
        dy = (np.arange(r0, r1) - r)[:, None] * RES_M
        dx = (np.arange(c0, c1) - c)[None, :] * RES_M
        bump = 0.9 * np.exp(-(dx**2 + dy**2) / vrad**2).astype(np.float32)
        np.maximum(score[r0:r1, c0:c1], bump, out=score[r0:r1, c0:c1])
    score += 0.12 * smooth_noise(rng, shape, 250 / RES_M) + 0.04 * smooth_noise(rng, shape, 2)
    score -= slope / 60.0 + 0.25 * floodplain
    built = np.zeros(shape, bool)
    built.ravel()[_top_k(score, ~blocked, targets[1995])] = True
    del score, d_centre
    out = {1995: built.copy()}
    step(4, f"built-up 1995: {built.sum() * RES_M**2 / 1e6:.1f} km²")

    # Growth: the drivers a logistic model would use, plus spatially
    # correlated noise (growth comes in patches) and Gumbel noise for the draw.
    road_term = np.exp(-road_dist / 350.0).astype(np.float32)
    fixed = (1.8 * road_term - slope / 5.0 - 1.0 * floodplain).astype(np.float32)
    del road_term
    prev_year = 1995
    for i, year in enumerate(YEARS[1:]):
        need = targets[year] - int(built.sum())
        sub = 2
        for j in range(sub):
            k = need // sub + (need % sub if j == sub - 1 else 0)
            if k <= 0:
                continue
            b = built.astype(np.float32)
            share = ndimage.uniform_filter(b, size=21, mode="constant")
            dist = chamfer_m(~built)
            logit = fixed + 3.0 * share - dist / 150.0
            del share, dist, b
            logit += 0.9 * smooth_noise(rng, shape, 200 / RES_M)
            uniform = rng.random(shape, dtype=np.float32)
            np.clip(uniform, 1e-7, 1 - 1e-7, out=uniform)
            logit -= 0.35 * np.log(-np.log(uniform))  # Gumbel noise: a weighted draw by top-k
            del uniform
            built.ravel()[_top_k(logit, ~blocked & ~built, k)] = True
            del logit
        out[year] = built.copy()
        step(5 + i, f"built-up {year}: {built.sum() * RES_M**2 / 1e6:.1f} km² (from {prev_year})")
        prev_year = year
    return out


def population_raster(frame: Frame, layout: Layout, built: np.ndarray, rng: np.random.Generator,
                total: float) -> np.ndarray:
    """Persons per cell on built-up cells, denser in the core, summing to ``total``."""
    n = frame.size
    cx, cy = layout.centre
    xs = (frame.left + (np.arange(n) + 0.5) * RES_M - cx).astype(np.float32)
    ys = (frame.top - (np.arange(n) + 0.5) * RES_M - cy).astype(np.float32)
    d = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    share = ndimage.uniform_filter(built.astype(np.float32), size=21, mode="constant")
    w = (0.4 + 1.6 * np.exp(-d / layout.core_radius_m)) * (0.3 + share)
    w *= np.exp(0.35 * smooth_noise(rng, (n, n), 150 / RES_M))
    w = np.where(built, w, 0).astype(np.float64)
    pop = (w * (total / max(w.sum(), 1e-9))).astype(np.float32)
    return pop
