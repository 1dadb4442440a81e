"""Open trades at the end of a run are marked, and rejected intents are counted by reason.

Every expected number is worked out by hand in the docstrings.
"""

from __future__ import annotations

import csv
from pathlib import Path

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import Context, Event, Strategy, run_backtest, verify_run
from lockstep.runtime.backtest import BacktestResult
from lockstep.runtime.sinks import RunResults
from lockstep.runtime.summary import format_rows, summary_rows
from runtime_kit import LOT, TST, daily_rows, run_cli, write_dataset

ROWS = {
    "TST": daily_rows(
        [
            ("100.00", "101.00", "99.50", "100.50"),
            ("100.00", "100.20", "98.50", "99.20"),
            ("99.50", "100.00", "99.00", "99.80"),
        ]
    ),
    "LOT": daily_rows(
        [
            ("50.00", "50.10", "49.90", "50.00"),
            ("50.50", "50.60", "50.40", "50.45"),
            ("50.60", "51.20", "50.50", "51.00"),
        ]
    ),
}


class OpenBoth(Strategy):
    """On the first wake-up: a long in TST, a short in LOT, and one intent the core rejects."""

    name = "open-both"

    def __init__(self) -> None:
        super().__init__()
        self.placed = False

    def on_event(self, ctx: Context, event: Event) -> None:
        if not self.placed:
            self.placed = True
            ctx.buy("TST", 5, limit="99.00")
            ctx.buy("LOT", 15)  # not a multiple of the lot size 10: QTY_OFF_LOT
            ctx.sell("LOT", "20", limit="50.05")


def _run(tmp_path: Path, warn_rejected_share: float | None = None) -> BacktestResult:
    data = write_dataset(tmp_path / "data", ROWS, [TST, LOT])
    setup = setup_for(load_dataset(data), cash="10000")
    return run_backtest(
        OpenBoth(),
        data,
        setup,
        store=tmp_path / "run.db",
        warn_rejected_share=warn_rejected_share,
    )


def test_open_long_and_short_are_marked_to_the_last_close(tmp_path: Path) -> None:
    """Bar 2 fills: TST buy 5 at 99.00 (49,500), LOT sell 20 at the open 50.50 (101,000); no fees.

    Last closes: TST 99.80, LOT 51.00 (money precision 2, so price units are money units).
    TST long: 5 * 9,980 = 49,900 against 49,500: +400 unrealised (4.00 USD), return 400/49,500.
    LOT short: 20 * 5,100 = 102,000 against 101,000: -1,000 unrealised (-10.00), -1,000/101,000.
    Equity: cash 1,000,000 - 49,500 + 101,000 = 1,051,500, plus 49,900 - 102,000 = 999,400.
    """
    run = RunResults.load(_run(tmp_path).store_path or "")
    short, long = run.trades()  # numbered in trace order: the LOT fill comes first
    assert (long.instrument, long.direction, long.closed) == ("TST", "long", False)
    assert (long.mark_price, long.mark_notional) == (9980, 49_900)
    assert (long.realised_pnl, long.unrealised_pnl, long.pnl) == (0, 400, 400)
    assert (short.instrument, short.direction, short.closed) == ("LOT", "short", False)
    assert (short.mark_price, short.mark_notional) == (5100, 102_000)
    assert (short.realised_pnl, short.unrealised_pnl, short.pnl) == (0, -1_000, -1_000)

    metrics = run.metrics
    assert metrics["final_equity"] == 999_400 == metrics["initial_equity"] - 600
    assert metrics["unrealised_pnl"] == -600
    assert (metrics["trades"], metrics["open_trades"]) == (0, 2)

    path = tmp_path / "trades.csv"
    run.write_trades_csv(path)
    with path.open(newline="") as handle:
        rows = {r["instrument"]: r for r in csv.DictReader(handle)}
    picked = ("status", "exit_price", "pnl", "unrealised_pnl", "mark_price", "return")
    assert [rows["TST"][k] for k in picked] == ["open", "", "4.00", "4.00", "99.80", "0.008081"]
    assert [rows["LOT"][k] for k in picked] == [
        "open",
        "",
        "-10.00",
        "-10.00",
        "51.00",
        "-0.009901",
    ]
    text = format_rows(summary_rows(run.meta, run.results))
    assert "0 closed, 2 open (unrealised -6.00 USD)" in text
    assert verify_run(run.path).ok


def test_rejections_are_counted_by_reason_with_examples(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.rejected_intents == 1
    assert not result.warnings  # orders did fill: the default rule stays quiet
    run = RunResults.load(result.store_path or "")
    rejections = run.results["rejections"]
    assert rejections["by_reason"] == {"QTY_OFF_LOT": 1}
    [example] = rejections["examples"]
    assert (example["instrument"], example["side"], example["order_type"], example["qty"]) == (
        "LOT",
        "buy",
        "market",
        15,
    )
    text = format_rows(summary_rows(run.meta, run.results))
    assert "rejected        QTY_OFF_LOT 1" in text
    assert "buy market LOT qty 15" in text and "-> QTY_OFF_LOT" in text

    [warning] = _run(tmp_path / "again", warn_rejected_share=0.2).warnings
    assert "1 of 3 intents were rejected (QTY_OFF_LOT 1) more than 20.00%" in warning


STRATEGY = """
from lockstep.runtime import Strategy


class OffTick(Strategy):
    name = "off-tick"

    def on_event(self, ctx, event):
        ctx.buy("LOT", 10, limit="50.01")  # LOT's tick is 0.05: PRICE_OFF_TICK every time
"""


def test_a_run_that_only_had_rejections_warns_and_shows_them(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", {"LOT": ROWS["LOT"]}, [LOT])
    strategy = tmp_path / "off_tick.py"
    strategy.write_text(STRATEGY, encoding="utf-8")
    out = tmp_path / "run"
    result = run_cli("backtest", str(strategy), "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "lockstep: warning: 3 of 3 intents were rejected (PRICE_OFF_TICK 3) and no order" in (
        result.stderr
    )
    assert "rejected        PRICE_OFF_TICK 3" in result.stdout
    assert "limit LOT qty 10 price 50.01" in result.stdout

    shown = run_cli("runs", "show", str(out / "run.db"))
    assert "PRICE_OFF_TICK 3" in shown.stdout and "price 50.01" in shown.stdout
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "PRICE_OFF_TICK 3" in page and "price 50.01" in page
