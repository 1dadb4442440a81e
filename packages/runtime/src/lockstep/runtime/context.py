"""What a strategy sees and how it acts: read-only views plus intent-recording helpers.

Views come from the runtime's :class:`~lockstep.runtime.ledger.Ledger` (cash,
positions, marks, recent bars, clock) and, for orders, from the core: only the
orders asked for (or the open ones, read at most once per wake-up), never a
whole snapshot, so a long run does not slow down with every order it placed.
``buy``/``sell``/``cancel``/``replace`` only *record* intents; the runtime
submits everything recorded in one time step as one intent batch, and the
core validates it (ADR 0009).

Numbers: ints are the core's fixed-point units (price units, size units, money
units); strings and Decimals are decimal amounts, converted exactly with
:func:`lockstep.core.to_fixed` or refused. Floats are refused where an intent is
recorded, at the strategy's own line, because a float that is not exactly on
the grid would otherwise surface as a rejection far from its cause;
``round_price``/``round_qty`` are the one place that takes them, since putting
an approximate number on the grid is exactly what they are for.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal, Protocol

from lockstep.adapters import InstrumentSpec
from lockstep.core import FixedPointError, from_fixed, to_fixed
from lockstep.core import fixedpoint as fp
from lockstep.runtime.errors import StrategyError
from lockstep.runtime.ledger import Ledger
from lockstep.runtime.signals import decimal_values
from lockstep.runtime.views import Bar, OrderView

Number = int | str | Decimal
RoundMode = Literal["down", "up", "nearest"]
ROUND_MODES: tuple[str, ...] = ("down", "up", "nearest")


class CoreReader(Protocol):
    """What a context reads from the core (either backend)."""

    def snapshot(self) -> dict[str, Any]: ...

    def order_states(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def open_order_states(self) -> dict[str, dict[str, Any]]: ...

    def signal_values(self, instrument: str) -> dict[str, int | None]: ...


class Context:
    """The strategy's window on the run. Created by the runtime; never construct it yourself."""

    def __init__(
        self,
        strategy_id: str,
        ledger: Ledger,
        instruments: Mapping[str, InstrumentSpec],
        core: CoreReader,
        *,
        signal_places: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        self._strategy_id = strategy_id
        self._ledger = ledger
        self._instruments = MappingProxyType(dict(instruments))
        self._core = core
        self._snapshot: dict[str, Any] | None = None
        self._open: dict[str, dict[str, Any]] | None = None
        self._pending: list[dict[str, Any]] = []
        self._next_order = 1
        self._own_orders: set[str] = set()
        self._accepting = True
        self._base: str = next(iter(ledger.currencies))
        self._signal_places = signal_places
        """Per instrument, each declared indicator's places (None: no signals declared)."""

    # -- run bookkeeping (runtime only) -----------------------------------------------------------

    def _begin_wake(self) -> None:
        self._snapshot = None
        self._open = None

    def _last_seq_id(self) -> int:
        """The seq_id of the last record the runtime has seen (the core's, at a wake-up)."""
        return self._ledger.last_seq_id

    def _order_states(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The named orders as the core's state lists them (for the compat layer)."""
        return self._core.order_states(order_ids)

    def _drain(self) -> list[dict[str, Any]]:
        out, self._pending = self._pending, []
        return out

    def _record(self, intent: dict[str, Any], call: str) -> None:
        """Queue an intent for this time step's batch; every intent passes here.

        Anything the core cannot take (a float, a Decimal, an object) is refused
        now, naming ``call``, while the strategy's line is still on the stack.
        """
        if not self._accepting:
            raise StrategyError(
                f"strategy {self._strategy_id} placed an intent after the run ended (in on_stop)"
            )
        unfit = unfit_value(intent)
        if unfit is not None:
            raise StrategyError(
                f"{call}: the intent has {unfit}; the core takes ints "
                "(fixed-point units) only: convert with ctx.price/ctx.qty, or "
                "ctx.round_price/ctx.round_qty for a computed value"
            )
        if intent.get("type") == "place_order" and isinstance(intent.get("client_order_id"), str):
            self._own_orders.add(intent["client_order_id"])
        self._pending.append(intent)

    def _is_own(self, order_id: str | None) -> bool:
        return order_id in self._own_orders

    # -- read-only views ------------------------------------------------------------------------

    @property
    def strategy_id(self) -> str:
        return self._strategy_id

    @property
    def clock(self) -> int:
        """The core clock in ns since the epoch (the latest committed event or batch time)."""
        return self._ledger.clock

    @property
    def now(self) -> datetime:
        """The clock as an aware UTC datetime (microsecond precision; for display and calendars)."""
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self._ledger.clock // 1000)

    @property
    def instruments(self) -> Mapping[str, InstrumentSpec]:
        return self._instruments

    def instrument(self, instrument: str) -> InstrumentSpec:
        try:
            return self._instruments[instrument]
        except KeyError:
            raise StrategyError(
                f"unknown instrument {instrument!r}; the setup has {sorted(self._instruments)}"
            ) from None

    @property
    def base_currency(self) -> str:
        """The setup's first currency: the one ``cash()`` and ``equity()`` default to."""
        return self._base

    def cash(self, currency: str | None = None) -> int:
        """Cash in money units."""
        return self._ledger.cash.get(currency or self._base, 0)

    @property
    def positions(self) -> Mapping[str, int]:
        """Signed positions in size units, every instrument of the setup."""
        return MappingProxyType(self._ledger.positions)

    def position(self, instrument: str) -> int:
        return self._ledger.positions.get(instrument, 0)

    def mark(self, instrument: str) -> int | None:
        """Last price (bar close, trade, quote mid) in price units, or None before any data."""
        return self._ledger.marks.get(instrument)

    def equity(self, currency: str | None = None) -> int:
        """Cash plus marked positions quoted in ``currency``, in money units."""
        return self._ledger.equity(currency or self._base)

    def bars(self, instrument: str, count: int | None = None) -> tuple[Bar, ...]:
        """The last ``count`` bars (oldest first), at most the strategy's ``history``."""
        history = self._ledger.bars.get(instrument)
        if history is None:
            self.instrument(instrument)
            return ()
        if count is None or count >= len(history):
            return tuple(history)
        if count <= 0:
            return ()
        return tuple(history[i] for i in range(-count, 0))

    def closes(self, instrument: str, count: int | None = None) -> tuple[int, ...]:
        return tuple(b.close for b in self.bars(instrument, count))

    def last_bar(self, instrument: str) -> Bar | None:
        history = self._ledger.bars.get(instrument)
        return history[-1] if history else None

    def indicators(self, instrument: str) -> Mapping[str, Decimal | None]:
        """The strategy's declared indicators for ``instrument`` after its latest bar, as
        exact decimals (``None`` while one warms up), read from the core on any wake-up
        (an ``on_fill`` too, not only ``on_signal``)."""
        if self._signal_places is None:
            raise StrategyError(
                f"strategy {self._strategy_id}: ctx.indicators needs signals; "
                "declare them in Strategy.signals()"
            )
        places = self._signal_places.get(instrument)
        if places is None:
            raise StrategyError(
                f"strategy {self._strategy_id}: {instrument!r} is not one of its signals' "
                f"instruments ({', '.join(self._signal_places)})"
            )
        return decimal_values(self._core.signal_values(instrument), places)

    def snapshot(self) -> Mapping[str, Any]:
        """The core's full state (schema ``state``), taken once per wake-up.

        It lists every order the run has seen, so it grows with the run; use
        :meth:`order` and :meth:`open_orders` for orders.
        """
        if self._snapshot is None:
            self._snapshot = self._core.snapshot()
        return self._snapshot

    def open_orders(self, instrument: str | None = None) -> tuple[OrderView, ...]:
        """This strategy's orders that are not in a terminal state, in creation order.

        Creation order is the core's: ``(created_seq, order_id)``.
        """
        if self._open is None:
            self._open = self._core.open_order_states()
        views = [
            OrderView.from_state(o)
            for o in sorted(self._open.values(), key=lambda o: (o["created_seq"], o["order_id"]))
            if o["order_id"] in self._own_orders
            and (instrument is None or o["instrument"] == instrument)
        ]
        return tuple(views)

    def order(self, order_id: str) -> OrderView | None:
        order = self._core.order_states([order_id]).get(order_id)
        return OrderView.from_state(order) if order else None

    # -- conversions ----------------------------------------------------------------------------

    def price(self, instrument: str, value: Number) -> int:
        """A price in price units (ints pass through)."""
        return self._price(instrument, value, "ctx.price", "value")

    def qty(self, instrument: str, value: Number) -> int:
        """A quantity in size units (ints pass through)."""
        return self._qty(instrument, value, "ctx.qty", "value")

    def round_price(self, instrument: str, value: Number | float, mode: RoundMode) -> int:
        """``value`` put on the instrument's tick grid, in price units.

        A strategy that computes a price (a percentage off the close, a level
        from a float indicator) almost never lands on the tick, and the core
        rejects an off-tick price (``PRICE_OFF_TICK``) rather than guess which
        way the strategy meant. The mode makes that choice explicit:
        ``"down"`` (toward minus infinity, the cautious side for a buy limit),
        ``"up"`` (toward plus infinity, for a sell limit), or ``"nearest"``
        (a value exactly halfway between two ticks goes to the even multiple
        of the tick, like Python's ``round`` and :mod:`decimal`, so a series
        of halfway values does not drift one way).

        ``value`` is an int in price units, a decimal string or Decimal
        amount (any number of decimals), or a float amount, read through its
        shortest repr so ``101.37`` is 101.37 and not the binary value next to
        it. The result is an int in price units, the form every price the
        context hands out has, and ``ctx.buy``/``ctx.sell`` take it as is.
        """
        spec = self.instrument(instrument)
        return _on_grid(
            value, spec.price_precision, spec.tick_size, mode, f"ctx.round_price({instrument!r})"
        )

    def round_qty(self, instrument: str, value: Number | float, mode: RoundMode) -> int:
        """``value`` put on the instrument's lot grid, in size units.

        The same rules as :meth:`round_price`, with the lot size for the tick:
        ``"down"`` is what sizing from a budget wants (never more than it
        pays for), and a result of 0 means less than one lot.
        """
        spec = self.instrument(instrument)
        return _on_grid(
            value, spec.size_precision, spec.lot_size, mode, f"ctx.round_qty({instrument!r})"
        )

    def price_decimal(self, instrument: str, value: int) -> Decimal:
        return self.instrument(instrument).price_decimal(value)

    def qty_decimal(self, instrument: str, value: int) -> Decimal:
        return self.instrument(instrument).size_decimal(value)

    def money_decimal(self, value: int, currency: str | None = None) -> Decimal:
        return Decimal(from_fixed(value, self._ledger.currencies[currency or self._base]))

    def qty_for_value(self, instrument: str, money: int, price: Number | None = None) -> int:
        """The largest lot-rounded quantity whose notional at ``price`` (default: the mark) fits ``money``."""
        spec = self.instrument(instrument)
        at = self.price(instrument, price) if price is not None else self.mark(instrument)
        if at is None or money <= 0:
            return 0
        per_lot = fp.notional(at, spec.lot_size, self._ledger.shift[instrument])
        return (money // per_lot) * spec.lot_size if per_lot > 0 else 0

    # -- intents --------------------------------------------------------------------------------

    def buy(
        self,
        instrument: str,
        qty: Number,
        *,
        limit: Number | None = None,
        stop: Number | None = None,
        tif: str = "GTC",
        order_id: str | None = None,
    ) -> str:
        """Record a buy: market, or limit/stop/stop-limit when ``limit``/``stop`` are given.

        Returns the client order id (``<strategy_id>-<n>`` unless given).
        """
        return self._place("buy", instrument, qty, limit, stop, tif, order_id)

    def sell(
        self,
        instrument: str,
        qty: Number,
        *,
        limit: Number | None = None,
        stop: Number | None = None,
        tif: str = "GTC",
        order_id: str | None = None,
    ) -> str:
        """Record a sell; see :meth:`buy`."""
        return self._place("sell", instrument, qty, limit, stop, tif, order_id)

    def cancel(self, order_id: str) -> None:
        """Record a cancel of one of this strategy's orders."""
        self._record({"type": "cancel_order", "client_order_id": order_id}, "ctx.cancel")

    def replace(
        self,
        order_id: str,
        qty: Number,
        *,
        limit: Number | None = None,
        stop: Number | None = None,
    ) -> None:
        """Record a replace (new total quantity and prices) of one of this strategy's orders."""
        order = self.order(order_id)
        inst = order.instrument if order else None
        call = "ctx.replace"
        price: int | None = None
        stop_price: int | None = None
        if inst is None:  # not an order of this run: the core rejects the intent with a reason
            new_qty = _fixed(qty, 0, call, "qty")
        else:
            new_qty = self._qty(inst, qty, call, "qty")
            price = None if limit is None else self._price(inst, limit, call, "limit")
            stop_price = None if stop is None else self._price(inst, stop, call, "stop")
        self._record(
            {
                "type": "replace_order",
                "client_order_id": order_id,
                "qty": new_qty,
                "price": price,
                "stop_price": stop_price,
            },
            call,
        )

    def submit(self, intent: Mapping[str, Any]) -> None:
        """Record a raw intent dict (any type the core knows), as given.

        A float (or anything else the core cannot take) is refused here, at the
        strategy's line, rather than when the batch is sent after the callback
        returned.
        """
        self._record(dict(intent), "ctx.submit")

    def _place(
        self,
        side: str,
        instrument: str,
        qty: Number,
        limit: Number | None,
        stop: Number | None,
        tif: str,
        order_id: str | None,
    ) -> str:
        call = f"ctx.{side}"
        spec = self.instrument(instrument)
        if limit is not None and stop is not None:
            order_type = "stop_limit"
        elif limit is not None:
            order_type = "limit"
        elif stop is not None:
            order_type = "stop"
        else:
            order_type = "market"
        if order_id is None:
            order_id = f"{self._strategy_id}-{self._next_order}"
            self._next_order += 1
        self._record(
            {
                "type": "place_order",
                "client_order_id": order_id,
                "venue": spec.venue,
                "instrument": instrument,
                "side": side,
                "order_type": order_type,
                "time_in_force": tif,
                "qty": self._qty(instrument, qty, call, "qty"),
                "price": None if limit is None else self._price(instrument, limit, call, "limit"),
                "stop_price": None if stop is None else self._price(instrument, stop, call, "stop"),
            },
            call,
        )
        return order_id

    def _price(self, instrument: str, value: Number, call: str, name: str) -> int:
        spec = self.instrument(instrument)
        return _fixed(value, spec.price_precision, call, name, ("round_price", instrument))

    def _qty(self, instrument: str, value: Number, call: str, name: str) -> int:
        spec = self.instrument(instrument)
        return _fixed(value, spec.size_precision, call, name, ("round_qty", instrument))


def _fixed(
    value: object,
    precision: int,
    call: str,
    name: str,
    grid: tuple[str, str] | None = None,
) -> int:
    """``value`` in fixed-point units, or a StrategyError that says how to write it instead.

    ``grid`` is the rounding helper and instrument to suggest when the value
    cannot be exact (a float) or is not (too many decimals).
    """
    units = "units" if grid is None else "price units" if grid[0] == "round_price" else "size units"
    forms = f"pass ints ({units}), decimal strings or Decimals"
    helper = ""
    if grid is not None:
        helper = f"ctx.{grid[0]}({grid[1]!r}, {value!r}, MODE), MODE 'down', 'up' or 'nearest'"
    if isinstance(value, bool):
        raise StrategyError(f"{call}: {name} {value!r} is a bool, not a number: {forms}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StrategyError(f"{call}: {name} {value!r} is not a finite number: {forms}")
        fixes = [f"write {str(Decimal(float.__repr__(value)))!r}"]
        if helper:
            fixes.append(f"put it on the grid with {helper}")
        raise StrategyError(
            f"{call}: {name} {value!r} is a float, which is not exact: {forms}, not floats "
            f"({', or '.join(fixes)})"
        )
    if _other_real(value):
        advice = f"; or put it on the grid with {helper}" if helper else ""
        raise StrategyError(
            f"{call}: {name} {value!r} is a {type(value).__name__}: {forms}{advice}"
        )
    if not isinstance(value, str | Decimal):
        raise StrategyError(f"{call}: {name} {value!r} is a {type(value).__name__}: {forms}")
    try:
        return to_fixed(str(value), precision, lo=fp.QTY_MIN, hi=fp.QTY_MAX)
    except FixedPointError as err:
        advice = f"; put it on the grid with {helper}" if helper and "places" in err.reason else ""
        raise StrategyError(f"{call}: {name} {err.reason}{advice}") from None


def _other_real(value: object) -> bool:
    """A real number that is neither an int, a Decimal nor a float (numpy floats, Fraction)."""
    if isinstance(value, Decimal | numbers.Integral | float):
        return False
    return isinstance(value, numbers.Real)


def _on_grid(value: object, precision: int, step: int, mode: str, call: str) -> int:
    """The multiple of ``step`` (fixed-point units) that ``mode`` picks for ``value``.

    Computed with fractions, so the only rounding is the one the mode asks for.
    """
    if mode not in ROUND_MODES:
        raise StrategyError(
            f"{call}: unknown rounding mode {mode!r}; "
            f"use one of {', '.join(map(repr, ROUND_MODES))}"
        )
    if isinstance(value, bool):
        raise StrategyError(f"{call}: {value!r} is a bool, not a number")
    if isinstance(value, numbers.Integral):
        exact = Fraction(int(value))
    else:
        amount = _amount(value, call)
        exact = Fraction(amount) * 10**precision
    steps = exact / step
    if mode == "down":
        n = math.floor(steps)
    elif mode == "up":
        n = math.ceil(steps)
    else:
        n = round(steps)  # Fraction rounds halves to even
    return n * step


def _amount(value: object, call: str) -> Decimal:
    """A finite Decimal for a decimal amount given as float, str or Decimal."""
    try:
        if isinstance(value, float):
            amount = Decimal(float.__repr__(value))
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        elif isinstance(value, Decimal):
            amount = value
        else:
            raise StrategyError(
                f"{call}: {value!r} is a {type(value).__name__}; pass an int (fixed-point units), "
                "a decimal string, a Decimal or a float"
            )
    except InvalidOperation:
        raise StrategyError(f"{call}: {value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise StrategyError(f"{call}: {value!r} is not a finite number")
    return amount


def unfit_value(value: object, path: str = "$") -> str | None:
    """The first value in an intent the core cannot take (``a float 1.5 at $.qty``), or None.

    The core takes JSON with integer numbers only; finding a float (or a
    Decimal, or anything else that is not JSON) while the callback still runs
    is what lets the error name the strategy's line.
    """
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = unfit_value(item, f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for n, item in enumerate(value):
            found = unfit_value(item, f"{path}[{n}]")
            if found is not None:
                return found
        return None
    return f"a {type(value).__name__} {value!r} at {path}"
