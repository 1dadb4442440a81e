"""A backtest over bar feeds runs on packed bar blocks; the run is the one envelopes give.

Feeds that give bar columns take the columnar path (ADR 0017); the same feeds
seen through a wrapper that hides ``bar_columns`` take the envelope path. Both
must write the same run database, record for record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.adapters.bar_merge import columnar_feeds
from lockstep.adapters.feeds.base import Feed, WrappedFeed
from lockstep.core import BACKENDS
from lockstep.runtime import (
    Context,
    Signal,
    Signals,
    Strategy,
    Subscriptions,
    backtest,
    run_backtest,
)
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.builtin.sma_cross_signals import SmaCrossSignals
from lockstep.runtime.signals import above, crossover, sma
from runtime_kit import LOT, TST, engines, table_rows, write_dataset

TABLES = (("inputs", "seq"), ("records", "seq_id"), ("checkpoints", "seq_id"))


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("data", ["daily", "minute"])
def test_columns_and_envelopes_write_the_same_run(
    tmp_path: Path, data: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every backend can take bar blocks; the runtime hands them only to those that gain.
    monkeypatch.setattr(backtest, "COLUMNAR_BACKENDS", frozenset(BACKENDS))
    ds = load_dataset(data)
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    feeds: list[Feed] = ds.feeds()
    assert columnar_feeds(feeds) is not None, "bundled CSV feeds give bar columns"
    hidden: list[Feed] = [WrappedFeed(f) for f in ds.feeds()]
    assert columnar_feeds(hidden) is None
    results = []
    for name, given in (("columns", feeds), ("envelopes", hidden)):
        path = tmp_path / f"{name}.db"
        result = run_backtest(
            SmaCross(fast=5, slow=15), given, setup, engine=engine, store=path, checkpoint_every=300
        )
        results.append((path, result))
    (by_columns, a), (by_envelopes, b) = results
    for table, order in TABLES:
        assert table_rows(by_columns, table, order) == table_rows(by_envelopes, table, order), table
    assert a.final_state_hash == b.final_state_hash and a.last_hash == b.last_hash
    assert a.derived == b.derived
    assert a.bars == b.bars > 0


class DayLimits(Strategy):
    """Woken by BOLT's signals, trades ACME: a DAY limit buy of ACME under its close (some
    fill, some wait out their day) or, when long, a market sell. Every other item is
    quiet, so ACME's waiting DAY orders meet quiet items."""

    subscriptions = Subscriptions(instruments=("BOLT",))

    def signals(self) -> Signals:
        return Signals(
            indicators={"avg": sma("close", 3)}, conditions={"turn": crossover("close", "avg")}
        )

    def on_start(self, ctx: Context) -> None:
        self.seen = 0

    def on_signal(self, ctx: Context, signal: Signal) -> None:
        self.seen += 1
        if ctx.position("ACME") > 0:
            ctx.sell("ACME", ctx.position("ACME"))
            return
        closes = ctx.closes("ACME", 1)
        if closes:
            deep = 20 if self.seen % 2 else 2_000  # some fill, some wait out their day
            limit = ctx.price_decimal("ACME", closes[-1] - deep)
            ctx.buy("ACME", 5, limit=limit, tif="DAY")


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("data", ["daily", "minute"])
@pytest.mark.parametrize(
    "make",
    [lambda: SmaCross(fast=5, slow=15), lambda: SmaCrossSignals(fast=3, slow=8), DayLimits],
    ids=["sma_cross", "sma_cross_signals", "day_limits"],
)
def test_quiet_bars_tally_as_parsed_records_do(
    tmp_path: Path, engine: str, data: str, make: Callable[[], Strategy]
) -> None:
    """Without a store the runtime tallies a quiet bar from the bar it fed (it only checks
    the record's line says "no effects"); with a store it parses every record. Both runs
    must give the same results, trades, equity curve and trace head."""
    ds = load_dataset(data)
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    bare = run_backtest(make(), ds.feeds(), setup, engine=engine)
    stored = run_backtest(make(), ds.feeds(), setup, engine=engine, store=tmp_path / "run.db")
    assert bare.derived == stored.derived
    assert bare.equity == stored.equity and bare.trades == stored.trades
    assert (bare.last_hash, bare.final_state_hash) == (stored.last_hash, stored.final_state_hash)
    assert bare.warnings == stored.warnings  # DAY orders that never met a market event
    assert bare.intents > 0 and bare.bars == stored.bars > 0


def test_a_waiting_day_order_sees_the_quiet_bars_of_its_day(tmp_path: Path) -> None:
    """A DAY order placed late on day 1 sees quiet bars of its own day before it expires
    on day 2: it had its chance, so no "never had a chance" warning, store or not."""

    def rows(closes: list[str]) -> list[list[str]]:
        days = ["2024-01-02T20:0{}:00Z"] * 7 + ["2024-01-03T15:0{}:00Z"] * 2
        return [
            [day.format(n % 7), c, c, c, c, "1000"]
            for n, (day, c) in enumerate(zip(days, closes, strict=True))
        ]

    data = write_dataset(
        tmp_path / "late",
        {"TST": rows(["10.00"] * 9), "LOT": rows(["10.00"] * 3 + ["12.00"] + ["10.00"] * 5)},
        (TST, LOT),
    )

    class LateDay(Strategy):
        subscriptions = Subscriptions(instruments=("LOT",))

        def signals(self) -> Signals:
            return Signals(
                indicators={"last": sma("close", 1)},
                conditions={"spike": above("close", "11")},  # LOT's fourth bar only
            )

        def on_signal(self, ctx: Context, signal: Signal) -> None:
            ctx.buy("TST", 1, limit="1.00", tif="DAY")  # never fills

    for engine in engines():
        bare = run_backtest(
            LateDay("late"), data, setup_for(load_dataset(data), cash="1000"), engine=engine
        )
        stored = run_backtest(
            LateDay("late"),
            data,
            setup_for(load_dataset(data), cash="1000"),
            engine=engine,
            store=tmp_path / f"{engine}.db",
        )
        assert bare.derived.to_results(0)["counts"]["expired_orders"] == 1
        assert bare.warnings == stored.warnings == ()
