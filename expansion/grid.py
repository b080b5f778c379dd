"""The analysis grid: one CRS, one transform, one shape for every layer.

Every array the pipeline handles lies on one :class:`Grid`: row 0 is the
northern edge, cells are square, sizes and distances are metres in a projected
CRS (a local UTM zone unless the scenario names another CRS).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from .errors import ConfigError, DataError

#: Cells in one row strip of :meth:`Grid.strips` (4 Mi cells: 16 MB as float32).
STRIP_CELLS = 1 << 22


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in a projected CRS.

    Parameters
    ----------
    crs : str
        The CRS as WKT or an authority string (``"EPSG:32637"``); must be
        projected with metre units.
    left, top : float
        Coordinates of the grid's upper-left corner, in the CRS's metres.
    res : float
        Cell size in metres.
    width, height : int
        Number of columns and rows.
    """

    crs: str
    left: float
    top: float
    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """The affine transform from (col, row) to (x, y), rasterio style."""
        return Affine(self.res, 0.0, self.left, 0.0, -self.res, self.top)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        return (
            self.left,
            self.top - self.height * self.res,
            self.left + self.width * self.res,
            self.top,
        )

    @property
    def cell_area_m2(self) -> float:
        return self.res * self.res

    @property
    def cell_area_ha(self) -> float:
        return self.res * self.res / 10_000.0

    @property
    def pyproj_crs(self) -> CRS:
        return CRS.from_user_input(self.crs)

    @property
    def cells(self) -> int:
        return self.width * self.height

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre x of each column and centre y of each row, in metres."""
        xs = self.left + (np.arange(self.width) + 0.5) * self.res
        ys = self.top - (np.arange(self.height) + 0.5) * self.res
        return xs, ys

    def strips(self, max_cells: int | None = None) -> Iterator[tuple[int, int, Grid]]:
        """Blocks of whole rows of at most ``max_cells`` cells (at least one row):
        ``(row0, row1, sub_grid)``, north to south. Large rasters are read, warped
        and derived strip by strip so that no stage holds a whole-grid temporary."""
        for r0, r1 in row_blocks(self.shape, max_cells):
            yield r0, r1, replace(self, top=self.top - r0 * self.res, height=r1 - r0)

    def key(self) -> str:
        """A short stable text that identifies the grid (for cache keys)."""
        return (
            f"{self.pyproj_crs.to_wkt()}|{self.left:.3f}|{self.top:.3f}|"
            f"{self.res:.6f}|{self.width}|{self.height}"
        )

    @classmethod
    def around(
        cls,
        bounds: tuple[float, float, float, float],
        crs: str,
        res: float,
        margin_m: float = 0.0,
        origin: tuple[float, float] = (0.0, 0.0),
    ) -> Grid:
        """The grid that covers ``bounds`` (in ``crs``) plus a margin.

        The cell edges are snapped to ``origin`` plus multiples of ``res`` (by
        default multiples of ``res``), so that grids made for the same place
        line up, and a grid snapped to a raster's corner lines up with its cells.

        Parameters
        ----------
        bounds : (left, bottom, right, top) in metres, in ``crs``.
        crs : a projected CRS with metre units.
        res : cell size in metres.
        margin_m : extra land around the bounds, in metres.
        origin : (x, y) in ``crs``, a point on the cell edges.
        """
        check_projected(crs, what="the analysis grid")
        if not (res > 0 and math.isfinite(res)):
            raise ConfigError(f"resolution_m must be a positive number of metres, got {res}")
        left, bottom, right, top = bounds
        ox, oy = origin
        left = ox + math.floor((left - margin_m - ox) / res) * res
        top = oy + math.ceil((top + margin_m - oy) / res) * res
        right = ox + math.ceil((right + margin_m - ox) / res) * res
        bottom = oy + math.floor((bottom - margin_m - oy) / res) * res
        width = max(1, int(round((right - left) / res)))
        height = max(1, int(round((top - bottom) / res)))
        return cls(crs=CRS.from_user_input(crs).to_string(), left=left, top=top,
                   res=float(res), width=width, height=height)


def row_blocks(shape: tuple[int, int], max_cells: int | None = None) -> Iterator[tuple[int, int]]:
    """``(row0, row1)`` blocks of whole rows of an array of ``shape``, each of at
    most ``max_cells`` cells (default :data:`STRIP_CELLS`; at least one row)."""
    height, width = shape
    rows = max(1, (STRIP_CELLS if max_cells is None else max_cells) // max(width, 1))
    for r0 in range(0, height, rows):
        yield r0, min(height, r0 + rows)


def row_slices(shape: tuple[int, int], max_cells: int | None = None) -> Iterator[slice]:
    """:func:`row_blocks` as slices, for ``array[block]``."""
    return (slice(r0, r1) for r0, r1 in row_blocks(shape, max_cells))


def distance_m(mask: np.ndarray, res: float) -> np.ndarray:
    """Euclidean distance in metres (float32) from each cell to the nearest True cell of ``mask``.

    ``res`` is the cell size in metres. Where ``mask`` has no True cell at all,
    every cell gets the grid's diagonal (the stack convention: no ``inf``).

    Computed with the ``edt`` package (exact, separable, float32 throughout):
    about 5 bytes a cell and a tenth of the time of ``scipy.ndimage``'s
    transform, which needs about 30 bytes a cell (index arrays and float64).
    """
    import edt

    if not mask.any():
        return np.full(mask.shape, math.hypot(mask.shape[0] * res, mask.shape[1] * res), np.float32)
    return edt.edt(np.logical_not(mask), anisotropy=(res, res), black_border=False, parallel=1)


def rasterize(geoms, grid: Grid) -> np.ndarray:
    """Burn geometries (in the grid CRS) into a bool array on ``grid``.

    Lines and points burn every cell they touch (``all_touched=True``);
    polygons burn the cells whose centre is inside them.
    """
    from rasterio.features import rasterize as rio_rasterize

    out = np.zeros(grid.shape, dtype=bool)
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return out
    parts = shapely.get_parts(geoms)
    parts = parts[~shapely.is_empty(parts)]
    kinds = shapely.get_type_id(parts)
    areal = np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    for sel, touched in ((~areal, True), (areal, False)):
        if sel.any():
            burned = rio_rasterize(((g, 1) for g in parts[sel]), out_shape=grid.shape,
                                   transform=grid.transform, fill=0, all_touched=touched, dtype="uint8")
            out |= burned.astype(bool)
    return out


def shapes(values: np.ndarray, grid: Grid, mask: np.ndarray | None = None):
    """``(polygon, value)`` for every 4-connected patch of equal ``values`` (uint8,
    int16, int32 or float32) where ``mask`` is True, polygons in the grid CRS
    (shapely geometries; cell edges as vertices), in raster scan order."""
    from rasterio import features

    for geom, value in features.shapes(values, mask=mask, transform=grid.transform):
        yield shapely.geometry.shape(geom), value


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone CRS (``"EPSG:326NN"`` or ``"EPSG:327NN"``) for a point.

    Parameters
    ----------
    lon, lat : degrees (EPSG:4326).
    """
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def check_projected(crs, what: str) -> CRS:
    """Raise unless ``crs`` is projected with metre units; return it as a pyproj CRS."""
    try:
        c = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError with a long message
        raise ConfigError(f"{what}: '{crs}' is not a CRS that pyproj knows ({exc})") from None
    if not c.is_projected:
        raise ConfigError(
            f"{what}: CRS {c.to_string()} is geographic (degrees); "
            "areas and distances need a projected CRS in metres, e.g. a UTM zone"
        )
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if unit not in ("metre", "meter", "m"):
        raise ConfigError(f"{what}: CRS {c.to_string()} has units '{unit}'; use a CRS in metres")
    return c


def require_crs(crs, source: str) -> None:
    """Raise a DataError naming ``source`` when it carries no CRS."""
    if crs is None:
        raise DataError(
            f"{source}: has no coordinate reference system; set one (e.g. in QGIS: "
            "Layer > Set CRS, or `gdal_edit.py -a_srs EPSG:XXXX`) and try again"
        )
