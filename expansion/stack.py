"""The aligned layer stack: every input layer on one analysis grid.

A :class:`Stack` is what the stages (demand, suitability, growth, plan, risk,
metrics) read. It is built from a catalog by :func:`expansion.inputs.build_stack`
and cached on disk; stages never read files themselves.

Conventions for every array in a stack:

- shape ``grid.shape``; row 0 is north;
- booleans are ``numpy.bool_``; continuous values are ``float32`` with NaN
  for "no data"; distances are metres (float32) measured with a Euclidean
  distance transform on the grid, and are ``inf``-free: where a layer has no
  features at all the distance is filled with the grid diagonal;
- cells outside ``valid`` carry no meaning and must be ignored.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field, fields

import numpy as np

from .grid import Grid

# Road classes by OpenStreetMap `highway` value. "arterial" roads are the
# regional network that the Making Room grid connects to.
ARTERIAL_HIGHWAYS = ("motorway", "trunk", "primary", "secondary")
ARTERIAL_HIGHWAYS_WITH_LINKS = ARTERIAL_HIGHWAYS + tuple(f"{h}_link" for h in ARTERIAL_HIGHWAYS)

#: Land within this many metres of a roads layer's outermost features counts as covered by it.
ROADS_COVERAGE_BUFFER_M = 500.0


@dataclass
class Stack:
    """All layers of a city on one grid.

    Attributes
    ----------
    grid : the analysis grid.
    name : the city's name, from the catalog.
    synthetic : True when the catalog says its data are synthetic.
    valid : bool, inside the study area (boundary) and with data present.
    builtup : built-up area per observed year (bool arrays), ascending years.
    dem : float32 elevation in metres, NaN for no data; None without a DEM.
    slope_pct : float32 slope in percent (rise / run * 100), from the DEM
        computed in metres; None without a DEM.
    water : bool, open water (rasterized water polygons and lines, plus
        LDSMT water class where present).
    water_dist_m : float32, distance to the nearest water cell in metres.
    height_above_water_m : float32, elevation above the nearest water cell
        (a simple HAND); None without a DEM.
    arterial_dist_m : float32, distance to the nearest arterial road cell
        (highway in ARTERIAL_HIGHWAYS and their links).
    road_dist_m : float32, distance to the nearest road cell of any class.
    protected : bool, protected land (forests, parks, reserves ...).
    flood : bool, mapped flood zones; None without a flood layer.
    population : float32 persons per cell, NaN for no data; None without one.
    vectors : GeoDataFrames in the grid CRS, by role: "boundary" (always),
        and where present "roads" (columns ``highway`` (the class field's
        value), ``road_class`` ("arterial" / "local"), ``name`` when the source
        has one, and ``year`` (text, "" when undated) when any roads layer is
        dated: every roads layer, of every year), "water", "protected", "flood"
        (the latest dated layer and the undated ones) and "places" (points
        with ``name`` and ``place``).
    sources : the files each role was read from (for provenance).
    has_roads, has_water : whether those layers were present in the catalog.
    roads_coverage : bool, where the roads layers have data (the bounding box of
        each layer's features plus :data:`ROADS_COVERAGE_BUFFER_M`); land
        outside it is *unknown*, not far from any road. None without roads.
    warnings : plain-language caveats about the layers (partial or class-less
        roads, suspicious DEM or built-up epochs, multi-band rasters ...), for
        ``summary.json``.

    A grid array memory-mapped read-only from a ``.npy`` file (a cached
    stack's: stages never write into the stack) is pickled as that file's
    path, and mapped again when unpickled: a stack sent to Dask workers
    carries no copy of its grids, and workers on one machine share the pages.
    """

    grid: Grid
    name: str
    synthetic: bool
    valid: np.ndarray
    builtup: dict[int, np.ndarray]
    water: np.ndarray
    water_dist_m: np.ndarray
    arterial_dist_m: np.ndarray
    road_dist_m: np.ndarray
    protected: np.ndarray
    dem: np.ndarray | None = None
    slope_pct: np.ndarray | None = None
    height_above_water_m: np.ndarray | None = None
    flood: np.ndarray | None = None
    population: np.ndarray | None = None
    vectors: dict = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)
    has_roads: bool = False
    has_water: bool = False
    roads_coverage: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def __reduce_ex__(self, protocol):
        state = {f.name: _by_path(getattr(self, f.name)) for f in fields(self)}
        return _unpickle_stack, (state,)

    @property
    def years(self) -> list[int]:
        """Observed built-up years, ascending."""
        return sorted(self.builtup)

    def builtup_at(self, year: int) -> np.ndarray:
        """Built-up (bool) at an observed year; KeyError if not observed."""
        return self.builtup[year]

    @property
    def roads(self):
        """The roads (GeoDataFrame in the grid CRS, see ``vectors``), or None without a roads layer."""
        return self.vectors.get("roads")

    @property
    def places(self):
        """Named places (GeoDataFrame of points with ``name`` and ``place``), or None."""
        return self.vectors.get("places")

    @places.setter
    def places(self, gdf) -> None:
        if gdf is None:
            self.vectors.pop("places", None)
        else:
            self.vectors["places"] = gdf

    def roads_as_of(self, year: int):
        """The roads known in ``year`` (GeoDataFrame), or None without a roads layer.

        Each dated roads layer (``year`` in the catalog) is the network as of its
        year: the roads as of ``year`` are those of the latest layer dated
        ``year`` or earlier, plus the undated layers (taken to exist in every
        year). Without any dated layer this is every road; with dated layers
        but none as old as ``year``, only the undated ones (possibly none).
        A backtest from a base year uses this to leave out later roads.
        """
        roads = self.roads
        if roads is None or "year" not in roads.columns:
            return roads
        dated = roads["year"].to_numpy(dtype=str)
        years = sorted({int(y) for y in dated if y and int(y) <= year})
        keep = (dated == "") | (dated == (str(years[-1]) if years else "none"))
        return roads[keep].reset_index(drop=True)

    def road_distances_as_of(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """(arterial_dist_m, road_dist_m) from :meth:`roads_as_of` ``year``: float32
        metres on the grid, as the stack's own (the grid diagonal where there is no road)."""
        from .grid import distance_m, rasterize

        roads = self.roads_as_of(year)
        if roads is None or "year" not in roads.columns:
            return self.arterial_dist_m, self.road_dist_m
        geoms = roads.geometry.values
        arterial = geoms[roads["road_class"].to_numpy() == "arterial"]
        return (distance_m(rasterize(arterial, self.grid), self.grid.res),
                distance_m(rasterize(geoms, self.grid), self.grid.res))

    def builtup_ha(self, year: int) -> float:
        """Built-up hectares inside the study area at an observed year."""
        return float(np.count_nonzero(self.builtup[year] & self.valid)) * self.grid.cell_area_ha


@dataclass(frozen=True)
class _MappedFile:
    """A memory-mapped ``.npy`` array, pickled as its path."""

    path: str


def _by_path(value):
    if isinstance(value, dict):
        return {k: _by_path(v) for k, v in value.items()}
    if isinstance(value, np.memmap) and isinstance(value.base, mmap.mmap) and value.mode == "r":
        return _MappedFile(str(value.filename))
    return value


def _mapped(value):
    if isinstance(value, dict):
        return {k: _mapped(v) for k, v in value.items()}
    if isinstance(value, _MappedFile):
        return np.load(value.path, mmap_mode="r", allow_pickle=False)
    return value


def _unpickle_stack(state: dict) -> Stack:
    return Stack(**{k: _mapped(v) for k, v in state.items()})
