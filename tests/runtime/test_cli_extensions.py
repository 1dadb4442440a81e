"""``lockstep extensions list`` and extension names in ``backtest``, ``strategies`` and ``data``."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from lockstep.runtime.cli import main
from runtime_kit import run_cli

EXTENSION = '''
import json
from typing import ClassVar

from lockstep.adapters import InstrumentSpec, MemoryFeed
from lockstep.runtime import Strategy
from lockstep.runtime.extensions import Source, SourceSpec
from lockstep.runtime.sinks import SinkSpec

TST = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0)
DAY = 86_400 * 10**9


class Dipper(Strategy):
    """Buys after a down close, sells after an up close."""

    params: ClassVar[dict[str, object]] = {"qty": 5}

    def on_event(self, ctx, event):
        closes = ctx.closes(event.instrument, 2)
        if len(closes) < 2:
            return
        held = ctx.position(event.instrument)
        if closes[-1] < closes[-2] and held == 0:
            ctx.buy(event.instrument, self.p.qty)
        elif closes[-1] > closes[-2] and held > 0:
            ctx.sell(event.instrument, held)


def zigzag(days="12"):
    rows = []
    for n in range(int(days)):
        close = "10.00" if n % 2 else "11.00"
        rows.append((1704229200 * 10**9 + n * DAY, close, "11.00", "10.00", close, "100"))
    return Source([TST], {"USD": 2}, lambda skip: [MemoryFeed.from_bars(TST, rows)], "zigzag")


class CountSink:
    def write(self, run, directory):
        path = directory / "count.json"
        path.write_text(json.dumps({"trades": run.metrics["trades"], "strategy": run.meta["strategy_id"]}))
        return [path]


ZIGZAG = SourceSpec("zigzag", zigzag, "alternating closes")
COUNT = SinkSpec("count", CountSink, "trade count as JSON")
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with ./extensions holding one good and one broken file."""
    ext = tmp_path / "extensions"
    ext.mkdir()
    (ext / "dipper.py").write_text(textwrap.dedent(EXTENSION), encoding="utf-8")
    (ext / "zz_broken.py").write_text("def oops(:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCKSTEP_EXTENSIONS", raising=False)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_extensions_list_shows_what_loaded_and_what_failed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "extensions", "list")
    assert code == 0 and err == ""
    assert "extension directories: extensions (default)" in out
    lines = out.splitlines()
    good = str(Path("extensions") / "dipper.py")
    assert any(line.split()[:3] == ["strategy", "dipper", good] for line in lines)
    assert any(line.split()[:3] == ["source", "zigzag", good] for line in lines)
    assert any(line.split()[:3] == ["sink", "count", good] for line in lines)
    assert any(line.split()[:3] == ["sink", "csv", "built-in"] for line in lines)
    assert "failed to load:" in out
    assert f"{Path('extensions') / 'zz_broken.py'}: syntax error at line 1" in out


def test_extensions_list_strict_exits_2_naming_file_and_reason(project: Path) -> None:
    result = run_cli("extensions", "list", "--strict-extensions", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "strategy  dipper" in result.stdout  # the listing is still printed
    broken = Path("extensions") / "zz_broken.py"
    assert (
        f"lockstep: error: 1 extension file failed to load (--strict-extensions): {broken}: "
        "syntax error at line 1" in result.stderr
    )


def test_backtest_with_extension_strategy_source_and_sinks(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys,
        "backtest", "dipper", "--data", "zigzag", "--data-option", "days=10",
        "--param", "qty=3", "--sink", "count", "--sink", "sqlite", "--out", "run",
        "--no-report",
    )  # fmt: skip
    assert code == 0, err
    assert "dipper (qty=3)" in out and "zigzag (10 bars)" in out
    # The broken file is reported, not fatal.
    assert "warning: extension" in err and "zz_broken.py not loaded: syntax error" in err
    counted = json.loads((project / "run" / "count.json").read_text())
    assert counted == {"trades": 4, "strategy": "dipper"}
    assert f"sink count      {Path('run') / 'count.json'}" in out
    with sqlite3.connect(project / "run" / "results.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM trades").fetchone() == (4,)
    assert not (project / "run" / "report.html").exists()


def test_strict_backtest_fails_before_writing_anything(project: Path) -> None:
    result = run_cli(
        "backtest", "dipper", "--data", "zigzag", "--out", "run", "--strict-extensions", cwd=project
    )
    assert result.returncode == 2
    assert "zz_broken.py: syntax error at line 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "run").exists()


def test_directories_from_the_flag_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a.py").write_text(textwrap.dedent(EXTENSION), encoding="utf-8")
    (two / "b.py").write_text(
        "from lockstep.runtime import Strategy\n\nclass Idle(Strategy):\n    pass\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS", str(one))
    code, out, err = cli(capsys, "strategies", "list", "--extensions-dir", str(two))
    assert code == 0 and err == ""
    rows = {" ".join(line.split()) for line in out.splitlines()}  # column widths vary
    assert f"dipper {one / 'a.py'}:Dipper qty=5" in rows
    assert f"idle {two / 'b.py'}:Idle" in rows
    assert "sma_cross" in out
    code, out, _ = cli(capsys, "extensions", "list", "--extensions-dir", str(two))
    assert f"{one} ($LOCKSTEP_EXTENSIONS)" in out and f"{two} (--extensions-dir)" in out


def test_data_list_shows_extension_sources(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "data", "list")
    assert code == 0
    assert "daily" in out and "minute" in out
    row = next(line for line in out.splitlines() if line.startswith("zigzag"))
    assert "alternating closes (extension: " in row and "dipper.py" in row


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sink", "nope"], "unknown sink 'nope'; known sinks: count, csv, parquet, sqlite"),
        (["--data-option", "days"], "--data-option 'days' is not of the form KEY=VALUE"),
        (["--data-option", "days=x"], "source 'zigzag'"),
        (["--data-option", "colour=red"], "options given: colour"),
    ],
)
def test_bad_extension_usage_exits_2_before_running(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, _, err = cli(capsys, "backtest", "dipper", "--data", "zigzag", "--out", "run", *args)
    assert code == 2 and words in err, err
    assert not (project / "run").exists()


def test_data_options_only_for_sources_and_unknown_data_lists_sources(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "backtest", "dipper", "--data", "daily", "--data-option", "a=b")
    assert code == 2 and "--data-option applies to sources registered by extensions" in err
    code, _, err = cli(capsys, "backtest", "dipper", "--data", "hourly")
    assert code == 2 and "'hourly' is neither a bundled data set" in err
    assert "extension sources: zigzag" in err
    code, _, err = cli(capsys, "backtest", "nope", "--data", "zigzag")
    assert code == 2 and "from extensions: dipper" in err


def test_env_var_reaches_a_subprocess(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "d.py").write_text(textwrap.dedent(EXTENSION), encoding="utf-8")
    env = {**os.environ, "LOCKSTEP_EXTENSIONS": str(ext)}
    result = run_cli(
        "backtest", "dipper", "--data", "zigzag", "--out", str(tmp_path / "o"), "--no-report",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "zigzag (12 bars)" in result.stdout
