"""Bar blocks: market bars as packed int64 columns, the form both cores take them in.

A backtest over bar files hands the core thousands of bars per block. As
JSON lines each bar costs an envelope dict, an encoding and a parse; as
columns it is seven integers. A :class:`BarBlock` holds rows in merge order
(time, then feed): consecutive rows with the same ``event_time`` are one
input item, an ``event_group`` when there are several, exactly as
:func:`lockstep.adapters.merge_feeds` groups envelopes. Each row's envelope
is implied: ``source`` ``market_data``, ``event_type`` ``bar``,
``ingest_time`` = ``event_time``, no ``seq_id`` or idempotency key, and
``venue``/``instrument`` from ``sources[producer_index]``.

The native core reads the columns without building an envelope; the Python
core reads the same block as the envelopes :meth:`BarBlock.items` builds.
Either way every value gets the checks an envelope gets (a block is not
trusted because the runtime made it), and a refused row is refused with the
message its envelope would get.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

COLUMNS = ("event_time", "open", "high", "low", "close", "volume", "producer_index")
"""The packed columns, in the order :attr:`BarBlock.data` holds them."""


@dataclass(frozen=True, slots=True)
class BarBlock:
    """``rows`` bars as :data:`COLUMNS`, each an int64 column, column after column.

    ``data`` is little-endian int64 values, ``len(COLUMNS) * rows`` of them
    (column ``k`` starts at byte ``8 * k * rows``). ``sources[i]`` is the
    ``(venue, instrument)`` of rows whose ``producer_index`` is ``i``.
    """

    data: bytes
    rows: int
    sources: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if self.rows < 0 or len(self.data) != 8 * len(COLUMNS) * self.rows:
            raise ValueError(
                f"a bar block of {self.rows} rows holds {8 * len(COLUMNS) * self.rows} bytes, "
                f"not {len(self.data)}"
            )
        producers = self._column(len(COLUMNS) - 1)
        if producers and not (min(producers) >= 0 and max(producers) < len(self.sources)):
            raise ValueError(
                f"a bar block's producer_index must name one of its {len(self.sources)} sources"
            )

    @classmethod
    def from_columns(
        cls, columns: Sequence[Sequence[int]], sources: Sequence[tuple[str, str]]
    ) -> BarBlock:
        """Pack :data:`COLUMNS` given as int sequences (arrays, lists) of equal length."""
        if len(columns) != len(COLUMNS):
            raise ValueError(f"a bar block has {len(COLUMNS)} columns, got {len(columns)}")
        rows = len(columns[0])
        if any(len(column) != rows for column in columns):
            raise ValueError("bar block columns differ in length")
        packed = array("q")
        for column in columns:
            packed.extend(column) if isinstance(column, array) else packed.fromlist(list(column))
        if sys.byteorder != "little":
            packed.byteswap()
        return cls(packed.tobytes(), rows, tuple(sources))

    def columns(self) -> list[array[int]]:
        """The block's columns as int64 arrays, in :data:`COLUMNS` order."""
        return [self._column(k) for k in range(len(COLUMNS))]

    def _column(self, k: int) -> array[int]:
        column = array("q", self.data[8 * k * self.rows : 8 * (k + 1) * self.rows])
        if sys.byteorder != "little":
            column.byteswap()
        return column

    def items(self) -> list[dict[str, Any]]:
        """The block's input items as envelopes (and groups), as the merge would yield them."""
        out: list[dict[str, Any]] = []
        group: list[dict[str, Any]] = []
        group_time: int | None = None
        for t, o, h, lo, c, v, p in zip(*self.columns(), strict=True):
            if group_time is not None and t != group_time:
                out.append(_item(group))
                group = []
            group_time = t
            venue, instrument = self.sources[p]
            group.append(
                {
                    "kind": "event",
                    "seq_id": None,
                    "event_time": t,
                    "ingest_time": t,
                    "source": "market_data",
                    "venue": venue,
                    "instrument": instrument,
                    "event_type": "bar",
                    "payload": {"open": o, "high": h, "low": lo, "close": c, "volume": v},
                    "idempotency_key": None,
                    "producer_index": p,
                }
            )
        if group:
            out.append(_item(group))
        return out

    def events(self) -> int:
        return self.rows


def _item(envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    return envelopes[0] if len(envelopes) == 1 else {"kind": "event_group", "events": envelopes}
