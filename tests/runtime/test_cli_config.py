"""``lockstep backtest --config run.toml``: the file's settings, and flags overriding them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lockstep.runtime.cli import main
from runtime_kit import daily_rows, run_cli, write_dataset

CONFIG = """
strategy = "sma_cross"
data = "./data"
cash = 1000
out = "runs/cfg"
report = false
skip_bad_rows = true
max_skip_share = 0.2  # the one bad row of six is 16.7 %, over the default 1 %
sinks = ["csv"]

[params]
fast = 2
slow = 3
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config next to a 6-bar data set whose 4th row has an off-grid close."""
    rows = daily_rows(
        [("10.00", "10.50", "9.50", c) for c in ("10", "10.2", "10.4", "9.6", "9.8", "10.1")]
    )
    rows[3][4] = "9.001"
    write_dataset(tmp_path / "conf" / "data", {"TST": rows})
    path = tmp_path / "conf" / "run.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def meta(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT key, value FROM meta"))


def test_the_config_file_sets_the_run(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # paths in the file are relative to the file, not the cwd
    code, out, err = cli(capsys, "backtest", "--config", str(config))
    assert code == 0, err
    assert "sma_cross (allocation=0.30, fast=2, slow=3)" in out
    assert "initial equity  1000.00 USD" in out and "skipped rows    1" in out
    out_dir = config.parent / "runs" / "cfg"
    assert (out_dir / "run.db").is_file() and (out_dir / "equity.csv").is_file()  # the csv sink
    assert not (out_dir / "report.html").exists()  # report = false
    assert not (elsewhere / "runs").exists()


def test_flags_override_the_file_key_by_key(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(
        capsys,
        "backtest", "--config", str(config), "--param", "fast=1", "--cash", "2000",
        "--out", "mine", "--report", "--sink", "sqlite",
    )  # fmt: skip
    assert code == 0, err
    assert "sma_cross (allocation=0.30, fast=1, slow=3)" in out  # slow still from the file
    assert "initial equity  2000.00 USD" in out
    assert (tmp_path / "mine" / "run.db").is_file()  # --out is relative to the cwd
    assert (tmp_path / "mine" / "report.html").is_file()  # --report beat report = false
    assert (tmp_path / "mine" / "results.sqlite").is_file()  # --sink replaced the file's sinks
    assert not (tmp_path / "mine" / "equity.csv").exists()
    assert '"fast": 1' in meta(tmp_path / "mine" / "run.db")["params"]


def test_a_flag_can_switch_a_file_setting_off(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        capsys,
        "backtest",
        "--config",
        str(config),
        "--no-skip-bad-rows",
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 2
    assert f"{tmp_path / 'conf' / 'data' / 'TST.csv'}:5: column 'close':" in err


def test_a_strategy_on_the_command_line_beats_the_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "idle.py"
    script.write_text(
        "from typing import ClassVar\nfrom lockstep.runtime import Strategy\n\n"
        "class Idle(Strategy):\n    params: ClassVar[dict[str, object]] = {'fast': 0, 'slow': 0}\n",
        encoding="utf-8",
    )
    code, out, err = cli(
        capsys, "backtest", str(script), "--config", str(config), "--out", str(tmp_path / "o")
    )
    assert code == 0, err
    assert "idle (fast=2, slow=3)" in out  # the file's params apply to the flag's strategy


def test_unknown_key_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('strategy = "sma_cross"\ndata = "daily"\ncahs = 5\n', encoding="utf-8")
    result = run_cli("backtest", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"lockstep: error: {path}: unknown key 'cahs' (did you mean 'cash'?)" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('data = "daily"\n', "the following arguments are required: STRATEGY"),
        ('strategy = "sma_cross"\n', "the following arguments are required: --data"),
        (
            'strategy = "sma_cross"\ndata = "daily"\nengine = "java"\n',
            "key 'engine' must be one of",
        ),
        ('strategy = "sma_cross"\ndata = "daily"\n[params]\nfsat = 3\n', "has no parameter 'fsat'"),
    ],
)
def test_incomplete_or_wrong_configs_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = cli(capsys, "backtest", "--config", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and words in err, err
    assert not (tmp_path / "o").exists()


def test_config_extension_directories_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf" / "plugins").mkdir(parents=True)
    (tmp_path / "conf" / "plugins" / "idle.py").write_text(
        "from lockstep.runtime import Strategy\n\nclass Lazy(Strategy):\n    pass\n",
        encoding="utf-8",
    )
    path = tmp_path / "conf" / "run.toml"
    path.write_text(
        'strategy = "lazy"\ndata = "daily"\nextensions = ["plugins"]\nreport = false\n',
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "backtest", "--config", str(path), "--out", "o")
    assert code == 0, err
    assert "lazy (no parameters)" in out and "daily (1500 bars)" in out
