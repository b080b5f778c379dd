"""Raster layers drawn on the web maps: shaded relief, warping to Web Mercator, paletted PNG overlays.

Pure functions: arrays on a :class:`~expansion.grid.Grid` in, images out.
Rasters are warped from the grid's CRS to Web Mercator (EPSG:3857), the map's
own projection, before they are drawn, so they line up with the vectors. Large
grids are reduced by whole blocks of cells before warping and processed a strip
of rows at a time (:func:`expansion.grid.row_blocks`), so no full-size copy of a
layer is made.
"""

from __future__ import annotations

import base64
import functools
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import DataError
from ...grid import STRIP_CELLS, Grid, row_blocks
from ..palette import colour_ramp, parse_colour

WEB_MERCATOR = "EPSG:3857"
LONLAT = "EPSG:4326"

#: Longest side, in pixels, of a raster overlay image (keeps pages small).
MAX_OVERLAY_PX = 1600


@dataclass(frozen=True)
class RasterLayer:
    """A raster on the analysis grid, drawn as a coloured image overlay.

    Parameters
    ----------
    name : the layer's name in the layer control and the legend.
    array : values with shape ``grid.shape``; NaN (floats) is drawn
        transparent. For categorical layers, cells whose value is not a key of
        ``categories`` are transparent.
    grid : the analysis grid the array lies on.
    colormap : for continuous layers, the name of a branca linear colormap
        (``"viridis"``, ``"YlOrRd_09"``, or a ColorBrewer scheme without its
        class count, ``"RdYlGn"``) or a sequence of CSS colours
        from ``vmin`` to ``vmax``. Ignored for categorical layers.
    vmin, vmax : the values mapped to the ends of the colormap (values outside
        are clipped); None takes the array's NaN-aware minimum / maximum.
    legend : what the values mean, with units ("score, 0 = unsuitable to 1 =
        most suitable", "people per hectare").
    opacity : 0 to 1.
    show : shown when the page opens (else only listed in the layer control).
    categories : for categorical layers, ``{value: (label, css_colour)}``;
        warped with nearest-neighbour resampling (continuous: bilinear).
    """

    name: str
    array: np.ndarray
    grid: Grid
    colormap: str | Sequence[str] = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    legend: str = ""
    opacity: float = 0.7
    show: bool = True
    categories: Mapping[Any, tuple[str, str]] | None = None


@dataclass(frozen=True)
class Overlay:
    """A raster ready to draw: palette indices in Web Mercator.

    ``indices`` is uint8 with 0 = transparent; ``palette`` is (n, 3) uint8
    (entry 0 unused); ``bounds_3857`` is (left, bottom, right, top) in
    EPSG:3857 metres; ``bounds_latlon`` is ``[[south, west], [north, east]]``
    in degrees, as Leaflet wants it.
    """

    indices: np.ndarray
    palette: np.ndarray
    bounds_3857: tuple[float, float, float, float]
    bounds_latlon: list[list[float]]

    def png(self) -> bytes:
        return png_paletted(self.indices, self.palette)

    def data_uri(self) -> str:
        """The image as a PNG data URI (encoded once: a run draws its terrain on three maps)."""
        return self._data_uri

    @functools.cached_property
    def _data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png()).decode("ascii")


# ---------------------------------------------------------------- hillshade


def hillshade(dem: np.ndarray, res_m: float, azimuth: float = 315.0, altitude: float = 45.0) -> np.ndarray:
    """Shaded relief of a DEM, as grey levels.

    Parameters
    ----------
    dem : elevation in metres on a north-up grid (row 0 north), NaN for no data.
    res_m : cell size in metres (the grid's CRS must be in metres).
    azimuth : direction the light comes from, degrees clockwise from north.
    altitude : height of the light above the horizon, degrees.

    Returns
    -------
    uint8 array of ``dem.shape``: 1 (full shadow) to 255 (facing the light);
    0 means no data.

    Computed a strip of rows at a time (each with one row of its neighbours
    above and below, so the slopes are those of the whole DEM): besides the
    result, it needs about 70 bytes for each cell of a strip of
    :data:`MAP_STRIP_CELLS` cells, whatever the DEM's size. No-data cells take the
    DEM's mean elevation for the slopes of their neighbours.
    """
    z = np.asarray(dem)
    height, width = z.shape
    out = np.zeros(z.shape, dtype="uint8")
    fill = _nanmean(z)
    if fill is None:
        return out
    az, alt = math.radians(azimuth), math.radians(altitude)
    lx, ly, lz = math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)
    for r0, r1 in row_blocks(z.shape, MAP_STRIP_CELLS):
        a, b = max(0, r0 - 1), min(height, r1 + 1)  # one row of context on each side
        zb = np.asarray(z[a:b], dtype="float64")
        nodata = ~np.isfinite(zb)
        if nodata.any():
            zb = np.where(nodata, fill, zb)
        if min(z.shape) < 2:
            dz_east = np.zeros_like(zb)
            dz_north = np.zeros_like(zb)
        else:
            dz_row, dz_east = np.gradient(zb, res_m)
            dz_north = -dz_row  # rows run southwards
        # unit normal of the surface and unit vector towards the light
        norm = np.sqrt(dz_east**2 + dz_north**2 + 1.0)
        shade = (-dz_east * lx - dz_north * ly + lz) / norm
        block = 1 + np.rint(np.clip(shade, 0.0, 1.0) * 254.0)
        block[nodata] = 0
        out[r0:r1] = block[r0 - a : r1 - a]
    return out


#: Cells of a strip in the strip-wise computations here (hillshade, block means, value
#: ranges): their float64 temporaries take up to about 70 bytes a cell, so a sixteenth of
#: the grid module's strip keeps them near 18 MB, well under the size of the layer drawn.
MAP_STRIP_CELLS = STRIP_CELLS // 16


def _nanmean(values: np.ndarray) -> float | None:
    """Mean of the finite values (float64 sums, a strip at a time); None when there are none."""
    total, count = 0.0, 0
    for r0, r1 in row_blocks(values.shape, MAP_STRIP_CELLS):
        strip = np.asarray(values[r0:r1], dtype="float64")
        finite = np.isfinite(strip)
        total += float(strip.sum(where=finite))
        count += int(finite.sum())
    return total / count if count else None


def _finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """NaN-aware (minimum, maximum) of an array, a strip at a time; None when nothing is finite."""
    lo = hi = None
    for r0, r1 in row_blocks(values.shape, MAP_STRIP_CELLS):
        strip = np.asarray(values[r0:r1])
        if strip.dtype.kind == "f":
            strip = strip[np.isfinite(strip)]
        if strip.size:
            a, b = float(strip.min()), float(strip.max())
            lo = a if lo is None else min(lo, a)
            hi = b if hi is None else max(hi, b)
    return None if lo is None else (lo, hi)


def block_mean(values: np.ndarray, k: int, nodata: float | None = None) -> np.ndarray:
    """Means of the finite values in ``k`` x ``k`` blocks of cells, as float32 (NaN where none).

    Block ``(i, j)`` covers rows ``i*k`` to ``i*k + k - 1`` and columns
    ``j*k`` to ``j*k + k - 1``; the blocks on the last row and column may be
    partial. Cells equal to ``nodata`` count as missing, like NaN. Computed a
    strip of blocks at a time, so the only full-size array is the result.
    """
    height, width = values.shape
    out_h, out_w = -(-height // k), -(-width // k)
    out = np.empty((out_h, out_w), dtype="float32")
    # strips of whole blocks: about MAP_STRIP_CELLS cells of the grid each
    for b0, b1 in row_blocks((out_h, out_w), max(1, MAP_STRIP_CELLS // (k * k))):
        r0, r1 = b0 * k, min(height, b1 * k)
        strip = np.full((r1 - r0 + (-(r1 - r0)) % k, out_w * k), np.nan)
        strip[: r1 - r0, :width] = values[r0:r1]
        if nodata is not None:
            strip[strip == nodata] = np.nan
        blocks = strip.reshape(strip.shape[0] // k, k, out_w, k)
        finite = np.isfinite(blocks)
        count = finite.sum(axis=(1, 3))
        total = blocks.sum(axis=(1, 3), where=finite)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[r0 // k : r0 // k + blocks.shape[0]] = np.where(count > 0, total / count, np.nan)
    return out


# ---------------------------------------------------------------- PNG


def png_paletted(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """Encode palette indices as an 8-bit paletted PNG; index 0 is transparent.

    Written here (zlib and struct) so the page does not depend on an imaging
    library; the output is deterministic.
    """
    idx = np.ascontiguousarray(indices, dtype="uint8")
    pal = np.asarray(palette, dtype="uint8").reshape(-1, 3)
    if pal.shape[0] > 256 or pal.shape[0] < 1:
        raise ValueError("a PNG palette has 1 to 256 entries")
    height, width = idx.shape

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = np.zeros((height, width + 1), dtype="uint8")  # filter byte 0 (none) per row
    raw[:, 1:] = idx
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)),
        chunk(b"PLTE", pal.tobytes()),
        chunk(b"tRNS", b"\x00"),  # entry 0 fully transparent, the others opaque
        chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)),
        chunk(b"IEND", b""),
    ])


# ---------------------------------------------------------------- warping


def mercator_frame(grid: Grid, max_px: int = MAX_OVERLAY_PX) -> tuple[tuple[float, float, float, float],
                                                                      int, int]:
    """Web Mercator bounds and image size for drawing a grid.

    Returns ``((left, bottom, right, top) in EPSG:3857 metres, width, height)``:
    the envelope of the grid's extent in Web Mercator, with about as many
    pixels as the grid has cells, at most ``max_px`` on the long side.
    """
    from rasterio.warp import transform_bounds

    left, bottom, right, top = transform_bounds(grid.crs, WEB_MERCATOR, *grid.bounds, densify_pts=101)
    px = min((right - left) / grid.width, (top - bottom) / grid.height)
    width = max(1, int(math.ceil((right - left) / px - 1e-6)))
    height = max(1, int(math.ceil((top - bottom) / px - 1e-6)))
    scale = max(width, height) / max_px
    if scale > 1:
        width = max(1, int(round(width / scale)))
        height = max(1, int(round(height / scale)))
    return (left, bottom, right, top), width, height


def latlon_bounds(bounds_3857: tuple[float, float, float, float]) -> list[list[float]]:
    """``[[south, west], [north, east]]`` in degrees for Web Mercator bounds."""
    from pyproj import Transformer

    t = Transformer.from_crs(WEB_MERCATOR, LONLAT, always_xy=True)
    west, south = t.transform(bounds_3857[0], bounds_3857[1])
    east, north = t.transform(bounds_3857[2], bounds_3857[3])
    return [[south, west], [north, east]]


def overlay_factor(grid: Grid, max_px: int = MAX_OVERLAY_PX) -> int:
    """Cells per side of the blocks a grid is reduced to before it is warped into an overlay.

    The overlay image (see :func:`mercator_frame`) has at most ``max_px``
    pixels a side, so on a large grid one pixel covers several cells. The
    rasters are first reduced on the grid by the largest whole number of cells
    per pixel (block means for continuous data, one cell of each block for
    categories) and only the reduced grid is warped: the image looks the same
    and no full-size copy of a layer is made. 1 when a pixel covers less than
    two cells (the demo's grids), where nothing is reduced.
    """
    (left, bottom, right, top), width, height = mercator_frame(grid, max_px)
    cell = min((right - left) / grid.width, (top - bottom) / grid.height)
    pixel = min((right - left) / width, (top - bottom) / height)
    return max(1, int(math.floor(pixel / cell + 1e-9)))


def _reduced_transform(grid: Grid, k: int):
    """The transform of the grid reduced to ``k`` x ``k`` blocks (same origin)."""
    from affine import Affine

    return grid.transform @ Affine.scale(k)


def _sample_blocks(values: np.ndarray, k: int) -> np.ndarray:
    """One cell of each ``k`` x ``k`` block (the one at offset ``k // 2``): a view, no copy."""
    return values if k == 1 else values[k // 2 :: k, k // 2 :: k]


def _warp(values: np.ndarray, src_transform, grid: Grid, categorical: bool,
          max_px: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Warp float32 values (NaN = no data) lying on ``src_transform`` into the grid's Mercator frame."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    bounds, width, height = mercator_frame(grid, max_px)
    dst = np.full((height, width), np.nan, dtype="float32")
    reproject(
        source=np.ascontiguousarray(values, dtype="float32"),
        destination=dst,
        src_transform=src_transform,
        src_crs=grid.crs,
        src_nodata=np.nan,
        dst_transform=Affine((bounds[2] - bounds[0]) / width, 0.0, bounds[0],
                             0.0, -(bounds[3] - bounds[1]) / height, bounds[3]),
        dst_crs=WEB_MERCATOR,
        dst_nodata=np.nan,
        resampling=Resampling.nearest if categorical else Resampling.bilinear,
    )
    return dst, bounds


def warp_to_mercator(values: np.ndarray, grid: Grid, categorical: bool,
                     max_px: int = MAX_OVERLAY_PX) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Warp a float array from the grid to Web Mercator; NaN stays no data.

    Nearest-neighbour for categorical data, bilinear for continuous data,
    after reducing the array by :func:`overlay_factor` (one cell per block for
    categorical data, NaN-aware block means for continuous data).
    Returns the warped float32 array and its (left, bottom, right, top)
    bounds in EPSG:3857 metres.
    """
    k = overlay_factor(grid, max_px)
    if categorical:
        reduced = _sample_blocks(values, k)
    else:
        reduced = block_mean(values, k) if k > 1 else values
    return _warp(reduced, _reduced_transform(grid, k), grid, categorical, max_px)


def _check_shape(array: np.ndarray, grid: Grid, name: str) -> None:
    if np.shape(array) != grid.shape:
        raise DataError(f"map layer '{name}': array shape {np.shape(array)} is not the grid's {grid.shape}")


def raster_overlay(layer: RasterLayer, max_px: int = MAX_OVERLAY_PX) -> Overlay:
    """Warp and colour a raster layer: the image drawn on the map.

    The layer's array is only read: besides the image, the memory used is
    that of the grid reduced by :func:`overlay_factor` (about the image's
    size), so a map of a very large grid costs no full-size copy.
    """
    _check_shape(layer.array, layer.grid, layer.name)
    arr = np.asarray(layer.array)
    k = overlay_factor(layer.grid, max_px)
    transform = _reduced_transform(layer.grid, k)
    if layer.categories is not None:
        cats = list(layer.categories.items())
        if len(cats) > 255:
            raise DataError(f"map layer '{layer.name}': {len(cats)} categories, at most 255 can be drawn")
        sample = _sample_blocks(arr, k)
        codes = np.full(sample.shape, np.nan, dtype="float32")
        for i, (value, _) in enumerate(cats, start=1):
            codes[sample == value] = i
        warped, bounds = _warp(codes, transform, layer.grid, True, max_px)
        indices = np.where(np.isfinite(warped), warped, 0).astype("uint8")
        palette = np.zeros((len(cats) + 1, 3), dtype="uint8")
        for i, (_, (_, colour)) in enumerate(cats, start=1):
            palette[i] = parse_colour(colour)
    else:
        vmin, vmax = value_range(layer)
        reduced = block_mean(arr, k) if k > 1 else arr
        warped, bounds = _warp(reduced, transform, layer.grid, False, max_px)
        finite = np.isfinite(warped)
        span = (vmax - vmin) or 1.0
        scaled = np.clip((np.where(finite, warped, vmin) - vmin) / span, 0.0, 1.0)
        indices = np.where(finite, 1 + np.rint(scaled * 254.0), 0).astype("uint8")
        palette = np.zeros((256, 3), dtype="uint8")
        palette[1:] = colour_ramp(layer.colormap, 255)
    return Overlay(indices, palette, bounds, latlon_bounds(bounds))


def value_range(layer: RasterLayer) -> tuple[float, float]:
    """(vmin, vmax) of a continuous layer: its own, else the array's finite min / max."""
    if layer.vmin is not None and layer.vmax is not None:
        return float(layer.vmin), float(layer.vmax)
    found = _finite_range(np.asarray(layer.array)) or (0.0, 1.0)
    lo = layer.vmin if layer.vmin is not None else found[0]
    hi = layer.vmax if layer.vmax is not None else found[1]
    return float(lo), float(hi)


def hillshade_overlay(shade: np.ndarray, grid: Grid, max_px: int = MAX_OVERLAY_PX) -> Overlay:
    """The hillshade (uint8, 0 = no data) as a grey overlay in Web Mercator."""
    _check_shape(shade, grid, "hillshade")
    k = overlay_factor(grid, max_px)
    if k > 1:
        values = block_mean(shade, k, nodata=0)
    else:
        values = shade.astype("float32")
        values[shade == 0] = np.nan
    return _grey_overlay(values, _reduced_transform(grid, k), grid, max_px)


def terrain_overlay(dem: np.ndarray, grid: Grid, max_px: int = MAX_OVERLAY_PX) -> Overlay:
    """The hillshade background of a map, straight from the DEM.

    On a grid larger than the image (see :func:`overlay_factor`) the relief is
    shaded from the DEM averaged over blocks of about one pixel, not from the
    full DEM: the same picture at the image's resolution, at a fraction of the
    time and memory. Otherwise it is ``hillshade_overlay(hillshade(dem))``.
    Compute it once and pass it to every :func:`make_map` of a run.

    Parameters
    ----------
    dem : elevation in metres on ``grid`` (its CRS in metres), NaN for no data.
    """
    _check_shape(dem, grid, "dem")
    k = overlay_factor(grid, max_px)
    if k == 1:
        return hillshade_overlay(hillshade(dem, grid.res), grid, max_px)
    shade = hillshade(block_mean(dem, k), grid.res * k)
    values = shade.astype("float32")
    values[shade == 0] = np.nan
    return _grey_overlay(values, _reduced_transform(grid, k), grid, max_px)


def _grey_overlay(values: np.ndarray, transform, grid: Grid, max_px: int) -> Overlay:
    """Grey levels (float32 1 to 255, NaN = no data) on ``transform`` as a lightened grey overlay."""
    warped, bounds = _warp(values, transform, grid, False, max_px)
    indices = np.where(np.isfinite(warped), np.clip(np.rint(warped), 1, 255), 0).astype("uint8")
    palette = np.repeat(np.arange(256, dtype="uint8")[:, None], 3, axis=1)
    # lift the shadows a little, so the coloured layers on top stay readable
    palette = (96 + palette.astype("float64") * (255 - 96) / 255).astype("uint8")
    return Overlay(indices, palette, bounds, latlon_bounds(bounds))

