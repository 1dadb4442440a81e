"""Merging feeds into envelopes and event groups; the in-memory feed's checks."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from lockstep.adapters import FeedError, InstrumentSpec, MemoryFeed, merge_feeds
from lockstep.adapters.events import MarketEvent, bar_event
from lockstep.core import build_core, canonical_json

A = InstrumentSpec("A", "sim", "USD", 2, 0)
B = InstrumentSpec("B", "sim", "USD", 2, 0, tick_size=5)


def _bars(spec: InstrumentSpec, *times: int) -> MemoryFeed:
    return MemoryFeed.from_bars(spec, [(t, "1.00", "1.10", "0.90", "1.05", "7") for t in times])


def test_merge_orders_by_time_and_groups_ties() -> None:
    items = list(merge_feeds([_bars(A, 10, 20, 30), _bars(B, 20, 25)]))
    assert [i["kind"] for i in items] == ["event", "event_group", "event", "event"]
    assert items[0]["event_time"] == 10 and items[0]["producer_index"] == 0
    group = items[1]["events"]
    assert [(e["instrument"], e["producer_index"]) for e in group] == [("A", 0), ("B", 1)]
    assert [i.get("event_time") for i in items[2:]] == [25, 30]
    assert items[2]["producer_index"] == 1
    for env in [items[0], *group, *items[2:]]:
        assert env["seq_id"] is None and env["idempotency_key"] is None
        assert env["source"] == "market_data" and env["ingest_time"] == env["event_time"]


def test_merge_is_deterministic_and_the_core_accepts_it() -> None:
    feeds = [_bars(A, 10, 20, 30), _bars(B, 20, 25)]
    first = list(merge_feeds(feeds))
    assert list(merge_feeds(feeds)) == first
    setup = {
        "currencies": [{"code": "USD", "money_precision": 2}],
        "venues": [
            {
                "name": "sim",
                "simulated": True,
                "order_types": ["market"],
                "time_in_force": ["GTC"],
                "supports_replace": False,
                "fee_ppm": 0,
                "participation_bps": None,
            }
        ],
        "instruments": [A.to_setup(), B.to_setup()],
    }
    core = build_core(setup)
    records = core.apply_many(first)
    assert [r["input"]["instrument"] for r in records] == ["A", "A", "B", "B", "A"]


def test_merge_refuses_a_feed_that_goes_back_in_time() -> None:
    backwards = MemoryFeed(
        [bar_event(20, "sim", "A", 1, 1, 1, 1, 0), bar_event(10, "sim", "A", 1, 1, 1, 1, 0)]
    )
    with pytest.raises(FeedError) as info:
        list(merge_feeds([backwards]))
    assert info.value.kind == "non_monotonic_time" and info.value.line == 2


def test_merge_refuses_an_unchecked_custom_feed_going_back() -> None:
    class Raw:
        name = "raw"
        skip_report = MemoryFeed([]).skip_report

        def __iter__(self):  # type: ignore[no-untyped-def]
            yield bar_event(20, "sim", "A", 1, 1, 1, 1, 0)
            yield bar_event(10, "sim", "A", 1, 1, 1, 1, 0)

        def fingerprint(self) -> str:
            return ""

    with pytest.raises(FeedError, match="went back in time"):
        list(merge_feeds([Raw()]))  # type: ignore[list-item]


def test_memory_bars_accept_ints_decimals_and_text() -> None:
    feed = MemoryFeed.from_bars(
        A, [("2024-01-02T21:00:00Z", 100, Decimal("1.01"), "0.99", "1.00", 5)], time_format="iso"
    )
    [event] = feed
    assert event.payload == {"open": 100, "high": 101, "low": 99, "close": 100, "volume": 5}


@pytest.mark.parametrize(
    ("row", "field", "kind"),
    [
        ((1, "1.00", "1.10", "0.90", "1.07", "1"), "close", "off_tick"),
        ((1, "1.00", "1.10", "0.90", 1.05, "1"), "close", "bad_row"),
        ((1, "1.00", "0.95", "0.90", "1.05", "1"), "high", "inconsistent_bar"),
        (("yesterday", "1.00", "1.10", "0.90", "1.05", "1"), "time", "bad_row"),
    ],
)
def test_memory_bars_are_checked_like_csv_rows(
    row: tuple[object, ...], field: str, kind: str
) -> None:
    feed = MemoryFeed.from_bars(
        B, [(0, "1.00", "1.10", "0.90", "1.05", "1"), row], time_format="iso"
    )  # type: ignore[list-item]
    with pytest.raises(FeedError) as info:
        list(feed)
    assert (info.value.file, info.value.line, info.value.field, info.value.kind) == (
        "memory:B",
        2,
        field,
        kind,
    )


def test_memory_skip_policy_reports() -> None:
    rows = [(t, "1.00", "1.10", "0.90", "1.05", "1") for t in (1, 3, 2, 4)]
    feed = MemoryFeed.from_bars(A, rows, skip_policy="skip")
    assert [e.event_time for e in feed] == [1, 3, 4]
    assert feed.skip_report.counts == {"non_monotonic_time": 1}
    assert feed.skip_report.lines == {"non_monotonic_time": [3]}


def test_memory_fingerprint_depends_on_content() -> None:
    assert _bars(A, 1, 2).fingerprint() == _bars(A, 1, 2).fingerprint()
    assert _bars(A, 1, 2).fingerprint() != _bars(A, 1, 3).fingerprint()


def test_memory_fingerprint_is_the_digest_of_the_canonical_envelopes() -> None:
    """Rows and the same bars given as events hash alike: the canonical JSON of the envelopes."""
    rows = _bars(A, 1, 2)
    events = list(rows)
    expected = hashlib.sha256(canonical_json([e.envelope(0) for e in events])).hexdigest()
    assert rows.fingerprint() == expected
    assert MemoryFeed(events, name="given", instrument=A).fingerprint() == expected


def test_memory_fingerprint_refuses_a_given_event_holding_a_float() -> None:
    floaty = MarketEvent(
        1, "sim", "A", "bar", {"open": 1.5, "high": 2, "low": 1, "close": 2, "volume": 0}
    )
    with pytest.raises(TypeError, match="integers only"):
        MemoryFeed([floaty], name="floaty").fingerprint()


def test_market_event_is_a_value() -> None:
    assert bar_event(1, "sim", "A", 1, 2, 1, 2, 0) == MarketEvent(
        1, "sim", "A", "bar", {"open": 1, "high": 2, "low": 1, "close": 2, "volume": 0}
    )
