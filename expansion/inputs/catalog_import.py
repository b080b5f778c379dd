"""Importing a layer into a catalog (``expansion layers import``).

:func:`import_layer` validates a file as ``layers check`` would, copies it
beside the catalog and appends a ``[[layers]]`` entry to ``layers.toml``
without touching the rest of the file.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

from ..config import ENCODINGS, ROLES, Catalog, CatalogLayer, check_layer_keys, load_catalog
from ..errors import ConfigError, DataError, ExpansionError
from .catalog_check import inspect_layer, strip_label, study_for_check
from .encodings import LDSMT_EPOCHS
from .sources import sidecars
from .vectors import study_area

log = logging.getLogger(__name__)

#: Notes of ``layers check`` that only describe a layer (not repeated as warnings at import).
_INFO_NOTES = re.compile(r"^(\d+ % of its cells are in|first built )")

#: Catalog keys that ``import_layer`` writes, in this order, after role and path.
IMPORT_KEYS = ("year", "encoding", "values", "years", "threshold", "class_field", "arterial_values", "layer",
               "band", "nodata")


def _toml_value(value) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _toml_entry(role: str, path: str, keys: dict) -> str:
    lines = ["", "[[layers]]", f"role = {json.dumps(role)}", f"path = {json.dumps(path, ensure_ascii=False)}"]
    lines += [f"{k} = {_toml_value(keys[k])}" for k in IMPORT_KEYS if keys.get(k) is not None]
    return "\n".join(lines) + "\n"


def import_layer(catalog_path: Path, role: str, file: Path, year: int | None = None,
                 encoding: str | None = None, **keys) -> CatalogLayer:
    """Validate ``file``, copy it (and its sidecars) beside the catalog and add a ``[[layers]]`` entry.

    What ``layers check`` would note about the file (no arterial road by ``class_field``,
    a DEM that does not look like elevation, partial cover...) is logged as a warning. The
    file is opened, must have a CRS, be a raster for raster roles and a
    vector for vector roles, and overlap the study area when the catalog has a
    boundary. It is copied into the catalog's folder (a shapefile with all its
    sidecar files) unless it is already inside it; an existing different file
    is never overwritten; sidecar files (see :func:`sidecars`) are copied with
    it. The entry is appended to ``layers.toml`` as text (the
    user's comments and layout stay), written atomically. A catalog that does
    not exist yet is created, and its first layer must be the boundary.

    Parameters
    ----------
    catalog_path : the ``layers.toml`` (or its folder).
    role : one of :data:`expansion.config.ROLES`.
    file : the layer file (any CRS).
    year : the year of a built-up layer (not for ``ghsl-ldsmt`` or ``year``), or the
        year a roads, water or protected layer shows.
    encoding : built-up encoding; ``binary`` by default.
    keys : any other catalog key (:data:`IMPORT_KEYS`): ``values``, ``years``,
        ``threshold``, ``class_field``, ``arterial_values``, ``layer``, ``band``,
        ``nodata``; None leaves a key out.

    Returns
    -------
    CatalogLayer, the new entry as the catalog now reads it.
    """
    catalog_path = Path(catalog_path)
    if catalog_path.is_dir() or (not catalog_path.suffix and not catalog_path.exists()):
        catalog_path = catalog_path / "layers.toml"
    folder = catalog_path.parent
    file = Path(file)
    if role not in ROLES:
        raise ConfigError(f"unknown role '{role}'; valid roles are: {', '.join(ROLES)}")
    unknown = sorted(set(keys) - set(IMPORT_KEYS))
    if unknown:
        raise ConfigError(f"unknown catalog key '{unknown[0]}'; valid keys are: {', '.join(IMPORT_KEYS)}")
    keys = {k: (tuple(v) if isinstance(v, list) else v) for k, v in keys.items() if v is not None}
    if role == "builtup":
        encoding = encoding or "binary"
        if encoding not in ENCODINGS:
            raise ConfigError(f"unknown encoding '{encoding}'; valid encodings are: {', '.join(ENCODINGS)}")
        if encoding in ("ghsl-ldsmt", "year") and year is not None:
            epochs = ", ".join(map(str, LDSMT_EPOCHS)) if encoding == "ghsl-ldsmt" else "--years"
            raise ConfigError(f"{file}: a {encoding} layer carries its own epochs ({epochs}); "
                              "leave out --year")
        if encoding not in ("ghsl-ldsmt", "year") and year is None:
            raise ConfigError(f"{file}: a {encoding} built-up layer needs --year")
    elif encoding is not None:
        raise ConfigError(f"--encoding applies only to builtup layers, not '{role}'")
    try:
        probe = check_layer_keys(CatalogLayer(role=role, path=Path(file).resolve(), path_as_written=str(file),
                                              year=year, encoding=encoding, **keys), str(file))
    except ConfigError as exc:  # name the options, not the catalog keys
        raise ConfigError(re.sub(r"'([a-z_]+)'", lambda m: "--" + m.group(1).replace("_", "-")
                                 if m.group(1) in IMPORT_KEYS else m.group(0), str(exc))) from None

    # The catalog as it is now: has it a boundary (for the overlap check)?
    catalog = None
    if catalog_path.exists():
        try:
            data = tomllib.loads(catalog_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{catalog_path}: cannot be read as TOML ({exc})") from None
        entries = data.get("layers", []) if isinstance(data.get("layers", []), list) else []
        if any(isinstance(e, dict) and e.get("role") == "boundary" for e in entries):
            catalog = load_catalog(catalog_path)
    if catalog is None and role != "boundary":
        raise DataError(
            f"{catalog_path}: has no boundary yet; import the study area boundary first "
            f"(`expansion layers import {catalog_path} --role boundary FILE`)"
        )

    # Validate the file where it is now.
    source = probe
    study, study_crs = None, None
    if catalog is not None:
        study, study_crs, _ = study_for_check(catalog)
    row = inspect_layer(source, study, study_crs)
    if role == "boundary" and not row["problems"]:
        try:
            study_area(Catalog(name="import", path=catalog_path, synthetic=False, layers=(source,)))
        except ExpansionError as exc:
            row["problems"].append(strip_label(exc, source))
    if row["problems"]:
        raise DataError(f"{file}: {row['problems'][0]}")

    # Where it goes.
    folder_abs = folder.resolve()
    src_abs = file.resolve()
    inside = folder_abs == src_abs.parent or folder_abs in src_abs.parents
    rel = src_abs.relative_to(folder_abs).as_posix() if inside else file.name
    dest = folder_abs / rel
    if catalog is not None:
        for i, e in enumerate(catalog.layers, start=1):
            if e.path == dest and e.role == role and e.year == year:
                raise DataError(f"{file}: already in {catalog_path} as [[layers]] #{i} "
                                f"(role {role}, path {e.path_as_written})")
    copies = []
    if not inside:
        for src in sidecars(src_abs):
            target = folder_abs / src.name
            if target.exists():
                if target.is_file() and filecmp.cmp(src, target, shallow=False):
                    continue  # the same file is already there
                raise DataError(f"{target}: already exists and differs from {src}; rename the file to "
                                "import, or remove the old one (and its catalog entry)")
            copies.append((src, target))

    # Build the new catalog text and check it loads before touching anything.
    if catalog_path.exists():
        text = catalog_path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
    else:
        text = f"name = {json.dumps(folder_abs.name, ensure_ascii=False)}\n"
    text += _toml_entry(role, rel, {**keys, "year": year, "encoding": probe.encoding})

    folder_abs.mkdir(parents=True, exist_ok=True)
    for src, target in copies:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder_abs)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)  # not copy2: a read-only source should not give a read-only copy
            st = src.stat()
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    fd, tmp = tempfile.mkstemp(prefix=".layers.", suffix=".toml", dir=folder_abs)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if catalog_path.exists():
            shutil.copymode(catalog_path, tmp)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            load_catalog(tmp)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(tmp, str(catalog_path))) from None
        os.replace(tmp, folder_abs / catalog_path.name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for note in row["notes"]:  # what `layers check` would note (no arterial road, a DEM that is not one...)
        if not _INFO_NOTES.match(note):
            log.warning("%s: %s", file.name, note)
    return load_catalog(folder_abs / catalog_path.name).layers[-1]
