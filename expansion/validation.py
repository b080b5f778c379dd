"""Backtest metrics: how well predicted growth matches observed growth.

All comparisons are on *candidate* cells: inside the study area, not excluded,
and not built at the base year (peer-tools.md, validation protocol step 4).
With ``H`` hits (predicted and observed new built-up), ``M`` misses (observed,
not predicted), ``F`` false alarms (predicted, not observed), ``R`` correct
rejections and ``N = H + M + F + R`` candidate cells:

- figure of merit ``FoM = H / (H + M + F)`` (Pontius et al. 2008, binary case);
- producer's accuracy ``H / (H + M)``, user's accuracy ``H / (H + F)``;
- quantity disagreement ``|F − M| / N`` and allocation disagreement
  ``2·min(F, M) / N`` (Pontius & Millones 2011, binary case), so
  ``Q + A = (F + M) / N``, the total disagreement on candidate cells;
- kappa simulation (van Vliet et al. 2011); on candidate cells the original map
  is all "open", so it reduces to Cohen's kappa of change vs no change.

A ratio whose denominator is 0 is reported as 0, as GRASS
``r.futures.validation`` does. Note the denominator of Q and A: GRASS divides by
the whole compared extent (including cells already built, which agree by
construction); we divide by the candidate cells, which makes the figures larger
and comparable across cities with different built-up shares. Multiply by
``N / extent`` to get GRASS's figures.

Coarser resolutions (:func:`coarsen_compare`): cells are grouped into
``factor × factor`` blocks; per block, ``p`` and ``o`` are the numbers of
predicted and observed new cells; hits are ``min(p, o)`` (fuzzy min-overlap,
Pontius's multiple-resolution agreement), false alarms ``max(0, p − o)``, misses
``max(0, o − p)``; rejections make up the block's candidate cells. Quantity
disagreement does not change with resolution; allocation disagreement falls.

Null models (the model must beat them): no change; the same quantity at random
on candidate cells; the same quantity on the candidate cells nearest existing
built-up land. Distances on a grid tie massively (every cell next to built-up
land is exactly one cell away), so ties are broken by a fixed pseudo-random
permutation of the cells (seed :data:`NEAREST_TIE_SEED`): deterministic, and
without the bias of row-major order, which would fill the northern edge of
every ring first and make the null look weaker than "grow next to what is
built" really is (on Bacău row-major ties give FoM 0.027–0.029, fair ties
0.044–0.057). Other tie seeds give the spread of the rule's own tie-breaking: a
model whose margin over the rule is inside that spread has not beaten it.

A probability map is checked for calibration (:func:`reliability`: reliability
bins, expected calibration error, Brier skill against forecasting the observed
rate everywhere, and the share of new built-up on cells given p = 0). The
difference in FoM between two predictions gets a spatial block bootstrap interval
(:func:`bootstrap_fom_difference`): blocks of cells, not cells, are resampled,
because errors are correlated in space.
"""

from __future__ import annotations

import logging

import numpy as np

from .grid import distance_m

log = logging.getLogger(__name__)

RESOLUTION_FACTORS = (2, 4, 8)
NEAREST_TIE_SEED = 0
RELIABILITY_BINS = 10
BOOTSTRAP_SAMPLES = 1000


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def _metrics(h: float, m: float, f: float, r: float) -> dict:
    n = h + m + f + r
    p_o = _ratio(h + r, n)
    p_e = _ratio(h + f, n) * _ratio(h + m, n) + _ratio(m + r, n) * _ratio(f + r, n)
    return {
        "hits": h, "misses": m, "false_alarms": f, "correct_rejections": r, "candidates": n,
        "fom": _ratio(h, h + m + f),
        "producers_accuracy": _ratio(h, h + m),
        "users_accuracy": _ratio(h, h + f),
        "quantity_disagreement": _ratio(abs(f - m), n),
        "allocation_disagreement": _ratio(2 * min(f, m), n),
        "kappa_simulation": _ratio(p_o - p_e, 1 - p_e) if p_e < 1 else 0.0,
    }


def compare(predicted_new: np.ndarray, observed_new: np.ndarray, candidates: np.ndarray) -> dict:
    """Hits, misses, false alarms and the derived metrics on candidate cells.

    Parameters
    ----------
    predicted_new, observed_new : bool arrays, cells that became built up.
    candidates : bool, the cells compared (open at the base year, not excluded, valid).

    Returns
    -------
    dict with ``hits, misses, false_alarms, correct_rejections, candidates`` (cell
    counts, int) and ``fom, producers_accuracy, users_accuracy,
    quantity_disagreement, allocation_disagreement, kappa_simulation`` (floats).
    """
    p = predicted_new & candidates
    o = observed_new & candidates
    h = int(np.count_nonzero(p & o))
    m = int(np.count_nonzero(o)) - h
    f = int(np.count_nonzero(p)) - h
    r = int(np.count_nonzero(candidates)) - h - m - f
    return _metrics(h, m, f, r)


def _block_sum(a: np.ndarray, factor: int) -> np.ndarray:
    rows, cols = a.shape
    pr, pc = -rows % factor, -cols % factor
    a = np.pad(a.astype(np.int64), ((0, pr), (0, pc)))
    return a.reshape(a.shape[0] // factor, factor, a.shape[1] // factor, factor).sum(axis=(1, 3))


def coarsen_compare(predicted_new: np.ndarray, observed_new: np.ndarray, candidates: np.ndarray,
                    factor: int) -> dict:
    """:func:`compare` on ``factor × factor`` blocks (fuzzy min-overlap; see module docstring).

    Counts are in fine cells; ``factor`` 1 gives the same as :func:`compare`.
    """
    p = _block_sum(predicted_new & candidates, factor)
    o = _block_sum(observed_new & candidates, factor)
    n = _block_sum(candidates, factor)
    h = int(np.minimum(p, o).sum())
    f = int(np.clip(p - o, 0, None).sum())
    m = int(np.clip(o - p, 0, None).sum())
    out = _metrics(h, m, f, int(n.sum()) - h - m - f)
    out["factor"] = factor
    return out


# ---------------------------------------------------------------- null models


def null_no_change(candidates: np.ndarray) -> np.ndarray:
    """Persistence: nothing new is built."""
    return np.zeros(candidates.shape, bool)


def null_random(quantity: int, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``quantity`` candidate cells chosen uniformly at random (all if fewer)."""
    idx = np.flatnonzero(candidates)
    out = np.zeros(candidates.shape, bool)
    out.ravel()[rng.choice(idx, min(int(quantity), idx.size), replace=False)] = True
    return out


def top_cells(score: np.ndarray, quantity: int, candidates: np.ndarray,
              tie_seed: int = NEAREST_TIE_SEED) -> np.ndarray:
    """The ``quantity`` candidate cells of highest ``score`` (all if fewer).

    Ties are broken by a pseudo-random order of the cells (seed ``tie_seed``), so the
    result is deterministic and unbiased in space."""
    idx = np.flatnonzero(candidates)
    out = np.zeros(candidates.shape, bool)
    q = min(int(quantity), idx.size)
    if q <= 0:
        return out
    s = np.asarray(score).ravel()[idx]
    tie = np.random.default_rng(tie_seed).permutation(candidates.size)[idx]
    order = np.lexsort((tie, -s))  # by score (highest first), then by the random order
    out.ravel()[idx[order[:q]]] = True
    return out


def null_nearest(quantity: int, candidates: np.ndarray, builtup_base: np.ndarray,
                 cell_size_m: float, tie_seed: int = NEAREST_TIE_SEED) -> np.ndarray:
    """``quantity`` candidate cells nearest the base built-up land (Euclidean, metres).

    Ties are broken by a pseudo-random order of the cells (seed ``tie_seed``, by default
    :data:`NEAREST_TIE_SEED`), so the result is deterministic and unbiased in space; other
    tie seeds give the spread of the rule's own tie-breaking.
    """
    return top_cells(-distance_m(builtup_base, cell_size_m), quantity, candidates, tie_seed)


# ---------------------------------------------------------------- probabilities


def reliability(probability: np.ndarray, observed_new: np.ndarray, candidates: np.ndarray,
                bins: int = RELIABILITY_BINS) -> dict:
    """Calibration of a probability of development on the candidate cells.

    Parameters
    ----------
    probability : float, the forecast probability that a cell is built by the observed year.
    observed_new : bool, cells that did become built.
    candidates : bool, the cells scored (NaN probabilities among them count as 0).

    Returns
    -------
    dict with ``bins`` (equal-width bins of p; per bin ``p_low``, ``p_high``, ``cells``,
    ``mean_p``, ``observed_rate``), ``ece`` (expected calibration error: the cell-weighted
    mean of ``|mean_p − observed_rate|`` over the bins), ``brier`` (mean squared error),
    ``brier_constant`` (the Brier score of forecasting the observed rate everywhere),
    ``brier_skill`` (``1 − brier / brier_constant``: above 0 beats the constant rate),
    ``rate`` (share of candidates that developed), ``p0_share`` (share of candidates
    given p = 0) and ``new_on_p0_share`` (share of the new built-up on them).
    """
    p = np.nan_to_num(np.asarray(probability, np.float64)[candidates], nan=0.0)
    y = np.asarray(observed_new)[candidates].astype(np.float64)
    n = p.size
    rate = float(y.mean()) if n else 0.0
    k = np.minimum((p * bins).astype(np.int64), bins - 1)
    cells = np.bincount(k, minlength=bins)
    sum_p = np.bincount(k, weights=p, minlength=bins)
    sum_y = np.bincount(k, weights=y, minlength=bins)
    rows, ece = [], 0.0
    for b in range(bins):
        if cells[b] == 0:
            continue
        mp, oy = sum_p[b] / cells[b], sum_y[b] / cells[b]
        ece += cells[b] / n * abs(mp - oy)
        rows.append({"p_low": b / bins, "p_high": (b + 1) / bins, "cells": int(cells[b]), "mean_p": float(mp),
                     "observed_rate": float(oy)})
    brier = float(np.mean((p - y) ** 2)) if n else 0.0
    brier_constant = rate * (1 - rate)
    zero = p == 0
    return {"bins": rows, "ece": float(ece), "brier": brier, "brier_constant": brier_constant,
            "brier_skill": 1 - _ratio(brier, brier_constant) if brier_constant else 0.0, "rate": rate,
            "p0_share": _ratio(np.count_nonzero(zero), n),
            "new_on_p0_share": _ratio(np.count_nonzero(zero & (y > 0)), y.sum())}


# ---------------------------------------------------------------- spatial block bootstrap


def block_counts(predicted_new: np.ndarray, observed_new: np.ndarray, candidates: np.ndarray,
                 block: int) -> np.ndarray:
    """Hits, misses and false alarms per ``block × block`` cells: float array (blocks, 3),
    only blocks with a candidate cell. Add the counts of several runs and divide by their
    number for the mean of an ensemble."""
    p = predicted_new & candidates
    o = observed_new & candidates
    h = _block_sum(p & o, block)
    keep = _block_sum(candidates, block).ravel() > 0
    counts = np.stack([h, _block_sum(o, block) - h, _block_sum(p, block) - h], axis=-1).reshape(-1, 3)
    return counts[keep].astype(np.float64)


def bootstrap_fom_difference(counts_a: np.ndarray, counts_b: np.ndarray, rng: np.random.Generator,
                             samples: int = BOOTSTRAP_SAMPLES, level: float = 0.95) -> dict:
    """FoM(a) − FoM(b) with a spatial block bootstrap interval.

    ``counts_a``, ``counts_b``: :func:`block_counts` of two predictions on the same blocks.
    Blocks are drawn with replacement (the same draw for both), which keeps the spatial
    dependence of errors inside a block. Returns ``difference`` (on all blocks), ``low``
    and ``high`` (the ``level`` percentile interval) and ``samples``."""
    def fom(c):
        return c[..., 0] / np.maximum(c.sum(axis=-1), 1e-12)

    n = counts_a.shape[0]
    draws = rng.integers(0, n, size=(samples, n))
    diff = fom(counts_a[draws].sum(axis=1)) - fom(counts_b[draws].sum(axis=1))
    tail = (1 - level) / 2 * 100
    return {"difference": float(fom(counts_a.sum(axis=0)) - fom(counts_b.sum(axis=0))),
            "low": float(np.percentile(diff, tail)), "high": float(np.percentile(diff, 100 - tail)),
            "samples": samples, "level": level}
