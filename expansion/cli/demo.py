"""``expansion demo``: write the synthetic demo region."""

from __future__ import annotations

from pathlib import Path

import click

from .options import overwrite_option, seed_opt
from .progress import Heartbeat


@click.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("layers/demo"))
@click.option("--size", type=click.IntRange(min=32, max=20000), default=834, show_default=True,
              help="Cells per side (30 m cells).")
@seed_opt
@overwrite_option("an earlier demo region in FOLDER (never a folder holding other files)")
def demo(folder: Path, size: int, seed: int | None, overwrite: bool) -> None:
    """Write the synthetic demo region (catalog and layers) into FOLDER."""
    from ..demo import write_demo

    with Heartbeat():
        path = write_demo(folder, size=size, seed=7 if seed is None else seed, overwrite=overwrite)
    click.echo(f"wrote synthetic demo region: {path}")
