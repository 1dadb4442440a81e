"""The positional ISO parser and the string-method epoch parser agree with the regex versions.

``parse_time`` reads the common ISO shape by position (with a cache of days)
and epoch numbers with string methods, handing everything else to a regex.
Each accepted stamp must give the same nanoseconds and each refused one the
same error, with or without a time zone, as the module's regex reader gives
(and, for epochs, the regex algorithm the module had before), compared on
stamps built around the edges: invalid dates, fields out of range, offsets,
DST gaps, mutations.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.adapters import timestamps
from lockstep.adapters.timestamps import (
    EPOCH_DIGITS,
    TimeFormat,
    TimestampError,
    parse_time,
    zone,
)
from lockstep.core.fixedpoint import TIME_MAX

# --------------------------------------------------------------- the reference
_EPOCH = re.compile(r"^(\d+)(?:\.(\d+))?$")


def reference_parse_time(text: str, fmt: TimeFormat, tz: tzinfo | None = None) -> int:
    """``parse_time`` through the regex paths only: the module's own ISO regex reader (the
    definition the positional reader stands in front of) and the old epoch regex."""
    text = text.strip()
    ns = timestamps._parse_iso_regex(text, tz) if fmt == "iso" else _ref_epoch(text, fmt)
    if not 0 <= ns <= TIME_MAX:
        raise TimestampError(f"{text!r} is outside the representable time range")
    return ns


def _ref_epoch(text: str, fmt: TimeFormat) -> int:
    match = _EPOCH.match(text)
    if match is None:
        raise TimestampError(f"{text!r} is not a non-negative {fmt} number")
    digits = EPOCH_DIGITS[fmt]
    frac = (match.group(2) or "").rstrip("0")
    if len(frac) > digits:
        raise TimestampError(f"{text!r} is more precise than a nanosecond in {fmt}")
    return int(match.group(1) + frac.ljust(digits, "0"))


def outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    """The nanoseconds, or the error's type and message."""
    try:
        return ("ns", fn(*args))
    except Exception as err:
        return (type(err), str(err))


# --------------------------------------------------------------- the stamps
ZONES = [None, zone("UTC"), zone("America/New_York")]
zones = st.sampled_from(ZONES)


def two(values: list[int]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).map(lambda n: f"{n:02d}")


# Mostly valid fields, with the boundary values either side of each range.
years = st.one_of(
    st.integers(1900, 2100).map(lambda y: f"{y:04d}"),
    st.sampled_from(["0000", "0001", "1969", "1970", "2262", "2263", "9999"]),
)
months = st.one_of(two(list(range(1, 13))), two([0, 13, 99]))
days = st.one_of(two(list(range(1, 29))), two([0, 29, 30, 31, 32]))
hours = st.one_of(two(list(range(24))), two([24, 25, 99]))
sixties = st.one_of(two(list(range(60))), two([60, 61, 99]))
fractions = st.one_of(
    st.just(""),
    st.text(st.sampled_from("0123456789"), min_size=0, max_size=11).map(lambda d: "." + d),
)
offsets = st.one_of(
    st.sampled_from(["", "", "Z", "z", "+00:00", "-05:00", "-0500", "+05:30", "+0000"]),
    st.builds(
        lambda sign, hh, colon, mm: sign + hh + colon + mm,
        st.sampled_from(["+", "-"]),
        st.one_of(two(list(range(24))), two([24, 99])),
        st.sampled_from([":", ""]),
        st.one_of(two(list(range(60))), two([60, 99])),
    ),
)
separators = st.sampled_from(["T", "T", " ", "t", "_"])


@st.composite
def iso_stamps(draw: st.DrawFn) -> str:
    text = f"{draw(years)}-{draw(months)}-{draw(days)}"
    shape = draw(st.sampled_from(["date", "minutes", "seconds", "seconds", "seconds"]))
    if shape != "date":
        text += f"{draw(separators)}{draw(hours)}:{draw(sixties)}"
    if shape == "seconds":
        text += f":{draw(sixties)}{draw(fractions)}"
    return text + draw(offsets)


# Characters a mutation may bring in: digits of other scripts (\d matches them),
# the separators of the format, whitespace and a trailing-newline candidate.
MUTANTS = "0123456789\u0663\u0660\uff10-:+.TZ \n\t\xa0x"


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(MUTANTS))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            text = text[:at] + char + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    return text


# Valid stamps in the shapes bar files use, so that a single mutation usually
# leaves a near miss that only one check (a dash, a colon, a digit) refuses.
valid_iso = st.builds(
    lambda moment, sep, frac, offset: moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + offset,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)),
    st.sampled_from(["T", " "]),
    fractions,
    st.sampled_from(["", "Z", "+00:00", "-05:00", "-0500", "+05:30", "+1400", "-12:00"]),
)
padding = st.sampled_from(["", "", "", " ", "\t", "\n", "\u3000"])
any_iso = st.one_of(
    valid_iso,
    mutated(valid_iso),
    iso_stamps(),
    mutated(iso_stamps()),
    st.text(MUTANTS, max_size=30),
)


@settings(max_examples=2500, deadline=None)
@given(any_iso, zones, padding, padding)
def test_iso_agrees_with_the_regex_version(
    text: str, tz: tzinfo | None, before: str, after: str
) -> None:
    text = before + text + after
    assert outcome(parse_time, text, "iso", tz) == outcome(reference_parse_time, text, "iso", tz)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(iso_stamps(), zones), min_size=1, max_size=20))
def test_the_day_cache_does_not_change_results(stamps: list[tuple[str, tzinfo | None]]) -> None:
    """The same stamps read with a cold cache and then a warm one give the same answers."""
    timestamps._DAYS.clear()
    cold = [outcome(parse_time, text, "iso", tz) for text, tz in stamps]
    warm = [outcome(parse_time, text, "iso", tz) for text, tz in stamps]
    assert cold == warm == [outcome(reference_parse_time, text, "iso", tz) for text, tz in stamps]


def test_the_day_cache_is_bounded() -> None:
    for n in range(timestamps._DAYS_MAX + 50):
        day = date(2000, 1, 1).toordinal() + n
        parse_time(f"{date.fromordinal(day).isoformat()}T00:00:00Z", "iso")
        assert len(timestamps._DAYS) <= timestamps._DAYS_MAX


epoch_chars = st.sampled_from("0123456789" * 3 + "\u0663\uff10.. +-_e\n")
epoch_texts = st.one_of(
    st.builds(
        lambda whole, frac: whole + frac,
        st.text(st.sampled_from("0123456789"), min_size=1, max_size=20),
        st.one_of(st.just(""), fractions),
    ),
    st.text(epoch_chars, max_size=16),
)


@settings(max_examples=1000, deadline=None)
@given(epoch_texts, st.sampled_from(["epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]))
def test_epoch_agrees_with_the_regex_version(text: str, fmt: TimeFormat) -> None:
    assert outcome(parse_time, text, fmt) == outcome(reference_parse_time, text, fmt)


NEAR_MISSES = [
    "2024x01-02T21:00:00Z",
    "2024-01x02T21:00:00Z",
    "2024-01-02x21:00:00Z",
    "2024-01-02T21x00:00Z",
    "2024-01-02T21:00x00Z",
    "2024-01-02T21:00:00x",
    "2024-01-02T21:00:00.Z",
    "2024-01-02T21:00:00.123+05:0",
    "2024-01-02T21:00:00+5:00",
    "2024-01-02T21:00:00+05::00",
    "2024-01-02T21:00:00Z+05:00",
    "2024-01-02T21:00:00-05:00Z",
    "2024-01-02T21:00:00+0500Z",
    "2024-01-02T1:00:00Z",
    "2024-01-02T21:00:0Z",
    "2024-01-02T21:00:00.1234567890",
    "2024-01-02T21:00",
    "2024-01-02T21:00Z",
    "2024-01-02",
    "2024-01-02Z",
    "2024-01-02+05:00",
    "2024-1-02T21:00:00Z",
    "-2024-01-02T21:00:00Z",
    "2024-01-02T21:00:00\u0665Z",
    "2024-01-02T21:00:00.\u0665Z",
    "2024-01-02T21:00:00+\u0660\u0665:00",
    "2024-01-02T\u0662\u0661:00:00Z",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
@pytest.mark.parametrize("tz", ZONES)
def test_near_misses_agree_with_the_regex_version(text: str, tz: tzinfo | None) -> None:
    assert outcome(parse_time, text, "iso", tz) == outcome(reference_parse_time, text, "iso", tz)


def test_a_trailing_newline_reaching_the_parsers_directly_is_still_accepted() -> None:
    # parse_time strips, but the regexes' `$` accepts one final newline; direct callers keep that.
    assert timestamps._parse_epoch("12\n", "epoch_s") == 12 * 10**9
    assert timestamps._parse_iso("2024-01-02T21:00:00\n", zone("UTC")) == 1704229200 * 10**9


NY = zone("America/New_York")


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2024-01-02T21:00:00Z", None, 1704229200 * 10**9),
        ("2024-01-02 16:00:00-05:00", None, 1704229200 * 10**9),
        ("2024-01-02T16:00:00.5-0500", None, 1704229200 * 10**9 + 500_000_000),
        ("2024-01-02T21:00:00.000000001+00:00", NY, 1704229200 * 10**9 + 1),
        ("2024-01-02T16:00:00", NY, 1704229200 * 10**9),
        ("2024-07-02T16:00:00", NY, 1719950400 * 10**9),
        ("2024-11-03T01:30:00", NY, 1730611800 * 10**9),  # repeated hour: first occurrence
        (
            "\u0662\u0660\u0662\u0664-01-02T21:00:00Z",
            None,
            1704229200 * 10**9,
        ),  # \d takes other scripts' digits
    ],
)
def test_accepted_stamps(text: str, tz: tzinfo | None, expected: int) -> None:
    assert parse_time(text, "iso", tz) == expected


@pytest.mark.parametrize(
    ("text", "tz", "message"),
    [
        ("2023-02-30T00:00:00Z", None, "'2023-02-30T00:00:00Z': day is out of range for month"),
        ("2024-01-02T24:00:00Z", None, "'2024-01-02T24:00:00Z': time of day out of range"),
        ("2024-01-02T23:59:60Z", None, "'2024-01-02T23:59:60Z': time of day out of range"),
        ("2024-01-02T21:00:00+24:00", None, "UTC offset '+24:00' is out of range"),
        ("2024-01-02T21:00:00", None, "has no UTC offset and the feed has no time zone"),
        ("2024-03-10T02:30:00", NY, "does not exist in time zone America/New_York"),
        ("2024-01-02T21:00:00.1234567890Z", None, "is not an ISO-8601 timestamp"),
        ("1969-12-31T23:59:59Z", None, "is outside the representable time range"),
    ],
)
def test_refused_stamps(text: str, tz: tzinfo | None, message: str) -> None:
    with pytest.raises(TimestampError, match=re.escape(message)):
        parse_time(text, "iso", tz)
