"""The Backtrader layer against Backtrader itself: same strategies, same data, same results.

Every case is written once as a function of the ``bt`` module and run twice,
with ``backtrader`` (from PyPI) and with ``lockstep.runtime.compat.backtrader``.
The order notifications (bar, status, size, execution price and size,
commission), the trade notifications, the sequence of prenext/nextstart/next
calls, the analyzers' results and the final cash and value must agree. Data is
seeded and on a 0.01 price grid, as real quotes are.

``backtrader`` is a test requirement: without it this module fails to import
(loudly), it is never skipped.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import backtrader as real_bt
import numpy as np
import pandas as pd
import pytest

import lockstep.runtime.compat.backtrader as ls_bt
from lockstep.adapters import dataset_path

# --------------------------------------------------------------------------- data


def frame(seed: int, n: int = 260, start: str = "2021-01-04", base: int = 10_000) -> pd.DataFrame:
    """Seeded daily OHLCV bars; prices are whole cents, volumes whole shares."""
    rng = np.random.default_rng(seed)
    close = base + np.cumsum(rng.integers(-180, 181, n))
    close = np.maximum(close, 500)
    open_ = np.maximum(close + rng.integers(-120, 121, n), 100)
    high = np.maximum(open_, close) + rng.integers(0, 150, n)
    low = np.maximum(np.minimum(open_, close) - rng.integers(0, 150, n), 50)
    index = pd.bdate_range(start, periods=n)
    return pd.DataFrame(
        {
            "open": open_ / 100,
            "high": high / 100,
            "low": low / 100,
            "close": close / 100,
            "volume": rng.integers(1_000, 50_000, n),
        },
        index=index,
    )


# --------------------------------------------------------------------------- recording


class Money(float):
    """A money amount in an event: compared to 1e-4 (sizes and prices to 1e-6).

    The layer's fixed-point units round order prices and fractional sizes to
    8 decimals; a P&L is a size times a price difference, so it may move in
    the 5th decimal. Everything else is compared exactly.
    """


def same_event(mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> bool:
    if len(mine) != len(theirs):
        return False
    for a, b in zip(mine, theirs, strict=True):
        if isinstance(b, Money):
            if not math.isclose(a, b, abs_tol=1e-4):
                return False
        elif isinstance(b, float):
            if not math.isclose(a, b, abs_tol=1e-6):
                return False
        elif a != b:
            return False
    return True


def recorder(bt: ModuleType) -> type:
    """A strategy base that records what the engine tells it."""

    class Recorder(bt.Strategy):  # type: ignore[name-defined,misc]
        def start(self) -> None:
            self.events: list[tuple[Any, ...]] = []
            self.calls: list[tuple[str, int]] = []
            self.refs: dict[int, int] = {}

        def _local(self, order: Any) -> int:
            return self.refs.setdefault(order.ref, len(self.refs) + 1)

        def notify_order(self, order: Any) -> None:
            ex = order.executed
            self.events.append(
                (
                    "order",
                    len(self),
                    self._local(order),
                    order.data._name,
                    order.ordtypename(),
                    order.getordername(),
                    order.getstatusname(),
                    float(order.created.size),
                    float(ex.size),
                    float(ex.price),
                    Money(ex.comm),
                    Money(ex.pnl),
                )
            )

        def notify_trade(self, trade: Any) -> None:
            self.events.append(
                (
                    "trade",
                    len(self),
                    trade.data._name,
                    trade.status_names[trade.status],
                    float(trade.size),
                    float(trade.price),
                    Money(trade.pnl),
                    Money(trade.pnlcomm),
                    trade.barlen,
                )
            )

        def prenext(self) -> None:
            self.calls.append(("prenext", len(self)))

        def nextstart(self) -> None:
            self.calls.append(("nextstart", len(self)))
            self.next()

        def next(self) -> None:
            self.calls.append(("next", len(self)))
            self.step()

        def step(self) -> None:
            raise NotImplementedError

    return Recorder


@dataclass
class Case:
    name: str
    strategy: Callable[[ModuleType], type]
    datas: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    csv: list[tuple[str, Path]] = field(default_factory=list)
    cash: float = 100_000.0
    commission: float = 0.0
    per_data_commission: dict[str, float] = field(default_factory=dict)
    sizer: Callable[[ModuleType], tuple[type, dict[str, Any]]] | None = None
    analyzers: bool = True
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    events: list[tuple[Any, ...]]
    calls: list[tuple[str, int]]
    value: float
    cash: float
    analysis: dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def run_case(bt: ModuleType, case: Case) -> Outcome:
    cerebro = bt.Cerebro(stdstats=False)
    for name, df in case.datas:
        cerebro.adddata(bt.feeds.PandasData(dataname=df), name=name)
    for name, path in case.csv:
        data = bt.feeds.GenericCSVData(
            dataname=str(path),
            dtformat="%Y-%m-%dT%H:%M:%S%z",
            datetime=0,
            open=1,
            high=2,
            low=3,
            close=4,
            volume=5,
            openinterest=-1,
        )
        cerebro.adddata(data, name=name)
    cerebro.broker.setcash(case.cash)
    cerebro.broker.setcommission(commission=case.commission)
    for name, comm in case.per_data_commission.items():
        cerebro.broker.setcommission(commission=comm, name=name)
    if case.sizer is not None:
        cls, kwargs = case.sizer(bt)
        cerebro.addsizer(cls, **kwargs)
    if case.analyzers:
        cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
        cerebro.addanalyzer(
            bt.analyzers.SharpeRatio, _name="sharpe_daily", timeframe=bt.TimeFrame.Days
        )
        cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
        cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
        cerebro.addanalyzer(bt.analyzers.Returns, _name="returns")
    cerebro.addstrategy(case.strategy(bt), **case.params)
    (strat,) = cerebro.run()
    analysis = {}
    if case.analyzers:
        for name in ("sharpe", "sharpe_daily", "drawdown", "trades", "returns"):
            analysis[name] = _plain(getattr(strat.analyzers, name).get_analysis())
    return Outcome(
        strat.events, strat.calls, cerebro.broker.getvalue(), cerebro.broker.getcash(), analysis
    )


def assert_close(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {set(a) ^ set(b)}"
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            assert a is b, path
        elif math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), path
        else:
            assert math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-6), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- strategies


def sma_cross(bt: ModuleType) -> type:
    """Market orders on SMA crossings, FixedSize sizer, percentage commission."""

    class SmaCross(recorder(bt)):  # type: ignore[misc]
        params = (("fast", 8), ("slow", 21))

        def __init__(self) -> None:
            fast = bt.ind.SMA(period=self.p.fast)
            slow = bt.indicators.SimpleMovingAverage(self.data.close, period=self.p.slow)
            self.cross = bt.ind.CrossOver(fast, slow)

        def step(self) -> None:
            if self.cross > 0:
                if self.position.size < 0:
                    self.close()
                self.buy()
            elif self.cross < 0:
                if self.position.size > 0:
                    self.close()
                self.sell()

    return SmaCross


def limit_valid(bt: ModuleType) -> type:
    """Limit entries below the close valid for a few days, limit exits, cancels of stale orders."""

    class LimitValid(recorder(bt)):  # type: ignore[misc]
        params = {"period": 10, "days": 3}  # noqa: RUF012 - the dict form of params

        def __init__(self) -> None:
            self.ema = bt.ind.EMA(period=self.p.period)
            self.entry = None
            self.exit = None

        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            if not order.alive():
                if self.entry is not None and order.ref == self.entry.ref:
                    self.entry = None
                if self.exit is not None and order.ref == self.exit.ref:
                    self.exit = None

        def step(self) -> None:
            close = self.data.close[0]
            if not self.position and self.entry is None and close > self.ema[0]:
                valid = self.data.datetime.date(0) + dt.timedelta(days=self.p.days)
                self.entry = self.buy(
                    exectype=bt.Order.Limit, price=round(close * 0.985, 2), size=50, valid=valid
                )
            elif self.position and self.exit is None:
                self.exit = self.sell(
                    exectype=bt.Order.Limit,
                    price=self.position.price * 1.03,
                    size=self.position.size,
                )
            elif self.position and self.exit is not None and len(self) % 15 == 0:
                self.cancel(self.exit)

    return LimitValid


def stop_breakout(bt: ModuleType) -> type:
    """Stop entries above the recent high, protective stop-loss sells, trailing re-placement."""

    class StopBreakout(recorder(bt)):  # type: ignore[misc]
        params = (("lookback", 15), ("atr", 10))

        def __init__(self) -> None:
            self.high = bt.ind.Highest(self.data.high, period=self.p.lookback)
            self.low = bt.ind.Lowest(self.data.low, period=self.p.lookback)
            self.atr = bt.ind.ATR(self.data, period=self.p.atr)
            self.pending = None

        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            if self.pending is not None and order.ref == self.pending.ref and not order.alive():
                self.pending = None

        def step(self) -> None:
            if self.pending is not None:
                self.cancel(self.pending)
                self.pending = None
            if not self.position:
                self.pending = self.buy(exectype=bt.Order.Stop, price=self.high[0], size=30)
            else:
                stop = max(self.low[0], self.data.close[0] - 2 * self.atr[0])
                self.pending = self.sell(exectype=bt.Order.Stop, price=stop, size=30)

    return StopBreakout


def stop_limit(bt: ModuleType) -> type:
    """Stop-limit entries and exits, both sides, with an allowance over the trigger."""

    class StopLimit(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rsi = bt.ind.RSI(self.data, period=14)
            self.order = None

        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            if self.order is not None and order.ref == self.order.ref and not order.alive():
                self.order = None

        def step(self) -> None:
            if self.order is not None:
                if len(self) % 4 == 0:
                    self.cancel(self.order)
                return
            close = self.data.close[0]
            if not self.position and self.rsi[0] > 50:
                self.order = self.buy(
                    exectype=bt.Order.StopLimit, price=close + 0.5, plimit=close + 1.5, size=25
                )
            elif self.position.size > 0 and self.rsi[0] < 50:
                self.order = self.sell(
                    exectype=bt.Order.StopLimit,
                    price=close - 0.5,
                    plimit=close - 1.5,
                    size=self.position.size,
                )

    return StopLimit


def close_and_day(bt: ModuleType) -> type:
    """Close orders (filled at the next bar's close) and DAY limit orders that expire."""

    class CloseDay(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.wma = bt.ind.WMA(self.data, period=12)
            self.above = self.data.close > self.wma

        def step(self) -> None:
            if len(self) % 3 == 0:
                self.buy(exectype=bt.Order.Limit, price=self.data.low[0], size=5, valid=0)
                self.sell(
                    exectype=bt.Order.Limit,
                    price=self.data.high[0] + 2.0,
                    size=5,
                    valid=bt.Order.DAY,
                )
            if len(self) % 5 == 0:
                # valid for six hours: gone before the next daily bar can fill it
                self.sell(
                    exectype=bt.Order.Limit,
                    price=self.data.low[0],
                    size=3,
                    valid=dt.timedelta(hours=6),
                )
            if self.above[0] and self.position.size <= 0:
                self.buy(exectype=bt.Order.Close, size=20)
            elif not self.above[0] and self.position.size > 0:
                self.close(exectype=bt.Order.Close)

    return CloseDay


def targets(bt: ModuleType) -> type:
    """order_target_percent/size/value across three data feeds, rebalanced monthly."""

    class Targets(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.mom = {d: d.close - d.close(-20) for d in self.datas}
            self.rsi = {d: bt.ind.RSI(d, period=10) for d in self.datas}

        def step(self) -> None:
            if len(self) % 21:
                return
            c = self.datas[2]
            ranked = sorted(self.datas, key=lambda d: self.mom[d][0], reverse=True)
            self.order_target_percent(ranked[0], target=0.45)
            self.order_target_percent(ranked[2], target=0.0)
            self.order_target_size(ranked[1], target=100 if self.rsi[ranked[1]][0] > 50 else 0)
            if len(self) % 42 == 0:
                self.order_target_value(c, target=5000.0)

    return Targets


def percent_sizer(bt: ModuleType) -> type:
    """MACD signals with PercentSizer (fractional sizes) and shorts."""

    class MacdPercent(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.macd = bt.ind.MACDHisto(self.data)
            self.cross = bt.ind.CrossOver(self.macd.macd, self.macd.signal)

        def step(self) -> None:
            if self.cross > 0:
                if self.position:
                    self.close()
                self.buy()
            elif self.cross < 0 and self.position.size > 0:
                self.close()

    return MacdPercent


def all_in(bt: ModuleType) -> type:
    """AllInSizer with limit entries under the close and Bollinger-band exits."""

    class AllIn(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.bb = bt.ind.BollingerBands(self.data, period=20, devfactor=2.0)
            self.entry = None

        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            if self.entry is not None and order.ref == self.entry.ref and not order.alive():
                self.entry = None

        def step(self) -> None:
            if not self.position and self.entry is None and self.data.close[0] < self.bb.mid[0]:
                self.entry = self.buy(
                    exectype=bt.Order.Limit,
                    price=self.data.close[0] * 0.99,
                    valid=self.data.datetime.datetime(0) + dt.timedelta(days=2),
                )
            elif self.position and self.data.close[0] > self.bb.top[0]:
                self.close()

    return AllIn


def mean_reversion_shorts(bt: ModuleType) -> type:
    """Stochastic and Bollinger mean reversion, long and short, with reversals in one order."""

    class Reversion(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.stoch = bt.ind.Stochastic(self.data, period=14)
            self.bb = bt.ind.BBands(self.data, period=20)
            self.spread = self.bb.top - self.bb.bot

        def step(self) -> None:
            k = self.stoch.percK[0]
            if k < 20 and self.data.close[0] < self.bb.bot[0] and self.position.size <= 0:
                self.order_target_size(target=40)
            elif k > 80 and self.data.close[0] > self.bb.top[0] and self.position.size >= 0:
                self.order_target_size(target=-40)
            elif self.spread[0] < self.spread[-1] * 0.8 and self.position:
                self.close()

    return Reversion


def multi_data_atr(bt: ModuleType) -> type:
    """Two feeds with per-feed commission: EMA trend entries, ATR stops, cross-asset ratio."""

    class MultiAtr(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.ema = {d: bt.ind.EMA(d.close, period=15) for d in self.datas}
            self.atr = {d: bt.ind.ATR(d, period=14) for d in self.datas}
            self.ratio = self.data0.close / self.data1.close
            self.ratio_sma = bt.ind.SMA(self.ratio, period=10)
            self.stops: dict[Any, Any] = {}

        def notify_order(self, order: Any) -> None:
            super().notify_order(order)
            if order.status == order.Completed and order.isbuy():
                stop = order.executed.price - 2 * self.atr[order.data][0]
                self.stops[order.data] = self.sell(
                    data=order.data, exectype=bt.Order.Stop, price=stop, size=order.executed.size
                )

        def step(self) -> None:
            for d in self.datas:
                pos = self.getposition(d)
                if not pos and d.close[0] > self.ema[d][0] and d not in self.stops:
                    size = 20 if self.ratio[0] > self.ratio_sma[0] else 10
                    self.buy(data=d, size=size)
                elif pos and d.close[0] < self.ema[d][0]:
                    stop = self.stops.pop(d, None)
                    if stop is not None:
                        self.cancel(stop)
                    self.close(data=d)
                elif not pos and d in self.stops and not self.stops[d].alive():
                    del self.stops[d]

    return MultiAtr


def bundled_sma(bt: ModuleType) -> type:
    """SMA crossings on each of two bundled instruments, read from their CSV files."""

    class BundledSma(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = {
                d: bt.ind.CrossOver(bt.ind.SMA(d, period=10), bt.ind.SMA(d, period=30))
                for d in self.datas
            }

        def step(self) -> None:
            for d in self.datas:
                if self.cross[d][0] > 0 and not self.getposition(d):
                    self.buy(data=d)
                elif self.cross[d][0] < 0 and self.getposition(d):
                    self.close(data=d)

    return BundledSma


def sma_cross_two(bt: ModuleType) -> type:
    """Crossings on two feeds, the second starting later: prenext until both have enough bars."""

    class TwoFeeds(recorder(bt)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = {
                d: bt.ind.CrossOver(d.close, bt.ind.EMA(d.close, period=12)) for d in self.datas
            }

        def step(self) -> None:
            for d in self.datas:
                if self.cross[d][0] > 0 and self.getposition(d).size <= 0:
                    self.order_target_size(data=d, target=10)
                elif self.cross[d][0] < 0 and self.getposition(d).size >= 0:
                    self.order_target_size(data=d, target=-10)

    return TwoFeeds


def _fixed(stake: int) -> Callable[[ModuleType], tuple[type, dict[str, Any]]]:
    return lambda bt: (bt.sizers.FixedSize, {"stake": stake})


DAILY = dataset_path("daily")
CASES = [
    Case("sma_cross", sma_cross, [("A", frame(1))], commission=0.001, sizer=_fixed(15)),
    Case("limit_valid", limit_valid, [("A", frame(2))], commission=0.0005),
    Case("stop_breakout", stop_breakout, [("A", frame(3))], commission=0.001),
    Case("stop_limit", stop_limit, [("A", frame(4))], commission=0.002),
    Case("close_and_day", close_and_day, [("A", frame(5))], commission=0.001),
    Case(
        "targets",
        targets,
        [("A", frame(6)), ("B", frame(7, base=5_000)), ("C", frame(8, base=20_000))],
        commission=0.001,
    ),
    Case(
        "percent_sizer",
        percent_sizer,
        [("A", frame(9))],
        commission=0.001,
        sizer=lambda bt: (bt.sizers.PercentSizer, {"percents": 30}),
    ),
    Case(
        "all_in",
        all_in,
        [("A", frame(10))],
        commission=0.001,
        sizer=lambda bt: (bt.sizers.AllInSizer, {}),
    ),
    Case("mean_reversion_shorts", mean_reversion_shorts, [("A", frame(11))], commission=0.001),
    Case(
        "multi_data_atr",
        multi_data_atr,
        [("A", frame(12)), ("B", frame(13, base=4_000))],
        commission=0.001,
        per_data_commission={"B": 0.0025},
    ),
    Case(
        "late_second_feed",
        sma_cross_two,
        [("A", frame(14)), ("B", frame(15, start="2021-03-01", n=200))],
        commission=0.001,
        sizer=_fixed(10),
    ),
    Case(
        "bundled_daily",
        bundled_sma,
        csv=[("ACME", DAILY / "ACME.csv"), ("BOLT", DAILY / "BOLT.csv")],
        commission=0.0005,
        sizer=_fixed(100),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_orders_trades_and_value_as_backtrader(case: Case) -> None:
    expected = run_case(real_bt, case)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ls_bt.CompatWarning)
        got = run_case(ls_bt, case)
    orders = [e for e in expected.events if e[0] == "order"]
    assert any(e[6] == "Completed" for e in orders), "the case must trade"
    assert got.calls == expected.calls
    assert len(got.events) == len(expected.events)
    for n, (mine, theirs) in enumerate(zip(got.events, expected.events, strict=True)):
        assert same_event(mine, theirs), f"event {n}: {mine} != {theirs}"
    assert abs(got.value - expected.value) < 0.005
    assert abs(got.cash - expected.cash) < 0.005
    assert_close(got.analysis, expected.analysis)


def test_the_cases_cover_every_order_type_and_sizer() -> None:
    kinds: set[str] = set()
    statuses: set[str] = set()
    for case in CASES:
        for event in run_case(ls_bt, case).events:
            if event[0] == "order":
                kinds.add(event[5])
                statuses.add(event[6])
    assert {"Market", "Limit", "Stop", "StopLimit", "Close"} <= kinds
    assert {"Completed", "Canceled", "Expired"} <= statuses
