"""tif="DAY": an order lives until the end of the UTC day of its batch, and a run says when
one never had a chance to fill (the next event of its instrument was on a later UTC day)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import BacktestResult, Context, Event, OrderUpdate, Strategy, run_backtest
from runtime_kit import TST, daily_rows, run_cli, write_dataset

BARS = [("10.00", "10.10", "9.90", "10.00")] * 4


class Placer(Strategy):
    """On each of the first ``orders`` bars, a buy limit at 11.00: any bar it sees fills it."""

    params: ClassVar[dict[str, object]] = {"tif": "DAY", "orders": 1, "limit": "11.00"}

    def on_event(self, ctx: Context, event: Event) -> None:
        if len(ctx.bars("TST")) <= self.p.orders:
            ctx.buy("TST", 1, limit=self.p.limit, tif=self.p.tif)


def _run(tmp_path: Path, strategy: Strategy, rows: list[list[str]]) -> BacktestResult:
    data = write_dataset(tmp_path / "d", {"TST": rows}, [TST])
    return run_backtest(strategy, data, setup_for(load_dataset(data), cash="1000"))


def _intraday(times: list[str]) -> list[list[str]]:
    return [[t, "10.00", "10.10", "9.90", "10.00", "1000"] for t in times]


def test_a_day_order_on_daily_bars_expires_unseen_and_the_run_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, Placer(), daily_rows(BARS))
    assert not result.trades  # 11.00 would have filled at the next open: it was never matched
    (warning,) = result.warnings
    assert warning.startswith("1 DAY order of this run never had a chance to fill")
    assert "(first: placer-1 on TST, placed 2024-01-01T21:00:00Z" in warning
    assert "expired at 2024-01-02T21:00:00Z" in warning
    assert "UTC day" in warning and "GTC" in warning


def test_one_warning_counts_every_stranded_order(tmp_path: Path) -> None:
    result = _run(tmp_path, Placer(orders=3), daily_rows(BARS))
    (warning,) = result.warnings
    assert warning.startswith("3 DAY orders of this run")
    assert "first: placer-1 on TST, placed 2024-01-01T21:00:00Z" in warning


def test_gtc_on_daily_bars_fills_and_warns_nothing(tmp_path: Path) -> None:
    result = _run(tmp_path, Placer(tif="GTC"), daily_rows(BARS))
    assert len(result.trades) == 1 and result.warnings == ()


def test_day_orders_fill_within_the_utc_day_on_intraday_bars(tmp_path: Path) -> None:
    times = ["2024-01-02T14:30:00Z", "2024-01-02T15:30:00Z", "2024-01-02T23:59:59Z"]
    result = _run(tmp_path, Placer(orders=2), _intraday([*times, "2024-01-03T00:00:00Z"]))
    assert result.trades and result.trades[0].qty == 2  # both filled on the same UTC day
    assert result.warnings == ()


def test_the_day_boundary_is_utc_midnight_not_a_session(tmp_path: Path) -> None:
    # Placed at 23:59:59Z; the bar one second later is on the next UTC day and expires it.
    times = ["2024-01-02T23:59:59Z", "2024-01-03T00:00:00Z", "2024-01-03T00:00:01Z"]
    result = _run(tmp_path, Placer(), _intraday(times))
    assert not result.trades
    (warning,) = result.warnings
    assert "placed 2024-01-02T23:59:59Z, expired at 2024-01-03T00:00:00Z" in warning


def test_an_order_that_saw_an_event_of_its_day_had_its_chance(tmp_path: Path) -> None:
    # The limit is below every bar: matched (without a fill) at 15:30Z, expired the next day.
    times = ["2024-01-02T14:30:00Z", "2024-01-02T15:30:00Z", "2024-01-03T14:30:00Z"]
    result = _run(tmp_path, Placer(limit="5.00"), _intraday(times))
    assert not result.trades and result.warnings == ()


class PlaceAndCancel(Strategy):
    """A DAY order cancelled in the step it was accepted in never reaches a market event."""

    def on_event(self, ctx: Context, event: Event) -> None:
        if len(ctx.bars("TST")) == 1:
            ctx.buy("TST", 1, limit="11.00", tif="DAY")

    def on_order(self, ctx: Context, update: OrderUpdate) -> None:
        if update.status == "accepted" and update.order_id is not None:
            ctx.cancel(update.order_id)


def test_cancelled_day_orders_are_not_counted(tmp_path: Path) -> None:
    result = _run(tmp_path, PlaceAndCancel(), daily_rows(BARS))
    assert not result.trades and result.warnings == ()


DAY_STRATEGY = """
from lockstep.runtime import Strategy


class Daily(Strategy):
    params = {"tif": "DAY"}

    def on_event(self, ctx, event):
        if len(ctx.bars("TST")) <= 2:
            ctx.buy("TST", 1, limit="11.00", tif=self.p.tif)
"""


def test_cli_prints_one_warning_line_on_stderr(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": daily_rows(BARS)}, [TST])
    strategy = tmp_path / "daily.py"
    strategy.write_text(DAY_STRATEGY, encoding="utf-8")

    def backtest(tif: str) -> tuple[int, str, str]:
        out = tmp_path / tif
        done = run_cli(
            "backtest", str(strategy), "--data", str(data), "--cash", "1000", "--out", str(out),
            "--param", f"tif={tif}", "--no-report",
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    code, stdout, stderr = backtest("DAY")
    assert code == 0, stderr
    (line,) = [x for x in stderr.splitlines() if "DAY order" in x]
    assert line.startswith("lockstep: warning: 2 DAY orders of this run never had a chance")
    assert "first: daily-1 on TST, placed 2024-01-01T21:00:00Z" in line
    assert "lockstep: warning" not in stdout
    code, _, stderr = backtest("GTC")
    assert code == 0 and "DAY order" not in stderr
