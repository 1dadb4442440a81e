"""NautilusTrader (1.221, the last release for CPython 3.11) as a peer: the low-level ``BacktestEngine``.

Left to its defaults, Nautilus does **not** fill the way the spec says. With
``bar_execution=True`` the matching engine replays each bar as four trades
(open, high, low, close) *before* the strategy's ``on_bar`` sees it, so a
market order sent from ``on_bar`` fills at that same bar's **close**; a
``LatencyModel`` only moves it to the close of a later bar, because the next
bar is again replayed whole before the delayed order is matched. Nautilus's
backtesting guide says so: it provides no native next-bar-open mode (see
also its issues 1214, 1537 and 4063). An order sent on the last bar fills
too, at the last close, when the engine flushes its queue at the end. That
is a different rule, so this adapter expresses the spec's rule with
Nautilus's own machinery instead:

- bars go to the strategy only (``bar_execution=False``): they never move
  the simulated market;
- the market is moved by one **zero-spread quote at each bar's open**
  (bid = ask = open, size far above ``QTY``, so no volume limit and no
  one-tick "exhausted book" slippage), from the same CSV row;
- orders reach the venue through a ``LatencyModel`` of :data:`LATENCY_NS`.
  Bar *t* of instrument *k* is stamped at its close plus *k* ns, and the
  opening quote of bar *t + 1* at that close plus ``LATENCY_NS + k`` ns:
  an order sent from ``on_bar`` arrives exactly as the next bar's opening
  quote is posted and fills at that open. An order sent on the last bar is
  still in flight when the data ends, so it never fills.

The per-instrument nanosecond offsets are needed because the venue releases
every order that has become due after *each* data point, whatever its
instrument: with one timestamp for all, the first instrument's quote would
release every instrument's order before their own quotes had moved their
markets. With the offsets all bars of a minute come first, then the quotes,
and each order falls due exactly at its own instrument's quote.
The price to pay is a second data point per bar: Nautilus processes two
events per bar here (reported in ``notes``).

The strategy computes the spec's indicators itself, because Nautilus's
``RelativeStrengthIndex`` is another formula: by default it smooths with an
exponential average of ``alpha = 2 / (period + 1)`` instead of Wilder's
``1 / period``; even with ``ma_type=WILDER`` its averages start from the
first change (and a zero change for the very first bar) instead of the plain
mean of the first ``period`` changes; and it reports 0..1, not 0..100. Its
``SimpleMovingAverage`` is the spec's average, in float dollars; the
strategy keeps integer cents instead, so the crossover comparison is exact
rather than resting on ``data.py`` keeping averages off ties. The RSI
follows the spec's float formula on cent changes.

Equity is the cash account's balance (Nautilus debits a cash account by the
notional of a buy and credits it on a sell) plus each open position at its
instrument's last close; nothing closes positions at the end.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections import deque
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

_BENCHMARKS = str(Path(__file__).resolve().parents[2])
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)

from peers.spec import CASH, QTY, DataSet, Outcome, Scenario, Strategy, cents  # noqa: E402

NAME = "nautilus"
VENUE = "SIM"
LATENCY_NS = 1_000
"""Order insert latency; also the gap between a bar's close and the next opening quote."""
QUOTE_SIZE = 1_000_000_000
"""Size of each opening quote: far above QTY, so a fill never exhausts the book."""


def available() -> str | None:
    """None when ``nautilus_trader`` imports, else what to install."""
    if importlib.util.find_spec("nautilus_trader") is None:
        return (
            "nautilus_trader is not installed: pip install 'nautilus_trader==1.221.0' "
            "(1.221.0 is the last release for CPython 3.11)"
        )
    try:
        import nautilus_trader.backtest.engine  # noqa: F401
    except ImportError as exc:
        return f"nautilus_trader does not import here: {exc}"
    return None


class _Sma:
    """The spec's SMA crossover on integer cents: exact sums, exact comparisons."""

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.window: deque[int] = deque()
        self.fast_sum = 0
        self.slow_sum = 0
        self.previous: int | None = None
        """Sign of ``fast - slow`` at the previous bar (None until both exist)."""

    def signal(self, close: int) -> int:
        """+1 on a cross above, -1 on a cross below, 0 otherwise."""
        window = self.window
        window.append(close)
        self.slow_sum += close
        self.fast_sum += close
        if len(window) > self.fast:
            self.fast_sum -= window[-self.fast - 1]
        if len(window) > self.slow:
            self.slow_sum -= window.popleft()
        if len(window) < self.slow:
            return 0
        # fast_sum / fast vs slow_sum / slow, cross-multiplied: no rounding at all.
        diff = self.fast_sum * self.slow - self.slow_sum * self.fast
        sign = (diff > 0) - (diff < 0)
        previous, self.previous = self.previous, sign
        if previous is None:
            return 0
        if sign > 0 and previous <= 0:
            return 1
        if sign < 0 and previous >= 0:
            return -1
        return 0


class _Rsi:
    """The spec's Wilder RSI on cent changes: +1 below ``lower``, -1 above ``upper``."""

    def __init__(self, period: int, lower: int, upper: int) -> None:
        self.period, self.lower, self.upper = period, lower, upper
        self.last: int | None = None
        self.seed: list[int] = []
        self.avg_gain = 0.0
        self.avg_loss = 0.0
        self.ready = False

    def signal(self, close: int) -> int:
        last, self.last = self.last, close
        if last is None:
            return 0
        change = close - last
        gain, loss = float(max(change, 0)), float(max(-change, 0))
        p = self.period
        if self.ready:
            self.avg_gain = (self.avg_gain * (p - 1) + gain) / p
            self.avg_loss = (self.avg_loss * (p - 1) + loss) / p
        else:
            self.seed.append(change)
            if len(self.seed) < p:
                return 0
            self.avg_gain = sum(max(c, 0) for c in self.seed) / p
            self.avg_loss = sum(max(-c, 0) for c in self.seed) / p
            self.ready = True
        rsi = 100.0 if self.avg_loss == 0 else 100 - 100 / (1 + self.avg_gain / self.avg_loss)
        if rsi < self.lower:
            return 1
        if rsi > self.upper:
            return -1
        return 0


def _rule(strategy: Strategy) -> Any:
    """A fresh per-instrument rule object for ``strategy``."""
    p = strategy.params
    if strategy.name == "sma":
        return _Sma(p["fast"], p["slow"])
    if strategy.name == "rsi":
        return _Rsi(p["period"], p["lower"], p["upper"])
    raise ValueError(f"no Nautilus version of strategy {strategy.name!r}")


def _strategy_class() -> type:
    """The Nautilus ``Strategy`` subclass, built on first use so this module imports without it."""
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.objects import FIXED_PRECISION, Quantity
    from nautilus_trader.trading.strategy import Strategy as NautilusStrategy

    to_cents = 10 ** (FIXED_PRECISION - 2)

    class PeerStrategy(NautilusStrategy):  # type: ignore[misc]
        """One strategy over every instrument; a rule object per instrument."""

        def __init__(self, strategy: Strategy, bar_types: list[Any]) -> None:
            super().__init__()
            self.spec_strategy = strategy
            self.bar_types = bar_types
            self.rules = {bt.instrument_id: _rule(strategy) for bt in bar_types}
            self.last_close: dict[Any, int] = {}
            self.qty = Quantity.from_int(QTY)
            self.entries = 0
            self.bars_seen = 0

        def on_start(self) -> None:
            for bar_type in self.bar_types:
                self.subscribe_bars(bar_type)

        def on_bar(self, bar: Any) -> None:
            self.bars_seen += 1
            instrument_id = bar.bar_type.instrument_id
            close = bar.close.raw // to_cents
            self.last_close[instrument_id] = close
            signal = self.rules[instrument_id].signal(close)
            if signal > 0 and self.portfolio.is_flat(instrument_id):
                order = self.order_factory.market(instrument_id, OrderSide.BUY, self.qty)
                self.submit_order(order)
            elif signal < 0 and self.portfolio.is_net_long(instrument_id):
                self.close_all_positions(instrument_id)

        def on_order_filled(self, event: Any) -> None:
            if event.order_side == OrderSide.BUY:
                self.entries += 1

    return PeerStrategy


def _load(data: DataSet, engine: Any, instruments: list[Any]) -> list[Any]:
    """Read the CSVs into bars (for the strategy) and opening quotes (for the venue)."""
    import pandas as pd
    from nautilus_trader.model.data import BarType
    from nautilus_trader.persistence.wranglers import BarDataWrangler, QuoteTickDataWrangler

    bar_types = []
    for k, (path, instrument) in enumerate(zip(data.files, instruments, strict=True)):
        frame = pd.read_csv(path, index_col="timestamp")
        frame.index = pd.to_datetime(frame.index, utc=True, format="ISO8601")
        bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
        # Nautilus stamps a bar at its close; bar t of instrument k at close + k ns.
        closes = frame.index + pd.Timedelta(minutes=1)
        bars = BarDataWrangler(bar_type, instrument).process(
            frame.set_axis(closes), ts_init_delta=k
        )
        # The opening quote of bar t follows the close of bar t - 1 (the first one
        # comes at the first bar's open), LATENCY_NS + k ns later.
        posted = closes[:-1].insert(0, frame.index[0])
        quotes = QuoteTickDataWrangler(instrument).process(
            pd.DataFrame(
                {
                    "bid_price": frame["open"].to_numpy(),
                    "ask_price": frame["open"].to_numpy(),
                    "bid_size": float(QUOTE_SIZE),
                    "ask_size": float(QUOTE_SIZE),
                },
                index=posted,
            ),
            ts_init_delta=LATENCY_NS + k,
        )
        engine.add_data(bars)
        engine.add_data(quotes)
        bar_types.append(bar_type)
    return bar_types


def _instrument(symbol: str) -> Any:
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import Equity
    from nautilus_trader.model.objects import Price, Quantity

    return Equity(
        instrument_id=InstrumentId(Symbol(symbol), Venue(VENUE)),
        raw_symbol=Symbol(symbol),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
    )


def _engine() -> Any:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import FillModel, LatencyModel
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money

    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(bypass_logging=True),
            run_analysis=False,
        )
    )
    engine.add_venue(
        venue=Venue(VENUE),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USD,
        starting_balances=[Money(CASH, USD)],
        fill_model=FillModel(prob_fill_on_limit=1.0, prob_slippage=0.0),
        latency_model=LatencyModel(base_latency_nanos=LATENCY_NS),
        bar_execution=False,
        trade_execution=False,
    )
    return engine


def run(strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
    """Run ``strategy`` on ``data`` in one engine: one venue, one cash account, every instrument."""
    if len(data.files) >= LATENCY_NS:
        raise ValueError(f"at most {LATENCY_NS - 1} instruments fit between a close and a quote")
    # Imported before the clock starts, as every adapter's engine is: an import is
    # not part of reading the data, and Nautilus's take over a second.
    import nautilus_trader.backtest.engine
    import nautilus_trader.persistence.wranglers
    import nautilus_trader.trading.strategy  # noqa: F401
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.identifiers import Venue

    peer_class = _strategy_class()
    cpu_started, started = time.process_time(), time.perf_counter()
    engine = _engine()
    instruments = [_instrument(symbol) for symbol in data.instruments]
    for instrument in instruments:
        engine.add_instrument(instrument)
    bar_types = _load(data, engine, instruments)
    peer = peer_class(strategy, bar_types)
    engine.add_strategy(peer)

    loop_started = time.perf_counter()
    engine.run()
    seconds_loop = time.perf_counter() - loop_started

    account = engine.portfolio.account(Venue(VENUE))
    equity = account.balance_total(USD).as_decimal()
    for position in engine.cache.positions_open():
        close = Decimal(peer.last_close[position.instrument_id]) / 100
        equity += position.signed_decimal_qty() * close
    seconds_total = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    trades, bars = peer.entries, peer.bars_seen
    engine.dispose()

    return Outcome(
        engine=NAME,
        strategy=strategy.name,
        scenario=scenario.name,
        trades=trades,
        final_equity=cents(equity),
        bars=bars,
        seconds_total=seconds_total,
        seconds_loop=seconds_loop,
        cpu_seconds=cpu_seconds,
        versions={"nautilus_trader": metadata.version("nautilus_trader")},
        notes=(
            "BacktestEngine (low-level API), one cash account in USD, zero fees. Bars go to the "
            "strategy only (bar_execution=False): Nautilus's own bar execution fills a market "
            "order at the close of the bar that triggered it. The market is a zero-spread quote "
            "at each bar's open, posted 1 us after the previous bar's close, and orders reach "
            "the venue through a 1 us LatencyModel, so they fill at the next bar's open and an "
            "order from the last bar never fills; the engine processes two events per bar "
            "(bar + quote). Indicators are the spec's, in the strategy: Nautilus's own RSI is "
            "another formula (EMA of 2/(period+1) by default, seeded from the first change, "
            "0..1). Logging bypassed, post-run analysis off; seconds_loop is engine.run(); seconds_total adds engine setup, "
            "pandas.read_csv and the bar/quote wranglers."
        ),
    )
