"""The layer's data as core feeds: bars and closing prints made as the run reads them.

The layer keeps every bar of every data, as Backtrader's preload does. Handed
to the core as ``MemoryFeed``s, each bar was held twice more, as a row tuple
and as a closing-print event (about 650 bytes a bar, most of the layer's
memory growth with run length). Here the fixed-point values are packed once
into int64 columns (48 bytes a bar) and each event is made when it is read.
Bars pass the same range check as a ``MemoryFeed``'s rows and the same
:class:`~lockstep.adapters.feeds.base.BarChecker` as every bar feed; the
prints mirror checked bars one nanosecond later.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator

from lockstep.adapters import InstrumentSpec, MarketEvent
from lockstep.adapters.feeds.base import BarChecker, SkipReport
from lockstep.adapters.feeds.memory import check_units
from lockstep.core.canonical import canonical_json_unchecked

_COLUMNS = {"time": "time", "open": "open", "high": "high", "low": "low", "close": "close"}
"""Column names for the checker's errors (the layer's bars have no file columns)."""


class BarColumns:
    """One data's bars in fixed-point units: times (ns), open, high, low, close, volume."""

    __slots__ = ("close", "high", "low", "ns", "open", "volume")

    def __init__(self) -> None:
        self.ns: array[int] = array("q")
        self.open: array[int] = array("q")
        self.high: array[int] = array("q")
        self.low: array[int] = array("q")
        self.close: array[int] = array("q")
        self.volume: array[int] = array("q")

    def append(self, ns: int, o: int, h: int, lo: int, c: int, volume: int) -> None:
        self.ns.append(ns)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        self.volume.append(volume)


class ColumnFeed:
    """A :class:`~lockstep.adapters.feeds.base.Feed` of bars, or of their closing prints
    (``trade`` events at the close, 1 ns after each bar), read from :class:`BarColumns`."""

    def __init__(
        self, spec: InstrumentSpec, columns: BarColumns, *, prints: bool, name: str
    ) -> None:
        self.spec = spec
        self.columns = columns
        self.prints = prints
        self._name = name
        self._report = SkipReport(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def skip_report(self) -> SkipReport:
        """Nothing is ever skipped: the layer's own loading refused bad rows already."""
        return self._report

    def __iter__(self) -> Iterator[MarketEvent]:
        cols, venue, instrument = self.columns, self.spec.venue, self.spec.id
        if self.prints:
            for ns, close, size in zip(cols.ns, cols.close, cols.volume, strict=True):
                yield MarketEvent(
                    ns + 1, venue, instrument, "trade", {"price": close, "size": size}
                )
            return
        checker = BarChecker(self._name, self.spec)
        rows = zip(cols.ns, cols.open, cols.high, cols.low, cols.close, cols.volume, strict=True)
        name = self._name
        for line, (ns, o, h, lo, c, volume) in enumerate(rows, start=1):
            if min(o, h, lo, c) < 1 or volume < 0:
                for key, value in (("open", o), ("high", h), ("low", lo), ("close", c)):
                    check_units(value, 1, name, line, key)
                check_units(volume, 0, name, line, "volume")
            payload = {"open": o, "high": h, "low": lo, "close": c}
            checker.check(line, ns, payload, _COLUMNS)
            payload["volume"] = volume
            yield MarketEvent(ns, venue, instrument, "bar", payload)

    def fingerprint(self) -> str:
        """sha256 over the events' canonical envelopes, one line each, hashed as they are made."""
        digest = hashlib.sha256()
        for event in self:
            digest.update(canonical_json_unchecked(event.envelope(0)) + b"\n")
        return digest.hexdigest()
