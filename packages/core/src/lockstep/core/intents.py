"""Strategy intents and the four validation stages.

Strategies never mutate engine state; they hand the core intents. Each intent is
checked in a fixed order (schema, venue capability, risk guards, order-state
legality) and the first failing check becomes its reason code, so the same bad
intent always gets the same answer from every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lockstep.core import fixedpoint as fp
from lockstep.core import validate as v
from lockstep.core.coresetup import ORDER_TYPES, TIME_IN_FORCE, CoreSetup
from lockstep.core.errors import InputError
from lockstep.core.items import RISK_FLAGS
from lockstep.core.orders import WORKING, Order

INTENT_TYPES = ("place_order", "cancel_order", "replace_order", "set_risk_flag", "noop")
NEEDS_PRICE = frozenset({"limit", "stop_limit"})
NEEDS_STOP = frozenset({"stop", "stop_limit"})


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    client_order_id: str
    venue: str
    instrument: str
    side: str
    order_type: str
    time_in_force: str
    qty: int
    price: int | None
    stop_price: int | None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    client_order_id: str
    qty: int
    price: int | None
    stop_price: int | None


@dataclass(frozen=True, slots=True)
class SetRiskFlag:
    flag: str
    value: bool


@dataclass(frozen=True, slots=True)
class NoOp:
    pass


Intent = PlaceOrder | CancelOrder | ReplaceOrder | SetRiskFlag | NoOp


class Rejected(Exception):
    """Carries the reason code of the first failing validation stage."""

    def __init__(self, reason_code: str) -> None:
        super().__init__(reason_code)
        self.reason_code = reason_code


class StateView(Protocol):
    """What the rules need to read; the core provides it, tests can fake it."""

    @property
    def setup(self) -> CoreSetup: ...
    @property
    def orders(self) -> Mapping[str, Order]: ...
    @property
    def positions(self) -> Mapping[str, int]: ...
    @property
    def marks(self) -> Mapping[str, int]: ...
    @property
    def halted(self) -> bool: ...
    @property
    def reduce_only(self) -> bool: ...
    @property
    def no_new_orders(self) -> bool: ...

    def open_signed_remaining(self, instrument: str, excluding: str | None = None) -> int: ...


def describe(raw: Any) -> tuple[str, str | None]:
    """Best-effort (type, order id) of a raw intent, for its outcome record."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    order_id = raw.get("client_order_id") if isinstance(raw, dict) else None
    return (
        kind if isinstance(kind, str) else "invalid",
        order_id if v.is_identifier(order_id) else None,
    )


def parse_intent(raw: Any) -> Intent:
    """Stage 1: the intent's own shape. Raises ``Rejected('SCHEMA_INVALID')``."""
    try:
        return _parse(raw)
    except InputError:
        raise Rejected("SCHEMA_INVALID") from None


def _parse(raw: Any) -> Intent:
    obj = v.require_object(raw, "$")
    kind = v.choice(obj, "type", "$", INTENT_TYPES)
    if kind == "place_order":
        v.exact_keys(
            obj,
            "$",
            (
                "type",
                "client_order_id",
                "venue",
                "instrument",
                "side",
                "order_type",
                "time_in_force",
                "qty",
                "price",
                "stop_price",
            ),
        )
        order_type = v.choice(obj, "order_type", "$", ORDER_TYPES)
        price = v.optional_integer(obj, "price", "$", fp.PRICE_MIN, fp.PRICE_MAX)
        stop = v.optional_integer(obj, "stop_price", "$", fp.PRICE_MIN, fp.PRICE_MAX)
        _check_prices(order_type, price, stop)
        return PlaceOrder(
            client_order_id=v.identifier(obj, "client_order_id", "$"),
            venue=v.identifier(obj, "venue", "$"),
            instrument=v.identifier(obj, "instrument", "$"),
            side=v.choice(obj, "side", "$", ("buy", "sell")),
            order_type=order_type,
            time_in_force=v.choice(obj, "time_in_force", "$", TIME_IN_FORCE),
            qty=v.integer(obj, "qty", "$", fp.QTY_MIN, fp.QTY_MAX),
            price=price,
            stop_price=stop,
        )
    if kind == "cancel_order":
        v.exact_keys(obj, "$", ("type", "client_order_id"))
        return CancelOrder(v.identifier(obj, "client_order_id", "$"))
    if kind == "replace_order":
        v.exact_keys(obj, "$", ("type", "client_order_id", "qty", "price", "stop_price"))
        return ReplaceOrder(
            client_order_id=v.identifier(obj, "client_order_id", "$"),
            qty=v.integer(obj, "qty", "$", fp.QTY_MIN, fp.QTY_MAX),
            price=v.optional_integer(obj, "price", "$", fp.PRICE_MIN, fp.PRICE_MAX),
            stop_price=v.optional_integer(obj, "stop_price", "$", fp.PRICE_MIN, fp.PRICE_MAX),
        )
    if kind == "set_risk_flag":
        v.exact_keys(obj, "$", ("type", "flag", "value"))
        return SetRiskFlag(v.choice(obj, "flag", "$", RISK_FLAGS), v.boolean(obj, "value", "$"))
    v.exact_keys(obj, "$", ("type",))
    return NoOp()


def _check_prices(order_type: str, price: int | None, stop: int | None) -> None:
    if (price is not None) != (order_type in NEEDS_PRICE):
        v.fail(
            "$.price",
            f"price is {'required' if order_type in NEEDS_PRICE else 'not allowed'} for {order_type}",
        )
    if (stop is not None) != (order_type in NEEDS_STOP):
        v.fail(
            "$.stop_price",
            f"stop_price is {'required' if order_type in NEEDS_STOP else 'not allowed'} for {order_type}",
        )


def check_place(intent: PlaceOrder, state: StateView) -> None:
    """Stages 2-4 for a new order; raises :class:`Rejected` with the first failing reason."""
    setup = state.setup
    venue = setup.venues.get(intent.venue)
    if venue is None:
        raise Rejected("UNKNOWN_VENUE")
    inst = setup.instruments.get(intent.instrument)
    if inst is None or inst.venue != intent.venue:
        raise Rejected("UNKNOWN_INSTRUMENT")
    if intent.order_type not in venue.order_types:
        raise Rejected("ORDER_TYPE_UNSUPPORTED")
    if intent.time_in_force not in venue.time_in_force:
        raise Rejected("TIF_UNSUPPORTED")
    _check_grid(inst.tick_size, inst.lot_size, intent.qty, intent.price, intent.stop_price)
    if state.halted:
        raise Rejected("HALTED")
    if state.no_new_orders:
        raise Rejected("RISK_FLAG_BLOCKED")
    signed = intent.qty if intent.side == "buy" else -intent.qty
    _check_exposure(
        state, intent.instrument, signed, None, intent.qty, intent.price, intent.stop_price
    )
    if intent.client_order_id in state.orders:
        raise Rejected("DUPLICATE_ORDER_ID")


def check_cancel(intent: CancelOrder, state: StateView) -> Order:
    order = state.orders.get(intent.client_order_id)
    if order is None:
        raise Rejected("UNKNOWN_ORDER")
    if order.status not in WORKING:
        raise Rejected("ORDER_NOT_CANCELABLE")
    return order


def check_replace(intent: ReplaceOrder, state: StateView) -> Order:
    order = state.orders.get(intent.client_order_id)
    if order is not None:
        venue = state.setup.venues[order.venue]
        inst = state.setup.instruments[order.instrument]
        if not venue.supports_replace:
            raise Rejected("REPLACE_UNSUPPORTED")
        _check_grid(inst.tick_size, inst.lot_size, intent.qty, intent.price, intent.stop_price)
    if state.halted:
        raise Rejected("HALTED")
    if order is None:
        raise Rejected("UNKNOWN_ORDER")
    new_remaining = max(intent.qty - order.filled_qty, 0)
    _check_exposure(
        state,
        order.instrument,
        order.sign * new_remaining,
        order.order_id,
        intent.qty,
        intent.price,
        intent.stop_price,
    )
    if order.status not in WORKING:
        raise Rejected("ORDER_NOT_REPLACEABLE")
    if (
        intent.qty <= order.filled_qty
        or (intent.price is not None) != (order.order_type in NEEDS_PRICE)
        or (intent.stop_price is not None) != (order.order_type in NEEDS_STOP)
    ):
        raise Rejected("INVALID_REPLACE")
    return order


def _check_grid(tick: int, lot: int, qty: int, price: int | None, stop: int | None) -> None:
    if (price is not None and price % tick) or (stop is not None and stop % tick):
        raise Rejected("PRICE_OFF_TICK")
    if qty % lot:
        raise Rejected("QTY_OFF_LOT")


def _check_exposure(
    state: StateView,
    instrument: str,
    signed_qty: int,
    excluding: str | None,
    qty: int,
    price: int | None,
    stop: int | None,
) -> None:
    """Reduce-only, max position and max order notional, in that order."""
    setup = state.setup
    inst = setup.instruments[instrument]
    projected = state.positions.get(instrument, 0) + state.open_signed_remaining(
        instrument, excluding
    )
    after = projected + signed_qty
    if state.reduce_only and abs(after) > abs(projected):
        raise Rejected("RISK_FLAG_BLOCKED")
    limit = setup.risk.max_position.get(instrument)
    if limit is not None and abs(after) > limit:
        raise Rejected("MAX_POSITION_EXCEEDED")
    if after < fp.POSITION_MIN or after > fp.POSITION_MAX:
        raise Rejected("VALUE_OUT_OF_RANGE")
    reference = (
        price if price is not None else stop if stop is not None else state.marks.get(instrument)
    )
    max_notional = setup.risk.max_order_notional.get(inst.quote_currency)
    if reference is None:
        if max_notional is not None:
            raise Rejected("NO_REFERENCE_PRICE")
        return
    try:
        value = fp.notional(reference, qty, inst.scale_shift)
    except fp.OutOfRange:
        raise Rejected("VALUE_OUT_OF_RANGE") from None
    if max_notional is not None and value > max_notional:
        raise Rejected("MAX_NOTIONAL_EXCEEDED")
