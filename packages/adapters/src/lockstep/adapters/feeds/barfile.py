"""What bar-file feeds share: the column names, the time-zone option, the common options.

CSV and Parquet feeds read one instrument per file with the same options
(column names, time format and zone, skip policy, how many bad rows to keep
in the report) and fingerprint the file's bytes for the run store's data
digest. :class:`BarFile` holds that, so each format's feed only reads rows.
Every bar file also gives its bars as column batches (``bar_columns()``), so a
run over bar files can take the columnar merge; a format with a faster
columnar reader (CSV with pyarrow) overrides it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from lockstep.adapters.errors import BAD_ROW, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.base import SkipPolicy, SkipReport, check_policy
from lockstep.adapters.feeds.batch import (
    DEFAULT_BATCH_ROWS,
    BarBatch,
    check_max_rows,
    pack_events,
)
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, check_format, zone

PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Header names of the bar fields; ``volume=None`` means the file has no volume (read as 0)."""

    time: str = "timestamp"
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str | None = "volume"

    def mapping(self) -> dict[str, str]:
        """Field -> header name, for the fields this file has."""
        names = {
            "time": self.time,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
        }
        if self.volume is not None:
            names["volume"] = self.volume
        return names


def resolve_tz(tz: str | tzinfo | None) -> tzinfo | None:
    return zone(tz) if isinstance(tz, str) else tz


class BarFile:
    """The options and file handling every bar-file feed has; subclasses read the rows."""

    def __init__(
        self,
        path: str | Path,
        instrument: InstrumentSpec,
        *,
        columns: BarColumns | None,
        time_format: TimeFormat | str,
        tz: str | tzinfo | None,
        skip_policy: SkipPolicy | str,
        keep_lines: int,
    ) -> None:
        self.path = Path(path)
        self.instrument = instrument
        self.columns = columns or BarColumns()
        self.time_format = check_format(time_format)
        self.tz = resolve_tz(tz)
        self.skip_policy = check_policy(skip_policy)
        self.keep_lines = keep_lines
        self._report = SkipReport(self.name, keep_lines)

    @property
    def name(self) -> str:
        return str(self.path)

    def __iter__(self) -> Iterator[MarketEvent]:
        raise NotImplementedError  # each format reads its own rows

    def bar_columns(self, max_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[BarBatch]:
        """The bars of ``iter(self)`` packed in batches of at most ``max_rows``.

        The same bars, skip report and errors as iterating the feed, because
        it is iterating the feed; an error comes after the batch of the bars
        read before it.
        """
        inst = self.instrument
        return pack_events(iter(self), inst.venue, inst.id, check_max_rows(max_rows))

    @property
    def skip_report(self) -> SkipReport:
        return self._report

    def fingerprint(self) -> str:
        """sha256 of the file's bytes; an unreadable file is a :class:`FeedError`."""
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(chunk)
        except OSError as err:
            raise FeedError.at(
                self.name, None, None, BAD_ROW, f"cannot open: {err.strerror}"
            ) from None
        return digest.hexdigest()
