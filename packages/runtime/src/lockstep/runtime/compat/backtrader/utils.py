"""Date numbers, auto-vivifying result dicts and the divergence warning.

Backtrader stores datetimes as float day numbers (days since 0001-01-01 plus
one) and compares order validity against them, so the layer computes those
numbers with the same arithmetic to take the same expiry decisions. Analyzer
results are nested dicts that grow on attribute access.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import OrderedDict
from typing import Any

_HOURS = 24.0
_MINUTES = 24.0 * 60.0
_SECONDS = 24.0 * 60.0 * 60.0
_MICROS = 24.0 * 60.0 * 60.0 * 1e6


class CompatWarning(UserWarning):
    """A run did something on which Lockstep and Backtrader are known to differ.

    The layer keeps going (the core's result is the truth), but says so,
    because a strategy author comparing the two engines needs to know why
    their numbers part ways. See the divergence table in the guide.
    """


def date2num(value: _dt.date | _dt.datetime) -> float:
    """A date or datetime as Backtrader's float day number (aware values count in UTC)."""
    if isinstance(value, _dt.datetime):
        offset = value.utcoffset()
        if offset is not None:
            value = value.replace(tzinfo=None) - offset
        return math.fsum(
            (
                float(value.toordinal()),
                value.hour / _HOURS,
                value.minute / _MINUTES,
                value.second / _SECONDS,
                value.microsecond / _MICROS,
            )
        )
    return float(value.toordinal())


def num2date(number: float) -> _dt.datetime:
    """The naive (UTC) datetime of a day number, to the microsecond."""
    whole = int(number)
    base = _dt.datetime.fromordinal(whole)
    micros = round((number - whole) * _MICROS)
    return base + _dt.timedelta(microseconds=micros)


def to_naive_utc(value: _dt.datetime) -> _dt.datetime:
    """Aware datetimes converted to UTC and made naive; naive ones are taken as UTC already."""
    offset = value.utcoffset()
    if offset is None:
        return value
    return value.replace(tzinfo=None) - offset


EPOCH = _dt.datetime(1970, 1, 1)


def to_ns(value: _dt.datetime) -> int:
    """Nanoseconds since the Unix epoch of a naive UTC datetime (exact, integer arithmetic)."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class AutoOrderedDict(OrderedDict[str, Any]):
    """An ordered dict whose missing keys spring into existence as nested dicts.

    ``d.total.open += 1`` works on an empty dict: the missing ``open`` is an
    empty ``AutoOrderedDict`` whose ``+=`` yields the number. ``_close()``
    freezes the tree so that reading a missing key raises ``KeyError``.
    """

    _closed = False

    def _close(self) -> None:
        self.__dict__["_closed"] = True
        for value in self.values():
            if isinstance(value, AutoOrderedDict):
                value._close()

    def __missing__(self, key: str) -> Any:
        if self._closed:
            raise KeyError(key)
        value = self[key] = AutoOrderedDict()
        return value

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            self.__dict__[key] = value
            return
        self[key] = value

    def __iadd__(self, other: Any) -> Any:
        return type(other)() + other

    def __isub__(self, other: Any) -> Any:
        return type(other)() - other

    def __imul__(self, other: Any) -> Any:
        return type(other)() * other

    def __bool__(self) -> bool:
        return len(self) > 0
