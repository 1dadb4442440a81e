"""Performance metrics of a run: equity curve, returns, drawdown, trade statistics.

Equity is computed exactly, in integer money units (cash plus each position
marked at its last price, via the core's notional formula), and sampled once
per time step that carried market data. The statistics derived from it
(returns, CAGR, Sharpe, Sortino, drawdown ratios) are **floats**: they are
results for people to read, never inputs to the core, so they are not part of
any hash; replay verification recomputes them from the verified trace (through
:class:`lockstep.runtime.tally.Tally`) and compares them with the stored ones,
which the same code computed, so they agree exactly. Conventions: a zero
risk-free rate; the annualisation factor is the observed number of samples
per year (``(samples - 1) / years`` over the sampled time span), so daily and
minute data need no configuration; Sortino uses the root mean square of the
negative returns over all periods.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from lockstep.runtime.ledger import Ledger
from lockstep.runtime.trades import Trade

NS_PER_YEAR = 365.25 * 86_400 * 1e9
NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time: int
    equity: int
    """Money units of the curve's currency."""
    exposed: bool
    """Whether any position in the currency's instruments was open."""


class EquityCurve:
    """Samples a ledger's equity in one currency."""

    def __init__(self, ledger: Ledger, currency: str | None = None) -> None:
        self.ledger = ledger
        self.currency = currency or next(iter(ledger.currencies))
        self.initial = ledger.equity(self.currency)
        self.points: list[EquityPoint] = []
        self._instruments = [
            i for i, spec in ledger.instruments.items() if spec["quote_currency"] == self.currency
        ]

    def sample(self, time: int) -> None:
        ledger = self.ledger
        positions = ledger.positions
        # Flat (most samples of most runs): equity is the cash, nothing to value.
        if any(positions.get(i, 0) for i in self._instruments):
            point = EquityPoint(time, ledger.equity(self.currency), True)
        else:
            point = EquityPoint(time, ledger.cash.get(self.currency, 0), False)
        if self.points and self.points[-1].time == time:
            self.points[-1] = point
        else:
            self.points.append(point)


@dataclass(frozen=True, slots=True)
class Metrics:
    currency: str
    money_precision: int
    initial_equity: int
    final_equity: int
    samples: int
    years: float | None
    periods_per_year: float | None
    total_return: float
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    """Largest fall from a peak, as a fraction of the peak (0.1 is a 10 % drawdown)."""
    max_drawdown_duration_days: float
    """Time from that peak until equity was back at it (or the last sample)."""
    max_drawdown_duration_samples: int
    """The same duration counted in sampling steps."""
    exposure: float
    trades: int
    open_trades: int
    win_rate: float | None
    profit_factor: float | None
    gross_profit: int
    """Closed trades only, like ``gross_loss``, ``win_rate`` and ``profit_factor``."""
    gross_loss: int
    unrealised_pnl: int = 0
    """The open trades' P&L at their marks (money units): the part of
    ``final_equity - initial_equity`` that no exit has realised yet."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_metrics(curve: EquityCurve, trades: Iterable[Trade]) -> Metrics:
    points = curve.points
    initial = curve.initial
    final = points[-1].equity if points else initial
    equities = [p.equity for p in points]
    years = (points[-1].time - points[0].time) / NS_PER_YEAR if len(points) > 1 else None
    ppy = (len(points) - 1) / years if years else None
    returns = _returns(equities)
    dd, dd_samples, dd_ns = _max_drawdown(initial, points)
    trade_list = list(trades)
    closed = [t for t in trade_list if t.closed]
    gross_profit = sum(t.pnl for t in closed if t.pnl > 0)
    gross_loss = -sum(t.pnl for t in closed if t.pnl < 0)
    return Metrics(
        currency=curve.currency,
        money_precision=curve.ledger.currencies[curve.currency],
        initial_equity=initial,
        final_equity=final,
        samples=len(points),
        years=years,
        periods_per_year=ppy,
        total_return=float(Fraction(final - initial, initial)) if initial > 0 else 0.0,
        cagr=_cagr(initial, final, years),
        sharpe=_sharpe(returns, ppy),
        sortino=_sortino(returns, ppy),
        max_drawdown=dd,
        max_drawdown_duration_days=dd_ns / NS_PER_DAY,
        max_drawdown_duration_samples=dd_samples,
        exposure=sum(p.exposed for p in points) / len(points) if points else 0.0,
        trades=len(closed),
        open_trades=len(trade_list) - len(closed),
        win_rate=sum(t.pnl > 0 for t in closed) / len(closed) if closed else None,
        profit_factor=gross_profit / gross_loss if gross_loss > 0 else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        unrealised_pnl=sum(t.unrealised_pnl for t in trade_list if not t.closed),
    )


def _returns(equities: list[int]) -> list[float] | None:
    """Each step's return, the float nearest the exact ratio.

    Python's ``int / int`` is correctly rounded, so it equals
    ``float(Fraction(after - before, before))`` without building a fraction.
    """
    if any(e <= 0 for e in equities[:-1]):
        return None  # returns are undefined once equity is not positive
    return [(after - before) / before for before, after in itertools.pairwise(equities)]


def _cagr(initial: int, final: int, years: float | None) -> float | None:
    if not years or initial <= 0:
        return None
    if final <= 0:
        return -1.0
    growth: float = float(Fraction(final, initial)) ** (1 / years)
    return growth - 1


def _sharpe(returns: list[float] | None, ppy: float | None) -> float | None:
    if not returns or len(returns) < 2 or not ppy:
        return None
    mean = math.fsum(returns) / len(returns)
    var = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return mean / math.sqrt(var) * math.sqrt(ppy) if var > 0 else None


def _sortino(returns: list[float] | None, ppy: float | None) -> float | None:
    if not returns or not ppy:
        return None
    mean = math.fsum(returns) / len(returns)
    downside = math.sqrt(math.fsum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    return mean / downside * math.sqrt(ppy) if downside > 0 else None


def _max_drawdown(initial: int, points: list[EquityPoint]) -> tuple[float, int, int]:
    """Largest peak-to-trough fall (a fraction of the peak) and how long it lasted.

    The duration runs from the peak to the first sample back at or above it,
    or to the last sample when equity never recovered. The starting equity
    counts as a peak at the first sample's time.
    """
    if not points:
        return 0.0, 0, 0
    times = [points[0].time] + [p.time for p in points]
    values = [initial] + [p.equity for p in points]
    peak_index = 0
    peak = values[0]
    # The worst fall so far as the exact fraction fall / top, compared by cross-multiplying.
    fall, top = 0, 1
    worst_peak = worst_trough = 0
    for i, value in enumerate(values):
        if value >= peak:
            peak_index, peak = i, value
        elif peak > 0 and (peak - value) * top > fall * peak:
            fall, top, worst_peak, worst_trough = peak - value, peak, peak_index, i
    if fall == 0:
        return 0.0, 0, 0
    worst = Fraction(fall, top)
    end = len(values) - 1
    for j in range(worst_trough, len(values)):
        if values[j] >= values[worst_peak]:
            end = j
            break
    return float(worst), end - worst_peak, times[end] - times[worst_peak]
