"""`expansion batch` on a local Dask cluster of two worker processes.

One good scenario and one broken one: the failure is reported as it happens and
does not stop the other; the table lists both; the exit code is 1; the good run
folder is complete and has the same bytes as the same scenario run alone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from expansion.demo import write_demo
from expansion.pipeline import run as pipeline
from expansion.pipeline.batch import RUNS_PER_TASK

pytestmark = pytest.mark.slow  # runs the whole pipeline (make quick leaves it out)

GOOD = """
name = "batch-good"
layers = "region/layers.toml"
base_year = 2020
horizon_year = 2035
step_years = 5
resolution_m = 30
[population]
base = 8000
natural_growth = 0.02
net_migration = 300
[density]
base = "observed"
annual_change = -0.01
[growth]
calibrate_from = 2005
runs = {runs}
seed = 11
"""



@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    write_demo(folder / "region", size=100, seed=5)
    # more runs than one Dask task takes, so that the runs are split and merged
    (folder / "good.toml").write_text(GOOD.format(runs=RUNS_PER_TASK + 2))
    broken = GOOD.format(runs=2).replace("region/layers.toml", "nowhere/layers.toml")
    (folder / "broken.toml").write_text(broken)
    proc = subprocess.run(
        [sys.executable, "-m", "expansion.cli", "batch", "good.toml", "broken.toml", "--workers", "2",
         "--out-root", "out"], capture_output=True, text=True, cwd=folder, timeout=300)
    return folder, proc


def test_exit_1_because_one_failed(batch):
    _, proc = batch
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: 1 of 2 scenarios failed (see the table above)"
    assert "Traceback" not in proc.stderr


def test_progress_line_per_scenario_as_it_finishes(batch):
    _, proc = batch
    lines = proc.stderr.splitlines()
    good = [ln for ln in lines if ln.startswith("good.toml: done in ")]
    broken = [ln for ln in lines if ln.startswith("broken.toml: FAILED: ")]
    assert len(good) == 1 and len(broken) == 1, proc.stderr
    assert "nowhere/layers.toml" in broken[0]
    # the broken scenario fails at once, long before the good one is done
    assert lines.index(broken[0]) < lines.index(good[0])


def test_results_table(batch):
    folder, proc = batch
    rows = proc.stdout.strip().splitlines()
    assert rows[0].split()[:3] == ["scenario", "status", "seconds"]
    by_name = {r.split()[0]: r for r in rows[1:]}
    assert set(by_name) == {"good.toml", "broken.toml"}  # input order, both listed
    assert [r.split()[0] for r in rows[1:]] == ["good.toml", "broken.toml"]
    assert by_name["good.toml"].split()[1] == "ok"
    assert by_name["good.toml"].split()[3] == str((folder / "out" / "good").resolve())
    assert by_name["broken.toml"].split()[1] == "FAILED"
    assert "nowhere/layers.toml" in by_name["broken.toml"]


def test_good_run_complete_and_broken_wrote_nothing(batch):
    folder, _ = batch
    out = folder / "out"
    for name in pipeline.RUN_FILES:
        assert (out / "good" / name).is_file(), name
    assert not (out / "broken").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no half-written folder


def test_same_bytes_as_run_alone(batch):
    folder, _ = batch
    alone = folder / "alone"
    pipeline.run(folder / "good.toml", out=alone)
    for name in pipeline.RUN_FILES:
        if name == "run.json":  # timings and the output folder differ
            continue
        assert (alone / name).read_bytes() == (folder / "out" / "good" / name).read_bytes(), name


def test_runs_and_seed_override_every_scenario(tmp_path):
    import json

    from expansion.pipeline.batch import run_one

    write_demo(tmp_path / "region", size=100, seed=5)
    (tmp_path / "good.toml").write_text(GOOD.format(runs=4))
    res = run_one(str(tmp_path / "good.toml"), str(tmp_path / "out"), False, runs=1, seed=3)
    assert res.ok, res.message
    prov = json.loads((tmp_path / "out" / "run.json").read_text())
    assert prov["runs"] == 1 and prov["seed"] == 3
    assert {k: res.summary["unmet_demand"][k] for k in ("ha", "year_full")} == {"ha": 0.0, "year_full": None}
