"""Atlas of Urban Expansion metrics on a binary built-up raster.

The definitions follow the Atlas (Angel et al. 2016) as summarised in
``reference/nyu-making-room.md`` section 5:

- every built-up cell is **urban**, **suburban** or **rural** by the share of
  built-up land in its *walking circle*, a disk of 1 km² (radius 564 m) centred
  on it: ≥ 50 % urban, ≥ 25 % and < 50 % suburban, < 25 % rural;
- **fringe open space**: open land within 100 m of urban or suburban built-up;
- **captured open space**: open land in clusters that are fully enclosed by
  urban/suburban built-up and the fringe around it, when the cluster is smaller
  than 200 ha;
- **urban extent** = urban + suburban built-up + fringe + captured open space;
- **openness index**: the mean, over built-up cells, of the share of open land
  in the walking circle.

Choices made here (the Atlas text leaves them open):

- *Water is not land.* The walking-circle share is built-up cells ÷ land cells
  in the circle, where land = valid and not water; cells outside the study area
  (``valid`` False) and beyond the raster edge count in neither. So a city on a
  lake shore is not made "less urban" by the lake, and open space is never water
  (the Atlas keeps water as its own class). A cell that is both built and water
  counts as built land.
- *A disk on the grid* is the set of cells whose centres lie within the radius of
  the centre cell's centre (``dx² + dy² ≤ (r/res)²``, in cells).
- *Exact counts by row spans.* The circle sum is computed as a sum of horizontal
  box sums, one per row of the disk, each read from a row-wise prefix sum
  (summed-area trick along rows). Counts are exact integers (no FFT rounding, so
  the 50 % and 25 % thresholds are compared exactly, as ``2·built ≥ land``), and
  the cost is linear in cells: cells × rows of the disk (39 rows at 30 m).
- *Within 100 m* means a centre-to-centre distance ≤ 100 m (the same disk rule).
- *Captured clusters* are the 4-connected components of everything that is not
  urban, suburban or fringe (the holes of that 8-connected set, as in
  ``scipy.ndimage.binary_fill_holes``). A hole is enclosed when it touches
  neither the raster edge nor a cell outside ``valid``; its size is its whole
  area (open land, water and rural built-up together), and only its open cells
  are captured open space.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .grid import row_slices

BLOCK_CELLS = 1 << 18  # cells per row block of the circle sums (at least 8 disk radii of rows)

WALKING_RADIUS_M = 564.0  # radius of a 1 km² circle: sqrt(1e6 / pi) = 564.19 m
FRINGE_M = 100.0
CAPTURED_MAX_HA = 200.0

NONE, URBAN, SUBURBAN, RURAL, FRINGE, CAPTURED = 0, 1, 2, 3, 4, 5
CLASS_NAMES = {NONE: "none", URBAN: "urban", SUBURBAN: "suburban", RURAL: "rural",
               FRINGE: "fringe open space", CAPTURED: "captured open space"}


def disk_spans(radius_m: float, res_m: float) -> list[tuple[int, int]]:
    """Rows of the grid disk of ``radius_m``: ``(dy, w)`` pairs, each row
    ``dy`` (cells) covering columns ``-w .. w``.

    A cell at offset (dx, dy) is in the disk when ``dx² + dy² ≤ (radius/res)²``
    (centre-to-centre distance, both in metres in the grid's CRS).
    """
    if res_m <= 0 or radius_m < 0:
        raise ValueError(f"need res_m > 0 and radius_m >= 0, got {res_m}, {radius_m}")
    rc2 = (radius_m / res_m) ** 2
    rmax = int(math.floor(math.sqrt(rc2) + 1e-9))
    spans = []
    for dy in range(-rmax, rmax + 1):
        rem = rc2 - dy * dy
        if rem < -1e-9:
            continue
        w = int(math.floor(math.sqrt(max(rem, 0.0))))
        while (w + 1) ** 2 + dy * dy <= rc2 + 1e-9:
            w += 1
        while w > 0 and w * w + dy * dy > rc2 + 1e-9:
            w -= 1
        spans.append((dy, w))
    return spans


def disk_cells(radius_m: float, res_m: float) -> int:
    """Number of cells in the grid disk of ``radius_m`` (see :func:`disk_spans`)."""
    return sum(2 * w + 1 for _, w in disk_spans(radius_m, res_m))


def disk_sum(a: np.ndarray, radius_m: float, res_m: float) -> np.ndarray:
    """Sum of ``a`` over the grid disk of ``radius_m`` around every cell.

    Cells beyond the raster edge count as 0. ``a`` is bool or integer; the
    result is exact: uint16 for bool input when the disk has at most 65,535
    cells (int32 beyond), int64 for integer input. Cost: cells × rows of the disk;
    memory: the result plus a few row blocks.

    Parameters
    ----------
    a : 2-D array on the grid.
    radius_m, res_m : disk radius and cell size, metres.
    """
    a = np.asarray(a)
    out = np.empty(a.shape, dtype=_sum_dtype(a, radius_m, res_m))
    for rows, block in _disk_sum_blocks(a, radius_m, res_m):
        out[rows] = block
    return out


def _sum_dtype(a: np.ndarray, radius_m: float, res_m: float):
    if a.dtype != bool:
        return np.int64
    return np.uint16 if disk_cells(radius_m, res_m) <= 0xFFFF else np.int32


def _disk_sum_blocks(a: np.ndarray, radius_m: float, res_m: float):
    """:func:`disk_sum` one row block at a time: yields (row slice, sums of those rows).

    The row-wise prefix sums and box sums are made for the block and the disk's rows
    above and below it only. Bool counts are added in uint16 when the disk holds at
    most 65,535 cells: the prefix sums wrap around, but every box sum and disk sum is
    below 2^16, so the differences and totals modulo 2^16 are exact.
    """
    h, w = a.shape
    dtype = _sum_dtype(a, radius_m, res_m)
    by_half: dict[int, list[int]] = {}
    for dy, half in disk_spans(radius_m, res_m):
        if abs(dy) < h:
            by_half.setdefault(half, []).append(dy)
    rmax = max((abs(dy) for dys in by_half.values() for dy in dys), default=0)
    # Prefix sums padded with the first/last value, so that every box sum is a
    # difference of two slices (no fancy indexing); one box array at a time.
    pad = max(by_half, default=0) + 1
    step = max(1, BLOCK_CELLS // max(w, 1), 8 * rmax)
    for r0 in range(0, h, step):
        r1 = min(h, r0 + step)
        i0, i1 = max(0, r0 - rmax), min(h, r1 + rmax)
        prefix = np.zeros((i1 - i0, w + 2 * pad), dtype=dtype)
        np.cumsum(a[i0:i1], axis=1, dtype=dtype, out=prefix[:, pad:pad + w])
        prefix[:, pad + w:] = prefix[:, pad + w - 1:pad + w]
        out = np.zeros((r1 - r0, w), dtype=dtype)
        box = np.empty((i1 - i0, w), dtype=dtype)
        for half, dys in by_half.items():
            # box[:, j] = sum of a[:, j - half .. j + half] = P[j + half] - P[j - half - 1]
            np.subtract(prefix[:, pad + half:pad + half + w], prefix[:, pad - half - 1:pad - half - 1 + w],
                        out=box)
            for dy in dys:  # out[r] += box[r + dy] for the rows r + dy inside the raster
                lo, hi = max(r0, -dy), min(r1, h - dy)
                if lo < hi:
                    out[lo - r0:hi - r0] += box[lo + dy - i0:hi + dy - i0]
        yield slice(r0, r1), out


def within_distance(mask: np.ndarray, distance_m: float, res_m: float) -> np.ndarray:
    """Cells whose centre lies within ``distance_m`` (metres, centre to centre)
    of a cell of ``mask``; exact on the grid."""
    mask = np.asarray(mask)
    out = np.empty(mask.shape, dtype=bool)
    for rows, block in _disk_sum_blocks(mask, distance_m, res_m):
        np.greater(block, 0, out=out[rows])
    return out


def _check(built, valid, water, res_m):
    built = np.asarray(built, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    water = np.asarray(water, dtype=bool)
    if not (built.shape == valid.shape == water.shape) or built.ndim != 2:
        raise ValueError(f"built, valid and water must be 2-D arrays of one shape, got "
                         f"{built.shape}, {valid.shape}, {water.shape}")
    if not (res_m > 0 and math.isfinite(res_m)):
        raise ValueError(f"res_m must be a positive number of metres, got {res_m}")
    return built, valid, water


def _classes(built, valid, water, res_m, radius_m, fringe_m, captured_max_ha, openness=False):
    """Class raster, the openness index (when asked for; None without built-up) and the
    built-up land inside ``valid``.

    The circle counts are made and used one row block at a time (uint16 counts); the
    openness values are gathered in the cells' order, so their mean is that of one pass.
    """
    built, valid, water = _check(built, valid, water, res_m)
    built = built & valid
    land = valid & (~water | built)
    classes = np.zeros(built.shape, dtype=np.uint8)
    dense = np.zeros(built.shape, dtype=bool)  # urban or suburban
    values = np.empty(int(np.count_nonzero(built)) if openness else 0, dtype=np.float64)
    at = 0
    for (rows, n_built), (_, n_land) in zip(_disk_sum_blocks(built, radius_m, res_m),
                                            _disk_sum_blocks(land, radius_m, res_m)):
        b = built[rows]
        nb = n_built.astype(np.int32)
        nl = n_land.astype(np.int32)
        urban = b & (2 * nb >= nl)
        suburban = b & ~urban & (4 * nb >= nl)
        cb = classes[rows]
        cb[b] = RURAL
        cb[suburban] = SUBURBAN
        cb[urban] = URBAN
        dense[rows] = urban | suburban
        if openness:
            nbb = nb[b].astype(np.float64)
            nlb = nl[b].astype(np.float64)
            values[at:at + nbb.size] = (nlb - nbb) / nlb
            at += nbb.size
    open_land = land
    open_land &= ~built
    del land
    fringe = within_distance(dense, fringe_m, res_m)
    fringe &= open_land
    classes[fringe] = FRINGE

    barrier = dense
    barrier |= fringe
    del dense
    holes, n = ndimage.label(~barrier)  # 4-connected, the holes of an 8-connected barrier
    del barrier
    if n:
        touching = np.zeros(n + 1, dtype=bool)
        edge = np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1], holes[~valid]])
        touching[edge] = True
        del edge
        sizes = np.bincount(holes.ravel(), minlength=n + 1) * (res_m * res_m / 10_000.0)
        keep = ~touching & (sizes < captured_max_ha)
        keep[0] = False
        captured = keep[holes]
        del holes
        captured &= open_land
        captured &= ~fringe
        classes[captured] = CAPTURED
    index = float(np.mean(values)) if openness and values.size else None
    return classes, index, built


def classify_builtup(
    built: np.ndarray,
    valid: np.ndarray,
    water: np.ndarray,
    res_m: float,
    *,
    radius_m: float = WALKING_RADIUS_M,
    fringe_m: float = FRINGE_M,
    captured_max_ha: float = CAPTURED_MAX_HA,
) -> np.ndarray:
    """Atlas classes per cell, for maps.

    Parameters
    ----------
    built, valid, water : bool arrays of one shape (built-up, inside the study
        area, open water).
    res_m : cell size in metres (a projected grid).
    radius_m : walking-circle radius in metres (564 m: 1 km²).
    fringe_m : fringe distance in metres.
    captured_max_ha : largest captured open-space cluster, hectares (exclusive).

    Returns
    -------
    uint8 array: 0 none, 1 urban, 2 suburban, 3 rural built-up, 4 fringe open
    space, 5 captured open space.
    """
    return _classes(built, valid, water, res_m, radius_m, fringe_m, captured_max_ha)[0]


def atlas_metrics(
    built: np.ndarray,
    valid: np.ndarray,
    water: np.ndarray,
    res_m: float,
    population: float | None = None,
    *,
    radius_m: float = WALKING_RADIUS_M,
    fringe_m: float = FRINGE_M,
    captured_max_ha: float = CAPTURED_MAX_HA,
) -> dict:
    """Atlas of Urban Expansion metrics of one built-up raster.

    Parameters are those of :func:`classify_builtup`, plus ``population``
    (persons in the study area) for the densities.

    Returns
    -------
    dict with ``builtup_ha``, ``urban_ha``, ``suburban_ha``, ``rural_ha``,
    ``fringe_open_space_ha``, ``captured_open_space_ha``,
    ``urbanized_open_space_ha``, ``urban_extent_ha``, ``openness_index``
    (0 to 1; None without built-up), ``builtup_density_pph`` and
    ``extent_density_pph`` (persons per hectare; None without a population or
    with no area).
    """
    classes, openness, built = _classes(
        built, valid, water, res_m, radius_m, fringe_m, captured_max_ha, openness=True)
    cell_ha = res_m * res_m / 10_000.0
    counts = np.zeros(6, dtype=np.int64)
    for rows in row_slices(classes.shape, BLOCK_CELLS):
        counts += np.bincount(classes[rows].ravel(), minlength=6)[:6]
    ha = {k: float(counts[k]) * cell_ha for k in range(6)}
    builtup_ha = float(np.count_nonzero(built)) * cell_ha
    extent_ha = ha[URBAN] + ha[SUBURBAN] + ha[FRINGE] + ha[CAPTURED]

    def density(area):
        if population is None or area <= 0:
            return None
        return float(population) / area

    return {
        "builtup_ha": builtup_ha,
        "urban_ha": ha[URBAN],
        "suburban_ha": ha[SUBURBAN],
        "rural_ha": ha[RURAL],
        "fringe_open_space_ha": ha[FRINGE],
        "captured_open_space_ha": ha[CAPTURED],
        "urbanized_open_space_ha": ha[FRINGE] + ha[CAPTURED],
        "urban_extent_ha": extent_ha,
        "openness_index": openness,
        "builtup_density_pph": density(builtup_ha),
        "extent_density_pph": density(extent_ha),
    }
