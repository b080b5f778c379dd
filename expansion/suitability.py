"""Land suitability: a weighted multi-criteria score in [0, 1] and hard constraints.

Factors (each scored to [0, 1], 1 = most suitable for urban growth)
-------------------------------------------------------------------
``slope``
    ``1 − slope_pct / max_slope_pct``, clipped to [0, 1]: 1 on flat land, 0 at
    and above the slope limit. Needs a DEM.
``flood``
    Safety from flooding, ``1 − flood hazard`` (:mod:`expansion.hazard`: 0 on
    water banks and low land by water, 1 away from it). Needs a water layer.
``builtup``
    Proximity to the built-up area of the base year, ``2^(−d / 300 m)``
    (1 on built-up land, ½ at 300 m, ¼ at 600 m).
``arterials``
    Proximity to arterial roads, ``2^(−d / 1000 m)``. Needs a roads layer.
``roads``
    Proximity to any road, ``2^(−d / 300 m)``. Needs a roads layer.

The score is the weighted mean of the factors present at each cell (a cell
where one factor has no data, e.g. a DEM gap, is scored by the others).
A factor whose layer is missing is dropped with a logged warning and the
weights of the others are renormalized to sum to 1.

Hard constraints (cells that never develop, see
:func:`expansion.hazard.hard_constraint_block`): open water, protected land,
slope above ``max_slope_pct``, mapped flood zones. ``excluded`` is these OR
outside the study area. Excluded cells inside the study area get score 0. Existing
built-up land is not a hard constraint here: the growth stage starts from it.

Classes (uint8), for maps: 0 no data (outside the study area), 1 excluded,
2 low (score < 0.4), 3 moderate (0.4–0.6), 4 high (0.6–0.8), 5 very high
(≥ 0.8). The breaks are fixed so that classes compare across cities and
scenarios.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .config import SuitabilityConfig
from .errors import ConfigError
from .grid import distance_m, row_slices
from .hazard import flood_block, hard_constraint_block
from .stack import Stack

log = logging.getLogger(__name__)

# Default factor weights. Published AHP studies for Ethiopian secondary cities
# (reference/nyu-making-room.md section 7) put land use first (0.30–0.37), then
# terrain (Welkite: slope 0.25, elevation 0.25; Wolaita Sodo: slope 0.05,
# geomorphology 0.18) and road access (0.10–0.14), then river proximity (0.07).
# We have no land-use layer; its role (is this land already urban or next to
# it?) is taken by proximity to built-up, the Atlas of Urban Expansion's
# fringe logic, so it gets the largest weight. Terrain splits into slope and
# flood exposure (Welkite's elevation criterion is mostly about low, wet land).
# Road access is split between arterials (regional access) and any road (local
# access), together a little above the studies' 0.10–0.14 because in
# secondary cities without plans roads lead growth.
DEFAULT_WEIGHTS: dict[str, float] = {
    "slope": 0.20,
    "flood": 0.20,
    "builtup": 0.30,
    "arterials": 0.15,
    "roads": 0.15,
}
FACTORS = tuple(DEFAULT_WEIGHTS)

HALF_DISTANCE_M = {"builtup": 300.0, "arterials": 1000.0, "roads": 300.0}
CLASS_BREAKS = (0.4, 0.6, 0.8)
CLASS_NAMES = {0: "no data", 1: "excluded", 2: "low", 3: "moderate", 4: "high", 5: "very high"}


@dataclass
class Suitability:
    """The suitability of every cell.

    Attributes
    ----------
    score : float32 in [0, 1], NaN outside ``stack.valid``; 0 on excluded land.
    excluded : bool, hard constraints OR outside ``stack.valid``.
    factors : name → float32 factor score in [0, 1] (NaN where its data are missing);
        empty unless :func:`score` was asked to keep them.
    weights : name → weight actually used (renormalized to sum to 1).
    classes : uint8, see the module docstring (0 no data ... 5 very high).
    warnings : what was dropped and why.
    """

    score: np.ndarray
    excluded: np.ndarray
    factors: dict[str, np.ndarray]
    weights: dict[str, float]
    classes: np.ndarray
    warnings: list[str] = field(default_factory=list)


def _proximity(dist_m: np.ndarray, half_m: float) -> np.ndarray:
    return np.exp2(-np.asarray(dist_m, np.float32) / np.float32(half_m)).astype(np.float32)


def check_weights(weights: dict[str, float]) -> None:
    """Raise ConfigError for a weight name that is not a factor."""
    unknown = sorted(set(weights) - set(FACTORS))
    if unknown:
        raise ConfigError(f"[suitability] unknown weight '{unknown[0]}'; valid names are: "
                          f"{', '.join(FACTORS)}")


def score(stack: Stack, cfg: SuitabilityConfig, base_year: int, *, keep_factors: bool = False) -> Suitability:
    """Score every cell's suitability for urban growth.

    Parameters
    ----------
    stack : the layer stack (distances in metres on the stack's grid).
    cfg : weights by factor name (merged over :data:`DEFAULT_WEIGHTS`; a weight
        of 0 drops a factor) and ``max_slope_pct``, the slope limit in percent.
    base_year : the year growth starts from (an observed built-up year of the
        stack): the built-up factor measures distance to the built-up of that year.
    keep_factors : also return each factor's grid (float32, 4 bytes a cell each;
        only tests and diagnostics need them). Without, the score is made one row
        block at a time and ``factors`` is empty.

    Returns
    -------
    Suitability

    Raises
    ------
    ConfigError
        for an unknown weight name, or when no factor with a positive weight has data.
    """
    check_weights(cfg.weights)
    weights = {**DEFAULT_WEIGHTS, **cfg.weights}
    res = stack.grid.res
    warnings: list[str] = []
    has_dem = stack.slope_pct is not None
    has_water = stack.has_water or bool(stack.water.any())
    present = ["builtup"]
    if has_dem:
        present.append("slope")
    else:
        warnings.append("no DEM (elevation): the maps cannot show steep land"
                        + (", and flood-prone land is judged by distance to water alone" if has_water else "")
                        + "; add a DEM (e.g. SRTM) and rerun")
    if has_water:
        present.append("flood")
    else:
        warnings.append("no water layer: the maps cannot show flood-prone land along rivers and lakes; add a "
                        "water layer (e.g. from OpenStreetMap) and rerun")
    if stack.has_roads:
        present += ["arterials", "roads"]
    else:
        # one caveat for the three maps (the risk's unserviced term is dropped too, expansion.risk)
        warnings.append("no roads layer: land suitability and informal-settlement risk ignore access to "
                        "roads, and the plan has no existing arterials to connect to; add a roads layer "
                        "(e.g. an OpenStreetMap extract) and rerun")
    present = [k for k in FACTORS if k in present]

    used = {k: float(weights[k]) for k in present if weights[k] > 0}
    total = sum(used.values())
    if total <= 0:
        raise ConfigError("[suitability] no factor with a positive weight has data; "
                          f"available factors: {', '.join(present) or 'none'}")
    used = {k: w / total for k, w in used.items()}
    for w in warnings:
        log.warning("suitability: %s", w)

    base = stack.builtup_at(base_year) if stack.builtup else np.zeros(stack.grid.shape, bool)
    builtup_dist = distance_m(base, res)
    shape = stack.grid.shape
    s = np.empty(shape, np.float32)
    excluded = np.empty(shape, bool)
    classes = np.zeros(shape, np.uint8)
    factors = {k: np.empty(shape, np.float32) for k in present} if keep_factors else {}
    # Everything but the distance to built-up is cell by cell: one row block at a time.
    for sl in row_slices(shape):
        f = _factors(stack, cfg, sl, builtup_dist[sl], has_dem, has_water)
        for k in factors:
            factors[k][sl] = f[k]
        num = np.zeros(f["builtup"].shape, np.float32)
        den = np.zeros(f["builtup"].shape, np.float32)
        for k, w in used.items():
            ok = ~np.isnan(f[k])
            num += np.where(ok, f[k], 0).astype(np.float32) * np.float32(w)
            den += ok.astype(np.float32) * np.float32(w)
        del f
        with np.errstate(invalid="ignore", divide="ignore"):
            sb = np.clip(num / den, 0, 1).astype(np.float32)
        valid = stack.valid[sl]
        ex = hard_constraint_block(stack, sl, cfg.max_slope_pct)
        sb[ex] = 0.0
        sb[~valid] = np.nan
        cb = classes[sl]
        cb[valid] = 2 + np.digitize(np.nan_to_num(sb[valid]), CLASS_BREAKS).astype(np.uint8)
        cb[ex & valid] = 1
        s[sl] = sb
        excluded[sl] = ex
    return Suitability(score=s, excluded=excluded, factors=factors, weights=used, classes=classes,
                       warnings=warnings)


def _factors(stack: Stack, cfg: SuitabilityConfig, sl: slice, builtup_dist: np.ndarray, has_dem: bool,
             has_water: bool) -> dict[str, np.ndarray]:
    """The factor scores (float32) of the rows ``sl``; ``builtup_dist`` is the distance to
    built-up land (m) on those rows."""
    f: dict[str, np.ndarray] = {}
    if has_dem:
        f["slope"] = np.clip(1.0 - stack.slope_pct[sl] / np.float32(cfg.max_slope_pct), 0, 1)
    if has_water:
        f["flood"] = 1.0 - flood_block(stack, sl)
    f["builtup"] = _proximity(builtup_dist, HALF_DISTANCE_M["builtup"])
    if stack.has_roads:
        f["arterials"] = _proximity(stack.arterial_dist_m[sl], HALF_DISTANCE_M["arterials"])
        f["roads"] = _proximity(stack.road_dist_m[sl], HALF_DISTANCE_M["roads"])
    return f
