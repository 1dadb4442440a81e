"""Shared test helpers: a reference setup, item builders and hypothesis strategies.

The strategies generate streams that mix valid traffic with the awkward cases
the core must survive: duplicates, reports for unknown orders, overfills,
out-of-range values, illegal intents and reports that race cancels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

I64_MAX = 2**63 - 1
DAY = 86_400_000_000_000
T0 = 1_767_600_000_000_000_000

SETUP: dict[str, Any] = {
    "currencies": [{"code": "USD", "money_precision": 4}, {"code": "EUR", "money_precision": 2}],
    "venues": [
        {
            "name": "SIM",
            "simulated": True,
            "order_types": ["market", "limit", "stop", "stop_limit"],
            "time_in_force": ["GTC", "IOC", "FOK", "DAY"],
            "supports_replace": True,
            "fee_ppm": 1000,
            "participation_bps": 5000,
        },
        {
            "name": "EXT",
            "simulated": False,
            "order_types": ["market", "limit"],
            "time_in_force": ["GTC", "DAY"],
            "supports_replace": True,
            "fee_ppm": 0,
            "participation_bps": None,
        },
    ],
    "instruments": [
        {
            "id": "AAA",
            "venue": "SIM",
            "quote_currency": "USD",
            "price_precision": 2,
            "size_precision": 0,
            "tick_size": 1,
            "lot_size": 1,
        },
        {
            "id": "BBB",
            "venue": "SIM",
            "quote_currency": "USD",
            "price_precision": 2,
            "size_precision": 2,
            "tick_size": 5,
            "lot_size": 10,
        },
        {
            "id": "CCC",
            "venue": "EXT",
            "quote_currency": "EUR",
            "price_precision": 1,
            "size_precision": 0,
            "tick_size": 1,
            "lot_size": 1,
        },
    ],
    "starting_cash": {"USD": 10_000_000_000, "EUR": 5_000_000},
    "risk": {"max_position": {"AAA": 400}, "max_order_notional": {"EUR": 50_000_000}},
    "timers": [
        {"timer_id": "heartbeat", "start_ns": T0 + 5_000, "interval_ns": 21_600_000_000_000}
    ],
}

INSTRUMENT_VENUE = {"AAA": "SIM", "BBB": "SIM", "CCC": "EXT"}
ORDER_IDS = [f"o{n}" for n in range(8)]


def event(
    t: int,
    source: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    venue: str = "SIM",
    instrument: str | None = "AAA",
    key: str | None = None,
    producer: int = 0,
) -> dict[str, Any]:
    return {
        "kind": "event",
        "seq_id": None,
        "event_time": t,
        "ingest_time": t,
        "source": source,
        "venue": venue,
        "instrument": instrument,
        "event_type": event_type,
        "payload": payload,
        "idempotency_key": key,
        "producer_index": producer,
    }


def bar(
    t: int, o: int, h: int, lo: int, c: int, volume: int = 1000, instrument: str = "AAA"
) -> dict[str, Any]:
    payload = {"open": o, "high": h, "low": lo, "close": c, "volume": volume}
    return event(
        t, "market_data", "bar", payload, venue=INSTRUMENT_VENUE[instrument], instrument=instrument
    )


def batch(ts: int, *intents: dict[str, Any], batch_id: str = "b") -> dict[str, Any]:
    return {
        "kind": "intent_batch",
        "seq_id": None,
        "batch_id": batch_id,
        "strategy_id": "s1",
        "ts": ts,
        "intents": list(intents),
    }


def place(
    order_id: str,
    side: str = "buy",
    qty: int = 10,
    order_type: str = "market",
    instrument: str = "AAA",
    tif: str = "GTC",
    price: int | None = None,
    stop_price: int | None = None,
) -> dict[str, Any]:
    return {
        "type": "place_order",
        "client_order_id": order_id,
        "venue": INSTRUMENT_VENUE[instrument],
        "instrument": instrument,
        "side": side,
        "order_type": order_type,
        "time_in_force": tif,
        "qty": qty,
        "price": price,
        "stop_price": stop_price,
    }


# -- hypothesis strategies ----------------------------------------------------------------

prices = st.one_of(
    st.integers(90, 130), st.integers(1, 10), st.just(I64_MAX), st.integers(1, I64_MAX)
)
small_prices = st.integers(90, 130)
quantities = st.one_of(st.integers(1, 50), st.sampled_from([10, 20, 100]), st.just(I64_MAX))
order_ids = st.sampled_from(ORDER_IDS)
keys = st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"]))


@st.composite
def market_events(draw: st.DrawFn, t: int) -> dict[str, Any]:
    instrument = draw(st.sampled_from(["AAA", "BBB", "CCC"]))
    kind = draw(st.sampled_from(["bar", "trade", "quote"]))
    price = draw(st.one_of(small_prices, prices))
    if kind == "bar":
        lo = max(1, price - draw(st.integers(0, 15)))
        h = price + draw(st.integers(0, 15)) if price < I64_MAX - 20 else price
        o = draw(st.integers(lo, h))
        c = draw(st.integers(lo, h))
        payload: dict[str, Any] = {
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": draw(st.integers(0, 200)),
        }
    elif kind == "trade":
        payload = {"price": price, "size": draw(st.integers(0, 100))}
    else:
        spread = draw(st.integers(0, 3))
        payload = {
            "bid": price,
            "ask": min(I64_MAX, price + spread),
            "bid_size": draw(st.integers(0, 100)),
            "ask_size": draw(st.integers(0, 100)),
        }
    return event(
        t,
        "market_data",
        kind,
        payload,
        venue=INSTRUMENT_VENUE[instrument],
        instrument=instrument,
        key=draw(st.one_of(st.none(), st.sampled_from(["m1", "m2"]))),
    )


@st.composite
def reports(draw: st.DrawFn, t: int) -> dict[str, Any]:
    """Broker reports for the external venue, valid in shape but often out of order."""
    order_id = draw(order_ids)
    kind = draw(
        st.sampled_from(
            [
                "order_accepted",
                "order_rejected",
                "order_filled",
                "order_filled",
                "order_cancelled",
                "cancel_rejected",
                "order_expired",
                "order_replaced",
            ]
        )
    )
    payload: dict[str, Any] = {"order_id": order_id}
    if kind in ("order_rejected", "order_cancelled"):
        payload["reason"] = "venue says so"
    elif kind == "order_filled":
        payload.update(
            fill_id=f"f{draw(st.integers(0, 99))}",
            qty=draw(quantities),
            price=draw(prices),
            fee=draw(st.one_of(st.integers(0, 500), st.just(2**127 - 1))),
        )
    elif kind == "cancel_rejected":
        payload.update(request=draw(st.sampled_from(["cancel", "replace"])), reason="too late")
    elif kind == "order_replaced":
        payload.update(
            qty=draw(quantities), price=draw(st.one_of(st.none(), small_prices)), stop_price=None
        )
    instrument = draw(st.sampled_from(["CCC", "CCC", "AAA"]))
    return event(
        t,
        "broker_report",
        kind,
        payload,
        venue=INSTRUMENT_VENUE[instrument],
        instrument=instrument,
        key=draw(keys),
    )


@st.composite
def intents(draw: st.DrawFn) -> Any:
    choice = draw(st.integers(0, 9))
    if choice <= 4:
        order_type = draw(st.sampled_from(["market", "limit", "stop", "stop_limit"]))
        price = draw(small_prices) if order_type in ("limit", "stop_limit") else None
        stop = draw(small_prices) if order_type in ("stop", "stop_limit") else None
        if draw(st.integers(0, 9)) == 0:  # break the price rules now and then
            price, stop = stop, price
        return place(
            draw(order_ids),
            side=draw(st.sampled_from(["buy", "sell"])),
            qty=draw(quantities),
            order_type=order_type,
            instrument=draw(st.sampled_from(["AAA", "BBB", "CCC"])),
            tif=draw(st.sampled_from(["GTC", "IOC", "FOK", "DAY"])),
            price=price,
            stop_price=stop,
        )
    if choice == 5:
        return {"type": "cancel_order", "client_order_id": draw(order_ids)}
    if choice == 6:
        return {
            "type": "replace_order",
            "client_order_id": draw(order_ids),
            "qty": draw(quantities),
            "price": draw(st.one_of(st.none(), small_prices)),
            "stop_price": None,
        }
    if choice == 7:
        return {
            "type": "set_risk_flag",
            "flag": draw(st.sampled_from(["reduce_only", "no_new_orders"])),
            "value": draw(st.booleans()),
        }
    if choice == 8:
        return {"type": "noop"}
    return draw(
        st.sampled_from(
            [
                {"type": "place_order"},
                {"type": "teleport"},
                {"type": "noop", "extra": 1},
                {"type": "cancel_order", "client_order_id": 7},
            ]
        )
    )


@st.composite
def controls(draw: st.DrawFn, t: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["halt", "resume", "set_risk_flag"]))
    payload: dict[str, Any] = {"reason": "operator"} if kind == "halt" else {}
    if kind == "set_risk_flag":
        payload = {
            "flag": draw(st.sampled_from(["reduce_only", "no_new_orders"])),
            "value": draw(st.booleans()),
        }
    return event(t, "control", kind, payload, venue="ops", instrument=None)


@st.composite
def streams(draw: st.DrawFn, max_items: int = 40) -> list[dict[str, Any]]:
    """A time-ordered stream of input items (events, intent batches, event groups)."""
    t = T0
    items: list[dict[str, Any]] = []
    for n in range(draw(st.integers(1, max_items))):
        t += draw(st.sampled_from([0, 0, 1_000, 3_000, 10_000, DAY]))
        kind = draw(st.integers(0, 9))
        if kind <= 3:
            items.append(draw(market_events(t)))
        elif kind <= 6:
            items.append(
                batch(t, *draw(st.lists(intents(), min_size=1, max_size=3)), batch_id=f"b{n}")
            )
        elif kind == 7:
            items.append(draw(reports(t)))
        elif kind == 8:
            items.append(draw(controls(t)))
        else:
            members = draw(
                st.lists(
                    st.one_of(market_events(t), reports(t), controls(t)), min_size=2, max_size=4
                )
            )
            for i, member in enumerate(members):
                member["producer_index"] = i
            items.append({"kind": "event_group", "events": members})
    return items


NATIVE_HIDDEN_MESSAGE = "lockstep_native is hidden by this test (a Python-only install)"


def python_only_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess in which ``import lockstep_native`` fails.

    A shadow module earlier on ``PYTHONPATH`` raises ImportError, so the test
    sees a Python-only install in every lane, including the native one where
    the real extension is installed (tests run in both lanes and never skip).
    """
    shadow = tmp_path / "python-only"
    shadow.mkdir(exist_ok=True)
    (shadow / "lockstep_native.py").write_text(f"raise ImportError({NATIVE_HIDDEN_MESSAGE!r})\n")
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{shadow}{os.pathsep}{path}" if path else str(shadow)}
