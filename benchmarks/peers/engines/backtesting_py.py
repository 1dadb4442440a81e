"""backtesting.py (the ``backtesting`` package) as a peer.

backtesting.py already fills the spec's way: a market order placed in
``next()`` is filled at the next bar's open (``trade_on_close=False``), an
order placed on the last bar is never processed, and with
``finalize_trades=False`` a position still open at the end stays open: ``Equity Final [$]`` is cash plus the position at the
last close. No commission, no spread, ``exclusive_orders`` and ``hedging``
off; ``buy(size=QTY)`` with an integer ``>= 1`` buys that many units.
(``finalize_trades`` came in 0.6; older releases close every open trade at
the end, so :func:`available` asks for 0.6 or later.)

Two things differ from the spec and are bridged here:

- **One asset per backtest.** A ``Backtest`` trades a single data frame, so
  a scenario with several instruments runs one ``Backtest`` per instrument,
  each with ``CASH``, and the combined equity is ``sum(equity_i) - (n - 1) *
  CASH``. With no commission and cash never binding (the spec makes it large
  enough), that is what one shared balance would hold.
- **Warm-up.** ``Backtest.run`` first calls ``next()`` one bar *after* the
  last indicator's first value (it wants two values for crossovers). For the
  SMA crossover that is exactly the spec's first decision (both averages at
  *t* and *t - 1*); for the RSI it would skip the spec's first decision at
  bar ``period``. The RSI indicator therefore fills its warm-up with the
  midpoint of the two thresholds, a value that triggers nothing, so
  ``next()`` runs from bar 1 and the first real RSI is acted on.

Indicators are the spec's, as numpy functions wrapped with ``self.I``. The
SMA sums integer cents and divides once, so two averages that are equal in
decimal are equal floats and a comparison is never decided by rounding; the
RSI follows the spec's float formula on cent changes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
import warnings
from decimal import Decimal
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_BENCHMARKS = str(Path(__file__).resolve().parents[2])
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)

from peers.spec import CASH, QTY, DataSet, Outcome, Scenario, Strategy, cents  # noqa: E402

NAME = "backtesting.py"


def available() -> str | None:
    """None when a ``backtesting`` that keeps open trades open is importable, else what to install.

    Before 0.6 ``Backtest.run`` always closed the trades still open at the end
    (and filled orders from the last bar), which is not the spec's rule.
    """
    if importlib.util.find_spec("backtesting") is None:
        return "backtesting (backtesting.py) is not installed: pip install 'backtesting>=0.6'"
    try:
        version = metadata.version("backtesting")
    except metadata.PackageNotFoundError:  # importable without metadata: cannot tell, try it
        return None
    release = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if release < (0, 6):
        return (
            f"backtesting {version} closes open trades at the end (finalize_trades came in "
            "0.6): pip install 'backtesting>=0.6'"
        )
    return None


def _cents(close: NDArray[np.float64]) -> NDArray[np.int64]:
    import numpy as np

    return np.rint(np.asarray(close, dtype=np.float64) * 100).astype(np.int64)


def sma(close: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """The spec's simple moving average of ``close`` (NaN until ``n`` closes exist)."""
    import numpy as np

    sums = np.cumsum(_cents(close))
    out = np.full(len(sums), np.nan)
    if len(sums) >= n:
        window = sums[n - 1 :].copy()
        window[1:] -= sums[:-n]
        out[n - 1 :] = window / (n * 100)
    return out


def rsi(close: NDArray[np.float64], period: int, warmup: float) -> NDArray[np.float64]:
    """The spec's Wilder RSI of ``close``; ``warmup`` before the first ``period`` changes."""
    import numpy as np

    closes = _cents(close).tolist()
    out = np.full(len(closes), warmup)
    if len(closes) <= period:
        return out
    changes = [b - a for a, b in pairwise(closes)]
    avg_gain = sum(max(c, 0) for c in changes[:period]) / period
    avg_loss = sum(max(-c, 0) for c in changes[:period]) / period
    values = out.tolist()
    for t in range(period, len(closes)):
        if t > period:
            change = changes[t - 1]
            avg_gain = (avg_gain * (period - 1) + float(max(change, 0))) / period
            avg_loss = (avg_loss * (period - 1) + float(max(-change, 0))) / period
        values[t] = 100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss)
    return np.asarray(values, dtype=np.float64)


def _strategy_class(strategy: Strategy) -> type:
    """The backtesting.py ``Strategy`` subclass for ``strategy``."""
    from backtesting import Strategy as BtStrategy

    p = strategy.params
    if strategy.name == "sma":

        class PeerSma(BtStrategy):  # type: ignore[misc]
            fast = p["fast"]
            slow = p["slow"]

            def init(self) -> None:
                self.fast_ma = self.I(sma, self.data.Close, self.fast)
                self.slow_ma = self.I(sma, self.data.Close, self.slow)

            def next(self) -> None:
                fast, slow = self.fast_ma, self.slow_ma
                held = self.position.size
                if held == 0 and fast[-1] > slow[-1] and fast[-2] <= slow[-2]:
                    self.buy(size=QTY)
                elif held > 0 and fast[-1] < slow[-1] and fast[-2] >= slow[-2]:
                    self.position.close()

        return PeerSma

    if strategy.name == "rsi":

        class PeerRsi(BtStrategy):  # type: ignore[misc]
            period = p["period"]
            lower = p["lower"]
            upper = p["upper"]

            def init(self) -> None:
                neutral = (self.lower + self.upper) / 2
                self.rsi = self.I(rsi, self.data.Close, self.period, neutral)

            def next(self) -> None:
                value = self.rsi[-1]
                held = self.position.size
                if held == 0 and value < self.lower:
                    self.buy(size=QTY)
                elif held > 0 and value > self.upper:
                    self.position.close()

        return PeerRsi

    raise ValueError(f"no backtesting.py version of strategy {strategy.name!r}")


def _read(path: Path) -> Any:
    import pandas as pd

    frame = pd.read_csv(path, index_col="timestamp")
    frame.index = pd.to_datetime(frame.index, utc=True, format="ISO8601")
    return frame.rename(
        columns={
            "open": "Open",
            "high": "High",
            "low": "Low",
            "close": "Close",
            "volume": "Volume",
        }
    )


def run(strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
    """Run ``strategy`` on ``data``: one ``Backtest`` per instrument, equities combined."""
    from backtesting import Backtest

    cls = _strategy_class(strategy)
    cpu_started, started = time.process_time(), time.perf_counter()
    seconds_loop = 0.0
    trades = bars = 0
    equity = Decimal(0)
    for path in data.files:
        frame = _read(path)
        backtest = Backtest(
            frame,
            cls,
            cash=float(CASH),
            spread=0.0,
            commission=0.0,
            margin=1.0,
            trade_on_close=False,
            hedging=False,
            exclusive_orders=False,
            finalize_trades=False,
        )
        loop_started = time.perf_counter()
        with warnings.catch_warnings():
            # "Some trades remain open at the end": intended, the spec values them at the close.
            warnings.simplefilter("ignore")
            stats = backtest.run()
        seconds_loop += time.perf_counter() - loop_started
        # Closed trades, plus the one still open (never closed at the end).
        trades += len(stats["_trades"]) + len(stats["_strategy"].trades)
        equity += Decimal(cents(stats["Equity Final [$]"]))
        bars += len(frame)
    equity -= (len(data.files) - 1) * CASH
    seconds_total = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
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
        versions={"backtesting": metadata.version("backtesting")},
        notes=(
            "Single-asset engine: one Backtest per instrument, each with the full starting cash; "
            f"final equity = sum of the {len(data.files)} final equities - "
            f"{len(data.files) - 1} x starting cash (exact here: no commission, cash never "
            "binds). trade_on_close=False (fills at the next open), finalize_trades=False (an "
            "open position stays open, valued at the last close). The RSI's warm-up is filled "
            "with the thresholds' midpoint so backtesting.py's loop, which starts one bar after "
            "the last indicator warms up, makes the spec's first RSI decision. seconds_loop "
            "sums Backtest.run() (indicators, the bar loop and its statistics); seconds_total "
            "adds pandas.read_csv."
        ),
    )
