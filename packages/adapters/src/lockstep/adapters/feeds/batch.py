"""Bars of one feed as packed int64 columns: the form bar files hand to the columnar merge.

A bar that is a :class:`MarketEvent` costs a Python object and a dict per row;
the columnar merge (:mod:`lockstep.adapters.bar_merge`) and the core's packed
blocks need neither. The columns are stdlib ``array('q')`` rather than numpy
arrays so the adapters keep needing nothing beyond the standard library (a
pyarrow-backed reader fills them from its buffers without a Python loop).

A :class:`BarBatch` holds exactly the bars the feed's ``iter()`` yields, in
the same order; :meth:`BarBatch.events` turns it back into those events.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from lockstep.adapters.events import MarketEvent

DEFAULT_BATCH_ROWS = 65_536
BAR_FIELDS = ("event_time", "open", "high", "low", "close", "volume")
_PAYLOAD = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class BarBatch:
    """Consecutive bars of one instrument; row ``n`` of every column is one bar.

    Prices and volume are fixed-point integers in the instrument's units and
    ``event_time`` is nanoseconds since the epoch, as in a bar
    :class:`MarketEvent`'s payload.
    """

    venue: str
    instrument: str
    event_time: array[int]
    open: array[int]
    high: array[int]
    low: array[int]
    close: array[int]
    volume: array[int]

    def __len__(self) -> int:
        return len(self.event_time)

    def columns(self) -> tuple[array[int], ...]:
        """The six columns in :data:`BAR_FIELDS` order."""
        return (self.event_time, self.open, self.high, self.low, self.close, self.volume)

    def events(self) -> Iterator[MarketEvent]:
        """The bars as the events a feed's ``iter()`` yields for them."""
        venue, instrument = self.venue, self.instrument
        for t, o, h, lo, c, v in zip(
            self.event_time, self.open, self.high, self.low, self.close, self.volume, strict=True
        ):
            yield MarketEvent(
                t,
                venue,
                instrument,
                "bar",
                {"open": o, "high": h, "low": lo, "close": c, "volume": v},
            )


class BarBatchBuilder:
    """Collects bars (single events or whole column runs) and cuts them into batches.

    Readers mix column runs (rows a fast path converted) with single events
    (rows the row definition read), so both are appended here in file order.
    """

    __slots__ = ("_columns", "instrument", "max_rows", "venue")

    def __init__(self, venue: str, instrument: str, max_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.venue = venue
        self.instrument = instrument
        self.max_rows = check_max_rows(max_rows)
        self._columns: list[array[int]] = [array("q") for _ in BAR_FIELDS]

    def __len__(self) -> int:
        return len(self._columns[0])

    def full(self) -> bool:
        return len(self._columns[0]) >= self.max_rows

    def add_event(self, event: MarketEvent) -> None:
        cols = self._columns
        cols[0].append(event.event_time)
        payload = event.payload
        for column, key in zip(cols[1:], _PAYLOAD, strict=True):
            column.append(payload[key])

    def add_columns(self, columns: Sequence[array[int]]) -> None:
        """Append equally long columns in :data:`BAR_FIELDS` order."""
        for column, values in zip(self._columns, columns, strict=True):
            column.extend(values)

    def add_bytes(self, columns: Sequence[memoryview | bytes]) -> None:
        """Append native-endian int64 buffers (as pyarrow hands them over) in field order."""
        for column, data in zip(self._columns, columns, strict=True):
            column.frombytes(data)

    def take(self) -> BarBatch | None:
        """The next full batch (``max_rows`` bars) if there is one."""
        if not self.full():
            return None
        cut = self.max_rows
        cols = self._columns
        if len(cols[0]) == cut:
            head = cols
            self._columns = [array("q") for _ in BAR_FIELDS]
        else:
            head = [column[:cut] for column in cols]
            for column in cols:
                del column[:cut]
        return BarBatch(self.venue, self.instrument, *head)

    def batches(self) -> Iterator[BarBatch]:
        """Every full batch now held."""
        while (batch := self.take()) is not None:
            yield batch

    def rest(self) -> BarBatch | None:
        """Whatever is held, as one last (possibly short) batch; None when empty."""
        if not len(self):
            return None
        cols = self._columns
        self._columns = [array("q") for _ in BAR_FIELDS]
        return BarBatch(self.venue, self.instrument, *cols)


def check_max_rows(max_rows: int) -> int:
    """``max_rows`` if it is a usable batch size; callers check it before reading starts."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    return max_rows


def pack_events(
    events: Iterable[MarketEvent], venue: str, instrument: str, max_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[BarBatch]:
    """``events`` (bars of one instrument) in batches of ``max_rows``.

    What a feed without a columnar reader gives as ``bar_columns()``. An error
    the events raise comes after the batch of the bars before it, so the
    batches, flattened, are always the events up to the error.
    """
    out = BarBatchBuilder(venue, instrument, max_rows)
    source = iter(events)
    while True:
        try:
            event = next(source)
        except StopIteration:
            break
        except Exception:
            if (tail := out.rest()) is not None:
                yield tail
            raise
        out.add_event(event)
        if out.full():
            yield from out.batches()
    if (tail := out.rest()) is not None:
        yield tail
