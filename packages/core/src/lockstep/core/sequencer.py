"""The single authority for ``seq_id`` and for ordering events that arrive together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lockstep.core.errors import SequenceError
from lockstep.core.fixedpoint import I64_MAX
from lockstep.core.items import Event


class Sequencer:
    def __init__(self, source_priority: Sequence[str]) -> None:
        self._rank = {source: n for n, source in enumerate(source_priority)}
        self.last_seq_id = 0

    def sort_key(self, event: Event) -> tuple[int, int, str, str, int]:
        """Tie-break key: time, source priority, venue, instrument, producer index."""
        return (
            event.event_time,
            self._rank[event.source],
            event.venue,
            event.instrument or "",
            event.producer_index,
        )

    def order(self, events: Iterable[Event]) -> list[Event]:
        """Events that arrived together, in commit order (stable for equal keys)."""
        return sorted(events, key=self.sort_key)

    def positions(self, events: Sequence[Event]) -> list[int]:
        """The commit order of ``events`` as positions in the sequence (stable for equal keys)."""
        return sorted(range(len(events)), key=lambda n: self.sort_key(events[n]))

    def assign(self, requested: int | None) -> int:
        """Next seq_id; a replayed id is kept if it moves the counter forward."""
        if requested is None:
            requested = self.last_seq_id + 1
        elif requested <= self.last_seq_id:
            raise SequenceError(
                "$.seq_id", f"seq_id {requested} does not follow {self.last_seq_id}"
            )
        if requested > I64_MAX:
            raise SequenceError("$.seq_id", "seq_id space exhausted")
        self.last_seq_id = requested
        return requested
