"""Sanity checks that catch silent mistakes in the layers, as plain-language warnings.

Each returns a sentence naming the layer and the fix, or nothing. They run in
``expansion layers check`` (on a decimated sample of each file) and while the
stack is built (on the grid), so a run reports them in ``summary.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

#: A built-up epoch covering more than this share of the study area is suspicious.
BUILT_NEARLY_ALL = 0.95
#: Built-up area falling by more than this share from one epoch to the next is suspicious.
SHRINK_SHARE = 0.25
#: Words in a file name or band description that say a raster holds people, not elevation.
POPULATION_WORDS = re.compile(r"population|worldpop|landscan|inhabitant|persons|people"
                              r"|(?<![a-z])(pop|ppp)(?![a-z])")
#: A non-negative float raster with less relief than this (m) may be a count (people per cell).
COUNT_RELIEF_M = 50.0


def population_name(names: Iterable[str]) -> str | None:
    """The first of ``names`` (a file name, band descriptions) that says population, or None."""
    return next((n for n in names if n and POPULATION_WORDS.search(n.lower())), None)


def dem_problem(z: np.ndarray, spacing_m: float, names: Iterable[str] = ()) -> str | None:
    """Why the 2-D array ``z`` (a DEM or a regular sample of one, NaN for no data,
    ``spacing_m`` metres between neighbouring cells) does not look like elevation
    in metres, or None. ``names``: the file's name and its band descriptions.

    Looked at: a name or band description that says population (WorldPop, LandScan,
    "pop", "ppp"...); the range (the land lies between about -430 and 8,850 m), the
    relief (under 1 m: a mask or a slope in m/m), a distance-like surface (the
    gradient is 1 m/m almost everywhere), a slope-like one (values within
    0-100 that change between neighbours nearly as much as over the whole area;
    a terrain surface is smooth) and a count-like one (:func:`count_like`).
    """
    said = population_name(names)
    if said is not None:
        return (f"its name or band description ('{said}') says population, not elevation; if it is a "
                "population raster, import it with "
                "`--role population`")
    z = np.asarray(z, dtype="float64")
    v = z[np.isfinite(z)]
    if v.size < 16:
        return None
    p1, p99 = np.percentile(v, [1, 99])
    span = f"values {p1:.4g} to {p99:.4g}"
    if p99 > 9000 or p1 < -500:
        return f"{span} are not elevations in metres (land lies between about -430 and 8,850 m)"
    relief = p99 - p1
    if relief < 1.0:
        return f"{span}: under 1 m of relief, which is not a terrain model (a slope, a mask?)"
    with np.errstate(invalid="ignore"):
        gx = np.diff(z, axis=1)[:-1, :] / spacing_m
        gy = np.diff(z, axis=0)[:, :-1] / spacing_m
        g = np.hypot(gx, gy)
    g = g[np.isfinite(g)]
    if g.size >= 16 and np.mean((g > 0.7) & (g < 1.3)) > 0.5:
        return (f"{span} rise by 1 m per metre almost everywhere, like a distance raster, not a "
                "terrain model")
    rough = np.nanmedian(np.abs(np.diff(z, axis=1))) / relief
    if p1 >= 0 and p99 <= 100 and rough > 0.05:
        return (f"{span} change between neighbouring cells almost as much as over the whole area, "
                "like a slope (degrees or percent), not a terrain model")
    why = count_like(v, p1, p99)
    if why:
        return (f"{span}: {why}, like a population or count raster (people per cell), not a terrain model; "
                "if it is population, import it with `--role population`")
    return None


def count_like(v: np.ndarray, p1: float, p99: float) -> str | None:
    """Why the values ``v`` (finite, with percentiles ``p1``, ``p99``) look like a count per
    cell (people) rather than elevation, or None.

    Only a float raster (most non-zero values not whole numbers) with no value below 0 and
    less than :data:`COUNT_RELIEF_M` of relief is looked at (an SRTM DEM is whole metres;
    land near sea level has cells at or below 0 in a DEM: the sea, noise). It is
    count-like when most of its non-zero cells are near 0 (median under a tenth of the
    1st-99th percentile top: empty land and a few dense cells), or when its lowest values
    are within 1 of 0 but none reaches 0 (a modelled population's floor; terrain that low
    lies by the sea, where a DEM also holds 0 or less).
    """
    if v.min() < 0 or p99 - p1 >= COUNT_RELIEF_M:
        return None
    pos = v[v > 0]
    if pos.size < 16 or np.mean(pos != np.round(pos)) < 0.5:
        return None
    if np.median(pos) <= 0.1 * p99:
        return f"no value below 0, under {COUNT_RELIEF_M:.0f} m of relief and most cells near 0"
    if v.min() > 0 and p1 < 1:
        return (f"no value below 0, under {COUNT_RELIEF_M:.0f} m of relief and the lowest values within 1 "
                "of 0 but none at 0")
    return None


def dem_warning(where: str, problem: str) -> str:
    return (f"{where}: DEM {problem}; give an elevation model in metres (Copernicus DEM, SRTM) or "
            "remove the dem layer (slope and height above water are then left out)")


def builtup_share_warning(where: str, year: int, share: float) -> str | None:
    """A warning when the built-up epoch ``year`` covers nearly all or none of the study area."""
    if share <= 0:
        return (f"{where}: built-up {year} covers none of the study area; check the encoding "
                "('values', 'threshold') and that the layer covers the boundary")
    if share > BUILT_NEARLY_ALL:
        return (f"{where}: built-up {year} covers {100 * share:.0f} % of the study area; check the encoding "
                "(a land-cover classification needs encoding = \"classes\" with 'values') and its nodata")
    return None


def shrink_warnings(areas_ha: dict[int, float], where: dict[int, str]) -> list[str]:
    """Warnings for epochs whose built-up area falls sharply from the epoch before.

    ``areas_ha``: built-up hectares inside the study area by year; ``where``: the
    file each year comes from.
    """
    out = []
    years = sorted(areas_ha)
    for a, b in zip(years, years[1:]):
        if areas_ha[a] > 0 and areas_ha[b] < (1 - SHRINK_SHARE) * areas_ha[a]:
            out.append(f"built-up shrinks from {areas_ha[a]:,.0f} ha in {a} ({where[a]}) to "
                       f"{areas_ha[b]:,.0f} ha in {b} ({where[b]}); the epochs may be misregistered "
                       "or made by different classifiers: check that they line up, or keep only "
                       "comparable epochs")
    return out
