"""Timestamps at the data edge: text to integer nanoseconds since the epoch (UTC) and back.

Done with integer arithmetic on the parsed fields (never through float
seconds), so a nanosecond stamp survives the round trip exactly. Formats:

``iso``
    ``YYYY-MM-DD[THH:MM[:SS[.fffffffff]]][Z|+HH:MM|+HHMM]``; a space may
    replace the ``T``. A stamp without an offset is read in the feed's time
    zone (an IANA name, via :mod:`zoneinfo`); without one configured it is an
    error rather than a silent guess of UTC. Local times skipped by a daylight
    saving change are errors; repeated ones resolve to the first occurrence
    (``fold=0``).
``epoch_s``, ``epoch_ms``, ``epoch_us``, ``epoch_ns``
    a non-negative integer count of that unit since 1970-01-01T00:00:00Z, with
    optional decimals down to the nanosecond (``1709821860.5`` in ``epoch_s``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lockstep.core.fixedpoint import TIME_MAX

TimeFormat = Literal["iso", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]
TIME_FORMATS: tuple[TimeFormat, ...] = ("iso", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns")
EPOCH_DIGITS = {"epoch_s": 9, "epoch_ms": 6, "epoch_us": 3, "epoch_ns": 0}
"""Decimal places each epoch unit may carry before going below a nanosecond."""

NS = 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_EPOCH = re.compile(r"^(\d+)(?:\.(\d+))?$")
_HOURS = {f"{n:02d}": n for n in range(24)}
_SIXTY = {f"{n:02d}": n for n in range(60)}
_OFFSETS: dict[str, int] = {}
_DAYS: dict[str, tuple[int, int, int, int]] = {}
_DAYS_MAX = 4096
"""Bound on the day cache: sixteen years of weekdays in under 1 MB."""


class TimestampError(ValueError):
    """The text is not a timestamp in the configured format; the message says why."""


def check_format(fmt: str) -> TimeFormat:
    for known in TIME_FORMATS:
        if fmt == known:
            return known
    raise ValueError(f"time format must be one of {list(TIME_FORMATS)}, got {fmt!r}")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a clear ValueError if this machine has no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as 'America/New_York'; "
            "on systems without a tz database install the 'tzdata' package)"
        ) from None


def parse_time(text: str, fmt: TimeFormat, tz: tzinfo | None = None) -> int:
    """Parse ``text`` to nanoseconds since the epoch; raises :class:`TimestampError`."""
    text = text.strip()
    ns = _parse_iso(text, tz) if fmt == "iso" else _parse_epoch(text, fmt)
    if not 0 <= ns <= TIME_MAX:
        raise TimestampError(f"{text!r} is outside the representable time range")
    return ns


def format_time(ns: int, fmt: TimeFormat, tz: tzinfo | None = None) -> str:
    """Render nanoseconds since the epoch in ``fmt`` (``iso`` in ``tz`` with its offset, else ``Z``)."""
    if fmt != "iso":
        digits = EPOCH_DIGITS[fmt]
        unit = 10**digits
        whole, frac = divmod(ns, unit)
        return str(whole) if frac == 0 else f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"
    seconds, frac_ns = divmod(ns, NS)
    utc = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    local = utc if tz is None else utc.astimezone(tz)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
    if frac_ns:
        stamp += "." + str(frac_ns).rjust(9, "0").rstrip("0")
    if tz is None:
        return stamp + "Z"
    offset = local.utcoffset() or timedelta(0)
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{stamp}{sign}{hours:02d}:{minutes:02d}"


def _parse_iso(text: str, tz: tzinfo | None) -> int:
    """Read the shape bar files use, ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|+HH:MM|+HHMM]``, by position.

    Feeds parse one stamp per bar, and the regex match, its group calls and a
    ``date`` per stamp were about a quarter of a CSV row's cost. Here the date
    comes from a cache (bars share days) and the clock and offset fields from
    tables of valid ASCII two-digit numbers, which check and convert in one
    step. Whatever they do not take (other shapes, non-ASCII digits, a bad
    date, a field out of range, no offset and no zone) goes to
    :func:`_parse_iso_regex`, so every error message and every rare accepted
    form still comes from the one regex path.
    """
    n = len(text)
    if n >= 19 and text[13] == ":" and text[16] == ":" and (text[10] == "T" or text[10] == " "):
        day = _DAYS.get(text[:10])
        if day is None:
            day = _day(text[:10])
        hour = _HOURS.get(text[11:13])
        minute = _SIXTY.get(text[14:16])
        second = _SIXTY.get(text[17:19])
        if day is not None and hour is not None and minute is not None and second is not None:
            # Offsets are found from the end; one can only start after the seconds (index 19),
            # since indexes 14..18 hold checked digits and a colon, never a sign. An offset
            # of 0 is falsy, so it takes the slower way through _offset, with the same answer.
            offset_s: int | None = None
            end = n
            if text[-1] == "Z":
                offset_s, end = 0, n - 1
            elif n >= 25 and text[-3] == ":" and text[-6] in "+-":
                offset_s, end = _OFFSETS.get(text[-6:]) or _offset(text[-6:]), n - 6
            elif n >= 24 and text[-5] in "+-":
                offset_s, end = _OFFSETS.get(text[-5:]) or _offset(text[-5:]), n - 5
            frac_ns: int | None = 0
            if end > 19:
                digits = text[20:end]
                frac_ns = (
                    int(digits.ljust(9, "0"))
                    if text[19] == "." and len(digits) <= 9 and digits.isdecimal()
                    else None
                )
            if frac_ns is not None and (offset_s is not None or (end == n and tz is not None)):
                day_seconds, year, month, day_of_month = day
                if offset_s is None:
                    assert tz is not None
                    offset_s = _local_offset(
                        tz, year, month, day_of_month, hour, minute, second, text
                    )
                seconds = day_seconds + hour * 3600 + minute * 60 + second
                return (seconds - offset_s) * NS + frac_ns
    return _parse_iso_regex(text, tz)


def _day(prefix: str) -> tuple[int, int, int, int] | None:
    """``prefix`` as (seconds from the epoch to that midnight, year, month, day), cached.

    ``None`` when it is not a valid ``YYYY-MM-DD``; the regex path then
    reports it. Emptying the cache when it is full is enough for data that
    walks forward through the days, and costs nothing per stamp.
    """
    if prefix[4] != "-" or prefix[7] != "-":
        return None
    year_text, month_text, day_text = prefix[:4], prefix[5:7], prefix[8:10]
    if not (year_text + month_text + day_text).isdecimal():
        return None
    year, month, day = int(year_text), int(month_text), int(day_text)
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError:
        return None
    if len(_DAYS) >= _DAYS_MAX:
        _DAYS.clear()
    entry = ((ordinal - _EPOCH_ORDINAL) * 86_400, year, month, day)
    _DAYS[prefix] = entry
    return entry


def _offset(offset: str) -> int | None:
    """``+HH:MM`` or ``+HHMM`` in seconds east of UTC, or ``None`` if a field is not valid.

    Remembered in ``_OFFSETS``: a file has one or two offsets, and only valid
    ones (at most 5,760) are kept.
    """
    seconds = _OFFSETS.get(offset)
    if seconds is None:
        hours = _HOURS.get(offset[1:3])
        minutes = _SIXTY.get(offset[-2:])
        if hours is None or minutes is None:
            return None
        seconds = hours * 3600 + minutes * 60
        if offset[0] == "-":
            seconds = -seconds
        _OFFSETS[offset] = seconds
    return seconds


def _parse_iso_regex(text: str, tz: tzinfo | None) -> int:
    match = _ISO.match(text)
    if match is None:
        raise TimestampError(
            f"{text!r} is not an ISO-8601 timestamp (YYYY-MM-DD[THH:MM[:SS[.fraction]]][offset])"
        )
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour = int(match.group(4) or 0)
    minute = int(match.group(5) or 0)
    second = int(match.group(6) or 0)
    frac_ns = int((match.group(7) or "").ljust(9, "0") or 0)
    try:
        day_ordinal = date(year, month, day).toordinal()
    except ValueError as err:
        raise TimestampError(f"{text!r}: {err}") from None
    if hour > 23 or minute > 59 or second > 59:
        raise TimestampError(f"{text!r}: time of day out of range")
    offset_text = match.group(8)
    if offset_text is not None:
        offset_s = _offset_seconds(offset_text, text)
    elif tz is not None:
        offset_s = _local_offset(tz, year, month, day, hour, minute, second, text)
    else:
        raise TimestampError(
            f"{text!r} has no UTC offset and the feed has no time zone; "
            "add an offset to the data or configure tz (for example tz='UTC')"
        )
    seconds = (day_ordinal - _EPOCH_ORDINAL) * 86_400 + hour * 3600 + minute * 60 + second
    return (seconds - offset_s) * NS + frac_ns


def _offset_seconds(offset: str, text: str) -> int:
    if offset == "Z":
        return 0
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise TimestampError(f"{text!r}: UTC offset {offset!r} is out of range")
    return sign * (hours * 3600 + minutes * 60)


def _local_offset(
    tz: tzinfo, year: int, month: int, day: int, hour: int, minute: int, second: int, text: str
) -> int:
    local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    back = local.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise TimestampError(f"{text!r} does not exist in time zone {tz} (daylight saving gap)")
    offset = local.utcoffset()
    assert offset is not None
    return offset.days * 86_400 + offset.seconds


def _parse_epoch(text: str, fmt: TimeFormat) -> int:
    """Check ``digits[.digits]`` with ``isdecimal`` (what ``\\d`` means) before trying the regex.

    Epoch-stamped feeds parse one number per bar, and the string methods take
    about two thirds of the regex's time. The regex stays for what they refuse:
    it gives the error, and its ``$`` also accepts one trailing newline, which
    a direct caller may pass.
    """
    whole, dot, frac = text.partition(".")
    if not whole.isdecimal() or (dot and not frac.isdecimal()):
        match = _EPOCH.match(text)
        if match is None:
            raise TimestampError(f"{text!r} is not a non-negative {fmt} number")
        whole, frac = match.group(1), match.group(2) or ""
    digits = EPOCH_DIGITS[fmt]
    frac = frac.rstrip("0")
    if len(frac) > digits:
        raise TimestampError(f"{text!r} is more precise than a nanosecond in {fmt}")
    return int(whole + frac.ljust(digits, "0"))
