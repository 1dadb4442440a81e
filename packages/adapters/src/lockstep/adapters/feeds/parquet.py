"""Parquet bar files: one instrument per file, streamed in record batches, checked at the edge.

The file is read with ``pyarrow.parquet.ParquetFile.iter_batches``: only the
bar columns are decoded, a batch (``batch_size`` rows) at a time, so memory
stays bounded however large the file is. Cells go through the same conversion
and checks as CSV cells (see :mod:`lockstep.adapters.feeds.columnar`): decimal
strings, ``decimal128`` values, integers and floats become fixed-point
integers exactly or are refused, and every error names the file, the 1-based
row and the column.

Time columns may be Arrow timestamps (with a time zone they are exact UTC
instants; without one they are wall-clock times read in ``tz``, as a naive
ISO cell would be), dates, strings in ``time_format``, or epoch numbers in
``time_format``. pyarrow is optional: ``pip install 'lockstep-adapters[parquet]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from types import ModuleType
from typing import Any

from lockstep.adapters.errors import BAD_ROW, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.barfile import PRICE_FIELDS, BarColumns, BarFile
from lockstep.adapters.feeds.base import SkipPolicy, SkipReport, is_row_error, refuse_no_bars
from lockstep.adapters.feeds.columnar import BarCells, NsTime, check_columns, import_optional
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, format_time

INSTALL = "lockstep-adapters[parquet]"
DEFAULT_BATCH_ROWS = 65_536
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def pyarrow_parquet() -> ModuleType:
    """``pyarrow.parquet``, or a :class:`MissingDependencyError` naming the extra to install."""
    return import_optional("pyarrow.parquet", purpose="reading Parquet files", install=INSTALL)


class ParquetBarFeed(BarFile):
    """Bars of one instrument from a Parquet file; options and skip policy as :class:`CsvBarFeed`.

    ``skip_policy="skip"`` drops bad rows and counts each in
    :attr:`skip_report`; a missing column, an unreadable file or a file
    without a single bar (no rows, or every row skipped) always fails.
    pyarrow is imported when the feed is built, so a missing installation is
    reported before a run starts.
    """

    def __init__(
        self,
        path: str | Path,
        instrument: InstrumentSpec,
        *,
        columns: BarColumns | None = None,
        time_format: TimeFormat | str = "iso",
        tz: str | tzinfo | None = None,
        skip_policy: SkipPolicy | str = "fail",
        batch_size: int = DEFAULT_BATCH_ROWS,
        keep_lines: int = 10,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._pq = pyarrow_parquet()
        self._pa = import_optional("pyarrow", purpose="reading Parquet files", install=INSTALL)
        super().__init__(
            path,
            instrument,
            columns=columns,
            time_format=time_format,
            tz=tz,
            skip_policy=skip_policy,
            keep_lines=keep_lines,
        )
        self.batch_size = batch_size

    @property
    def row_count(self) -> int:
        """Rows in the file, from its footer (no data is read); progress bars use it."""
        return int(self._open().metadata.num_rows)

    def __iter__(self) -> Iterator[MarketEvent]:
        report = SkipReport(self.name, self.keep_lines)
        self._report = report
        parquet = self._open()
        names = self._check_columns(parquet)
        fields = list(names)
        cells = BarCells(self.name, self.instrument, names, self.time_format, self.tz)
        row = 0
        for batch in parquet.iter_batches(
            batch_size=self.batch_size, columns=[names[f] for f in fields], use_threads=False
        ):
            columns = {f: self._values(batch.column(i), f) for i, f in enumerate(fields)}
            times = columns["time"]
            prices = [columns[k] for k in PRICE_FIELDS]
            volumes = columns.get("volume")
            for n in range(batch.num_rows):
                row += 1
                report.rows = row
                volume = None if volumes is None else volumes[n]
                try:
                    yield cells.event(row, times[n], [p[n] for p in prices], volume)
                except FeedError as err:
                    if self.skip_policy == "skip" and is_row_error(err):
                        report.add(err)
                        continue
                    raise
        refuse_no_bars(report, self.instrument, "the file has no rows")

    def _open(self) -> Any:
        if not self.path.is_file():
            raise FeedError.at(self.name, None, None, BAD_ROW, "cannot open: no such file")
        try:
            return self._pq.ParquetFile(self.path)
        except Exception as err:  # pyarrow raises its own ArrowInvalid / OSError subclasses
            raise FeedError.at(
                self.name, None, None, BAD_ROW, f"cannot read as Parquet: {err}"
            ) from None

    def _check_columns(self, parquet: Any) -> dict[str, str]:
        names = self.columns.mapping()
        check_columns(self.name, names, list(parquet.schema_arrow.names), "the file")
        return names

    def _values(self, array: Any, field: str) -> list[object]:
        """Python values of one column of a batch; timestamp columns become exact nanoseconds."""
        if field != "time":
            return list(array.to_pylist())
        pa = self._pa
        kind = array.type
        if not pa.types.is_timestamp(kind):
            return list(array.to_pylist())
        factor = _UNIT_NS[kind.unit]
        raw: list[int | None] = array.cast(pa.int64()).to_pylist()
        if kind.tz is not None:
            return [None if v is None else NsTime(v * factor) for v in raw]
        # Wall-clock times: render as naive ISO text and read it in the feed's zone,
        # exactly as a CSV cell without an offset would be.
        return [None if v is None else _naive_iso(v * factor) for v in raw]


def _naive_iso(ns: int) -> str:
    if ns < 0:
        return str(ns)  # before 1970: refused by the timestamp parser with its own message
    return format_time(ns, "iso", None).removesuffix("Z")
