"""``expansion backtest``: calibrate on an earlier window, predict a later observed epoch,
compare with what happened and with null models."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .. import demand as demand_mod
from .. import growth, suitability, validation
from ..config import Catalog, Scenario
from ..density import path_for_stack
from ..errors import ConfigError, DataError
from ..outputs.folder import atomic_folder, check_target
from ..outputs.geotiff import write_geotiff
from ..outputs.palette import BACKTEST_COLOURS
from ..outputs.provenance import write_json
from ..stack import Stack
from .common import Timer, input_paths, load, provenance, slug, stack_for

log = logging.getLogger(__name__)

# The nearest-built-up rule is scored with this many tie seeds (its spread from tie-breaking).
NULL_TIE_SEEDS = 20
# Side of the blocks of the spatial bootstrap, metres.
BOOTSTRAP_BLOCK_M = 1000.0
# The stronger null: a logistic on these features only (distance to built-up land and to roads).
LOGISTIC_NULL_FEATURES = ("log_dist_builtup", "dist_builtup_km", "log_dist_arterial", "log_dist_road")


def roads_leak(catalog: Catalog, year: int) -> str | None:
    """Why the catalog's roads may post-date ``year`` (undated, or dated later), or None
    when they do not (or there are none): a road drawn to serve growth after ``year``
    "knows" where that growth went, so a model using it is scored too kindly."""
    years = [e.year for e in catalog.by_role("roads")]
    if not years:
        return None
    if any(y is None for y in years):
        return (f"the roads layer is undated, so it may show roads built after {year} to serve the growth "
                "being predicted (a leak)")
    if max(years) > year:
        return (f"the roads layer is of {max(years)}, after {year}, so it may show roads built to serve the "
                "growth being predicted (a leak)")
    return None


def new_cells_per_step(scenario: Scenario, stack: Stack, years: list[int], quantity: str,
                       n_observed: int) -> list[int] | None:
    """New cells to allocate in each step of ``years``: the observed number spread over the
    steps in proportion to their length (``quantity="observed"``), or the demand
    projection's (``"projected"``; None when the scenario gives no population)."""
    if quantity == "observed":
        return growth.spread_cells(n_observed, years)
    if not scenario.population.base > 0:
        return None
    path = path_for_stack(scenario.density, scenario.population, years[0], scenario.growth.calibrate_from,
                          stack, None, [])
    rows = demand_mod.project_demand(scenario.population, scenario.density, years,
                                     stack.builtup_ha(years[0]), annual_change=path.annual_change,
                                     growth_pph=path.growth_pph)
    cum = np.round(np.cumsum([r.new_land_ha for r in rows[1:]]) / stack.grid.cell_area_ha).astype(int)
    return np.diff(np.concatenate([[0], cum])).tolist()


def score_backtest(stack: Stack, scenario: Scenario, observed_year: int, quantity: str,
                   suit: suitability.Suitability, runs: int, seed: int, road_warning: str | None = None,
                   keep_roads: bool = False) -> dict:
    """Calibrate on ``calibrate_from → base_year``, simulate to ``observed_year``, compare.

    Parameters
    ----------
    stack : the layer stack; must hold built-up at ``scenario.base_year`` and
        ``observed_year`` (and ``scenario.growth.calibrate_from`` if set).
    scenario : the scenario (years, demand, growth settings).
    observed_year : the later observed epoch to predict.
    quantity : ``"observed"`` (allocate exactly the observed number of new cells) or
        ``"projected"`` (new cells from the demand projection).
    suit : from :func:`expansion.suitability.score` (its ``excluded`` mask is used).
    runs, seed : Monte-Carlo runs and seed.
    road_warning : from :func:`roads_leak` (None: the roads do not post-date the base year).
    keep_roads : keep road distance in the model although ``road_warning`` (it is left out
        by default).

    Returns
    -------
    dict: the metrics of run 0 (``fom``, ``producers_accuracy``, ``users_accuracy``,
    ``quantity_disagreement``, ``allocation_disagreement``, ``kappa_simulation``,
    ``hits``, ``misses``, ``false_alarms``, ``correct_rejections``, ``candidates``);
    ``fom_mean``, ``fom_sd``, ``fom_runs`` over the runs; ``null_models``
    (``no_change``, ``random``, ``nearest_builtup`` (tie seed 0), ``logistic_distance``
    (a logistic on distance to built-up and to roads only, fitted on the same window,
    its top cells), each with the same metrics); ``nearest_builtup_ties`` (the rule's FoM
    over :data:`NULL_TIE_SEEDS` tie seeds: ``mean``, ``sd``, ``min``, ``max``);
    ``versus_nearest`` (mean FoM of the runs minus the rule's mean over tie seeds, with a
    spatial block bootstrap interval, blocks of :data:`BOOTSTRAP_BLOCK_M`);
    ``probability_calibration`` (:func:`expansion.validation.reliability` of the
    calibrated probability map, :func:`expansion.growth.probability_by_horizon`
    conditioned on the quantity allocated) and ``monte_carlo_share_calibration``
    (the same of the share of runs); ``multi_resolution`` (factor → metrics for the model and each
    null); ``beats_nulls``; ``quantity`` (mode, predicted and observed cells, quantity
    error in % of observed change, ``quantity_ratio``: projected / observed new land, None
    without population); ``calibration`` (the growth model); ``warnings``; and ``arrays``
    — numpy arrays, not JSON: ``predicted_new`` (run 0, bool), ``observed_new`` (bool),
    ``candidates`` (bool), ``probability`` (float32). Pop ``arrays`` before writing JSON.
    """
    base_year = scenario.base_year
    for y in (base_year, observed_year):
        if y not in stack.builtup:
            raise DataError(f"backtest needs built-up at {y}; the layers have "
                            f"{', '.join(map(str, stack.years)) or 'none'}")
    if observed_year <= base_year:
        raise DataError(f"backtest: --observed-year {observed_year} must be after base_year {base_year}")
    if quantity not in ("observed", "projected"):
        raise ValueError(f"quantity must be 'observed' or 'projected', got {quantity!r}")
    excluded = suit.excluded
    base = stack.builtup[base_year] & stack.valid
    candidates = stack.valid & ~excluded & ~base
    observed_new = stack.builtup[observed_year] & candidates
    n_observed = int(observed_new.sum())

    years = list(range(base_year, observed_year, scenario.step_years)) + [observed_year]
    cell_ha = stack.grid.cell_area_ha
    projected = new_cells_per_step(scenario, stack, years, "projected", n_observed)
    new_cells = new_cells_per_step(scenario, stack, years, quantity, n_observed)
    if new_cells is None:
        raise DataError("backtest --quantity projected needs the scenario's [population]")

    g = scenario.growth
    notes: list[str] = []
    features = None
    if road_warning is not None and stack.has_roads:
        if keep_roads:
            notes.append(f"backtest: {road_warning}; distance to any road was kept, so the figures may be "
                         "optimistic")
        else:
            features = growth.without_local_roads(stack)
            notes.append(f"backtest: {road_warning}; distance to any road was left out of the model, "
                         "distance to arterial roads kept (--keep-roads keeps both)")
    for note in notes:  # logged once here; suitability and the allocation log their own
        log.warning("%s", note)
    model = growth.choose_model(stack, g.calibrate_from, base_year, excluded, survival=g.survival,
                                noise=g.noise, features=features)
    fom_runs: list[float] = []
    block = max(1, round(BOOTSTRAP_BLOCK_M / stack.grid.res))
    model_counts = []

    def score_run(run: int, uyear: np.ndarray) -> None:
        predicted_run = uyear > base_year
        fom_runs.append(validation.compare(predicted_run, observed_new, candidates)["fom"])
        model_counts.append(validation.block_counts(predicted_run, observed_new, candidates, block))

    result = growth.simulate(stack, model, excluded, new_cells, years, seed, runs, base, noise=g.noise,
                             on_run=score_run)
    predicted = (result.urbanization_year > base_year) & candidates
    n_predicted = int(predicted.sum())

    out = validation.compare(predicted, observed_new, candidates)
    out["fom_mean"] = float(np.mean(fom_runs))
    out["fom_sd"] = float(np.std(fom_runs, ddof=1)) if len(fom_runs) > 1 else 0.0
    out["fom_runs"] = fom_runs
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    nulls = {
        "no_change": validation.null_no_change(candidates),
        "random": validation.null_random(n_predicted, candidates, rng),
        "nearest_builtup": validation.null_nearest(n_predicted, candidates, base, stack.grid.res),
    }
    if g.calibrate_from is not None:
        null_features = [n for n in LOGISTIC_NULL_FEATURES if features is None or n in features]
        plain = growth.calibrate(stack, g.calibrate_from, base_year, excluded, survival=0.0,
                                 features=null_features)
        nulls["logistic_distance"] = validation.top_cells(growth.log_potential(plain, stack, base),
                                                          n_predicted, candidates)
    out["null_models"] = {k: validation.compare(v, observed_new, candidates) for k, v in nulls.items()}
    near_foms, near_counts = [], []
    for tie in range(NULL_TIE_SEEDS):
        near = validation.null_nearest(n_predicted, candidates, base, stack.grid.res, tie_seed=tie)
        near_foms.append(validation.compare(near, observed_new, candidates)["fom"])
        near_counts.append(validation.block_counts(near, observed_new, candidates, block))
    out["nearest_builtup_ties"] = {"tie_seeds": NULL_TIE_SEEDS, "mean": float(np.mean(near_foms)),
                                   "sd": float(np.std(near_foms, ddof=1)), "min": float(np.min(near_foms)),
                                   "max": float(np.max(near_foms))}
    vs = validation.bootstrap_fom_difference(np.mean(model_counts, axis=0), np.mean(near_counts, axis=0),
                                             np.random.default_rng(np.random.SeedSequence([seed, 2])))
    out["versus_nearest"] = {**vs, "block_m": block * stack.grid.res}
    probability = growth.probability_by_horizon(model, stack, base, excluded, sum(new_cells))
    out["probability_calibration"] = validation.reliability(probability, observed_new, candidates)
    out["monte_carlo_share_calibration"] = validation.reliability(result.probability, observed_new,
                                                                  candidates)
    out["multi_resolution"] = {
        str(f): {"model": validation.coarsen_compare(predicted, observed_new, candidates, f),
                 **{k: validation.coarsen_compare(v, observed_new, candidates, f) for k, v in nulls.items()}}
        for f in validation.RESOLUTION_FACTORS
    }
    out["beats_nulls"] = {k: out["fom"] > v["fom"] for k, v in out["null_models"].items()}
    out["quantity"] = {
        "mode": quantity, "predicted_cells": n_predicted, "observed_cells": n_observed,
        "predicted_ha": n_predicted * cell_ha, "observed_ha": n_observed * cell_ha,
        "error_pct_of_observed": 100.0 * (n_predicted - n_observed) / n_observed if n_observed else 0.0,
        "new_cells_per_step": new_cells, "years": years,
        "quantity_ratio": sum(projected) / n_observed if projected is not None and n_observed else None,
    }
    out["calibration"] = model.as_dict()
    out["base_year"], out["observed_year"], out["runs"], out["seed"] = base_year, observed_year, runs, seed
    out["warnings"] = notes + list(result.warnings)
    out["arrays"] = {"predicted_new": predicted, "observed_new": observed_new, "candidates": candidates,
                     "probability": probability}
    return out


def backtest(scenario_path: Path, observed_year: int, quantity: str | None = None, out: Path | None = None,
             overwrite: bool = False, runs: int | None = None, seed: int | None = None,
             keep_roads: bool = False) -> tuple[Path, dict]:
    """Backtest: calibrate on ``calibrate_from -> base_year``, grow to ``observed_year``,
    compare with the observed built-up there, and against three null models.

    Writes ``backtest.json``, ``urbanization_year.tif`` (run 0),
    ``urbanization_probability.tif``, ``backtest_map.tif`` (1 hit, 2 miss,
    3 false alarm, 4 correct rejection, 0 not a candidate), ``backtest.html``
    and ``run.json`` into the run folder (default
    ``outputs/<city>/<scenario>-backtest-<year>/``). When the roads layer is undated
    or newer than the base year, distance to any road is left out of the model (streets
    may know where the predicted growth went; arterials are kept) unless ``keep_roads``; either way the
    result says so in its warnings.
    """
    timer = Timer()
    sc, catalog = load(scenario_path, runs, seed)
    if observed_year <= sc.base_year:  # before any layer is read
        raise ConfigError(f"--observed-year {observed_year} must be after the scenario's base_year "
                          f"{sc.base_year}: a backtest predicts a later observed epoch")
    out = Path(out) if out is not None else (
        Path("outputs") / slug(catalog.name) / f"{slug(sc.name)}-backtest-{observed_year}")
    protect = input_paths(sc, catalog)
    check_target(out, overwrite, protect)
    stack = stack_for(sc, catalog)
    for w in stack.warnings:  # the layers' caveats, once (the stages log their own as they go)
        log.warning("%s", w)
    if observed_year not in stack.builtup:
        raise ConfigError(f"--observed-year {observed_year} has no built-up layer in {catalog.path}; "
                          f"observed years are {', '.join(map(str, stack.years))}")
    timer.mark("layers")
    quantity = quantity or sc.growth.quantity
    suit = suitability.score(stack, sc.suitability, sc.base_year)  # nothing after the base year
    res = score_backtest(stack, sc, observed_year, quantity, suit, sc.growth.runs, sc.growth.seed,
                         road_warning=roads_leak(catalog, sc.base_year), keep_roads=keep_roads)
    arrays = res.pop("arrays")
    timer.mark("backtest")
    # the run's caveats (layer sanity, no DEM / water / roads) before the backtest's own (road leak, demand)
    res["warnings"] = list(dict.fromkeys(stack.warnings + suit.warnings + res["warnings"]))
    res.update({"city": catalog.name, "scenario": sc.name, "synthetic": catalog.synthetic})
    pred, obs, cand = arrays["predicted_new"], arrays["observed_new"], arrays["candidates"]
    agreement = np.zeros(stack.grid.shape, np.uint8)
    agreement[cand & ~pred & ~obs] = 4
    agreement[pred & obs] = 1
    agreement[~pred & obs] = 2
    agreement[pred & ~obs] = 3
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    uyear = np.where(pred, observed_year, np.where(base, sc.base_year, 0)).astype(np.int16)
    with atomic_folder(out, overwrite, protect) as tmp:
        write_json(tmp / "backtest.json", res)
        write_geotiff(tmp / "backtest_map.tif", agreement, grid, nodata=0, categorical=True,
                      colormap=BACKTEST_COLOURS,
                      description="1 hit, 2 miss, 3 false alarm, 4 correct rejection, 0 not a candidate")
        write_geotiff(tmp / "urbanization_year.tif", uyear, grid, nodata=None, categorical=True,
                      description="year built up in the backtest run with the scenario's seed")
        write_geotiff(tmp / "urbanization_probability.tif", arrays["probability"], grid, nodata=np.nan,
                      description=f"calibrated probability of being built up by {observed_year}")
        from ..outputs.web import write_html
        from ..outputs.web.run_maps import backtest_map

        write_html(tmp / "backtest.html", backtest_map(stack, sc, res, agreement))
        timer.mark("write")
        write_json(tmp / "run.json", provenance(sc, catalog, grid, timer, out, observed_year=observed_year,
                                                quantity=quantity))
    return out, res

