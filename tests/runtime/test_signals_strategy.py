"""Strategies on the core's signals: the same trades as on every bar, fewer wake-ups.

``sma_cross_signals`` is ``sma_cross`` with its averages declared as signals;
on the bundled data both make the same trace (same final state hash), on each
backend. A strategy sees exact decimal indicator values, is never called for
a quiet bar, and a declaration the core refuses stops the run before it starts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import (
    Context,
    Event,
    Signal,
    Signals,
    Strategy,
    StrategyError,
    Subscriptions,
    run_backtest,
)
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.builtin.sma_cross_signals import SmaCrossSignals
from lockstep.runtime.signals import (
    above,
    all_of,
    below,
    crossover,
    highest,
    not_,
    operand,
    rsi,
    sma,
)
from runtime_kit import engines


@pytest.mark.parametrize("engine", engines())
@pytest.mark.parametrize("data", ["daily", "minute"])
@pytest.mark.parametrize("periods", [{"fast": 5, "slow": 15}, {"fast": 10, "slow": 30}])
def test_signals_and_every_bar_give_the_same_run(
    tmp_path: Path, data: str, engine: str, periods: dict[str, int]
) -> None:
    ds = load_dataset(data)
    setup = setup_for(ds, cash="50000", fee_ppm=250)
    runs = [
        run_backtest(cls(strategy_id="s", **periods), ds.feeds(), setup, engine=engine)
        for cls in (SmaCross, SmaCrossSignals)
    ]
    every_bar, on_signals = runs
    assert every_bar.trades and every_bar.trades == on_signals.trades
    assert every_bar.final_state_hash == on_signals.final_state_hash
    assert every_bar.last_hash == on_signals.last_hash
    assert every_bar.metrics == on_signals.metrics


class Recorder(Strategy):
    """Records every call; declares an SMA(3) of the close and a level on it."""

    subscriptions: ClassVar[Subscriptions] = Subscriptions(event_types=frozenset({"bar"}))

    def __init__(self, **kw: Any) -> None:
        super().__init__("rec", **kw)
        self.signals_seen: list[Signal] = []
        self.events: list[Event] = []

    def signals(self) -> Signals:
        return Signals(
            indicators={"avg": sma("close", 3), "top": highest("high", 2)},
            conditions={"high": above("avg", "15.2"), "rising": crossover("close", "avg")},
        )

    def on_signal(self, ctx: Context, signal: Signal) -> None:
        self.signals_seen.append(signal)

    def on_event(self, ctx: Context, event: Event) -> None:
        self.events.append(event)


@pytest.mark.parametrize("engine", engines())
def test_a_strategy_is_called_only_where_a_condition_holds(engine: str) -> None:
    ds = load_dataset("daily")
    setup = setup_for(ds, cash="50000")
    strategy = Recorder()
    result = run_backtest(strategy, ds.feeds(), setup, engine=engine)
    assert strategy.events == []  # bars reach on_signal only
    seen = strategy.signals_seen
    assert 0 < len(seen) < result.bars
    places = {i["id"]: i["price_precision"] + 6 for i in setup["instruments"]}
    assert len(set(places.values())) > 1  # ZETA has 1 price place, the others 2
    for signal in seen:
        assert signal.fired and set(signal.fired) <= {"high", "rising"}
        assert list(signal.fired) == sorted(signal.fired)
        assert signal.places == dict.fromkeys(("avg", "top"), places[signal.instrument])
        avg = signal.values["avg"]
        raw = signal.raw["avg"]
        assert avg is not None and raw is not None
        assert avg == Decimal(raw).scaleb(-places[signal.instrument])
        if "high" in signal.fired:
            assert avg > Decimal("15.2")


def test_signal_values_are_exact_decimals_of_the_bars() -> None:
    ds = load_dataset("daily")
    setup = setup_for(ds, cash="50000")
    closes: dict[str, list[Decimal]] = {}

    class Every(Strategy):
        def signals(self) -> Signals:
            return Signals(
                indicators={"last": sma("close", 1), "avg": sma("close", 4)},
                conditions={"always": above("close", "0")},
            )

        def on_signal(self, ctx: Context, signal: Signal) -> None:
            history = closes.setdefault(signal.instrument, [])
            history.append(
                ctx.price_decimal(signal.instrument, ctx.closes(signal.instrument, 1)[-1])
            )
            assert signal.values["last"] == history[-1]
            if len(history) >= 4:
                exact = sum(history[-4:]) / 4
                assert signal.values["avg"] == exact.quantize(
                    Decimal("1e-8"), rounding="ROUND_FLOOR"
                )
            else:
                assert signal.values["avg"] is None

    result = run_backtest(Every("e"), ds.feeds(), setup)
    assert sum(len(v) for v in closes.values()) == result.bars


def test_a_refused_declaration_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    class Bad(Strategy):
        def signals(self) -> Signals:
            return Signals(
                indicators={"strength": rsi("close", 14)},
                conditions={"x": all_of(below("strength", "close"), not_(above("close", 1)))},
            )

    ds = load_dataset("daily")
    store = tmp_path / "run.db"
    with pytest.raises(
        StrategyError,
        match=r"bad: its signals are refused at "
        r"\$\.conditions\.x\.of\[0\]: compares percent with price",
    ):
        run_backtest(Bad("bad"), ds.feeds(), setup_for(ds, cash="1000"), store=store)


def test_operands_are_names_or_exact_numbers() -> None:
    assert operand("close") == "close"
    assert operand(30) == {"value": "30"}
    assert operand(Decimal("0.50")) == {"value": "0.50"}
    assert operand("-1.5") == {"value": "-1.5"}
    with pytest.raises(TypeError, match="not float"):
        operand(0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        operand(True)


@pytest.mark.parametrize("engine", engines())
def test_indicators_are_readable_on_any_wake_up(engine: str) -> None:
    """A fill wakes the strategy on a bar that fired nothing; ctx.indicators still reads
    the core's values for that bar, equal to what the next signal hands out."""
    seen: list[tuple[str, Any]] = []

    class Fills(Strategy):
        def signals(self) -> Signals:
            return Signals(
                indicators={"avg": sma("close", 5)},
                conditions={"up": crossover("close", "avg")},
            )

        def on_signal(self, ctx: Context, signal: Signal) -> None:
            assert ctx.indicators(signal.instrument) == signal.values
            seen.append(("signal", signal.values["avg"]))
            if ctx.position(signal.instrument) == 0:
                ctx.buy(signal.instrument, 1)

        def on_fill(self, ctx: Context, fill: Any) -> None:
            values = ctx.indicators(fill.instrument)
            assert set(values) == {"avg"} and values["avg"] is not None
            seen.append(("fill", values["avg"]))
            with pytest.raises(StrategyError, match="'NOPE' is not one of its signals"):
                ctx.indicators("NOPE")

    ds = load_dataset("daily")
    run_backtest(Fills("f"), ds.feeds(), setup_for(ds, cash="50000"), engine=engine)
    kinds = {kind for kind, _ in seen}
    assert kinds == {"signal", "fill"}


def test_indicators_without_signals_is_a_clear_error() -> None:
    class Plain(Strategy):
        def on_event(self, ctx: Context, event: Event) -> None:
            assert event.instrument is not None
            ctx.indicators(event.instrument)

    ds = load_dataset("daily")
    with pytest.raises(StrategyError, match=r"ctx\.indicators needs signals"):
        run_backtest(Plain("p"), ds.feeds(), setup_for(ds, cash="50000"))
