"""Writing results: an atomic run folder, GeoTIFFs, JSON and provenance.

A run writes everything into a hidden temporary folder beside the target and
renames it into place at the end, so an interrupted or failed run leaves no
half-written folder and earlier results stay intact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from .errors import ExpansionError, OutputExistsError
from .grid import STRIP_CELLS, Grid

log = logging.getLogger(__name__)


def check_target(out: Path, overwrite: bool) -> None:
    """Fail early, before any work, if ``out`` cannot be written.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is False.
    ExpansionError
        ``out`` is a file, or its parent cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExpansionError(f"output path {out} is a file, not a folder; choose another --out")
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {out} already exists; pass --overwrite to replace it or --out to choose another"
        )
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExpansionError(f"cannot create output folder {parent}: {exc.strerror}; "
                             "choose another --out") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExpansionError(f"output folder {parent} is not writable; choose another --out")
    # os.access says yes to root everywhere; only making a folder there tells for sure.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=parent))
    except OSError as exc:
        raise ExpansionError(f"cannot write in {parent}: {exc.strerror}; choose another --out") from None


@contextlib.contextmanager
def atomic_folder(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out``.

    On any exception (including KeyboardInterrupt) the temporary folder is
    removed and ``out`` is left as it was. A process killed outright leaves
    only a hidden ``.<name>.partial-<pid>`` folder, which the next run removes.
    """
    out = Path(out).absolute()
    check_target(out, overwrite)
    _remove_stale_partials(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise ExpansionError(f"cannot write in {out.parent}: {exc.strerror}; choose another --out") from None
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _disk_full(exc):
            raise ExpansionError(
                f"the disk is full while writing {out}; free some space or choose another --out"
            ) from None
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise ExpansionError(f"cannot write in {out.parent}: {exc.strerror}; choose another --out") \
                from None
        raise


class Spill:
    """Keeps a run's finished grids in files rather than in memory, on large grids.

    ``spill(x)`` returns ``x`` with every 2-D array of at least ``min_cells``
    cells in it (``x`` itself, a dataclass's fields or a dict's values) saved
    to a ``.npy`` file in ``folder`` and opened memory-mapped, read-only. Those
    pages are then the kernel's to write out, drop and read back, and the
    run's own memory holds little more than the stage at work. Without a
    folder, ``spill`` gives ``x`` back unchanged. The values are the same
    either way, so the outputs are too.
    """

    def __init__(self, folder: Path | None = None, min_cells: int = STRIP_CELLS) -> None:
        self.folder, self.min_cells = folder, min_cells
        self._count = 0

    def __call__(self, x):
        if self.folder is None:
            return x
        if isinstance(x, np.ndarray):
            if x.ndim != 2 or x.size < self.min_cells or isinstance(x, np.memmap):
                return x
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self._count:04d}.npy"
            self._count += 1
            np.save(path, x, allow_pickle=False)
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if isinstance(x, dict):
            return {k: self(v) for k, v in x.items()}
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return dataclasses.replace(x, **{f.name: self(getattr(x, f.name))
                                             for f in dataclasses.fields(x) if f.init})
        return x

    def close(self) -> None:
        """Remove the folder (the maps stay readable until they are dropped)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _disk_full(exc: BaseException) -> bool:
    """True for a full disk: ENOSPC, or a GDAL/SQLite error that says so (they carry no errno)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc).lower()
    return isinstance(exc, Exception) and ("no space left on device" in text or "disk is full" in text)


def _remove_stale_partials(out: Path) -> None:
    """Remove partial folders left by killed runs whose process is gone."""
    for p in out.parent.glob(f".{out.name}.partial-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- rasters

GTIFF_OPTIONS = {"compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256}
#: Rows written at once (a multiple of the tile height) and GDAL's block cache in MB while writing.
WRITE_ROWS = 4 * GTIFF_OPTIONS["blockysize"]
GDAL_CACHE_MB = 64


def write_geotiff(
    path: Path,
    array: np.ndarray,
    grid: Grid,
    nodata: float | int | None,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
    description: str | None = None,
    overviews: bool = True,
    categorical: bool = False,
) -> None:
    """Write one band on ``grid`` as a tiled, DEFLATE-compressed GeoTIFF.

    Internal overviews (2, 4, 8, 16 ...) are built so QGIS draws it fast:
    nearest for ``categorical`` data, average otherwise. Same array, same
    bytes: GDAL writes no timestamp into a GeoTIFF.

    Written a band of ``WRITE_ROWS`` rows at a time with a ``GDAL_CACHE_MB``
    block cache, so the memory it needs does not grow with the grid.
    """
    if array.shape != grid.shape:
        raise ValueError(f"array shape {array.shape} != grid shape {grid.shape}")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": grid.pyproj_crs.to_wkt(),
        "transform": grid.transform,
        "nodata": nodata,
        **GTIFF_OPTIONS,
    }
    if array.dtype.kind == "f":
        profile["predictor"] = 3
    elif array.dtype.kind in "iu" and array.dtype.itemsize > 1:
        profile["predictor"] = 2
    if grid.width < 256 or grid.height < 256:
        profile.pop("blockxsize")
        profile.pop("blockysize")
        profile["tiled"] = False
    _check_space(Path(path), int(array.nbytes * 1.4) + (1 << 20))
    # GDAL's block cache (5 % of RAM by default) would keep every tile written and read for the
    # overviews; a small one bounds the memory on large grids and gives the same bytes.
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(path, "w", **profile) as dst:
        # Whole rows of tiles at a time: rasterio copies what it writes, so this bounds the copy, and
        # the tiles are complete when written, in the same order, so the file is the same.
        step = WRITE_ROWS if profile["tiled"] else grid.height
        for r0 in range(0, grid.height, step):
            r1 = min(grid.height, r0 + step)
            dst.write(array[r0:r1], 1, window=Window(0, r0, grid.width, r1 - r0))
        if description:
            dst.set_band_description(1, description)
        if colormap:
            dst.write_colormap(1, colormap)
        if overviews:
            factors = [f for f in (2, 4, 8, 16, 32) if min(grid.shape) // f >= 64]
            if factors:
                dst.build_overviews(factors, Resampling.nearest if categorical else Resampling.average)
                dst.update_tags(ns="rio_overview", resampling="nearest" if categorical else "average")


def _check_space(path: Path, need: int) -> None:
    """Raise OSError(ENOSPC) unless ``need`` bytes are free where ``path`` goes.

    GDAL's GeoTIFF writer (libtiff) can crash the process outright when the disk
    fills up in the middle of a file, so a GeoTIFF is written only when its
    uncompressed size with overviews (an upper bound) fits.
    """
    free = shutil.disk_usage(path.parent).free
    if free < need:
        raise OSError(errno.ENOSPC, f"No space left on device ({free / 1e6:.1f} MB free, "
                      f"{need / 1e6:.1f} MB needed)", str(path))


# ---------------------------------------------------------------- JSON, provenance


def _clean(obj):
    """Make ``obj`` JSON-safe: numpy scalars to Python, NaN/inf to None, floats rounded."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        return float(f"{obj:.10g}")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def json_text(obj) -> str:
    """Stable JSON: sorted keys, 2-space indent, NaN as null, 10 significant digits."""
    return json.dumps(_clean(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json_text(obj), encoding="utf-8")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def input_files(paths: list[Path]) -> list[dict]:
    """Each input file with its size and sha256 (shapefile sidecars included)."""
    rows = []
    seen = set()
    for p in paths:
        p = Path(p)
        group = [p]
        if p.suffix.lower() == ".shp":
            group += sorted(q for q in p.parent.glob(p.stem + ".*") if q != p)
        for q in group:
            if q in seen or not q.is_file():
                continue
            seen.add(q)
            rows.append({"path": str(q), "bytes": q.stat().st_size, "sha256": sha256_file(q)})
    return rows


PACKAGES = ("expansion", "numpy", "scipy", "rasterio", "pyproj", "shapely", "geopandas",
            "pyogrio", "scikit-learn", "folium", "click")


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "gdal": rasterio.__gdal_version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
