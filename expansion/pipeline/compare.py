"""``expansion compare``: several run folders side by side."""

from __future__ import annotations

from pathlib import Path

from ..errors import ExpansionError
from ..outputs.folder import write_page


def read_run(folder: Path) -> dict:
    """A run folder's summary.json plus its demand rows (``demand`` key)."""
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
    run["folder"] = str(folder)
    return run


def compare_runs(folders: list[Path], out: Path | None = None, overwrite: bool = False) -> str:
    """The comparison table of several run folders; with ``out``, also an HTML page there
    (an existing page is replaced only with ``overwrite`` and only when this tool wrote it)."""
    from ..outputs.web import compare_page, compare_table

    runs = [read_run(f) for f in folders]
    if out is not None:
        write_page(Path(out), compare_page(runs), overwrite,
                   protect=[Path(f) / n for f in folders for n in ("summary.json", "demand.csv")])
    return compare_table(runs)
