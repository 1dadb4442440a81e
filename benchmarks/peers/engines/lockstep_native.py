"""Lockstep's event-native API (``lockstep.runtime``) on both backends, with and without the run store.

The strategies are ordinary :class:`lockstep.runtime.Strategy` subclasses that
implement the spec's rules the way a Lockstep user would: closes arrive as
fixed-point integers (cents here), the SMA crossover compares the two running
sums exactly (``fast_sum * slow`` against ``slow_sum * fast``, no division,
no float), the RSI keeps Wilder's averages in Python floats with the spec's
formula, and intents are ``ctx.buy``/``ctx.sell`` with integer quantities.

Six engines:

- ``lockstep-python`` and ``lockstep-rust``: ``run_backtest(strategy, dataset,
  setup, engine=...)``, the Python API's default path, which keeps no run
  store (as Backtrader keeps nothing);
- ``lockstep-python+signals`` and ``lockstep-rust+signals``: the same
  strategies declared as signals (ADR 0018): the core computes the SMAs or
  the RSI (exact integers, floored at six extra places) and wakes the
  strategy only on a crossing or beyond a level, no store;
- ``lockstep-python+store`` and ``lockstep-rust+store``: the same with
  ``store=`` a new ``run.db``, the path ``lockstep backtest`` always takes
  (every input and trace record, checkpoints, results and the seal written
  to SQLite). Users of the command line pay for it, so it is timed too.

Timing: ``seconds_total`` is ``load_dataset`` of the generated directory plus
``run_backtest`` on it; Lockstep streams the CSV files while it runs, so
parsing is inside. Lockstep has no preload step to time around, so
``seconds_loop`` comes from a second ``run_backtest`` in the same process on
feeds holding the already parsed bars in memory (as the column batches the
CSV feeds gave, so a rust run takes the same columnar path, ADR 0017; the
Python core takes envelopes either way), timed
from the strategy's ``on_start`` to its ``on_stop`` (as Backtrader's loop is
timed from ``start`` to ``stop``): it leaves out the setup, the feeds'
fingerprints and the store's final writes. The two runs must agree; ``peak_rss_mib`` and ``cpu_seconds``
are taken after the first, the file-to-result one.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from harness import peak_rss_mib
from peers.lockstep_env import unavailable, versions
from peers.spec import CASH, QTY, DataSet, Outcome, Scenario, Strategy


def strategy_classes() -> dict[str, type]:
    """The spec's strategies as Lockstep strategies (built lazily: the import needs Lockstep)."""
    from lockstep.runtime import Context, Event
    from lockstep.runtime import Strategy as LockstepStrategy

    class Peer(LockstepStrategy):
        """Remembers the final equity (money units) and when the loop started and stopped."""

        final_equity = 0
        started = stopped = 0.0

        def on_start(self, ctx: Context) -> None:
            self.started = time.perf_counter()

        def on_stop(self, ctx: Context) -> None:
            self.stopped = time.perf_counter()
            self.final_equity = ctx.equity()

    class PeerSma(Peer):
        name = "peer_sma"
        params: ClassVar[dict[str, object]] = {"fast": 10, "slow": 30, "qty": QTY}
        history = 1  # the strategy keeps its own window; the context needs none

        def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
            super().__init__(strategy_id, **overrides)
            self.windows: dict[str, _SmaState] = {}

        def on_event(self, ctx: Context, event: Event) -> None:
            instrument = event.instrument
            assert instrument is not None  # bars always name their instrument
            state = self.windows.get(instrument)
            if state is None:
                state = self.windows[instrument] = _SmaState(self.p.fast, self.p.slow)
            signal = state.push(event.payload["close"])
            if signal == 0:
                return
            held = ctx.position(instrument)
            if signal > 0 and held == 0:
                ctx.buy(instrument, self.p.qty)
            elif signal < 0 and held > 0:
                ctx.sell(instrument, held)

    class PeerRsi(Peer):
        name = "peer_rsi"
        params: ClassVar[dict[str, object]] = {"period": 14, "lower": 30, "upper": 70, "qty": QTY}
        history = 1

        def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
            super().__init__(strategy_id, **overrides)
            self.states: dict[str, _RsiState] = {}

        def on_event(self, ctx: Context, event: Event) -> None:
            instrument = event.instrument
            assert instrument is not None
            state = self.states.get(instrument)
            if state is None:
                state = self.states[instrument] = _RsiState(self.p.period)
            rsi = state.push(event.payload["close"])
            if rsi is None:
                return
            held = ctx.position(instrument)
            if held == 0 and rsi < self.p.lower:
                ctx.buy(instrument, self.p.qty)
            elif held > 0 and rsi > self.p.upper:
                ctx.sell(instrument, held)

    return {"sma": PeerSma, "rsi": PeerRsi}


def signal_strategy_classes() -> dict[str, type]:
    """The spec's strategies on the core's signals (ADR 0018): the core computes the
    SMAs / the RSI and wakes the strategy only on a crossing / beyond a level."""
    from lockstep.runtime import Context, Signal, Signals
    from lockstep.runtime import Strategy as LockstepStrategy
    from lockstep.runtime.signals import above, below, crossover, crossunder, rsi, sma

    class Peer(LockstepStrategy):
        final_equity = 0
        started = stopped = 0.0
        history = 1

        def on_start(self, ctx: Context) -> None:
            self.started = time.perf_counter()

        def on_stop(self, ctx: Context) -> None:
            self.stopped = time.perf_counter()
            self.final_equity = ctx.equity()

        def on_signal(self, ctx: Context, signal: Signal) -> None:
            held = ctx.position(signal.instrument)
            if held == 0 and "enter" in signal.fired:
                ctx.buy(signal.instrument, self.p.qty)
            elif held > 0 and "exit" in signal.fired:
                ctx.sell(signal.instrument, held)

    class PeerSmaSignals(Peer):
        name = "peer_sma"
        params: ClassVar[dict[str, object]] = {"fast": 10, "slow": 30, "qty": QTY}

        def signals(self) -> Signals:
            return Signals(
                indicators={"fast": sma("close", self.p.fast), "slow": sma("close", self.p.slow)},
                conditions={"enter": crossover("fast", "slow"), "exit": crossunder("fast", "slow")},
            )

    class PeerRsiSignals(Peer):
        name = "peer_rsi"
        params: ClassVar[dict[str, object]] = {"period": 14, "lower": 30, "upper": 70, "qty": QTY}

        def signals(self) -> Signals:
            return Signals(
                indicators={"rsi": rsi("close", self.p.period)},
                conditions={
                    "enter": below("rsi", self.p.lower),
                    "exit": above("rsi", self.p.upper),
                },
            )

    return {"sma": PeerSmaSignals, "rsi": PeerRsiSignals}


class _SmaState:
    """Running sums of one instrument's closes; ``push`` says +1/-1 on a cross up/down, else 0."""

    __slots__ = ("before", "closes", "fast", "fast_sum", "slow", "slow_sum")

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.closes: deque[int] = deque()
        self.fast_sum = self.slow_sum = 0
        self.before: int | None = None
        """Sign of fast - slow at the previous bar; None until both averages existed there."""

    def push(self, close: int) -> int:
        closes = self.closes
        closes.append(close)
        self.fast_sum += close
        self.slow_sum += close
        n = len(closes)
        if n > self.fast:
            self.fast_sum -= closes[-self.fast - 1]
        if n > self.slow:
            self.slow_sum -= closes.popleft()
        elif n < self.slow:
            return 0
        # fast_sum / fast against slow_sum / slow, exactly: both sides times fast * slow.
        diff = self.fast_sum * self.slow - self.slow_sum * self.fast
        now = (diff > 0) - (diff < 0)
        before, self.before = self.before, now
        if before is None:
            return 0
        if now > 0 and before <= 0:
            return 1
        if now < 0 and before >= 0:
            return -1
        return 0


class _RsiState:
    """Wilder's RSI of one instrument's closes, exactly the spec's formula, in floats."""

    __slots__ = ("avg_gain", "avg_loss", "changes", "last", "period")

    def __init__(self, period: int) -> None:
        self.period = period
        self.last: int | None = None
        self.changes: list[int] = []
        self.avg_gain = self.avg_loss = -1.0

    def push(self, close: int) -> float | None:
        last, self.last = self.last, close
        if last is None:
            return None
        change = close - last
        p = self.period
        if self.avg_gain < 0:
            self.changes.append(change)
            if len(self.changes) < p:
                return None
            self.avg_gain = sum(c for c in self.changes if c > 0) / p
            self.avg_loss = sum(-c for c in self.changes if c < 0) / p
        else:
            self.avg_gain = (self.avg_gain * (p - 1) + (change if change > 0 else 0)) / p
            self.avg_loss = (self.avg_loss * (p - 1) + (-change if change < 0 else 0)) / p
        if self.avg_loss == 0:
            return 100.0
        return 100 - 100 / (1 + self.avg_gain / self.avg_loss)


class LockstepNative:
    """One configuration of the event-native API: a backend, with or without the run store."""

    def __init__(self, backend: str, store: bool, signals: bool = False) -> None:
        self.backend, self.store, self.signals = backend, store, signals
        self.NAME = (
            f"lockstep-{backend}" + ("+store" if store else "") + ("+signals" if signals else "")
        )

    def available(self) -> str | None:
        return unavailable(self.backend)

    def run(self, strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
        from lockstep.adapters import load_dataset, setup_for
        from lockstep.runtime import run_backtest

        make = (signal_strategy_classes() if self.signals else strategy_classes())[strategy.name]
        scratch = Path(tempfile.mkdtemp(prefix="peers-store-")) if self.store else None
        try:
            started, cpu = time.perf_counter(), time.process_time()
            dataset = load_dataset(data.directory)
            setup = setup_for(dataset, cash=CASH)
            first = make(**strategy.params)
            result = run_backtest(
                first, dataset, setup, engine=self.backend, store=_store(scratch, "total")
            )
            total = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu
            rss = peak_rss_mib()
            feeds = [_ParsedBars(feed) for feed in dataset.feeds()]
            second = make(**strategy.params)
            again = run_backtest(
                second, feeds, setup, engine=self.backend, store=_store(scratch, "loop")
            )
            loop = second.stopped - second.started
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        if (len(again.trades), second.final_equity) != (len(result.trades), first.final_equity):
            raise RuntimeError("the file run and the in-memory run of the same data disagree")
        store_note = "writes run.db (as `lockstep backtest` does)" if self.store else "no store"
        if self.signals:
            store_note += (
                ", the strategy on the core's signals (woken only where a condition holds)"
            )
        return Outcome(
            engine=self.NAME,
            strategy=strategy.name,
            scenario=scenario.name,
            trades=len(result.trades),
            final_equity=_money(first.final_equity),
            bars=result.bars,
            seconds_total=total,
            seconds_loop=loop,
            cpu_seconds=cpu_seconds,
            peak_rss_mib=rss,
            crossings=result.crossings,
            versions=versions(self.backend),
            notes=(
                f"run_backtest(engine={self.backend!r}), {store_note}; total = load_dataset + "
                "run_backtest streaming the CSV files; loop = on_start to on_stop of a second "
                "run_backtest on the parsed bar columns held in memory, same process"
            ),
        )


class _ParsedBars:
    """A bar file's bars read once and held as the column batches it gave (and as events)."""

    def __init__(self, feed: Any) -> None:
        self.name = feed.name
        self.batches = list(feed.bar_columns())
        self.events = list(feed)
        self.skip_report = feed.skip_report
        self._print = feed.fingerprint()

    def bar_columns(self, max_rows: int = 65536) -> Any:
        return iter(self.batches)

    def __iter__(self) -> Any:
        return iter(self.events)

    def fingerprint(self) -> str:
        return self._print


def _store(scratch: Path | None, name: str) -> Path | None:
    return None if scratch is None else scratch / f"{name}.db"


def _money(units: int) -> str:
    """Money units at money precision 2 (cents) as the outcome's decimal string."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    return f"{sign}{units // 100}.{units % 100:02d}"


ENGINES: list[Any] = [
    LockstepNative("python", store=False),
    LockstepNative("rust", store=False),
    LockstepNative("python", store=True),
    LockstepNative("rust", store=True),
    LockstepNative("python", store=False, signals=True),
    LockstepNative("rust", store=False, signals=True),
]
