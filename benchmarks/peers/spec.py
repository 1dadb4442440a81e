"""What every engine in the peer benchmark runs, and what it must report back.

One home for the scenarios, the strategy rules and the result shape, so that
Lockstep (event-native API and Backtrader layer, both backends), Backtrader,
backtesting.py and NautilusTrader all run *the same thing*: an engine adapter
reads the generated data files, runs the strategy below under the fill rules
below, and returns an :class:`Outcome`. The harness compares outcomes before
any time counts.

Strategy rules (identical in every engine):

- **SMA crossover** (``sma``): simple moving averages of the close, ``fast``
  and ``slow`` bars. At the close of bar *t*, once both averages exist at *t*
  and *t-1*: fast crosses above slow (``fast[t] > slow[t]`` and
  ``fast[t-1] <= slow[t-1]``) while flat: buy ``QTY`` units; fast crosses
  below slow (``fast[t] < slow[t]`` and ``fast[t-1] >= slow[t-1]``) while
  long: sell the whole position. Long only.
- **RSI mean reversion** (``rsi``): Wilder's RSI over ``period`` closes
  (gains and losses of close-to-close changes; the first averages are the
  plain means of the first ``period`` changes, then
  ``avg = (avg * (period - 1) + x) / period``; RSI = 100 when the average loss
  is 0, else ``100 - 100 / (1 + avg_gain / avg_loss)``). At the close of bar
  *t*, once RSI exists: RSI < ``lower`` while flat: buy ``QTY``; RSI >
  ``upper`` while long: sell the whole position.
- Each instrument is traded on its own with these rules; one portfolio and
  one cash balance for all of them.

Fill rules: market orders only, filled at the **open of the next bar** of the
same instrument, whole quantity, no commission, no slippage, no volume limit.
An order placed at an instrument's last bar never fills. Starting cash
:data:`CASH`; it is large enough that no order is ever refused for cash.

What must agree (checked before any time counts): the number of entry fills
(``trades``) and the final equity (cash plus every position at its
instrument's last close) to the cent. An engine that disagrees is reported as
disagreeing and never ranked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

QTY = 100
"""Units bought per entry (whole units: the data sets have size precision 0)."""
CASH = Decimal("100000000")
"""Starting cash in USD: far above what QTY at these prices can ever cost."""
PRICE_PLACES = 2
"""Decimals of every price in the generated data."""


@dataclass(frozen=True)
class Strategy:
    name: str
    """``sma`` or ``rsi``."""
    params: dict[str, int]


STRATEGIES: dict[str, Strategy] = {
    "sma": Strategy("sma", {"fast": 10, "slow": 30}),
    "rsi": Strategy("rsi", {"period": 14, "lower": 30, "upper": 70}),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    """``1a`` (one instrument, long) or ``1b`` (ten instruments)."""
    instruments: int
    bars: int
    """Bars per instrument."""
    quick_bars: int
    """Bars per instrument in ``--quick`` mode (the CI form)."""

    def bars_for(self, quick: bool) -> int:
        return self.quick_bars if quick else self.bars


SCENARIOS: dict[str, Scenario] = {
    "1a": Scenario("1a", instruments=1, bars=200_000, quick_bars=4_000),
    "1b": Scenario("1b", instruments=10, bars=100_000, quick_bars=1_000),
}

SEED = 20261207
"""Seed of the generated data: the same files on every machine."""


@dataclass(frozen=True)
class DataSet:
    """Generated minute bars on disk, one CSV per instrument, plus a Lockstep manifest.

    CSV columns: ``timestamp`` (ISO 8601 UTC, ``2024-01-02T14:31:00Z``),
    ``open``, ``high``, ``low``, ``close`` (``PRICE_PLACES`` decimals),
    ``volume`` (integer). ``directory`` also holds ``dataset.json``, so
    ``lockstep.adapters.load_dataset(directory)`` reads it as it is.

    Made by ``peers/data.py``, which keeps every decision of the strategies
    above off a tie (no bar where the ``sma`` averages are equal in decimal,
    no RSI within 1e-6 of ``lower`` or ``upper``), so engines computing in
    floats and engines computing exactly must take the same decisions.
    """

    directory: Path
    instruments: tuple[str, ...]
    files: tuple[Path, ...]
    """One per instrument, same order as ``instruments``."""
    bars: int
    """Bars per instrument."""


@dataclass
class Outcome:
    """What one engine run reports. Money as a decimal string in USD, to the cent."""

    engine: str
    strategy: str
    scenario: str
    trades: int
    """Entry fills (positions opened), over all instruments."""
    final_equity: str
    """Cash plus positions at their last close, rounded to the cent (``"100012345.67"``)."""
    bars: int
    """Bars the engine processed, over all instruments."""
    seconds_total: float
    """Wall time from reading the data files to the final result."""
    seconds_loop: float
    """Wall time of the engine's run alone (data already loaded), as close as the engine allows."""
    cpu_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    crossings: int | None = None
    """Calls into native code (Lockstep rust backend), None where not counted."""
    versions: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    """Anything a reader needs to compare this engine fairly (e.g. how the loop time was taken)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def cents(value: float | Decimal | str) -> str:
    """A money amount as the decimal string outcomes compare (half-even to the cent)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


class Engine(Protocol):
    """An engine adapter: a module in ``benchmarks/peers/engines/`` exposing these.

    A module that offers several engines (one per backend, say) lists objects
    with these members in a module-level ``ENGINES`` instead; the harness
    runs each under its own ``NAME``.
    """

    NAME: str
    """As shown in results: ``lockstep-python``, ``backtrader``, ``backtesting.py``, ..."""

    def available(self) -> str | None:
        """None when the engine can run here, else why not (missing package, ...)."""
        ...

    def run(self, strategy: Strategy, scenario: Scenario, data: DataSet) -> Outcome:
        """Run ``strategy`` on ``data``; time it as :class:`Outcome` describes."""
        ...
