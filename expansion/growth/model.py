"""The growth model's record (:class:`GrowthModel`) and the defaults of the growth stage.

See the package docstring of :mod:`expansion.growth` for the model.
"""

from __future__ import annotations

from dataclasses import dataclass

RADII_M = (30.0, 90.0, 270.0, 810.0)
# Features read from the stack (constant while growth runs), in their order in the logit.
STATIC_FEATURES = ("log_dist_arterial", "log_dist_road", "slope_pct", "log_dist_water",
                   "height_above_water_m")
LOCAL_ROAD_FEATURE = "log_dist_road"  # distance to any road, streets included
HAND_CLIP_M = 30.0
MAX_POSITIVES = 20_000
MAX_SAMPLE = 40_000
SAMPLE_SEED = 0
DEFAULT_NOISE = 0.1
# Weight of the survival discount when it cannot be learned (no built-up epoch
# before the calibration window): the fixed default (see expansion.growth.calibrate
# for how it was chosen and checked leave-one-city-out).
SURVIVAL_PRIOR = 0.5
# A learned survival weight is clipped to [0, SURVIVAL_MAX]: a safety bound, not a tuned value
# (one city's fit gave 6.3 and halved its FoM; the weights learned on the skill benchmark's cases
# are 1.23-1.65). Whether the discount is used at all is decided by validation where possible.
SURVIVAL_MAX = 2.0
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
    survival, survival_source, survival_window : the survival discount's weight, where it
        came from (``"learned"``, ``"prior"``, ``"set"``, ``"none"``) and the window it was
        learned on.
    kind : ``"logistic"`` (the fitted model), ``"nearest"`` (the nearest-built-up rule as
        a potential, chosen when validation showed the logistic losing to it) or
        ``"fallback"`` (default coefficients).
    temperature : slope on the log-potential of the calibrated probability map
        (:func:`expansion.growth.probability.probability_by_horizon`), fitted on the
        validation window; 1 without one.
    validation : how the model was chosen (:func:`expansion.growth.select.choose_model`):
        the validation window, each candidate's FoM there, the rule's, and why; None when
        nothing was validated.
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
    kind: str = "logistic"
    temperature: float = 1.0
    validation: dict | None = None

    def as_dict(self) -> dict:
        """A JSON-ready description (for run.json / backtest.json)."""
        return {"features": list(self.features), "coefficients": dict(self.coefficients),
                "intercept": self.intercept, "n_sample": self.n_sample, "n_positive": self.n_positive,
                "auc": self.auc, "fallback": self.fallback, "note": self.note,
                "from_year": self.from_year, "to_year": self.to_year, "survival": self.survival,
                "survival_source": self.survival_source,
                "survival_window": None if self.survival_window is None else list(self.survival_window),
                "kind": self.kind, "temperature": self.temperature, "validation": self.validation}

