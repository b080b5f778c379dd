"""Offline HTML maps: raster and vector layers on one Leaflet page.

Pure functions: arrays on a :class:`~expansion.grid.Grid` and GeoDataFrames in,
complete HTML text out; only :func:`write_html` touches a file.

The pages are made for officials who open them offline on modest laptops:

- no network: Leaflet's script and stylesheet are inlined from the
  ``xstatic-leaflet`` package (its images become data URIs); folium's other
  default assets (jQuery, Bootstrap, Font Awesome, awesome-markers) are not
  used by these maps and are left out;
- the default background is a hillshade computed from the DEM; OpenStreetMap
  tiles are an optional background that only loads with a connection;
- rasters are warped from the grid's CRS to Web Mercator (EPSG:3857), the
  map's own projection, before they are drawn, so they line up with the
  vectors (which are converted to EPSG:4326 here and nowhere else);
- every user string (city, scenario, layer names, attribute values) is
  HTML-escaped;
- the same inputs give byte-identical HTML (element ids come from a counter,
  not from random UUIDs).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .grid import Grid, require_crs

WEB_MERCATOR = "EPSG:3857"
LONLAT = "EPSG:4326"

#: Longest side, in pixels, of a raster overlay image (keeps pages small).
MAX_OVERLAY_PX = 1600

#: Pane z-indexes (Leaflet: tiles 200, overlays/vectors 400): the hillshade
#: lies over tiles, raster overlays under the vectors, whatever the order in
#: which a user toggles them.
_HILLSHADE_Z = 250
_RASTER_Z = 350


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
class VectorLayer:
    """Vector features drawn as GeoJSON with a tooltip.

    Parameters
    ----------
    name : the layer's name in the layer control and the legend.
    gdf : a GeoDataFrame in any CRS (it must have one); converted to
        EPSG:4326 only for drawing.
    style : Leaflet path options (``{"color": "#b30000", "weight": 2,
        "fillOpacity": 0.3}``), or a function of a feature's properties
        returning them.
    tooltip_fields : columns shown when hovering a feature: a sequence of
        column names, or ``{column: label}``.
    legend : what the features are ("arterial roads, 30 m right-of-way").
    show : shown when the page opens.
    """

    name: str
    gdf: Any
    style: Mapping[str, Any] | Callable[[dict], Mapping[str, Any]]
    tooltip_fields: Sequence[str] | Mapping[str, str] = ()
    legend: str = ""
    show: bool = True


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
    ``_STRIP_CELLS`` cells, whatever the DEM's size. No-data cells take the
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
    for r0, r1 in _strips(height, width):
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


#: Cells handled at once by the strip-wise computations (hillshade, block
#: means, value ranges): their temporaries stay a few tens of MB on any grid.
_STRIP_CELLS = 1 << 18


def _strips(height: int, width: int, rows_per: int = 1) -> list[tuple[int, int]]:
    """``(first, end)`` row ranges of about ``_STRIP_CELLS`` cells, in multiples of ``rows_per`` rows."""
    step = max(1, _STRIP_CELLS // max(1, width * rows_per)) * rows_per
    return [(r0, min(height, r0 + step)) for r0 in range(0, height, step)]


def _nanmean(values: np.ndarray) -> float | None:
    """Mean of the finite values (float64 sums, a strip at a time); None when there are none."""
    total, count = 0.0, 0
    for r0, r1 in _strips(*values.shape):
        strip = np.asarray(values[r0:r1], dtype="float64")
        finite = np.isfinite(strip)
        total += float(strip.sum(where=finite))
        count += int(finite.sum())
    return total / count if count else None


def _finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """NaN-aware (minimum, maximum) of an array, a strip at a time; None when nothing is finite."""
    lo = hi = None
    for r0, r1 in _strips(*values.shape):
        strip = np.asarray(values[r0:r1])
        if strip.dtype.kind == "f":
            strip = strip[np.isfinite(strip)]
        if strip.size:
            a, b = float(strip.min()), float(strip.max())
            lo = a if lo is None else min(lo, a)
            hi = b if hi is None else max(hi, b)
    return None if lo is None else (lo, hi)


def _block_mean(values: np.ndarray, k: int, nodata: float | None = None) -> np.ndarray:
    """Means of the finite values in ``k`` x ``k`` blocks of cells, as float32 (NaN where none).

    Block ``(i, j)`` covers rows ``i*k`` to ``i*k + k - 1`` and columns
    ``j*k`` to ``j*k + k - 1``; the blocks on the last row and column may be
    partial. Cells equal to ``nodata`` count as missing, like NaN. Computed a
    strip of blocks at a time, so the only full-size array is the result.
    """
    height, width = values.shape
    out_h, out_w = -(-height // k), -(-width // k)
    out = np.empty((out_h, out_w), dtype="float32")
    for r0, r1 in _strips(height, width, rows_per=k):
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


# ---------------------------------------------------------------- colours


def _hex(rgb: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb[:3]))


def _parse_colour(colour: str) -> tuple[int, int, int]:
    """A CSS colour (``#rgb``, ``#rrggbb`` or a name branca knows) as 0-255 RGB."""
    from branca.colormap import LinearColormap

    colour = str(colour).strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", colour):
        colour = "#" + "".join(c * 2 for c in colour[1:])
    try:
        r, g, b, _ = LinearColormap([colour, colour]).colors[0]
    except (ValueError, TypeError):
        raise ValueError(f"'{colour}' is not a colour; use '#rrggbb' or a CSS colour name") from None
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def colour_ramp(colormap: str | Sequence[str], n: int = 255) -> np.ndarray:
    """``n`` RGB colours (uint8, shape (n, 3)) evenly spaced along a colormap.

    ``colormap`` is a branca linear colormap name (``"viridis"``,
    ``"YlOrRd_09"``) or a sequence of CSS colours.
    """
    from branca.colormap import LinearColormap, linear

    if isinstance(colormap, str):
        # a ColorBrewer scheme without a class count ("RdYlGn") takes its longest variant
        variants = sorted((n for n in dir(linear) if re.fullmatch(re.escape(colormap) + r"_\d+", n)),
                          key=lambda n: int(n.rsplit("_", 1)[1]))
        name = colormap if hasattr(linear, colormap) or not variants else variants[-1]
        try:
            cm = getattr(linear, name)
        except AttributeError:
            raise ValueError(
                f"unknown colormap '{colormap}'; use a branca linear colormap name such as "
                "'viridis' or 'YlOrRd_09', or a list of colours"
            ) from None
    else:
        cm = LinearColormap(list(colormap))
    stops = np.asarray(cm.index, dtype="float64")
    stops = (stops - stops[0]) / ((stops[-1] - stops[0]) or 1.0)
    colours = np.asarray(cm.colors, dtype="float64")[:, :3] * 255.0
    x = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(x, stops, colours[:, k]) for k in range(3)], axis=1)
    return np.rint(out).astype("uint8")


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


def _latlon_bounds(bounds_3857: tuple[float, float, float, float]) -> list[list[float]]:
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
        reduced = _block_mean(values, k) if k > 1 else values
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
            palette[i] = _parse_colour(colour)
    else:
        vmin, vmax = _value_range(layer)
        reduced = _block_mean(arr, k) if k > 1 else arr
        warped, bounds = _warp(reduced, transform, layer.grid, False, max_px)
        finite = np.isfinite(warped)
        span = (vmax - vmin) or 1.0
        scaled = np.clip((np.where(finite, warped, vmin) - vmin) / span, 0.0, 1.0)
        indices = np.where(finite, 1 + np.rint(scaled * 254.0), 0).astype("uint8")
        palette = np.zeros((256, 3), dtype="uint8")
        palette[1:] = colour_ramp(layer.colormap, 255)
    return Overlay(indices, palette, bounds, _latlon_bounds(bounds))


def _value_range(layer: RasterLayer) -> tuple[float, float]:
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
        values = _block_mean(shade, k, nodata=0)
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
    shade = hillshade(_block_mean(dem, k), grid.res * k)
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
    return Overlay(indices, palette, bounds, _latlon_bounds(bounds))


# ---------------------------------------------------------------- vectors


def _cell(value: Any) -> str:
    """A property value as escaped tooltip text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"
    return html.escape(str(value))


def _tooltip_items(layer: VectorLayer) -> list[tuple[str, str]]:
    fields = layer.tooltip_fields
    if isinstance(fields, Mapping):
        return [(str(k), str(v)) for k, v in fields.items()]
    return [(str(f), str(f)) for f in fields]


def vector_geojson(layer: VectorLayer, decimals: int = 6) -> dict:
    """The layer as a GeoJSON FeatureCollection in EPSG:4326 (lon/lat).

    Only the tooltip fields are kept, as escaped text under the keys ``f0``,
    ``f1`` ...; coordinates are rounded to ``decimals`` (6 decimals is about
    0.1 m).
    """
    import shapely

    gdf = layer.gdf
    require_crs(gdf.crs, f"map layer '{layer.name}'")
    items = _tooltip_items(layer)
    missing = [f for f, _ in items if f not in gdf.columns]
    if missing:
        raise DataError(f"map layer '{layer.name}': no column {', '.join(missing)} for the tooltip; "
                        f"columns are {', '.join(map(str, gdf.columns))}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    geoms = shapely.transform(gdf.geometry.to_crs(LONLAT).values,
                              lambda xy: np.round(xy, decimals))
    # Columns are taken out of the frame once: indexing a GeoDataFrame per feature
    # (gdf[field].iloc[i]) cost about 0.1 ms a value, most of a map's time on big regions.
    columns = {field: gdf[field].to_numpy() for field in gdf.columns if field != gdf.geometry.name}
    tips = [(f"f{k}", columns[field]) for k, (field, _) in enumerate(items)]
    texts = shapely.to_geojson(np.asarray(geoms, dtype=object)) if len(geoms) else []
    features = []
    for i, text in enumerate(texts):
        props = {key: _cell(col[i]) for key, col in tips}
        if callable(layer.style):
            raw = {field: col[i] for field, col in columns.items()}
            props["_style"] = dict(layer.style(raw))
        features.append({"type": "Feature", "id": i, "properties": props, "geometry": json.loads(text)})
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------- offline assets


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str, str]:
    """Leaflet's (version, script, stylesheet), from the ``xstatic-leaflet`` package.

    Source-map comments are dropped and the stylesheet's images are inlined
    as data URIs, so nothing is fetched.
    """
    try:
        from xstatic.pkg import leaflet as xleaflet
    except ImportError:  # pragma: no cover - a packaging error, not bad data
        raise RuntimeError(
            "the offline maps need Leaflet from the 'xstatic-leaflet' package: pip install xstatic-leaflet"
        ) from None
    base = Path(xleaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", js)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)

    def inline(match: re.Match) -> str:
        path = base / match.group(1)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - cannot inline safely
        raise RuntimeError("Leaflet's files contain a closing tag and cannot be inlined")
    return xleaflet.VERSION, js, css


# ---------------------------------------------------------------- page

_PAGE_CSS = """
html, body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.leaflet-container { font-family: inherit; background: #f4f3ef; }
.xp-title { position: absolute; z-index: 1000; top: 10px; left: 54px; max-width: calc(100% - 330px);
  background: rgba(255,255,255,0.94); border-radius: 6px; padding: 8px 12px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); pointer-events: auto; }
.xp-title h1 { font-size: 18px; margin: 0; line-height: 1.25; color: #1b1b1b; }
.xp-title p { font-size: 13px; margin: 3px 0 0; color: #444; }
.xp-badge { display: inline-block; margin-top: 5px; padding: 2px 8px; border-radius: 10px;
  background: #c0392b; color: #fff; font-size: 12px; font-weight: 600; letter-spacing: 0.02em; }
.xp-legend { position: absolute; z-index: 1000; right: 10px; bottom: 26px; max-width: 300px;
  max-height: calc(100% - 130px); overflow-y: auto; background: rgba(255,255,255,0.94);
  border-radius: 6px; padding: 8px 10px; box-shadow: 0 1px 5px rgba(0,0,0,0.35);
  font-size: 12px; color: #222; }
.xp-legend h2 { font-size: 13px; margin: 0 0 4px; }
.xp-entry { margin: 6px 0 0; }
.xp-entry .xp-name { font-weight: 600; }
.xp-entry .xp-units { color: #555; }
.xp-bar { height: 10px; border: 1px solid #999; margin-top: 3px; }
.xp-ticks { display: flex; justify-content: space-between; color: #333; }
.xp-swatch { display: inline-block; width: 14px; height: 11px; border: 1px solid #777;
  vertical-align: middle; margin-right: 5px; }
.xp-row { margin-top: 2px; }
.xp-line { display: inline-block; width: 18px; height: 0; vertical-align: middle; margin-right: 5px; }
.leaflet-control-layers-expanded { font-size: 13px; }
@media print { .leaflet-control-layers, .leaflet-control-zoom { display: none; } }
"""


def _fmt_tick(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.1f}"


def _raster_legend(layer: RasterLayer) -> str:
    name = html.escape(layer.name)
    units = f'<div class="xp-units">{html.escape(layer.legend)}</div>' if layer.legend else ""
    if layer.categories is not None:
        rows = "".join(
            f'<div class="xp-row"><span class="xp-swatch" style="background:{_hex(_parse_colour(colour))}">'
            f"</span>{html.escape(str(label))}</div>"
            for label, colour in layer.categories.values()
        )
        return f'<div class="xp-name">{name}</div>{units}{rows}'
    vmin, vmax = _value_range(layer)
    ramp = colour_ramp(layer.colormap, 11)
    stops = ", ".join(f"{_hex(c)} {k * 10}%" for k, c in enumerate(ramp))
    mid = (vmin + vmax) / 2
    ticks = "".join(f"<span>{html.escape(_fmt_tick(v))}</span>" for v in (vmin, mid, vmax))
    return (f'<div class="xp-name">{name}</div>{units}'
            f'<div class="xp-bar" style="background: linear-gradient(to right, {stops})"></div>'
            f'<div class="xp-ticks">{ticks}</div>')


def _swatch(style: Mapping[str, Any], line: bool) -> str:
    """A legend symbol drawn with a layer's Leaflet path style."""
    colour = _hex(_parse_colour(str(style.get("color", "#3388ff"))))
    dashed = "dashed" if style.get("dashArray") else "solid"
    if line or not style.get("fill", True) or float(style.get("fillOpacity", 0.2)) <= 0:
        weight = max(1, min(6, int(round(float(style.get("weight", 3))))))
        return f'<span class="xp-line" style="border-top:{weight}px {dashed} {colour}"></span>'
    fill = _hex(_parse_colour(str(style.get("fillColor", style.get("color", "#3388ff")))))
    return f'<span class="xp-swatch" style="background:{fill};border:2px {dashed} {colour}"></span>'


def _vector_legend(layer: VectorLayer, data: dict) -> str:
    """Name, symbol(s) and units of a vector layer; a style that depends on the
    features shows each distinct style drawn (up to 8)."""
    types = {f["geometry"]["type"] for f in data["features"] if f.get("geometry")}
    line = bool(types) and types <= {"LineString", "MultiLineString"}
    if isinstance(layer.style, Mapping):
        styles = [dict(layer.style)]
    else:
        styles, seen = [], set()
        for f in data["features"]:
            st = f["properties"].get("_style", {})
            key = json.dumps(st, sort_keys=True, default=str)
            if key not in seen and len(styles) < 8:
                seen.add(key)
                styles.append(st)
        styles = styles or [{}]
    symbols = "".join(_swatch(st, line) for st in styles)
    units = html.escape(layer.legend) if layer.legend else ""
    return f'<div class="xp-row">{symbols}<span class="xp-name">{html.escape(layer.name)}</span></div>' + (
        f'<div class="xp-units">{units}</div>' if units else "")


def _elements():
    """folium/branca element classes used by make_map (imported lazily: folium is slow to import)."""
    import folium
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class Raw(Element):
        """Literal HTML (already escaped by us; never read as a template)."""

        _template = Template("{{ this.text }}")

        def __init__(self, text: str):
            super().__init__()
            self._name = "Raw"
            self.text = text

    class Legend(MacroElement):
        """The legend box; an entry hides while its layer is switched off."""

        _template = Template("""
{% macro html(this, kwargs) %}
<div class="xp-legend" id="{{ this.get_name() }}"><h2>Legend</h2>
{%- for layer, body in this.entries %}
<div class="xp-entry" data-layer="{{ layer.get_name() }}"
{%- if not layer.show %} style="display:none"{% endif %}>{{ body }}</div>
{%- endfor %}
</div>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var entries = {
  {%- for layer, body in this.entries %}
    {{ layer.get_name()|tojson }}: {{ layer.get_name() }},
  {%- endfor %}
  };
  function toggle(e) {
    var box = document.getElementById({{ this.get_name()|tojson }});
    for (var key in entries) {
      if (entries[key] === e.layer) {
        var el = box.querySelector('[data-layer="' + key + '"]');
        if (el) { el.style.display = (e.type === 'overlayadd') ? '' : 'none'; }
      }
    }
  }
  {{ this._parent.get_name() }}.on('overlayadd overlayremove', toggle);
})();
{% endmacro %}
""")

        def __init__(self, entries: list):
            super().__init__()
            self._name = "Legend"
            self.entries = entries

    return folium, Raw, Legend


def _fix_ids(root) -> None:
    """Replace folium's random element ids by a counter (deterministic HTML)."""
    counter = 0
    stack = [root]
    while stack:
        el = stack.pop()
        counter += 1
        el._id = f"{counter:04d}"
        stack.extend(reversed(list(getattr(el, "_children", {}).values())))


def make_map(
    title: str,
    subtitle: str,
    grid: Grid,
    layers: Sequence[RasterLayer | VectorLayer],
    hillshade: np.ndarray | Overlay | None = None,
    synthetic: bool = False,
    osm_tiles: bool = True,
    max_px: int = MAX_OVERLAY_PX,
) -> str:
    """A complete, self-contained HTML page with one Leaflet map.

    Parameters
    ----------
    title : the page's heading (the city), plain text.
    subtitle : a line under it (the scenario and what the map shows), plain text.
    grid : the analysis grid; the map opens fitted to its bounds.
    layers : raster and vector layers, drawn in this order (vectors always
        above rasters); each is listed in the layer control and the legend.
    hillshade : the default background: uint8 shaded relief on the grid (see
        :func:`hillshade`), or that relief already drawn as an overlay for this
        grid and ``max_px`` (see :func:`terrain_overlay`, cheaper on large grids
        and shared by the maps of a run); None for a plain background.
    synthetic : show a "synthetic data" badge under the title.
    osm_tiles : offer OpenStreetMap tiles as a background (not the default: they
        need a connection).
    max_px : longest side of each raster image in pixels.

    Returns
    -------
    The page as text (UTF-8 when written; see :func:`write_html`). It needs
    no network except for the optional OpenStreetMap background.
    """
    folium, Raw, Legend = _elements()
    from folium.map import CustomPane

    version, leaflet_js, leaflet_css = leaflet_assets()
    (left, bottom, right, top), _, _ = mercator_frame(grid, max_px)
    (south, west), (north, east) = _latlon_bounds((left, bottom, right, top))

    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=12, tiles=None,
                   control_scale=True, prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    # Leaflet is inlined below; jQuery, Bootstrap, Font Awesome and
    # awesome-markers serve folium's popups and markers, which these maps do not use.
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.header.add_child(Raw(f"<title>{html.escape(title)} - {html.escape(subtitle)}</title>"),
                          name="xp_title")
    root.header.add_child(Raw(f"<!-- Leaflet {html.escape(version)} from the xstatic-leaflet package -->\n"
                              f"<style>{leaflet_css}</style>\n<script>{leaflet_js}</script>"),
                          name="xp_leaflet")
    root.header.add_child(Raw(f"<style>{_PAGE_CSS}</style>"), name="xp_css")

    CustomPane("xp_hillshade", z_index=_HILLSHADE_Z, pointer_events=False).add_to(m)
    CustomPane("xp_rasters", z_index=_RASTER_Z, pointer_events=False).add_to(m)

    # backgrounds (radio buttons): hillshade by default, OSM optional, or plain
    if hillshade is not None:
        shade = hillshade if isinstance(hillshade, Overlay) else hillshade_overlay(hillshade, grid, max_px)
        folium.raster_layers.ImageOverlay(
            shade.data_uri(), bounds=shade.bounds_latlon, name="Terrain (hillshade, offline)",
            overlay=False, show=True, pixelated=False, pane="xp_hillshade", opacity=1.0,
        ).add_to(m)
    if osm_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (needs internet)", overlay=False,
                         show=False).add_to(m)
    if hillshade is not None or osm_tiles:
        folium.FeatureGroup(name="Plain background", overlay=False, show=hillshade is None).add_to(m)

    entries = []
    for layer in [lay for lay in layers if isinstance(lay, RasterLayer)]:
        ov = raster_overlay(layer, max_px)
        el = folium.raster_layers.ImageOverlay(
            ov.data_uri(), bounds=ov.bounds_latlon, name=html.escape(layer.name), show=layer.show,
            opacity=float(layer.opacity), pixelated=layer.categories is not None, pane="xp_rasters",
        )
        el.add_to(m)
        entries.append((el, _raster_legend(layer)))
    for layer in [lay for lay in layers if isinstance(lay, VectorLayer)]:
        data = vector_geojson(layer)
        el = _geojson(folium, layer, data)
        el.add_to(m)
        entries.append((el, _vector_legend(layer, data)))
    unknown = [type(lay).__name__ for lay in layers if not isinstance(lay, RasterLayer | VectorLayer)]
    if unknown:
        raise TypeError(f"map layers must be RasterLayer or VectorLayer, not {', '.join(unknown)}")

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    badge = '<div class="xp-badge">SYNTHETIC DATA - not a real city</div>' if synthetic else ""
    root.html.add_child(Raw(
        f'<div class="xp-title"><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>{badge}</div>'
    ), name="xp_titleblock")
    if entries:
        Legend(entries).add_to(m)
    _fix_ids(root)
    return root.render()


def _geojson(folium, layer: VectorLayer, data: dict):
    items = _tooltip_items(layer)
    if callable(layer.style):
        def style_function(feature):
            return feature["properties"].get("_style", {})
    else:
        fixed = dict(layer.style)

        def style_function(feature):
            return fixed

    tooltip = None
    if items and data["features"]:
        tooltip = folium.GeoJsonTooltip(fields=[f"f{k}" for k in range(len(items))],
                                        aliases=[html.escape(label) for _, label in items],
                                        labels=True, sticky=True)
    return folium.GeoJson(data, name=html.escape(layer.name), style_function=style_function,
                          tooltip=tooltip, show=layer.show, smooth_factor=1.0)


def write_html(path: str | Path, page: str) -> Path:
    """Write a page as UTF-8 (no newline translation); returns the path."""
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(page)
    return path
