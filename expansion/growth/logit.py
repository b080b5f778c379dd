"""Growth potential: the model's logit on the grid, in row blocks (float32).

The logit is the sum of a static part (intercept and the features read from the
stack) and a dynamic part (distance to built-up land and built-up shares, which
change as growth runs); the log-potential adds the survival discount (see
:mod:`expansion.growth.calibrate`).
"""

from __future__ import annotations

import numpy as np

from ..grid import distance_m, row_slices
from ..stack import Stack
from .features import builtup_shares, static_feature
from .model import BLOCK_CELLS, STATIC_FEATURES, SURVIVAL_CLIP, GrowthModel


def static_logit(model: GrowthModel, stack: Stack, arterial_dist_m=None, road_dist_m=None) -> np.ndarray:
    """Intercept plus the static features' terms (float32), one row block at a time."""
    z = np.empty(stack.grid.shape, np.float32)
    names = [n for n in model.features if n in STATIC_FEATURES]
    for sl in row_slices(stack.grid.shape, BLOCK_CELLS):
        zb = z[sl]
        zb.fill(np.float32(model.intercept))
        for n in names:
            x = static_feature(n, stack, lambda a, sl=sl: a[sl], arterial_dist_m, road_dist_m)
            x[~np.isfinite(x)] = np.float32(model.fill.get(n, 0.0))
            x *= np.float32(model.coefficients[n])
            zb += x
    return z


def dynamic_logit(model: GrowthModel, built: np.ndarray, res: float, out: np.ndarray | None = None,
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
    radii = [r for r in model.radii_m if f"share_{int(r)}m" in coef]
    for r, share in builtup_shares(built, radii, res, out=buf):
        share *= np.float32(coef[f"share_{int(r)}m"])
        z += share
    return z


def _window_logp(model: GrowthModel, stack: Stack) -> np.ndarray:
    """Log-probability of developing during the model's own calibration window, from its
    ``from_year`` built-up (without the model's own survival term: the discount at the
    base year reflects the calibration window alone)."""
    before = stack.builtup[model.from_year] & stack.valid
    z = static_logit(model, stack)
    z += dynamic_logit(model, before, stack.grid.res)
    return log_sigmoid(z, out=z)


def survival_feature(model: GrowthModel, stack: Stack) -> np.ndarray:
    """``log(1 − p_cal)``, clipped at :data:`SURVIVAL_CLIP`: ``p_cal`` is the model's
    probability that a cell developed during its calibration window."""
    p = _window_logp(model, stack)
    np.exp(p, out=p)
    np.minimum(p, np.float32(1 - 1e-6), out=p)
    np.negative(p, out=p)
    np.log1p(p, out=p)
    return np.maximum(p, np.float32(SURVIVAL_CLIP), out=p)


def survival_log(model: GrowthModel, stack: Stack) -> np.ndarray | None:
    """``survival · log(1 − p_cal)``, added to the log-potential: the discount for open land
    that the model expected to develop in the calibration window but that stayed open."""
    if model.survival <= 0 or model.from_year is None or model.from_year not in stack.builtup:
        return None
    f = survival_feature(model, stack)
    f *= np.float32(model.survival)
    return f


def log_potential(model: GrowthModel, stack: Stack, builtup: np.ndarray, arterial_dist_m=None,
                  road_dist_m=None) -> np.ndarray:
    """The log of :func:`potential` (float32, ≤ 0; finite everywhere, also where the
    potential underflows to 0, so it can still rank cells)."""
    z = static_logit(model, stack, arterial_dist_m, road_dist_m)
    z += dynamic_logit(model, builtup, stack.grid.res)
    logp = log_sigmoid(z, out=z)
    surv = survival_log(model, stack)
    if surv is not None:
        logp += surv
    return logp


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
    logp = log_potential(model, stack, builtup, arterial_dist_m, road_dist_m)
    p = np.exp(logp, out=logp)
    p[~stack.valid] = np.nan
    return p



def log_sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log σ(z) = −log(1 + e^−z)`` (float32); ``out=z`` works in place."""
    out = np.negative(z, out=out)
    np.logaddexp(np.float32(0), out, out=out)
    return np.negative(out, out=out)

