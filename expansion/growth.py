"""Growth: learn where built-up land grew, then allocate each step's demand.

Model (DESIGN.md section 2, step 4)
-----------------------------------
A logistic regression (scikit-learn) of "built by ``to_year``" on the cells that
were open and not excluded at ``from_year``, with features

- ``log_dist_builtup``: log1p of the distance to built-up land (m), and
  ``dist_builtup_km``, the same distance in km (a distance decay: the log alone
  lets the potential fall too slowly far from the edge; adding it raised the
  demo backtest FoM from 0.37 to 0.44 without the discount);
- ``share_30m``, ``share_90m``, ``share_270m``, ``share_810m``: the built-up
  share of the square neighbourhood of that half-width (a
  ``scipy.ndimage.uniform_filter``, linear in the number of cells);
- ``log_dist_arterial``, ``log_dist_road``: log1p of the distance to arterial
  roads and to any road (m), when the stack has roads;
- ``slope_pct`` (percent), when the stack has a DEM;
- ``log_dist_water`` (log1p of m) and ``height_above_water_m`` (m, clipped at
  30 m), when the stack has water (the height only with a DEM).

Cells are sampled (every new cell up to 20,000, and open cells that stayed open
up to 40,000 in all, seed 0) so that fitting is quick on big grids; the intercept
is corrected for the sampling rates, and the area under the ROC curve is
measured on a held-out quarter of the sample. Coefficients are kept in raw
feature units so that the potential is one pass of numpy over the grid.
Gradient boosting (``HistGradientBoostingClassifier``) was tried on Bacău and did
not beat the logistic fit (see the issue 3 report), and costs far more per step.

Survival discount. Open land that the model expected to develop during the
calibration window but that stayed open is often land that cannot be built
(parks, rail yards, cemeteries, wet ground the layers do not show): a frailty
effect. The log-potential at the base year is ``log p + survival · log(1 − p_cal)``,
where ``p_cal`` is the calibrated model's probability for the cell over the
calibration window (from the ``from_year`` built-up; ``log(1 − p_cal)`` clipped
at :data:`SURVIVAL_CLIP`). The weight is

- *learned* (``survival = "auto"``, the default) when the stack has a built-up
  epoch ``A'`` before ``from_year = A``: the ``A'→A`` model is fitted, its
  ``log(1 − p_{A'→A})`` enters the ``A→B`` fit as one more feature, and its
  coefficient (clipped at 0) is the weight. On Bacău (1975→1990, 1990→2000) it
  is 1.23;
- a *prior* of :data:`SURVIVAL_PRIOR` = 0.5 when no earlier epoch exists. That
  halfway value is a compromise between two cities, measured on the backtests
  it is reported on (so not out of sample): Bacău 1975→1990→2000, where the
  1975–1990 wave filled 71 % of the open cells next to built-up land and the
  gaps it left barely grew afterwards, needs a discount (0: FoM about 0.04 vs the
  nearest-built-up null's 0.058); the synthetic demo, whose growth redraws its
  noise every step so skipped cells are not frail, loses from it (weight 1:
  0.325 vs the null's 0.330 with the distance decay, 0.28 without). At 0.5 both
  beat the null;
- or set in the scenario (``[growth] survival``, a number ≥ 0; 0 turns it off).

A cure-rate logistic (``p = (1 − π)·σ(z)``, π the share of never-buildable
land, fitted in the one window) was tried to make the weight learnable from two
epochs; it mistook the demo's quantity-limited plateau for frailty (π = 0.39) and
lost there (FoM 0.25 vs 0.33). Adding the discount inside the logit instead of
to the log-probability, and computing ``p_cal`` with the model's own learned
survival term (a chained discount), both did worse on Bacău.

With only one built-up epoch (``from_year`` None) nothing can be learned:
:data:`FALLBACK_COEFFICIENTS` are used, and the model says so (``fallback``,
``note``).

Allocation
----------
Each step ``i`` allocates exactly ``new_cells[i]`` cells (fewer only when fewer
open cells are left; then a warning is recorded). The cells chosen are the top
``k`` of ``log p + noise · G`` over open cells, where ``p`` is the growth
potential and ``G`` standard Gumbel noise: with ``noise = 1`` this is sampling
without replacement in proportion to ``p`` (the Gumbel top-k trick); smaller
noise concentrates growth on the highest potential, 0 is a deterministic
ranking. The default 0.1 (``[growth] noise``) gave the best or nearly the best
figure of merit on all three backtests (0, 0.05, 0.1, 0.2, 0.35, 0.5 were tried;
the demo alone does slightly better at 0): a deterministic
ranking piles growth into the few highest-potential places, while proportional
sampling scatters it. Splitting steps into more batches (``substeps`` 2 and 5)
lowered it (tried before the distance decay): the recomputed neighbourhood pulls
later cells onto the ones just placed. Both
defaults were chosen on the same backtests they are reported on. The built-up
distance and neighbourhood shares are recomputed after each step, or after each
of ``substeps`` batches within a step (a dynamic neighbourhood, so growth
attracts growth). Runs are seeded with
``numpy.random.SeedSequence(seed).spawn(runs)``; the same seed gives the same
bytes. The selection uses ``numpy.argpartition`` (linear time), not a sort.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .errors import DataError
from .grid import distance_m, row_slices
from .stack import Stack

log = logging.getLogger(__name__)

RADII_M = (30.0, 90.0, 270.0, 810.0)
# Features read from the stack (constant while growth runs), in their order in the logit.
STATIC_FEATURES = ("log_dist_arterial", "log_dist_road", "slope_pct", "log_dist_water",
                   "height_above_water_m")
HAND_CLIP_M = 30.0
MAX_POSITIVES = 20_000
MAX_SAMPLE = 40_000
SAMPLE_SEED = 0
DEFAULT_NOISE = 0.1
# Weight of the survival discount when it cannot be learned (no built-up epoch
# before the calibration window): half-way between "no frailty" (0) and the
# weight learned on Bacau, about 1 (see the module docstring).
SURVIVAL_PRIOR = 0.5
# log(1 - p) of the survival feature is clipped here (p = 0.9999): beyond it the
# feature only adds leverage to a linear fit.
SURVIVAL_CLIP = -9.2
DEFAULT_SUBSTEPS = 1
# Cells per block for the cell-wise passes (a few MB of temporaries a block).
BLOCK_CELLS = 1 << 18

# Used when only one built-up epoch exists. Raw units (per log-metre, per share,
# per percent slope, per metre). Signs and rough sizes are those of logistic
# urban-growth fits (growth hugs existing built-up land and roads, avoids slopes
# and low land near water); they are not calibrated for any city.
FALLBACK_COEFFICIENTS: dict[str, float] = {
    "intercept": 0.0,
    "log_dist_builtup": -1.0,
    "dist_builtup_km": -1.0,
    "share_30m": 1.0,
    "share_90m": 2.0,
    "share_270m": 1.5,
    "share_810m": 0.5,
    "log_dist_arterial": -0.3,
    "log_dist_road": -0.4,
    "slope_pct": -0.08,
    "log_dist_water": 0.2,
    "height_above_water_m": 0.03,
}


@dataclass(frozen=True)
class GrowthModel:
    """A fitted (or fallback) growth-potential model.

    Attributes
    ----------
    features : feature names, in order.
    coefficients : name → coefficient in raw feature units (logit per unit).
    intercept : logit intercept, corrected for the sampling rates.
    fill : name → value used where a feature has no data (its sample mean).
    radii_m : half-widths of the neighbourhood-share windows, metres.
    n_sample : cells used in the fit (training + held out).
    n_positive : of which became built.
    auc : area under the ROC curve on the held-out cells (None for the fallback).
    fallback : True when default coefficients are used (one epoch only).
    note : a plain-language note on how the model was made.
    from_year, to_year : the calibration window (None for the fallback).
    """

    features: tuple[str, ...]
    coefficients: dict[str, float]
    intercept: float
    fill: dict[str, float]
    radii_m: tuple[float, ...] = RADII_M
    n_sample: int = 0
    n_positive: int = 0
    auc: float | None = None
    fallback: bool = False
    note: str = ""
    from_year: int | None = None
    to_year: int | None = None
    survival: float = 0.0
    survival_source: str = "none"
    survival_window: tuple[int, int] | None = None

    def as_dict(self) -> dict:
        """A JSON-ready description (for run.json / backtest.json)."""
        return {"features": list(self.features), "coefficients": dict(self.coefficients),
                "intercept": self.intercept, "n_sample": self.n_sample, "n_positive": self.n_positive,
                "auc": self.auc, "fallback": self.fallback, "note": self.note,
                "from_year": self.from_year, "to_year": self.to_year, "survival": self.survival,
                "survival_source": self.survival_source,
                "survival_window": None if self.survival_window is None else list(self.survival_window)}


@dataclass
class GrowthResult:
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    urbanization_year : int16, the year a cell becomes built up in run 0 (the
        base year for cells already built, 0 for never and outside the study area).
    probability : float32, share of runs in which a cell is built by the horizon
        (NaN outside the study area).
    allocated_cells : int64 array (runs, steps), cells allocated per step per run.
    demanded_cells : the cells asked for per step.
    warnings : e.g. demand that could not be met.
    built_runs : uint8 (uint16 beyond 255 runs), in how many of the runs made each cell is built by the
        horizon (what :func:`merge_runs` adds up); only for a part of the runs
        (``run_ids``), None otherwise, so that a whole result holds no extra grid.
    """

    urbanization_year: np.ndarray
    probability: np.ndarray
    allocated_cells: np.ndarray
    demanded_cells: list[int]
    warnings: list[str] = field(default_factory=list)
    built_runs: np.ndarray | None = None


# ---------------------------------------------------------------- features


def _window(radius_m: float, res: float) -> int:
    return max(3, 2 * int(round(radius_m / res)) + 1)


def _feature_names(stack: Stack, radii=RADII_M) -> tuple[str, ...]:
    names = ["log_dist_builtup", "dist_builtup_km"] + [f"share_{int(r)}m" for r in radii]
    if stack.has_roads:
        names += ["log_dist_arterial", "log_dist_road"]
    if stack.slope_pct is not None:
        names.append("slope_pct")
    if stack.has_water or bool(stack.water.any()):
        names.append("log_dist_water")
        if stack.height_above_water_m is not None:
            names.append("height_above_water_m")
    return tuple(names)


def _share(built: np.ndarray, radius_m: float, res: float, out: np.ndarray | None = None) -> np.ndarray:
    """Built-up share of the square window of half-width ``radius_m`` (float32).

    The bool grid is filtered as it is (scipy reads it into float64 lines), which
    gives the bytes of filtering a float32 copy without making one."""
    if out is None:
        out = np.empty(built.shape, np.float32)
    ndimage.uniform_filter(built, _window(radius_m, res), output=out, mode="constant")
    return out


def _static_feature(name: str, stack: Stack, take, arterial_dist_m=None, road_dist_m=None) -> np.ndarray:
    """One static feature (float32) on the cells ``take`` picks from a grid (a row block, or
    sample cells): ``take(a)`` returns those cells of the grid ``a``.

    ``arterial_dist_m`` / ``road_dist_m`` replace the stack's distances (metres); the
    distance to any road is then the nearer of the two (planned arterials are roads too).
    """
    if name == "log_dist_arterial":
        art = stack.arterial_dist_m if arterial_dist_m is None else arterial_dist_m
        return np.log1p(np.asarray(take(art), np.float32))
    if name == "log_dist_road":
        road = stack.road_dist_m if road_dist_m is None else road_dist_m
        x = np.asarray(take(road), np.float32)
        if arterial_dist_m is not None:
            x = np.minimum(x, take(arterial_dist_m))
        return np.log1p(x)
    if name == "slope_pct":
        return np.array(take(stack.slope_pct), np.float32)  # a copy: callers fill it in place
    if name == "log_dist_water":
        return np.log1p(np.asarray(take(stack.water_dist_m), np.float32))
    if name == "height_above_water_m":
        return np.minimum(take(stack.height_above_water_m), HAND_CLIP_M).astype(np.float32)
    raise KeyError(name)


def _sample_features(stack: Stack, names, built: np.ndarray, sample: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature of ``names`` at the flat cell indices ``sample`` (float32), with the
    neighbourhood features of ``built``. One grid-sized array at a time."""
    res = stack.grid.res
    f: dict[str, np.ndarray] = {}
    d = distance_m(built, res).ravel()[sample]
    f["log_dist_builtup"] = np.log1p(d)
    f["dist_builtup_km"] = d / np.float32(1000.0)
    buf = np.empty(built.shape, np.float32)
    for r in RADII_M:
        f[f"share_{int(r)}m"] = _share(built, r, res, out=buf).ravel()[sample]
    del buf
    for n in names:
        if n in STATIC_FEATURES:
            f[n] = _static_feature(n, stack, lambda a: np.asarray(a).ravel()[sample])
    return f


# ---------------------------------------------------------------- calibration


def fallback_model(stack: Stack, note: str | None = None) -> GrowthModel:
    """The default-coefficient model for a stack with one built-up epoch."""
    names = _feature_names(stack)
    return GrowthModel(
        features=names, coefficients={n: FALLBACK_COEFFICIENTS[n] for n in names},
        intercept=FALLBACK_COEFFICIENTS["intercept"], fill={n: 0.0 for n in names}, fallback=True,
        note=note or ("only one built-up epoch: growth potential uses default coefficients, not "
                      "ones learned from this city's past growth; add an earlier built-up layer "
                      "and set [growth] calibrate_from to calibrate"))


def _fit(stack: Stack, from_year: int, to_year: int, excluded: np.ndarray,
         extra: np.ndarray | None = None) -> tuple:
    """Logistic fit of "built by ``to_year``" on the cells open at ``from_year``.

    ``extra`` is an optional further feature (a grid); its coefficient is returned apart.
    Returns (names, beta, extra_beta, intercept, fill, auc, n_sample, n_positive).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    before = stack.builtup[from_year] & stack.valid
    after = stack.builtup[to_year]
    open_ = stack.valid & ~excluded & ~before
    idx = np.flatnonzero(open_)
    y_all = after.ravel()[idx]
    pos, neg = idx[y_all], idx[~y_all]
    if len(pos) < 10 or len(neg) < 10:
        raise DataError(f"growth calibration {from_year}→{to_year}: {len(pos)} open cells became built "
                        f"and {len(neg)} stayed open; need at least 10 of each to learn from")
    rng = np.random.default_rng(SAMPLE_SEED)
    n_pos = min(len(pos), MAX_POSITIVES)
    n_neg = min(len(neg), max(MAX_SAMPLE - n_pos, n_pos))
    pos_s = np.sort(rng.choice(pos, n_pos, replace=False)) if n_pos < len(pos) else pos
    neg_s = np.sort(rng.choice(neg, n_neg, replace=False)) if n_neg < len(neg) else neg
    sample = np.concatenate([pos_s, neg_s])
    target = np.concatenate([np.ones(len(pos_s), bool), np.zeros(len(neg_s), bool)])

    names = _feature_names(stack)
    feats = _sample_features(stack, names, before, sample)
    cols = [feats[n] for n in names]
    if extra is not None:
        cols.append(extra.ravel()[sample])
    X = np.column_stack(cols).astype(np.float64)
    fill = {}
    for j in range(X.shape[1]):
        col = X[:, j]
        bad = ~np.isfinite(col)
        value = float(col[~bad].mean()) if (~bad).any() else 0.0
        col[bad] = value
        if j < len(names):
            fill[names[j]] = value
    X_tr, X_te, y_tr, y_te = train_test_split(X, target, test_size=0.25, random_state=SAMPLE_SEED,
                                              stratify=target)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    pipe.fit(X_tr, y_tr)
    auc = float(roc_auc_score(y_te, pipe.predict_proba(X_te)[:, 1]))
    scaler, lr = pipe[0], pipe[1]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    beta = lr.coef_[0] / scale
    intercept = float(lr.intercept_[0] - np.sum(beta * scaler.mean_))
    # undo the sampling: sample odds = true odds × (positive rate / negative rate)
    intercept -= math.log((len(pos_s) / len(pos)) / (len(neg_s) / len(neg)))
    extra_beta = float(beta[len(names)]) if extra is not None else 0.0
    coefficients = {n: float(b) for n, b in zip(names, beta[: len(names)])}
    return names, coefficients, extra_beta, intercept, fill, auc, len(sample), len(pos_s)


def calibrate(stack: Stack, from_year: int | None, to_year: int, excluded: np.ndarray, *,
              survival: float | str = "auto") -> GrowthModel:
    """Fit the growth-potential model on the change ``from_year`` → ``to_year``.

    Parameters
    ----------
    stack : the layer stack.
    from_year : the earlier built-up epoch, or None (then the fallback model).
    to_year : the later built-up epoch.
    excluded : bool, cells that can never develop (suitability hard constraints).
    survival : ``"auto"`` (learn the weight of the survival discount when the
        stack has a built-up epoch before ``from_year``, else
        :data:`SURVIVAL_PRIOR`) or a fixed weight ≥ 0 (0 turns the discount off).

    Returns
    -------
    GrowthModel

    Raises
    ------
    DataError
        when an epoch is not in the stack, or no cell (or every cell) changed.
    """
    if from_year is None:
        return fallback_model(stack)
    for y in (from_year, to_year):
        if y not in stack.builtup:
            raise DataError(f"growth calibration needs built-up at {y}, but the layers have only "
                            f"{', '.join(map(str, stack.years)) or 'none'}; set [growth] calibrate_from "
                            "to one of them")
    if from_year >= to_year:
        raise DataError(f"growth calibration: {from_year} must be before {to_year}")
    if isinstance(survival, str):
        if survival != "auto":
            raise ValueError(f"survival must be 'auto' or a number >= 0, got {survival!r}")
    elif not survival >= 0:
        raise ValueError(f"survival must be 'auto' or a number >= 0, got {survival!r}")
    earlier = [y for y in stack.builtup if y < from_year]
    window = None
    if survival == "auto" and earlier:
        previous = calibrate(stack, max(earlier), from_year, excluded, survival=0.0)
        names, coefs, gamma, intercept, fill, auc, n, n_pos = _fit(
            stack, from_year, to_year, excluded, extra=_survival_feature(previous, stack))
        weight, source = max(0.0, gamma), "learned"
        window = (previous.from_year, from_year)
        how = (f"survival weight {weight:.2f} learned with the {previous.from_year}–{from_year} "
               "window" + (f" (fitted {gamma:.2f}, clipped at 0)" if gamma < 0 else ""))
    else:
        names, coefs, _, intercept, fill, auc, n, n_pos = _fit(stack, from_year, to_year, excluded)
        if survival == "auto":
            weight, source = SURVIVAL_PRIOR, "prior"
            how = (f"survival weight {weight:g} (a prior: no built-up epoch before {from_year} to "
                   "learn it from)")
        else:
            weight, source = float(survival), "set"
            how = f"survival weight {weight:g} (set in the scenario)"
    return GrowthModel(
        features=names, coefficients=coefs, intercept=intercept, fill=fill, n_sample=n,
        n_positive=n_pos, auc=auc, fallback=False,
        note=(f"logistic regression on {n:,} cells ({n_pos:,} became built {from_year}–{to_year}); "
              f"held-out AUC {auc:.3f}; {how}"),
        from_year=from_year, to_year=to_year, survival=weight, survival_source=source,
        survival_window=window)


# ---------------------------------------------------------------- potential


def _static_logit(model: GrowthModel, stack: Stack, arterial_dist_m=None, road_dist_m=None) -> np.ndarray:
    """Intercept plus the static features' terms (float32), one row block at a time."""
    z = np.empty(stack.grid.shape, np.float32)
    names = [n for n in model.features if n in STATIC_FEATURES]
    for sl in row_slices(stack.grid.shape, BLOCK_CELLS):
        zb = z[sl]
        zb.fill(np.float32(model.intercept))
        for n in names:
            x = _static_feature(n, stack, lambda a, sl=sl: a[sl], arterial_dist_m, road_dist_m)
            x[~np.isfinite(x)] = np.float32(model.fill.get(n, 0.0))
            x *= np.float32(model.coefficients[n])
            zb += x
    return z


def _dynamic_logit(model: GrowthModel, built: np.ndarray, res: float, out: np.ndarray | None = None,
                   buf: np.ndarray | None = None) -> np.ndarray:
    """The neighbourhood features' terms (float32), summed in the features' order.

    ``out`` (the result) and ``buf`` (a scratch grid) may be float32 grids to reuse."""
    coef = model.coefficients
    d = distance_m(built, res)
    z = np.empty(built.shape, np.float32) if out is None else out
    for sl in row_slices(built.shape, BLOCK_CELLS):
        zb = z[sl]
        zb.fill(0)
        if "log_dist_builtup" in coef:
            x = np.log1p(d[sl])
            x *= np.float32(coef["log_dist_builtup"])
            zb += x
        if "dist_builtup_km" in coef:
            x = d[sl] / np.float32(1000.0)
            x *= np.float32(coef["dist_builtup_km"])
            zb += x
    del d
    for r in model.radii_m:
        n = f"share_{int(r)}m"
        if n in coef:
            buf = _share(built, r, res, out=buf)
            buf *= np.float32(coef[n])
            z += buf
    return z


def _window_logp(model: GrowthModel, stack: Stack) -> np.ndarray:
    """Log-probability of developing during the model's own calibration window, from its
    ``from_year`` built-up (without the model's own survival term: the discount at the
    base year reflects the calibration window alone)."""
    before = stack.builtup[model.from_year] & stack.valid
    z = _static_logit(model, stack)
    z += _dynamic_logit(model, before, stack.grid.res)
    return _log_sigmoid(z, out=z)


def _survival_feature(model: GrowthModel, stack: Stack) -> np.ndarray:
    """``log(1 − p_cal)``, clipped at :data:`SURVIVAL_CLIP`: ``p_cal`` is the model's
    probability that a cell developed during its calibration window."""
    p = _window_logp(model, stack)
    np.exp(p, out=p)
    np.minimum(p, np.float32(1 - 1e-6), out=p)
    np.negative(p, out=p)
    np.log1p(p, out=p)
    return np.maximum(p, np.float32(SURVIVAL_CLIP), out=p)


def _survival_log(model: GrowthModel, stack: Stack) -> np.ndarray | None:
    """``survival · log(1 − p_cal)``, added to the log-potential: the discount for open land
    that the model expected to develop in the calibration window but that stayed open."""
    if model.survival <= 0 or model.from_year is None or model.from_year not in stack.builtup:
        return None
    f = _survival_feature(model, stack)
    f *= np.float32(model.survival)
    return f


def potential(model: GrowthModel, stack: Stack, builtup: np.ndarray, arterial_dist_m=None,
              road_dist_m=None) -> np.ndarray:
    """Growth potential (probability of development, 0–1) of every cell.

    Parameters
    ----------
    model : from :func:`calibrate`.
    stack : the layer stack.
    builtup : bool, the built-up land the neighbourhood features are computed from.
    arterial_dist_m, road_dist_m : optional float32 distances in metres replacing
        the stack's (the planned policy passes the distance to the planned
        arterials; they also count as roads).

    Returns
    -------
    float32 array, NaN outside ``stack.valid``.
    """
    z = _static_logit(model, stack, arterial_dist_m, road_dist_m)
    z += _dynamic_logit(model, builtup, stack.grid.res)
    logp = _log_sigmoid(z, out=z)
    surv = _survival_log(model, stack)
    if surv is not None:
        logp += surv
        del surv
    p = np.exp(logp, out=logp)
    p[~stack.valid] = np.nan
    return p


# ---------------------------------------------------------------- allocation


def _log_sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log σ(z) = −log(1 + e^−z)`` (float32); ``out=z`` works in place."""
    out = np.negative(z, out=out)
    np.logaddexp(np.float32(0), out, out=out)
    return np.negative(out, out=out)


def _count_dtype(runs: int):
    """The smallest unsigned integer type that counts to ``runs``."""
    return np.uint8 if runs <= 0xFF else np.uint16 if runs <= 0xFFFF else np.uint32


def _top(keys: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of (``keys``, ``idx``): highest key first, then lowest index (a total
    order, so the choice does not depend on how the cells were split into blocks)."""
    if keys.size <= k:
        return keys, idx
    t = np.partition(keys, keys.size - k)[keys.size - k]  # the k-th highest key
    keep = keys > t
    ties = np.flatnonzero(keys == t)
    need = k - int(np.count_nonzero(keep))
    keep[ties[np.argsort(idx[ties], kind="stable")[:need]]] = True
    return keys[keep], idx[keep]


def _select(static: np.ndarray, dyn: np.ndarray, surv: np.ndarray | None, open_flat: np.ndarray,
            k: int, noise: float, rng: np.random.Generator, block: int) -> np.ndarray:
    """Flat indices of the ``k`` open cells with the highest ``log σ(static + dyn) + surv +
    noise · G`` (``G`` standard Gumbel, one draw per open cell in flat order).

    Works through blocks of ``block`` cells and keeps only the best ``k`` so far (with a
    lazily raised threshold), so no array as long as the open cells is made."""
    best_k = np.empty(0, np.float32)
    best_i = np.empty(0, np.int64)
    t = -np.inf  # a key must beat this to be among the best k (the k-th best so far)
    n = open_flat.size
    for a in range(0, n, block):
        b = min(n, a + block)
        o = np.flatnonzero(open_flat[a:b])
        if o.size == 0:
            continue
        key = static[a:b][o]
        key += dyn[a:b][o]
        _log_sigmoid(key, out=key)
        if surv is not None:
            key += surv[a:b][o]
        if noise > 0:
            g = rng.gumbel(size=o.size).astype(np.float32)
            g *= np.float32(noise)
            key += g
            del g
        if best_k.size >= k:  # later cells lose ties: only a higher key can enter
            sel = key > t
            key, o = key[sel], o[sel]
        best_k = np.concatenate([best_k, key])
        best_i = np.concatenate([best_i, o + a])
        if best_k.size >= 2 * k + block // 8:
            best_k, best_i = _top(best_k, best_i, k)
            t = best_k.min() if best_k.size else -np.inf
    if best_k.size > k:
        best_k, best_i = _top(best_k, best_i, k)
    return best_i


def simulate(
    stack: Stack,
    model: GrowthModel,
    excluded: np.ndarray,
    new_cells: list[int],
    years: list[int],
    seed: int,
    runs: int,
    base_builtup: np.ndarray,
    arterial_dist_m: np.ndarray | None = None,
    road_dist_m: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    *,
    noise: float = DEFAULT_NOISE,
    substeps: int = DEFAULT_SUBSTEPS,
    on_run: Callable[[int, np.ndarray], None] | None = None,
    run_ids: Sequence[int] | None = None,
) -> GrowthResult:
    """Allocate each step's new cells, ``runs`` times (Monte Carlo).

    Parameters
    ----------
    stack : the layer stack.
    model : from :func:`calibrate`.
    excluded : bool, cells that never develop.
    new_cells : cells to allocate in each step (``len(years) - 1`` values).
    years : the base year then the year each step ends.
    seed : the scenario's seed; run 0 uses the first child of ``SeedSequence(seed)``.
    runs : Monte-Carlo runs (at least 1).
    base_builtup : bool, built-up land at the base year.
    arterial_dist_m, road_dist_m : optional distance overrides in metres (see :func:`potential`).
    allowed : optional bool mask; growth only inside it (e.g. a plan's expansion area).
    noise : scale of the Gumbel noise on the log-potential (0 deterministic, 1
        proportional sampling).
    substeps : batches per step after each of which the neighbourhood is recomputed.
    on_run : optional ``f(run, urbanization_year)`` called after each run (e.g. to
        score every run in a backtest).
    run_ids : make only these of the ``runs`` seeded runs (ascending; default all).
        Run ``r`` is the same whichever other runs are made, so parts of the runs
        can be made apart (e.g. on several Dask workers) and combined with
        :func:`merge_runs` into the bytes of one call. A part without run 0 has
        ``urbanization_year`` None and no warnings.

    Returns
    -------
    GrowthResult
    """
    if len(new_cells) != len(years) - 1:
        raise ValueError(f"need one new_cells value per step: {len(years) - 1} steps, got {len(new_cells)}")
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if any(n < 0 for n in new_cells):
        raise ValueError(f"new_cells must not be negative, got {new_cells}")
    res = stack.grid.res
    base = base_builtup & stack.valid
    open0 = stack.valid & ~excluded & ~base
    if allowed is not None:
        open0 &= allowed
    static = _static_logit(model, stack, arterial_dist_m, road_dist_m).ravel()
    surv = _survival_log(model, stack)
    surv = None if surv is None else surv.ravel()
    children = np.random.SeedSequence(seed).spawn(runs)
    ids = list(range(runs)) if run_ids is None else [int(r) for r in run_ids]
    if not ids or ids != sorted(set(ids)) or ids[0] < 0 or ids[-1] >= runs:
        raise ValueError(f"run_ids must be distinct ascending runs in 0..{runs - 1}, got {run_ids}")
    count = np.zeros(stack.grid.shape, _count_dtype(len(ids)))
    allocated = np.zeros((len(ids), len(new_cells)), np.int64)
    warnings: list[str] = []
    first_year = None
    # scratch grids reused by every step of every run (float32: the neighbourhood
    # logit and one neighbourhood share)
    dyn = np.empty(stack.grid.shape, np.float32)
    buf = np.empty(stack.grid.shape, np.float32)
    for j, run in enumerate(ids):
        rng = np.random.default_rng(children[run])
        built = base.copy()
        open_flat = open0.ravel().copy()
        uyear = np.zeros(stack.grid.shape, np.int16)
        uyear[base] = years[0]
        uflat = uyear.ravel()
        for i, want in enumerate(new_cells):
            want = int(want)
            left = int(np.count_nonzero(open_flat))
            if want > left:
                msg = (f"step {years[i]}–{years[i + 1]}: demand is {want} cells but only {left} open "
                       "cells are left; all of them were allocated")
                if run == 0:
                    warnings.append(msg)
                    log.warning("growth: %s", msg)
                want = left
            batches = np.diff(np.linspace(0, want, max(1, substeps) + 1).round().astype(int))
            for k in batches:
                if k <= 0:
                    continue
                _dynamic_logit(model, built, res, out=dyn, buf=buf)
                pick = _select(static, dyn.ravel(), surv, open_flat, int(k), noise, rng, BLOCK_CELLS)
                open_flat[pick] = False
                built.ravel()[pick] = True
                uflat[pick] = years[i + 1]
                allocated[j, i] += pick.size
        count += built
        del built, open_flat
        if run == 0:
            first_year = uyear
        if on_run is not None:
            on_run(run, uyear)
        del uyear, uflat
    del dyn, buf, static, surv
    probability = _share_of_runs(count, len(ids), stack.valid)
    return GrowthResult(urbanization_year=first_year, probability=probability, allocated_cells=allocated,
                        demanded_cells=[int(n) for n in new_cells], warnings=warnings,
                        built_runs=None if run_ids is None else count)


def _share_of_runs(count: np.ndarray, runs: int, valid: np.ndarray) -> np.ndarray:
    """``count / runs`` as float32 (exact division, no float64 grid), NaN outside ``valid``."""
    probability = np.divide(count, np.float32(runs), dtype=np.float32)
    probability[~valid] = np.nan
    return probability


def merge_runs(parts: list[GrowthResult], valid: np.ndarray) -> GrowthResult:
    """Combine :func:`simulate` results made on parts of the runs (``run_ids``).

    ``parts`` are in run order and together make runs 0 .. n-1 once each; the
    first holds run 0. The result is the one a single call with all the runs
    gives, byte for byte. ``valid`` is the stack's study-area mask.
    """
    runs = sum(len(p.allocated_cells) for p in parts)
    count = np.zeros(valid.shape, _count_dtype(runs))
    for p in parts:
        count += p.built_runs
    probability = _share_of_runs(count, runs, valid)
    del count
    first = parts[0]
    return GrowthResult(urbanization_year=first.urbanization_year, probability=probability,
                        allocated_cells=np.concatenate([p.allocated_cells for p in parts]),
                        demanded_cells=list(first.demanded_cells), warnings=list(first.warnings))
