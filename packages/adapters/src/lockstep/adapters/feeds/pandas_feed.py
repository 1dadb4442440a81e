"""Bars from a pandas DataFrame: one instrument per frame, converted and checked like CSV rows.

The frame is read in slices of ``chunk_rows`` rows, one column at a time
(``Series.tolist()``), so a large frame is converted without building a
second copy of it. Cells follow the rules of
:mod:`lockstep.adapters.feeds.columnar`: decimal strings, ``Decimal``\\ s,
integers and floats become fixed-point integers exactly or are refused;
datetime columns (``datetime64``, with or without a time zone) and a
``DatetimeIndex`` are read as ISO-8601 instants, naive ones in ``tz``.

Errors name the feed (``dataframe:<instrument>`` unless ``name`` is given),
the 1-based row position, the column, and the row's index label. pandas is
optional: ``pip install 'lockstep-adapters[pandas]'``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

from lockstep.adapters.errors import FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.barfile import PRICE_FIELDS, BarColumns, resolve_tz
from lockstep.adapters.feeds.base import (
    SkipPolicy,
    SkipReport,
    check_policy,
    is_row_error,
    refuse_no_bars,
)
from lockstep.adapters.feeds.columnar import BarCells, cell_token, check_columns, import_optional
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, check_format

INSTALL = "lockstep-adapters[pandas]"
DEFAULT_CHUNK_ROWS = 10_000
INDEX = "<index>"
"""How errors name the time field when it comes from the frame's index."""


class DataFrameBarFeed:
    """Bars of one instrument from a DataFrame; options and skip policy as :class:`CsvBarFeed`.

    ``index_time=True`` reads the bar times from the index (a ``DatetimeIndex``
    or any index of timestamps) instead of the ``columns.time`` column. The
    frame is not copied: change it after building the feed and the next
    iteration sees the change. A frame without a single bar (no rows, or
    every row skipped) is refused like an empty CSV file.
    """

    def __init__(
        self,
        frame: Any,
        instrument: InstrumentSpec,
        *,
        columns: BarColumns | None = None,
        index_time: bool = False,
        time_format: TimeFormat | str = "iso",
        tz: str | tzinfo | None = None,
        skip_policy: SkipPolicy | str = "fail",
        name: str | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        keep_lines: int = 10,
    ) -> None:
        pd = import_optional("pandas", purpose="reading DataFrames", install=INSTALL)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
        self.frame = frame
        self.instrument = instrument
        self.columns = columns or BarColumns()
        self.index_time = index_time
        self.time_format = check_format(time_format)
        self.tz = resolve_tz(tz)
        self.skip_policy = check_policy(skip_policy)
        self.chunk_rows = chunk_rows
        self.keep_lines = keep_lines
        self._name = name or f"dataframe:{instrument.id}"
        self._report = SkipReport(self._name, keep_lines)

    @property
    def name(self) -> str:
        return self._name

    @property
    def skip_report(self) -> SkipReport:
        return self._report

    @property
    def row_count(self) -> int:
        return len(self.frame)

    def fingerprint(self) -> str:
        """sha256 over the bar columns' cells as text (and their names), row by row."""
        digest = hashlib.sha256()
        names = self._names()
        digest.update("\x1f".join(names.values()).encode())
        for start in range(0, len(self.frame), self.chunk_rows):
            columns = self._chunk(names, start)
            for row in zip(*columns.values(), strict=True):
                digest.update(b"\n" + "\x1f".join(cell_token(c) for c in row).encode())
        return digest.hexdigest()

    def __iter__(self) -> Iterator[MarketEvent]:
        report = SkipReport(self._name, self.keep_lines)
        self._report = report
        names = self._names()
        cells = BarCells(self._name, self.instrument, names, self.time_format, self.tz)
        labels = self.frame.index
        for start in range(0, len(self.frame), self.chunk_rows):
            columns = self._chunk(names, start)
            times = columns["time"]
            prices = [columns[k] for k in PRICE_FIELDS]
            volumes = columns.get("volume")
            for n in range(len(times)):
                row = start + n + 1
                report.rows = row
                try:
                    yield cells.event(
                        row,
                        times[n],
                        [p[n] for p in prices],
                        None if volumes is None else volumes[n],
                    )
                except FeedError as err:
                    err = _with_label(err, labels[row - 1])
                    if self.skip_policy == "skip" and is_row_error(err):
                        report.add(err)
                        continue
                    raise err from None
        refuse_no_bars(report, self.instrument, "the frame has no rows")

    def _names(self) -> dict[str, str]:
        """Field -> column name, checked against the frame (the time field may be the index)."""
        names = self.columns.mapping()
        if self.index_time:
            names["time"] = INDEX
        found = [str(c) for c in self.frame.columns]
        columns = {f: c for f, c in names.items() if c != INDEX}
        hint = " (use index_time=True to read times from the index)"
        check_columns(self._name, columns, found, "the frame", hint=hint)
        return names

    def _chunk(self, names: dict[str, str], start: int) -> dict[str, list[Any]]:
        stop = start + self.chunk_rows
        out: dict[str, list[Any]] = {}
        for field, column in names.items():
            if column == INDEX:
                out[field] = list(self.frame.index[start:stop])
            else:
                out[field] = self.frame[column].iloc[start:stop].tolist()
        return out


def _with_label(err: FeedError, label: object) -> FeedError:
    """The same error with the row's index label appended, to find the row in the frame."""
    return FeedError.at(
        err.source or "", err.line, err.field, err.kind, f"{err.reason} (index label {label!r})"
    )
