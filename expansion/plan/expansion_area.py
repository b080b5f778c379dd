"""The expansion area: new buildable land grown outward from today's urban extent."""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import ndimage

from ..grid import row_blocks
from ..metrics import CAPTURED, FRINGE, SUBURBAN, URBAN, classify_builtup
from ..stack import Stack
from .morphology import dilate, erode, sq_cells

log = logging.getLogger(__name__)

NOT_RANKED = 0xFFFF  # bucket of the cells that are not candidates

#: A separate part of the expansion area is kept when it has at least this many
#: superblocks (spacing²), however large the target (:func:`grow_expansion_area`'s
#: ``fragment_cap_ha``). Chosen on Hubli-Dharwad (a whole district, target 69,000 ha),
#: trading parts against the share of the city's growth held: 4 superblocks gave 38
#: parts and 91 %, 8 gave 20 parts and 88 %, 10 gave 13 parts and 85 %, no cap (2 % of
#: the target, 1,380 ha) 10 parts and 83 %. Targets under 40,000 ha at 1 km spacing
#: (2 % under 800 ha) are unchanged.
PART_SUPERBLOCKS = 8


def next_k(tried: list[tuple[int, float]], want: float, n_cand: int) -> int:
    """The next number of cheapest cells to take, from the ``(cells taken, new land got)``
    rounds so far: the secant through the last two rounds (smoothing adds or removes
    land roughly in proportion, plus a constant), or in proportion after one round."""
    k1, got1 = tried[-1]
    k = k1 * want / got1
    if len(tried) > 1:
        k0, got0 = tried[-2]
        if got1 != got0 and k1 != k0 and (got1 - got0) / (k1 - k0) > 0:
            k = k1 + (want - got1) * (k1 - k0) / (got1 - got0)
    k = int(min(n_cand, max(1, round(k))))
    if any(k == t for t, _ in tried):  # no progress: step past the closest round instead
        k = int(min(n_cand, max(1, round(k1 * want / got1))))
    return k


class Cheapest:
    """The ``k`` cheapest candidate cells for any ``k``, ties broken by cell index
    (the first ``k`` of a stable argsort of the candidates' costs), in O(cells)
    time and 2 bytes a cell.

    Each candidate gets a 16-bit bucket of its cost: the float32 bit pattern of a
    positive number, shifted, which never decreases as the cost grows. For a
    given ``k``, the buckets below the one holding the ``k``-th cheapest cell are
    taken whole, and in that bucket (a small share of the cells) the cheapest by
    exact cost, then by index.

    Parameters
    ----------
    cand : bool raster of the cells to rank.
    cost_rows : ``(row0, row1) -> float64`` costs of those rows (all columns).
    cost_at : ``flat indices -> float64`` costs of those cells.
        Costs must be positive and finite, and the two functions must agree.
    """

    def __init__(self, cand: np.ndarray, cost_rows, cost_at) -> None:
        self.cost_at = cost_at
        blocks = list(row_blocks(cand.shape))
        lo, hi = math.inf, -math.inf
        for r0, r1 in blocks:
            c = cost_rows(r0, r1)[cand[r0:r1]]
            if c.size:
                lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
        self.key = np.full(cand.shape, NOT_RANKED, np.uint16)
        counts = np.zeros(NOT_RANKED + 1, np.int64)
        if lo <= hi:
            if not (lo > 0 and math.isfinite(hi)):
                raise ValueError(f"costs must be positive and finite, got {lo} .. {hi}")
            b_lo = int(np.float32(lo).view(np.int32))
            span = int(np.float32(hi).view(np.int32)) - b_lo
            shift = 0
            while span >> shift >= NOT_RANKED:
                shift += 1
            for r0, r1 in blocks:
                m = cand[r0:r1]
                bits = cost_rows(r0, r1)[m].astype(np.float32).view(np.int32)
                key = ((bits - np.int32(b_lo)) >> shift).astype(np.uint16)
                self.key[r0:r1][m] = key
                counts += np.bincount(key, minlength=NOT_RANKED + 1)
        self.cum = np.cumsum(counts[:NOT_RANKED])
        self.n = int(self.cum[-1])

    def first(self, k: int) -> np.ndarray:
        """Bool raster of the ``k`` cheapest candidates (all of them when ``k`` exceeds their number)."""
        k = max(0, min(int(k), self.n))
        if k == 0:
            return np.zeros(self.key.shape, bool)
        b = int(np.searchsorted(self.cum, k))  # the bucket holding the k-th cheapest
        sel = self.key < b
        idx = np.flatnonzero(self.key == b)
        m = k - (int(self.cum[b - 1]) if b else 0)
        if m < len(idx):
            idx = idx[np.argsort(self.cost_at(idx), kind="stable")[:m]]
        sel.reshape(-1)[idx] = True
        return sel


def grow_expansion_area(stack: Stack, suitability_score: np.ndarray, excluded: np.ndarray,
                        base_builtup: np.ndarray, target_ha: float, *, close_m: float = 150.0,
                        open_m: float = 90.0, min_hole_ha: float = 25.0,
                        min_fragment_ha: float | None = None, fragment_cap_ha: float = math.inf,
                        likelihood: np.ndarray | None = None,
                        classes: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Grow ``target_ha`` of new buildable land outward from today's urban extent,
    where business-as-usual growth is going.

    Candidate cells (valid, not excluded, not water, not built, not captured open
    space inside the city) are ranked by ``(d + res)·(2 − s)``, where ``d`` is the
    distance from today's urban extent (Atlas: urban + suburban built-up and
    urbanized open space; the built-up itself for a city with none) in metres
    and ``s`` the suitability in [0, 1] (unsuitable land counts as twice as far).
    With ``likelihood`` (the business-as-usual probability that a cell is built
    by the horizon, float32 in [0, 1], NaN ignored), the cost is divided by
    ``0.01 + p̄``, where ``p̄`` is that probability averaged over a square of
    side ``2·close_m`` around the cell: land the city is growing into comes first,
    nearer and more suitable land first among equally likely cells.
    The cheapest are taken, then smoothed: closing by ``close_m``, opening by
    ``open_m``, holes under ``min_hole_ha`` filled (small villages and excluded
    patches become part of the area, water never), and patches under
    ``min_fragment_ha`` (default: the larger of 10 ha and 2 % of the target, but
    at most ``fragment_cap_ha``) dropped. The cap keeps a huge target (a whole
    district) from dropping every patch around growth away from the main city:
    without it the area would be made up around the main city instead, over land
    the city is not growing into. The number of cells taken is adjusted (up to 8 times) until the
    new buildable land in the smoothed area is within 1 % of ``target_ha``.
    ``classes``: the Atlas classes of the base year's built-up
    (``classify_builtup(base_builtup & valid, valid, water, res)``) when the caller has them.

    Returns
    -------
    (bool raster, hectares of new buildable land in it)
    """
    grid = stack.grid
    res, cell_ha = grid.res, grid.cell_area_ha
    valid, water = stack.valid, stack.water
    base = np.asarray(base_builtup, bool) & valid
    if classes is None:
        classes = classify_builtup(base, valid, water, res)
    extent = np.isin(classes, (URBAN, SUBURBAN, FRINGE, CAPTURED))
    seed = extent if np.isin(classes, (URBAN, SUBURBAN)).any() else base
    if not seed.any():
        seed = np.zeros_like(valid)
        rr, cc = np.nonzero(valid)
        if len(rr) == 0:
            return np.zeros_like(valid), 0.0
        k = np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2)
        seed[rr[k], cc[k]] = True
    cand = valid & ~np.asarray(excluded, bool) & ~water & ~base & (classes != CAPTURED)
    del classes, extent
    want = target_ha / cell_ha
    if min_fragment_ha is None:
        min_fragment_ha = max(10.0, min(0.02 * target_ha, fragment_cap_ha))
    if want <= 0 or not cand.any():
        return np.zeros_like(valid), 0.0
    # Cost (d + res)·(2 − s) in float64, computed from the squared distance in
    # cells (float32, exact) as scipy's transform gives d: sqrt(d²·res²).
    d2 = sq_cells(~seed)
    del seed
    score = np.asarray(suitability_score)
    res2 = res * res
    pull = None
    if likelihood is not None:
        pull = np.where(base, np.float32(0), np.nan_to_num(np.asarray(likelihood, np.float32)))
        size = 2 * int(round(close_m / res)) + 1
        ndimage.uniform_filter(pull, size=size, output=pull, mode="constant")
        pull = np.clip(pull, 0.0, 1.0, out=pull)

    def cost(d2_cells: np.ndarray, s: np.ndarray, p) -> np.ndarray:
        s = np.clip(np.nan_to_num(np.asarray(s, np.float64), nan=0.0), 0.0, 1.0)
        c = (np.sqrt(d2_cells.astype(np.float64) * res2) + res) * (2.0 - s)
        return c if p is None else c / (0.01 + np.asarray(p, np.float64))

    def rows_cost(r0: int, r1: int) -> np.ndarray:
        return cost(d2[r0:r1], score[r0:r1], None if pull is None else pull[r0:r1])

    def cells_cost(flat: np.ndarray) -> np.ndarray:
        p = None if pull is None else pull.reshape(-1)[flat]
        return cost(d2.reshape(-1)[flat], score.reshape(-1)[flat], p)

    ranking = Cheapest(cand, rows_cost, cells_cost)
    land = valid & ~water

    def smooth(k: int) -> np.ndarray:
        a = ranking.first(k) | base  # smoothed together with the city: infill gaps are not slivers
        a = erode(dilate(a, close_m, res), close_m, res)
        a = dilate(erode(a, open_m, res), open_m, res)
        a &= land
        a &= ~base
        holes, n = ndimage.label(ndimage.binary_fill_holes(a) & ~a)
        if n:
            small = np.bincount(holes.ravel(), minlength=n + 1) * cell_ha < min_hole_ha
            small[0] = False
            a |= small[holes]
        del holes
        a &= land
        lab, n = ndimage.label(a, structure=np.ones((3, 3), bool))
        if n:
            big = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha >= min_fragment_ha
            big[0] = False
            a = big[lab]
        return a

    n_cand = ranking.n
    k = int(min(n_cand, round(want)))
    best = None
    tried: list[tuple[int, float]] = []
    for _ in range(8):
        area = smooth(k)
        got = float(np.count_nonzero(area & cand))
        tried.append((k, got))
        if best is None or abs(got - want) < abs(best[1] - want):
            best = (area, got)
        del area
        if abs(got - want) <= 0.01 * want or (k >= n_cand and got < want) or got == 0:
            break
        k = next_k(tried, want, n_cand)
    log.debug("expansion area: cells taken and new land got per round %s (want %.0f)", tried, want)
    area, got = best
    return area, got * cell_ha

