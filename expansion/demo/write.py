"""Writing the demo region: :func:`write_demo` (the folder check, generation in a temporary
folder, the GeoTIFFs, GeoPackages and ``layers.toml``)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from affine import Affine
from scipy import ndimage

from ..errors import ExpansionError
from ..grid import rasterize
from ..outputs.folder import folder_files, listing
from ..outputs.gpkg import write_gpkg
from .builtup import grow_builtup, population_raster
from .frame import (
    BASE_SIZE,
    CENTRE_LONLAT,
    CRS_UTM,
    PAD_CELLS,
    POPULATION_2020,
    RES_M,
    TARGET_KM2,
    YEARS,
    Frame,
    burn_lines,
    chamfer_m,
    rasterize_region,
    slope_pct,
)
from .layout import Layout, make_layout
from .roads import local_streets, main_roads, place_villages, village_roads
from .terrain import make_terrain

logger = logging.getLogger(__name__)


_STEPS = 10  # progress steps reported


Progress = Callable[[str], None]  # as in expansion.inputs: given short step messages


def write_demo(
    folder: Path,
    size: int = BASE_SIZE,
    seed: int = 7,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the synthetic demo region into ``folder``; return its ``layers.toml``.

    Parameters
    ----------
    folder : the folder to write into (created when missing).
    size : cells per side; cells are 30 m, so 834 is about 25 x 25 km and
        4000 a 120 km region for benchmarks. At least 60.
    seed : the random seed; the same ``size`` and ``seed`` give byte-identical files.
    progress : optional callable given a short message (like "built-up 2005:
        24.0 km²") as each of the ten steps finishes.
    overwrite : replace the demo files of a folder that already holds a
        ``layers.toml``; without it such a folder is an error.

    Raises
    ------
    ExpansionError
        when ``folder`` already holds a ``layers.toml`` (and ``overwrite`` is
        false), or when ``size`` or ``seed`` is out of range.
    """
    folder = Path(folder)
    size = int(size)
    if size < 60:
        raise ExpansionError(f"demo size must be at least 60 cells per side, got {size}")
    if int(seed) < 0:
        raise ExpansionError(f"demo seed must be zero or more, got {seed}")
    catalog = folder / "layers.toml"
    check_demo_target(folder, overwrite)
    folder.mkdir(parents=True, exist_ok=True)

    def step(done: int, message: str) -> None:
        logger.info("demo %d/%d: %s", done, _STEPS, message)
        if progress is not None:
            progress(message)

    # Write into a temporary folder next to the files, then move them in:
    # a failed run leaves no half-written demo behind.
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=folder))
    try:
        _generate(tmp, size, int(seed), step)
        names = sorted(p.name for p in tmp.iterdir() if p.name != "layers.toml")
        for name in names:
            os.replace(tmp / name, folder / name)
        os.replace(tmp / "layers.toml", catalog)  # last: its presence means complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    step(_STEPS, f"wrote {catalog}")
    return catalog


def check_demo_target(folder: Path, overwrite: bool) -> None:
    """Raise unless the demo may be written into ``folder``: a new or empty folder,
    or (with ``overwrite``) an earlier demo folder holding nothing but a synthetic
    ``layers.toml``, the files it lists and the tool's own ``.cache``."""
    if folder.exists() and not folder.is_dir():
        raise ExpansionError(f"{folder} exists and is not a folder; choose another folder")
    present = folder_files(folder) if folder.exists() else []
    if not present:
        return
    if not overwrite:
        raise ExpansionError(
            f"{folder} already holds files ({listing(present)}); "
            "choose a new or empty folder, or pass --overwrite to replace an earlier demo there"
        )
    try:
        info = tomllib.loads((folder / "layers.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    if info.get("synthetic") is not True:
        raise ExpansionError(f"will not write the demo into {folder}: it is not a demo folder (no synthetic "
                             f"layers.toml) and what it holds ({listing(present)}) could be lost; "
                             "choose a new or empty folder")
    listed = {"layers.toml"} | {str(e.get("path")) for e in info.get("layers", []) if isinstance(e, dict)}
    listed |= {f"{n}.aux.xml" for n in listed}
    foreign = [n for n in present if not n.startswith((".cache/", ".demo-")) and n not in listed]
    if foreign:
        raise ExpansionError(f"will not write the demo into {folder}: it holds {len(foreign)} file(s) "
                             f"the demo did not write ({listing(foreign)}) "
                             "that could be lost; move them or choose another folder")


def _generate(out: Path, size: int, seed: int, step: Callable[[int, str], None]) -> None:
    from pyproj import Transformer

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    rng_shape, rng_terrain, rng_roads, rng_villages, rng_built, rng_local, rng_pop, _ = streams

    x0, y0 = Transformer.from_crs("EPSG:4326", CRS_UTM, always_xy=True).transform(*CENTRE_LONLAT)
    half = size * RES_M / 2
    frame = Frame(size=size, left=round((x0 - half) / RES_M) * RES_M,
                   top=round((y0 + half) / RES_M) * RES_M)
    scale = size / BASE_SIZE

    # --- shapes: boundary, river course, lake, forest reserve, city centre
    layout = make_layout(frame, rng_shape)
    step(1, "laid out river, lake, hills and city")

    # --- terrain on the padded grid
    terrain = make_terrain(frame, layout, rng_terrain)
    step(2, "made the terrain")

    core = (slice(PAD_CELLS, PAD_CELLS + size),) * 2
    dem = terrain.dem[core]
    slope = slope_pct(terrain.dem)[core]
    floodplain = terrain.river_dist[core] < terrain.floodplain_m[core]
    terrain.river_dist = terrain.floodplain_m = None  # no longer needed: free them

    inside = rasterize([layout.boundary], frame.grid)
    lake = rasterize_region([layout.lake], frame, all_touched=True)
    forest = rasterize_region([layout.forest], frame, all_touched=True)
    river_cells = terrain.river_cells[core]
    water_block = ndimage.binary_dilation(river_cells | lake, iterations=1)
    blocked = water_block | forest | ~inside | (slope > 45.0)

    # --- main roads (highways, secondary, tertiary) and villages
    roads = main_roads(frame, layout, rng_roads, scale)
    road_mask = burn_lines([g for g, _ in roads], frame)
    road_dist = chamfer_m(~road_mask)
    villages = place_villages(frame, layout, rng_villages, scale, road_dist, blocked, slope, floodplain)
    roads += village_roads(frame, layout, villages, roads, rng_villages)
    road_mask = burn_lines([g for g, _ in roads], frame)
    road_dist = chamfer_m(~road_mask)
    highway_mask = burn_lines([g for g, c in roads if c in ("trunk", "primary")], frame)
    highway_dist = chamfer_m(~highway_mask)
    del road_mask, highway_mask
    step(3, f"drew {len(roads)} main roads and {len(villages)} villages")

    # --- built-up epochs
    targets = {y: int(round(TARGET_KM2[y] * 1e6 / RES_M**2 * scale**2)) for y in YEARS}
    built = grow_builtup(frame, layout, villages, rng_built, targets, blocked, slope, floodplain,
                     road_dist, highway_dist, step)
    del highway_dist

    # --- local streets around the built-up land of each epoch (dated: no leak into backtests)
    local = local_streets(frame, layout, built, blocked & ~water_block, rng_local)
    step(7, f"drew {len(local)} local streets")

    # --- population 2020
    pop = population_raster(frame, layout, built[2020], rng_pop, POPULATION_2020 * scale**2)

    # --- write
    _write_vectors(out, frame, layout, [(g, c, YEARS[0]) for g, c in roads] + local)
    for year in YEARS:
        _write_raster(out / f"builtup_{year}.tif", built[year].astype(np.uint8), frame.transform,
                      CRS_UTM, nodata=255, predictor=2)
    _write_raster(out / "population_2020.tif", pop, frame.transform, CRS_UTM, nodata=-1.0, predictor=3)
    step(8, "wrote vectors, built-up and population")
    _write_dem(out / "dem.tif", frame, terrain.dem)
    step(9, "wrote the DEM (EPSG:4326)")
    _write_catalog(out / "layers.toml")
    logger.debug("demo dem range %.0f-%.0f m, max slope %.0f %%", np.nanmin(dem), np.nanmax(dem),
                 float(np.nanmax(slope)))


def _write_raster(path: Path, arr: np.ndarray, transform: Affine, crs: str, nodata: float,
                  predictor: int) -> None:
    import rasterio

    h, w = arr.shape
    tiled = h > 256 and w > 256
    profile = dict(driver="GTiff", height=h, width=w, count=1, dtype=arr.dtype.name, crs=crs,
                   transform=transform, nodata=nodata, compress="deflate", predictor=predictor,
                   zlevel=9 if h * w <= 1_500_000 else 5)  # small demo files; fast large ones
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.Env(GDAL_NUM_THREADS="1"):
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr, 1)


def _write_dem(path: Path, frame: Frame, dem_padded: np.ndarray) -> None:
    """Warp the padded UTM elevation to a 1 arc-second EPSG:4326 grid, like SRTM."""
    from rasterio.warp import Resampling, reproject, transform_bounds

    n = dem_padded.shape[0]
    src_t = frame.padded_transform
    left, top = src_t.c, src_t.f
    right, bottom = left + n * RES_M, top - n * RES_M
    # the geographic box inside the padded square: still covers the region plus about a kilometre
    w, s, e, nn = transform_bounds(CRS_UTM, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    inset = PAD_CELLS * RES_M / 2 / 111_000.0
    arc = 1 / 3600
    w, s = np.floor((w + inset) / arc) * arc, np.floor((s + inset) / arc) * arc
    e, nn = np.ceil((e - inset) / arc) * arc, np.ceil((nn - inset) / arc) * arc
    width, height = int(round((e - w) / arc)), int(round((nn - s) / arc))
    dst_t = Affine(arc, 0, w, 0, -arc, nn)
    out = np.full((height, width), -9999.0, np.float32)
    reproject(dem_padded, out, src_transform=src_t, src_crs=CRS_UTM, dst_transform=dst_t,
              dst_crs="EPSG:4326", resampling=Resampling.bilinear, src_nodata=None, dst_nodata=-9999.0)
    valid = out != -9999.0
    out[valid] = np.round(out[valid] * 10) / 10  # decimetres: smaller files, no visible terracing
    _write_raster(path, out, dst_t, "EPSG:4326", nodata=-9999.0, predictor=3)


def _write_vectors(out: Path, frame: Frame, layout: Layout, roads: list) -> None:
    import geopandas as gpd

    def save(gdf: gpd.GeoDataFrame, name: str) -> None:
        write_gpkg(out / f"{name}.gpkg", [(name, gdf, None)], SPATIAL_INDEX="NO")

    save(gpd.GeoDataFrame({"name": ["Demo City study area"]}, geometry=[layout.boundary],
                          crs=CRS_UTM), "boundary")
    save(gpd.GeoDataFrame(
        {"name": ["Demo River", "Demo Lake"], "waterway": ["river", None],
         "natural": [None, "water"]},
        geometry=[layout.river, layout.lake], crs=CRS_UTM), "water")
    save(gpd.GeoDataFrame({"name": ["Demo Hills Forest Reserve"], "kind": ["forest"]},
                          geometry=[layout.forest], crs=CRS_UTM), "protected")
    geoms = [g for g, _, _ in roads]
    classes = [c for _, c, _ in roads]
    names = {"trunk": "Demo Trunk Road", "primary": "Demo Primary Road"}
    save(gpd.GeoDataFrame({"highway": classes, "name": [names.get(c) for c in classes],
                           "year": [y for _, _, y in roads]}, geometry=geoms, crs=CRS_UTM), "roads")


def _write_catalog(path: Path) -> None:
    lines = ['name = "Demo City"', "synthetic = true", 'country = "ETH"  # for the density reference', ""]

    def entry(role: str, file: str, **extra) -> None:
        lines.extend(["[[layers]]", f'role = "{role}"', f'path = "{file}"'])
        for k, v in extra.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
        lines.append("")

    entry("boundary", "boundary.gpkg")
    for year in YEARS:
        entry("builtup", f"builtup_{year}.tif", year=year, encoding="binary")
    entry("dem", "dem.tif")
    # the layer holds the roads of the last epoch; each feature's `year` is the first epoch it served
    entry("roads", "roads.gpkg", class_field="highway", year=YEARS[-1])
    entry("water", "water.gpkg")
    entry("protected", "protected.gpkg")
    entry("population", "population_2020.tif", year=2020)
    path.write_text("\n".join(lines), encoding="utf-8")
