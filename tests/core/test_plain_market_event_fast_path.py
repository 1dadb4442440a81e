"""The market-event fast path of ``parse_event`` takes exactly what the field readers take.

``_plain_market_event`` (bars and trades) is an optimisation only: for any envelope, ``parse_event``
must return what ``parse_event_checked`` returns, or raise the same error.
The envelopes here start valid and are then bent one or more fields at a
time toward every edge the readers check (types, ranges, keys, identifiers).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.core.errors import InputError
from lockstep.core.fixedpoint import I64_MAX, TIME_MAX
from lockstep.core.items import _plain_market_event, parse_event, parse_event_checked


def _valid(event_type: str = "bar") -> dict[str, Any]:
    payload = (
        {"open": 101, "high": 105, "low": 99, "close": 104, "volume": 7}
        if event_type == "bar"
        else {"price": 104, "size": 7}
    )
    return {
        "kind": "event",
        "seq_id": None,
        "event_time": 60_000_000_000,
        "ingest_time": 60_000_000_000,
        "source": "market_data",
        "venue": "sim",
        "instrument": "ACME",
        "event_type": event_type,
        "payload": payload,
        "idempotency_key": None,
        "producer_index": 0,
    }


ODD_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        2,
        1.0,
        101.5,
        "101",
        "",
        "sim",
        "ACME",
        "bad id!",
        "x" * 65,
        "k" * 128,
        "k" * 129,
        I64_MAX,
        I64_MAX + 1,
        TIME_MAX,
        -(2**63),
        [],
        {},
        "quote",
        "trade",
        "bar",
        "market_data",
        "timer",
        "ACME\n",
    ]
)
ENVELOPE_FIELDS = sorted(_valid())
PAYLOAD_FIELDS = ["open", "high", "low", "close", "volume", "price", "size"]


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    env = _valid(draw(st.sampled_from(["bar", "trade"])))
    original = env["payload"]
    payload = dict(original)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["envelope", "payload", "drop", "extra", "price"]))
        if where == "envelope":
            env[draw(st.sampled_from(ENVELOPE_FIELDS))] = draw(ODD_VALUES)
        elif where == "payload":  # a field of the payload, or one of the other event type's
            payload[draw(st.sampled_from(PAYLOAD_FIELDS))] = draw(ODD_VALUES)
        elif where == "drop":
            target = draw(st.sampled_from(["envelope", "payload"]))
            fields = ENVELOPE_FIELDS if target == "envelope" else sorted(payload) or PAYLOAD_FIELDS
            (env if target == "envelope" else payload).pop(draw(st.sampled_from(fields)), None)
        elif where == "extra":
            (env if draw(st.booleans()) else payload)["extra"] = 1
        else:
            # prices that keep their type but may break the bar's shape or range
            payload[draw(st.sampled_from(sorted(payload) or PAYLOAD_FIELDS))] = draw(
                st.integers(-2, 200) | st.sampled_from([I64_MAX, I64_MAX + 1])
            )
    if env.get("payload") is original:  # not dropped nor replaced by an odd value
        env["payload"] = payload
    return env


def _outcome(parse: Any, env: dict[str, Any]) -> object:
    try:
        return parse(env, "$")
    except InputError as err:
        return ("refused", err.path, str(err))


@settings(max_examples=3000, deadline=None)
@given(envelopes())
def test_the_fast_path_agrees_with_the_field_readers(env: dict[str, Any]) -> None:
    assert _outcome(parse_event, env) == _outcome(parse_event_checked, env)


def test_ordinary_bars_and_trades_take_the_fast_path_and_bad_ones_do_not() -> None:
    """Guards the test above: it compares two paths only if both are taken."""
    for event_type in ("bar", "trade"):
        assert _plain_market_event(_valid(event_type)) == parse_event_checked(_valid(event_type))
    inverted = _valid()
    inverted["payload"] = {**inverted["payload"], "low": 106}
    assert _plain_market_event(inverted) is None
    flag = _valid()
    flag["payload"] = {**flag["payload"], "volume": True}
    assert _plain_market_event(flag) is None
    free = _valid("trade")
    free["payload"] = {**free["payload"], "price": 0}
    assert _plain_market_event(free) is None


def test_the_event_owns_its_payload() -> None:
    env = _valid()
    event = parse_event(env)
    env["payload"]["close"] = 1
    assert event.payload["close"] == 104
