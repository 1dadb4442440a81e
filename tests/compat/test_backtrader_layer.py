"""The Backtrader layer's own contract: core routing, refusals, divergences, the API surface.

The side-by-side suite compares whole runs; these tests pin what the layer
promises beyond that: a compat run is a Lockstep run (stored, verifiable by
replay, every order an intent), settings the core cannot honour are refused,
known divergences warn, and the strategy-facing API (params, data lines,
custom indicators, optstrategy) behaves as Backtrader's does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import backtrader as real_bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lockstep.runtime.compat.backtrader as ls_bt
from lockstep.adapters import FeedError, InstrumentSpec, MemoryFeed
from lockstep.runtime import RunStore, verify_run
from lockstep.runtime.compat.backtrader.core_feeds import BarColumns, ColumnFeed
from lockstep.runtime.compat.backtrader.feeds import price_units, units

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "backtrader_sma.py"


def frame(seed: int, n: int = 120, start: str = "2022-01-03") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 5_000 + np.cumsum(rng.integers(-90, 91, n))
    open_ = close + rng.integers(-60, 61, n)
    high = np.maximum(open_, close) + rng.integers(0, 80, n)
    low = np.minimum(open_, close) - rng.integers(0, 80, n)
    return pd.DataFrame(
        {
            "Open": open_ / 100,
            "High": high / 100,
            "Low": low / 100,
            "Close": close / 100,
            "Volume": rng.integers(100, 900, n),
        },
        index=pd.bdate_range(start, periods=n),
    )


def load_module(path: Path, name: str, source: str | None = None) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source or path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


# --------------------------------------------------------------------------- the example


def test_example_runs_stores_verifies_and_matches_backtrader(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bt_example", EXAMPLE)
    assert spec is not None
    mine = load_module(EXAMPLE, "bt_example_lockstep")
    db = tmp_path / "run.db"
    value = mine.main(store=str(db), printlog=False)
    report = verify_run(db)
    assert report.ok, str(report)
    # The run names and seals the user's Backtrader strategy, not the layer's bridge.
    with RunStore.open(db) as store:
        meta = store.meta()
    assert meta["strategy"].startswith("bt_example_lockstep:")
    assert meta["strategy_source"] == {
        "path": str(EXAMPLE.resolve()),
        "sha256": hashlib.sha256(EXAMPLE.read_bytes()).hexdigest(),
    }
    source = EXAMPLE.read_text(encoding="utf-8")
    swapped = source.replace(
        "import lockstep.runtime.compat.backtrader as bt", "import backtrader as bt"
    )
    assert swapped != source
    theirs = load_module(EXAMPLE, "bt_example_backtrader", swapped)
    assert abs(theirs.main(printlog=False) - value) < 0.005
    assert value != 100_000.0


# --------------------------------------------------------------------------- routing through the core


def _simple(bt: ModuleType) -> type:
    class Simple(bt.Strategy):
        def next(self) -> None:
            n = len(self)
            if n == 3:
                self.buy(size=10)
            elif n == 5:
                self.buy(size=5, exectype=bt.Order.Limit, price=self.data.close[0] - 0.3)
                self.sell(size=5, exectype=bt.Order.Stop, price=self.data.close[0] - 1.0)
            elif n == 8:
                self.close(exectype=bt.Order.Close)
            elif n == 10:
                self.buy(
                    size=3,
                    exectype=bt.Order.StopLimit,
                    price=self.data.close[0] + 0.1,
                    plimit=self.data.close[0] + 0.5,
                    valid=bt.Order.DAY,
                )

    return Simple


def test_every_order_is_an_intent_and_the_run_replays(tmp_path: Path) -> None:
    cerebro = ls_bt.Cerebro(store=str(tmp_path / "run.db"))
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(1)), name="ACME")
    cerebro.addstrategy(_simple(ls_bt))
    cerebro.broker.setcommission(commission=0.0015)
    cerebro.run()
    result = cerebro.lockstep_results[0]
    assert verify_run(tmp_path / "run.db").ok
    with RunStore.open(tmp_path / "run.db") as store:
        inputs = [item for _, item in store.inputs()]
        setup = store.meta()["setup"]
    assert setup["venues"][0]["fee_ppm"] == 1500
    places = [
        i
        for item in inputs
        if item["kind"] == "intent_batch"
        for i in item["intents"]
        if i["type"] == "place_order"
    ]
    kinds = {(p["order_type"], p["time_in_force"]) for p in places}
    assert kinds >= {("market", "GTC"), ("limit", "GTC"), ("stop", "GTC"), ("stop_limit", "DAY")}
    # bars and their closing prints (1 ns later) are the market inputs
    events = [
        e
        for item in inputs
        for e in (item["events"] if item["kind"] == "event_group" else [item])
        if e["kind"] == "event"
    ]
    assert {e["event_type"] for e in events} == {"bar", "trade"}
    bars = [e for e in events if e["event_type"] == "bar"]
    prints = [e for e in events if e["event_type"] == "trade"]
    assert [e["event_time"] + 1 for e in bars] == [e["event_time"] for e in prints]
    assert all(
        p["payload"]["price"] == b["payload"]["close"] for b, p in zip(bars, prints, strict=True)
    )
    assert result.intents >= len(places) >= 5
    final = result.metrics.final_equity / 10**result.metrics.money_precision
    assert math.isclose(cerebro.broker.getvalue(), final, rel_tol=1e-15)


def test_a_rerun_gives_the_same_trace() -> None:
    hashes = []
    for _ in range(2):
        cerebro = ls_bt.Cerebro()
        cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(2)))
        cerebro.addstrategy(_simple(ls_bt))
        cerebro.run()
        hashes.append(cerebro.lockstep_results[0].last_hash)
    assert hashes[0] == hashes[1]


# --------------------------------------------------------------------------- refusals and divergences


def _cerebro(df: pd.DataFrame | None = None) -> Any:
    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(3) if df is None else df))
    cerebro.addstrategy(_simple(ls_bt))
    return cerebro


@pytest.mark.parametrize(
    "configure",
    [
        lambda c: c.broker.setcommission(commission=1.0, commtype=ls_bt.CommInfoBase.COMM_FIXED),
        lambda c: c.broker.setcommission(commission=2.0, margin=1000.0, mult=10.0),
        lambda c: c.broker.setcommission(commission=0.00012345),
        lambda c: c.broker.set_slippage_perc(0.01),
        lambda c: c.broker.set_coc(True),
        lambda c: c.broker.set_shortcash(False),
    ],
    ids=["fixed-fee", "futures", "fractional-ppm", "slippage", "coc", "shortcash"],
)
def test_settings_the_core_cannot_honour_are_refused(configure: Any) -> None:
    cerebro = _cerebro()
    with pytest.raises(ls_bt.CompatError):
        configure(cerebro)
        cerebro.run()


def test_feed_time_zones_are_refused() -> None:
    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(3), tz="US/Eastern"))
    cerebro.addstrategy(_simple(ls_bt))
    with pytest.raises(ls_bt.CompatError, match="tz"):
        cerebro.run()


def test_unsupported_cerebro_options_are_refused() -> None:
    with pytest.raises(ls_bt.CompatError):
        ls_bt.Cerebro(cheat_on_open=True)
    with pytest.raises(ls_bt.CompatError):
        ls_bt.Cerebro().resampledata(None)


def test_unsupported_order_kinds_are_refused() -> None:
    class Trailing(ls_bt.Strategy):
        def next(self) -> None:
            self.sell(size=1, exectype=ls_bt.Order.StopTrail, trailamount=1.0)

    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(4)))
    cerebro.addstrategy(Trailing)
    with pytest.raises(ls_bt.CompatError, match="trailamount"):
        cerebro.run()


def _gap_up() -> pd.DataFrame:
    """Bar 2 closes at 100 and bar 3 opens at 110: an all-in market buy cannot be paid."""
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (110, 111, 109, 110), (110, 112, 108, 111)]
    return pd.DataFrame(
        [(*r, 1000) for r in rows],
        columns=["open", "high", "low", "close", "volume"],
        index=pd.bdate_range("2023-01-02", periods=len(rows)),
    )


def _margin_statuses(bt: ModuleType) -> list[str]:
    class AllIn(bt.Strategy):
        def start(self) -> None:
            self.statuses: list[str] = []

        def notify_order(self, order: Any) -> None:
            self.statuses.append(order.getstatusname())

        def next(self) -> None:
            if len(self) == 2:
                self.buy()

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=_gap_up()))
    cerebro.addsizer(bt.sizers.AllInSizerInt)
    cerebro.addstrategy(AllIn)
    (strat,) = cerebro.run()
    statuses: list[str] = strat.statuses
    return statuses


def test_margin_at_fill_time_is_a_documented_divergence_that_warns() -> None:
    assert _margin_statuses(real_bt) == ["Submitted", "Accepted", "Margin"]
    with pytest.warns(ls_bt.CompatWarning, match="Margin"):
        assert _margin_statuses(ls_bt) == ["Submitted", "Accepted", "Completed"]


def test_submission_margin_check_matches_backtrader() -> None:
    def statuses(bt: ModuleType) -> list[str]:
        class TooBig(bt.Strategy):
            def start(self) -> None:
                self.seen: list[str] = []

            def notify_order(self, order: Any) -> None:
                self.seen.append(order.getstatusname())

            def next(self) -> None:
                if len(self) == 2:
                    self.buy(size=1_000)  # 100,000 of stock with 10,000 of cash
                    self.buy(size=50)

        cerebro = bt.Cerebro()
        cerebro.adddata(bt.feeds.PandasData(dataname=_gap_up()))
        cerebro.addstrategy(TooBig)
        (strat,) = cerebro.run()
        seen: list[str] = strat.seen
        return seen

    assert statuses(ls_bt) == statuses(real_bt)
    assert "Margin" in statuses(ls_bt)


# --------------------------------------------------------------------------- API surface


def _api_probe(bt: ModuleType) -> type:
    class Mid(bt.Indicator):
        lines = ("mid",)

        def __init__(self) -> None:
            self.lines.mid = (self.data.high + self.data.low) / 2.0

    class Range(bt.Indicator):
        lines = ("range",)
        params = (("period", 5),)

        def __init__(self) -> None:
            self.addminperiod(self.p.period)

        def next(self) -> None:
            highs = self.data.high.get(size=self.p.period)
            lows = self.data.low.get(size=self.p.period)
            self.lines.range[0] = max(highs) - min(lows)

    class Probe(bt.Strategy):
        params = {"period": 7, "factor": 1.5}  # noqa: RUF012 - the dict form of params

        def __init__(self) -> None:
            self.mid = Mid(self.data)
            self.range = Range(self.data, period=self.p.period)
            self.sma = bt.ind.SMA(self.mid, period=4)
            self.band = self.sma + self.range * self.p.factor
            self.up = bt.And(self.data.close > self.sma, self.data1.close > self.data1.open)
            self.best = bt.Max(self.data.close, self.data1.close)
            self.pick = bt.If(self.up, self.data.high, self.data.low)
            self.ema = bt.ind.EMA(self.data1, period=5)
            self.wma = bt.ind.WMA(self.data, period=6)
            self.stoch = bt.ind.StochasticFast(self.data, period=5)
            self.macd = bt.ind.MACD(self.data1, period_me1=4, period_me2=9, period_signal=3)
            self.rows: list[tuple[Any, ...]] = []

        def prenext(self) -> None:
            self.rows.append(("prenext", len(self), len(self.data), len(self.data1)))

        def next(self) -> None:
            self.rows.append(
                (
                    len(self),
                    self.data.datetime.date(0).isoformat(),
                    self.datas[1].datetime.datetime(0).isoformat(),
                    self.p.period,
                    self.params.factor,
                    self.data.close[0],
                    self.data0.close[-1],
                    self.data_close[0],
                    self.data1_open[0],
                    self.data[0],
                    self.mid[0],
                    self.range[0],
                    self.band[0],
                    self.up[0],
                    self.best[0],
                    self.pick[0],
                    self.ema[0],
                    self.wma.wma[0],
                    self.stoch.percK[0],
                    self.stoch.percD[0],
                    self.macd.macd[0],
                    self.macd.signal[-1],
                    self.data.close > self.sma,
                    self.data.close[0] - self.sma[0],
                )
            )

    return Probe


def _probe_rows(bt: ModuleType) -> list[tuple[Any, ...]]:
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame(5)), name="A")
    cerebro.adddata(bt.feeds.PandasData(dataname=frame(6)), name="B")
    cerebro.addstrategy(_api_probe(bt), factor=2.0)
    (strat,) = cerebro.run()
    rows: list[tuple[Any, ...]] = strat.rows
    return rows


def test_data_lines_params_indicators_and_line_arithmetic_match_backtrader() -> None:
    mine, theirs = _probe_rows(ls_bt), _probe_rows(real_bt)
    assert len(mine) == len(theirs) > 100
    for a, b in zip(mine, theirs, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(y, float) and math.isnan(y):
                assert math.isnan(x)
            else:
                assert x == y, (a, b)


def test_lookahead_indexing_is_refused_during_next() -> None:
    class Peek(ls_bt.Strategy):
        def next(self) -> None:
            self.data.close[1]

    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(7)))
    cerebro.addstrategy(Peek)
    with pytest.raises(Exception, match="future"):
        cerebro.run()


def _opt(bt: ModuleType) -> list[tuple[Any, ...]]:
    class Cross(bt.Strategy):
        params = (("fast", 5), ("slow", 20))

        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(
                bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
            )

        def next(self) -> None:
            if self.cross > 0:
                self.buy(size=10)
            elif self.cross < 0 and self.position:
                self.close()

    cerebro = bt.Cerebro(maxcpus=1)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame(8, n=200)))
    cerebro.addanalyzer(bt.analyzers.Returns, _name="ret")
    cerebro.optstrategy(Cross, fast=[3, 5, 8], slow=(15, 25))
    runs = cerebro.run()
    return [
        (run[0].params.fast, run[0].params.slow, run[0].analyzers.ret.get_analysis()["rtot"])
        for run in runs
    ]


def test_optstrategy_runs_every_combination_like_backtrader() -> None:
    mine, theirs = _opt(ls_bt), _opt(real_bt)
    assert [m[:2] for m in mine] == [t[:2] for t in theirs]
    assert len(mine) == 6
    for m, t in zip(mine, theirs, strict=True):
        assert math.isclose(m[2], t[2], rel_tol=1e-9, abs_tol=1e-12)
    assert len({m[2] for m in mine}) > 1


def test_generic_csv_with_separate_time_column(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    rows = ["date;time;o;h;l;c;v"]
    df = frame(9, n=60)
    for stamp, row in df.iterrows():
        rows.append(
            f"{stamp:%d/%m/%Y};15:30:00;{row.Open:.2f};{row.High:.2f};{row.Low:.2f};"
            f"{row.Close:.2f};{int(row.Volume)}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def closes(bt: ModuleType) -> list[tuple[str, float]]:
        class Read(bt.Strategy):
            def start(self) -> None:
                self.seen: list[tuple[str, float]] = []

            def next(self) -> None:
                self.seen.append((self.data.datetime.datetime(0).isoformat(), self.data.close[0]))

        cerebro = bt.Cerebro()
        data = bt.feeds.GenericCSVData(
            dataname=str(path),
            separator=";",
            dtformat="%d/%m/%Y",
            tmformat="%H:%M:%S",
            datetime=0,
            time=1,
            open=2,
            high=3,
            low=4,
            close=5,
            volume=6,
            openinterest=-1,
            timeframe=bt.TimeFrame.Minutes,
        )
        cerebro.adddata(data)
        cerebro.addstrategy(Read)
        (strat,) = cerebro.run()
        seen: list[tuple[str, float]] = strat.seen
        return seen

    assert closes(ls_bt) == closes(real_bt)
    assert len(closes(ls_bt)) == 60


# --------------------------------------------------------------------------- price rounding


@given(
    grid=st.integers(min_value=1, max_value=10_000_000),
    order_price=st.floats(min_value=0.01, max_value=100_000.0, allow_nan=False),
)
def test_rounded_order_prices_keep_every_comparison_with_bar_prices(
    grid: int, order_price: float
) -> None:
    bar_price = grid / 100  # a quote on the 0.01 grid, as a float like the feed's
    bar_units = units(bar_price, 8)
    down = price_units(order_price, 8, "down")
    up = price_units(order_price, 8, "up")
    assert (bar_price <= order_price) == (bar_units <= down)
    assert (bar_price >= order_price) == (bar_units >= up)
    assert abs(down / 1e8 - order_price) <= 2e-8 and abs(up / 1e8 - order_price) <= 2e-8


def test_no_warning_on_an_ordinary_run() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ls_bt.CompatWarning)
        _cerebro().run()


def test_a_position_mirror_that_drifts_from_the_core_stops_the_run() -> None:
    """The float mirror is checked against the core after every execution."""

    class Tamper(ls_bt.Strategy):
        def next(self) -> None:
            if len(self) == 3:
                self.buy(size=1)
            elif len(self) == 6:
                self.position.size += 1  # the mirror no longer matches the core
                self.buy(size=1)

    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=frame(3, n=20)), name="ACME")
    cerebro.addstrategy(Tamper)
    with pytest.raises(ls_bt.CompatError, match="position mirror"):
        cerebro.run()


def test_a_bar_price_that_is_not_positive_is_refused_where_it_is() -> None:
    """The layer's bars reach the core from packed columns, checked as any bar feed's rows."""
    data = frame(5, n=6)
    data.iloc[2, data.columns.get_loc("Low")] = 0.0
    cerebro = ls_bt.Cerebro()
    cerebro.adddata(ls_bt.feeds.PandasData(dataname=data), name="ACME")
    cerebro.addstrategy(ls_bt.Strategy)
    with pytest.raises(FeedError, match=r"bt:ACME:3: column 'low': 0 is outside 1\.\."):
        cerebro.run()


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.integers(0, 500), st.integers(0, 10**6)),
        min_size=1,
        max_size=30,
    )
)
def test_column_feeds_give_the_events_a_memory_feed_gives(rows: list[tuple[int, int, int]]) -> None:
    """Bars from columns equal ``MemoryFeed.from_bars`` of the same rows; prints follow at +1 ns."""
    spec = InstrumentSpec("ACME", "sim", "USD", 2, 0)
    columns = BarColumns()
    table = []
    for n, (low, spread, volume) in enumerate(rows):
        bar = (1_000 * (n + 1), low + spread // 2, low + spread, low, low + spread // 3, volume)
        columns.append(*bar)
        table.append(bar)
    bars = list(ColumnFeed(spec, columns, prints=False, name="bt:ACME"))
    assert bars == list(MemoryFeed.from_bars(spec, table, name="bt:ACME"))
    prints = list(ColumnFeed(spec, columns, prints=True, name="bt:ACME:close"))
    assert [(p.event_time, p.payload) for p in prints] == [
        (b.event_time + 1, {"price": b.payload["close"], "size": b.payload["volume"]}) for b in bars
    ]
    again = ColumnFeed(spec, columns, prints=False, name="bt:ACME").fingerprint()
    assert again == ColumnFeed(spec, columns, prints=False, name="x").fingerprint()
