"""``lockstep report``, the report ``lockstep backtest`` and ``lockstep demo`` write, and sinks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lockstep.runtime.cli import main
from runtime_kit import daily_rows, run_cli, write_dataset

BARS = [("10.00", "10.50", "9.50", c) for c in ("10", "10.2", "10.4", "9.6", "9.8", "10.1", "10.3")]


@pytest.fixture(scope="module")
def backtest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lockstep backtest`` (a subprocess) on a tiny data set, with the default report."""
    base = tmp_path_factory.mktemp("cli_report")
    data = write_dataset(base / "data", {"TST": daily_rows(BARS)})
    out = base / "run"
    result = run_cli(
        "backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=3",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"report          {out / 'report.html'}" in result.stdout
    assert f"chart           {out / 'equity.png'}" in result.stdout
    return out


def test_backtest_writes_the_report_by_default(backtest_dir: Path) -> None:
    for name in ("run.db", "trades.csv", "report.html", "equity.png"):
        assert (backtest_dir / name).is_file(), name
    page = (backtest_dir / "report.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in page and "sma_cross" in page


def test_report_command_writes_the_same_files(backtest_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = run_cli("report", str(backtest_dir / "run.db"), "--out", str(out), "--sink", "csv")
    assert result.returncode == 0, result.stderr
    for name in ("report.html", "equity.png", "trades.csv", "equity.csv", "metrics.csv"):
        assert (out / name).is_file(), name
    again = (out / "report.html").read_text(encoding="utf-8")
    first = (backtest_dir / "report.html").read_text(encoding="utf-8")
    # The backtest's own report was written before any replay; the report command verifies first.
    assert 'data-state="unverified"' in first and 'data-state="verified"' in again
    assert "run `lockstep replay verify`" in first and "trace, results and metadata match" in again
    assert _without_banner(again).replace(str(backtest_dir / "run.db"), "RUN") == _without_banner(
        first
    ).replace(str(backtest_dir / "run.db"), "RUN")
    assert (out / "trades.csv").read_bytes() == (backtest_dir / "trades.csv").read_bytes()
    assert "sink csv" in result.stdout


def _without_banner(page: str) -> str:
    return re.sub(r'<div class="banner [^\n]*</div>', "", page)


def test_no_report_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    code = main(["backtest", "sma_cross", "--data", str(data), "--out", str(tmp_path / "o"),
                 "--param", "fast=2", "--param", "slow=3", "--no-report"])  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0 and "report " not in out
    assert not (tmp_path / "o" / "report.html").exists()


def _without_matplotlib(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess where ``import matplotlib`` fails, as on a base install."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from lockstep.runtime.cli import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_report_without_matplotlib_says_how_to_install_it(
    backtest_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    result = _without_matplotlib(
        "report", str(backtest_dir / "run.db"), "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "the equity chart needs the optional package 'matplotlib'" in result.stderr
    assert "pip install 'lockstep-runtime[report]'" in result.stderr
    assert "--no-chart" in result.stderr and not out.exists()
    plain = _without_matplotlib(
        "report", str(backtest_dir / "run.db"), "--out", str(out), "--no-chart", cwd=tmp_path
    )
    assert plain.returncode == 0, plain.stderr
    assert (out / "report.html").is_file() and not (out / "equity.png").exists()


def test_backtest_without_matplotlib_still_writes_the_page(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    result = _without_matplotlib(
        "backtest", "sma_cross", "--data", str(data), "--out", str(tmp_path / "o"),
        "--param", "fast=2", "--param", "slow=3", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the report has no chart" in result.stderr
    assert (tmp_path / "o" / "report.html").is_file()
    assert not (tmp_path / "o" / "equity.png").exists()


def test_report_of_a_failed_run_exits_2(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(
        "from lockstep.runtime import Strategy\n\nclass Broken(Strategy):\n"
        "    def on_event(self, ctx, event):\n        raise ValueError('nope')\n",
        encoding="utf-8",
    )
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    assert (
        run_cli(
            "backtest", str(script), "--data", str(data), "--out", str(tmp_path / "o")
        ).returncode
        == 2
    )
    result = run_cli("report", str(tmp_path / "o" / "run.db"))
    assert result.returncode == 2
    assert "the run's status is 'failed', not 'complete' (StrategyError:" in result.stderr
    assert not (tmp_path / "o" / "report.html").exists()
    missing = run_cli("report", str(tmp_path / "nothing.db"))
    assert missing.returncode == 2 and "no such run store" in missing.stderr


def test_demo_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out, _ = capsys.readouterr()
    assert "OK" in out and f"report          {tmp_path / 'demo' / 'report.html'}" in out
    assert (tmp_path / "demo" / "equity.png").is_file()
