//! One input line straight to a typed item, without building a JSON tree.
//!
//! The generic path ([`crate::items::parse_input`]) reads a `serde_json::Value`
//! whose numbers are strings and whose objects are maps: flexible and exact,
//! but it allocates for every key and number. Replaying a log spends most of
//! its time there, so [`parse_line`] reads the bytes of one line directly into
//! an [`Item`] (or an event group).
//!
//! It only ever *accepts*: any line that is not a plainly well-formed, valid
//! item (invalid JSON, a duplicate key, an escape sequence, a float, a field
//! out of bounds, ...) gives `None`, and the caller takes the generic path,
//! which produces the error (or, for an unusual but valid spelling, the same
//! item). The rule this module must keep is therefore one-sided: whenever it
//! returns an item, `parse_input` on the same line returns the very same item.
//! The checks below mirror `items.rs` field by field for that reason, and the
//! tests compare both paths on every golden input and on many damaged lines.

use serde_json::Value;

use crate::coresetup::Source;
use crate::fixedpoint::{I64_MAX, MONEY_MAX, PRICE_MAX, PRICE_MIN, QTY_MAX, TIME_MAX};
use crate::items::{risk_flag_from_index, Event, IntentBatch, Item, Parsed, Payload, Request, RiskFlag};
use crate::validate::is_identifier;

/// Nesting deeper than this is left to the generic path (which has its own limit).
const MAX_DEPTH: usize = 64;

/// A key matcher for [`Lexer::keyed_object`]: given the bytes after a key's
/// opening quote, the index of the listed key they start with (closing quote
/// included) and how many bytes that is. The keys are literals, so each test
/// is a comparison with a constant the compiler turns into a few loads.
macro_rules! key_matcher {
    ($($key:literal),+ $(,)?) => {
        |rest: &[u8]| -> Option<(usize, usize)> {
            let mut n = 0usize;
            $(
                {
                    const KEY: &[u8] = concat!($key, "\"").as_bytes();
                    if rest.starts_with(KEY) {
                        return Some((n, KEY.len()));
                    }
                    n += 1;
                }
            )+
            let _ = n;
            None
        }
    };
}

/// A scalar member value: payloads and envelopes hold nothing else.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    /// An integer that fits i64 (kept small: these are copied around a lot).
    Int(i64),
    /// A longer integer, as its text (money can reach 2^127).
    Big(&'a [u8]),
    Str(&'a str),
}

impl<'a> Scalar<'a> {
    fn int(self, lo: i128, hi: i128) -> Option<i128> {
        let value = match self {
            Scalar::Int(v) => v as i128,
            Scalar::Big(text) => wide_integer(text)?,
            _ => return None,
        };
        (lo..=hi).contains(&value).then_some(value)
    }

    fn int64(self, lo: i64, hi: i64) -> Option<i64> {
        match self {
            Scalar::Int(v) if (lo..=hi).contains(&v) => Some(v),
            _ => None,
        }
    }

    /// `null` is `None`; anything else must be an integer in bounds.
    fn opt_int64(self, lo: i64, hi: i64) -> Option<Option<i64>> {
        match self {
            Scalar::Null => Some(None),
            other => other.int64(lo, hi).map(Some),
        }
    }

    fn str(self) -> Option<&'a str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    fn ident(self) -> Option<String> {
        self.str().filter(|s| is_identifier(s)).map(str::to_string)
    }

    fn opt_ident(self) -> Option<Option<String>> {
        match self {
            Scalar::Null => Some(None),
            other => other.ident().map(Some),
        }
    }

    /// A string of at most `max_len` characters (code points).
    fn text(self, max_len: usize) -> Option<String> {
        self.str()
            .filter(|s| s.len() <= max_len || s.chars().count() <= max_len)
            .map(str::to_string)
    }

    fn choice(self, options: &[&str]) -> Option<usize> {
        let s = self.str()?;
        options.iter().position(|o| *o == s)
    }
}

/// A byte cursor over one line (checked to be UTF-8 once, up front: one
/// pass over the line is cheaper than a check per string).
struct Lexer<'a> {
    src: &'a str,
    text: &'a [u8],
    at: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes (anything else is left to the generic path).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        self.at += special_offset(&self.text[self.at..]);
        if *self.text.get(self.at)? != b'"' {
            return None; // an escape or a control character
        }
        // Both ends are ASCII quotes, so they are character boundaries.
        let text = self.src.get(start..self.at)?;
        self.at += 1;
        Some(text)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The text of a JSON integer (no fraction, no exponent, no leading zero).
    fn integer_text(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        if self.text.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let digits_start = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = self.at - digits_start;
        if digits == 0 || (digits > 1 && self.text[digits_start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.text.get(self.at) {
            return None;
        }
        Some(&self.text[start..self.at])
    }

    /// A JSON integer: [`Scalar::Int`] when it fits i64, else [`Scalar::Big`].
    fn integer(&mut self) -> Option<Scalar<'a>> {
        let start = self.at;
        let negative = self.text.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits_start = self.at;
        // One pass: the digits are checked and accumulated together; any 19
        // digits fit a u64, so the wrapping arithmetic is exact where used.
        let mut magnitude: u64 = 0;
        while let Some(&b) = self.text.get(self.at) {
            if !b.is_ascii_digit() {
                break;
            }
            magnitude = magnitude.wrapping_mul(10).wrapping_add((b - b'0') as u64);
            self.at += 1;
        }
        let digits = self.at - digits_start;
        if digits == 0 || (digits > 1 && self.text[digits_start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.text.get(self.at) {
            return None;
        }
        if digits <= 19 {
            let value = if negative {
                0i64.checked_sub_unsigned(magnitude)
            } else {
                i64::try_from(magnitude).ok()
            };
            if let Some(value) = value {
                return Some(Scalar::Int(value));
            }
        }
        Some(Scalar::Big(&self.text[start..self.at]))
    }

    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Scalar::Str),
            b'n' => self.literal(b"null").map(|_| Scalar::Null),
            b't' => self.literal(b"true").map(|_| Scalar::Bool(true)),
            b'f' => self.literal(b"false").map(|_| Scalar::Bool(false)),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    /// Visit the members of an object: `member` reads each value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Visit the members of an object whose keys must be among the ones
    /// `matcher` knows (see [`key_matcher`]): `member` gets the index of each
    /// key. Keys are compared in place instead of being scanned first.
    fn keyed_object(
        &mut self,
        matcher: impl Fn(&[u8]) -> Option<(usize, usize)>,
        mut member: impl FnMut(&mut Self, usize) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.eat(b'"')?;
            let (n, taken) = matcher(&self.text[self.at..])?;
            self.at += taken;
            self.eat(b':')?;
            member(self, n)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object whose keys are exactly the ones `matcher` knows, in any
    /// order, with scalar values: the values in the matcher's key order (the
    /// generic path's `exact_keys` with no optional keys). A duplicate key fails.
    fn exact_object<const N: usize>(
        &mut self,
        matcher: impl Fn(&[u8]) -> Option<(usize, usize)>,
    ) -> Option<[Scalar<'a>; N]> {
        let mut slots: [Option<Scalar<'a>>; N] = [None; N];
        self.keyed_object(matcher, |lex, n| {
            let value = lex.scalar()?;
            put(slots.get_mut(n)?, value)
        })?;
        let mut values = [Scalar::Null; N];
        for (value, slot) in values.iter_mut().zip(slots) {
            *value = slot?;
        }
        Some(values)
    }

    /// Visit the elements of an array.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Step over any JSON value, checking only its outline; the caller
    /// re-reads the span with serde_json. Escapes are fine here; floats are not.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(|lex, _| lex.skip_value(depth + 1)),
            b'[' => self.array(|lex| lex.skip_value(depth + 1)),
            b'"' => {
                self.at += 1;
                loop {
                    match *self.text.get(self.at)? {
                        b'"' => break,
                        b'\\' => self.at += 2,
                        b if b < 0x20 => return None,
                        _ => self.at += 1,
                    }
                }
                self.at += 1;
                Some(())
            }
            b'-' | b'0'..=b'9' => self.integer_text().map(|_| ()),
            _ => self.scalar().map(|_| ()),
        }
    }

    /// Any JSON value as a `serde_json::Value` equal to what serde_json reads
    /// from the same text (intents are kept raw). Integers must fit i64 and
    /// not be `-0` (so that `Number::from` spells them as the text did), and
    /// strings must be escape-free; anything else is left to the generic path.
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let value = match self.peek()? {
            b'{' => {
                let mut map = serde_json::Map::new();
                self.object(|lex, key| {
                    let value = lex.value(depth + 1)?;
                    map.insert(key.to_string(), value).is_none().then_some(())
                })?;
                Value::Object(map)
            }
            b'[' => {
                let mut items = Vec::new();
                self.array(|lex| {
                    items.push(lex.value(depth + 1)?);
                    Some(())
                })?;
                Value::Array(items)
            }
            _ => match self.scalar()? {
                Scalar::Null => Value::Null,
                Scalar::Bool(b) => Value::Bool(b),
                Scalar::Int(0) if self.text[self.at - 2] == b'-' => return None,
                Scalar::Int(n) => Value::Number(n.into()),
                Scalar::Big(_) => return None,
                Scalar::Str(s) => Value::String(s.to_string()),
            },
        };
        Some(value)
    }

    fn finish(&mut self) -> Option<()> {
        (self.peek().is_none()).then_some(())
    }
}

/// Offset of the first `"`, `\\` or control character in `bytes` (or its
/// length): eight bytes at a time with the classic zero-byte bit tricks.
fn special_offset(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut offset = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Bytes below 0x20, equal to '"' or equal to '\\'. The lowest flagged
        // byte is always a true match, which is the only one used.
        let found = (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
            | zero_bytes(word ^ (ONES * b'"' as u64))
            | zero_bytes(word ^ (ONES * b'\\' as u64));
        if found != 0 {
            return offset + (found.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    offset
        + rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(rest.len())
}

/// Set `slot` once; a second value for the same key (a duplicate) fails.
fn put<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// The members an input item's top level may have.
#[derive(Default)]
struct Top<'a> {
    kind: Option<&'a str>,
    seq_id: Option<Scalar<'a>>,
    event_time: Option<Scalar<'a>>,
    ingest_time: Option<Scalar<'a>>,
    source: Option<Scalar<'a>>,
    venue: Option<Scalar<'a>>,
    instrument: Option<Scalar<'a>>,
    event_type: Option<Scalar<'a>>,
    payload: Option<PayloadSlot>,
    idempotency_key: Option<Scalar<'a>>,
    producer_index: Option<Scalar<'a>>,
    batch_id: Option<Scalar<'a>>,
    strategy_id: Option<Scalar<'a>>,
    ts: Option<Scalar<'a>>,
    intents: Option<Vec<Value>>,
    events: Option<Vec<Event>>,
    count: usize,
}

/// An envelope's payload: read typed when its event type came first (the
/// usual key order), else kept as a span and read once the type is known.
enum PayloadSlot {
    Read(Payload),
    Span(usize, usize),
}

impl<'a> Top<'a> {
    /// Read one item's top-level object into a fresh `Top` (filled in place:
    /// it is a few hundred bytes, not worth copying around).
    fn read(lex: &mut Lexer<'a>, in_group: bool, top: &mut Top<'a>) -> Option<()> {
        // In the order envelopes usually spell them: the first ones are tried first.
        let keys = key_matcher!(
            "kind",
            "seq_id",
            "event_time",
            "ingest_time",
            "source",
            "venue",
            "instrument",
            "event_type",
            "payload",
            "idempotency_key",
            "producer_index",
            "batch_id",
            "strategy_id",
            "ts",
            "intents",
            "events",
        );
        lex.keyed_object(keys, |lex, key| {
            top.count += 1;
            match key {
                0 => {
                    let kind = lex.string()?;
                    put(&mut top.kind, kind)
                }
                1 => put(&mut top.seq_id, lex.scalar()?),
                2 => put(&mut top.event_time, lex.scalar()?),
                3 => put(&mut top.ingest_time, lex.scalar()?),
                4 => put(&mut top.source, lex.scalar()?),
                5 => put(&mut top.venue, lex.scalar()?),
                6 => put(&mut top.instrument, lex.scalar()?),
                7 => put(&mut top.event_type, lex.scalar()?),
                8 => {
                    let slot = match top.event_type {
                        Some(Scalar::Str(event_type)) => PayloadSlot::Read(payload(event_type, lex)?),
                        _ => {
                            lex.skip_ws();
                            let start = lex.at;
                            lex.skip_value(1)?;
                            PayloadSlot::Span(start, lex.at)
                        }
                    };
                    put(&mut top.payload, slot)
                }
                9 => put(&mut top.idempotency_key, lex.scalar()?),
                10 => put(&mut top.producer_index, lex.scalar()?),
                _ if in_group => None,
                11 => put(&mut top.batch_id, lex.scalar()?),
                12 => put(&mut top.strategy_id, lex.scalar()?),
                13 => put(&mut top.ts, lex.scalar()?),
                14 => {
                    let Value::Array(intents) = lex.value(1)? else {
                        return None;
                    };
                    put(&mut top.intents, intents)
                }
                _ => {
                    let mut events = Vec::new();
                    lex.array(|lex| {
                        let mut member = Top::default();
                        Top::read(lex, true, &mut member)?;
                        events.push(member.event(lex)?);
                        Some(())
                    })?;
                    put(&mut top.events, events)
                }
            }
        })
    }

    /// An event envelope with exactly the envelope keys, every field valid.
    fn event(&mut self, lex: &Lexer<'a>) -> Option<Event> {
        if self.kind != Some("event") || self.count != 11 {
            return None;
        }
        let seq_id = self.seq_id?.opt_int64(1, I64_MAX)?;
        let event_time = self.event_time?.int64(0, TIME_MAX)?;
        let ingest_time = self.ingest_time?.int64(0, TIME_MAX)?;
        let event_type = self.event_type?.str()?;
        let source = Source::parse(self.source?.str()?)?;
        let venue = self.venue?.ident()?;
        let instrument = self.instrument?.opt_ident()?;
        let idempotency_key = match self.idempotency_key? {
            Scalar::Null => None,
            Scalar::Str(s) if (1..=128).contains(&s.chars().count()) => Some(s.to_string()),
            _ => return None,
        };
        let producer_index = self.producer_index?.int64(0, I64_MAX)?;
        let payload = match self.payload.take()? {
            PayloadSlot::Read(payload) => payload,
            PayloadSlot::Span(start, end) => {
                let mut sub = Lexer {
                    src: lex.src,
                    text: &lex.text[..end],
                    at: start,
                };
                let payload = payload(event_type, &mut sub)?;
                sub.finish()?;
                payload
            }
        };
        let expected = match payload {
            Payload::Bar { .. } | Payload::Trade { .. } | Payload::Quote { .. } => Source::MarketData,
            Payload::Timer { .. } => Source::Timer,
            Payload::Halt { .. } | Payload::Resume | Payload::SetRiskFlag { .. } => Source::Control,
            _ => Source::BrokerReport,
        };
        if source != expected
            || (instrument.is_none() && matches!(source, Source::MarketData | Source::BrokerReport))
        {
            return None;
        }
        Some(Event {
            seq_id,
            event_time,
            ingest_time,
            source,
            venue,
            instrument,
            payload,
            idempotency_key,
            producer_index,
        })
    }

    fn batch(&mut self) -> Option<IntentBatch> {
        if self.count != 6 {
            return None;
        }
        let intents = self.intents.take()?;
        for intent in &intents {
            let typed = matches!(intent, Value::Object(m) if m.get("type").is_some_and(Value::is_string));
            if !typed {
                return None;
            }
        }
        Some(IntentBatch {
            seq_id: self.seq_id?.opt_int64(1, I64_MAX)?,
            batch_id: self.batch_id?.ident()?,
            strategy_id: self.strategy_id?.ident()?,
            ts: self.ts?.int64(0, TIME_MAX)?,
            intents,
        })
    }
}

/// The value of an integer's text if it fits i128.
fn wide_integer(text: &[u8]) -> Option<i128> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut value: i128 = 0;
    for &b in digits {
        // Accumulate negatively so that i128::MIN is representable.
        value = value.checked_mul(10)?.checked_sub((b - b'0') as i128)?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Read a payload object for `event_type` (Python's `_payload` checks).
fn payload(event_type: &str, lex: &mut Lexer) -> Option<Payload> {
    let price = |v: Scalar| v.int64(PRICE_MIN, PRICE_MAX);
    let size = |v: Scalar| v.int64(0, QTY_MAX);
    let qty = |v: Scalar| v.int64(1, QTY_MAX);
    let opt_price = |v: Scalar| v.opt_int64(PRICE_MIN, PRICE_MAX);
    let text = |v: Scalar| v.text(200);
    let payload = match event_type {
        "bar" => {
            let [open, high, low, close, volume] =
                lex.exact_object(key_matcher!("open", "high", "low", "close", "volume"))?;
            let (open, high, low, close) = (price(open)?, price(high)?, price(low)?, price(close)?);
            let volume = size(volume)?;
            if !(low <= open && open <= high && low <= close && close <= high) {
                return None;
            }
            Payload::Bar {
                open,
                high,
                low,
                close,
                volume,
            }
        }
        "trade" => {
            let [p, s] = lex.exact_object(key_matcher!("price", "size"))?;
            Payload::Trade {
                price: price(p)?,
                size: size(s)?,
            }
        }
        "quote" => {
            let [bid, ask, bid_size, ask_size] =
                lex.exact_object(key_matcher!("bid", "ask", "bid_size", "ask_size"))?;
            Payload::Quote {
                bid: price(bid)?,
                ask: price(ask)?,
                bid_size: size(bid_size)?,
                ask_size: size(ask_size)?,
            }
        }
        "order_accepted" => {
            let [order_id] = lex.exact_object(key_matcher!("order_id"))?;
            Payload::OrderAccepted {
                order_id: order_id.ident()?,
            }
        }
        "order_expired" => {
            let [order_id] = lex.exact_object(key_matcher!("order_id"))?;
            Payload::OrderExpired {
                order_id: order_id.ident()?,
            }
        }
        "order_rejected" => {
            let [order_id, reason] = lex.exact_object(key_matcher!("order_id", "reason"))?;
            Payload::OrderRejected {
                order_id: order_id.ident()?,
                reason: text(reason)?,
            }
        }
        "order_cancelled" => {
            let [order_id, reason] = lex.exact_object(key_matcher!("order_id", "reason"))?;
            Payload::OrderCancelled {
                order_id: order_id.ident()?,
                reason: text(reason)?,
            }
        }
        "order_filled" => {
            let [order_id, fill_id, q, p, fee] =
                lex.exact_object(key_matcher!("order_id", "fill_id", "qty", "price", "fee"))?;
            Payload::OrderFilled {
                order_id: order_id.ident()?,
                fill_id: fill_id.ident()?,
                qty: qty(q)?,
                price: price(p)?,
                fee: fee.int(0, MONEY_MAX)?,
            }
        }
        "cancel_rejected" => {
            let [order_id, request, reason] =
                lex.exact_object(key_matcher!("order_id", "request", "reason"))?;
            Payload::CancelRejected {
                order_id: order_id.ident()?,
                request: [Request::Cancel, Request::Replace][request.choice(&["cancel", "replace"])?],
                reason: text(reason)?,
            }
        }
        "order_replaced" => {
            let [order_id, q, p, stop] =
                lex.exact_object(key_matcher!("order_id", "qty", "price", "stop_price"))?;
            Payload::OrderReplaced {
                order_id: order_id.ident()?,
                qty: qty(q)?,
                price: opt_price(p)?,
                stop_price: opt_price(stop)?,
            }
        }
        "timer" => {
            let [timer_id] = lex.exact_object(key_matcher!("timer_id"))?;
            Payload::Timer {
                timer_id: timer_id.ident()?,
            }
        }
        "halt" => {
            let [reason] = lex.exact_object(key_matcher!("reason"))?;
            Payload::Halt {
                reason: text(reason)?,
            }
        }
        "resume" => {
            let [] = lex.exact_object(|_| None)?;
            Payload::Resume
        }
        "set_risk_flag" => {
            let [flag, value] = lex.exact_object(key_matcher!("flag", "value"))?;
            Payload::SetRiskFlag {
                flag: risk_flag_from_index(flag.choice(&RiskFlag::NAMES)?),
                value: match value {
                    Scalar::Bool(b) => b,
                    _ => return None,
                },
            }
        }
        _ => return None,
    };
    Some(payload)
}

/// The item on `line`, or `None` to take the generic path (see the module docs).
pub fn parse_line(line: &[u8]) -> Option<Parsed> {
    let src = std::str::from_utf8(line).ok()?;
    let mut lex = Lexer {
        src,
        text: line,
        at: 0,
    };
    let mut top = Top::default();
    Top::read(&mut lex, false, &mut top)?;
    lex.finish()?;
    match top.kind? {
        "event" => top.event(&lex).map(|e| Parsed::Item(Item::Event(e))),
        "intent_batch" => top.batch().map(|b| Parsed::Item(Item::Batch(b))),
        "event_group" => {
            let events = top.events?;
            (top.count == 2 && !events.is_empty()).then_some(Parsed::Group(events))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::parse_input;

    fn both(line: &str) -> (Option<Parsed>, Option<Parsed>) {
        let slow = serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| parse_input(&v).ok());
        (parse_line(line.as_bytes()), slow)
    }

    fn agrees(line: &str) {
        let (fast, slow) = both(line);
        if let Some(fast) = fast {
            assert_eq!(Some(fast), slow, "{line}");
        }
    }

    const BAR: &str = r#"{"kind":"event","seq_id":null,"event_time":5,"ingest_time":6,"source":"market_data","venue":"SIM","instrument":"AAA","event_type":"bar","payload":{"open":10,"high":12,"low":9,"close":11,"volume":0},"idempotency_key":null,"producer_index":0}"#;

    #[test]
    fn plain_items_take_the_fast_path() {
        let (fast, slow) = both(BAR);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
        let batch = r#"{"kind":"intent_batch","seq_id":7,"batch_id":"b","strategy_id":"s","ts":5,
            "intents":[{"type":"noop"},{"type":"x","nested":[1,{"a":"é","b":[true,false,null,-3]}],"big":-9223372036854775808}]}"#;
        let (fast, slow) = both(batch);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
        // Escapes, -0 and integers beyond i64 inside intents take the generic path.
        for odd in [
            r#""\u00e9\n""#,
            "-0",
            "123456789012345678901234567890123456789012",
        ] {
            let line = batch.replace("-9223372036854775808", odd);
            let (fast, slow) = both(&line);
            assert!(fast.is_none() && slow.is_some(), "{line}");
        }
        let group = format!(r#"{{"events":[{BAR},{BAR}],"kind":"event_group"}}"#);
        let (fast, slow) = both(&group);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
    }

    #[test]
    fn unusual_lines_fall_back() {
        for line in [
            BAR.replace(r#""seq_id":null"#, r#""seq_id":null,"seq_id":null"#),
            BAR.replace(r#""SIM""#, r#""S\u0049M""#),
            BAR.replace(r#""volume":0"#, r#""volume":0.0"#),
            BAR.replace(r#""volume":0"#, r#""volume":1e2"#),
            BAR.replace(r#""volume":0"#, r#""volume":00"#),
            BAR.replace(r#""volume":0"#, r#""volume":-1"#),
            BAR.replace(r#""open":10"#, r#""open":13"#),
            BAR.replace(r#""AAA""#, r#""A A""#),
            BAR.replace(r#""bar""#, r#""trade""#),
            BAR.replace(r#""market_data""#, r#""timer""#),
            BAR.replace(r#""instrument":"AAA""#, r#""instrument":null"#),
            BAR.replace(r#","producer_index":0"#, ""),
            BAR.replace(r#""producer_index":0"#, r#""producer_index":0,"x":1"#),
            format!("{BAR} x"),
            BAR[..BAR.len() - 1].to_string(),
            r#"{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":5,"intents":[{"type":"noop","q":1.5}]}"#.to_string(),
            r#"{"kind":"intent_batch","seq_id":null,"batch_id":"b","strategy_id":"s","ts":5,"intents":[{"typo":"noop"}]}"#.to_string(),
            r#"{"kind":"event_group","events":[]}"#.to_string(),
        ] {
            assert!(parse_line(line.as_bytes()).is_none(), "{line}");
            agrees(&line);
        }
    }

    #[test]
    fn special_bytes_are_found_like_a_plain_scan() {
        let mut seed = 7u64;
        for len in 0..70 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let pick = (seed >> 33) as u8;
                        // Mostly ordinary bytes, sometimes the three kinds of special ones.
                        match pick % 16 {
                            0 => b'"',
                            1 => b'\\',
                            2 => pick % 0x20,
                            _ => 0x20 + pick % 0xe0,
                        }
                    })
                    .collect();
                let naive = bytes
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .unwrap_or(bytes.len());
                assert_eq!(special_offset(&bytes), naive, "{bytes:?}");
            }
        }
    }

    #[test]
    fn spacing_and_key_order_do_not_matter() {
        let value: Value = serde_json::from_str(BAR).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let (fast, slow) = both(&pretty);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
        // `-0` is the integer 0, as in Python.
        let line = BAR.replace(r#""volume":0"#, r#""volume":-0"#);
        let (fast, slow) = both(&line);
        assert!(fast.is_some());
        assert_eq!(fast, slow);
    }
}
