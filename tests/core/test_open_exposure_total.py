"""The core's running total of open order quantity equals the sum over its working orders.

The exposure check (reduce-only, max position) reads each instrument's signed
remaining quantity of non-terminal orders for every intent. The core keeps it
as a running total, updated where orders open, fill, change size and close,
so a batch of many orders is not quadratic. Whatever the stream (placements,
fills, cancels, replaces, rejections, expiries), the total must equal the sum
the check used to compute, after every step and after a restore.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, find, given, settings

from lockstep.core import LockstepError, build_core
from lockstep.core.engine import Core
from testkit import SETUP, T0, batch, place, streams

FUZZ = settings(
    max_examples=int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def summed(core: Core, instrument: str, excluding: str | None = None) -> int:
    return sum(
        o.sign * o.remaining
        for o in core.orders.values()
        if o.instrument == instrument and not o.is_terminal and o.order_id != excluding
    )


def check(core: Core) -> None:
    for instrument in core.setup.instruments:
        assert core.open_signed_remaining(instrument) == summed(core, instrument), instrument
        for oid, order in core.orders.items():
            assert core.open_signed_remaining(instrument, oid) == summed(core, instrument, oid), (
                instrument,
                oid,
                order.status,
            )


def python_core() -> Core:
    core = build_core(SETUP, backend="python")
    assert isinstance(core, Core)
    return core


def stepped(items: list[dict[str, Any]], after_each: Any = None) -> tuple[Core, bool]:
    """A Python core after ``items`` up to the first refused one; whether all were taken."""
    core = python_core()
    for item in items:
        try:
            core.step(item)
        except LockstepError:
            return core, False
        if after_each is not None:
            after_each(core)
    return core, True


@FUZZ
@given(streams(max_items=40))
def test_the_running_total_matches_the_working_orders(items: list[dict[str, Any]]) -> None:
    core, _ = stepped(items, after_each=check)
    restored = python_core()
    restored.restore(core.snapshot())
    check(restored)


def test_the_streams_exercise_open_orders() -> None:
    """Guards the property: streams must leave orders open on some instrument."""

    def leaves_orders_open(items: list[dict[str, Any]]) -> bool:
        core, whole = stepped(items)
        return whole and any(core.open_signed_remaining(i) for i in core.setup.instruments)

    assert find(streams(max_items=40), leaves_orders_open)


def test_a_replace_moves_the_total_by_the_size_change() -> None:
    """Replaces are rare in random streams; this one changes a working order's size."""
    core = python_core()
    core.step(batch(T0, place("o1", qty=30, order_type="limit", price=95), batch_id="b1"))
    core.step(batch(T0 + 1, place("o2", "sell", qty=5, order_type="limit", price=120)))
    assert core.open_signed_remaining("AAA") == 25
    replace = {
        "type": "replace_order",
        "client_order_id": "o1",
        "qty": 12,
        "price": 96,
        "stop_price": None,
    }
    core.step(batch(T0 + 2, replace, batch_id="b3"))
    assert core.orders["o1"].qty == 12
    assert core.open_signed_remaining("AAA") == 7 == summed(core, "AAA")
    assert core.open_signed_remaining("AAA", excluding="o2") == 12
