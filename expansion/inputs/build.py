"""The aligned stack: every catalog layer read, warped and rasterized onto one analysis grid.

:func:`build_stack` checks every file first, then builds the arrays strip by
strip (straight into the disk cache when it can be written) and returns a
:class:`expansion.stack.Stack`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box

from ..config import Catalog, CatalogLayer
from ..errors import DataError
from ..grid import Grid, distance_m, rasterize, row_slices
from ..stack import ROADS_COVERAGE_BUFFER_M, Stack
from ..terrain import height_above_water, slope_percent
from .cache import Sink, cache_path, load_cached_stack, save_cache
from .encodings import LDSMT_EPOCHS, warp_builtup
from .sanity import builtup_share_warning, dem_problem, dem_warning, shrink_warnings
from .sources import (
    Progress,
    band_warning,
    check_file,
    is_raster,
    open_raster,
    raster_names,
    short_error,
    step,
)
from .vectors import (
    class_values_text,
    concat_frames,
    geometry_only,
    places_frame,
    read_vector,
    roads_frame,
    study_area,
)
from .warp import warp_dem, warp_population

log = logging.getLogger(__name__)

#: Roads covering less than this share of the study area get a warning (partial roads layer).
ROADS_PARTIAL_SHARE = 0.95


def build_stack(catalog: Catalog, grid: Grid, cache: bool = True, progress: Progress = None) -> Stack:
    """Read every layer of ``catalog`` onto ``grid``: the aligned :class:`Stack`.

    Parameters
    ----------
    catalog : the layers; needs a boundary and at least one built-up layer.
    grid : the analysis grid (projected CRS, metres).
    cache : reuse / write ``<catalog folder>/.cache/stack-<hash>/`` (one .npy
        file per array, opened memory-mapped, so a large stack is paged in from
        disk as the stages read it rather than held in memory whole); the
        hash covers the grid, the cache format and each file's path, size and
        modification time, so a changed file rebuilds the stack.
    progress : optional callable given short step names.

    Raises
    ------
    DataError
        one line naming the file and the problem, before anything is written.
    """
    t0 = time.perf_counter()
    path = cache_path(catalog, grid) if cache else None
    if path is not None and path.exists():
        step(progress, "stack: cached")
        try:
            stack = load_cached_stack(path, grid, catalog.name, catalog.synthetic, _sources(catalog))
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("stack cache %s unreadable (%s); rebuilding", path, short_error(exc))
        else:
            log.info("stack: cached (%s)", path.name)
            return stack
    if path is not None:
        try:
            stack = _build_cached(catalog, grid, progress, path)
        except OSError as exc:  # a read-only catalog folder, a full disk: build in memory instead
            log.warning("stack: could not write the cache %s (%s); building the stack in memory",
                        path, exc.strerror or exc)
        else:
            log.info("stack: built in %.1f s", time.perf_counter() - t0)
            return stack
    stack = assemble_stack(catalog, grid, progress, Sink(grid.shape))
    log.info("stack: built in %.1f s", time.perf_counter() - t0)
    return stack


def _build_cached(catalog: Catalog, grid: Grid, progress: Progress, path: Path) -> Stack:
    """Build the stack straight into a temporary cache folder, rename it to ``path``, load it from there."""
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent))
    try:
        stack = assemble_stack(catalog, grid, progress, Sink(grid.shape, tmp))
        step(progress, "stack: caching")
        save_cache(tmp, stack)
        del stack
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders
        if path.exists():  # a damaged or concurrent cache: replace it
            shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_cached_stack(path, grid, catalog.name, catalog.synthetic, _sources(catalog))


def assemble_stack(catalog: Catalog, grid: Grid, progress: Progress, sink: Sink) -> Stack:
    # Every file is checked before any work: a catalog with a missing file fails at once.
    for entry in catalog.layers:
        check_file(entry)
    builtup_entries = catalog.by_role("builtup")
    if not builtup_entries:
        raise DataError(
            f"{catalog.path}: no built-up layer; add one (`expansion layers import {catalog.path} "
            "--role builtup FILE --year YEAR`)"
        )
    step(progress, "boundary")
    study, boundary = study_area(catalog, crs=grid.crs)
    if not study.intersects(box(*grid.bounds)):
        raise DataError(f"{catalog.by_role('boundary')[0].path_as_written}: the boundary lies outside "
                        "the analysis grid; check the scenario's 'crs'")
    inside = rasterize(shapely.get_parts(study), grid)
    if not inside.any():
        raise DataError(f"{catalog.by_role('boundary')[0].path_as_written}: the study area covers no cell "
                        f"centre of the {grid.res:g} m grid; use a finer 'resolution_m' in the scenario")

    warnings = _band_warnings(catalog)
    builtup, present, ldsmt_water = warp_builtup(builtup_entries, grid, study, progress, sink)
    present &= inside
    del inside
    if not present.any():
        raise DataError(f"{builtup_entries[0].path_as_written}: the built-up layers have no data inside "
                        "the boundary; check that they cover the study area")
    valid = sink.put("valid", present)
    del present
    warnings += _builtup_warnings(builtup, valid, grid, builtup_entries)

    dem = slope = None
    if catalog.by_role("dem"):
        step(progress, "dem")
        dem = warp_dem(catalog.by_role("dem"), grid, study, progress, sink)
        sample, k = _sample(dem, valid)
        names = []
        for e in catalog.by_role("dem"):
            with open_raster(e) as ds:
                names += raster_names(e, ds)
        problem = dem_problem(sample, grid.res * k, names)
        if problem:
            warnings.append(dem_warning(catalog.by_role("dem")[0].path_as_written, problem))
        slope = sink.put("slope_pct", slope_percent(dem, grid.res, out=sink.new("slope_pct", "float32")))
    population = None
    if catalog.by_role("population"):
        step(progress, "population")
        population = warp_population(catalog.by_role("population"), grid, study, progress, sink)

    vectors = {"boundary": geometry_only(boundary)}
    bbox = grid.bounds
    roads_mask = np.zeros(grid.shape, dtype=bool)
    arterial_mask = np.zeros(grid.shape, dtype=bool)
    coverage = None
    if catalog.by_role("roads"):
        step(progress, "roads")
        roads, current, coverage, notes = _read_roads(catalog.by_role("roads"), grid, valid)
        warnings += notes
        vectors["roads"] = roads
        roads_mask = rasterize(current.geometry.values, grid)
        arterial = current.geometry.values[current["road_class"].to_numpy() == "arterial"]
        arterial_mask = rasterize(arterial, grid)
        coverage = sink.put("roads_coverage", coverage)
    road_dist = sink.put("road_dist_m", distance_m(roads_mask, grid.res))
    arterial_dist = sink.put("arterial_dist_m", distance_m(arterial_mask, grid.res))
    del roads_mask, arterial_mask
    has_ldsmt_water = bool(ldsmt_water.any())
    water = ldsmt_water
    for role in ("water", "protected", "flood"):
        if catalog.by_role(role):
            step(progress, role)
            frames = [geometry_only(read_vector(e, dst_crs=grid.crs, bbox=bbox))
                      for e in current_layers(catalog.by_role(role))]
            vectors[role] = concat_frames(frames, grid)
    if catalog.by_role("places"):
        step(progress, "places")
        vectors["places"] = concat_frames([places_frame(e, read_vector(e, dst_crs=grid.crs, bbox=bbox))
                                           for e in catalog.by_role("places")], grid)
    if "water" in vectors:
        water |= rasterize(vectors["water"].geometry.values, grid)
    protected = sink.put("protected", rasterize(vectors["protected"].geometry.values, grid)
                         if "protected" in vectors else np.zeros(grid.shape, dtype=bool))
    flood = None
    if "flood" in vectors:
        flood = sink.put("flood", rasterize(vectors["flood"].geometry.values, grid))

    step(progress, "distances")
    water_dist = sink.put("water_dist_m", distance_m(water, grid.res))
    hand = None
    if dem is not None:
        hand = sink.put("height_above_water_m",
                        height_above_water(water, dem, out=sink.new("height_above_water_m", "float32")))
    return Stack(
        grid=grid, name=catalog.name, synthetic=catalog.synthetic, valid=valid, builtup=builtup,
        water=sink.put("water", water), water_dist_m=water_dist, arterial_dist_m=arterial_dist,
        road_dist_m=road_dist, protected=protected, dem=sink.put("dem", dem) if dem is not None else None,
        slope_pct=slope, height_above_water_m=hand, flood=flood,
        population=sink.put("population", population) if population is not None else None,
        vectors=vectors, sources=_sources(catalog), has_roads=bool(catalog.by_role("roads")),
        has_water=bool(catalog.by_role("water")) or has_ldsmt_water, roads_coverage=coverage,
        warnings=warnings,
    )


def current_layers(entries: list[CatalogLayer]) -> list[CatalogLayer]:
    """The layers that show a role today: the undated ones and those of the latest ``year``."""
    years = [e.year for e in entries if e.year is not None]
    return [e for e in entries if e.year is None or e.year == max(years)]


def _read_roads(entries: list[CatalogLayer], grid: Grid, valid: np.ndarray):
    """Every roads layer (with a ``year`` column when any is dated), the current roads
    (see :func:`current_layers`), their coverage on the grid (bool: within
    :data:`ROADS_COVERAGE_BUFFER_M` of each layer's bounding box) and warnings."""
    import geopandas as gpd

    dated = any(e.year is not None for e in entries)
    current = current_layers(entries)
    frames, now, hulls, notes = [], [], [], []
    for e in entries:
        f = roads_frame(e, read_vector(e, dst_crs=grid.crs, bbox=grid.bounds))
        if dated:
            f["year"] = "" if e.year is None else str(e.year)
        frames.append(f)
        if e not in current:
            continue
        now.append(f)
        if len(f) and not (f["road_class"] == "arterial").any():
            classes = class_values_text(f["highway"])
            field = e.class_field or "highway"
            notes.append(f"{e.path_as_written}: no road is arterial (its '{field}' values "
                         f"are {classes}); existing arterials are taken as absent. If the layer has its own "
                         "classes, set 'class_field' and 'arterial_values' in the catalog")
        if len(f):
            left, bottom, right, top = f.total_bounds
            hulls.append(box(left, bottom, right, top).buffer(ROADS_COVERAGE_BUFFER_M))
    coverage = rasterize(hulls, grid) if hulls else np.zeros(grid.shape, dtype=bool)
    inside = int(np.count_nonzero(valid))
    share = np.count_nonzero(coverage & valid) / inside if inside else 1.0
    if share < ROADS_PARTIAL_SHARE:
        names = ", ".join(e.path_as_written for e in current)
        notes.append(f"{names}: the roads cover {100 * share:.0f} % of the study area; land beyond them is "
                     "treated as unknown, not as far from any road. Add a roads layer for the rest "
                     "(e.g. an OpenStreetMap extract)")
    roads = concat_frames(frames, grid)
    current_roads = concat_frames(now, grid) if now else gpd.GeoDataFrame(
        {"highway": [], "road_class": []}, geometry=[], crs=grid.crs)
    return roads, current_roads, coverage, notes


def _band_warnings(catalog: Catalog) -> list[str]:
    out = []
    for e in catalog.layers:
        if is_raster(e):
            with open_raster(e) as ds:
                w = band_warning(e, ds)
            if w:
                out.append(w)
    return out


def _sample(arr: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """A regular sample of ``arr`` (every k-th cell, at most ~1000 a side; NaN outside ``valid``) and k."""
    k = max(1, -(-max(arr.shape) // 1000))
    return np.where(valid[::k, ::k], arr[::k, ::k], np.nan), k


def _builtup_warnings(builtup: dict, valid: np.ndarray, grid: Grid, entries: list[CatalogLayer]) -> list[str]:
    """Epochs covering nearly all or none of the study area, and epochs that shrink sharply."""
    where = {}
    for e in entries:
        years = {"year": e.years, "ghsl-ldsmt": tuple(LDSMT_EPOCHS)}.get(e.encoding, (e.year,))
        for y in years:
            where.setdefault(y, e.path_as_written)
    inside = int(np.count_nonzero(valid))
    out, areas = [], {}
    for year, arr in builtup.items():
        cells = sum(int(np.count_nonzero(arr[s] & valid[s])) for s in row_slices(grid.shape))
        areas[year] = cells * grid.cell_area_ha
        w = builtup_share_warning(where[year], year, cells / inside if inside else 0.0)
        if w:
            out.append(w)
    return out + shrink_warnings(areas, where)


def _sources(catalog: Catalog) -> dict[str, list[str]]:
    sources: dict[str, list[str]] = {}
    for e in catalog.layers:
        sources.setdefault(e.role, []).append(e.path_as_written)
    return sources
