"""Every ``lockstep`` command through a subprocess: output, files and exit codes."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import pytest

from lockstep.core import resolve_backend
from runtime_kit import daily_rows, run_cli, write_dataset
from testkit import python_only_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sma_cross.py"


@pytest.fixture(scope="module")
def daily_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli(
        "backtest", "sma_cross", "--data", "daily", "--cash", "100000", "--fee-ppm", "100",
        "--param", "fast=8", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "final equity" in result.stdout
        and "sma_cross (allocation=0.30, fast=8, slow=30)" in result.stdout
    )
    assert "bars/s" in result.stdout and str(out / "run.db") in result.stdout
    return out


def test_help_lists_commands_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in (
        "backtest",
        "replay",
        "runs",
        "data",
        "demo",
        "Exit codes",
        "engine is unavailable",
    ):
        assert word in result.stdout
    sub = run_cli("backtest", "--help")
    assert (
        sub.returncode == 0
        and "--param NAME=VALUE" in sub.stdout
        and "--data NAME_OR_PATH" in sub.stdout
    )


def test_backtest_writes_store_and_trades(daily_run: Path) -> None:
    with (daily_run / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and rows[0]["instrument"] in {"ACME", "BOLT", "ZETA"}
    assert set(rows[0]) >= {"entry_time", "exit_time", "entry_price", "exit_price", "pnl", "fees"}
    conn = sqlite3.connect(daily_run / "run.db")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["status"] == '"complete"' and meta["engine"] == f'"{resolve_backend()}"'
    assert '"fast": 8' in meta["params"]


def test_replay_verify_ok(daily_run: Path) -> None:
    result = run_cli("replay", "verify", str(daily_run / "run.db"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_replay_verify_tampered_exits_1(daily_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    shutil.copy(daily_run / "run.db", db)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM records WHERE seq_id >= 300")
    conn.commit()
    conn.close()
    result = run_cli("replay", "verify", str(db))
    assert result.returncode == 1
    assert "FAILED at seq_id 300" in result.stdout


def test_runs_list_and_show(daily_run: Path) -> None:
    (daily_run / "junk.db").write_text("not a database")
    listed = run_cli("runs", "list", str(daily_run.parent))
    assert listed.returncode == 0, listed.stderr
    assert str(daily_run / "run.db") in listed.stdout and "complete" in listed.stdout
    assert "junk.db" in listed.stderr and "not a Lockstep run store" in listed.stderr
    shown = run_cli("runs", "show", str(daily_run / "run.db"))
    assert shown.returncode == 0
    for word in ("data digest", "lockstep-runtime", "Sharpe", "max drawdown", "stored"):
        assert word in shown.stdout
    (daily_run / "junk.db").unlink()


def test_runs_list_empty_and_missing(tmp_path: Path) -> None:
    assert "no run stores" in run_cli("runs", "list", str(tmp_path)).stdout
    missing = run_cli("runs", "list", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such directory" in missing.stderr


def test_data_list() -> None:
    result = run_cli("data", "list")
    assert result.returncode == 0
    assert (
        "daily" in result.stdout
        and "minute" in result.stdout
        and "ACME, BOLT, ZETA" in result.stdout
    )
    assert "1500" in result.stdout and "2340" in result.stdout


def test_strategies_list() -> None:
    result = run_cli("strategies", "list")
    assert result.returncode == 0 and "sma_cross" in result.stdout and "fast=10" in result.stdout


def test_example_file_runs_on_a_data_directory(tmp_path: Path) -> None:
    data = write_dataset(
        tmp_path / "data", {"TST": daily_rows([("10.00", "10.10", "9.90", "10.00")] * 5)}
    )
    result = run_cli(
        "backtest", str(EXAMPLE), "--data", str(data), "--cash", "1000",
        "--param", "fast=2", "--param", "slow=3", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "5 bars" in result.stdout
    again = run_cli("backtest", str(EXAMPLE), "--data", str(data), "--out", str(tmp_path / "out"))
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = run_cli(
        "backtest", str(EXAMPLE), "--data", str(data), "--out", str(tmp_path / "out"), "--overwrite"
    )
    assert forced.returncode == 0, forced.stderr


def test_demo(tmp_path: Path) -> None:
    result = run_cli("demo", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and (tmp_path / "demo" / "run.db").is_file()
    assert (tmp_path / "demo" / "trades.csv").is_file()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["backtest", "nope", "--data", "daily"], "unknown strategy 'nope'"),
        (["backtest", "missing.py", "--data", "daily"], "missing.py: no such strategy file"),
        (["backtest", "sma_cross", "--data", "hourly"], "'hourly' is neither a bundled data set"),
        (
            ["backtest", "sma_cross", "--data", "daily", "--param", "fsat=3"],
            "has no parameter 'fsat'",
        ),
        (
            ["backtest", "sma_cross", "--data", "daily", "--param", "fast=x"],
            "parameter 'fast' expects int",
        ),
        (
            ["backtest", "sma_cross", "--data", "daily", "--param", "fast=40"],
            "need 0 < fast < slow",
        ),
        (["backtest", "sma_cross", "--data", "daily", "--cash", "1.00001"], "starting_cash"),
        (["replay", "verify", "nothing.db"], "no such run store"),
        (["backtest", "sma_cross"], "the following arguments are required: --data"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    result = run_cli(*args, cwd=tmp_path)  # every one fails before anything is written
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_corrupt_store_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "run.db"
    junk.write_bytes(b"\x00" * 100)
    result = run_cli("replay", "verify", str(junk))
    assert result.returncode == 2
    assert f"{junk}: not a Lockstep run store" in result.stderr


def test_malformed_data_names_file_line_and_field(tmp_path: Path) -> None:
    rows = daily_rows([("10.00", "10.10", "9.90", "10.00")] * 3)
    rows[1][4] = "10.001"
    data = write_dataset(tmp_path / "bad", {"TST": rows})
    result = run_cli("backtest", "sma_cross", "--data", str(data), "--out", str(tmp_path / "o1"))
    assert result.returncode == 2
    assert (
        f"{data / 'TST.csv'}:3: column 'close':" in result.stderr
        and "decimal places" in result.stderr
    )
    skipped = run_cli(
        "backtest",
        "sma_cross",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "o2"),
        "--skip-bad-rows",
        "--max-skip-share",
        "0.5",  # one bad row of three is over the default 1 %
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped 1 rows" in skipped.stderr and "bad_row" in skipped.stderr
    assert "skipped rows    1" in skipped.stdout


def test_strategy_that_raises_exits_2_with_location(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(
        "from lockstep.runtime import Strategy\n\n"
        "class Broken(Strategy):\n"
        "    def on_event(self, ctx, event):\n"
        "        return 1 / 0\n"
    )
    data = write_dataset(tmp_path / "d", {"TST": daily_rows([("10.00", "10.10", "9.90", "10.00")])})
    result = run_cli("backtest", str(script), "--data", str(data), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "raised ZeroDivisionError in on_event: division by zero" in result.stderr
    assert f"{script}:5" in result.stderr
    failed = run_cli("replay", "verify", str(tmp_path / "o" / "run.db"))
    assert failed.returncode == 1 and "the run failed: StrategyError" in failed.stdout
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def oops(:\n")
    bad = run_cli("backtest", str(syntax), "--data", str(data), "--out", str(tmp_path / "o2"))
    assert bad.returncode == 2 and f"{syntax}:1: syntax error" in bad.stderr


def test_rust_engine_unavailable_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run_cli(
        "backtest",
        "sma_cross",
        "--data",
        "daily",
        "--engine",
        "rust",
        "--out",
        str(out),
        env=python_only_env(tmp_path),
    )
    assert result.returncode == 3
    assert "backend 'rust' was requested" in result.stderr and "Traceback" not in result.stderr
    assert not (out / "run.db").exists()


def test_replay_verify_on_an_explicit_engine(daily_run: Path) -> None:
    result = run_cli("replay", "verify", str(daily_run / "run.db"), "--engine", "python")
    assert result.returncode == 0


def test_bad_engine_in_the_environment_exits_2(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "lockstep.runtime.cli", "backtest", "sma_cross", "--data", "daily"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "LOCKSTEP_ENGINE": "java"},
        check=False,
    )
    assert result.returncode == 2
    assert "unknown engine backend 'java'" in result.stderr and "LOCKSTEP_ENGINE" in result.stderr
