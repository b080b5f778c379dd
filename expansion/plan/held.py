"""How much of the business-as-usual growth the plan holds.

The plan for a city *holds* a cell's expected growth when the cell lies inside
today's urban extent (infill: gaps and open space the city's own streets already
serve) or inside the expansion area. Growth around *outlying settlements* is not
the city's expansion: it is reported on its own, never counted against the plan
and never hidden.

Definitions (all on the analysis grid, distances centre to centre in metres):

- **expected growth** of a cell: its business-as-usual calibrated probability of
  being built by the horizon, on valid cells not built at the base year (NaN
  counts as 0); summed, the expected new built-up land in cells;
- **today's urban extent**: the Atlas urban extent at the base year (urban and
  suburban built-up, fringe and captured open space, :func:`expansion.metrics.classify_builtup`);
  for a city with no urban or suburban built-up, its built-up land;
- **outlying** land: nearer a rural built-up cell (Atlas class rural: villages and
  scattered houses, outside the urban extent) than the urban extent, and farther
  than one arterial spacing from the urban extent. *Outlying growth* is expected
  growth on outlying land that is neither in the urban extent nor in the expansion
  area (growth the plan covers is held, wherever it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import CAPTURED, FRINGE, RURAL, SUBURBAN, URBAN, classify_builtup
from .morphology import sq_cells, within_sq

#: The share of the city's business-as-usual growth the plan should hold (issue 14).
HELD_TARGET = 0.85

#: Outlying growth above this share of all expected growth is worth a warning.
OUTLYING_WARN_SHARE = 0.05


@dataclass(frozen=True)
class GrowthHeld:
    """Business-as-usual growth and the plan's hold on it (shares of all expected growth unless said).

    Attributes
    ----------
    growth_ha : expected new built-up land (business as usual), hectares.
    infill_share : expected growth inside today's urban extent and outside the
        expansion area, of all expected growth.
    in_area_share : expected growth inside the expansion area, of all expected growth.
    outlying_share : outlying growth (around outlying settlements, outside the urban
        extent and the expansion area), of all expected growth.
    share : the share of the *city's* expected growth that the plan holds:
        ``(infill_share + in_area_share) / (1 − outlying_share)``.
    best_share : the largest ``share`` any expansion area of the same number of cells
        outside the urban extent could reach (the cells most likely to be built,
        wherever they are, however scattered); None unless ``share`` is below
        :data:`HELD_TARGET`.
    """

    growth_ha: float
    infill_share: float
    in_area_share: float
    outlying_share: float
    share: float
    best_share: float | None = None

    @property
    def outlying_ha(self) -> float:
        return self.outlying_share * self.growth_ha


def growth_held(probability: np.ndarray, base_builtup: np.ndarray, valid: np.ndarray, water: np.ndarray,
                area: np.ndarray, spacing_m: float, res: float,
                classes: np.ndarray | None = None) -> GrowthHeld | None:
    """The plan's hold on business-as-usual growth (see the module docstring).

    Parameters
    ----------
    probability : float32, business-as-usual probability that a cell is built by the
        horizon, in [0, 1] (NaN ignored).
    base_builtup, valid, water, area : bool rasters on the grid (built-up at the base
        year, inside the study area, water, the expansion area).
    spacing_m : arterial spacing, metres: outlying land is farther than this from the urban extent.
    res : cell size, metres.
    classes : the Atlas classes of the base year's built-up
        (``classify_builtup(base_builtup & valid, valid, water, res)``) when the caller has them.

    Returns None when no growth is expected. Cost: two distance transforms and a
    few passes over the cells (a partial sort of the candidate cells when the share
    is below the target).
    """
    base = np.asarray(base_builtup, bool) & valid
    grow = np.where(valid & ~base, np.nan_to_num(np.asarray(probability, np.float32)), np.float32(0))
    total = float(grow.sum(dtype=np.float64))
    if total <= 0:
        return None
    if classes is None:
        classes = classify_builtup(base, valid, water, res)
    urban = np.isin(classes, (URBAN, SUBURBAN))
    extent = np.isin(classes, (URBAN, SUBURBAN, FRINGE, CAPTURED)) if urban.any() else base
    villages = (classes == RURAL) & ~extent
    del urban
    area = np.asarray(area, bool)
    held = extent | area
    infill = float(grow[extent & ~area].sum(dtype=np.float64))
    in_area = float(grow[area].sum(dtype=np.float64))
    outlying = outlying_land(extent, villages, spacing_m, res)
    out_growth = float(grow[outlying & ~held].sum(dtype=np.float64))
    del held
    share = (infill + in_area) / (total - out_growth) if total > out_growth else 1.0  # as held_share
    best = None
    if share < HELD_TARGET:  # what an area of as many cells, the likeliest to be built, would hold
        k = int(np.count_nonzero(area & ~extent))
        likeliest = likeliest_cells(np.where(extent, np.float32(0), grow), k)
        best = held_share(grow, extent, likeliest, outlying, total)
    return GrowthHeld(growth_ha=total * res * res / 10_000.0, infill_share=infill / total,
                      in_area_share=in_area / total, outlying_share=out_growth / total, share=share,
                      best_share=best)


def outlying_land(extent: np.ndarray, villages: np.ndarray, spacing_m: float, res: float) -> np.ndarray:
    """Bool raster: nearer a ``villages`` cell than ``extent`` and farther than
    ``spacing_m`` (metres) from ``extent``; all False when either is empty."""
    if not extent.any() or not villages.any():
        return np.zeros(extent.shape, bool)
    to_city = sq_cells(~extent)
    far = to_city > within_sq(spacing_m, res)
    far &= sq_cells(~villages) < to_city
    return far


def held_share(grow: np.ndarray, extent: np.ndarray, area: np.ndarray, outlying: np.ndarray,
               total: float) -> float:
    """Expected growth in ``extent | area`` over all expected growth ``total`` less the
    outlying growth outside them (``grow`` float32 per cell, the rest bool rasters)."""
    held = extent | area
    out = float(grow[outlying & ~held].sum(dtype=np.float64))
    return float(grow[held].sum(dtype=np.float64)) / (total - out) if total > out else 1.0


def likeliest_cells(grow: np.ndarray, k: int) -> np.ndarray:
    """Bool raster of the ``k`` cells of largest ``grow`` (more on ties at the k-th
    value; none of ``grow`` 0), by a partial sort: O(cells)."""
    pos = grow[grow > 0]
    if k <= 0 or pos.size == 0:
        return np.zeros(grow.shape, bool)
    if k >= pos.size:
        return grow > 0
    kth = np.partition(pos, pos.size - k)[pos.size - k]
    return grow >= kth


def held_notes(held: GrowthHeld | None, spacing_m: float) -> list[str]:
    """Plain-language warnings on the plan's hold on business-as-usual growth, for
    summary.json: outlying growth over :data:`OUTLYING_WARN_SHARE`, a share under
    :data:`HELD_TARGET` (with the best an area of that size could do)."""
    if held is None:
        return []
    out = []
    if held.outlying_share > OUTLYING_WARN_SHARE:
        out.append(f"{held.outlying_ha:,.0f} ha ({held.outlying_share:.0%}) of the growth expected if "
                   f"nothing is done is around outlying villages more than {spacing_m / 1000.0:g} km from "
                   "the city; this plan does not cover them: plan them separately, or draw the study area "
                   "around the city")
    if held.share < HELD_TARGET:
        best = (f"; an expansion area of the same size made of the land most likely to be built, however "
                f"scattered, would hold {held.best_share:.0%}" if held.best_share is not None else "")
        out.append(f"only {held.share:.0%} of the city's expected growth (if nothing is done) falls inside "
                   f"today's city or the expansion area, short of the {HELD_TARGET:.0%} the plan aims "
                   f"at{best}")
    return out


def held_figures(held: GrowthHeld | None) -> dict:
    """The ``bau_growth*`` figures of summary.json's ``plan`` (None without a projection):
    ``bau_growth_share`` (of the city's growth, held by today's urban extent or the
    expansion area), and of all expected growth ``bau_growth_infill_share`` (in the
    extent, outside the area), ``bau_growth_in_area_share`` (in the area),
    ``bau_growth_outlying_share`` (around outlying settlements, outside both),
    ``bau_growth_best_share`` (see :attr:`GrowthHeld.best_share`) and ``bau_growth_ha``
    (all expected growth, hectares)."""
    h = held
    return {"bau_growth_share": h and h.share, "bau_growth_infill_share": h and h.infill_share,
            "bau_growth_in_area_share": h and h.in_area_share,
            "bau_growth_outlying_share": h and h.outlying_share, "bau_growth_best_share": h and h.best_share,
            "bau_growth_ha": h and h.growth_ha}
