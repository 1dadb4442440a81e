//! Canonical JSON bytes and hashes (`docs/reference/canonical_json.md`).
//!
//! Hashes chain trace records and fingerprint state, so these bytes must equal
//! Python's `json.dumps(v, ensure_ascii=False, sort_keys=True,
//! separators=(",", ":"))` exactly. The core writes its own records straight
//! into a buffer with [`ObjectWriter`] (keys given in sorted order) instead of
//! building a tree; [`write_value`] handles arbitrary `serde_json` values such
//! as the raw intents an intent batch echoes.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lowercase hex sha256, the only digest the contracts use.
pub fn sha256_hex(data: &[u8]) -> String {
    digest_hex(Sha256::digest(data).into())
}

/// A sha256 digest as 64 lowercase hex digits.
pub(crate) fn digest_hex(digest: [u8; 32]) -> String {
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[(byte >> 4) as usize]));
        out.push(char::from(HEX[(byte & 15) as usize]));
    }
    out
}

pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// A value that cannot be written as canonical JSON (Python raises `ValueError` there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCanonical(pub String);

/// Canonical bytes of any JSON value.
///
/// Integers of any size are written as given (`-0` as `0`, as Python's `int`
/// would); a number with a fraction or exponent is a Python float and is written
/// the way `float.__repr__` writes it. Non-finite floats are refused, matching
/// `allow_nan=False`.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, NotCanonical> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Append the canonical bytes of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number_text(out, n.as_str())?,
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map is sorted already unless `preserve_order` is
            // enabled somewhere in the build; sorting here keeps the bytes right
            // either way. `str` ordering is code point ordering, as in Python.
            let mut keys: Vec<&String> = map.keys().collect();
            if !keys.is_sorted() {
                keys.sort_unstable();
            }
            out.push(b'{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, &map[key.as_str()])?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Whether a JSON number's text is an integer (Python `json.loads` gives an `int`).
pub fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Write a JSON number given as text (serde_json's `arbitrary_precision` form).
pub fn write_number_text(out: &mut Vec<u8>, text: &str) -> Result<(), NotCanonical> {
    if is_integer_text(text) {
        if text.bytes().all(|b| b == b'0' || b == b'-') {
            out.push(b'0');
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        return Ok(());
    }
    let value: f64 = text
        .parse()
        .map_err(|_| NotCanonical(format!("{text} is not a JSON number")))?;
    let repr =
        python_float_repr(value).ok_or_else(|| NotCanonical(format!("{text} is not a finite float")))?;
    out.extend_from_slice(repr.as_bytes());
    Ok(())
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form when the
/// decimal point position is `<= -4` or `> 16`, always a `.0` or a fraction.
pub fn python_float_repr(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    if value == 0.0 {
        return Some(if value.is_sign_negative() { "-0.0" } else { "0.0" }.to_string());
    }
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-decpt) as usize));
        out.push_str(&digits);
    } else if decpt as usize >= digits.len() {
        out.push_str(&digits);
        out.push_str(&"0".repeat(decpt as usize - digits.len()));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
    Some(out)
}

/// Append a JSON string the way `json.dumps(..., ensure_ascii=False)` does.
///
/// Only `"`, `\\` and control characters below U+0020 are escaped; every other
/// byte (UTF-8 included) is copied, in runs between escapes.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !any_escape(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    write_escaped(out, bytes);
}

/// Whether any byte needs escaping; written without early exit so the
/// compiler can check a whole chunk of bytes at once.
#[inline]
fn any_escape(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |acc, &b| acc | needs_escape(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| needs_escape(b))
}

#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| needs_escape(b)) {
        out.extend_from_slice(&rest[..i]);
        let b = rest[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Whether `json.dumps(..., ensure_ascii=False)` escapes this byte.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Append a decimal integer.
#[inline]
pub fn write_int(out: &mut Vec<u8>, value: impl itoa::Integer) {
    let mut buffer = itoa::Buffer::new();
    out.extend_from_slice(buffer.format(value).as_bytes());
}

/// Append a string or `null`.
#[inline]
pub fn write_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => write_str(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Append an integer or `null`.
#[inline]
pub fn write_opt_int(out: &mut Vec<u8>, value: Option<impl itoa::Integer>) {
    match value {
        Some(v) => write_int(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Append `"name"` for one of the core's own names (enum texts such as
/// `market_data` or `partially_filled`), which never need escaping.
#[inline]
pub fn write_name(out: &mut Vec<u8>, name: &str) {
    debug_assert!(!any_escape(name.as_bytes()), "{name:?} needs escaping");
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// Writes one JSON object whose keys the caller supplies in sorted order.
///
/// The record and state writers know their keys statically, so sorting at run
/// time would be wasted work; debug builds assert the order instead, and the
/// golden tests (run in debug) would catch a misordered key.
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    #[cfg(debug_assertions)]
    last: Option<String>,
}

impl<'a> ObjectWriter<'a> {
    #[inline]
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter {
            out,
            first: true,
            #[cfg(debug_assertions)]
            last: None,
        }
    }

    /// Bytes written to the underlying buffer so far (an offset into it).
    pub fn offset(&self) -> usize {
        self.out.len()
    }

    /// Start member `key`; returns the buffer to write its value into.
    ///
    /// Keys are the core's own field names (ASCII, nothing to escape), so
    /// they are copied as they are.
    #[inline]
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        #[cfg(debug_assertions)]
        {
            if let Some(last) = &self.last {
                assert!(last.as_str() < key, "keys out of order: {last:?} then {key:?}");
            }
            self.last = Some(key.to_string());
        }
        debug_assert!(!any_escape(key.as_bytes()), "key {key:?} needs escaping");
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline]
    pub fn str(&mut self, key: &str, value: &str) {
        write_str(self.key(key), value);
    }

    #[inline]
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    #[inline]
    pub fn int(&mut self, key: &str, value: impl itoa::Integer) {
        write_int(self.key(key), value);
    }

    #[inline]
    pub fn opt_int(&mut self, key: &str, value: Option<impl itoa::Integer>) {
        match value {
            Some(v) => self.int(key, v),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    #[inline]
    pub fn bool(&mut self, key: &str, value: bool) {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(text);
    }

    #[inline]
    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// Write a JSON array with `write_item` for each element.
pub fn write_array<T>(out: &mut Vec<u8>, items: &[T], mut write_item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_item(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(canonical_json(&value).unwrap()).unwrap()
    }

    #[test]
    fn spec_worked_example() {
        let text = r#"{"qty": 250000, "side": "buy", "note": "Zürich \"HQ\"\n",
            "é": {"y": -7, "x": "tab\there\u0001"}, "flags": [true, false, null],
            "big": 170141183460469231731687303715884105727}"#;
        let bytes = canonical_json(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(bytes.len(), 161);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "{\"big\":170141183460469231731687303715884105727,\"flags\":[true,false,null],\"note\":\"Zürich \\\"HQ\\\"\\n\",\"qty\":250000,\"side\":\"buy\",\"é\":{\"x\":\"tab\\there\\u0001\",\"y\":-7}}"
        );
        assert_eq!(
            sha256_hex(&bytes),
            "d6416b354566b02f7f0abcf3a285c42d23b2afcee27842aff00e96c405d31880"
        );
    }

    #[test]
    fn control_characters_and_unicode() {
        let mut out = Vec::new();
        let all: String = (0u8..0x20).map(char::from).collect();
        write_str(&mut out, &all);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""
        );
        // '/', DEL, U+2028/2029 and astral characters are written as themselves.
        assert_eq!(
            enc(r#""/\u007f\u2028\u2029😀\ud83d\ude00""#),
            "\"/\u{7f}\u{2028}\u{2029}😀😀\""
        );
    }

    #[test]
    fn keys_sort_by_code_point() {
        // U+E000 sorts before U+1F600 by code point (UTF-16 order would differ).
        assert_eq!(
            enc("{\"😀\":1,\"\u{e000}\":2,\"a\":3}"),
            "{\"a\":3,\"\u{e000}\":2,\"😀\":1}"
        );
    }

    #[test]
    fn integers_at_full_width() {
        assert_eq!(
            enc("[-170141183460469231731687303715884105728,170141183460469231731687303715884105727,-0,0]"),
            "[-170141183460469231731687303715884105728,170141183460469231731687303715884105727,0,0]"
        );
        assert_eq!(
            enc("123456789012345678901234567890123456789012345"),
            "123456789012345678901234567890123456789012345"
        );
        let mut out = Vec::new();
        write_int(&mut out, i128::MIN);
        assert_eq!(out, b"-170141183460469231731687303715884105728");
    }

    #[test]
    fn floats_are_written_like_python_repr() {
        for (text, repr) in [
            ("1.0", "1.0"),
            ("1E5", "100000.0"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("-2.5", "-2.5"),
            ("-0.0", "-0.0"),
            ("123.456", "123.456"),
            ("1.5e300", "1.5e+300"),
            ("0.1", "0.1"),
            ("5e-324", "5e-324"),
            ("12345678901234567890.0", "1.2345678901234567e+19"),
        ] {
            assert_eq!(enc(text), repr, "{text}");
        }
        assert!(canonical_json(&serde_json::from_str("1e400").unwrap()).is_err());
    }

    #[test]
    fn object_writer_checks_order_in_debug() {
        let mut out = Vec::new();
        let mut obj = ObjectWriter::new(&mut out);
        obj.int("a", 1i64);
        obj.opt_str("b", None);
        obj.bool("c", true);
        obj.end();
        assert_eq!(out, b"{\"a\":1,\"b\":null,\"c\":true}");
    }
}
