"""Fixed-point conversions and the rounding rules every backend must share."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.core import FixedPointError, from_fixed, to_fixed
from lockstep.core import fixedpoint as fp


@given(st.integers(1, fp.PRICE_MAX), st.integers(0, 18))
def test_decimal_round_trip(value: int, precision: int) -> None:
    assert to_fixed(from_fixed(value, precision), precision) == value


@given(st.integers(-(10**30), 10**30), st.integers(0, 18))
def test_from_fixed_matches_decimal_scaling(value: int, precision: int) -> None:
    with localcontext(prec=100):
        assert Decimal(from_fixed(value, precision)) == Decimal(value).scaleb(-precision)


@pytest.mark.parametrize(
    ("text", "precision", "reason"),
    [
        ("1.005", 2, "more than 2 decimal places"),
        ("1e3", 2, "not a plain decimal"),
        ("NaN", 2, "not a plain decimal"),
        ("0", 2, "outside the range"),
        ("92233720368547758.08", 2, "outside the range"),
        ("1.5", 19, "precision 19"),
    ],
)
def test_inexact_or_out_of_range_decimals_are_refused(
    text: str, precision: int, reason: str
) -> None:
    with pytest.raises(FixedPointError, match=reason):
        to_fixed(text, precision)


def test_trailing_zeros_beyond_the_precision_are_exact() -> None:
    assert to_fixed("101.2500", 2) == 10125


@given(
    st.integers(-(2**100), 2**100),
    st.integers(1, 2**64).flatmap(lambda d: st.sampled_from([d, -d])),
)
def test_trunc_div_rounds_toward_zero(numerator: int, denominator: int) -> None:
    quotient = fp.trunc_div(numerator, denominator)
    assert abs(quotient * denominator) <= abs(numerator)
    assert abs(numerator - quotient * denominator) < abs(denominator)
    assert quotient == 0 or (quotient > 0) == ((numerator > 0) == (denominator > 0))


@given(st.integers(0, 2**100), st.integers(0, fp.PPM))
def test_fee_rounds_up_to_the_next_money_unit(notional: int, fee_ppm: int) -> None:
    fee = fp.fee(notional, fee_ppm)
    with localcontext(prec=100):
        exact = Decimal(notional) * fee_ppm / fp.PPM
        assert fee - 1 < exact <= fee


def test_notional_overflow_is_detected_at_the_i128_bound() -> None:
    assert fp.notional(fp.PRICE_MAX, fp.QTY_MAX, 0) == fp.PRICE_MAX * fp.QTY_MAX
    with pytest.raises(fp.OutOfRange):
        fp.notional(fp.PRICE_MAX, fp.QTY_MAX, 2)
