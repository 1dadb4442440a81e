"""``bt.Cerebro``: collects data, strategies, sizers, analyzers and broker settings, then runs.

``run()`` builds, for each strategy combination (one, or one per
``optstrategy`` parameter set), a :class:`~.bridge.Session`, the core setup
it implies, and Lockstep memory feeds of the data, and hands them to
:func:`lockstep.runtime.backtest.run_backtest` with a bridge strategy. The run
is therefore an ordinary Lockstep backtest: stored in a run database when
``store`` is given, verifiable with ``lockstep replay verify``.

Beyond Backtrader's parameters, ``Cerebro`` takes ``engine`` (core backend),
``store`` (run database path), ``overwrite``, ``price_precision`` and
``size_precision`` (the fixed-point scales of the instruments; 8 and 8 by
default). ``cerebro.lockstep_results`` holds each run's
:class:`~lockstep.runtime.backtest.BacktestResult`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lockstep.runtime.backtest import BacktestResult, run_backtest
from lockstep.runtime.compat.backtrader.bridge import BacktraderBridge, Precision, Session
from lockstep.runtime.compat.backtrader.broker import BackBroker
from lockstep.runtime.compat.backtrader.feeds import DataBase
from lockstep.runtime.compat.backtrader.lines import CompatError

Spec = tuple[type, tuple[Any, ...], dict[str, Any]]

_ACCEPTED = {
    "preload": True,
    "runonce": True,
    "maxcpus": None,
    "stdstats": True,
    "oldbuysell": False,
    "oldtrades": False,
    "lookahead": 0,
    "exactbars": False,
    "optdatas": True,
    "optreturn": True,
    "objcache": False,
    "live": False,
    "writer": False,
    "tradehistory": False,
    "oldsync": False,
    "tz": None,
    "cheat_on_open": False,
    "broker_coo": True,
    "quicknotify": False,
}
"""Backtrader's own parameters: accepted; the ones that change trading must keep their default."""
_MUST_BE_DEFAULT = ("cheat_on_open", "quicknotify", "live", "oldsync")
_LOCKSTEP = {
    "engine": None,
    "store": None,
    "overwrite": False,
    "price_precision": 8,
    "size_precision": 8,
}


class Cerebro:
    """Backtrader's run coordinator, running every backtest on the Lockstep core."""

    def __init__(self, **kwargs: Any) -> None:
        self.p: dict[str, Any] = dict(_ACCEPTED)
        self.p.update(_LOCKSTEP)
        self._update(kwargs)
        self.datas: list[DataBase] = []
        self.datasbyname: dict[str, DataBase] = {}
        self.strats: list[list[Spec]] = []
        self.sizers: dict[int | None, Spec] = {}
        self.analyzers: list[Spec] = []
        self._broker = BackBroker()
        self.runstrats: list[Any] = []
        self.lockstep_results: list[BacktestResult] = []

    def _update(self, kwargs: dict[str, Any]) -> None:
        for key, value in kwargs.items():
            if key not in self.p:
                raise CompatError(f"Cerebro has no parameter {key!r}")
            self.p[key] = value
        for key in _MUST_BE_DEFAULT:
            if self.p[key] != _ACCEPTED[key]:
                raise CompatError(f"Cerebro({key}={self.p[key]!r}) is not supported")

    # -- broker ------------------------------------------------------------------------------

    @property
    def broker(self) -> BackBroker:
        return self._broker

    @broker.setter
    def broker(self, broker: BackBroker) -> None:
        if not isinstance(broker, BackBroker):
            raise CompatError("only bt.brokers.BackBroker can be used with the Lockstep layer")
        self._broker = broker

    def getbroker(self) -> BackBroker:
        return self._broker

    def setbroker(self, broker: BackBroker) -> BackBroker:
        self.broker = broker
        return broker

    # -- data --------------------------------------------------------------------------------

    def adddata(self, data: DataBase, name: str | None = None) -> DataBase:
        if not isinstance(data, DataBase):
            raise CompatError("adddata takes a bt.feeds data feed (PandasData, GenericCSVData)")
        if name is not None:
            data._name = name
        self.datas.append(data)
        if data._name:
            self.datasbyname[data._name] = data
        return data

    def resampledata(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("resampledata is not supported by the Lockstep layer")

    def replaydata(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("replaydata is not supported by the Lockstep layer")

    def chaindata(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("chaindata is not supported by the Lockstep layer")

    # -- strategies and friends --------------------------------------------------------------

    def addstrategy(self, strategy: type, *args: Any, **kwargs: Any) -> int:
        self.strats.append([(strategy, args, kwargs)])
        return len(self.strats) - 1

    def optstrategy(self, strategy: type, *args: Any, **kwargs: Any) -> None:
        """One run per combination of the iterable keyword values (scalars stay fixed)."""
        names = list(kwargs)
        choices = [_values(kwargs[n]) for n in names]
        combos = [
            (strategy, args, dict(zip(names, combo, strict=True)))
            for combo in itertools.product(*choices)
        ]
        self.strats.append(combos)

    def addsizer(self, sizercls: type, *args: Any, **kwargs: Any) -> None:
        self.sizers[None] = (sizercls, args, kwargs)

    def addsizer_byidx(self, idx: int, sizercls: type, *args: Any, **kwargs: Any) -> None:
        self.sizers[idx] = (sizercls, args, kwargs)

    def addanalyzer(self, ancls: type, *args: Any, **kwargs: Any) -> None:
        self.analyzers.append((ancls, args, kwargs))

    def addobserver(self, *args: Any, **kwargs: Any) -> None:
        """Accepted and ignored: observers only draw, they never trade."""

    def addobservermulti(self, *args: Any, **kwargs: Any) -> None:
        """Accepted and ignored, like :meth:`addobserver`."""

    def addwriter(self, *args: Any, **kwargs: Any) -> None:
        raise CompatError("writers are not supported; the run database records everything")

    def addindicator(self, *args: Any, **kwargs: Any) -> None:
        raise CompatError("cerebro.addindicator is not supported; create indicators in __init__")

    def add_timer(self, *args: Any, **kwargs: Any) -> None:
        raise CompatError("timers are not supported by the Lockstep layer")

    def plot(self, *args: Any, **kwargs: Any) -> None:
        raise CompatError("plotting is not supported; use `lockstep report RUN.db`")

    # -- running -----------------------------------------------------------------------------

    def run(self, **kwargs: Any) -> list[Any]:
        """Run every strategy combination; returns the strategies (a list per run when optimising)."""
        self._update(kwargs)
        if not self.strats:
            raise CompatError("no strategy: call addstrategy() or optstrategy() before run()")
        combos = list(itertools.product(*self.strats))
        optimising = any(len(s) > 1 for s in self.strats)
        precision = Precision(self.p["price_precision"], self.p["size_precision"])
        self.runstrats = []
        self.lockstep_results = []
        for number, combo in enumerate(combos):
            session = Session(
                self,
                self.datas,
                self._broker,
                list(combo),
                self.sizers,
                self.analyzers,
                precision,
            )
            sid = "bt-" + "".join(
                c for c in type(session.strategies[0]).__name__ if c.isalnum() or c in "_-."
            )
            bridge = BacktraderBridge(session, sid[:40])
            result = run_backtest(
                bridge,
                session.feeds(),
                session.setup(),
                engine=self.p["engine"],
                store=self._store_path(number, len(combos)),
                overwrite=bool(self.p["overwrite"]),
            )
            for strat in session.strategies:
                strat.__dict__["lockstep_result"] = result
            self.lockstep_results.append(result)
            self.runstrats.append(session.strategies)
        if optimising:
            return self.runstrats
        first: list[Any] = self.runstrats[0]
        return first

    def _store_path(self, number: int, total: int) -> Path | None:
        store = self.p["store"]
        if store is None:
            return None
        path = Path(store)
        if total == 1:
            return path
        return path.with_name(f"{path.stem}-{number + 1}{path.suffix}")


def _values(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    return list(value)
