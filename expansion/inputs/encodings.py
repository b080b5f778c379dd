"""Built-up encodings: from a source raster's values to built / not built / no data.

- ``binary``: non-zero is built-up (a raster with more than two distinct values
  is refused: it is a classification or a share, see below);
- ``fraction``: a share 0–1 (or percent 0–100) at or above ``threshold``;
- ``ghs-built-s``: GHSL built-up surface, m² a cell, as a share of the cell;
- ``classes``: a land-cover classification, the codes in ``values`` are built-up
  (ESA WorldCover 50, Dynamic World 6, ...);
- ``ghsl-ldsmt``: GHSL LDSMT's epoch classes, four epochs from one file;
- ``year``: each cell holds the year it was first built (WSF Evolution; 0 or
  any value before 1800 is never built), one epoch for each of ``years``.

Each single-epoch source is turned into a 0/1/255 code *at source resolution*
(threshold first), then warped with nearest (see :mod:`expansion.inputs.warp`).
For the multi-epoch encodings (LDSMT, year) the codes are warped with nearest
and the epochs derived on the grid, which is the same thing (nearest commutes
with a per-code mapping) for one warp instead of one per epoch.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.enums import Resampling

from ..config import CatalogLayer
from ..errors import DataError
from ..grid import Grid
from .cache import Sink
from .sources import label, pixel_area_m2, step
from .warp import SourceWindow, raster_strips, warp_into

# GHSL LDSMT class codes (see DESIGN.md section 3).
LDSMT_EPOCHS = {1975: (6,), 1990: (5, 6), 2000: (4, 5, 6), 2014: (3, 4, 5, 6)}
LDSMT_WATER = 1
LDSMT_NODATA = 0

DEFAULT_THRESHOLDS = {"fraction": 0.5, "ghs-built-s": 0.2}

# A ``year`` layer: values before YEAR_MIN (0 in WSF Evolution) are never built; -1 marks no data.
YEAR_MIN, YEAR_NODATA = 1800, -1

# Codes of the built-up arrays made at source resolution, before warping.
NOT_BUILT, BUILT, NODATA8 = 0, 1, 255


def builtup_codes(entry: CatalogLayer, win: SourceWindow, percent: bool = False) -> np.ndarray:
    """0 not built / 1 built / 255 no data, at source resolution (uint8).

    ``percent``: a "fraction" layer holds 0–100 rather than 0–1 (see :func:`is_percent`).
    """
    enc = entry.encoding or "binary"
    data, present = win.data, win.present
    if enc == "binary":
        check_binary(entry, data, present)
        built = data != 0
    elif enc == "classes":
        built = np.isin(data, np.asarray(entry.values))
    elif enc == "fraction":
        vals = data.astype("float32", copy=False)
        share = vals / 100.0 if percent else vals
        built = share >= _threshold(entry)
    elif enc == "ghs-built-s":
        area = pixel_area_m2(win.crs, win.transform, *data.shape)
        share = data.astype("float64") / area  # m² roofed / m² of the cell
        built = share >= _threshold(entry)
    else:  # pragma: no cover - the catalog loader only lets known encodings through
        raise DataError(f"{label(entry)}: unknown encoding {enc!r}")
    out = np.where(built, BUILT, NOT_BUILT).astype("uint8")
    out[~present] = NODATA8
    return out


def check_binary(entry: CatalogLayer, data: np.ndarray, present: np.ndarray) -> None:
    """Raise DataError when a ``binary`` layer holds more than two distinct values (a
    sample of at most ~100 000 cells): a classification read as binary is built-up everywhere."""
    vals = distinct_sample(data, present)
    if vals.size > 2:
        raise DataError(f"{label(entry)}: {binary_problem(vals)}")


def distinct_sample(data: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The distinct values of ``data`` where ``present``, from a sample of at most ~100 000 cells."""
    vals = data[present]
    return np.unique(vals[:: max(1, vals.size // 100_000)])


def values_text(vals: np.ndarray) -> str:
    """``has N distinct values (a, b, ...)`` for messages."""
    shown = ", ".join(f"{v:g}" for v in vals[:6]) + (", ..." if vals.size > 6 else "")
    return f"has {vals.size if vals.size <= 6 else 'more than 6'} distinct values ({shown})"


def binary_problem(vals: np.ndarray) -> str:
    """The message for a binary layer with the distinct values ``vals`` (more than two).

    Whole values within 0-6 are GHSL LDSMT's codes (1 water, 2 never built, 3-6 built in an
    epoch), so the message then suggests that encoding first."""
    text = f"{values_text(vals)} but encoding 'binary' reads every non-zero value as built-up; "
    v = np.asarray(vals, dtype="float64")
    if v.min() >= 0 and v.max() <= 6 and np.all(v == np.round(v)):
        text += ("they are within GHSL LDSMT's codes 0-6 (1 water, 2 never built, 3-6 built by an epoch): "
                 "if it is GHSL LDSMT, set encoding = \"ghsl-ldsmt\" (`--encoding ghsl-ldsmt`); otherwise ")
    return (text + "for land-cover classes set encoding = "
            "\"classes\" and values = [the built-up codes], for shares set encoding = \"fraction\", "
            "and if one of them means no data set 'nodata'")


def _threshold(entry: CatalogLayer) -> float:
    """The entry's threshold as a share 0–1 (a value above 1 is read as percent)."""
    t = entry.threshold if entry.threshold is not None else DEFAULT_THRESHOLDS[entry.encoding]
    return t / 100.0 if t > 1.0 else t


def is_percent(entry: CatalogLayer, grid: Grid, study: shapely.Geometry) -> bool:
    """Whether a "fraction" built-up layer holds percent (its largest value over the grid is above 1)."""
    top = 0.0
    for _, _, _, win in raster_strips(entry, grid, study, dtype="float32"):
        top = max(top, float(np.max(win.data, where=win.present, initial=0.0)))
    return top > 1.0 + 1e-6


def warp_builtup(entries, grid, study, progress, sink: Sink) -> tuple[dict[int, np.ndarray], np.ndarray,
                                                                         np.ndarray]:
    """Built-up per year (bool), data-present mask (bool) and LDSMT water (bool) on the grid."""
    years: dict[int, np.ndarray] = {}  # year -> uint8 codes on the grid (NODATA8 until filled)

    def codes_of(year: int) -> np.ndarray:
        if year not in years:
            years[year] = np.full(grid.shape, NODATA8, dtype="uint8")
        return years[year]

    ldsmt_water = np.zeros(grid.shape, dtype=bool)
    for entry in entries:
        step(progress, f"built-up {label(entry)}")
        if entry.encoding == "year":
            for r0, r1, strip, win in raster_strips(entry, grid, study):
                first = np.where(win.present, win.data.astype("int32"), np.int32(YEAR_NODATA))
                grid_first = np.full(strip.shape, YEAR_NODATA, dtype="int32")
                warp_into(grid_first, first, win, strip, Resampling.nearest, YEAR_NODATA)
                for year in entry.years:
                    code = np.where((grid_first >= YEAR_MIN) & (grid_first <= year), BUILT, NOT_BUILT)
                    code = code.astype("uint8")
                    code[grid_first == YEAR_NODATA] = NODATA8
                    dest = codes_of(year)[r0:r1]
                    np.copyto(dest, code, where=dest == NODATA8)
        elif entry.encoding == "ghsl-ldsmt":
            for r0, r1, strip, win in raster_strips(entry, grid, study):
                codes = win.data.astype("uint8")
                codes[~win.present] = LDSMT_NODATA
                grid_codes = np.zeros(strip.shape, dtype="uint8")
                # nearest: see the module docstring
                warp_into(grid_codes, codes, win, strip, Resampling.nearest, LDSMT_NODATA)
                ldsmt_water[r0:r1] |= grid_codes == LDSMT_WATER
                for year, built_codes in LDSMT_EPOCHS.items():
                    code = np.where(np.isin(grid_codes, built_codes), BUILT, NOT_BUILT).astype("uint8")
                    code[grid_codes == LDSMT_NODATA] = NODATA8
                    dest = codes_of(year)[r0:r1]
                    np.copyto(dest, code, where=dest == NODATA8)
        else:
            percent = entry.encoding == "fraction" and is_percent(entry, grid, study)
            dest = codes_of(entry.year)
            for r0, r1, strip, win in raster_strips(entry, grid, study):
                # Thresholded at source resolution; nearest keeps built-up area faithful.
                warp_into(dest[r0:r1], builtup_codes(entry, win, percent), win, strip,
                           Resampling.nearest, NODATA8)
    present_all = np.ones(grid.shape, dtype=bool)
    builtup = {}
    for year in sorted(years):
        codes = years.pop(year)
        present_all &= codes != NODATA8
        builtup[year] = sink.put(f"builtup_{year}", codes == BUILT)
    return builtup, present_all, ldsmt_water
