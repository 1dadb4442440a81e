"""What the columnar feeds (Parquet, pandas) share: optional imports and exact cell conversion.

A CSV cell is always text, so :func:`lockstep.core.to_fixed` sees exactly what
the file says. Columnar sources hand over typed values instead: ints, floats,
``Decimal``s, datetimes, strings, and their own markers for a missing value.
This module turns each of those into the text the CSV feed would have read, so
the same number gives the same fixed-point integer whichever format it came
from, and anything inexact is refused rather than rounded:

- an ``int`` is a whole amount (``101`` is 101 dollars, never 101 cents), as
  the same digits would be in a CSV file;
- a ``float`` is read as its shortest round-trip decimal (``repr``): ``101.1``
  is ``"101.1"``; a float that is not close to a short decimal
  (``0.30000000000000004``) has too many places for any instrument and is
  refused by the precision check, as are NaN and infinities;
- a ``Decimal`` or a string is taken as written;
- a datetime (including ``pandas.Timestamp``) becomes its ISO-8601 text, so a
  naive one is read in the feed's time zone and refused without one, exactly
  like an ISO cell without an offset.

The optional packages (pyarrow, pandas) are imported only when a feed that
needs them is built; without them the error says which extra to install.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from types import ModuleType

from lockstep.adapters.errors import BAD_ROW, MISSING_COLUMN, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.barfile import PRICE_FIELDS
from lockstep.adapters.feeds.base import BarChecker
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, parse_time
from lockstep.core import FixedPointError, LockstepError, to_fixed
from lockstep.core.fixedpoint import QTY_MAX, TIME_MAX

_MISSING_TYPES = frozenset({"NAType", "NaTType"})
"""Type names of pandas' missing-value singletons (``pd.NA``, ``pd.NaT``), checked by
name so this module never imports pandas."""


class MissingDependencyError(LockstepError, ImportError):
    """An optional package is not installed; the message names the extra that installs it."""

    def __init__(self, package: str, purpose: str, install: str) -> None:
        self.package = package
        self.install = install
        super().__init__(
            f"{purpose} needs the optional package {package!r}, which is not installed; "
            f"install it with: pip install '{install}'"
        )


def import_optional(module: str, *, purpose: str, install: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to get it.

    Returning the module untyped (a :class:`ModuleType`) keeps the optional
    packages out of type checking, so the lint lane passes with or without them.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module.partition(".")[0], purpose, install) from None


class CellError(ValueError):
    """One cell cannot be converted; the feed turns this into a located ``FeedError``."""


def is_missing(value: object) -> bool:
    """None, a float NaN, ``pd.NA`` or ``pd.NaT``: an empty cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in _MISSING_TYPES


def amount_text(value: object) -> str:
    """The decimal text of a numeric cell, ready for ``to_fixed`` (see the module docstring)."""
    if is_missing(value):
        raise CellError("the value is missing")
    if isinstance(value, bool):
        raise CellError(f"expected a number, got the boolean {value}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"{value} is not a finite number")
        return _plain(Decimal(repr(value)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError(f"{value} is not a finite number")
        return _plain(value)
    if isinstance(value, str):
        return value.strip()
    raise CellError(f"expected a number or a decimal string, got {type(value).__name__} {value!r}")


def time_ns(value: object, fmt: TimeFormat, tz: tzinfo | None) -> int:
    """Nanoseconds since the epoch for a time cell; raises :class:`CellError` with the reason.

    Datetimes and dates are read as ISO-8601 whatever ``fmt`` says (they carry
    their own structure); numbers and strings follow ``fmt``.
    """
    if is_missing(value):
        raise CellError("the timestamp is missing")
    if isinstance(value, bool):
        raise CellError(f"expected a timestamp, got the boolean {value}")
    try:
        if isinstance(value, datetime | date):
            return parse_time(value.isoformat(), "iso", tz)
        if isinstance(value, int):
            return parse_time(str(value), fmt, tz)
        if isinstance(value, float | Decimal):
            return parse_time(amount_text(value), fmt, tz)
        if isinstance(value, str):
            return parse_time(value, fmt, tz)
    except ValueError as err:  # TimestampError is a ValueError
        raise CellError(str(err)) from None
    raise CellError(f"expected a timestamp, got {type(value).__name__} {value!r}")


def cell_token(value: object) -> str:
    """A stable text form of any cell, for fingerprints: same data, same token, any machine."""
    if is_missing(value):
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return _plain(value) if value.is_finite() else str(value)
    if isinstance(value, bool | int | str):
        return str(value)
    return f"{type(value).__name__}:{value}"


def _plain(value: Decimal) -> str:
    """Positional notation (no exponent): ``Decimal('1E+2')`` is ``'100'``."""
    return format(value, "f")


def check_columns(
    source: str, names: dict[str, str], found: Sequence[str], where: str, *, hint: str = ""
) -> None:
    """Every configured column exists exactly once in ``found``; else a ``missing_column`` error.

    ``where`` says what holds the columns ("the file", "the frame"); ``hint`` is
    added to the message when the time column is the one missing.
    """
    for field, column in names.items():
        if found.count(column) > 1:
            raise FeedError.at(
                source, None, column, MISSING_COLUMN, f"{where} has this column twice"
            )
        if column not in found:
            listed = ", ".join(repr(n) for n in found) or "no columns at all"
            extra = hint if field == "time" else ""
            raise FeedError.at(
                source,
                None,
                column,
                MISSING_COLUMN,
                f"{where} has no column {column!r} for the bar's {field} (found {listed}){extra}",
            )


class BarCells:
    """Turns one row of cells into a checked bar event, or raises a located ``FeedError``.

    Shared by the Parquet and DataFrame feeds so both apply exactly the CSV
    feed's rules: the same conversion, the same :class:`BarChecker` (tick
    grid, bar shape, strictly increasing time) and the same error kinds. The
    ``row`` of an error is the 1-based data row (these sources have no header
    line).
    """

    __slots__ = ("_checker", "_has_volume", "columns", "instrument", "source", "time_format", "tz")

    def __init__(
        self,
        source: str,
        instrument: InstrumentSpec,
        columns: dict[str, str],
        time_format: TimeFormat,
        tz: tzinfo | None,
    ) -> None:
        self.source = source
        self.instrument = instrument
        self.columns = columns
        self.time_format = time_format
        self.tz = tz
        self._checker = BarChecker(source, instrument)
        self._has_volume = "volume" in columns

    def event(
        self, row: int, time_value: object, prices: Sequence[object], volume: object
    ) -> MarketEvent:
        """``prices`` are the open, high, low and close cells.

        ``volume`` is ignored (and the bar's volume is 0) when the columns have
        no volume column; otherwise an empty volume cell is an error like any other.

        ``time_value`` may already be an ``int`` of nanoseconds when the caller
        converted a typed timestamp column itself (:class:`NsTime`).
        """
        if isinstance(time_value, NsTime):
            event_time = time_value.ns
            if not 0 <= event_time <= TIME_MAX:
                raise self._error(
                    row, "time", f"{event_time} ns is outside the representable range"
                )
        else:
            try:
                event_time = time_ns(time_value, self.time_format, self.tz)
            except CellError as err:
                raise self._error(row, "time", str(err)) from None
        inst = self.instrument
        fixed = {
            key: self._fixed(cell, inst.price_precision, 1, row, key)
            for key, cell in zip(PRICE_FIELDS, prices, strict=True)
        }
        qty = 0
        if self._has_volume:
            qty = self._fixed(volume, inst.size_precision, 0, row, "volume")
        self._checker.check(row, event_time, fixed, self.columns)
        return MarketEvent(event_time, inst.venue, inst.id, "bar", {**fixed, "volume": qty})

    def _fixed(self, cell: object, precision: int, lo: int, row: int, key: str) -> int:
        try:
            return to_fixed(amount_text(cell), precision, lo=lo, hi=QTY_MAX)
        except CellError as err:
            raise self._error(row, key, str(err)) from None
        except FixedPointError as err:
            raise self._error(row, key, err.reason) from None

    def _error(self, row: int, key: str, reason: str) -> FeedError:
        return FeedError.at(self.source, row, self.columns[key], BAD_ROW, reason)


class NsTime:
    """A timestamp a feed already converted to nanoseconds (a typed column's fast path)."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        self.ns = ns
