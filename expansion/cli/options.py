"""Options and arguments shared by several commands (defined once, as rasterio's rio/options.py does)."""

from __future__ import annotations

from pathlib import Path

import click

out_opt = click.option("--out", "out", type=click.Path(path_type=Path), default=None,
                       help="Run folder to write (default: outputs/<city>/<scenario>/).")


def overwrite_option(what: str):
    """``--overwrite``, saying what it replaces (only ever what this tool wrote)."""
    return click.option("--overwrite", is_flag=True, default=False, help=f"Replace {what}.")


overwrite_opt = overwrite_option("an existing run folder this tool wrote (never one holding other files)")
seed_opt = click.option("--seed", type=click.IntRange(min=0), default=None,
                        help="Random seed (default: the scenario's).")
runs_opt = click.option("--runs", type=click.IntRange(min=1), default=None,
                        help="Monte-Carlo runs (default: the scenario's).")
scenario_arg = click.argument("scenario", type=click.Path(path_type=Path))
catalog_arg = click.argument("catalog", type=click.Path(path_type=Path))
