"""Choosing the growth model with data from before the base year only.

When the stack has a built-up epoch ``A'`` before the calibration window
``A → B`` (``B`` the base year), each candidate recipe is fitted on ``A' → A`` and
grows the observed ``A → B`` quantity from ``A``'s built-up land; the figure of
merit (FoM) there decides (temporal validation inside the past). The candidates:

- ``logistic``: the logistic model without the survival discount;
- ``logistic + survival``: with the discount (weight learned where an epoch
  before the window exists, else the prior; see :mod:`expansion.growth.calibrate`);
- ``nearest built-up``: the nearest-built-up rule (grow the open cells nearest the
  window's first built-up land), scored as the mean FoM over :data:`RULE_TIE_SEEDS`
  random orders of the cells tied at the last distance taken
  (:func:`nearest_rule_fom`). That one figure is both the rule's candidate score and
  ``null_nearest_fom``, and the ``model`` sentence quotes it. (Scoring it once more as
  a growth run, as before, gave a second figure: the run breaks the same ties with
  the allocation's noise, another draw of the rule's tie spread, e.g. Bacău 2000–2014
  0.039 against 0.052 for the null's tie seed 0, both inside that spread of 0.039–0.052
  over ten tie seeds.) When the rule is chosen, the run grows the rings nearest its
  base year's built-up land (:func:`nearest_model`).

Of the logistic recipes the simplest within :data:`PARSIMONY_FOM` of the best is
taken (the discount must earn its place); it is used only if it beats the rule on
the validation window; otherwise the run falls back to the rule, and says so. The chosen recipe
is then refitted on ``A → B`` to project, and the temperature of the calibrated
probability map (:mod:`expansion.growth.probability`) is fitted on the validation
window. The FoM of the logistic recipes is the mean of :data:`VALIDATION_RUNS` seeded runs.

Without an epoch before the window nothing can be validated: the fixed default
(logistic with the survival prior, temperature 1) is used, and
``validation`` is None. The default's record on cities it was not chosen on is in
the README's skill table (benchmarks/skill.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .. import validation
from ..grid import distance_m
from ..stack import Stack
from .allocate import simulate, spread_cells
from .calibrate import calibrate, fallback_model
from .logit import log_potential
from .model import DEFAULT_NOISE, GrowthModel
from .probability import fit_temperature, probability_on

VALIDATION_RUNS = 2
VALIDATION_SEED = 0
VALIDATION_STEP_YEARS = 5
# The nearest-built-up rule's FoM is the mean over this many random orders of its tied cells.
RULE_TIE_SEEDS = 20
# The rule's log-potential falls by this much per km from built-up land (1 per metre):
# rings one cell apart differ by at least the cell size, far more than the noise.
NEAREST_SLOPE_PER_KM = 1000.0
# A more complex recipe (the survival discount) is used only if it beats the simpler one by more
# than this FoM on the validation window (the tolerance for "no worse than the rule").
PARSIMONY_FOM = 0.005


def nearest_model(stack: Stack, note: str = "") -> GrowthModel:
    """The nearest-built-up rule as a growth model (its only feature is the distance to
    built-up land, recomputed as growth runs)."""
    return GrowthModel(features=("dist_builtup_km",), coefficients={"dist_builtup_km": -NEAREST_SLOPE_PER_KM},
                       intercept=0.0, fill={}, radii_m=(), kind="nearest",
                       note=note or "nearest-built-up rule: growth fills the land nearest built-up first")


def _recipes(survival: float | str) -> dict[str, float | str | None]:
    """Candidate name → the survival setting of its logistic fit (None: the rule)."""
    out: dict[str, float | str | None] = {"logistic": 0.0}
    if survival != 0:
        out["logistic + survival"] = survival
    out["nearest built-up"] = None
    return out


def nearest_rule_fom(base: np.ndarray, open_: np.ndarray, observed: np.ndarray, res: float,
                     tie_seeds: int = RULE_TIE_SEEDS) -> float:
    """Mean FoM of the nearest-built-up rule over ``tie_seeds`` tie orders.

    The rule takes the ``observed.sum()`` cells of ``open_`` nearest ``base`` (Euclidean,
    cell size ``res`` metres, as :func:`expansion.validation.null_nearest`); the cells
    nearer than the last distance taken are always in, and those at exactly that distance
    are drawn at random (seeds ``0 .. tie_seeds - 1``). Linear in the cells: one distance
    transform and one partition, whatever ``tie_seeds``.
    """
    idx = np.flatnonzero(open_)
    q = min(int(observed.sum()), idx.size)
    if q <= 0:
        return 0.0
    d = distance_m(base, res).ravel()[idx]
    last = np.partition(d, q - 1)[q - 1]
    sure = d < last
    tied = idx[d == last]
    del d
    need = q - int(np.count_nonzero(sure))
    obs = observed.ravel()
    sure_hits = int(np.count_nonzero(obs[idx[sure]]))
    n_obs = int(np.count_nonzero(obs[idx]))
    foms = []
    for seed in range(tie_seeds):
        pick = np.random.default_rng(seed).choice(tied, need, replace=False)
        hits = sure_hits + int(np.count_nonzero(obs[pick]))
        foms.append(hits / (q + n_obs - hits))  # hits / (hits + misses + false alarms)
    return float(np.mean(foms))


def _make(stack, recipe, from_year, to_year, excluded, features) -> GrowthModel:
    if recipe is None:
        return nearest_model(stack)
    return calibrate(stack, from_year, to_year, excluded, survival=recipe, features=features,
                     survival_why="the candidate without the discount" if recipe == 0
                     else "set in the scenario")


def window_fom(stack: Stack, model: GrowthModel, excluded: np.ndarray, from_year: int, to_year: int,
               noise: float) -> float:
    """Mean FoM of :data:`VALIDATION_RUNS` runs growing the observed ``from_year → to_year``
    quantity from ``from_year``'s built-up land."""
    base = stack.builtup[from_year] & stack.valid
    open_ = stack.valid & ~excluded & ~base
    observed = stack.builtup[to_year] & open_
    years = list(range(from_year, to_year, VALIDATION_STEP_YEARS)) + [to_year]
    foms: list[float] = []

    def score(run: int, uyear: np.ndarray) -> None:
        foms.append(validation.compare(uyear > from_year, observed, open_)["fom"])

    simulate(stack, model, excluded, spread_cells(int(observed.sum()), years), years, VALIDATION_SEED,
             VALIDATION_RUNS, base, noise=noise, on_run=score)
    return float(np.mean(foms))


def choose_model(stack: Stack, from_year: int | None, to_year: int, excluded: np.ndarray, *,
                 survival: float | str = "auto", noise: float = DEFAULT_NOISE,
                 features: Sequence[str] | None = None,
                 validation_features: Sequence[str] | None = None) -> GrowthModel:
    """The growth model for a run whose base year is ``to_year``, chosen as the module says.

    Parameters are those of :func:`expansion.growth.calibrate`, plus ``noise`` (the
    allocation's, used in the validation runs), ``features`` (the features of the
    final fit; default all the stack has) and ``validation_features`` (of the fits on
    the validation window; default ``features``): leave out what post-dates the
    validation window, e.g. road distance from an undated roads layer.
    """
    if from_year is None:
        return fallback_model(stack)
    if validation_features is None:
        validation_features = features
    earlier = [y for y in stack.years if y < from_year]
    recipes = _recipes(survival)
    if not earlier:
        model = calibrate(stack, from_year, to_year, excluded, survival=survival, features=features)
        return _with(model, note=f"{model.note}; not validated (no built-up epoch before {from_year}): "
                     "the default model")
    prev = max(earlier)
    candidates = {name: _make(stack, r, prev, from_year, excluded, validation_features)
                  for name, r in recipes.items()}
    base = stack.builtup[from_year] & stack.valid
    open_ = stack.valid & ~excluded & ~base
    observed = stack.builtup[to_year] & open_
    # the rule's one figure: its candidate score, null_nearest_fom and the figure the sentence quotes
    null = nearest_rule_fom(base, open_, observed, stack.grid.res)
    foms = {name: null if recipes[name] is None else window_fom(stack, m, excluded, from_year, to_year, noise)
            for name, m in candidates.items()}
    # the simplest candidate within PARSIMONY_FOM of the best logistic one (in the order of _recipes)
    best = max(foms[n] for n in foms if n != "nearest built-up")
    logistic = next(n for n in foms if foms[n] >= best - PARSIMONY_FOM)
    rule = foms["nearest built-up"]
    chosen = logistic if foms[logistic] > rule else "nearest built-up"
    if chosen == logistic:
        why = (f"{chosen}: FoM {foms[chosen]:.3f} on {from_year}–{to_year} (fitted on {prev}–{from_year}) "
               f"against {rule:.3f} for growing the land nearest built-up land")
    else:
        why = (f"nearest built-up rule: on {from_year}–{to_year} the best fitted model ({logistic}, fitted "
               f"on {prev}–{from_year}) scored FoM {foms[logistic]:.3f}, not above the rule's {rule:.3f}, "
               "so the run grows the land nearest built-up land first")
    # calibration of the probability map on the validation window
    val_model = candidates[chosen]
    logq = log_potential(val_model, stack, base)
    t = fit_temperature(logq, open_, observed)
    cal = validation.reliability(probability_on(logq, open_, int(observed.sum()), t), observed, open_)
    del logq
    record = {"window": [from_year, to_year], "fitted_on": [prev, from_year], "fom": foms[chosen],
              "null_nearest_fom": null, "candidates": foms, "chosen": chosen, "ece": cal["ece"],
              "brier_skill": cal["brier_skill"], "new_on_p0_share": cal["new_on_p0_share"],
              "temperature": t, "features": list(val_model.features), "model": why}
    model = _make(stack, recipes[chosen], from_year, to_year, excluded, features)
    return _with(model, temperature=t, validation=record, note=f"{model.note}; chosen by validation: {why}")


def _with(model: GrowthModel, **changes) -> GrowthModel:
    return dataclasses.replace(model, **changes)
