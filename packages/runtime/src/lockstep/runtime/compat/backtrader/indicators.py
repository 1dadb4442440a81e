"""Indicators and line functions: SMA, EMA, WMA, SMMA, RSI, MACD, ATR, BollingerBands,
Stochastic, CrossOver, Highest, Lowest, and ``And``/``Or``/``Max``/``Min``/``If``.

Each is built from the layer's derived lines with Backtrader's definitions:
the same building blocks, the same seeds (an exponential average starts from
the simple mean of its first window), the same minimum periods and the same
float operations in the same order. That is what makes a crossover land on
the same bar in both engines.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import TYPE_CHECKING
from typing import Any as _Any  # `Any` is Backtrader's indicator function below

from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.lines import (
    IfLine,
    Indicator,
    Multi,
    NonZeroDiff,
    SafeDiv,
    Smoothing,
    Window,
)

# --------------------------------------------------------------------------- functions


def _and(x: _Any, y: _Any) -> bool:
    return bool(x and y)


def _or(x: _Any, y: _Any) -> bool:
    return bool(x or y)


def And(*args: _Any) -> _Any:  # noqa: N802 - Backtrader's names
    """1.0 where every argument is true, else 0.0."""
    return Multi(functools.partial(functools.reduce, _and), args)


def Or(*args: _Any) -> _Any:  # noqa: N802
    return Multi(functools.partial(functools.reduce, _or), args)


def Max(*args: _Any) -> _Any:  # noqa: N802
    return Multi(max, args)


def Min(*args: _Any) -> _Any:  # noqa: N802
    return Multi(min, args)


def Sum(*args: _Any) -> _Any:  # noqa: N802
    return Multi(math.fsum, args)


def Any(*args: _Any) -> _Any:  # noqa: N802
    """1.0 where any argument is true, else 0.0."""
    return Multi(any, args)


Any_ = Any


def All(*args: _Any) -> _Any:  # noqa: N802
    return Multi(all, args)


def If(cond: _Any, a: _Any, b: _Any) -> _Any:  # noqa: N802
    return IfLine(cond, a, b)


def DivByZero(a: _Any, b: _Any, zero: float = 0.0) -> _Any:  # noqa: N802
    return SafeDiv(a, b, zero)


def DivZeroByZero(a: _Any, b: _Any, single: float = float("inf"), dual: float = 0.0) -> _Any:  # noqa: N802
    return SafeDiv(a, b, dual, single)


# --------------------------------------------------------------------------- windows


class PeriodN(Indicator):
    params: _Any = (("period", 1),)


class Highest(PeriodN):
    """The highest value over the last ``period`` bars (``MaxN``)."""

    lines: _Any = ("highest",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines[0] = Window(self.data, self.p.period, max)


class Lowest(PeriodN):
    """The lowest value over the last ``period`` bars (``MinN``)."""

    lines: _Any = ("lowest",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines[0] = Window(self.data, self.p.period, min)


class SumN(PeriodN):
    lines: _Any = ("sumn",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines[0] = Window(self.data, self.p.period, math.fsum)


MaxN = Highest
MinN = Lowest

# --------------------------------------------------------------------------- moving averages


class MovingAverageBase(Indicator):
    params: _Any = (("period", 30),)


class MovingAverageSimple(MovingAverageBase):
    """Arithmetic mean of the last ``period`` values (``SMA``)."""

    lines: _Any = ("sma",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        period = self.p.period
        self.lines[0] = Window(self.data, period, lambda w: math.fsum(w) / period)


class ExponentialMovingAverage(MovingAverageBase):
    """Exponential average with ``alpha = 2 / (period + 1)``, seeded with the SMA (``EMA``)."""

    lines: _Any = ("ema",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        smoothing = Smoothing(self.data, self.p.period, 2.0 / (1.0 + self.p.period))
        self.lines[0] = smoothing
        self.alpha, self.alpha1 = smoothing.alpha, smoothing.alpha1


class SmoothedMovingAverage(MovingAverageBase):
    """Wilder's average: exponential with ``alpha = 1 / period`` (``SMMA``)."""

    lines: _Any = ("smma",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines[0] = Smoothing(self.data, self.p.period, 1.0 / self.p.period)


class WeightedMovingAverage(MovingAverageBase):
    """Linearly weighted average, the newest value weighing most (``WMA``)."""

    lines: _Any = ("wma",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        period = self.p.period
        coef = 2.0 / (period * (period + 1.0))
        weights = tuple(float(x) for x in range(1, period + 1))
        self.lines[0] = Window(
            self.data, period, lambda w: coef * math.fsum(map(operator.mul, w, weights))
        )


SMA = SimpleMovingAverage = MovingAverageSimple
EMA = MovingAverageExponential = ExponentialMovingAverage
SMMA = WilderMA = MovingAverageSmoothed = MovingAverageWilder = SmoothedMovingAverage
ModifiedMovingAverage = SmoothedMovingAverage
WMA = MovingAverageWeighted = WeightedMovingAverage


class MovAv:
    """Namespace of the moving averages (``bt.ind.MovAv.Simple`` and friends)."""

    Simple = SMA = MovingAverageSimple
    Exponential = EMA = ExponentialMovingAverage
    Smoothed = SMMA = SmoothedMovingAverage
    Weighted = WMA = WeightedMovingAverage


MovingAverage = MovAv

# --------------------------------------------------------------------------- oscillators


class UpDay(Indicator):
    lines: _Any = ("upday",)
    params: _Any = (("period", 1),)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.upday = Max(self.data - self.data(-self.p.period), 0.0)


class DownDay(Indicator):
    lines: _Any = ("downday",)
    params: _Any = (("period", 1),)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.downday = Max(self.data(-self.p.period) - self.data, 0.0)


class RelativeStrengthIndex(Indicator):
    """RSI with Wilder's smoothing of up and down moves (``RSI``)."""

    lines: _Any = ("rsi",)
    params: _Any = (
        ("period", 14),
        ("movav", SmoothedMovingAverage),
        ("upperband", 70.0),
        ("lowerband", 30.0),
        ("safediv", False),
        ("safehigh", 100.0),
        ("safelow", 50.0),
        ("lookback", 1),
    )

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        upday = UpDay(self.data, period=self.p.lookback)
        downday = DownDay(self.data, period=self.p.lookback)
        maup = self.p.movav(upday, period=self.p.period)
        madown = self.p.movav(downday, period=self.p.period)
        if not self.p.safediv:
            rs = maup / madown
        else:
            rs = DivZeroByZero(maup, madown, self._rs(self.p.safehigh), self._rs(self.p.safelow))
        self.lines.rsi = 100.0 - 100.0 / (1.0 + rs)

    @staticmethod
    def _rs(rsi: float) -> float:
        try:
            return -100.0 / (rsi - 100.0) - 1.0
        except ZeroDivisionError:
            return float("inf")


RSI = RSI_SMMA = RSI_Wilder = RelativeStrengthIndex


class RSI_Safe(RelativeStrengthIndex):  # noqa: N801 - Backtrader's name
    params: _Any = (("safediv", True),)


class MACD(Indicator):
    """Difference of a fast and a slow EMA, and its signal EMA."""

    lines: _Any = ("macd", "signal")
    params: _Any = (
        ("period_me1", 12),
        ("period_me2", 26),
        ("period_signal", 9),
        ("movav", ExponentialMovingAverage),
    )

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        me1 = self.p.movav(self.data, period=self.p.period_me1)
        me2 = self.p.movav(self.data, period=self.p.period_me2)
        self.lines.macd = me1 - me2
        self.lines.signal = self.p.movav(self.lines.macd, period=self.p.period_signal)


class MACDHisto(MACD):
    """MACD plus its histogram ``macd - signal``."""

    lines: _Any = ("histo",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines.histo = self.lines.macd - self.lines.signal


MACDHistogram = MACDHisto


class TrueHigh(Indicator):
    lines: _Any = ("truehigh",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.truehigh = Max(self.data.high, self.data.close(-1))


class TrueLow(Indicator):
    lines: _Any = ("truelow",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.truelow = Min(self.data.low, self.data.close(-1))


class TrueRange(Indicator):
    lines: _Any = ("tr",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.tr = TrueHigh(self.data) - TrueLow(self.data)


TR = TrueRange


class AverageTrueRange(Indicator):
    """Wilder's average of the true range (``ATR``)."""

    lines: _Any = ("atr",)
    params: _Any = (("period", 14), ("movav", SmoothedMovingAverage))

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.atr = self.p.movav(TrueRange(self.data), period=self.p.period)


ATR = AverageTrueRange


class StandardDeviation(Indicator):
    """Population standard deviation over ``period`` values (``StdDev``)."""

    lines: _Any = ("stddev",)
    params: _Any = (("period", 20), ("movav", MovingAverageSimple), ("safepow", True))

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        # a second data is the mean (as BollingerBands passes it); else compute it
        mean = self.data1 if len(self.datas) > 1 else self.p.movav(self.data, period=self.p.period)
        meansq = self.p.movav(pow(self.data, 2), period=self.p.period)
        sqmean = pow(mean, 2)
        if self.p.safepow:
            self.lines.stddev = pow(abs(meansq - sqmean), 0.5)
        else:
            self.lines.stddev = pow(meansq - sqmean, 0.5)


StdDev = StandardDeviation


class BollingerBands(Indicator):
    """A moving average and bands ``devfactor`` standard deviations around it (``BBands``)."""

    lines: _Any = ("mid", "top", "bot")
    params: _Any = (("period", 20), ("devfactor", 2.0), ("movav", MovingAverageSimple))

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.mid = ma = self.p.movav(self.data, period=self.p.period)
        stddev = self.p.devfactor * StandardDeviation(
            self.data, ma, period=self.p.period, movav=self.p.movav
        )
        self.lines.top = ma + stddev
        self.lines.bot = ma - stddev


BBands = BollingerBands


class _StochasticBase(Indicator):
    lines: _Any = ("percK", "percD")
    params: _Any = (
        ("period", 14),
        ("period_dfast", 3),
        ("movav", MovingAverageSimple),
        ("upperband", 80.0),
        ("lowerband", 20.0),
        ("safediv", False),
        ("safezero", 0.0),
    )

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        highest = Highest(self.data.high, period=self.p.period)
        lowest = Lowest(self.data.low, period=self.p.period)
        knum = self.data.close - lowest
        kden = highest - lowest
        if self.p.safediv:
            self.k = 100.0 * DivByZero(knum, kden, zero=self.p.safezero)
        else:
            self.k = 100.0 * (knum / kden)
        self.d = self.p.movav(self.k, period=self.p.period_dfast)


class StochasticFast(_StochasticBase):
    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines.percK = self.k
        self.lines.percD = self.d


class Stochastic(_StochasticBase):
    """The slow stochastic: %K is the smoothed fast %K, %D its average (``StochasticSlow``)."""

    params: _Any = (("period_dslow", 3),)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines.percK = self.d
        self.lines.percD = self.p.movav(self.lines.percK, period=self.p.period_dslow)


StochasticSlow = Stochastic


class StochasticFull(_StochasticBase):
    lines: _Any = ("percDSlow",)
    params: _Any = (("period_dslow", 3),)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines.percK = self.k
        self.lines.percD = self.d
        self.lines.percDSlow = self.p.movav(self.lines.percD, period=self.p.period_dslow)


# --------------------------------------------------------------------------- crossings


class NonZeroDifference(Indicator):
    """``data0 - data1``, keeping the last non-zero difference (``NZD``)."""

    _mindatas = 2
    lines: _Any = ("nzd",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        self.lines.nzd = NonZeroDiff(self.data0, self.data1)


NZD = NonZeroDifference


class _CrossBase(Indicator):
    _mindatas = 2
    lines: _Any = ("cross",)
    _up = True

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        nzd = NonZeroDifference(self.data0, self.data1)
        if self._up:
            before = nzd(-1) < 0.0
            after = self.data0 > self.data1
        else:
            before = nzd(-1) > 0.0
            after = self.data0 < self.data1
        self.lines.cross = And(before, after)


class CrossUp(_CrossBase):
    """1.0 on the bar where ``data0`` crosses above ``data1``."""

    _up = True


class CrossDown(_CrossBase):
    """1.0 on the bar where ``data0`` crosses below ``data1``."""

    _up = False


class CrossOver(Indicator):
    """+1.0 on an upward crossing of ``data0`` over ``data1``, -1.0 on a downward one, else 0."""

    _mindatas = 2
    lines: _Any = ("crossover",)

    def __init__(self, *args: _Any, **kwargs: _Any) -> None:
        upcross = CrossUp(self.data, self.data1)
        downcross = CrossDown(self.data, self.data1)
        self.lines.crossover = upcross - downcross


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.indicators", "backtrader.indicators", __name__)
