"""A synthetic secondary-city region for demos, tests and benchmarks.

:func:`write_demo` writes a made-up city in Ethiopia's rift valley (centred
near 39.27 E, 8.54 N): a study-area boundary, an SRTM-like DEM in EPSG:4326, a
meandering river with its floodplain and a lake, regional highways and local
streets, a forest reserve on the hills, three built-up epochs (1995, 2005,
2020) grown by a stochastic process, a 2020 population raster, and the
``layers.toml`` catalog that names them.

Everything follows from ``size`` (cells per side, 30 m each) and ``seed``:
the same pair gives byte-identical files. Large-scale features (the city core,
the river's course, the hills, the boundary) scale with the region; small
ones (street spacing, village size, meanders, hill texture) keep their size in
metres, and their number grows with the area. Generation uses whole-array
numpy/scipy operations and is roughly linear in the number of cells.

The growth between epochs depends on distance to built-up, the built-up
share of the neighbourhood, distance to roads, slope and the floodplain, so a
logistic model on those drivers can learn it; it never touches water or the
forest reserve, and each epoch contains the one before.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from scipy import ndimage

from .errors import ExpansionError
from .outputs.folder import folder_files, listing
from .outputs.gpkg import write_gpkg

logger = logging.getLogger(__name__)

CRS_UTM = "EPSG:32637"
CENTRE_LONLAT = (39.27, 8.54)
RES_M = 30.0
BASE_SIZE = 834  # cells per side that the area targets below refer to
TARGET_KM2 = {1995: 16.0, 2005: 24.0, 2020: 35.0}
POPULATION_2020 = 350_000.0
PAD_CELLS = 40  # the DEM covers the region plus this many cells on each side
YEARS = (1995, 2005, 2020)
_STEPS = 10  # progress steps reported

Progress = Callable[[str], None]  # as in expansion.inputs: given short step messages


@dataclass(frozen=True)
class _Frame:
    """The region's grid: ``size`` x ``size`` cells of 30 m, north up, in UTM 37N."""

    size: int
    left: float
    top: float

    @property
    def length_m(self) -> float:
        return self.size * RES_M

    @property
    def transform(self) -> Affine:
        return Affine(RES_M, 0.0, self.left, 0.0, -RES_M, self.top)

    @property
    def padded_transform(self) -> Affine:
        """The transform of the grid padded by PAD_CELLS on every side."""
        pad = PAD_CELLS * RES_M
        return Affine(RES_M, 0.0, self.left - pad, 0.0, -RES_M, self.top + pad)

    @property
    def cx(self) -> float:
        return self.left + self.length_m / 2

    @property
    def cy(self) -> float:
        return self.top - self.length_m / 2

    def xy(self, u: np.ndarray | float, v: np.ndarray | float) -> tuple:
        """Metres (UTM) from unit coordinates: u east, v north, both in [-0.5, 0.5]."""
        return self.cx + np.asarray(u) * self.length_m, self.cy + np.asarray(v) * self.length_m

    def rowcol(self, x: np.ndarray, y: np.ndarray, pad: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Integer row and column of points (metres) on the grid padded by ``pad`` cells."""
        col = np.floor((np.asarray(x) - self.left) / RES_M).astype(np.int64) + pad
        row = np.floor((self.top - np.asarray(y)) / RES_M).astype(np.int64) + pad
        return row, col


# ------------------------------------------------------------------ public


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


# ------------------------------------------------------------------ generation


def _generate(out: Path, size: int, seed: int, step: Callable[[int, str], None]) -> None:
    from pyproj import Transformer

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    rng_shape, rng_terrain, rng_roads, rng_villages, rng_built, rng_local, rng_pop, _ = streams

    x0, y0 = Transformer.from_crs("EPSG:4326", CRS_UTM, always_xy=True).transform(*CENTRE_LONLAT)
    half = size * RES_M / 2
    frame = _Frame(size=size, left=round((x0 - half) / RES_M) * RES_M,
                   top=round((y0 + half) / RES_M) * RES_M)
    scale = size / BASE_SIZE

    # --- shapes: boundary, river course, lake, forest reserve, city centre
    layout = _layout(frame, rng_shape)
    step(1, "laid out river, lake, hills and city")

    # --- terrain on the padded grid
    terrain = _terrain(frame, layout, rng_terrain)
    step(2, "made the terrain")

    core = (slice(PAD_CELLS, PAD_CELLS + size),) * 2
    dem = terrain.dem[core]
    slope = _slope_pct(terrain.dem)[core]
    floodplain = terrain.river_dist[core] < terrain.floodplain_m[core]
    terrain.river_dist = terrain.floodplain_m = None  # no longer needed: free them

    inside = _rasterize([layout.boundary], frame)
    lake = _rasterize([layout.lake], frame, all_touched=True)
    forest = _rasterize([layout.forest], frame, all_touched=True)
    river_cells = terrain.river_cells[core]
    water_block = ndimage.binary_dilation(river_cells | lake, iterations=1)
    blocked = water_block | forest | ~inside | (slope > 45.0)

    # --- main roads (highways, secondary, tertiary) and villages
    roads = _main_roads(frame, layout, rng_roads, scale)
    road_mask = _burn_lines([g for g, _ in roads], frame)
    road_dist = _dist(~road_mask)
    villages = _villages(frame, layout, rng_villages, scale, road_dist, blocked, slope, floodplain)
    roads += _village_roads(frame, layout, villages, roads, rng_villages)
    road_mask = _burn_lines([g for g, _ in roads], frame)
    road_dist = _dist(~road_mask)
    highway_mask = _burn_lines([g for g, c in roads if c in ("trunk", "primary")], frame)
    highway_dist = _dist(~highway_mask)
    del road_mask, highway_mask
    step(3, f"drew {len(roads)} main roads and {len(villages)} villages")

    # --- built-up epochs
    targets = {y: int(round(TARGET_KM2[y] * 1e6 / RES_M**2 * scale**2)) for y in YEARS}
    built = _builtup(frame, layout, villages, rng_built, targets, blocked, slope, floodplain,
                     road_dist, highway_dist, step)
    del highway_dist

    # --- local streets around 2020 built-up
    local = _local_streets(frame, layout, built[2020], blocked & ~water_block, rng_local)
    step(7, f"drew {len(local)} local streets")

    # --- population 2020
    pop = _population(frame, layout, built[2020], rng_pop, POPULATION_2020 * scale**2)

    # --- write
    _write_vectors(out, frame, layout, roads + local)
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


# ------------------------------------------------------------------ layout


@dataclass
class _Layout:
    boundary: object
    river: object  # shapely LineString, metres
    lake: object
    forest: object
    centre: tuple[float, float]
    core_radius_m: float
    hill_east_u: float  # where the eastern escarpment starts (unit coordinate)
    hill_sw: tuple[float, float, float]  # (u, v, radius) of the south-western hills


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float, wobble: float = 0.12,
          squareness: float = 2.0, n: int = 180):
    """A smooth irregular polygon: a superellipse of ``radius`` (metres) with
    low harmonics; ``squareness`` 2 is round, larger is boxier."""
    from shapely.geometry import Polygon

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1.0 / (np.abs(np.cos(t)) ** squareness + np.abs(np.sin(t)) ** squareness) ** (1 / squareness)
    mod = np.ones_like(t)
    for k in (2, 3, 4, 5):
        mod += wobble / k * rng.uniform(0.4, 1.0) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = r * mod / (1 + wobble * 0.8)  # stays within about ``radius``
    return Polygon(np.column_stack([cx + radius * r * np.cos(t), cy + radius * r * np.sin(t)]))


def _as_line(geom):
    """The longest part of a (multi)line, as a LineString."""
    import shapely

    geom = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
    if geom.geom_type == "LineString":
        return geom
    return max(geom.geoms, key=lambda g: g.length)


def _layout(frame: _Frame, rng: np.random.Generator) -> _Layout:
    from shapely.geometry import LineString, Point, box

    L = frame.length_m
    margin = 0.09 * L
    boundary = _blob(rng, frame.cx, frame.cy, L / 2 - margin, wobble=0.10, squareness=3.5)

    # River: enters at the north edge, leaves at the south, east of the centre;
    # a large-scale bend (scaled with the region) plus meanders of 1.5-3 km.
    v = np.linspace(0.56, -0.56, max(200, int(1.12 * L / 15)))
    u = 0.10 + 0.04 * np.sin(np.pi * (v + 0.5) * 1.3 + rng.uniform(-0.3, 0.3))
    u = u + 0.015 * np.sin(2 * np.pi * v * 2.3 + rng.uniform(0, 2 * np.pi))
    x, y = frame.xy(u, v)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    for wavelength, amp in ((2600.0, 260.0), (1500.0, 110.0), (900.0, 35.0)):
        phase = rng.uniform(0, 2 * np.pi)
        amp_mod = 1 + 0.35 * np.sin(2 * np.pi * s / (wavelength * 5.3) + rng.uniform(0, 2 * np.pi))
        x = x + amp * amp_mod * np.sin(2 * np.pi * s / wavelength + phase)
    pad_m = PAD_CELLS * RES_M
    padded = box(frame.left - pad_m, frame.top - L - pad_m, frame.left + L + pad_m, frame.top + pad_m)
    river = _as_line(LineString(np.column_stack([x, y])).simplify(2.0).intersection(padded))
    coords = np.asarray(river.coords)

    # City centre on the west bank, about 1.5-2 km from the river at the base size.
    cv = rng.uniform(-0.02, 0.06)
    ry = frame.xy(0, cv)[1]
    rx = np.interp(-ry, -coords[:, 1], coords[:, 0])
    centre = (float(rx - max(0.075 * L, 900.0)), float(ry))
    core_radius = 0.058 * L

    # Lake: on the western plain, north-west of the city (a rift-valley lake).
    lx, ly = frame.xy(rng.uniform(-0.29, -0.23), rng.uniform(0.20, 0.26))
    lake = _blob(rng, lx, ly, 0.045 * L, wobble=0.25, squareness=2.0)
    lake = lake.difference(river.buffer(150.0))

    # Hills: an escarpment along the east of the region, and a hill mass in the south-west.
    hill_east_u = 0.27 + rng.uniform(-0.02, 0.02)
    hill_sw = (-0.30 + rng.uniform(-0.03, 0.03), -0.28 + rng.uniform(-0.03, 0.03), 0.16)
    fx, fy = frame.xy(hill_sw[0] + 0.03, hill_sw[1] + 0.03)
    forest = _blob(rng, fx, fy, 0.085 * L, wobble=0.3, squareness=2.2)
    forest = forest.difference(river.buffer(300.0)).buffer(0)
    if forest.geom_type != "Polygon":  # keep the largest part: one reserve
        forest = max(forest.geoms, key=lambda g: g.area)
    assert Point(centre).within(boundary)
    return _Layout(boundary=boundary, river=river, lake=lake, forest=forest,
                   centre=centre, core_radius_m=core_radius, hill_east_u=hill_east_u,
                   hill_sw=hill_sw)


# ------------------------------------------------------------------ raster helpers


def _edt(mask: np.ndarray) -> np.ndarray:
    """Distance in metres (float32) from each True cell of ``mask`` to the nearest False cell."""
    if mask.all():
        return np.full(mask.shape, np.hypot(*mask.shape) * RES_M, np.float32)
    return ndimage.distance_transform_edt(mask, sampling=RES_M).astype(np.float32)


def _dist(mask: np.ndarray) -> np.ndarray:
    """Approximate distance in metres (float32, within about 8 % of Euclidean) from
    each True cell of ``mask`` to the nearest False cell: the octagonal chamfer
    distance, several times faster than an exact transform on large grids."""
    if mask.all():
        return np.full(mask.shape, np.hypot(*mask.shape) * RES_M, np.float32)
    chess = ndimage.distance_transform_cdt(mask, metric="chessboard").astype(np.float32)
    taxi = ndimage.distance_transform_cdt(mask, metric="taxicab").astype(np.float32)
    taxi *= np.float32(1 / np.sqrt(2))
    np.maximum(chess, taxi, out=chess)
    chess *= np.float32(RES_M)
    return chess


def _upsample(c: np.ndarray, shape: tuple[int, int], f: int) -> np.ndarray:
    """Smooth (cubic B-spline) upsampling of coarse array ``c`` by factor ``f`` to
    ``shape``; separable, four taps per axis. ``c`` needs ``shape // f + 5`` cells per axis."""
    def axis_weights(n: int) -> tuple[np.ndarray, list[np.ndarray]]:
        u = (np.arange(n) + 0.5) / f + 1.0
        i = np.floor(u).astype(np.int64)
        t = (u - i).astype(np.float32)
        w = [(1 - t) ** 3 / 6, (3 * t**3 - 6 * t**2 + 4) / 6, (-3 * t**3 + 3 * t**2 + 3 * t + 1) / 6,
             t**3 / 6]
        return i - 1, w

    j0, wj = axis_weights(shape[1])
    cols = sum(c[:, j0 + k] * wj[k][None, :] for k in range(4))  # coarse rows, fine columns
    i0, wi = axis_weights(shape[0])
    out = cols[i0] * wi[0][:, None]
    for k in range(1, 4):
        out += cols[i0 + k] * wi[k][:, None]
    return out


def _noise(rng: np.random.Generator, shape: tuple[int, int], scale_cells: float) -> np.ndarray:
    """Smooth Gaussian noise (float32, sd about 1) with features of ``scale_cells`` cells.

    Made on a coarse grid and upsampled, so the cost does not grow with the scale."""
    f = max(1, int(scale_cells // 2))
    c = rng.standard_normal((shape[0] // f + 5, shape[1] // f + 5)).astype(np.float32)
    c = ndimage.gaussian_filter(c, sigma=2.0 if f > 1 else float(scale_cells), mode="wrap")
    c /= max(float(c.std()), 1e-6)
    out = _upsample(c, shape, f)
    return out / max(float(out[::7, ::7].std()), 1e-6)


def _unit_coords(frame: _Frame, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit coordinates (u east, v north) of cell centres of the padded grid, as 1-D arrays."""
    n = frame.size + 2 * pad
    u = ((np.arange(n) - pad + 0.5) / frame.size - 0.5).astype(np.float32)
    return u, -u


def _rasterize(geoms: list, frame: _Frame, all_touched: bool = False) -> np.ndarray:
    from rasterio import features

    return features.rasterize([(g, 1) for g in geoms], out_shape=(frame.size, frame.size),
                              transform=frame.transform, fill=0, all_touched=all_touched,
                              dtype="uint8").astype(bool)


def _burn_lines(lines: list, frame: _Frame) -> np.ndarray:
    """Cells that lines pass through (dense sampling at 10 m), on the region grid."""
    mask = np.zeros((frame.size, frame.size), bool)
    pts = [_densify(line, 10.0) for line in lines]
    if not pts:
        return mask
    xy = np.concatenate(pts)
    r, c = frame.rowcol(xy[:, 0], xy[:, 1])
    ok = (r >= 0) & (r < frame.size) & (c >= 0) & (c < frame.size)
    mask[r[ok], c[ok]] = True
    return mask


def _densify(line, step_m: float) -> np.ndarray:
    """The line's vertices plus points at most ``step_m`` metres apart, as an (n, 2) array."""
    import shapely

    return shapely.get_coordinates(shapely.segmentize(line, step_m))


def _slope_pct(dem: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(dem, RES_M)
    return (np.hypot(gx, gy) * 100).astype(np.float32)


# ------------------------------------------------------------------ terrain


@dataclass
class _Terrain:
    dem: np.ndarray  # padded grid, metres
    river_dist: np.ndarray | None  # padded grid, metres
    river_cells: np.ndarray  # padded grid, bool
    floodplain_m: np.ndarray | None  # padded grid, half-width of the floodplain, metres


def _terrain(frame: _Frame, layout: _Layout, rng: np.random.Generator) -> _Terrain:
    """Elevation on the grid padded by PAD_CELLS: river valley, floodplain, plain, hills."""
    n = frame.size + 2 * PAD_CELLS
    shape = (n, n)
    L = frame.length_m

    # The river runs north to south; its level falls 0.8 m per km southwards and
    # every cell's valley floor takes the level of its latitude, so the river
    # always lies at the bottom of the valley.
    pts = _densify(layout.river, 10.0)
    r, c = frame.rowcol(pts[:, 0], pts[:, 1], pad=PAD_CELLS)
    ok = (r >= 0) & (r < n) & (c >= 0) & (c < n)
    river_cells = np.zeros(shape, bool)
    river_cells[r[ok], c[ok]] = True
    dist = _edt(~river_cells)
    base = (1590.0 - 0.0008 * RES_M * np.arange(n, dtype=np.float32))[:, None]

    u, v = _unit_coords(frame, PAD_CELLS)
    U, V = u[None, :], v[:, None]

    # Floodplain: flat, 300-700 m either side of the river.
    fp = (480.0 + 160.0 * _noise(rng, shape, 2500 / RES_M)).clip(250, 800)
    above = np.maximum(dist - fp, 0)
    # Valley sides rise 3 % then ease into the plain's 0.6 % gradient.
    valley = 1.2 + 22.0 * (1 - np.exp(-above / 700.0)) + 0.006 * above
    z = base + valley
    del above, valley
    z += 0.35 * _noise(rng, shape, 300 / RES_M) * (dist < fp)  # floodplain micro-relief

    # Plain: gentle swells of a few metres.
    away = np.clip((dist - fp) / 1500.0, 0, 1)
    z += away * (6.0 * _noise(rng, shape, 3000 / RES_M) + 1.5 * _noise(rng, shape, 400 / RES_M))

    # Hills: an eastern escarpment and a south-western hill mass, textured so
    # that slopes reach about 40 %.
    hu = layout.hill_east_u
    esc = 1 / (1 + np.exp(-(U - hu - 0.02 * _noise(rng, shape, 0.1 * L / RES_M)) / 0.025))
    su, sv, sr = layout.hill_sw
    dsw = np.sqrt((U - su) ** 2 + (V - sv) ** 2) / sr
    sw = np.exp(-(dsw**2) * 1.6)
    del dsw
    hills = np.maximum(esc, sw) * np.clip((dist - fp) / 1200.0, 0, 1)
    del esc, sw
    relief = 0.55 * _noise(rng, shape, 700 / RES_M) + 0.3 * _noise(rng, shape, 250 / RES_M)
    ridged = 1 - np.abs(relief)
    z += hills * (220.0 + 120.0 * ridged)
    del relief, ridged, hills, away

    # Lake: a flat water surface with gently rising shores.
    lake = _rasterize_padded(layout.lake, frame, n)
    if lake.any():
        lake_level = float(np.median(z[lake])) - 1.0
        # shores rise 2 %: within 5 km they meet the plain, so work in a window
        rows, cols = np.nonzero(lake)
        m = int(5000 / RES_M)
        win = (slice(max(0, rows.min() - m), rows.max() + m + 1),
               slice(max(0, cols.min() - m), cols.max() + m + 1))
        z[win] = np.minimum(z[win], lake_level + 0.02 * _edt(~lake[win]))
    z = z.astype(np.float32)
    return _Terrain(dem=z, river_dist=dist, river_cells=river_cells, floodplain_m=fp.astype(np.float32))


def _rasterize_padded(geom, frame: _Frame, n: int) -> np.ndarray:
    from rasterio import features

    t = frame.padded_transform
    return features.rasterize([(geom, 1)], out_shape=(n, n), transform=t, fill=0,
                              dtype="uint8").astype(bool)


# ------------------------------------------------------------------ roads and villages


def _wiggly(rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float],
            amp: float, wavelength: float, step: float = 60.0):
    """A gently curving LineString from ``a`` to ``b`` (metres)."""
    from shapely.geometry import LineString

    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.hypot(*(b - a)))
    n = max(3, int(length / step))
    t = np.linspace(0, 1, n)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-9)
    off = np.zeros(n)
    for k in (1.0, 2.1):
        w = wavelength / k
        off += amp / k * np.sin(2 * np.pi * t * length / w + rng.uniform(0, 2 * np.pi))
    off *= np.sin(np.pi * t)  # ends stay put
    pts = a[None, :] + t[:, None] * (b - a)[None, :] + off[:, None] * normal[None, :]
    return LineString(pts)


def _main_roads(frame: _Frame, layout: _Layout, rng: np.random.Generator, scale: float) -> list:
    """Highways through the centre and secondary roads radiating from it.

    Returns a list of (LineString, highway class)."""
    from shapely.geometry import LineString, box

    L = frame.length_m
    cx, cy = layout.centre
    region = box(frame.left, frame.top - L, frame.left + L, frame.top).buffer(60)
    ext = 0.58 * L
    roads = []

    def through(angle_deg: float, cls: str, bend: float) -> None:
        ang = np.radians(angle_deg)
        d = np.array([np.cos(ang), np.sin(ang)])
        half1 = _wiggly(rng, (cx, cy), (cx + ext * d[0], cy + ext * d[1]), bend * L, 0.5 * L)
        half2 = _wiggly(rng, (cx - ext * d[0], cy - ext * d[1]), (cx, cy), bend * L, 0.5 * L)
        line = LineString(list(half2.coords) + list(half1.coords)[1:]).intersection(region)
        roads.append((_as_line(line), cls))

    # The trunk road runs west-east across the river (the bridge) and up the escarpment.
    through(rng.uniform(-8, 8), "trunk", 0.02)
    # The primary road runs north-south, west of the river.
    through(90 + rng.uniform(-12, -4), "primary", 0.03)

    # Secondary roads radiate from near the centre, about 3 per 25 km of region width.
    n_sec = max(2, int(round(3 * scale)))
    base_angles = np.array([45.0, 145.0, 235.0, 320.0])
    for i in range(n_sec):
        if i < len(base_angles):
            ang = np.radians(base_angles[i] + rng.uniform(-15, 15))
            start = np.array(layout.centre) + rng.uniform(0.2, 0.6) * layout.core_radius_m * np.array(
                [np.cos(ang), np.sin(ang)])
        else:  # in large regions, secondary roads also join outlying towns
            ang = rng.uniform(0, 2 * np.pi)
            start = np.array(frame.xy(*rng.uniform(-0.4, 0.4, 2)))
        length = rng.uniform(0.35, 0.6) * L
        end = start + length * np.array([np.cos(ang), np.sin(ang)])
        line = _wiggly(rng, start, end, 0.015 * L, 0.3 * L)
        if line.intersects(layout.lake):
            line = line.difference(layout.lake.buffer(200))
            if line.geom_type != "LineString":
                line = max(line.geoms, key=lambda g: g.length)
        line = line.intersection(region)
        if not line.is_empty:
            line = _as_line(line)
        if not line.is_empty and line.length > 500:
            roads.append((line, "secondary"))
    return roads


def _villages(frame: _Frame, layout: _Layout, rng: np.random.Generator, scale: float,
              road_dist: np.ndarray, blocked: np.ndarray, slope: np.ndarray,
              floodplain: np.ndarray) -> list[tuple[float, float, float]]:
    """Village centres (x, y in metres) and radii (metres): about 9 per 625 km²,
    mostly near roads, on dry, gentle land away from the city core."""
    n_target = max(2, int(round(9 * scale**2)))
    n = frame.size
    cx, cy = layout.centre
    xs = frame.left + (np.arange(n) + 0.5) * RES_M
    ys = frame.top - (np.arange(n) + 0.5) * RES_M
    d_centre = np.hypot(xs[None, :] - cx, ys[:, None] - cy)
    w = np.exp(-road_dist / 1200.0) + 0.08
    w[blocked | (slope > 15) | floodplain | (d_centre < 1.6 * layout.core_radius_m)] = 0
    w = w.ravel().astype(np.float64)
    total = w.sum()
    if total <= 0:
        return []
    picks = rng.choice(w.size, size=n_target * 8, p=w / total)
    rows, cols = np.divmod(picks, n)
    spacing = 1800.0 * min(1.0, max(0.35, scale))
    chosen: list[tuple[float, float, float]] = []
    for r, c in zip(rows, cols):
        x, y = float(xs[c]), float(ys[r])
        if all(np.hypot(x - a, y - b) > spacing for a, b, _ in chosen):
            chosen.append((x, y, float(rng.uniform(130, 300))))
            if len(chosen) == n_target:
                break
    return chosen


def _village_roads(frame: _Frame, layout: _Layout, villages: list, roads: list,
                   rng: np.random.Generator) -> list:
    """A tertiary road from each village to the nearest point of the road network."""
    from shapely.geometry import LineString, MultiLineString, Point
    from shapely.ops import nearest_points

    network = MultiLineString([g for g, _ in roads if g.geom_type == "LineString"])
    out = []
    for x, y, _ in villages:
        p = Point(x, y)
        q = nearest_points(p, network)[1]
        if p.distance(q) < 150:
            continue
        line = _wiggly(rng, (x, y), (q.x, q.y), min(250.0, 0.08 * p.distance(q)), 1500.0)
        if line.intersects(layout.lake):
            continue
        out.append((line, "tertiary"))
        # a short track on through the village
        ang = rng.uniform(0, 2 * np.pi)
        d = rng.uniform(600, 1400)
        out.append((LineString([(x, y), (x + d * np.cos(ang), y + d * np.sin(ang))]), "unclassified"))
    keep = []
    for line, cls in out:
        if cls == "unclassified" and (line.intersects(layout.lake) or line.intersects(layout.river)):
            continue
        keep.append((line, cls))
    return keep


# ------------------------------------------------------------------ built-up


def _top_k(score: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the ``k`` highest scores among allowed cells (ties broken by index)."""
    idx = np.flatnonzero(allowed.ravel())
    if k >= idx.size:
        return idx
    vals = score.ravel()[idx]
    part = np.argpartition(-vals, k - 1)[:k]
    return idx[part]


def _builtup(frame: _Frame, layout: _Layout, villages: list, rng: np.random.Generator,
             targets: dict[int, int], blocked: np.ndarray, slope: np.ndarray, floodplain: np.ndarray,
             road_dist: np.ndarray, highway_dist: np.ndarray, step) -> dict[int, np.ndarray]:
    """Built-up per year: 1995 from a score surface (core, ribbons, villages),
    then two growth epochs of a logistic-like stochastic process."""
    n = frame.size
    shape = (n, n)
    cx, cy = layout.centre
    xs = (frame.left + (np.arange(n) + 0.5) * RES_M - cx).astype(np.float32)
    ys = (frame.top - (np.arange(n) + 0.5) * RES_M - cy).astype(np.float32)
    d_centre = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    R = layout.core_radius_m

    # 1995: a compact core, ribbons along the highways, villages.
    ragged = 1 + 0.22 * _noise(rng, shape, 0.25 * R / RES_M)
    score = np.exp(-((d_centre / (R * ragged)) ** 2))
    del ragged
    score = np.maximum(score, 0.75 * np.exp(-highway_dist / 70.0) * np.exp(-d_centre / (2.2 * R)))
    for vx, vy, vrad in villages:  # a few hundred at most: small windows around each
        r, c = frame.rowcol(vx, vy)
        m = int(3 * vrad / RES_M) + 1
        r0, r1, c0, c1 = max(0, r - m), min(n, r + m + 1), max(0, c - m), min(n, c + m + 1)
        if r0 >= r1 or c0 >= c1:
            continue
        dy = (np.arange(r0, r1) - r)[:, None] * RES_M
        dx = (np.arange(c0, c1) - c)[None, :] * RES_M
        bump = 0.9 * np.exp(-(dx**2 + dy**2) / vrad**2).astype(np.float32)
        np.maximum(score[r0:r1, c0:c1], bump, out=score[r0:r1, c0:c1])
    score += 0.12 * _noise(rng, shape, 250 / RES_M) + 0.04 * _noise(rng, shape, 2)
    score -= slope / 60.0 + 0.25 * floodplain
    built = np.zeros(shape, bool)
    built.ravel()[_top_k(score, ~blocked, targets[1995])] = True
    del score, d_centre
    out = {1995: built.copy()}
    step(4, f"built-up 1995: {built.sum() * RES_M**2 / 1e6:.1f} km²")

    # Growth: the drivers a logistic model would use, plus spatially
    # correlated noise (growth comes in patches) and Gumbel noise for the draw.
    road_term = np.exp(-road_dist / 350.0).astype(np.float32)
    fixed = (1.8 * road_term - slope / 5.0 - 1.0 * floodplain).astype(np.float32)
    del road_term
    prev_year = 1995
    for i, year in enumerate(YEARS[1:]):
        need = targets[year] - int(built.sum())
        sub = 2
        for j in range(sub):
            k = need // sub + (need % sub if j == sub - 1 else 0)
            if k <= 0:
                continue
            b = built.astype(np.float32)
            share = ndimage.uniform_filter(b, size=21, mode="constant")
            dist = _dist(~built)
            logit = fixed + 3.0 * share - dist / 150.0
            del share, dist, b
            logit += 0.9 * _noise(rng, shape, 200 / RES_M)
            uniform = rng.random(shape, dtype=np.float32)
            np.clip(uniform, 1e-7, 1 - 1e-7, out=uniform)
            logit -= 0.35 * np.log(-np.log(uniform))  # Gumbel noise: a weighted draw by top-k
            del uniform
            built.ravel()[_top_k(logit, ~blocked & ~built, k)] = True
            del logit
        out[year] = built.copy()
        step(5 + i, f"built-up {year}: {built.sum() * RES_M**2 / 1e6:.1f} km² (from {prev_year})")
        prev_year = year
    return out


# ------------------------------------------------------------------ local streets


def _local_streets(frame: _Frame, layout: _Layout, built: np.ndarray, blocked: np.ndarray,
                   rng: np.random.Generator) -> list:
    """A jittered street grid (about 200 m blocks) over and around the 2020 built-up."""
    import shapely

    n = frame.size
    L = frame.length_m
    spacing = 200.0
    share = ndimage.uniform_filter(built.astype(np.float32), size=11, mode="constant")
    near = ndimage.binary_dilation(built, iterations=2) & ~blocked
    angle = np.radians(rng.uniform(-10, 10))
    ca, sa = np.cos(angle), np.sin(angle)
    m = int(np.ceil(0.75 * L / spacing))
    g = np.arange(-m, m + 1) * spacing
    A, B = np.meshgrid(g, g)  # lattice coordinates (rotated frame)
    A = A + rng.uniform(-40, 40, A.shape)
    B = B + rng.uniform(-40, 40, B.shape)
    X = frame.cx + A * ca - B * sa
    Y = frame.cy + A * sa + B * ca
    segs = []
    for a0, a1 in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                   ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
        x0, y0, x1, y1 = X[a0].ravel(), Y[a0].ravel(), X[a1].ravel(), Y[a1].ravel()
        segs.append(np.stack([x0, y0, x1, y1], axis=1))
    s = np.concatenate(segs)
    # keep segments whose midpoint and ends are near built-up land
    keep = np.ones(len(s), bool)
    shares = np.zeros(len(s), np.float32)
    for fx, fy in ((0.5, 0.5), (0.0, 0.0), (1.0, 1.0)):
        px = s[:, 0] * (1 - fx) + s[:, 2] * fx
        py = s[:, 1] * (1 - fy) + s[:, 3] * fy
        r, c = frame.rowcol(px, py)
        ok = (r >= 0) & (r < n) & (c >= 0) & (c < n)
        keep &= ok
        r, c = np.clip(r, 0, n - 1), np.clip(c, 0, n - 1)
        keep &= near[r, c]
        shares += share[r, c] / 3
    s, shares = s[keep], shares[keep]
    lines = shapely.linestrings(s.reshape(-1, 2, 2))
    wet = shapely.intersects(lines, layout.river.buffer(20.0)) | shapely.intersects(lines, layout.lake)
    wet |= shapely.intersects(lines, layout.forest)
    lines, shares = lines[~wet], shares[~wet]
    classes = np.where(shares > 0.45, "residential", "unclassified")
    return list(zip(lines.tolist(), classes.tolist()))


# ------------------------------------------------------------------ population


def _population(frame: _Frame, layout: _Layout, built: np.ndarray, rng: np.random.Generator,
                total: float) -> np.ndarray:
    """Persons per cell on built-up cells, denser in the core, summing to ``total``."""
    n = frame.size
    cx, cy = layout.centre
    xs = (frame.left + (np.arange(n) + 0.5) * RES_M - cx).astype(np.float32)
    ys = (frame.top - (np.arange(n) + 0.5) * RES_M - cy).astype(np.float32)
    d = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    share = ndimage.uniform_filter(built.astype(np.float32), size=21, mode="constant")
    w = (0.4 + 1.6 * np.exp(-d / layout.core_radius_m)) * (0.3 + share)
    w *= np.exp(0.35 * _noise(rng, (n, n), 150 / RES_M))
    w = np.where(built, w, 0).astype(np.float64)
    pop = (w * (total / max(w.sum(), 1e-9))).astype(np.float32)
    return pop


# ------------------------------------------------------------------ writing


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


def _write_dem(path: Path, frame: _Frame, dem_padded: np.ndarray) -> None:
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


def _write_vectors(out: Path, frame: _Frame, layout: _Layout, roads: list) -> None:
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
    geoms = [g for g, _ in roads]
    classes = [c for _, c in roads]
    names = {"trunk": "Demo Trunk Road", "primary": "Demo Primary Road"}
    save(gpd.GeoDataFrame({"highway": classes, "name": [names.get(c) for c in classes]},
                          geometry=geoms, crs=CRS_UTM), "roads")


def _write_catalog(path: Path) -> None:
    lines = ['name = "Demo City"', "synthetic = true", ""]

    def entry(role: str, file: str, **extra) -> None:
        lines.extend(["[[layers]]", f'role = "{role}"', f'path = "{file}"'])
        for k, v in extra.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
        lines.append("")

    entry("boundary", "boundary.gpkg")
    for year in YEARS:
        entry("builtup", f"builtup_{year}.tif", year=year, encoding="binary")
    entry("dem", "dem.tif")
    entry("roads", "roads.gpkg", class_field="highway")
    entry("water", "water.gpkg")
    entry("protected", "protected.gpkg")
    entry("population", "population_2020.tif")
    path.write_text("\n".join(lines), encoding="utf-8")
