"""The command line as a user meets it: exit codes, one-line messages, files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def expansion(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expansion.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error a user sees: exactly one line starting with 'error:' and no traceback."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_help_and_version():
    proc = expansion("--help")
    assert proc.returncode == 0
    for cmd in ("run", "layers", "backtest", "batch", "compare", "demo"):
        assert cmd in proc.stdout
    assert expansion("--version").returncode == 0


def test_usage_errors_exit_2():
    assert expansion("run").returncode == 2
    assert expansion("run", "x.toml", "--runs", "0").returncode == 2
    assert expansion("layers", "import", "c.toml", "--role", "nonsense", "f.tif").returncode == 2
    assert expansion("frobnicate").returncode == 2


def test_missing_scenario_is_one_line(tmp_path):
    msg = one_line_error(expansion("run", str(tmp_path / "nope.toml")))
    assert "scenario file not found" in msg and "nope.toml" in msg


def test_directory_for_scenario(tmp_path):
    msg = one_line_error(expansion("run", str(tmp_path)))
    assert "is a directory" in msg


def test_scenario_with_unknown_key_writes_nothing(tmp_path):
    text = (ROOT / "scenarios" / "bacau-backtest.toml").read_text()
    text = text.replace("runs = 10", "runs = 10\nrnus = 3")
    scen = tmp_path / "s.toml"
    scen.write_text(text.replace('"../layers/', f'"{ROOT}/layers/'))
    out = tmp_path / "out"
    msg = one_line_error(expansion("run", str(scen), "--out", str(out)))
    assert "unknown key 'rnus'" in msg and "valid keys are" in msg
    assert not out.exists()


def test_layers_check_missing_file(tmp_path):
    catalog = 'name = "X"\n[[layers]]\nrole = "boundary"\npath = "nowhere.gpkg"\n'
    (tmp_path / "layers.toml").write_text(catalog)
    proc = expansion("layers", "check", str(tmp_path / "layers.toml"))
    msg = one_line_error(proc)
    assert "nowhere.gpkg" in msg or "nowhere.gpkg" in proc.stdout


def test_layers_check_bacau(shared_data):
    proc = expansion("layers", "check", "layers/bacau/layers.toml")
    assert proc.returncode == 0, proc.stderr
    assert "1975,1990,2000,2014" in proc.stdout and "EPSG:4326" in proc.stdout
