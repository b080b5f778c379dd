"""The calibrated probability that a cell is built up by the horizon.

The Monte-Carlo share of runs is not a probability: with little noise the runs
agree, so most cells get 0 or 1, and on the backtests 30–72 % of the new built-up
fell on cells given 0 (skill benchmark, before this module). Instead the
probability of an open cell is

    p = σ(t · log q + c)

where ``q`` is the growth potential at the base year (the model's probability of
development, with its survival discount), ``t`` a temperature and ``c`` the one
number that makes the expected number of new cells, ``Σ p`` over the open cells,
equal to the quantity the demand asks for by the horizon: the model's
probabilities conditioned on the projected quantity. ``t`` is fitted on the
validation window (the model of the window before it, scored on what then
happened; :func:`fit_temperature`, least Brier score) and is 1 without one.
Cells built at the base year have p = 1, excluded cells and cells outside an
allowed area p = 0, cells outside the study area NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..stack import Stack
from .logit import log_potential
from .model import GrowthModel

# Temperatures tried by fit_temperature: log10 t from -3.5 to 0.5 (the nearest-built-up
# rule's log-potential is minus the distance in metres, so its t is small), then refined.
TEMPERATURE_LOG10 = np.arange(-3.5, 0.51, 0.25)
TEMPERATURE_REFINE = np.arange(-0.25, 0.26, 1 / 32)
# At most this many open cells (a seeded uniform sample) are used to fit the temperature.
TEMPERATURE_SAMPLE = 200_000


def match_quantity(score: np.ndarray, cells: float) -> np.ndarray:
    """``σ(score + c)`` (float32) with ``c`` such that the values add up to ``cells``
    (clipped to [0, len(score)]). Safeguarded Newton on ``c``."""
    n = score.size
    k = min(max(float(cells), 0.0), float(n))
    if n == 0 or k == 0:
        return np.zeros(n, np.float32)
    if k == n:
        return np.ones(n, np.float32)
    lo, hi = -float(score.max()) - 50.0, -float(score.min()) + 50.0
    c = float(np.log(k / (n - k))) - float(np.median(score))
    c = min(max(c, lo), hi)
    p = np.empty(n, np.float32)
    for _ in range(100):
        expit(score + np.float32(c), out=p)
        f = float(p.sum(dtype=np.float64)) - k
        if abs(f) < 1e-3 * max(1.0, k) ** 0.5:
            break
        if f > 0:
            hi = c
        else:
            lo = c
        slope = float((p * (1 - p)).sum(dtype=np.float64))
        step = c - f / slope if slope > 0 else np.nan
        c = step if lo < step < hi else (lo + hi) / 2
    return p


def probability_on(logq: np.ndarray, open_: np.ndarray, cells: float, temperature: float) -> np.ndarray:
    """``σ(t · log q + c)`` on the ``open_`` cells (float32 grid, 0 elsewhere), adding up to ``cells``."""
    out = np.zeros(open_.shape, np.float32)
    score = logq[open_].astype(np.float32)
    score *= np.float32(temperature)
    out[open_] = match_quantity(score, cells)
    return out


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared difference of a probability and a 0/1 outcome."""
    d = p - y.astype(np.float32)
    return float(np.mean(d * d, dtype=np.float64))


def fit_temperature(logq: np.ndarray, open_: np.ndarray, observed_new: np.ndarray) -> float:
    """The temperature whose quantity-matched probabilities have the least Brier score on
    the open cells against ``observed_new`` (a coarse then a fine grid in log10 t)."""
    y = observed_new[open_]
    score = logq[open_].astype(np.float32)
    if y.size > TEMPERATURE_SAMPLE:  # a uniform sample of the open cells estimates the Brier score
        take = np.sort(np.random.default_rng(0).choice(y.size, TEMPERATURE_SAMPLE, replace=False))
        y, score = y[take], score[take]
    k = float(np.count_nonzero(y))

    def loss(log10_t: float) -> float:
        return brier(match_quantity(score * np.float32(10.0 ** log10_t), k), y)

    best = min(TEMPERATURE_LOG10, key=loss)
    best = min(best + TEMPERATURE_REFINE, key=loss)
    return float(10.0 ** best)


def probability_by_horizon(model: GrowthModel, stack: Stack, builtup: np.ndarray, excluded: np.ndarray,
                           cells: float, arterial_dist_m=None, road_dist_m=None,
                           allowed: np.ndarray | None = None) -> np.ndarray:
    """The calibrated probability (float32) that each cell is built up by the horizon.

    Parameters
    ----------
    model : the growth model (its ``temperature`` is used).
    builtup : bool, built-up land at the base year.
    excluded : bool, cells that never develop.
    cells : new cells the demand asks for by the horizon (all steps).
    arterial_dist_m, road_dist_m, allowed : as for :func:`expansion.growth.simulate`.

    Returns
    -------
    float32 grid: 1 on built-up land, ``σ(t · log q + c)`` on open cells (adding up to
    ``cells``), 0 on excluded cells or outside ``allowed``, NaN outside the study area.
    """
    base = builtup & stack.valid
    open_ = stack.valid & ~excluded & ~base
    if allowed is not None:
        open_ &= allowed
    logq = log_potential(model, stack, base, arterial_dist_m, road_dist_m)
    out = probability_on(logq, open_, cells, model.temperature)
    del logq
    out[base] = 1
    out[~stack.valid] = np.nan
    return out
