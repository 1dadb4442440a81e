//! Fixed-point integer arithmetic shared by every part of the core.
//!
//! Prices, quantities, positions and times are `i64`; money is `i128`. The
//! Python reference works on unbounded ints and checks chosen intermediates
//! against these bounds (its `fp.money(...)` / `fp.position(...)` calls); every
//! helper here reaches the same verdict with checked machine arithmetic, so an
//! overflow is an [`OutOfRange`] in exactly the cases Python raises one.

pub const I64_MAX: i64 = i64::MAX;
pub const PRICE_MIN: i64 = 1;
pub const PRICE_MAX: i64 = I64_MAX;
pub const QTY_MIN: i64 = 1;
pub const QTY_MAX: i64 = I64_MAX;
pub const POSITION_MIN: i64 = -I64_MAX;
pub const POSITION_MAX: i64 = I64_MAX;
pub const MONEY_MIN: i128 = i128::MIN;
pub const MONEY_MAX: i128 = i128::MAX;
pub const TIME_MAX: i64 = I64_MAX;
pub const MAX_PRECISION: i64 = 18;
pub const PPM: i128 = 1_000_000;
pub const BPS: i64 = 10_000;
pub const DAY_NS: i64 = 86_400_000_000_000;

/// An intermediate value left its bounds; callers turn it into a reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

pub type Checked<T> = Result<T, OutOfRange>;

/// `value` as a position if it fits `-(2^63-1) ..= 2^63-1` (note: not `i64::MIN`).
pub fn position(value: i128) -> Checked<i64> {
    if value < POSITION_MIN as i128 || value > POSITION_MAX as i128 {
        return Err(OutOfRange);
    }
    Ok(value as i64)
}

/// `a + b` within the money bounds (one operation, so i128 overflow is exactly "out of range").
pub fn add(a: i128, b: i128) -> Checked<i128> {
    a.checked_add(b).ok_or(OutOfRange)
}

/// `a - b` within the money bounds.
pub fn sub(a: i128, b: i128) -> Checked<i128> {
    a.checked_sub(b).ok_or(OutOfRange)
}

/// `a * b` within the money bounds.
pub fn mul(a: i128, b: i128) -> Checked<i128> {
    a.checked_mul(b).ok_or(OutOfRange)
}

/// Integer division rounding toward zero, which is what Rust's `/` does.
///
/// Only the one input Python cannot produce here (`MIN / -1`) would overflow;
/// it is reported as out of range rather than panicking.
pub fn trunc_div(numerator: i128, denominator: i128) -> Checked<i128> {
    assert!(denominator != 0, "trunc_div by zero");
    numerator.checked_div(denominator).ok_or(OutOfRange)
}

/// Money value of `qty` at `price`: `money(money(price * qty) * 10^shift)`.
///
/// `price * qty` of two i64 values always fits an i128, so only the scaling can
/// overflow; `shift <= 18` keeps `10^shift` itself small.
pub fn notional(price: i64, qty: i64, scale_shift: u32) -> Checked<i128> {
    let base = (price as i128) * (qty as i128);
    mul(base, 10i128.pow(scale_shift))
}

/// Fee for a fill, rounded up to the next money unit (`-(-(notional * ppm) // 10^6)`).
pub fn fee(notional_value: i128, fee_ppm: i128) -> Checked<i128> {
    let product = mul(notional_value, fee_ppm)?;
    Ok(ceil_div(product, PPM))
}

/// Ceiling division for a positive divisor, exact over the whole i128 range.
pub fn ceil_div(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    if numerator % denominator > 0 {
        quotient + 1
    } else {
        quotient
    }
}

/// Floor division, Python's `//`, for the few places the spec uses it.
pub fn floor_div(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    if (numerator % denominator != 0) && ((numerator < 0) != (denominator < 0)) {
        quotient - 1
    } else {
        quotient
    }
}

/// Error of [`to_fixed`]: the text and why it cannot be represented exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPointError(pub String);

/// Convert a decimal string to an integer in `10^-precision` units.
///
/// Mirrors `lockstep.core.fixedpoint.to_fixed`: refuses more significant
/// decimals than the precision, exponents, NaN/Inf and values outside `lo..=hi`.
/// Only ASCII digits and ASCII whitespace are recognised (Python's regex `\d`
/// and `str.strip` also accept other Unicode digits and separators).
pub fn to_fixed(text: &str, precision: i64, lo: i128, hi: i128) -> Result<i128, FixedPointError> {
    if !(0..=MAX_PRECISION).contains(&precision) {
        return Err(FixedPointError(format!(
            "precision {precision} is outside 0..{MAX_PRECISION}"
        )));
    }
    let not_plain = || FixedPointError(format!("{text:?} is not a plain decimal number"));
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (whole, frac) = match rest.split_once('.') {
        Some((w, f)) => (w, f),
        None => (rest, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (rest.contains('.') && !digits(frac)) {
        return Err(not_plain());
    }
    let significant = frac.trim_end_matches('0');
    if significant.len() as i64 > precision {
        return Err(FixedPointError(format!(
            "{text:?} has more than {precision} decimal places and would be rounded"
        )));
    }
    let out_of_range = || {
        FixedPointError(format!(
            "{text:?} is outside the range {lo}..{hi} at precision {precision}"
        ))
    };
    let mut value: i128 = 0;
    let padding = precision as usize - significant.len();
    for b in whole
        .bytes()
        .chain(significant.bytes())
        .chain(std::iter::repeat_n(b'0', padding))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add((b - b'0') as i128))
            .ok_or_else(out_of_range)?;
    }
    if negative {
        value = -value;
    }
    if value < lo || value > hi {
        return Err(out_of_range());
    }
    Ok(value)
}

/// Render a fixed-point integer as a decimal string with exactly `precision` places.
pub fn from_fixed(value: i128, precision: usize) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let digits = format!("{:0>width$}", value.unsigned_abs(), width = precision + 1);
    if precision == 0 {
        return format!("{sign}{digits}");
    }
    let split = digits.len() - precision;
    format!("{sign}{}.{}", &digits[..split], &digits[split..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunc_div_rounds_toward_zero() {
        assert_eq!(trunc_div(7, 2), Ok(3));
        assert_eq!(trunc_div(-7, 2), Ok(-3));
        assert_eq!(trunc_div(7, -2), Ok(-3));
        assert_eq!(trunc_div(-7, -2), Ok(3));
        assert_eq!(trunc_div(i128::MIN, 1), Ok(i128::MIN));
        assert_eq!(trunc_div(i128::MIN, -1), Err(OutOfRange));
        assert_eq!(floor_div(-7, 2), -4);
        assert_eq!(floor_div(7, 2), 3);
    }

    #[test]
    fn fee_rounds_up() {
        assert_eq!(fee(0, 1000), Ok(0));
        assert_eq!(fee(1, 1), Ok(1));
        assert_eq!(fee(999_999, 1), Ok(1));
        assert_eq!(fee(1_000_000, 1), Ok(1));
        assert_eq!(fee(1_000_001, 1), Ok(2));
        assert_eq!(fee(72_000_000, 250), Ok(18_000));
        assert_eq!(fee(-1_500_000, 1), Ok(-1)); // ceil(-1.5) = -1, as Python's -(-p // PPM)
        assert_eq!(fee(MONEY_MAX, 1), Ok(ceil_div(MONEY_MAX, PPM)));
        assert_eq!(fee(MONEY_MAX, 2), Err(OutOfRange));
        assert_eq!(ceil_div(MONEY_MAX, 1), MONEY_MAX);
        assert_eq!(ceil_div(MONEY_MIN, 7), MONEY_MIN / 7);
    }

    #[test]
    fn notional_overflow_edges() {
        assert_eq!(notional(100, 3, 2), Ok(30_000));
        assert_eq!(notional(I64_MAX, I64_MAX, 0), Ok((I64_MAX as i128).pow(2)));
        // (2^63-1)^2 * 2 still fits, * 10 does not.
        assert_eq!(notional(I64_MAX, I64_MAX, 1), Err(OutOfRange));
        assert!(notional(I64_MAX, 1, 18).is_ok());
    }

    #[test]
    fn position_bounds_are_symmetric() {
        assert_eq!(position(I64_MAX as i128), Ok(I64_MAX));
        assert_eq!(position(-(I64_MAX as i128)), Ok(-I64_MAX));
        assert_eq!(position(i64::MIN as i128), Err(OutOfRange));
        assert_eq!(position(I64_MAX as i128 + 1), Err(OutOfRange));
    }

    #[test]
    fn money_ops_fail_exactly_at_the_bounds() {
        assert_eq!(add(MONEY_MAX, 0), Ok(MONEY_MAX));
        assert_eq!(add(MONEY_MAX, 1), Err(OutOfRange));
        assert_eq!(sub(MONEY_MIN, 1), Err(OutOfRange));
        assert_eq!(sub(-1, MONEY_MAX), Ok(MONEY_MIN));
        assert_eq!(mul(1 << 64, 1 << 63), Err(OutOfRange));
        assert_eq!(mul(-(1 << 63), 1 << 64), Ok(MONEY_MIN));
    }

    #[test]
    fn to_fixed_and_back() {
        assert_eq!(to_fixed("12.5", 2, 1, i64::MAX as i128), Ok(1250));
        assert_eq!(to_fixed(" -0.10 ", 1, -100, 100), Ok(-1));
        assert!(to_fixed("1.234", 2, 1, 1000).is_err());
        assert!(to_fixed("1e5", 2, 1, 1000).is_err());
        assert!(to_fixed("NaN", 2, 1, 1000).is_err());
        assert!(to_fixed("5", 19, 1, 1000).is_err());
        assert!(to_fixed("1000.01", 2, 1, 1000).is_err());
        assert_eq!(from_fixed(1250, 2), "12.50");
        assert_eq!(from_fixed(-5, 3), "-0.005");
        assert_eq!(from_fixed(7, 0), "7");
    }
}
