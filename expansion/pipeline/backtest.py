"""``expansion backtest``: calibrate on an earlier window, predict a later observed epoch,
compare with what happened and with null models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import suitability
from ..errors import ConfigError
from ..outputs.folder import atomic_folder, check_target
from ..outputs.geotiff import write_geotiff
from ..outputs.provenance import write_json
from .common import Timer, load, provenance, slug, stack_for


def backtest(scenario_path: Path, observed_year: int, quantity: str | None = None, out: Path | None = None,
             overwrite: bool = False, runs: int | None = None, seed: int | None = None) -> tuple[Path, dict]:
    """Backtest: calibrate on ``calibrate_from -> base_year``, grow to ``observed_year``,
    compare with the observed built-up there, and against three null models.

    Writes ``backtest.json``, ``urbanization_year.tif`` (run 0),
    ``urbanization_probability.tif``, ``backtest_map.tif`` (1 hit, 2 miss,
    3 false alarm, 4 correct rejection, 0 not a candidate), ``backtest.html``
    and ``run.json`` into the run folder (default
    ``outputs/<city>/<scenario>-backtest-<year>/``).
    """
    from .. import validation

    timer = Timer()
    sc, catalog = load(scenario_path, runs, seed)
    out = Path(out) if out is not None else (
        Path("outputs") / slug(catalog.name) / f"{slug(sc.name)}-backtest-{observed_year}")
    check_target(out, overwrite)
    stack = stack_for(sc, catalog)
    if observed_year not in stack.builtup:
        raise ConfigError(f"--observed-year {observed_year} has no built-up layer in {catalog.path}; "
                          f"observed years are {', '.join(map(str, stack.years))}")
    timer.mark("layers")
    quantity = quantity or sc.growth.quantity
    suit = suitability.score(stack, sc.suitability)
    res = validation.backtest(stack, sc, observed_year, quantity, suit, sc.growth.runs, sc.growth.seed)
    arrays = res.pop("arrays")
    timer.mark("backtest")
    res.update({"city": catalog.name, "scenario": sc.name, "synthetic": catalog.synthetic})
    pred, obs, cand = arrays["predicted_new"], arrays["observed_new"], arrays["candidates"]
    agreement = np.zeros(stack.grid.shape, np.uint8)
    agreement[cand & ~pred & ~obs] = 4
    agreement[pred & obs] = 1
    agreement[~pred & obs] = 2
    agreement[pred & ~obs] = 3
    grid = stack.grid
    base = stack.builtup_at(sc.base_year) & stack.valid
    uyear = np.where(pred, observed_year, np.where(base, sc.base_year, 0)).astype(np.int16)
    with atomic_folder(out, overwrite) as tmp:
        write_json(tmp / "backtest.json", res)
        write_geotiff(tmp / "backtest_map.tif", agreement, grid, nodata=0, categorical=True,
                      colormap=BACKTEST_COLOURS,
                      description="1 hit, 2 miss, 3 false alarm, 4 correct rejection, 0 not a candidate")
        write_geotiff(tmp / "urbanization_year.tif", uyear, grid, nodata=None, categorical=True,
                      description="year built up in the backtest run with the scenario's seed")
        write_geotiff(tmp / "urbanization_probability.tif", arrays["probability"], grid, nodata=np.nan,
                      description=f"share of runs built up by {observed_year}")
        from .. import maps
        from ..render import backtest_map

        maps.write_html(tmp / "backtest.html", backtest_map(stack, sc, res, agreement))
        timer.mark("write")
        write_json(tmp / "run.json", provenance(sc, catalog, grid, timer, out, observed_year=observed_year,
                                                quantity=quantity))
    return out, res


BACKTEST_COLOURS = {0: (0, 0, 0, 0), 1: (26, 152, 80, 255), 2: (215, 48, 39, 255), 3: (253, 174, 97, 255),
                    4: (230, 230, 230, 255)}
