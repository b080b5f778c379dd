"""Growth: learn where built-up land grew, then allocate each step's demand.

Model (DESIGN.md section 2, step 4)
-----------------------------------
A logistic regression (scikit-learn) of "built by ``to_year``" on the cells that
were open and not excluded at ``from_year``, with features

- ``log_dist_builtup``: log1p of the distance to built-up land (m), and
  ``dist_builtup_km``, the same distance in km (a distance decay: the log alone
  lets the potential fall too slowly far from the edge);
- ``share_30m``, ``share_90m``, ``share_270m``, ``share_810m``: the built-up
  share of the square neighbourhood of that half-width (all radii from one
  summed-area table of exact counts, linear in the number of cells); half-widths
  whose windows are the same number of cells as a smaller one's on the grid are
  dropped (at 100 m the 30 m and 90 m windows are both 3 × 3 cells);
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

How the model is judged: ``benchmarks/skill.py`` backtests it on every window of
every real multi-epoch case beside the nearest-built-up rule (README, "How well
the growth model places growth"); the figures in these docstrings are from it.

The package: :mod:`.model` (the model's record and the defaults), :mod:`.features`
(features from the stack and the built-up land), :mod:`.calibrate` (the logistic
fit and the survival discount), :mod:`.logit` (the growth potential on the
grid), :mod:`.allocate` (the Monte-Carlo allocation of each step's demand),
:mod:`.select` (the model chosen by validation inside the past, or the
nearest-built-up rule when it wins there) and :mod:`.probability` (the calibrated
probability of being built by the horizon).
"""

from .allocate import GrowthResult, merge_runs, simulate, spread_cells
from .calibrate import calibrate, fallback_model
from .features import without_local_roads
from .logit import log_potential, potential
from .model import DEFAULT_NOISE, DEFAULT_SUBSTEPS, FALLBACK_COEFFICIENTS, SURVIVAL_PRIOR, GrowthModel
from .probability import probability_by_horizon
from .select import choose_model, nearest_model

__all__ = ["DEFAULT_NOISE", "DEFAULT_SUBSTEPS", "FALLBACK_COEFFICIENTS", "SURVIVAL_PRIOR", "GrowthModel",
           "GrowthResult", "calibrate", "choose_model", "fallback_model", "log_potential", "merge_runs",
           "nearest_model", "potential", "probability_by_horizon", "simulate", "spread_cells",
           "without_local_roads"]
