"""``expansion compare``: several run folders side by side, against a baseline."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import ExpansionError
from ..outputs.folder import write_page

log = logging.getLogger(__name__)

#: plan.gpkg layers the comparison map reads.
PLAN_LAYERS = ("expansion_area", "arterials")


def _plan_layers(folder: Path) -> dict:
    """The expansion area and arterials of a run's plan.gpkg ({} when absent or unreadable)."""
    path = folder / "plan.gpkg"
    if not path.is_file():
        return {}
    import geopandas as gpd
    import pyogrio

    try:
        names = {name for name, _ in pyogrio.list_layers(path)}
        return {layer: gpd.read_file(path, layer=layer) for layer in PLAN_LAYERS if layer in names}
    except Exception as exc:  # noqa: BLE001 - a damaged plan only costs the map, not the comparison
        log.warning("%s: plan.gpkg is unreadable (%s); the comparison map leaves this run out", folder, exc)
        return {}


def read_run(folder: Path) -> dict:
    """A run folder's summary.json plus its demand rows (``demand``), the scenario's
    parameters from run.json (``parameters``, {} when absent), its plan's expansion
    area and arterials (``plan_layers``) and the folder (``folder``)."""
    import csv
    import json

    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not folder.is_dir():
        raise ExpansionError(f"{folder} is not a folder; give run folders written by `expansion run`")
    if not summary_path.is_file():
        raise ExpansionError(f"{folder} is not a run folder: it has no summary.json "
                             "(was the run finished with `expansion run`?)")
    try:
        run = json.loads(summary_path.read_text(encoding="utf-8"))
        with open(folder / "demand.csv", newline="", encoding="utf-8") as f:
            run["demand"] = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except (json.JSONDecodeError, ValueError, OSError) as exc:
        raise ExpansionError(f"{folder}: summary.json or demand.csv is unreadable ({exc}); "
                             "run the scenario again") from None
    try:
        provenance = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        provenance = {}
    params = provenance.get("parameters") if isinstance(provenance, dict) else None
    run["parameters"] = params if isinstance(params, dict) else {}
    run["plan_layers"] = _plan_layers(folder)
    run["folder"] = str(folder)
    return run


def order_with_baseline(folders: list[Path], baseline: Path | None) -> list[Path]:
    """The run folders with the baseline first (added when it is not among them)."""
    folders = [Path(f) for f in folders]
    if baseline is None:
        return folders
    key = Path(baseline).resolve()
    rest = [f for f in folders if f.resolve() != key]
    return [Path(baseline), *rest]


def compare_runs(folders: list[Path], out: Path | None = None, overwrite: bool = False,
                 baseline: Path | None = None) -> str:
    """The comparison table of several run folders; with ``out``, also an HTML page there
    (an existing page is replaced only with ``overwrite`` and only when this tool wrote it).

    With ``baseline`` (one of the run folders, or another one, which is then added) the
    baseline comes first and every other run is shown with its differences from it.
    """
    from ..outputs.web import compare_page, compare_table
    from ..outputs.web.compare import mismatch

    folders = order_with_baseline(folders, baseline)
    runs = [read_run(f) for f in folders]
    if why := mismatch(runs):
        log.warning(why)
    if out is not None:
        out = Path(out)
        for run in runs:  # links from the page to each run's pages, relative to where the page is
            run["href"] = os.path.relpath(Path(run["folder"]).absolute() / "index.html",
                                          out.absolute().parent).replace(os.sep, "/")
        page = compare_page(runs, baseline=0 if baseline is not None else None)
        write_page(out, page, overwrite,
                   protect=[Path(f) / n for f in folders for n in ("summary.json", "demand.csv")])
    return compare_table(runs, baseline=0 if baseline is not None else None)
