"""Options and arguments shared by several commands (defined once, as rasterio's rio/options.py does)."""

from __future__ import annotations

from pathlib import Path

import click

out_opt = click.option("--out", "out", type=click.Path(path_type=Path), default=None,
                       help="Run folder to write (default: outputs/<city>/<scenario>/).")
overwrite_opt = click.option("--overwrite", is_flag=True, default=False,
                             help="Replace an existing run folder.")
seed_opt = click.option("--seed", type=click.IntRange(min=0), default=None,
                        help="Random seed (default: the scenario's).")
runs_opt = click.option("--runs", type=click.IntRange(min=1), default=None,
                        help="Monte-Carlo runs (default: the scenario's).")
scenario_arg = click.argument("scenario", type=click.Path(path_type=Path))
catalog_arg = click.argument("catalog", type=click.Path(path_type=Path))
