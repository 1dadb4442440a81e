"""The run report (HTML, PNG, trades CSV) and the built-in result sinks."""

from __future__ import annotations

import base64
import csv
import sqlite3
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.adapters.feeds import MissingDependencyError
from lockstep.runtime import StoreError, run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.report import MAX_TRADE_ROWS, chart_available, write_report
from lockstep.runtime.sinks import CsvSink, ParquetSink, RunResults, SqliteSink
from lockstep.runtime.store import RunStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("report") / "run.db"
    ds = load_dataset("daily")
    run_backtest(SmaCross(fast=5, slow=20), ds, setup_for(ds, fee_ppm=100), store=db)
    return db


class _Assets(HTMLParser):
    """Every URL-bearing attribute and every tag name of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.rows += tag == "tr"
        self.urls += [v or "" for k, v in attrs if k in {"src", "href", "srcset", "data", "action"}]


def test_report_files_and_a_self_contained_page(run_db: Path, tmp_path: Path) -> None:
    files = write_report(run_db, tmp_path / "out")
    assert files.html == tmp_path / "out" / "report.html"
    assert files.chart is not None and files.chart.read_bytes().startswith(PNG_SIGNATURE)
    page = files.html.read_text(encoding="utf-8")
    parser = _Assets()
    parser.feed(page)
    # No external asset of any kind: the one URL is the chart as a data URI.
    assert parser.urls == [
        f"data:image/png;base64,{base64.b64encode(files.chart.read_bytes()).decode()}"
    ]
    assert not parser.tags & {"script", "link", "iframe", "object", "embed"}
    text_only = page.replace(parser.urls[0], "")
    assert "http:" not in text_only and "https:" not in text_only and "url(" not in text_only
    assert "<style>" in page
    # Metrics, provenance and every trade are on the page.
    run = RunResults.load(run_db)
    for word in (
        "total return",
        "Sharpe (ann.)",
        "max drawdown",
        "data digest",
        "final state hash",
    ):
        assert word in page
    assert str(run.meta["data_digest"]) in page and str(run.results["final_state_hash"]) in page
    with files.trades.open(newline="") as handle:
        trades = list(csv.DictReader(handle))
    assert trades and len(trades) == run.metrics["trades"] + run.metrics["open_trades"]
    assert all(t["entry_time"] in page for t in trades)


def test_the_report_is_the_same_bytes_every_time(run_db: Path, tmp_path: Path) -> None:
    one = write_report(run_db, tmp_path / "a")
    two = write_report(run_db, tmp_path / "b")
    assert one.html.read_bytes() == two.html.read_bytes()
    assert one.chart is not None and two.chart is not None
    assert one.chart.read_bytes() == two.chart.read_bytes()


def test_report_defaults_to_the_run_directory(run_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run.db"
    copy.write_bytes(run_db.read_bytes())
    files = write_report(copy, chart=False)
    assert files.html.parent == tmp_path and files.chart is None
    assert "No chart: it needs matplotlib" in files.html.read_text(encoding="utf-8")


def test_without_matplotlib_the_chart_is_refused_before_writing(
    run_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert not chart_available()
    with pytest.raises(MissingDependencyError) as info:
        write_report(run_db, tmp_path / "out")
    assert "pip install 'lockstep-runtime[report]'" in str(info.value)
    assert not (tmp_path / "out").exists()
    files = write_report(run_db, tmp_path / "out", chart=False)  # the page still works
    assert files.html.is_file() and files.chart is None


def test_a_run_that_did_not_complete_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with RunStore.create(db) as store:
        store.start({"strategy_id": "x"})
        store.fail("StrategyError: boom", {})
    with pytest.raises(
        StoreError, match="the run's status is 'failed', not 'complete' \\(StrategyError: boom\\)"
    ):
        write_report(db, tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_long_trade_lists_are_cut_in_the_page_only(
    run_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lockstep.runtime.report.MAX_TRADE_ROWS", 3)
    files = write_report(run_db, tmp_path, chart=False)
    page = files.html.read_text(encoding="utf-8")
    total = len(RunResults.load(run_db).trade_table()[1])
    assert f"The first 3 of {total} trades" in page
    assert MAX_TRADE_ROWS > 3


def test_csv_sink_is_exact(run_db: Path, tmp_path: Path) -> None:
    run = RunResults.load(run_db)
    paths = CsvSink().write(run, tmp_path)
    assert [p.name for p in paths] == ["trades.csv", "equity.csv", "metrics.csv"]
    with (tmp_path / "equity.csv").open(newline="") as handle:
        equity = list(csv.DictReader(handle))
    stored = run.results["equity"]
    assert len(equity) == len(stored)
    assert Decimal(equity[-1]["equity"]) == Decimal(stored[-1][1]).scaleb(-run.money_precision)
    assert int(equity[0]["time_ns"]) == stored[0][0]
    worst = max(float(row["drawdown"]) for row in equity)
    assert worst == pytest.approx(run.metrics["max_drawdown"])
    with (tmp_path / "metrics.csv").open(newline="") as handle:
        metrics = dict(csv.reader(handle))
    assert metrics["trades"] == str(run.metrics["trades"])
    assert float(metrics["sharpe"]) == run.metrics["sharpe"]


def test_sqlite_sink_tables(run_db: Path, tmp_path: Path) -> None:
    run = RunResults.load(run_db)
    [path] = SqliteSink().write(run, tmp_path)
    SqliteSink().write(run, tmp_path)  # rewriting replaces the file
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"run", "metrics", "trades", "equity"}
        assert conn.execute("SELECT value FROM metrics WHERE name='trades'").fetchone() == (
            run.metrics["trades"],
        )
        header, rows = run.trade_table()
        assert conn.execute('SELECT "return" FROM trades ORDER BY rowid').fetchall() == [
            (r[header.index("return")],) for r in rows
        ]
        units = conn.execute("SELECT equity_units FROM equity ORDER BY time_ns").fetchall()
        assert [u for (u,) in units] == [e[1] for e in run.results["equity"]]


def test_parquet_sink_keeps_decimals_exact(run_db: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    run = RunResults.load(run_db)
    paths = ParquetSink().write(run, tmp_path)
    assert [p.name for p in paths] == ["trades.parquet", "equity.parquet", "metrics.parquet"]
    equity = pq.read_table(tmp_path / "equity.parquet")
    assert str(equity.schema.field("equity").type) == f"decimal128(38, {run.money_precision})"
    assert equity.column("equity").to_pylist()[-1] == Decimal(
        run.money(run.results["equity"][-1][1])
    )
    trades = pq.read_table(tmp_path / "trades.parquet")
    header, rows = run.trade_table()
    pnl = [Decimal(r[header.index("pnl")]) for r in rows]
    assert trades.column("pnl").to_pylist() == pnl
    assert trades.column("entry_time").type.tz == "UTC"
    metrics = pq.read_table(tmp_path / "metrics.parquet").to_pylist()[0]
    assert metrics["trades"] == run.metrics["trades"]


def test_parquet_sink_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'lockstep-adapters\[parquet\]'"):
        ParquetSink()
