"""Writing results: an atomic run folder, GeoTIFFs, JSON and provenance.

A run writes everything into a hidden temporary folder beside the target and
renames it into place at the end, so an interrupted or failed run leaves no
half-written folder and earlier results stay intact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ExpansionError, OutputExistsError
from ..grid import STRIP_CELLS

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
