"""Stable JSON, input files with their sha256, and the versions of the packages a run used."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import rasterio


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
