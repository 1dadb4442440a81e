"""Market events as feeds produce them, and their envelopes for the core.

A feed yields :class:`MarketEvent` values (already fixed-point); only the merge
step turns them into envelopes, because only it knows the feed's producer
index. Keeping the envelope shape in one place means every feed (CSV, memory,
and later Parquet or pandas) hands the core identical items for identical data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MARKET_EVENT_TYPES = ("bar", "trade", "quote")


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One market-data event; ``payload`` follows the core's payload for ``event_type``."""

    event_time: int
    venue: str
    instrument: str
    event_type: str
    payload: Mapping[str, int]

    def envelope(self, producer_index: int) -> dict[str, Any]:
        """The event envelope the core expects (fresh input: no seq_id, no idempotency key)."""
        return {
            "kind": "event",
            "seq_id": None,
            "event_time": self.event_time,
            "ingest_time": self.event_time,
            "source": "market_data",
            "venue": self.venue,
            "instrument": self.instrument,
            "event_type": self.event_type,
            "payload": dict(self.payload),
            "idempotency_key": None,
            "producer_index": producer_index,
        }


def bar_event(
    event_time: int,
    venue: str,
    instrument: str,
    open_: int,
    high: int,
    low: int,
    close: int,
    volume: int,
) -> MarketEvent:
    """A bar event from fixed-point integers."""
    return MarketEvent(
        event_time,
        venue,
        instrument,
        "bar",
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
    )
