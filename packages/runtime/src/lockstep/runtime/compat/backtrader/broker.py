"""The broker a Backtrader strategy talks to: settings before the run, a window on the core during it.

``cerebro.broker`` collects cash and commission settings; they become the
core's setup (starting cash, one simulated venue per data feed with its
``fee_ppm``). During the run every query (cash, value, positions) is answered
from the core's ledger through the run's session, and every order the
strategy places goes to the session, which turns it into intents. After the
run the broker keeps the final cash and value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.runtime.compat.backtrader.comminfo import CommInfoBase
from lockstep.runtime.compat.backtrader.errors import missing_names as _missing_names
from lockstep.runtime.compat.backtrader.lines import CompatError, MetaLineSeries
from lockstep.runtime.compat.backtrader.order import Order
from lockstep.runtime.compat.backtrader.params import split_kwargs
from lockstep.runtime.compat.backtrader.position import Position

if TYPE_CHECKING:
    from lockstep.runtime.compat.backtrader.bridge import Session


def _unsupported(what: str) -> CompatError:
    return CompatError(
        f"{what} is not supported by the Lockstep Backtrader layer: the core's simulated "
        "venue has no equivalent (see the divergence table in docs/guides/backtrader.md)"
    )


class BrokerBase(metaclass=MetaLineSeries):
    params: Any = ()


class BackBroker(BrokerBase):
    """Backtrader's back-testing broker, translated (``bt.brokers.BackBroker``)."""

    params: Any = (
        ("cash", 10000.0),
        ("checksubmit", True),
        ("eosbar", False),
        ("filler", None),
        ("slip_perc", 0.0),
        ("slip_fixed", 0.0),
        ("slip_open", False),
        ("slip_match", True),
        ("slip_limit", True),
        ("slip_out", False),
        ("coc", False),
        ("coo", False),
        ("int2pnl", True),
        ("shortcash", True),
        ("fundstartval", 100.0),
        ("fundmode", False),
    )

    def __init__(self, **kwargs: Any) -> None:
        bag, rest = split_kwargs(type(self), kwargs)
        if rest:
            raise CompatError(f"BackBroker got unknown parameters {sorted(rest)}")
        self.p = self.params = bag
        self.startingcash = float(bag.cash)
        self.comminfo: dict[str | None, CommInfoBase] = {None: CommInfoBase(percabs=True)}
        self._session: Session | None = None
        self._final_cash: float | None = None
        self._final_value: float | None = None
        self._positions: dict[Any, Position] = {}

    # -- settings ----------------------------------------------------------------------------

    def _check_settings(self) -> None:
        """Refuse settings the core cannot honour instead of ignoring them."""
        p = self.p
        for name in ("slip_perc", "slip_fixed"):
            if getattr(p, name):
                raise _unsupported("slippage")
        if p.coc:
            raise _unsupported("cheat-on-close (set_coc)")
        if p.coo:
            raise _unsupported("cheat-on-open (set_coo)")
        if p.filler is not None:
            raise _unsupported("a volume filler (set_filler)")
        if not p.shortcash:
            raise _unsupported("shortcash=False")
        if p.fundmode:
            raise _unsupported("fund mode")

    def set_cash(self, cash: float) -> None:
        if self._session is not None:
            raise CompatError("the cash cannot change during a run (add_cash is not supported)")
        self.startingcash = float(cash)
        self.p.cash = float(cash)

    setcash = set_cash

    def add_cash(self, cash: float) -> None:
        raise _unsupported("add_cash")

    def set_checksubmit(self, checksubmit: bool) -> None:
        self.p.checksubmit = bool(checksubmit)

    def set_coc(self, coc: bool) -> None:
        self.p.coc = coc

    def set_coo(self, coo: bool) -> None:
        self.p.coo = coo

    def set_shortcash(self, shortcash: bool) -> None:
        self.p.shortcash = shortcash

    def set_filler(self, filler: Any) -> None:
        self.p.filler = filler

    def set_fundmode(self, fundmode: bool, fundstartval: float | None = None) -> None:
        self.p.fundmode = fundmode

    def set_eosbar(self, eosbar: bool) -> None:
        self.p.eosbar = eosbar

    def set_slippage_perc(self, perc: float, *args: Any, **kwargs: Any) -> None:
        self.p.slip_perc = perc

    def set_slippage_fixed(self, fixed: float, *args: Any, **kwargs: Any) -> None:
        self.p.slip_fixed = fixed

    def setcommission(
        self,
        commission: float = 0.0,
        margin: float | None = None,
        mult: float = 1.0,
        commtype: int | None = None,
        percabs: bool = True,
        stocklike: bool = False,
        interest: float = 0.0,
        interest_long: bool = False,
        leverage: float = 1.0,
        automargin: bool = False,
        name: str | None = None,
    ) -> None:
        """A percentage commission for data ``name`` (all data when ``None``)."""
        self.comminfo[name] = CommInfoBase(
            commission=commission,
            margin=margin,
            mult=mult,
            commtype=commtype,
            percabs=percabs,
            stocklike=stocklike,
            interest=interest,
            interest_long=interest_long,
            leverage=leverage,
            automargin=automargin,
        )

    def addcommissioninfo(self, comminfo: CommInfoBase, name: str | None = None) -> None:
        self.comminfo[name] = comminfo

    def getcommissioninfo(self, data: Any) -> CommInfoBase:
        name = getattr(data, "_name", None)
        return self.comminfo.get(name, self.comminfo[None])

    # -- state -------------------------------------------------------------------------------

    def get_cash(self) -> float:
        if self._session is not None:
            return self._session.cash()
        if self._final_cash is not None:
            return self._final_cash
        return self.startingcash

    getcash = get_cash

    @property
    def cash(self) -> float:
        return self.get_cash()

    def get_value(self, datas: Any = None, mkt: bool = False, lever: bool = False) -> float:
        if datas:
            if self._session is None:
                return 0.0
            return self._session.data_value(list(datas))
        if self._session is not None:
            return self._session.value()
        if self._final_value is not None:
            return self._final_value
        return self.startingcash

    getvalue = get_value

    @property
    def fundmode(self) -> bool:
        return False

    @property
    def fundshares(self) -> float:
        return self.startingcash / float(self.p.fundstartval)

    @property
    def fundvalue(self) -> float:
        return self.get_value() / self.fundshares

    def getposition(self, data: Any) -> Position:
        if self._session is not None:
            return self._session.position(data)
        return self._positions.setdefault(data, Position())

    @property
    def positions(self) -> dict[Any, Position]:
        return self._positions

    def get_orders_open(self, safe: bool = False) -> list[Order]:
        if self._session is None:
            return []
        return self._session.open_orders()

    def orderstatus(self, order: Order) -> int:
        return order.status

    # -- orders ------------------------------------------------------------------------------

    def _live(self) -> Session:
        if self._session is None:
            raise CompatError("orders can only be placed while cerebro.run() is running")
        return self._session

    def buy(self, owner: Any, data: Any, size: float, **kwargs: Any) -> Order:
        return self._live().create_order(owner, data, Order.Buy, size, kwargs)

    def sell(self, owner: Any, data: Any, size: float, **kwargs: Any) -> Order:
        return self._live().create_order(owner, data, Order.Sell, size, kwargs)

    def cancel(self, order: Order, bracket: bool = False) -> bool:
        return self._live().cancel(order)


BrokerBack = BackBroker


if not TYPE_CHECKING:  # at run time only, so mypy still checks every name imported from here
    __getattr__ = _missing_names("bt.brokers", "backtrader.brokers", __name__)
