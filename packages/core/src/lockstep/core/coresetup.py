"""The engine configuration: currencies, venues, instruments, cash, risk, timers.

Built once from a dict (valid against the ``setup`` schema) and frozen, so
nothing during a run can change the rules a run was started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lockstep.core import validate as v
from lockstep.core.errors import InputError, SetupError
from lockstep.core.fixedpoint import (
    MAX_PRECISION,
    MONEY_MAX,
    MONEY_MIN,
    POSITION_MAX,
    PRICE_MAX,
    QTY_MAX,
    TIME_MAX,
)

SOURCES = ("control", "broker_report", "market_data", "timer")
DEFAULT_SOURCE_PRIORITY = ("control", "broker_report", "market_data", "timer")
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "DAY")
INVARIANT_MODES = ("strict", "warn", "off")


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    money_precision: int


@dataclass(frozen=True, slots=True)
class Venue:
    name: str
    simulated: bool
    order_types: frozenset[str]
    time_in_force: frozenset[str]
    supports_replace: bool
    fee_ppm: int
    participation_bps: int | None


@dataclass(frozen=True, slots=True)
class Instrument:
    id: str
    venue: str
    quote_currency: str
    price_precision: int
    size_precision: int
    tick_size: int
    lot_size: int
    scale_shift: int
    """``money_precision - price_precision - size_precision``: exponent that makes notionals exact."""


@dataclass(frozen=True, slots=True)
class TimerSpec:
    timer_id: str
    start_ns: int
    interval_ns: int


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_position: Mapping[str, int] = field(default_factory=dict)
    max_order_notional: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CoreSetup:
    currencies: Mapping[str, Currency]
    venues: Mapping[str, Venue]
    instruments: Mapping[str, Instrument]
    starting_cash: Mapping[str, int]
    risk: RiskLimits
    source_priority: tuple[str, ...]
    invariant_mode: str
    timers: tuple[TimerSpec, ...]
    raw: Mapping[str, Any]
    """The normalized dict form (defaults filled in), as stored in run metadata."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoreSetup:
        try:
            return _parse(data)
        except InputError as err:
            raise SetupError(err.path, err.reason) from None


def _parse(data: Mapping[str, Any]) -> CoreSetup:
    obj = v.require_object(data, "$")
    v.exact_keys(
        obj,
        "$",
        required=("currencies", "venues", "instruments"),
        optional=("starting_cash", "risk", "source_priority", "invariant_mode", "timers"),
    )
    currencies = _currencies(obj["currencies"])
    venues = _venues(obj["venues"])
    instruments = _instruments(obj["instruments"], currencies, venues)
    starting_cash = _money_map(obj.get("starting_cash", {}), "$.starting_cash", currencies)
    risk = _risk(obj.get("risk", {}), instruments, currencies)
    priority = _priority(obj.get("source_priority", list(DEFAULT_SOURCE_PRIORITY)))
    mode = obj.get("invariant_mode", "strict")
    if mode not in INVARIANT_MODES:
        v.fail("$.invariant_mode", f"expected one of {list(INVARIANT_MODES)}, got {mode!r}")
    timers = _timers(obj.get("timers", []))
    raw = {
        "currencies": [
            {"code": c.code, "money_precision": c.money_precision} for c in currencies.values()
        ],
        "venues": [
            {
                "name": x.name,
                "simulated": x.simulated,
                "order_types": sorted(x.order_types),
                "time_in_force": sorted(x.time_in_force),
                "supports_replace": x.supports_replace,
                "fee_ppm": x.fee_ppm,
                "participation_bps": x.participation_bps,
            }
            for x in venues.values()
        ],
        "instruments": [
            {
                "id": i.id,
                "venue": i.venue,
                "quote_currency": i.quote_currency,
                "price_precision": i.price_precision,
                "size_precision": i.size_precision,
                "tick_size": i.tick_size,
                "lot_size": i.lot_size,
            }
            for i in instruments.values()
        ],
        "starting_cash": dict(starting_cash),
        "risk": {
            "max_position": dict(risk.max_position),
            "max_order_notional": dict(risk.max_order_notional),
        },
        "source_priority": list(priority),
        "invariant_mode": mode,
        "timers": [
            {"timer_id": t.timer_id, "start_ns": t.start_ns, "interval_ns": t.interval_ns}
            for t in timers
        ],
    }
    return CoreSetup(
        currencies=currencies,
        venues=venues,
        instruments=instruments,
        starting_cash=starting_cash,
        risk=risk,
        source_priority=priority,
        invariant_mode=mode,
        timers=timers,
        raw=raw,
    )


def _array(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        v.fail(path, "expected an array")
    return value


def _currencies(value: object) -> dict[str, Currency]:
    out: dict[str, Currency] = {}
    for n, item in enumerate(_array(value, "$.currencies")):
        path = f"$.currencies[{n}]"
        obj = v.require_object(item, path)
        v.exact_keys(obj, path, ("code", "money_precision"))
        code = obj["code"]
        if not v.is_currency(code):
            v.fail(f"{path}.code", f"expected a currency code like 'USD', got {code!r}")
        if code in out:
            v.fail(f"{path}.code", f"currency {code!r} is declared twice")
        out[code] = Currency(code, v.integer(obj, "money_precision", path, 0, MAX_PRECISION))
    return out


def _string_set(
    obj: Mapping[str, Any], key: str, path: str, options: tuple[str, ...]
) -> frozenset[str]:
    items = _array(obj[key], f"{path}.{key}")
    if not items:
        v.fail(f"{path}.{key}", "must list at least one value")
    for n, item in enumerate(items):
        if item not in options:
            v.fail(f"{path}.{key}[{n}]", f"expected one of {list(options)}, got {item!r}")
    if len(set(items)) != len(items):
        v.fail(f"{path}.{key}", "lists a value twice")
    return frozenset(items)


def _venues(value: object) -> dict[str, Venue]:
    out: dict[str, Venue] = {}
    keys = (
        "name",
        "simulated",
        "order_types",
        "time_in_force",
        "supports_replace",
        "fee_ppm",
        "participation_bps",
    )
    for n, item in enumerate(_array(value, "$.venues")):
        path = f"$.venues[{n}]"
        obj = v.require_object(item, path)
        v.exact_keys(obj, path, keys)
        name = v.identifier(obj, "name", path)
        if name in out:
            v.fail(f"{path}.name", f"venue {name!r} is declared twice")
        out[name] = Venue(
            name=name,
            simulated=v.boolean(obj, "simulated", path),
            order_types=_string_set(obj, "order_types", path, ORDER_TYPES),
            time_in_force=_string_set(obj, "time_in_force", path, TIME_IN_FORCE),
            supports_replace=v.boolean(obj, "supports_replace", path),
            fee_ppm=v.integer(obj, "fee_ppm", path, 0, 1_000_000),
            participation_bps=v.optional_integer(obj, "participation_bps", path, 1, 10_000),
        )
    return out


def _instruments(
    value: object, currencies: Mapping[str, Currency], venues: Mapping[str, Venue]
) -> dict[str, Instrument]:
    out: dict[str, Instrument] = {}
    keys = (
        "id",
        "venue",
        "quote_currency",
        "price_precision",
        "size_precision",
        "tick_size",
        "lot_size",
    )
    for n, item in enumerate(_array(value, "$.instruments")):
        path = f"$.instruments[{n}]"
        obj = v.require_object(item, path)
        v.exact_keys(obj, path, keys)
        inst_id = v.identifier(obj, "id", path)
        if inst_id in out:
            v.fail(f"{path}.id", f"instrument {inst_id!r} is declared twice")
        venue = v.identifier(obj, "venue", path)
        if venue not in venues:
            v.fail(f"{path}.venue", f"venue {venue!r} is not declared in venues")
        ccy = obj["quote_currency"]
        if not isinstance(ccy, str) or ccy not in currencies:
            v.fail(f"{path}.quote_currency", f"currency {ccy!r} is not declared in currencies")
        pp = v.integer(obj, "price_precision", path, 0, MAX_PRECISION)
        sp = v.integer(obj, "size_precision", path, 0, MAX_PRECISION)
        mp = currencies[ccy].money_precision
        if pp + sp > mp:
            v.fail(
                path,
                f"price_precision {pp} + size_precision {sp} exceeds money_precision {mp} of "
                f"{ccy}: notionals would not be exact",
            )
        out[inst_id] = Instrument(
            id=inst_id,
            venue=venue,
            quote_currency=ccy,
            price_precision=pp,
            size_precision=sp,
            tick_size=v.integer(obj, "tick_size", path, 1, PRICE_MAX),
            lot_size=v.integer(obj, "lot_size", path, 1, QTY_MAX),
            scale_shift=mp - pp - sp,
        )
    return out


def _money_map(value: object, path: str, currencies: Mapping[str, Currency]) -> dict[str, int]:
    obj = v.require_object(value, path)
    out: dict[str, int] = {}
    for key in sorted(obj):
        if key not in currencies:
            v.fail(f"{path}.{key}", f"currency {key!r} is not declared in currencies")
        out[key] = v.integer(obj, key, path, MONEY_MIN, MONEY_MAX)
    return out


def _risk(
    value: object, instruments: Mapping[str, Instrument], currencies: Mapping[str, Currency]
) -> RiskLimits:
    obj = v.require_object(value, "$.risk")
    v.exact_keys(obj, "$.risk", (), optional=("max_position", "max_order_notional"))
    positions = v.require_object(obj.get("max_position", {}), "$.risk.max_position")
    max_position: dict[str, int] = {}
    for key in sorted(positions):
        if key not in instruments:
            v.fail(f"$.risk.max_position.{key}", f"instrument {key!r} is not declared")
        max_position[key] = v.integer(positions, key, "$.risk.max_position", 0, POSITION_MAX)
    notionals = _money_map(
        obj.get("max_order_notional", {}), "$.risk.max_order_notional", currencies
    )
    for key, amount in notionals.items():
        if amount < 0:
            v.fail(f"$.risk.max_order_notional.{key}", "must not be negative")
    return RiskLimits(max_position=max_position, max_order_notional=notionals)


def _priority(value: object) -> tuple[str, ...]:
    items = _array(value, "$.source_priority")
    if not all(isinstance(item, str) for item in items) or sorted(items) != sorted(SOURCES):
        v.fail("$.source_priority", f"must list each of {list(SOURCES)} exactly once")
    return tuple(items)


def _timers(value: object) -> tuple[TimerSpec, ...]:
    out: list[TimerSpec] = []
    seen: set[str] = set()
    for n, item in enumerate(_array(value, "$.timers")):
        path = f"$.timers[{n}]"
        obj = v.require_object(item, path)
        v.exact_keys(obj, path, ("timer_id", "start_ns", "interval_ns"))
        timer_id = v.identifier(obj, "timer_id", path)
        if timer_id in seen:
            v.fail(f"{path}.timer_id", f"timer {timer_id!r} is declared twice")
        seen.add(timer_id)
        out.append(
            TimerSpec(
                timer_id=timer_id,
                start_ns=v.integer(obj, "start_ns", path, 0, TIME_MAX),
                interval_ns=v.integer(obj, "interval_ns", path, 0, TIME_MAX),
            )
        )
    return tuple(out)
