"""Analyzers: SharpeRatio, DrawDown, TradeAnalyzer, Returns (and TimeReturn, which Sharpe uses).

They receive the same hooks as in Backtrader (order and trade notifications,
cash and value once per bar, ``prenext``/``nextstart``/``next``, ``stop``)
and compute the same statistics the same way, from the values the core's
ledger gives. ``strat.analyzers.<name>.get_analysis()`` returns their results.
Values are floats, as in Backtrader; they are reports, never inputs to the core.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.feeds import TimeFrame
from lockstep.runtime.compat.backtrader.lines import MetaLineSeries
from lockstep.runtime.compat.backtrader.params import split_kwargs
from lockstep.runtime.compat.backtrader.utils import AutoOrderedDict

MAXINT = 2**63 - 1
_BUILDING: list[Any] = []
"""Analyzers whose ``__init__`` runs (children register with the innermost)."""
_STRATEGY: list[Any] = []
"""The strategy analyzers are being created for."""


class MetaAnalyzer(MetaLineSeries):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass
        obj: Any = object.__new__(cls)  # type: ignore[arg-type]
        bag, rest = split_kwargs(cls, kwargs)
        obj.p = obj.params = bag
        obj._children = []
        obj.strategy = _STRATEGY[-1] if _STRATEGY else None
        parent = _BUILDING[-1] if _BUILDING else None
        obj._parent = parent
        datas = list(obj.strategy.datas) if obj.strategy is not None else []
        obj.datas = datas
        if datas:
            obj.data = datas[0]
            for n, data in enumerate(datas):
                setattr(obj, f"data{n}", data)
        obj.create_analysis()
        _BUILDING.append(obj)
        try:
            obj.__init__(*args, **rest)
        finally:
            _BUILDING.pop()
        if parent is not None:
            parent._children.append(obj)
        return obj


class Analyzer(metaclass=MetaAnalyzer):
    """Base class of analyzers; override the hooks you need and fill ``self.rets``."""

    params: Any = ()
    p: Any
    data: Any
    datas: list[Any]
    csv = True
    rets: Any
    strategy: Any
    _children: list[Analyzer]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __len__(self) -> int:
        return len(self.strategy)

    # -- dispatch (children first, as in Backtrader) -----------------------------------------

    def _prenext(self) -> None:
        for child in self._children:
            child._prenext()
        self.prenext()

    def _nextstart(self) -> None:
        for child in self._children:
            child._nextstart()
        self.nextstart()

    def _next(self) -> None:
        for child in self._children:
            child._next()
        self.next()

    def _notify_cashvalue(self, cash: float, value: float) -> None:
        for child in self._children:
            child._notify_cashvalue(cash, value)
        self.notify_cashvalue(cash, value)

    def _notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        for child in self._children:
            child._notify_fund(cash, value, fundvalue, shares)
        self.notify_fund(cash, value, fundvalue, shares)

    def _notify_trade(self, trade: Any) -> None:
        for child in self._children:
            child._notify_trade(trade)
        self.notify_trade(trade)

    def _notify_order(self, order: Any) -> None:
        for child in self._children:
            child._notify_order(order)
        self.notify_order(order)

    def _start(self) -> None:
        for child in self._children:
            child._start()
        self.start()

    def _stop(self) -> None:
        for child in self._children:
            child._stop()
        self.stop()

    # -- hooks -------------------------------------------------------------------------------

    def notify_cashvalue(self, cash: float, value: float) -> None:
        pass

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        pass

    def notify_order(self, order: Any) -> None:
        pass

    def notify_trade(self, trade: Any) -> None:
        pass

    def next(self) -> None:
        pass

    def prenext(self) -> None:
        self.next()

    def nextstart(self) -> None:
        self.next()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def create_analysis(self) -> None:
        self.rets = OrderedDict()

    def get_analysis(self) -> Any:
        return self.rets

    def pprint(self, *args: Any, **kwargs: Any) -> None:
        import pprint

        pprint.pprint(self.get_analysis(), *args, **kwargs)


class TimeFrameAnalyzerBase(Analyzer):
    """An analyzer that acts when the strategy's time crosses into a new period."""

    params: Any = (("timeframe", None), ("compression", None), ("_doprenext", True))

    def _start(self) -> None:
        self.timeframe = self.p.timeframe or self.data._timeframe
        self.compression = self.p.compression or self.data._compression
        self.dtcmp, self.dtkey = self._cmpkey(_dt.datetime.min)
        self.dtcmp1: Any = None
        self.dtkey1: Any = None
        super()._start()

    def _prenext(self) -> None:
        for child in self._children:
            child._prenext()
        if self._dt_over():
            self.on_dt_over()
        if self.p._doprenext:
            self.prenext()

    def _nextstart(self) -> None:
        for child in self._children:
            child._nextstart()
        if self._dt_over() or not self.p._doprenext:
            self.on_dt_over()
        self.nextstart()

    def _next(self) -> None:
        for child in self._children:
            child._next()
        if self._dt_over():
            self.on_dt_over()
        self.next()

    def on_dt_over(self) -> None:
        pass

    def _dt_over(self) -> bool:
        if self.timeframe == TimeFrame.NoTimeFrame:
            dtcmp: Any = MAXINT
            dtkey: Any = _dt.datetime.max
        else:
            dtcmp, dtkey = self._cmpkey(self.strategy.datetime.datetime())
        if self.dtcmp is None or dtcmp > self.dtcmp:
            self.dtkey, self.dtkey1 = dtkey, self.dtkey
            self.dtcmp, self.dtcmp1 = dtcmp, self.dtcmp
            return True
        return False

    def _cmpkey(self, dt: _dt.datetime) -> tuple[Any, Any]:
        tf = self.timeframe
        if tf == TimeFrame.NoTimeFrame:
            return None, None
        if tf == TimeFrame.Years:
            return dt.year, _dt.date(dt.year, 12, 31)
        if tf == TimeFrame.Months:
            last = calendar.monthrange(dt.year, dt.month)[1]
            return dt.year * 100 + dt.month, _dt.datetime(dt.year, dt.month, last)
        if tf == TimeFrame.Weeks:
            year, week, weekday = dt.isocalendar()
            sunday = dt + _dt.timedelta(days=7 - weekday)
            return year * 100 + week, _dt.datetime(sunday.year, sunday.month, sunday.day)
        if tf == TimeFrame.Days:
            return (
                dt.year * 10000 + dt.month * 100 + dt.day,
                _dt.datetime(dt.year, dt.month, dt.day),
            )
        return self._subday_key(dt)

    def _subday_key(self, dt: _dt.datetime) -> tuple[Any, Any]:
        tf = self.timeframe
        point: float = dt.hour * 60 + dt.minute
        if tf < TimeFrame.Minutes:
            point = point * 60 + dt.second
        if tf < TimeFrame.Seconds:
            point = point * 1e6 + dt.microsecond
        point = (point // self.compression + 1) * self.compression
        ps = pus = 0.0
        if tf == TimeFrame.Minutes:
            ph, pm = divmod(point, 60)
        elif tf == TimeFrame.Seconds:
            ph, pm = divmod(point, 3600)
            pm, ps = divmod(pm, 60)
        else:
            ph, pm = divmod(point, 3600 * 1e6)
            pm, psec = divmod(pm, 60 * 1e6)
            ps, pus = divmod(psec, 1e6)
        extra = 0
        if ph > 23:
            extra = int(ph // 24)
            ph %= 24
        adjust = _dt.timedelta(
            minutes=tf == TimeFrame.Minutes,
            seconds=tf == TimeFrame.Seconds,
            microseconds=tf == TimeFrame.MicroSeconds,
        )
        if extra:
            dt += _dt.timedelta(days=extra)
        key = dt.replace(hour=int(ph), minute=int(pm), second=int(ps), microsecond=int(pus))
        key -= adjust
        return key, key


class TimeReturn(TimeFrameAnalyzerBase):
    """Return of the portfolio value over each period (``{period_end: return}``)."""

    params: Any = (("data", None), ("firstopen", True), ("fund", None))

    def start(self) -> None:
        if self.p.fund:
            from lockstep.runtime.compat.backtrader.lines import CompatError

            raise CompatError("fund mode is not supported by the Lockstep layer")
        self._value_start = 0.0
        self._value = 0.0
        self._lastvalue: float | None = None
        if self.p.data is None:
            self._lastvalue = self.strategy.broker.getvalue()

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        self._value = value if self.p.data is None else self.p.data[0]

    def on_dt_over(self) -> None:
        if self.p.data is None or self._lastvalue is not None:
            assert self._lastvalue is not None
            self._value_start = self._lastvalue
        elif self.p.firstopen:
            self._value_start = self.p.data.open[0]
        else:
            self._value_start = self.p.data[0]

    def next(self) -> None:
        self.rets[self.dtkey] = self._value / self._value_start - 1.0
        self._lastvalue = self._value


def _average(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _stddev(values: list[float], avg: float, bessel: bool) -> float:
    squares = [(x - avg) ** 2 for x in values]
    return math.sqrt(math.fsum(squares) / (len(squares) - bessel))


class SharpeRatio(Analyzer):
    """Sharpe ratio of the per-period returns (yearly by default) over a risk-free rate."""

    params: Any = (
        ("timeframe", TimeFrame.Years),
        ("compression", 1),
        ("riskfreerate", 0.01),
        ("factor", None),
        ("convertrate", True),
        ("annualize", False),
        ("stddev_sample", False),
        ("daysfactor", None),
        ("legacyannual", False),
        ("fund", None),
    )
    RATEFACTORS = {  # noqa: RUF012 - Backtrader's table
        TimeFrame.Days: 252,
        TimeFrame.Weeks: 52,
        TimeFrame.Months: 12,
        TimeFrame.Years: 1,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.p.legacyannual:
            from lockstep.runtime.compat.backtrader.lines import CompatError

            raise CompatError("SharpeRatio(legacyannual=True) is not supported")
        self.timereturn = TimeReturn(
            timeframe=self.p.timeframe, compression=self.p.compression, fund=self.p.fund
        )

    def stop(self) -> None:
        returns = list(self.timereturn.get_analysis().values())
        rate = self.p.riskfreerate
        factor = None
        if self.p.timeframe == TimeFrame.Days and self.p.daysfactor is not None:
            factor = self.p.daysfactor
        elif self.p.factor is not None:
            factor = self.p.factor
        elif self.p.timeframe in self.RATEFACTORS:
            factor = self.RATEFACTORS[self.p.timeframe]
        if factor is not None:
            if self.p.convertrate:
                rate = pow(1.0 + rate, 1.0 / factor) - 1.0
            else:
                returns = [pow(1.0 + x, factor) - 1.0 for x in returns]
        ratio: float | None
        if len(returns) - self.p.stddev_sample:
            excess = [r - rate for r in returns]
            avg = _average(excess)
            try:
                ratio = avg / _stddev(excess, avg, self.p.stddev_sample)
                if factor is not None and self.p.convertrate and self.p.annualize:
                    ratio = math.sqrt(factor) * ratio
            except (ValueError, TypeError, ZeroDivisionError):
                ratio = None
        else:
            ratio = None
        self.ratio = ratio
        self.rets["sharperatio"] = ratio


class SharpeRatio_A(SharpeRatio):  # noqa: N801 - Backtrader's name
    params: Any = (("annualize", True),)


class Returns(TimeFrameAnalyzerBase):
    """Total, average and annualised (normalised) log returns."""

    params: Any = (("tann", None), ("fund", None))
    _TANN = {  # noqa: RUF012 - Backtrader's table
        TimeFrame.Days: 252.0,
        TimeFrame.Weeks: 52.0,
        TimeFrame.Months: 12.0,
        TimeFrame.Years: 1.0,
    }

    def start(self) -> None:
        self._value_start = self.strategy.broker.getvalue()
        self._tcount = 0

    def stop(self) -> None:
        self._value_end = self.strategy.broker.getvalue()
        try:
            ratio = self._value_end / self._value_start
        except ZeroDivisionError:
            rtot = float("-inf")
        else:
            rtot = float("-inf") if ratio < 0.0 else math.log(ratio)
        self.rets["rtot"] = rtot
        self.rets["ravg"] = ravg = rtot / self._tcount
        tann = self.p.tann or self._TANN.get(self.timeframe)
        if tann is None:
            tann = self._TANN.get(self.data._timeframe, 1.0)
        rnorm = math.expm1(ravg * tann) if ravg > float("-inf") else ravg
        self.rets["rnorm"] = rnorm
        self.rets["rnorm100"] = rnorm * 100.0

    def on_dt_over(self) -> None:
        self._tcount += 1


class DrawDown(Analyzer):
    """Current and maximum drawdown of the portfolio value, in percent, money and bars."""

    params: Any = (("fund", None),)

    def create_analysis(self) -> None:
        self.rets = AutoOrderedDict()
        self.rets.len = 0
        self.rets.drawdown = 0.0
        self.rets.moneydown = 0.0
        self.rets.max.len = 0.0
        self.rets.max.drawdown = 0.0
        self.rets.max.moneydown = 0.0
        self._maxvalue = float("-inf")
        self._value = 0.0

    def stop(self) -> None:
        self.rets._close()

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        self._value = value
        self._maxvalue = max(self._maxvalue, value)

    def next(self) -> None:
        r = self.rets
        r.moneydown = moneydown = self._maxvalue - self._value
        r.drawdown = drawdown = 100.0 * moneydown / self._maxvalue
        r.max.moneydown = max(r.max.moneydown, moneydown)
        r.max.drawdown = max(r.max.drawdown, drawdown)
        r.len = r.len + 1 if drawdown else 0
        r.max.len = max(r.max.len, r.len)


class TradeAnalyzer(Analyzer):
    """Statistics of closed trades: counts, streaks, P&L (gross/net), lengths, long/short."""

    def create_analysis(self) -> None:
        self.rets = AutoOrderedDict()
        self.rets.total.total = 0

    def stop(self) -> None:
        self.rets._close()

    def notify_trade(self, trade: Any) -> None:
        if trade.justopened:
            self.rets.total.total += 1
            self.rets.total.open += 1
        elif trade.status == trade.Closed:
            self._closed(trade)

    def _closed(self, trade: Any) -> None:
        t = self.rets
        won = int(trade.pnlcomm >= 0.0)
        res = {"won": won, "lost": int(not won), "tlong": trade.long, "tshort": not trade.long}
        t.total.open -= 1
        t.total.closed += 1
        for wl in ("won", "lost"):
            flag = res[wl]
            streak = t.streak[wl]
            streak.current *= flag
            streak.current += flag
            streak.longest = max(streak.longest or 0, streak.current)
        t.pnl.gross.total += trade.pnl
        t.pnl.gross.average = t.pnl.gross.total / t.total.closed
        t.pnl.net.total += trade.pnlcomm
        t.pnl.net.average = t.pnl.net.total / t.total.closed
        for wl in ("won", "lost"):
            flag = res[wl]
            node = t[wl]
            node.total += flag
            pnlcomm = trade.pnlcomm * flag
            node.pnl.total += pnlcomm
            node.pnl.average = node.pnl.total / (node.total or 1.0)
            pick = max if wl == "won" else min
            node.pnl.max = pick(node.pnl.max or 0.0, pnlcomm)
        for side in ("long", "short"):
            node = t[side]
            flag = res["t" + side]
            node.total += flag
            node.pnl.total += trade.pnlcomm * flag
            node.pnl.average = node.pnl.total / (node.total or 1.0)
            for wl in ("won", "lost"):
                both = res[wl] * flag
                pnlcomm = trade.pnlcomm * both
                node[wl] += both
                node.pnl[wl].total += pnlcomm
                node.pnl[wl].average = node.pnl[wl].total / (node[wl] or 1.0)
                pick = max if wl == "won" else min
                node.pnl[wl].max = pick(node.pnl[wl].max or 0.0, pnlcomm)
        barlen = trade.barlen
        t.len.total += barlen
        t.len.average = t.len.total / t.total.closed
        t.len.max = max(t.len.max or 0, barlen)
        t.len.min = min(t.len.min or MAXINT, barlen)
        for wl in ("won", "lost"):
            node = t.len[wl]
            flag = res[wl]
            node.total += barlen * flag
            node.average = node.total / (t[wl].total or 1.0)
            node.max = max(node.max or 0, barlen * flag)
            if barlen * flag:
                node.min = min(node.min or MAXINT, barlen * flag)
        for side in ("long", "short"):
            node = t.len[side]
            flag = res["t" + side]
            length = barlen * flag
            node.total += length
            node.average = node.total / (t[side].total or 1.0)
            node.max = max(node.max or 0, length)
            low = node.min or MAXINT
            node.min = min(low, length or low)
            for wl in ("won", "lost"):
                length2 = barlen * flag * res[wl]
                sub = node[wl]
                sub.total += length2
                sub.average = sub.total / (t[side][wl] or 1.0)
                sub.max = max(sub.max or 0, length2)
                low = sub.min or MAXINT
                sub.min = min(low, length2 or low)


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.analyzers", "backtrader.analyzers", __name__)
