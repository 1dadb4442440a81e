//! Small typed field readers used to validate JSON-shaped input by hand.
//!
//! A port of `lockstep.core.validate`: the same checks in the same order, so
//! the first failing field (and therefore the reported JSON path) is the one
//! Python reports. Messages follow Python's wording but are not part of the
//! contract.

use serde_json::{Map, Value};

use crate::canonical::is_integer_text;
use crate::errors::Invalid;

pub type Obj = Map<String, Value>;
pub type VResult<T> = Result<T, Invalid>;

pub fn fail<T>(path: impl Into<String>, reason: impl Into<String>) -> VResult<T> {
    Err(Invalid::new(path, reason))
}

pub fn field(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// `^[A-Za-z0-9_.:/\-]{1,64}$` matched against the whole string, as the JSON
/// Schemas in `contracts/` mean it (and Python's `fullmatch`): no trailing
/// newline either.
pub fn is_identifier(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/' | b'-'))
}

/// `^[A-Z][A-Z0-9]{1,11}$` matched against the whole string (see [`is_identifier`]).
pub fn is_currency(value: &str) -> bool {
    let bytes = value.as_bytes();
    (2..=12).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Python's `_kind`: how an unexpected value is described in messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if is_integer_text(n.as_str()) => "int",
        Value::Number(_) => "a float (numbers are fixed-point integers)",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A JSON integer as Python sees it: `Some(Ok(v))` fits i128, `Some(Err(()))` is
/// an integer too large for i128 (always out of every bound the core uses),
/// `None` is not an integer at all (floats, strings, booleans, ...).
pub fn as_int(value: &Value) -> Option<Result<i128, ()>> {
    match value {
        Value::Number(n) if is_integer_text(n.as_str()) => Some(n.as_str().parse().map_err(|_| ())),
        _ => None,
    }
}

pub fn require_object<'a>(value: &'a Value, path: &str) -> VResult<&'a Obj> {
    match value {
        Value::Object(map) => Ok(map),
        other => fail(path, format!("expected an object, got {}", kind(other))),
    }
}

/// Refuse missing and unknown keys, naming the first offender in sorted order.
pub fn exact_keys(obj: &Obj, path: &str, required: &[&str], optional: &[&str]) -> VResult<()> {
    let allowed = |key: &str| required.contains(&key) || optional.contains(&key);
    if required.iter().all(|key| obj.contains_key(*key)) && obj.keys().all(|key| allowed(key)) {
        return Ok(()); // the usual case, without sorting anything
    }
    let mut sorted_required: Vec<&str> = required.to_vec();
    sorted_required.sort_unstable();
    for key in sorted_required {
        if !obj.contains_key(key) {
            return fail(field(path, key), "is required");
        }
    }
    let mut keys: Vec<&String> = obj.keys().collect();
    if !keys.is_sorted() {
        keys.sort_unstable(); // only with serde_json's `preserve_order`
    }
    for key in keys {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return fail(field(path, key), "is not an allowed field");
        }
    }
    Ok(())
}

fn get<'a>(obj: &'a Obj, key: &str, path: &str) -> VResult<&'a Value> {
    obj.get(key)
        .map_or_else(|| fail(field(path, key), "is required"), Ok)
}

pub fn integer(obj: &Obj, key: &str, path: &str, lo: i128, hi: i128) -> VResult<i128> {
    let value = get(obj, key, path)?;
    match as_int(value) {
        None => fail(
            field(path, key),
            format!("expected an integer, got {}", kind(value)),
        ),
        Some(Ok(v)) if (lo..=hi).contains(&v) => Ok(v),
        Some(_) => fail(field(path, key), format!("{value} is outside {lo}..{hi}")),
    }
}

/// [`integer`] narrowed to i64, for bounds that lie inside the i64 range.
pub fn integer64(obj: &Obj, key: &str, path: &str, lo: i64, hi: i64) -> VResult<i64> {
    integer(obj, key, path, lo as i128, hi as i128).map(|v| v as i64)
}

/// Missing or `null` is `None` (Python's `obj.get(key) is None`).
pub fn optional_integer64(obj: &Obj, key: &str, path: &str, lo: i64, hi: i64) -> VResult<Option<i64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => integer64(obj, key, path, lo, hi).map(Some),
    }
}

pub fn boolean(obj: &Obj, key: &str, path: &str) -> VResult<bool> {
    match get(obj, key, path)? {
        Value::Bool(b) => Ok(*b),
        other => fail(
            field(path, key),
            format!("expected true or false, got {}", kind(other)),
        ),
    }
}

/// A string of at most `max_len` characters (Unicode code points, as Python's `len`).
pub fn string<'a>(obj: &'a Obj, key: &str, path: &str, max_len: usize) -> VResult<&'a str> {
    match get(obj, key, path)? {
        Value::String(s) if s.chars().count() > max_len => {
            fail(field(path, key), format!("is longer than {max_len} characters"))
        }
        Value::String(s) => Ok(s),
        other => fail(
            field(path, key),
            format!("expected a string, got {}", kind(other)),
        ),
    }
}

pub fn identifier<'a>(obj: &'a Obj, key: &str, path: &str) -> VResult<&'a str> {
    match get(obj, key, path)? {
        Value::String(s) if is_identifier(s) => Ok(s),
        other => fail(
            field(path, key),
            format!("expected an identifier matching ^[A-Za-z0-9_.:/\\-]{{1,64}}$, got {other}"),
        ),
    }
}

pub fn optional_identifier<'a>(obj: &'a Obj, key: &str, path: &str) -> VResult<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => identifier(obj, key, path).map(Some),
    }
}

/// One of `options`; returns the index of the match.
pub fn choice(obj: &Obj, key: &str, path: &str, options: &[&str]) -> VResult<usize> {
    let value = get(obj, key, path)?;
    if let Value::String(s) = value {
        if let Some(n) = options.iter().position(|o| o == s) {
            return Ok(n);
        }
    }
    let mut sorted = options.to_vec();
    sorted.sort_unstable();
    fail(
        field(path, key),
        format!("expected one of {sorted:?}, got {value}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_match_the_whole_string() {
        assert!(is_identifier("o-1"));
        assert!(is_identifier("a:b/c.d_e"));
        assert!(is_identifier(&"x".repeat(64)));
        assert!(!is_identifier(&"x".repeat(65)));
        assert!(!is_identifier(""));
        assert!(!is_identifier("a b"));
        assert!(!is_identifier("é"));
        // The whole string must match: no trailing newline (Python's `fullmatch`).
        assert!(!is_identifier("abc\n"));
        assert!(!is_identifier(&format!("{}\n", "x".repeat(63))));
        assert!(!is_identifier("\n"));
        assert!(!is_identifier("abc\n\n"));
        assert!(is_currency("USD"));
        assert!(!is_currency("USD\n"));
        assert!(!is_currency("usd"));
        assert!(!is_currency("U"));
        assert!(is_currency("X1234567890A"));
        assert!(!is_currency("X1234567890AB"));
    }

    #[test]
    fn integers_reject_floats_booleans_and_huge_values() {
        let obj: Obj = serde_json::from_str(
            r#"{"a": 1.0, "b": true, "c": 123456789012345678901234567890123456789012, "d": -0, "e": 5}"#,
        )
        .unwrap();
        assert_eq!(integer(&obj, "a", "$", 0, 10).unwrap_err().path, "$.a");
        assert!(integer(&obj, "b", "$", 0, 10).is_err());
        assert!(integer(&obj, "c", "$", i128::MIN, i128::MAX).is_err());
        assert_eq!(integer(&obj, "d", "$", 0, 10), Ok(0));
        assert_eq!(integer(&obj, "e", "$", 6, 10).unwrap_err().path, "$.e");
        assert_eq!(integer(&obj, "zz", "$", 0, 1).unwrap_err().reason, "is required");
    }

    #[test]
    fn exact_keys_names_first_offender_sorted() {
        let obj: Obj = serde_json::from_str(r#"{"z": 1, "b": 2, "y": 3}"#).unwrap();
        assert_eq!(exact_keys(&obj, "$", &["z", "a"], &[]).unwrap_err().path, "$.a");
        assert_eq!(exact_keys(&obj, "$", &["z"], &["b"]).unwrap_err().path, "$.y");
        assert!(exact_keys(&obj, "$", &["z", "b"], &["y", "q"]).is_ok());
    }

    #[test]
    fn string_length_counts_code_points() {
        let obj: Obj = serde_json::from_str(&format!("{{\"r\": \"{}\"}}", "é".repeat(200))).unwrap();
        assert!(string(&obj, "r", "$", 200).is_ok());
        assert!(string(&obj, "r", "$", 199).is_err());
    }
}
