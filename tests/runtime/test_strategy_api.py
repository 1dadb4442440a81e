"""The strategy API: parameters, subscriptions, the context's views and intent helpers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lockstep.adapters import InstrumentSpec, MemoryFeed, load_dataset, setup_for
from lockstep.core import FixedPointError
from lockstep.runtime import Context, Event, Strategy, StrategyError, Subscriptions, run_backtest
from lockstep.runtime.params import parse_assignments
from runtime_kit import TST, daily_rows, write_dataset

BARS = [("10.00", "10.10", "9.90", "10.00")] * 3


def _data(
    tmp_path: Path, bars: list[tuple[str, str, str, str]] = BARS
) -> tuple[Path, dict[str, Any]]:
    data = write_dataset(tmp_path / "d", {"TST": daily_rows(bars)})
    return data, setup_for(load_dataset(data), cash="1000")


class WithParams(Strategy):
    params: ClassVar[dict[str, object]] = {
        "n": 3,
        "ratio": Decimal("0.5"),
        "label": "x",
        "on": True,
        "scale": 1.5,
    }


def test_defaults_and_overrides() -> None:
    s = WithParams(n=5, ratio="0.25", on="no")
    assert s.strategy_id == "with_params"
    assert dict(s.param_values) == {
        "n": 5,
        "ratio": Decimal("0.25"),
        "label": "x",
        "on": False,
        "scale": 1.5,
    }
    assert s.p.n == 5 and s.p.ratio == Decimal("0.25")
    assert WithParams.params["n"] == 3  # the declaration is untouched
    with pytest.raises(AttributeError, match="read-only"):
        s.p.n = 1


def test_unknown_parameter_is_refused_with_the_declared_list() -> None:
    with pytest.raises(
        StrategyError,
        match=r"has no parameter 'm' \(declared parameters: label, n, on, ratio, scale\)",
    ):
        WithParams(m=1)


@pytest.mark.parametrize(
    ("name", "value"), [("n", "three"), ("n", 2.5), ("on", "maybe"), ("ratio", "x%")]
)
def test_wrong_parameter_types(name: str, value: object) -> None:
    with pytest.raises(StrategyError, match=f"parameter '{name}' expects"):
        WithParams(**{name: value})


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(StrategyError, match="NAME=VALUE"):
        parse_assignments(["oops"])


def test_strategy_id_is_checked() -> None:
    with pytest.raises(StrategyError, match="strategy id"):
        Strategy("has space")
    assert Strategy("ok-1").strategy_id == "ok-1"


def test_subscriptions_reject_unknown_event_types() -> None:
    with pytest.raises(StrategyError, match="unknown event types"):
        Subscriptions(event_types=frozenset({"bar", "news"}))
    subs = Subscriptions(
        instruments=("A",), event_types=frozenset({"bar", "timer"}), timers=("t1",)
    )
    assert subs.wants("bar", "A") and not subs.wants("bar", "B") and not subs.wants("trade", "A")
    assert subs.wants("timer", None, "t1") and not subs.wants("timer", None, "t2")


class Recorder(Strategy):
    """Buys on the first bar, checks the views against the core snapshot on every bar."""

    name = "rec"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def on_start(self, ctx: Context) -> None:
        assert ctx.clock == 0 and ctx.mark("TST") is None and ctx.bars("TST") == ()

    def on_event(self, ctx: Context, event: Event) -> list[dict[str, Any]] | None:
        snap = ctx.snapshot()["business"]
        assert ctx.cash() == snap["cash"]["USD"]
        assert dict(ctx.positions) == snap["positions"]
        bar = event.bar
        assert bar is not None and ctx.last_bar("TST") == bar and ctx.mark("TST") == bar.close
        assert ctx.clock == event.time
        self.seen.append(
            {
                "open": [o.order_id for o in ctx.open_orders()],
                "bars": len(ctx.bars("TST")),
                "equity": ctx.equity(),
            }
        )
        if len(self.seen) == 1:
            first = ctx.buy("TST", 2)
            second = ctx.buy("TST", "1", limit=Decimal("5.00"))
            assert (first, second) == ("rec-1", "rec-2")
            assert ctx.qty_for_value("TST", 10_000) == 10  # 100.00 USD at 10.00
            assert ctx.price_decimal("TST", 1234) == Decimal("12.34")
            assert ctx.money_decimal(ctx.cash()) == Decimal("1000.00")
            return [{"type": "noop"}]
        if len(self.seen) == 2:
            ctx.cancel("rec-2")
        return None


def test_context_views_match_the_core(tmp_path: Path) -> None:
    data, setup = _data(tmp_path)
    strategy = Recorder()
    result = run_backtest(strategy, data, setup)
    assert [s["bars"] for s in strategy.seen] == [1, 2, 3]
    assert [s["open"] for s in strategy.seen] == [[], ["rec-2"], []]
    assert result.intents == 4 and result.rejected_intents == 0
    assert strategy.seen[2]["equity"] == 100_000  # 2 bought at 10.00, still marked at 10.00


class Raises(Strategy):
    def on_event(self, ctx: Context, event: Event) -> None:
        raise ZeroDivisionError("boom")


class ReturnsJunk(Strategy):
    def on_event(self, ctx: Context, event: Event) -> Any:
        return {"type": "noop"}


class FloatIntent(Strategy):
    def on_event(self, ctx: Context, event: Event) -> Any:
        return [{"type": "place_order", "qty": 1.5}]


class FloatHelper(Strategy):
    def on_event(self, ctx: Context, event: Event) -> None:
        ctx.buy("TST", 1.5)  # type: ignore[arg-type]


class TradesOnStop(Strategy):
    def on_stop(self, ctx: Context) -> None:
        ctx.buy("TST", 1)


class Loops(Strategy):
    def on_event(self, ctx: Context, event: Event) -> None:
        ctx.buy("TST", 1, limit="1.00")

    def on_order(self, ctx: Context, update: Any) -> None:
        if update.status == "accepted":
            ctx.buy("TST", 1, limit="1.00")


@pytest.mark.parametrize(
    ("cls", "words"),
    [
        (Raises, r"raised ZeroDivisionError in on_event: boom \(at .*test_strategy_api.py:\d+\)"),
        (ReturnsJunk, "must return a list of intent dicts or None"),
        (FloatIntent, "float"),
        (FloatHelper, "not floats"),
        (TradesOnStop, "after the run ended"),
        (Loops, "probably looping"),
    ],
)
def test_strategy_mistakes_are_clear_errors(
    tmp_path: Path, cls: type[Strategy], words: str
) -> None:
    data, setup = _data(tmp_path)
    with pytest.raises(StrategyError, match=words):
        run_backtest(cls(), data, setup)


def test_decimal_helpers_refuse_rounding(tmp_path: Path) -> None:
    class TooPrecise(Strategy):
        def on_event(self, ctx: Context, event: Event) -> None:
            ctx.buy("TST", 1, limit="10.001")

    data, setup = _data(tmp_path)
    with pytest.raises(StrategyError, match="more than 2 decimal places"):
        run_backtest(TooPrecise(), data, setup)
    assert issubclass(FixedPointError, Exception)


def test_subscriptions_limit_what_wakes_the_strategy(tmp_path: Path) -> None:
    other = dict(TST, id="OTH")
    rows = {"TST": daily_rows(BARS), "OTH": daily_rows(BARS)}
    data = write_dataset(tmp_path / "two", rows, [TST, other])
    setup = setup_for(load_dataset(data), cash="1000")

    class OnlyOther(Strategy):
        subscriptions = Subscriptions(instruments=("OTH",))

        def __init__(self) -> None:
            super().__init__()
            self.woken: list[str | None] = []

        def on_event(self, ctx: Context, event: Event) -> None:
            self.woken.append(event.instrument)

    strategy = OnlyOther()
    run_backtest(strategy, data, setup)
    assert strategy.woken == ["OTH"] * 3

    class Unknown(Strategy):
        subscriptions = Subscriptions(instruments=("NOPE",))

    with pytest.raises(StrategyError, match="'NOPE', which the setup does not have"):
        run_backtest(Unknown(), data, setup)


def test_timers_wake_subscribers(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": daily_rows(BARS)})
    day = 86_400 * 10**9
    start = (1704142800 - 100) * 10**9  # 100 s before the first bar (2024-01-01T21:00Z)
    setup = setup_for(
        load_dataset(data),
        cash="1000",
        timers=[{"timer_id": "daily", "start_ns": start, "interval_ns": day}],
    )

    class Ticks(Strategy):
        subscriptions = Subscriptions(event_types=frozenset({"timer"}))

        def __init__(self) -> None:
            super().__init__()
            self.ticks: list[int] = []

        def on_event(self, ctx: Context, event: Event) -> None:
            assert event.event_type == "timer" and event.instrument is None
            self.ticks.append(event.time)

    strategy = Ticks()
    run_backtest(strategy, data, setup)
    # A timer fires once time moves past it; each fire time is before the next bar.
    assert strategy.ticks == [start, start + day, start + 2 * day]


def test_memory_feeds_drive_a_backtest() -> None:
    spec = InstrumentSpec.from_setup(TST)
    feed = MemoryFeed.from_bars(
        spec, [(t * 10**9, "1.00", "1.00", "1.00", "1.00", "0") for t in (1, 2, 3)]
    )
    setup = {
        "currencies": [{"code": "USD", "money_precision": 2}],
        "venues": [
            {
                "name": "sim",
                "simulated": True,
                "order_types": ["market"],
                "time_in_force": ["GTC"],
                "supports_replace": False,
                "fee_ppm": 0,
                "participation_bps": None,
            }
        ],
        "instruments": [TST],
        "starting_cash": {"USD": 100},
    }
    result = run_backtest(Strategy("idle"), [feed], setup)
    assert result.bars == 3 and result.records == 3 and result.data == "memory:TST"
