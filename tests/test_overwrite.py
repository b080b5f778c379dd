"""No command deletes or overwrites a file it did not write (issue 17, "Data loss").

Every writing command (`run`, `backtest`, `compare --out`, `batch --out-root`,
`demo DIR`) is pointed at places holding the user's own files, with and without
`--overwrite`; each refuses with one line naming the folder and what would be
lost, and the files survive byte for byte. Folders and pages the tool wrote are
still replaced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expansion.demo import write_demo
from expansion.errors import ExpansionError, OutputExistsError
from expansion.outputs.folder import atomic_folder, check_target, write_page
from expansion.pipeline.batch import run_one

pytestmark = pytest.mark.slow  # runs the whole pipeline (make quick leaves it out)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.toml"
BACKTEST = ROOT / "scenarios" / "demo-backtest.toml"


def expansion(*args: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "expansion.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def refused(proc: subprocess.CompletedProcess) -> str:
    """The one-line error of a refused write (exit 1, no traceback)."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def user_files(folder: Path) -> dict[str, bytes]:
    """Put a memo and a sub-folder of notes into ``folder``; return what is there."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "memo.txt").write_text("council memo, do not lose\n")
    (folder / "notes").mkdir(exist_ok=True)
    (folder / "notes" / "site-visit.md").write_text("# notes\n")
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


# ---------------------------------------------------------------- run and backtest


@pytest.mark.parametrize("command", ["run", "backtest"])
def test_folder_of_user_files_survives_overwrite(tmp_path, command):
    out = tmp_path / "mine"
    before = user_files(out)
    args = [command, str(DEMO if command == "run" else BACKTEST), "--out", str(out), "--overwrite"]
    if command == "backtest":
        args += ["--observed-year", "2020"]
    msg = refused(expansion(*args, cwd=tmp_path))
    assert str(out) in msg and "memo.txt" in msg and "not written by expansion" in msg
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]   # nothing half-written beside it


def test_out_dot_never_replaces_the_current_folder(tmp_path):
    before = user_files(tmp_path)
    msg = refused(expansion("run", str(DEMO), "--out", ".", "--overwrite", cwd=tmp_path))
    assert "current folder" in msg
    assert snapshot(tmp_path) == before
    msg = refused(expansion("run", str(DEMO), "--out", ".", cwd=tmp_path))   # without --overwrite too
    assert "already exists" in msg
    assert snapshot(tmp_path) == before


def test_parent_of_the_current_folder_home_and_root_are_refused(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    before = user_files(tmp_path / "keep")
    msg = refused(expansion("run", str(DEMO), "--out", "..", "--overwrite", cwd=work))
    assert "holds the current folder" in msg
    home = tmp_path / "home"
    home_before = user_files(home)
    msg = refused(expansion("run", str(DEMO), "--out", str(home), "--overwrite", cwd=work, home=home))
    assert "home folder" in msg
    assert snapshot(home) == home_before
    msg = refused(expansion("run", str(DEMO), "--out", "/", "--overwrite", cwd=work))
    assert "root folder" in msg
    assert snapshot(tmp_path / "keep") == before


def test_folder_holding_the_scenario_or_the_layers_is_refused(tmp_path):
    scen = tmp_path / "scen" / "s.toml"
    scen.parent.mkdir()
    scen.write_text(DEMO.read_text().replace('"../layers/', f'"{ROOT}/layers/'))
    # the scenario's folder also holds a run.json as this tool writes it: still never replaced
    manifest = {"written_by": "expansion", "files": ["run.json", "s.toml"]}
    (scen.parent / "run.json").write_text(json.dumps(manifest))
    before = snapshot(scen.parent)
    msg = refused(expansion("run", str(scen), "--out", str(scen.parent), "--overwrite", cwd=tmp_path))
    assert "holds the input" in msg and "s.toml" in msg
    assert snapshot(scen.parent) == before
    layers = ROOT / "layers" / "demo"
    layers_before = snapshot(layers)
    msg = refused(expansion("run", str(scen), "--out", str(layers), "--overwrite", cwd=tmp_path))
    assert "holds the input" in msg
    assert snapshot(layers) == layers_before


def test_run_folder_with_a_user_file_added_is_refused(tmp_path):
    out = tmp_path / "run"
    with atomic_folder(out, overwrite=False) as tmp:
        (tmp / "summary.json").write_text("{}")
    (out / "my-analysis.xlsx").write_bytes(b"spreadsheet")
    before = snapshot(out)
    with pytest.raises(ExpansionError, match=r"run: it holds 1 file\(s\) this tool did not write "
                                             r"\(my-analysis.xlsx\) that would be lost"):
        check_target(out, overwrite=True)
    msg = refused(expansion("run", str(DEMO), "--out", str(out), "--overwrite", cwd=tmp_path))
    assert "my-analysis.xlsx" in msg
    assert snapshot(out) == before


def test_folder_the_tool_wrote_is_replaced(tmp_path):
    out = tmp_path / "run"
    with atomic_folder(out, overwrite=False) as tmp:
        (tmp / "a.txt").write_text("first")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("first")
    info = json.loads((out / "run.json").read_text())
    assert info["written_by"] == "expansion" and info["files"] == ["a.txt", "run.json", "sub/b.txt"]
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("second")
    assert sorted(snapshot(out)) == ["c.txt", "run.json"]
    # an empty folder loses nothing
    (tmp_path / "empty").mkdir()
    with atomic_folder(tmp_path / "empty", overwrite=True) as tmp:
        (tmp / "d.txt").write_text("x")
    assert (tmp_path / "empty" / "d.txt").exists()


def test_run_folder_of_an_earlier_version_is_replaced_but_not_with_extras(tmp_path):
    out = tmp_path / "old-run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"inputs": [], "packages": {"expansion": "0.1.0"}}))
    (out / "summary.json").write_text("{}")
    (out / "risk.tif.qml").write_text("<qgis/>")
    check_target(out, overwrite=True)
    (out / "memo.txt").write_text("mine")
    with pytest.raises(ExpansionError, match="memo.txt"):
        check_target(out, overwrite=True)


def test_files_added_during_the_run_stop_the_replacement(tmp_path):
    out = tmp_path / "run"
    with atomic_folder(out, overwrite=False) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(ExpansionError, match="late.txt"):
        with atomic_folder(out, overwrite=True) as tmp:
            (tmp / "a.txt").write_text("second")
            (out / "late.txt").write_text("written by the user while the run was going")
    assert (out / "late.txt").exists() and (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ---------------------------------------------------------------- compare --out


def fake_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"city": "Demo City", "scenario": folder.name}))
    (folder / "demand.csv").write_text("year,population,density_pph,land_need_ha,new_land_ha\n"
                                       "2020,1000,100,10,0\n2030,1200,100,12,2\n")
    return folder


def test_compare_out_replaces_only_its_own_page(tmp_path):
    a, b = fake_run(tmp_path / "a"), fake_run(tmp_path / "b")
    mine = tmp_path / "budget.html"
    mine.write_text("<html>the user's own page</html>\n")
    msg = refused(expansion("compare", str(a), str(b), "--out", str(mine), "--overwrite", cwd=tmp_path))
    assert "budget.html" in msg and "not a page written by expansion" in msg
    assert mine.read_text() == "<html>the user's own page</html>\n"
    msg = refused(expansion("compare", str(a), str(b), "--out", str(mine), cwd=tmp_path))
    assert "already exists" in msg
    msg = refused(expansion("compare", str(a), str(b), "--out", str(a / "summary.json"), "--overwrite",
                            cwd=tmp_path))
    assert json.loads((a / "summary.json").read_text())["scenario"] == "a"
    page = tmp_path / "compare.html"
    assert expansion("compare", str(a), str(b), "--out", str(page), cwd=tmp_path).returncode == 0
    assert '<meta name="generator" content="expansion">' in page.read_text()
    proc = expansion("compare", str(a), str(b), "--out", str(page), "--overwrite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(ExpansionError, match="is a folder"):
        write_page(tmp_path / "a", "<html></html>", overwrite=True)


def test_page_without_overwrite_is_an_output_exists_error(tmp_path):
    page = tmp_path / "p.html"
    write_page(page, "<!DOCTYPE html>\n<html>\n<head>\n</head></html>\n", overwrite=False)
    with pytest.raises(OutputExistsError):
        write_page(page, "x", overwrite=False)
    write_page(page, "again", overwrite=True)
    assert page.read_text() == "again"


# ---------------------------------------------------------------- batch --out-root


def test_batch_out_root_leaves_user_files_and_names_out_root(tmp_path):
    root = tmp_path / "results"
    before = user_files(root / "demo")   # where `--out-root results` would write demo.toml's run
    res = run_one(str(DEMO), str(root / "demo"), True)
    assert not res.ok and "memo.txt" in res.message and "--out-root" in res.message
    assert "--out " not in res.message
    assert snapshot(root / "demo") == before
    res = run_one(str(DEMO), str(root / "demo"), False)
    assert not res.ok and "--out-root" in res.message and "--out " not in res.message


# ---------------------------------------------------------------- demo DIR


def test_demo_never_writes_over_user_files(tmp_path):
    folder = tmp_path / "city"
    before = user_files(folder)
    (folder / "roads.gpkg").write_bytes(b"the user's own roads")
    before = snapshot(folder)
    for extra in ([], ["--overwrite"]):
        msg = refused(expansion("demo", str(folder), "--size", "60", *extra, cwd=tmp_path))
        assert str(folder) in msg and ("memo.txt" in msg or "roads.gpkg" in msg)
        assert snapshot(folder) == before
    # `demo .` in a folder of user files
    msg = refused(expansion("demo", ".", "--size", "60", "--overwrite", cwd=folder))
    assert snapshot(folder) == before


def test_demo_replaces_an_earlier_demo_but_not_with_user_files_in_it(tmp_path):
    folder = tmp_path / "demo"
    write_demo(folder, size=60)
    write_demo(folder, size=60, overwrite=True)           # an earlier demo: replaced
    (folder / "memo.txt").write_text("mine")
    with pytest.raises(ExpansionError, match="memo.txt"):
        write_demo(folder, size=60, overwrite=True)
    assert (folder / "memo.txt").read_text() == "mine"
