"""The disk cache of built stacks: one folder of memory-mapped ``.npy`` files per catalog and grid."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import shapely

from ..config import Catalog
from ..grid import Grid, row_blocks
from ..stack import Stack
from .sources import sidecars

# Bump when the arrays or their meaning change: old cache files are then ignored.
# 2: a folder of .npy files, opened memory-mapped (was one .npz read whole).
# 3: built strip by strip straight into the folder.
# 4: roads coverage, warnings, places and the new catalog keys.
CACHE_VERSION = 4


def file_stamp(path: Path) -> list:
    """Path, size and mtime_ns of a file and its sidecars (:func:`sidecars`: world
    files, .prj, shapefile parts ...; not the .aux.xml and .ovr files GDAL itself may write).

    Not a sha256: hashing multi-gigabyte GHSL tiles would take longer than
    building the stack; size + mtime_ns changes whenever a file is rewritten.
    """
    try:
        paths = [p for p in sidecars(path) if not p.name.lower().endswith((".aux.xml", ".ovr"))]
    except OSError:  # a missing folder: the stack build reports the missing file
        paths = [path]
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append([str(p), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(p), None, None])
    return out


def cache_path(catalog: Catalog, grid: Grid) -> Path:
    """Where :func:`build_stack` caches the stack for this catalog and grid."""
    entries = []
    for e in catalog.layers:
        keys = {f.name: getattr(e, f.name) for f in dataclasses.fields(e) if f.name != "path_as_written"}
        entries.append({**keys, "path": str(e.path), "files": file_stamp(e.path)})
    text = json.dumps({"version": CACHE_VERSION, "grid": grid.key(), "layers": entries}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    return catalog.folder / ".cache" / f"stack-{digest}"


class Sink:
    """Where the stack's grid arrays go as they are made.

    With a folder (the cache being written) every array is a ``.npy`` file in
    it, memory-mapped: :meth:`new` makes one to be filled strip by strip and
    :meth:`put` saves a finished one and hands back its map, so a large stack
    is paged out to disk as it is built rather than held in memory whole.
    Without a folder both give plain arrays.
    """

    def __init__(self, shape: tuple[int, int], folder: Path | None = None) -> None:
        self.shape, self.folder = shape, folder

    def new(self, name: str, dtype, fill=None) -> np.ndarray:
        """A grid array to fill strip by strip; with ``fill`` None its cells are undefined
        until written (the caller writes them all)."""
        if self.folder is None:
            if fill is None:
                return np.empty(self.shape, dtype=dtype)
            return np.full(self.shape, fill, dtype=dtype)
        path = self.folder / f"{name}.npy"
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=self.shape)
        with open(path, "r+b") as f:  # claim the disk now: a full disk is an OSError, not a SIGBUS later
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
        if fill is not None:
            for r0, r1 in row_blocks(self.shape):
                arr[r0:r1] = fill
        return arr

    def put(self, name: str, arr: np.ndarray) -> np.ndarray:
        if self.folder is None:
            return arr
        path = self.folder / f"{name}.npy"
        if isinstance(arr, np.memmap) and arr.filename is not None and Path(arr.filename) == path:
            arr.flush()
            return arr
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        return np.load(path, mmap_mode="r", allow_pickle=False)


_ARRAYS = ("valid", "water", "water_dist_m", "arterial_dist_m", "road_dist_m", "protected")
_OPTIONAL = ("dem", "slope_pct", "height_above_water_m", "flood", "population", "roads_coverage")


def save_cache(folder: Path, stack: Stack) -> None:
    """Complete the cache folder ``folder`` (being written; renamed into place by
    the caller): one ``.npy`` per array not yet there, the vectors, and ``meta.json`` last.

    Vectors are stored as WKB (concatenated bytes and offsets) with their text
    columns, so the cache loads without pickle.
    """
    arrays = {name: getattr(stack, name) for name in _ARRAYS}
    arrays.update({name: getattr(stack, name) for name in _OPTIONAL if getattr(stack, name) is not None})
    for year, arr in stack.builtup.items():
        arrays[f"builtup_{year}"] = arr
    vec_meta = {}
    for role, gdf in stack.vectors.items():
        wkb = shapely.to_wkb(gdf.geometry.values)
        lengths = np.fromiter((len(b) for b in wkb), dtype="int64", count=len(wkb))
        arrays[f"vec_{role}_wkb"] = np.frombuffer(b"".join(wkb), dtype="uint8")
        arrays[f"vec_{role}_len"] = lengths
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        for c in cols:
            arrays[f"vec_{role}_col_{c}"] = np.asarray(gdf[c].astype(str).to_numpy(), dtype=str)
        vec_meta[role] = cols
    meta = {"version": CACHE_VERSION, "years": sorted(stack.builtup), "vectors": vec_meta,
            "has_roads": stack.has_roads, "has_water": stack.has_water, "arrays": sorted(arrays),
            "warnings": stack.warnings}
    for name, arr in arrays.items():
        if not (folder / f"{name}.npy").exists():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")  # last: marks it complete


def load_cached_stack(path: Path, grid: Grid, name: str, synthetic: bool, sources: dict) -> Stack:
    """The stack cached in the folder ``path``; its grid arrays are read-only
    memory maps of the .npy files (pickled as their paths: see :class:`Stack`)."""
    import geopandas as gpd

    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != CACHE_VERSION:
        raise ValueError("old cache format")

    def load(name: str, mmap: bool = True) -> np.ndarray:
        return np.load(path / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    names = set(meta["arrays"])
    fields = {name: load(name) for name in _ARRAYS}
    fields.update({name: load(name) for name in _OPTIONAL if name in names})
    builtup = {int(y): load(f"builtup_{y}") for y in meta["years"]}
    vectors = {}
    for role, cols in meta["vectors"].items():
        buf = load(f"vec_{role}_wkb", mmap=False).tobytes()
        lengths = load(f"vec_{role}_len", mmap=False)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        geoms = shapely.from_wkb([buf[s:e] for s, e in zip(starts, ends)])
        data = {c: load(f"vec_{role}_col_{c}", mmap=False).astype(object) for c in cols}
        vectors[role] = gpd.GeoDataFrame(data, geometry=geoms, crs=grid.crs)
    for arr in (*fields.values(), *builtup.values()):
        if arr.shape != grid.shape:
            raise ValueError("cached arrays do not match the grid")
    return Stack(grid=grid, name=name, synthetic=synthetic, builtup=builtup, vectors=vectors,
                 sources=sources, has_roads=meta["has_roads"], has_water=meta["has_water"],
                 warnings=meta["warnings"], **fields)
