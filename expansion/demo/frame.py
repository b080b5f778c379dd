"""The demo region's grid and the raster helpers the other demo modules share.

Cells are 30 m (:data:`RES_M`) in UTM zone 37N (:data:`CRS_UTM`); the terrain is made on the
grid padded by :data:`PAD_CELLS` on every side. Distances are in metres.

The study-area boundary is burned with :func:`expansion.grid.rasterize` on :attr:`Frame.grid`.
The other helpers stay the demo's own because the shared ones would change the committed
demo bytes: ``edt_m`` is SciPy's exact transform in float64 (``grid.distance_m``, the ``edt``
package in float32, changes ``dem.tif``: tried), ``rasterize_region`` burns polygons with
``all_touched`` (``grid.rasterize`` never does for polygons), ``burn_lines`` samples lines
every 10 m (``grid.rasterize`` burns every touched cell, a different set) and ``chamfer_m``
is the octagonal chamfer distance the demo's growth was tuned with (no shared counterpart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from scipy import ndimage

from ..grid import Grid

CRS_UTM = "EPSG:32637"


CENTRE_LONLAT = (39.27, 8.54)


RES_M = 30.0


BASE_SIZE = 834  # cells per side that the area targets below refer to


TARGET_KM2 = {1995: 16.0, 2005: 24.0, 2020: 35.0}


POPULATION_2020 = 350_000.0


PAD_CELLS = 40  # the DEM covers the region plus this many cells on each side


YEARS = (1995, 2005, 2020)


@dataclass(frozen=True)
class Frame:
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
    def grid(self) -> Grid:
        """The region's grid as :class:`expansion.grid.Grid`."""
        return Grid(crs=CRS_UTM, left=self.left, top=self.top, res=RES_M, width=self.size, height=self.size)

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


def edt_m(mask: np.ndarray) -> np.ndarray:
    """Distance in metres (float32) from each True cell of ``mask`` to the nearest False cell."""
    if mask.all():
        return np.full(mask.shape, np.hypot(*mask.shape) * RES_M, np.float32)
    return ndimage.distance_transform_edt(mask, sampling=RES_M).astype(np.float32)


def chamfer_m(mask: np.ndarray) -> np.ndarray:
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


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_cells: float) -> np.ndarray:
    """Smooth Gaussian noise (float32, sd about 1) with features of ``scale_cells`` cells.

    Made on a coarse grid and upsampled, so the cost does not grow with the scale."""
    f = max(1, int(scale_cells // 2))
    c = rng.standard_normal((shape[0] // f + 5, shape[1] // f + 5)).astype(np.float32)
    c = ndimage.gaussian_filter(c, sigma=2.0 if f > 1 else float(scale_cells), mode="wrap")
    c /= max(float(c.std()), 1e-6)
    out = _upsample(c, shape, f)
    return out / max(float(out[::7, ::7].std()), 1e-6)


def unit_coords(frame: Frame, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit coordinates (u east, v north) of cell centres of the padded grid, as 1-D arrays."""
    n = frame.size + 2 * pad
    u = ((np.arange(n) - pad + 0.5) / frame.size - 0.5).astype(np.float32)
    return u, -u


def rasterize_region(geoms: list, frame: Frame, all_touched: bool = False) -> np.ndarray:
    from rasterio import features

    return features.rasterize([(g, 1) for g in geoms], out_shape=(frame.size, frame.size),
                              transform=frame.transform, fill=0, all_touched=all_touched,
                              dtype="uint8").astype(bool)


def burn_lines(lines: list, frame: Frame) -> np.ndarray:
    """Cells that lines pass through (dense sampling at 10 m), on the region grid."""
    mask = np.zeros((frame.size, frame.size), bool)
    pts = [densify(line, 10.0) for line in lines]
    if not pts:
        return mask
    xy = np.concatenate(pts)
    r, c = frame.rowcol(xy[:, 0], xy[:, 1])
    ok = (r >= 0) & (r < frame.size) & (c >= 0) & (c < frame.size)
    mask[r[ok], c[ok]] = True
    return mask


def densify(line, step_m: float) -> np.ndarray:
    """The line's vertices plus points at most ``step_m`` metres apart, as an (n, 2) array."""
    import shapely

    return shapely.get_coordinates(shapely.segmentize(line, step_m))


def slope_pct(dem: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(dem, RES_M)
    return (np.hypot(gx, gy) * 100).astype(np.float32)
