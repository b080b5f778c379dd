"""Informal-settlement risk: where unplanned settlements are likely to form.

Informal settlements form where people arrive faster than serviced land is
made available, on the land nobody else wants: floodplains, steep slopes,
land far from roads. Per cell, for one policy,

    risk = likelihood x vulnerability

- ``likelihood`` is the calibrated probability that the cell is built up by
  the horizon under that policy (:mod:`expansion.growth.probability`: the
  model's probabilities scaled to the projected quantity, their sharpness
  fitted on a past window). A cell that cannot urbanize
  (excluded, already built, outside the study area) has likelihood 0, hence
  zero risk. Under the planned policy the secured part of the plan (its
  ``[plan] enforcement``) does not develop.
- ``vulnerability`` in [0, 1] is the weighted mean of three scores:

  hazard
      max(flood, slope) as defined once in :mod:`expansion.hazard` (flood 1
      on water banks and in mapped flood zones, falling off with height above
      the nearest water; slope 0 up to half the slope limit, 1 at it).
  unserviced
      distance to the nearest road (existing roads, plus secured planned
      arterials under the plan): 0 within 250 m (a few minutes' walk), rising
      linearly to 1 at 2 km. Land far from any road gets no services. Where
      the roads layer has no coverage (``stack.roads_coverage``), and everywhere
      without a roads layer, this term is left out (its weight shared by the
      others): distance to roads would there measure the data, not the city.
  pressure
      mean of nearness to dense built-up (share of built-up land in a
      1 km window around the cell) and nearness to arrival corridors
      (exp(-d / 1 km) from arterial highways, along which migrants arrive).

Default weights: hazard 0.4, unserviced 0.35, pressure 0.25. Hazard weighs
most because it is what turns an informal settlement into a disaster
(UN-Habitat Issue Paper 22: slums lie on "the most hazardous urban land");
lack of services is NYU's reason for the arterial grid; pressure says where
arrivals concentrate. Set them in the scenario as ``[risk] weights``.

Without a DEM and without a water or flood layer the hazard term cannot be
assessed: it is left out like the unserviced term without roads (its weight
shared by the others, :func:`hazard_assessed`) and ``summary.json`` says so in
``risk.assessed`` and a warning, so that no figure reads as a measured 0.
With neither hazard nor a roads layer (:func:`risk_assessed` False) only growth
pressure is left: the score then says where unplanned growth crowds, not where it
is at risk, and the pages say "not assessed" instead of people at high risk
(``summary.json`` keeps the figures, flagged ``risk.assessed.high_risk`` false).

Classes of the risk map: 0 none (< 0.05), 1 low (< 0.15), 2 moderate (< 0.3),
3 high (< 0.5), 4 very high. **High-risk land** is land whose risk score is at
least 0.3 (:data:`HIGH_RISK`): the map's "high" and "very high" classes, the
cells of ``risk.tif`` at 0.3 or more and the ``risk_hotspots`` layer are that
same land, and ``high_risk_ha`` is its area. The **people at high risk** are the
expected new residents of that land (see :func:`risk_summary`): the projected new
residents times that land's share of the new land the demand asks for (or of the
expected new built-up land, when more is expected than asked for), so never more
than the projected new residents. New land that does not fit in the study area
(unmet demand) carries its share of the residents with it: they are not crowded
onto the land that is left.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from .config import RiskConfig
from .errors import ConfigError
from .grid import row_slices, shapes
from .hazard import MAX_SLOPE_PCT, PRONE, hazard_block
from .stack import Stack

DEFAULT_WEIGHTS = {"hazard": 0.4, "unserviced": 0.35, "pressure": 0.25}
CLASS_BREAKS = (0.05, 0.15, 0.3, 0.5)
CLASS_NAMES = ("none", "low", "moderate", "high", "very high")
HIGH_RISK = 0.3
HAZARD_LAND = PRONE  # a cell with hazard >= this is "hazard land" (flood-prone or steep)
MIN_HOTSPOT_HA = 0.0  # every patch of high-risk land: the layer adds up to the headline


@dataclass
class Risk:
    """Risk for one policy; arrays on the stack's grid."""

    policy: str
    score: np.ndarray  # float32 [0, 1], NaN outside the study area
    classes: np.ndarray  # uint8, CLASS_NAMES, 255 outside the study area
    hazard: np.ndarray  # float32 [0, 1]
    high_land: np.ndarray | None = None  # bool, score >= HIGH_RISK: high-risk land (classes 3 and 4)
    unserviced: np.ndarray | None = None  # float32 [0, 1]; only with keep_factors=True
    pressure: np.ndarray | None = None  # float32 [0, 1]; only with keep_factors=True


def hazard_assessed(stack: Stack) -> bool:
    """Whether the stack can say where hazard is: a DEM (slope), a water layer or
    mapped flood zones. Without any of them the hazard score is 0 everywhere, which
    is not a measurement."""
    return stack.slope_pct is not None or stack.has_water or stack.flood is not None


def roads_share(stack: Stack) -> float:
    """Share of the study area the roads layer covers (``stack.roads_coverage``; 0 without roads)."""
    if not stack.has_roads:
        return 0.0
    if stack.roads_coverage is None:
        return 1.0
    inside = int(np.count_nonzero(stack.valid))
    return float(np.count_nonzero(stack.roads_coverage & stack.valid)) / inside if inside else 1.0


def assessed_share(stack: Stack) -> float:
    """Share of the study area where the risk score has a term beyond growth pressure: 1 with
    hazard data, else the roads layer's coverage (0 without roads)."""
    return 1.0 if hazard_assessed(stack) else roads_share(stack)


def risk_assessed(stack: Stack) -> bool:
    """Whether the stack can say anything about risk beyond growth pressure: hazard
    data (:func:`hazard_assessed`) or a roads layer (the unserviced term). Without
    either the score only says where growth crowds."""
    return hazard_assessed(stack) or bool(stack.has_roads)


def weights_for(cfg: RiskConfig, has_roads: bool = True, has_hazard: bool = True) -> dict[str, float]:
    """Default weights overridden by the scenario's, normalized to sum 1; without a
    roads layer (``has_roads`` False) the unserviced term is dropped (weight 0), and
    without hazard data (``has_hazard`` False, see :func:`hazard_assessed`) the hazard
    term, and the others renormalized, since the term would then measure the data,
    not the city."""
    unknown = sorted(set(cfg.weights) - set(DEFAULT_WEIGHTS))
    if unknown:
        raise ConfigError(
            f"[risk] weights: unknown factor '{unknown[0]}'; valid factors are: {', '.join(DEFAULT_WEIGHTS)}"
        )
    w = {**DEFAULT_WEIGHTS, **cfg.weights}
    if not has_roads:
        w["unserviced"] = 0.0
    if not has_hazard:
        w["hazard"] = 0.0
    total = sum(w.values())
    if total <= 0:
        why = "" if has_roads else " (without a roads layer the 'unserviced' weight is not used)"
        if not has_hazard:
            why = " (without a DEM, water or flood layer the 'hazard' weight is not used)"
        raise ConfigError(f"[risk] weights: at least one weight must be more than 0{why}")
    return {k: v / total for k, v in w.items()}


def hazard_score(stack: Stack, max_slope_pct: float = MAX_SLOPE_PCT) -> np.ndarray:
    """Hazard in [0, 1]: the larger of flood and slope hazard (float32, see
    :mod:`expansion.hazard`; slope hazard reaches 1 at ``max_slope_pct``)."""
    out = np.empty(stack.grid.shape, np.float32)
    for sl in row_slices(stack.grid.shape):
        out[sl] = hazard_block(stack, sl, max_slope_pct)
    return out


def unserviced_score(road_dist_m: np.ndarray) -> np.ndarray:
    """0 within 250 m of a road, rising linearly to 1 at 2 km (float32)."""
    return np.clip((road_dist_m - 250.0) / 1750.0, 0.0, 1.0).astype(np.float32)


def _builtup_share(stack: Stack, builtup: np.ndarray) -> np.ndarray:
    """Share of built-up land in the 1 km window around each cell (float32)."""
    size = max(1, int(round(1000.0 / stack.grid.res)) | 1)
    share = np.empty(stack.grid.shape, np.float32)
    # the bool grid as it is: scipy reads it into float64 lines, as it would a float32 copy
    ndimage.uniform_filter(np.asarray(builtup, bool), size=size, output=share, mode="constant")
    return share


def _pressure(share: np.ndarray, arterial_dist_m: np.ndarray) -> np.ndarray:
    corridor = np.exp(-arterial_dist_m / 1000.0)
    return (0.5 * np.clip(share, 0, 1) + 0.5 * corridor).astype(np.float32)


def pressure_score(stack: Stack, builtup: np.ndarray) -> np.ndarray:
    """Mean of built-up share in a 1 km window and exp(-d/1 km) from arterials."""
    share = _builtup_share(stack, builtup)
    for sl in row_slices(stack.grid.shape):
        share[sl] = _pressure(share[sl], stack.arterial_dist_m[sl])
    return share


def classify(score: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Risk classes (uint8, see CLASS_NAMES); 255 outside ``valid``."""
    classes = np.digitize(np.nan_to_num(score), CLASS_BREAKS).astype(np.uint8)
    classes[~valid] = 255
    return classes


def risk_for_policy(
    stack: Stack,
    policy: str,
    likelihood: np.ndarray,
    cannot_urbanize: np.ndarray,
    base_builtup: np.ndarray,
    cfg: RiskConfig,
    road_dist_m: np.ndarray | None = None,
    hazard: np.ndarray | None = None,
    *,
    keep_factors: bool = False,
) -> Risk:
    """Risk per cell under one policy.

    Parameters
    ----------
    likelihood : float32, the calibrated probability that the cell is built up
        by the horizon under this policy.
    cannot_urbanize : bool, cells that never develop under this policy
        (constraints, and for the plan its open space and rights-of-way).
    base_builtup : bool, built-up at the base year (already built: no new risk).
    road_dist_m : float32 metres to the nearest road for this policy (existing
        roads, and planned arterials under the plan); defaults to the stack's.
    hazard : precomputed :func:`hazard_score`, to share between policies.
    keep_factors : also keep the unserviced and pressure grids (float32, for
        diagnostics and tests); without, the score is made one row block at a time.

    Without hazard data, cells beyond the roads layer's coverage have no assessable
    term but pressure: their score is NaN (not assessed) and they are never high-risk
    land. Without hazard data and without any roads layer the whole score is pressure
    alone (see :func:`risk_assessed`) and is kept, for the pages to show as crowding.
    """
    known_hazard = hazard_assessed(stack)
    w = weights_for(cfg, stack.has_roads, known_hazard)
    coverage = stack.roads_coverage if stack.has_roads else None
    if coverage is not None and np.all(coverage | ~stack.valid):
        coverage = None  # the roads cover the whole study area
    if hazard is None:
        hazard = hazard_score(stack)
    road = stack.road_dist_m if road_dist_m is None else road_dist_m
    shape = stack.grid.shape
    pressure = _builtup_share(stack, base_builtup)  # turned into the pressure block by block
    unserviced = np.empty(shape, np.float32) if keep_factors else None
    score = np.empty(shape, np.float32)
    classes = np.empty(shape, np.uint8)
    high_land = np.empty(shape, bool)
    for sl in row_slices(shape):
        uns = unserviced_score(road[sl])
        pre = _pressure(pressure[sl], stack.arterial_dist_m[sl])
        vulnerability = w["hazard"] * hazard[sl] + w["unserviced"] * uns + w["pressure"] * pre
        if coverage is not None:  # beyond the roads layer's coverage distance to roads is unknown: left out
            known = w["hazard"] + w["pressure"]
            rest = (w["hazard"] * hazard[sl] + w["pressure"] * pre) / known if known > 0 else 0.0 * pre
            vulnerability = np.where(coverage[sl], vulnerability, rest).astype(np.float32)
        if keep_factors:
            unserviced[sl] = uns
            pressure[sl] = pre
        valid = stack.valid[sl]
        like = np.nan_to_num(likelihood[sl]).astype(np.float32)
        like[cannot_urbanize[sl] | base_builtup[sl] | ~valid] = 0.0
        sc = np.clip(like * vulnerability, 0.0, 1.0).astype(np.float32)
        sc[~valid] = np.nan
        if coverage is not None and not known_hazard:  # neither hazard nor distance to roads known here:
            sc[~coverage[sl]] = np.nan                 # not assessed (blank), not growth pressure as risk
        score[sl] = sc
        high_land[sl] = (np.nan_to_num(sc) >= HIGH_RISK) & valid
        classes[sl] = classify(sc, valid)
    if not keep_factors:
        pressure = None
    return Risk(policy, score, classes, hazard, high_land, unserviced, pressure)


def risk_summary(risk: Risk, likelihood: np.ndarray, base_builtup: np.ndarray, valid: np.ndarray,
                 cell_ha: float, new_residents: float, demanded_cells: float = 0.0) -> dict:
    """Hectares and people at high risk, and the share of growth on hazard land.

    ``high_risk_ha`` is the area of high-risk land (risk score at least
    :data:`HIGH_RISK`: the map's high and very high classes, the hotspots layer).
    ``high_risk_people`` are the expected new residents there: ``new_residents``
    (the projected growth of the population, persons) times that land's share of
    the new land: the larger of ``demanded_cells`` (the new cells the demand asks
    for by the horizon) and the expected new built-up land (sum of likelihoods on
    cells not built at the base), so never more than ``new_residents``. Where the
    study area cannot hold the demand, the residents of the land that does not fit
    are not put on the land that is left (which would make securing land look as if
    it put more people at risk). ``people_per_ha`` is that density of the new land
    (persons per hectare). ``hazard_share`` is the share of expected new built-up
    land on hazard land; ``max_score`` the highest risk score. Sums are taken one row
    block at a time, in float64.
    """
    people_like = growth = on_hazard = 0.0
    high_cells = 0
    top = 0.0
    for sl in row_slices(valid.shape):
        if np.any(valid[sl]):  # NaN inside the study area: not assessed there
            top = max(top, float(np.max(np.nan_to_num(np.where(valid[sl], risk.score[sl], 0.0)))))
        like = np.where(valid[sl] & ~base_builtup[sl], np.nan_to_num(likelihood[sl]), 0.0)
        growth += float(like.sum(dtype=np.float64))
        on_hazard += float(like[risk.hazard[sl] >= HAZARD_LAND].sum(dtype=np.float64))
        people_like += float(like[risk.high_land[sl]].sum(dtype=np.float64))
        high_cells += int(np.count_nonzero(risk.high_land[sl]))
    new_residents = max(0.0, float(new_residents))
    land = max(growth, float(demanded_cells))
    people = new_residents * people_like / land if land > 0 else 0.0
    assert people <= new_residents * (1 + 1e-9), (people, new_residents)
    return {
        "high_risk_ha": high_cells * cell_ha,
        "high_risk_people": people,
        "people_per_ha": new_residents / (land * cell_ha) if land > 0 else 0.0,
        "max_score": top,
        "hazard_share": on_hazard / growth if growth > 0 else 0.0,
        "growth_on_hazard_ha": on_hazard * cell_ha,
        "expected_growth_ha": growth * cell_ha,
    }


def residents_on_hazard_land(stack: Stack, hazard: np.ndarray) -> float | None:
    """People already living on hazard land (hazard >= :data:`HAZARD_LAND`), from the
    stack's population layer (persons per cell); None without one."""
    if stack.population is None:
        return None
    total = 0.0
    for sl in row_slices(stack.grid.shape):
        pop = np.nan_to_num(stack.population[sl]).astype(np.float64)
        total += float(pop[(hazard[sl] >= HAZARD_LAND) & stack.valid[sl]].sum())
    return total


def hotspots(risk: Risk, likelihood: np.ndarray, stack: Stack, people_per_ha: float,
             min_ha: float = MIN_HOTSPOT_HA) -> gpd.GeoDataFrame:
    """High-risk land (risk score >= :data:`HIGH_RISK`, ``risk.high_land``: the land
    ``high_risk_ha`` measures) as polygons with hectares, expected residents and hazard share.

    Returns a GeoDataFrame in the grid CRS with columns ``policy``, ``hectares``,
    ``people`` (expected new residents: likelihood × hectares × ``people_per_ha``,
    the projected new residents per expected new hectare), ``hazard_share``
    (share of the hotspot's cells on hazard land) and ``mean_risk``. Hotspots
    smaller than ``min_ha`` are dropped (none by default, so that the layer's hectares
    and people add up to :func:`risk_summary`'s ``high_risk_ha`` and ``high_risk_people``).
    """
    grid = stack.grid
    high = risk.high_land
    labels, n = ndimage.label(high, structure=np.ones((3, 3), bool))
    columns = ["policy", "hectares", "people", "hazard_share", "mean_risk"]
    if n == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=grid.crs)
    index = np.arange(1, n + 1)
    # Per-hotspot sums over the high cells only (the labelled ones; bincount adds in the
    # order scipy's sum_labels does, so the same values without float64 grids).
    at = np.flatnonzero(high)
    lab = labels.ravel()[at]

    def per_label(weights=None, lab=lab):
        return np.bincount(lab, weights=weights, minlength=n + 1)[1:].astype(np.float64)

    cells = per_label()
    people = per_label(np.nan_to_num(likelihood.ravel()[at]).astype(np.float64)) \
        * grid.cell_area_ha * people_per_ha
    on_hazard = per_label((risk.hazard.ravel()[at] >= HAZARD_LAND).astype(np.float64))
    mean_risk = per_label(np.nan_to_num(risk.score.ravel()[at]).astype(np.float64)) / cells
    del at, lab
    keep = cells * grid.cell_area_ha >= min_ha
    geoms: dict[int, list] = {}
    for geom, value in shapes(labels.astype(np.int32, copy=False), grid, high):
        geoms.setdefault(int(value), []).append(geom)
    rows = []
    for i in index[keep]:
        rows.append({
            "policy": risk.policy,
            "hectares": float(cells[i - 1] * grid.cell_area_ha),
            "people": float(people[i - 1]),
            "hazard_share": float(on_hazard[i - 1] / cells[i - 1]),
            "mean_risk": float(mean_risk[i - 1]),
            "geometry": shapely.union_all(geoms[int(i)]),
        })
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=grid.crs)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs)
    return gdf.sort_values("people", ascending=False, kind="stable").reset_index(drop=True)
