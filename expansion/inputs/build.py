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

from ..config import Catalog
from ..errors import DataError
from ..grid import Grid, distance_m, rasterize
from ..stack import Stack
from ..terrain import height_above_water, slope_percent
from .cache import Sink, cache_path, load_cached_stack, save_cache
from .encodings import warp_builtup
from .sources import Progress, check_file, short_error, step
from .vectors import concat_frames, geometry_only, read_vector, roads_frame, study_area
from .warp import warp_dem, warp_population

log = logging.getLogger(__name__)


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

    builtup, present, ldsmt_water = warp_builtup(builtup_entries, grid, study, progress, sink)
    present &= inside
    del inside
    if not present.any():
        raise DataError(f"{builtup_entries[0].path_as_written}: the built-up layers have no data inside "
                        "the boundary; check that they cover the study area")
    valid = sink.put("valid", present)
    del present

    dem = slope = None
    if catalog.by_role("dem"):
        step(progress, "dem")
        dem = warp_dem(catalog.by_role("dem"), grid, study, progress, sink)
        slope = sink.put("slope_pct", slope_percent(dem, grid.res, out=sink.new("slope_pct", "float32")))
    population = None
    if catalog.by_role("population"):
        step(progress, "population")
        population = warp_population(catalog.by_role("population"), grid, study, progress, sink)

    vectors = {"boundary": geometry_only(boundary)}
    bbox = grid.bounds
    roads_mask = np.zeros(grid.shape, dtype=bool)
    arterial_mask = np.zeros(grid.shape, dtype=bool)
    if catalog.by_role("roads"):
        step(progress, "roads")
        frames = [roads_frame(e, read_vector(e, dst_crs=grid.crs, bbox=bbox))
                  for e in catalog.by_role("roads")]
        roads = concat_frames(frames, grid)
        vectors["roads"] = roads
        roads_mask = rasterize(roads.geometry.values, grid)
        arterial_mask = rasterize(roads.geometry.values[roads["road_class"].to_numpy() == "arterial"], grid)
    road_dist = sink.put("road_dist_m", distance_m(roads_mask, grid.res))
    arterial_dist = sink.put("arterial_dist_m", distance_m(arterial_mask, grid.res))
    del roads_mask, arterial_mask
    has_ldsmt_water = bool(ldsmt_water.any())
    water = ldsmt_water
    for role in ("water", "protected", "flood"):
        if catalog.by_role(role):
            step(progress, role)
            frames = [geometry_only(read_vector(e, dst_crs=grid.crs, bbox=bbox))
                      for e in catalog.by_role(role)]
            vectors[role] = concat_frames(frames, grid)
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
        has_water=bool(catalog.by_role("water")) or has_ldsmt_water,
    )


def _sources(catalog: Catalog) -> dict[str, list[str]]:
    sources: dict[str, list[str]] = {}
    for e in catalog.layers:
        sources.setdefault(e.role, []).append(e.path_as_written)
    return sources
