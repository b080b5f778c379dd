"""Writing results: an atomic run folder, GeoTIFFs, JSON and provenance.

A run writes everything into a hidden temporary folder beside the target and
renames it into place at the end, so an interrupted or failed run leaves no
half-written folder and earlier results stay intact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import ExpansionError, OutputExistsError
from ..grid import STRIP_CELLS

log = logging.getLogger(__name__)


# run.json's mark of a folder this tool wrote: ``written_by`` and the list of the files it wrote.
WRITTEN_BY = "expansion"
MANIFEST = "run.json"
# The files earlier versions wrote into run and backtest folders, before run.json listed them:
# a folder holding only these (and a run.json of this tool) may still be replaced.
LEGACY_FILES = frozenset({
    "index.html", "suitability.html", "risk.html", "expansion.html", "backtest.html", "demand.csv",
    "summary.json", "backtest.json", "run.json", "plan.gpkg", "suitability.tif", "risk.tif",
    "risk_planned.tif", "urbanization_year.tif", "urbanization_year_planned.tif",
    "urbanization_probability.tif", "backtest_map.tif",
}) | {f"{n}.tif.qml" for n in ("suitability", "risk", "risk_planned", "urbanization_year",
                                "urbanization_year_planned", "urbanization_probability", "backtest_map")}
# The mark of an HTML page this tool wrote (``compare --out``).
PAGE_MARK = '<meta name="generator" content="expansion">'


def check_target(out: Path, overwrite: bool, protect: Iterable[Path] = (), option: str = "--out") -> None:
    """Fail early, before any work, if ``out`` cannot be written or must not be replaced.

    ``overwrite`` replaces only a folder this tool wrote (see :func:`replaceable`);
    ``protect`` are the input files (scenario, catalog, layers) whose folders
    must never be replaced; ``option`` names the option to suggest in errors.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is False.
    ExpansionError
        ``out`` is a file, holds anything this tool did not write, is the current,
        home or root folder or holds an input, or its parent cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExpansionError(f"output path {out} is a file, not a folder; choose another {option}")
    if out.exists():
        if not overwrite:
            raise OutputExistsError(
                f"output folder {out} already exists; pass --overwrite to replace it (only a folder "
                f"this tool wrote is replaced) or {option} to choose another"
            )
        replaceable(out, protect, option)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExpansionError(f"cannot create output folder {parent}: {exc.strerror}; "
                             f"choose another {option}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExpansionError(f"output folder {parent} is not writable; choose another {option}")
    # os.access says yes to root everywhere; only making a folder there tells for sure.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=parent))
    except OSError as exc:
        raise ExpansionError(f"cannot write in {parent}: {exc.strerror}; choose another {option}") from None


def protected_folder(folder: Path, protect: Iterable[Path] = ()) -> str | None:
    """Why ``folder`` must never be replaced or emptied (root, home, the current folder or one
    holding it, a folder holding an input file), or None."""
    r = Path(folder).resolve()
    if r == Path(r.anchor):
        return "it is the root folder"
    home = Path.home().resolve()
    if r == home or r in home.parents:
        return "it is the home folder" if r == home else "it holds the home folder"
    cwd = Path.cwd().resolve()
    if r == cwd or r in cwd.parents:
        return "it is the current folder" if r == cwd else "it holds the current folder"
    for p in protect:
        q = Path(p).resolve()
        if r == q or r in q.parents:
            return f"it holds the input {p}"
    return None


def folder_files(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (relative POSIX paths, sorted); folders end in '/'."""
    folder = Path(folder)
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = Path(dirpath).relative_to(folder)
        out += [(rel / d).as_posix() + "/" for d in dirnames]
        out += [(rel / f).as_posix() for f in filenames]
    return sorted(out)


def listing(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def replaceable(out: Path, protect: Iterable[Path] = (), option: str = "--out") -> None:
    """Raise unless ``out`` is a folder this tool wrote and nothing else is in it.

    A folder this tool wrote has a ``run.json`` with ``written_by = "expansion"``
    listing every file in it (or, from versions before that list, holds only the
    files those versions wrote). An empty folder may be replaced too, but never the
    root, home or current folder nor one holding an input file.
    """
    out = Path(out)
    why = protected_folder(out, protect)
    if why:
        raise ExpansionError(f"will not replace {out}: {why}; choose another {option}")
    present = folder_files(out)
    if not present:
        return
    written = _written_files(out)
    if written is None:
        raise ExpansionError(
            f"will not replace {out}: it was not written by expansion (no run.json of this tool) and "
            f"replacing it would delete {len(present)} file(s): {listing(present)}; choose another {option}"
        )
    foreign = [n for n in present if n not in written and not n.endswith("/")]
    foreign += [n for n in present if n.endswith("/") and not any(w.startswith(n) for w in written)]
    if foreign:
        foreign.sort()
        raise ExpansionError(
            f"will not replace {out}: it holds {len(foreign)} file(s) this tool did not write "
            f"({listing(foreign)}) that would be lost; move them or choose another {option}"
        )


def _written_files(folder: Path) -> set[str] | None:
    """The files run.json says this tool wrote in ``folder``; None when it is not this tool's."""
    try:
        info = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    if info.get("written_by") == WRITTEN_BY and isinstance(info.get("files"), list):
        return {str(f) for f in info["files"]}
    if isinstance(info.get("packages"), dict) and "expansion" in info["packages"] and "inputs" in info:
        return set(LEGACY_FILES)  # an earlier version's run.json
    return None


def _sign(folder: Path) -> None:
    """Mark ``folder`` as this tool's: run.json gets ``written_by`` and the list of its files."""
    from .provenance import json_text

    path = folder / MANIFEST
    info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    files = [f for f in folder_files(folder) if not f.endswith("/")]
    info.update(written_by=WRITTEN_BY, files=sorted(set(files) | {MANIFEST}))
    path.write_text(json_text(info), encoding="utf-8")


@contextlib.contextmanager
def atomic_folder(out: Path, overwrite: bool, protect: Iterable[Path] = (), option: str = "--out") \
        -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out``.

    ``out`` is replaced only when this tool wrote it (see :func:`replaceable`),
    checked before and again at the end (files added during the run count).
    The new folder's ``run.json`` lists the files written, so a later run can
    tell it is safe to replace. On any exception (including KeyboardInterrupt)
    the temporary folder is removed and ``out`` is left as it was. A process
    killed outright leaves only a hidden ``.<name>.partial-<pid>`` folder,
    which the next run removes.
    """
    out = Path(out).absolute()
    check_target(out, overwrite, protect, option)
    _remove_stale_partials(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise ExpansionError(f"cannot write in {out.parent}: {exc.strerror}; choose another {option}") \
            from None
    try:
        yield tmp
        _sign(tmp)
        old = None
        if out.exists():
            check_target(out, overwrite, protect, option)  # again: the run may have taken a while
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _disk_full(exc):
            raise ExpansionError(
                f"the disk is full while writing {out}; free some space or choose another {option}"
            ) from None
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise ExpansionError(f"cannot write in {out.parent}: {exc.strerror}; choose another {option}") \
                from None
        raise


def write_page(out: Path, text: str, overwrite: bool, protect: Iterable[Path] = ()) -> None:
    """Write an HTML page atomically, marked as this tool's (:data:`PAGE_MARK` in its head).

    An existing ``out`` is replaced only with ``overwrite`` and only when it is
    a page this tool wrote; anything else is an error and stays untouched.
    """
    out = Path(out)
    if out.is_dir():
        raise ExpansionError(f"{out} is a folder; give a page file to write, like {out / 'compare.html'}")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputExistsError(f"{out} already exists; pass --overwrite to replace it (only a page this "
                                    "tool wrote is replaced) or choose another --out")
        if any(out.resolve() == Path(p).resolve() for p in protect) or not _our_page(out):
            raise ExpansionError(f"will not replace {out}: it is not a page written by expansion and "
                                 "would be lost; choose another --out")
    if "<head>\n" in text and PAGE_MARK not in text:
        text = text.replace("<head>\n", f"<head>\n{PAGE_MARK}\n", 1)
    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExpansionError(f"cannot create folder {out.absolute().parent}: {exc.strerror}; "
                             "choose another --out") from None
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _our_page(path: Path) -> bool:
    """True for a page this tool wrote: it carries :data:`PAGE_MARK` (or, from earlier
    versions, is a comparison page by its title)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return PAGE_MARK in head or (head.startswith("<!DOCTYPE html>") and "<title>Scenario comparison" in head)


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
