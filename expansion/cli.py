"""The `expansion` command line (click).

Exit codes: 0 success; 1 bad data or a failed run, with a one-line reason on
stderr and no traceback (``--verbose`` shows it); 2 bad usage.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import ExpansionError

log = logging.getLogger("expansion")

# ---------------------------------------------------------------- shared options

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


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {msg}"
        return msg


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("expansion")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for noisy in ("rasterio", "fiona", "pyogrio", "distributed", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="expansion")
@click.option("-v", "--verbose", count=True, help="More messages; tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Plan the growth of secondary cities: land demand, growth, the Making Room
    plan, informal-settlement risk and offline maps."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    _setup_logging(verbose, quiet)


@cli.command()
@scenario_arg
@out_opt
@runs_opt
@seed_opt
@overwrite_opt
def run(scenario: Path, out: Path | None, runs: int | None, seed: int | None, overwrite: bool) -> None:
    """Run SCENARIO (a scenario .toml) and write the run folder."""
    from .demand import format_demand_table
    from .pipeline import run as run_pipeline

    result = run_pipeline(scenario, out=out, overwrite=overwrite, runs=runs, seed=seed)
    click.echo(format_demand_table(result.demand))
    click.echo("")
    for line in result.headline():
        click.echo(line)
    click.echo(f"\nResults: {result.out}")
    click.echo(f"Open {result.out / 'index.html'} in a browser.")


@cli.command()
@scenario_arg
@click.option("--observed-year", type=click.IntRange(1800, 2200), required=True,
              help="The later observed built-up epoch to predict.")
@click.option("--quantity", type=click.Choice(["observed", "projected"]), default=None,
              help="New land from the observed change, or from the demand projection "
                   "(default: the scenario's [growth] quantity).")
@out_opt
@runs_opt
@seed_opt
@overwrite_opt
def backtest(scenario: Path, observed_year: int, quantity: str | None, out: Path | None, runs: int | None,
             seed: int | None, overwrite: bool) -> None:
    """Calibrate on calibrate_from -> base_year, predict OBSERVED_YEAR, compare with what happened."""
    from .pipeline import backtest as run_backtest

    folder, res = run_backtest(scenario, observed_year, quantity=quantity, out=out, overwrite=overwrite,
                               runs=runs, seed=seed)
    click.echo(f"backtest {res['base_year']} -> {res['observed_year']} ({res['quantity']['mode']} quantity, "
               f"{res['quantity']['observed_cells']} new cells observed)")
    click.echo(f"{'model':<22} {'FoM':>7} {'producer':>9} {'user':>7} {'quantity':>9} {'allocation':>11}")
    blocks = {"growth model": res, **{f"null: {k}": v for k, v in res["null_models"].items()}}
    for name, r in blocks.items():
        click.echo(f"{name:<22} {r['fom']:>7.3f} {r['producers_accuracy']:>9.3f} {r['users_accuracy']:>7.3f} "
                   f"{r['quantity_disagreement']:>9.4f} {r['allocation_disagreement']:>11.4f}")
    click.echo(f"FoM over {res['runs']} runs: {res['fom_mean']:.3f} +/- {res['fom_sd']:.3f}")
    click.echo(f"\nResults: {folder}")


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the comparison page here (default: no page, only the table).")
@overwrite_opt
def compare(run_dirs: tuple[Path, ...], out: Path | None, overwrite: bool) -> None:
    """Compare run folders side by side: a table, and a page with --out."""
    from .pipeline import compare_runs

    table = compare_runs(list(run_dirs), out=out, overwrite=overwrite)
    click.echo(table)
    if out is not None:
        click.echo(f"\nComparison page: {out}")


@cli.group()
def layers() -> None:
    """Check and import a city's input layers."""


@layers.command("check")
@catalog_arg
def layers_check(catalog: Path) -> None:
    """Print a table of CATALOG's layers and their problems."""
    from .config import load_catalog
    from .layers import check_catalog, check_problems, format_check_table

    cat = load_catalog(catalog)
    rows = check_catalog(cat)
    click.echo(format_check_table(rows))
    problems = check_problems(cat, rows)
    if problems:
        raise ExpansionError(f"{catalog}: " + "; ".join(problems))


@layers.command("import")
@catalog_arg
@click.option("--role", required=True, type=click.Choice(
    ["boundary", "builtup", "dem", "roads", "water", "protected", "flood", "population"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--year", type=click.IntRange(1800, 2200), default=None, help="Year of a built-up layer.")
@click.option("--encoding", type=click.Choice(["binary", "fraction", "ghs-built-s", "ghsl-ldsmt"]),
              default=None, help="Encoding of a built-up layer.")
def layers_import(catalog: Path, role: str, file: Path, year: int | None, encoding: str | None) -> None:
    """Validate FILE, copy it beside CATALOG and add it to the catalog."""
    from .layers import import_layer

    entry = import_layer(catalog, role, file, year=year, encoding=encoding)
    click.echo(f"added {entry.role} layer {entry.path_as_written} to {catalog}")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("layers/demo"))
@click.option("--size", type=click.IntRange(min=32, max=20000), default=834, show_default=True,
              help="Cells per side (30 m cells).")
@seed_opt
@overwrite_opt
def demo(folder: Path, size: int, seed: int | None, overwrite: bool) -> None:
    """Write the synthetic demo region (catalog and layers) into FOLDER."""
    from .demo import write_demo

    path = write_demo(folder, size=size, seed=7 if seed is None else seed, overwrite=overwrite)
    click.echo(f"wrote synthetic demo region: {path}")


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local Dask cluster (default 2).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler (tcp://host:8786).")
@click.option("--out-root", type=click.Path(path_type=Path), default=None,
              help="Write each run to OUT_ROOT/<scenario file name> (default outputs/<city>/<scenario>/).")
@overwrite_opt
def batch(scenarios: tuple[Path, ...], workers: int | None, scheduler: str | None, out_root: Path | None,
          overwrite: bool) -> None:
    """Run several SCENARIOS at once on Dask (a local cluster by default)."""
    from .batch import format_batch_table, run_batch

    if workers and scheduler:
        raise click.UsageError("give either --workers or --scheduler, not both")

    def report(r) -> None:
        status = f"done in {r.seconds:.1f} s" if r.ok else f"FAILED: {r.message}"
        click.echo(f"{Path(r.scenario).name}: {status}", err=True)

    results = run_batch(list(scenarios), workers=workers, scheduler=scheduler, out_root=out_root,
                        overwrite=overwrite, on_result=report)
    click.echo(format_batch_table(results))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ExpansionError(f"{len(failed)} of {len(results)} scenarios failed (see the table above)")


def _fail(message: str, verbose: bool = False) -> None:
    """Print one ``error:`` line (the traceback first with -v) and exit 1."""
    if verbose:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def main() -> None:
    """Console entry point: one-line errors, exit 1, no traceback unless -v."""
    verbose = any(a in ("-v", "--verbose", "-vv") for a in sys.argv[1:])
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _fail("interrupted; no output was written and earlier results are intact")
    except ExpansionError as exc:
        _fail(str(exc), verbose)
    except MemoryError:
        _fail("out of memory; use a coarser resolution_m or a smaller study area", verbose)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", verbose)
    except Exception as exc:  # a bug: still one line, with how to get the details
        _fail(f"internal error {type(exc).__name__}: {exc} (run with -v for the traceback and report it)",
              verbose)


if __name__ == "__main__":
    main()
