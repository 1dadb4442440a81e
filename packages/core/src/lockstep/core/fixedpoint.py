"""Fixed-point integer arithmetic shared by every part of the core.

Prices, quantities and money are plain ints in declared decimal scales, so two
implementations that follow the same formulas agree bit for bit. The bounds
are those of i64 (price, quantity, position, time) and i128 (money); every
formula checks its intermediates against them so a native core using checked
machine integers reaches the same verdict.
"""

from __future__ import annotations

import re

from lockstep.core.errors import FixedPointError

I64_MAX = 2**63 - 1
I128_MIN = -(2**127)
I128_MAX = 2**127 - 1
PRICE_MIN = 1
PRICE_MAX = I64_MAX
QTY_MIN = 1
QTY_MAX = I64_MAX
POSITION_MIN = -I64_MAX
POSITION_MAX = I64_MAX
MONEY_MIN = I128_MIN
MONEY_MAX = I128_MAX
TIME_MAX = I64_MAX
MAX_PRECISION = 18
PPM = 1_000_000
BPS = 10_000
DAY_NS = 86_400_000_000_000

_DECIMAL = re.compile(r"^([+-]?)(\d+)(?:\.(\d+))?$")


class OutOfRange(ArithmeticError):
    """An intermediate value left its bounds; callers turn this into a reason code."""


def money(value: int) -> int:
    """Return ``value`` if it fits the money bounds, else raise :class:`OutOfRange`."""
    if value < MONEY_MIN or value > MONEY_MAX:
        raise OutOfRange(value)
    return value


def position(value: int) -> int:
    """Return ``value`` if it fits the position bounds, else raise :class:`OutOfRange`."""
    if value < POSITION_MIN or value > POSITION_MAX:
        raise OutOfRange(value)
    return value


def trunc_div(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero, as machine integers do.

    Python's ``//`` floors, which differs for negative results; the spec uses
    truncation so a native core can use its native division.
    """
    if denominator == 0:
        raise ZeroDivisionError("trunc_div by zero")
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def notional(price: int, qty: int, scale_shift: int) -> int:
    """Money value of ``qty`` at ``price``: exact by construction of the setup.

    ``scale_shift`` is ``money_precision - price_precision - size_precision``,
    which the setup guarantees is non-negative.
    """
    return money(money(price * qty) * 10**scale_shift)


def fee(notional_value: int, fee_ppm: int) -> int:
    """Fee for a fill, rounded up to the next money unit (never under-charged)."""
    product = money(notional_value * fee_ppm)
    return -(-product // PPM)


def to_fixed(text: str, precision: int, *, lo: int = PRICE_MIN, hi: int = PRICE_MAX) -> int:
    """Convert a decimal string to an integer in ``10**-precision`` units.

    Refuses anything that is not exact: more significant decimals than the
    precision, exponents, NaN or infinities, and values outside ``lo..hi``.

    The accepted syntax is ``[+-]digits[.digits]`` after ``str.strip()``, where
    a digit is any Unicode decimal digit (what ``\\d`` matches and ``int``
    reads). Feeds call this for every price of every bar, so plain ``str``
    values are checked with ``partition`` and ``isdecimal``, in a little over
    half the time of a regex match and its group calls. A ``str`` subclass may
    override those methods, so it keeps the regex, which sees only characters.
    """
    if not 0 <= precision <= MAX_PRECISION:
        raise FixedPointError("$", f"precision {precision} is outside 0..{MAX_PRECISION}")
    if type(text) is str:
        whole, dot, frac = text.strip().partition(".")
        negative = False
        if not whole.isdecimal():
            sign = whole[:1]
            negative = sign == "-"
            whole = whole[1:]
            if not (negative or sign == "+") or not whole.isdecimal():
                raise _not_decimal(text)
        if dot and not frac.isdecimal():
            raise _not_decimal(text)
    else:
        match = _DECIMAL.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise _not_decimal(text)
        negative = match.group(1) == "-"
        whole, frac = match.group(2), match.group(3) or ""
    significant = frac.rstrip("0")
    if len(significant) > precision:
        raise FixedPointError(
            "$", f"{text!r} has more than {precision} decimal places and would be rounded"
        )
    value = int(whole + significant.ljust(precision, "0"))
    if negative:
        value = -value
    if value < lo or value > hi:
        raise FixedPointError(
            "$", f"{text!r} is outside the range {lo}..{hi} at precision {precision}"
        )
    return value


def _not_decimal(text: object) -> FixedPointError:
    return FixedPointError("$", f"{text!r} is not a plain decimal number")


def from_fixed(value: int, precision: int) -> str:
    """Render a fixed-point integer as a decimal string with exactly ``precision`` places."""
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(precision + 1, "0")
    if precision == 0:
        return sign + digits
    return f"{sign}{digits[:-precision]}.{digits[-precision:]}"
