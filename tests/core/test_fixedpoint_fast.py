"""``to_fixed`` without a regex must accept, refuse and explain exactly as the regex version did.

The string-method parser replaced a regex match on the hot path of every feed;
a difference in what counts as a number would silently change which rows a
backtest reads, so the old algorithm is kept here as the reference and compared
on text built to hit the edges: signs, dots, whitespace, non-ASCII digits.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.core import FixedPointError, to_fixed
from lockstep.core import fixedpoint as fp

_DECIMAL = re.compile(r"^([+-]?)(\d+)(?:\.(\d+))?$")


def reference_to_fixed(
    text: str, precision: int, *, lo: int = fp.PRICE_MIN, hi: int = fp.PRICE_MAX
) -> int:
    """The regex implementation ``to_fixed`` had before the string-method rewrite."""
    if not 0 <= precision <= fp.MAX_PRECISION:
        raise FixedPointError("$", f"precision {precision} is outside 0..{fp.MAX_PRECISION}")
    match = _DECIMAL.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise FixedPointError("$", f"{text!r} is not a plain decimal number")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    significant = frac.rstrip("0")
    if len(significant) > precision:
        raise FixedPointError(
            "$", f"{text!r} has more than {precision} decimal places and would be rounded"
        )
    value = int(whole + significant.ljust(precision, "0"))
    if sign == "-":
        value = -value
    if value < lo or value > hi:
        raise FixedPointError(
            "$", f"{text!r} is outside the range {lo}..{hi} at precision {precision}"
        )
    return value


def outcome(fn: Any, text: Any, precision: Any, lo: int, hi: int) -> tuple[Any, ...]:
    """The value, or everything a caller could see of the error."""
    try:
        return ("value", fn(text, precision, lo=lo, hi=hi))
    except FixedPointError as err:
        return (type(err), str(err), err.path, err.reason)
    except Exception as err:  # e.g. int()'s digit limit: must escape the same way
        return (type(err), str(err))


# Decimal digits of several scripts (all category Nd: what \d matches and int() reads),
# digit-like characters that are not decimal, every kind of whitespace str.strip() removes,
# and the characters a number is made of.
DIGITS = "0123456789"
UNICODE_DIGITS = "\u0660\u0663\u0665\u06f5\u096f\uff10\U0001d7d8"  # Arabic-Indic, Extended Arabic-Indic, Devanagari, fullwidth, math
NOT_DECIMAL = "\u00b2\u00bd\u2167_eE"
SPACES = " \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000"
SYMBOLS = "+-.,\uff0b"

characters = st.sampled_from(DIGITS + UNICODE_DIGITS + NOT_DECIMAL + SPACES + SYMBOLS)
digit_runs = st.text(st.sampled_from(DIGITS * 6 + UNICODE_DIGITS + "0000"), min_size=0, max_size=22)
shaped = st.builds(
    lambda pad1, sign, whole, dot, frac, pad2: pad1 + sign + whole + dot + frac + pad2,
    st.sampled_from(["", "", " ", "\t", "\xa0", "\n"]),
    st.sampled_from(["", "", "+", "-", "--", "+-", "\uff0b"]),
    digit_runs,
    st.sampled_from(["", ".", ".", "..", ","]),
    digit_runs,
    st.sampled_from(["", "", " ", "\n", "x", "\u3000"]),
)
texts = st.one_of(shaped, st.text(characters, max_size=12), st.text(max_size=8))
precisions = st.integers(-2, fp.MAX_PRECISION + 2)
bounds = st.sampled_from(
    [
        (fp.PRICE_MIN, fp.PRICE_MAX),
        (0, fp.QTY_MAX),
        (fp.POSITION_MIN, fp.POSITION_MAX),
        (-100, 100),
    ]
)


@settings(max_examples=3000, deadline=None)
@given(texts, precisions, bounds)
def test_to_fixed_agrees_with_the_regex_version(
    text: str, precision: int, lo_hi: tuple[int, int]
) -> None:
    lo, hi = lo_hi
    assert outcome(to_fixed, text, precision, lo, hi) == outcome(
        reference_to_fixed, text, precision, lo, hi
    )


class _Str(str):
    """A str subclass: the fast path is for exact str, a subclass must still parse alike."""


class _Stripless(str):
    def strip(self, chars: str | None = None) -> str:
        return "7"


class _Overridden(str):
    """Overrides the methods the fast path uses: only the regex sees the real characters."""

    def strip(self, chars: str | None = None) -> str:
        return self

    def partition(self, sep: str) -> tuple[str, str, str]:
        return ("7", "", "")


@pytest.mark.parametrize(
    "text",
    [
        None,
        12,
        1.5,
        b"1.5",
        bytearray(b"1"),
        _Str(" 1.25 "),
        _Str("1e3"),
        _Stripless("junk"),
        _Overridden("junk"),
    ],
)
def test_non_str_and_str_subclasses_agree(text: Any) -> None:
    bounds = (fp.PRICE_MIN, fp.PRICE_MAX)
    assert outcome(to_fixed, text, 2, *bounds) == outcome(reference_to_fixed, text, 2, *bounds)


def test_the_digit_limit_of_int_escapes_unchanged() -> None:
    text = "9" * 4300
    assert outcome(to_fixed, text, 2, 0, 10**5000) == outcome(
        reference_to_fixed, text, 2, 0, 10**5000
    )
    assert outcome(to_fixed, text, 2, 0, 10**5000)[0] is ValueError


@pytest.mark.parametrize(
    ("text", "precision", "expected"),
    [
        ("101.25", 2, 10125),
        (" +7 ", 1, 70),
        ("-0.5", 1, -5),
        ("007.50", 2, 750),
        ("\u0663.\u0665", 1, 35),  # Arabic-Indic digits are decimal digits to \d and int()
        ("12\n", 0, 12),
    ],
)
def test_accepted_forms(text: str, precision: int, expected: int) -> None:
    assert to_fixed(text, precision, lo=-(10**9)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.", "'1.' is not a plain decimal number"),
        (".5", "'.5' is not a plain decimal number"),
        ("+-1", "'+-1' is not a plain decimal number"),
        ("1_000", "'1_000' is not a plain decimal number"),
        ("\u00b2", "'\u00b2' is not a plain decimal number"),
        ("", "'' is not a plain decimal number"),
        ("1.5\u0660", "'1.5\u0660' has more than 1 decimal places"),  # only ASCII zeros are trimmed
    ],
)
def test_refused_forms(text: str, message: str) -> None:
    with pytest.raises(FixedPointError) as info:
        to_fixed(text, 1)
    assert info.value.path == "$"
    assert info.value.reason.startswith(message)
