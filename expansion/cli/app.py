"""The `expansion` command line (click): the group, logging, one-line errors.

Exit codes: 0 success; 1 bad data or a failed run, with a one-line reason on
stderr and no traceback (``--verbose`` shows it); 2 bad usage.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings

import click

from .. import __version__
from ..errors import ExpansionError
from .backtest import backtest
from .batch import batch
from .compare import compare
from .demand import demand
from .demo import demo
from .layers import layers
from .run import run

log = logging.getLogger("expansion")

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
    warnings.showwarning = show_warning


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (rasterio's NotGeoreferencedWarning, GDAL's through rasterio ...) as one
    ``warning:`` line of the tool, not a raw ``file:line: Category`` dump."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    log.warning("%s", text)


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



for _command in (run, demand, backtest, compare, layers, demo, batch):
    cli.add_command(_command)


def _fail(message: str, verbose: bool = False) -> None:
    """Print one ``error:`` line (the traceback first with -v) and exit 1."""
    if verbose:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


GLOBAL_FLAGS = ("-q", "--quiet", "-v", "-vv", "-vvv", "--verbose")


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move ``-q``/``-v`` given after the subcommand to the front, so that
    ``expansion run S -q`` works as ``expansion -q run S`` (no subcommand has
    options of those names; nothing after ``--`` moves)."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    return flags + [a for a in args[:end] if a not in GLOBAL_FLAGS] + args[end:]


def main() -> None:
    """Console entry point: one-line errors, exit 1, no traceback unless -v."""
    verbose = any(a in ("-v", "--verbose", "-vv", "-vvv") for a in sys.argv[1:])
    try:
        cli.main(args=hoist_global_flags(sys.argv[1:]), standalone_mode=False)
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

