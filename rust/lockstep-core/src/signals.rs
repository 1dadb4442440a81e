//! Signals: indicators and conditions the core evaluates on every committed bar.
//!
//! The counterpart of `lockstep.core.signals`; `docs/reference/signals.md` is
//! the contract both follow. A strategy that only acts when a condition holds
//! (two averages cross, an RSI leaves a band) declares it once, the core keeps
//! it up to date while it commits bars, and a wake filter with `signals` set
//! stops a block only on a bar that fires, so the quiet bars in between never
//! cross back to Python.
//!
//! Every value is an integer with floor division (`div_euclid`, whose divisor
//! is always positive here), in `i128` so no intermediate can overflow for
//! any bar the core accepts: that is what makes both cores agree bit for bit.
//! A declaration is checked in the contract's order with its exact reasons,
//! because a refusal's path and reason are part of the contract too. Signal
//! state is derived from bars, not business state: it stays out of
//! snapshots, state hashes and the trace.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use crate::canonical::{write_array, write_int, write_str, ObjectWriter};
use crate::coresetup::CoreSetup;
use crate::errors::SetupError;
use crate::hashing::FastMap;
use crate::validate::as_int;

/// The bar fields, in name order: a bar's values travel as `[i64; 5]` in this order.
pub const FIELDS: [&str; 5] = ["close", "high", "low", "open", "volume"];
const VOLUME: usize = 4;
const KINDS: [&str; 5] = ["ema", "highest", "lowest", "rsi", "sma"];
const OPS: [&str; 7] = ["above", "all", "any", "below", "crossover", "crossunder", "not"];
/// Decimal places a value carries beyond its operand's own.
const EXTRA_PLACES: u32 = 6;
/// `10^EXTRA_PLACES`: a bar field `x` is the value `x * SCALE`.
const SCALE: i128 = 1_000_000;
const MAX_ENTRIES: usize = 64;
const MAX_PERIOD: i128 = 10_000;
const MAX_PARTS: usize = 16;
const MAX_DEPTH: usize = 8;
const NAME_RULE: &str = "names are 1 to 40 letters, digits or _, not starting with a digit";
const OPERAND_RULE: &str = "must be an indicator, a bar field or {\"value\": \"<decimal>\"}";

type Checked<T> = Result<T, SetupError>;

fn refuse<T>(path: impl Into<String>, reason: impl Into<String>) -> Checked<T> {
    Err(SetupError {
        path: path.into(),
        reason: reason.into(),
    })
}

/// A map's keys by code point, whatever order the map keeps (serde_json's
/// `preserve_order` would keep the input's): refusals name the first key in
/// sorted order, as the Python core's `sorted()` does.
fn sorted_keys(map: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    keys
}

fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=40).contains(&bytes.len())
        && !bytes[0].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// `-?[0-9]+(\.[0-9]+)?`, the whole string.
fn is_decimal(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match unsigned.split_once('.') {
        Some((whole, frac)) => digits(whole) && digits(frac),
        None => digits(unsigned),
    }
}

/// What an operand's values measure; a comparison compares one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Price,
    Volume,
    Percent,
}

impl Unit {
    fn of_field(field: usize) -> Unit {
        if field == VOLUME {
            Unit::Volume
        } else {
            Unit::Price
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Unit::Price => "price",
            Unit::Volume => "volume",
            Unit::Percent => "percent",
        }
    }

    /// Decimal places of this unit's values for an instrument (the contract's units table).
    fn places(self, setup: &CoreSetup, instrument: &str) -> u32 {
        let inst = setup
            .instrument(instrument)
            .expect("declared instruments are the setup's");
        match self {
            Unit::Price => inst.price_precision + EXTRA_PLACES,
            Unit::Volume => inst.size_precision + EXTRA_PLACES,
            Unit::Percent => EXTRA_PLACES,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ema,
    Highest,
    Lowest,
    Rsi,
    Sma,
}

/// One declared indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Indicator {
    name: String,
    kind: Kind,
    /// Index into [`FIELDS`].
    field: usize,
    period: u32,
}

impl Indicator {
    fn unit(&self) -> Unit {
        if self.kind == Kind::Rsi {
            Unit::Percent
        } else {
            Unit::of_field(self.field)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Above,
    Below,
    Crossover,
    Crossunder,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    /// Index into [`FIELDS`].
    Field(usize),
    /// Index into the declaration's indicators (name order).
    Indicator(usize),
    /// The constant at the other operand's places, per instrument of the
    /// declaration (places differ between instruments).
    Constant(Box<[i128]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    Compare(Compare, Operand, Operand),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

/// A checked declaration: indicators and conditions in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    instruments: Vec<String>,
    indicators: Vec<Indicator>,
    conditions: Vec<(String, Condition)>,
}

impl Declaration {
    /// Check `spec` against the contract's rules in its order; refuse the first problem.
    pub fn parse(spec: &Value, setup: &CoreSetup) -> Checked<Declaration> {
        let Value::Object(top) = spec else {
            return refuse("$", "must be an object");
        };
        for key in sorted_keys(top) {
            if !matches!(key.as_str(), "instruments" | "indicators" | "conditions") {
                return refuse(format!("$.{key}"), "unknown field");
            }
        }
        let instruments = parse_instruments(top.get("instruments"), setup)?;
        let indicators = parse_indicators(top)?;
        let checker = Checker {
            indicators: &indicators,
            instruments: &instruments,
            setup,
        };
        let mut conditions = Vec::new();
        for (name, body) in entries(top, "conditions", "conditions")? {
            let path = format!("$.conditions.{name}");
            if !is_name(name) {
                return refuse(path, NAME_RULE);
            }
            conditions.push((name.clone(), checker.node(body, &path, 1)?));
        }
        Ok(Declaration {
            instruments,
            indicators,
            conditions,
        })
    }

    /// The instruments signals are evaluated for, in the declaration's order.
    pub fn instruments(&self) -> &[String] {
        &self.instruments
    }

    /// The indicators' names, in name order.
    pub fn indicator_names(&self) -> impl Iterator<Item = &str> {
        self.indicators.iter().map(|i| i.name.as_str())
    }

    /// The conditions' names, in name order.
    pub fn condition_names(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(|(name, _)| name.as_str())
    }
}

/// `null` or absent is every instrument of the setup, in id order (the
/// Python core sorts them: the setup's order is not part of the contract).
fn parse_instruments(value: Option<&Value>, setup: &CoreSetup) -> Checked<Vec<String>> {
    let items = match value {
        None | Some(Value::Null) => {
            let mut all: Vec<String> = setup.instruments.iter().map(|i| i.id.clone()).collect();
            all.sort_unstable();
            return Ok(all);
        }
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            return refuse(
                "$.instruments",
                "must be null or a non-empty array of instrument ids",
            )
        }
    };
    let mut seen: Vec<String> = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let path = format!("$.instruments[{n}]");
        let Value::String(id) = item else {
            return refuse(path, "must be an instrument id");
        };
        if setup.instrument(id).is_none() {
            return refuse(path, format!("unknown instrument '{id}'"));
        }
        if seen.contains(id) {
            return refuse(path, format!("duplicate instrument '{id}'"));
        }
        seen.push(id.clone());
    }
    Ok(seen)
}

/// `$.<key>` as a map of 1 to 64 entries, in name order (names not checked yet).
fn entries<'a>(top: &'a Map<String, Value>, key: &str, what: &str) -> Checked<Vec<(&'a String, &'a Value)>> {
    let Some(value) = top.get(key) else {
        return refuse(format!("$.{key}"), "required");
    };
    match value {
        Value::Object(map) if (1..=MAX_ENTRIES).contains(&map.len()) => Ok(sorted_keys(map)
            .into_iter()
            .map(|name| (name, &map[name]))
            .collect()),
        _ => refuse(
            format!("$.{key}"),
            format!("must be an object of 1 to {MAX_ENTRIES} {what}"),
        ),
    }
}

fn parse_indicators(top: &Map<String, Value>) -> Checked<Vec<Indicator>> {
    let mut out = Vec::new();
    for (name, body) in entries(top, "indicators", "indicators")? {
        let path = format!("$.indicators.{name}");
        if !is_name(name) {
            return refuse(path, NAME_RULE);
        }
        if FIELDS.contains(&name.as_str()) {
            return refuse(path, format!("'{name}' is a bar field; choose another name"));
        }
        let Value::Object(body) = body else {
            return refuse(path, "must be an object");
        };
        for key in sorted_keys(body) {
            if !matches!(key.as_str(), "kind" | "field" | "period") {
                return refuse(format!("{path}.{key}"), "unknown field");
            }
        }
        let member = |key: &str| match body.get(key) {
            Some(value) => Ok(value),
            None => refuse(format!("{path}.{key}"), "required"),
        };
        let kind = match member("kind")?.as_str() {
            Some("ema") => Kind::Ema,
            Some("highest") => Kind::Highest,
            Some("lowest") => Kind::Lowest,
            Some("rsi") => Kind::Rsi,
            Some("sma") => Kind::Sma,
            _ => {
                return refuse(
                    format!("{path}.kind"),
                    format!("must be one of {}", KINDS.join(", ")),
                )
            }
        };
        let field = member("field")?
            .as_str()
            .and_then(|f| FIELDS.iter().position(|x| *x == f));
        let Some(field) = field else {
            return refuse(
                format!("{path}.field"),
                format!("must be one of {}", FIELDS.join(", ")),
            );
        };
        let period = match as_int(member("period")?) {
            Some(Ok(period)) if (1..=MAX_PERIOD).contains(&period) => period as u32,
            _ => {
                return refuse(
                    format!("{path}.period"),
                    format!("must be an integer from 1 to {MAX_PERIOD}"),
                )
            }
        };
        out.push(Indicator {
            name: name.clone(),
            kind,
            field,
            period,
        });
    }
    Ok(out)
}

/// An operand as checked, before its constant (if it is one) is scaled.
enum Side<'a> {
    Field(usize),
    Indicator(usize),
    Constant(&'a str),
}

/// Checks condition trees depth-first against the declaration's indicators.
struct Checker<'a> {
    indicators: &'a [Indicator],
    instruments: &'a [String],
    setup: &'a CoreSetup,
}

impl Checker<'_> {
    fn node(&self, value: &Value, path: &str, depth: usize) -> Checked<Condition> {
        if depth > MAX_DEPTH {
            return refuse(path, format!("conditions nest at most {MAX_DEPTH} deep"));
        }
        let Value::Object(node) = value else {
            return refuse(path, "must be an object");
        };
        let Some(op) = node.get("op") else {
            return refuse(format!("{path}.op"), "required");
        };
        let Some(op) = op.as_str().filter(|op| OPS.contains(op)) else {
            return refuse(format!("{path}.op"), format!("must be one of {}", OPS.join(", ")));
        };
        let compare = match op {
            "above" => Some(Compare::Above),
            "below" => Some(Compare::Below),
            "crossover" => Some(Compare::Crossover),
            "crossunder" => Some(Compare::Crossunder),
            _ => None,
        };
        let keys: &[&str] = if compare.is_some() {
            &["op", "left", "right"]
        } else {
            &["op", "of"]
        };
        for key in sorted_keys(node) {
            if !keys.contains(&key.as_str()) {
                return refuse(format!("{path}.{key}"), "unknown field");
            }
        }
        if let Some(compare) = compare {
            return self.comparison(compare, node, path);
        }
        let Some(of) = node.get("of") else {
            return refuse(format!("{path}.of"), "required");
        };
        if op == "not" {
            let inner = self.node(of, &format!("{path}.of"), depth + 1)?;
            return Ok(Condition::Not(Box::new(inner)));
        }
        let parts = match of {
            Value::Array(parts) if (1..=MAX_PARTS).contains(&parts.len()) => parts,
            _ => {
                return refuse(
                    format!("{path}.of"),
                    format!("must be an array of 1 to {MAX_PARTS} conditions"),
                )
            }
        };
        let parts = parts
            .iter()
            .enumerate()
            .map(|(n, part)| self.node(part, &format!("{path}.of[{n}]"), depth + 1))
            .collect::<Checked<Vec<_>>>()?;
        Ok(if op == "all" {
            Condition::All(parts)
        } else {
            Condition::Any(parts)
        })
    }

    fn comparison(&self, compare: Compare, node: &Map<String, Value>, path: &str) -> Checked<Condition> {
        let mut sides = Vec::with_capacity(2);
        for side in ["left", "right"] {
            let Some(value) = node.get(side) else {
                return refuse(format!("{path}.{side}"), "required");
            };
            sides.push(self.operand(value, &format!("{path}.{side}"))?);
        }
        let (right, right_unit) = sides.pop().expect("two sides");
        let (left, left_unit) = sides.pop().expect("two sides");
        let unit = match (left_unit, right_unit) {
            (None, None) => return refuse(path, "compares two constants"),
            (Some(l), Some(r)) if l != r => {
                return refuse(path, format!("compares {} with {}", l.as_str(), r.as_str()))
            }
            (Some(unit), _) | (None, Some(unit)) => unit,
        };
        let left = self.scaled(left, unit, &format!("{path}.left"))?;
        let right = self.scaled(right, unit, &format!("{path}.right"))?;
        Ok(Condition::Compare(compare, left, right))
    }

    fn operand<'v>(&self, value: &'v Value, path: &str) -> Checked<(Side<'v>, Option<Unit>)> {
        match value {
            Value::String(name) => {
                if let Some(field) = FIELDS.iter().position(|f| f == name) {
                    return Ok((Side::Field(field), Some(Unit::of_field(field))));
                }
                match self.indicators.binary_search_by(|i| i.name.as_str().cmp(name)) {
                    Ok(n) => Ok((Side::Indicator(n), Some(self.indicators[n].unit()))),
                    Err(_) => refuse(path, format!("unknown indicator '{name}'")),
                }
            }
            Value::Object(map) if map.len() == 1 => match map.get("value") {
                Some(Value::String(text)) if is_decimal(text) => Ok((Side::Constant(text), None)),
                _ => refuse(path, OPERAND_RULE),
            },
            _ => refuse(path, OPERAND_RULE),
        }
    }

    /// The operand ready to evaluate; a constant is checked and scaled for
    /// each instrument of the declaration in order, at `unit`'s places.
    fn scaled(&self, side: Side<'_>, unit: Unit, path: &str) -> Checked<Operand> {
        Ok(match side {
            Side::Field(field) => Operand::Field(field),
            Side::Indicator(n) => Operand::Indicator(n),
            Side::Constant(text) => Operand::Constant(
                self.instruments
                    .iter()
                    .map(|inst| constant(text, unit.places(self.setup, inst), inst, path))
                    .collect::<Checked<Vec<i128>>>()?
                    .into_boxed_slice(),
            ),
        })
    }
}

/// A decimal string (already matched by [`is_decimal`]) as an integer at
/// `places`, or the contract's refusal. Places are counted as written:
/// `"1.50"` has two.
fn constant(text: &str, places: u32, instrument: &str, path: &str) -> Checked<i128> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if frac.len() > places as usize {
        return refuse(
            path,
            format!("{text} has more than {places} decimal places for '{instrument}'"),
        );
    }
    let out_of_range = || refuse(path, format!("{text} is out of range for '{instrument}'"));
    // Any overflow of i128 on the way is far outside i64, so it is the same verdict.
    let mut magnitude: i128 = 0;
    for digit in whole.bytes().chain(frac.bytes()) {
        match magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(digit - b'0')))
        {
            Some(m) => magnitude = m,
            None => return out_of_range(),
        }
    }
    for _ in frac.len()..places as usize {
        match magnitude.checked_mul(10) {
            Some(m) => magnitude = m,
            None => return out_of_range(),
        }
    }
    let value = if negative { -magnitude } else { magnitude };
    if value < i128::from(i64::MIN) || value > i128::from(i64::MAX) {
        return out_of_range();
    }
    Ok(value)
}

// -- evaluation -------------------------------------------------------------------------

/// One indicator's running state for one instrument; its value lives beside
/// it in [`Track::values`] so a firing can copy all values at once.
#[derive(Debug, Clone)]
enum Series {
    /// The last `n` values and their sum.
    Sma { window: VecDeque<i128>, sum: i128 },
    /// Bars and their sum until the seed (the `n`-th bar); after that only the value.
    Ema { seen: u32, sum: i128 },
    /// A monotonic queue of `(bar index, value)`: its front is the extreme of
    /// the last `n` bars, kept in amortised constant time per bar.
    Extreme {
        highest: bool,
        seen: u64,
        window: VecDeque<(u64, i128)>,
    },
    /// Changes are counted up to the seed (the `n`-th change) only.
    Rsi {
        previous: Option<i128>,
        changes: u32,
        au: i128,
        ad: i128,
    },
}

impl Series {
    fn new(indicator: &Indicator) -> Series {
        match indicator.kind {
            // Grown as bars come: 64 indicators of period 10,000 on many
            // instruments would otherwise reserve gigabytes up front.
            Kind::Sma => Series::Sma {
                window: VecDeque::new(),
                sum: 0,
            },
            Kind::Ema => Series::Ema { seen: 0, sum: 0 },
            Kind::Highest | Kind::Lowest => Series::Extreme {
                highest: indicator.kind == Kind::Highest,
                seen: 0,
                window: VecDeque::new(),
            },
            Kind::Rsi => Series::Rsi {
                previous: None,
                changes: 0,
                au: 0,
                ad: 0,
            },
        }
    }

    /// Take the next bar's scaled field `x` (the bar field times `10^6`).
    fn update(&mut self, x: i128, period: u32, value: &mut Option<i128>) {
        let n = i128::from(period);
        match self {
            Series::Sma { window, sum } => {
                if window.len() == period as usize {
                    *sum -= window.pop_front().expect("a full window");
                }
                window.push_back(x);
                *sum += x;
                if window.len() == period as usize {
                    *value = Some(sum.div_euclid(n));
                }
            }
            Series::Ema { seen, sum } => match *value {
                // 2 * (x - v) is negative whenever the bar is below the average: floored.
                Some(v) => *value = Some(v + (2 * (x - v)).div_euclid(n + 1)),
                None => {
                    *seen += 1;
                    *sum += x;
                    if *seen == period {
                        *value = Some(sum.div_euclid(n));
                    }
                }
            },
            Series::Extreme {
                highest,
                seen,
                window,
            } => {
                let index = *seen;
                let beaten = |kept: i128| if *highest { kept <= x } else { kept >= x };
                while window.back().is_some_and(|&(_, kept)| beaten(kept)) {
                    window.pop_back();
                }
                window.push_back((index, x));
                while window
                    .front()
                    .is_some_and(|&(at, _)| at + u64::from(period) <= index)
                {
                    window.pop_front();
                }
                *seen += 1;
                if *seen >= u64::from(period) {
                    *value = Some(window.front().expect("the latest bar is kept").1);
                }
            }
            Series::Rsi {
                previous,
                changes,
                au,
                ad,
            } => {
                let Some(before) = previous.replace(x) else {
                    return;
                };
                // x is the field times 10^6, so these are max(+-d, 0) * 10^6.
                let up = (x - before).max(0);
                let down = (before - x).max(0);
                if *changes < period {
                    *changes += 1;
                    *au += up;
                    *ad += down;
                    if *changes < period {
                        return;
                    }
                    *au = au.div_euclid(n);
                    *ad = ad.div_euclid(n);
                } else {
                    *au = (*au * (n - 1) + up).div_euclid(n);
                    *ad = (*ad * (n - 1) + down).div_euclid(n);
                }
                let total = *au + *ad;
                *value = Some(if total == 0 {
                    50 * SCALE
                } else {
                    (100 * SCALE * *au).div_euclid(total)
                });
            }
        }
    }
}

/// One instrument's signal state: each indicator's series and value, and
/// the values and fields of its previous bar (crossings compare the two).
#[derive(Debug, Clone)]
struct Track {
    series: Vec<Series>,
    values: Vec<Option<i128>>,
    previous: Vec<Option<i128>>,
    fields: Option<[i128; 5]>,
    previous_fields: Option<[i128; 5]>,
}

impl Track {
    fn new(indicators: &[Indicator]) -> Track {
        Track {
            series: indicators.iter().map(Series::new).collect(),
            values: vec![None; indicators.len()],
            previous: vec![None; indicators.len()],
            fields: None,
            previous_fields: None,
        }
    }

    fn now(&self, operand: &Operand, slot: usize) -> Option<i128> {
        match operand {
            Operand::Field(field) => self.fields.map(|f| f[*field]),
            Operand::Indicator(n) => self.values[*n],
            Operand::Constant(values) => Some(values[slot]),
        }
    }

    fn before(&self, operand: &Operand, slot: usize) -> Option<i128> {
        match operand {
            Operand::Field(field) => self.previous_fields.map(|f| f[*field]),
            Operand::Indicator(n) => self.previous[*n],
            Operand::Constant(values) => Some(values[slot]),
        }
    }

    /// Three-valued: `None` is unknown (an operand not defined yet).
    fn holds(&self, condition: &Condition, slot: usize) -> Option<bool> {
        match condition {
            Condition::Compare(compare, left, right) => {
                let (a, b) = (self.now(left, slot)?, self.now(right, slot)?);
                match compare {
                    Compare::Above => Some(a > b),
                    Compare::Below => Some(a < b),
                    Compare::Crossover | Compare::Crossunder => {
                        let (pa, pb) = (self.before(left, slot)?, self.before(right, slot)?);
                        Some(if *compare == Compare::Crossover {
                            a > b && pa <= pb
                        } else {
                            a < b && pa >= pb
                        })
                    }
                }
            }
            Condition::Not(inner) => self.holds(inner, slot).map(|held| !held),
            Condition::All(parts) => {
                let mut unknown = false;
                for part in parts {
                    match self.holds(part, slot) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Condition::Any(parts) => {
                let mut unknown = false;
                for part in parts {
                    match self.holds(part, slot) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
        }
    }
}

/// A bar on which at least one top-level condition held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub seq_id: i64,
    pub event_time: i64,
    pub instrument: String,
    /// The true top-level conditions, in name order.
    pub fired: Vec<String>,
    /// Every indicator's value after the bar, in name order (`None`: unknown).
    pub values: Vec<(String, Option<i128>)>,
}

impl Firing {
    /// Append the firing's canonical JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = ObjectWriter::new(out);
        object.int("event_time", self.event_time);
        write_array(object.key("fired"), &self.fired, |out, name| write_str(out, name));
        object.str("instrument", &self.instrument);
        object.int("seq_id", self.seq_id);
        write_values(object.key("values"), &self.values);
        object.end();
    }
}

/// Canonical JSON of `firings` (a JSON array).
pub fn firings_json(firings: &[Firing]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 128 * firings.len());
    write_array(&mut out, firings, |out, firing| firing.write_json(out));
    out
}

/// Canonical JSON of indicator values given in name order (a JSON object).
pub fn write_values<S: AsRef<str>>(out: &mut Vec<u8>, values: &[(S, Option<i128>)]) {
    out.push(b'{');
    for (n, (name, value)) in values.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_str(out, name.as_ref());
        out.push(b':');
        match value {
            Some(v) => write_int(out, *v),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
}

/// A declaration, each of its instruments' state, and the firings not taken yet.
#[derive(Debug, Clone)]
pub struct SignalBook {
    declaration: Declaration,
    slots: FastMap<String, usize>,
    tracks: Vec<Track>,
    firings: Vec<Firing>,
}

impl SignalBook {
    pub fn new(declaration: Declaration) -> SignalBook {
        let slots = declaration
            .instruments
            .iter()
            .enumerate()
            .map(|(n, id)| (id.clone(), n))
            .collect();
        let mut book = SignalBook {
            declaration,
            slots,
            tracks: Vec::new(),
            firings: Vec::new(),
        };
        book.reset();
        book
    }

    pub fn declaration(&self) -> &Declaration {
        &self.declaration
    }

    /// Forget every value and untaken firing, keeping the declaration: the
    /// state after `restore`, since a snapshot holds no signal state.
    pub fn reset(&mut self) {
        let indicators = &self.declaration.indicators;
        self.tracks = self
            .declaration
            .instruments
            .iter()
            .map(|_| Track::new(indicators))
            .collect();
        self.firings.clear();
    }

    /// A committed bar: `bar` holds its fields in [`FIELDS`] order.
    pub fn observe(&mut self, seq_id: i64, event_time: i64, instrument: &str, bar: [i64; 5]) {
        let Some(&slot) = self.slots.get(instrument) else {
            return;
        };
        let track = &mut self.tracks[slot];
        let fields = bar.map(|x| i128::from(x) * SCALE);
        let Track {
            series,
            values,
            previous,
            fields: now,
            previous_fields,
        } = track;
        previous.copy_from_slice(values);
        *previous_fields = *now;
        *now = Some(fields);
        for ((series, value), indicator) in series
            .iter_mut()
            .zip(values.iter_mut())
            .zip(&self.declaration.indicators)
        {
            series.update(fields[indicator.field], indicator.period, value);
        }
        let track = &self.tracks[slot];
        let mut fired = Vec::new();
        for (name, condition) in &self.declaration.conditions {
            if track.holds(condition, slot) == Some(true) {
                fired.push(name.clone());
            }
        }
        if fired.is_empty() {
            return;
        }
        let values = self
            .declaration
            .indicators
            .iter()
            .zip(&track.values)
            .map(|(indicator, value)| (indicator.name.clone(), *value))
            .collect();
        self.firings.push(Firing {
            seq_id,
            event_time,
            instrument: instrument.to_string(),
            fired,
            values,
        });
    }

    /// Firings recorded so far and not taken: a mark for [`SignalBook::since`].
    pub fn mark(&self) -> usize {
        self.firings.len()
    }

    /// The firings recorded after `mark` was read.
    pub fn since(&self, mark: usize) -> &[Firing] {
        self.firings.get(mark..).unwrap_or_default()
    }

    /// The firings since the previous call, in commit order.
    pub fn take(&mut self) -> Vec<Firing> {
        std::mem::take(&mut self.firings)
    }

    /// The instrument's indicator values after its latest bar, in name order.
    pub fn values(&self, instrument: &str) -> Checked<Vec<(&str, Option<i128>)>> {
        let Some(&slot) = self.slots.get(instrument) else {
            return refuse(
                "$",
                format!("'{instrument}' is not one of the signals' instruments"),
            );
        };
        Ok(self
            .declaration
            .indicators
            .iter()
            .zip(&self.tracks[slot].values)
            .map(|(indicator, value)| (indicator.name.as_str(), *value))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> CoreSetup {
        CoreSetup::from_value(&json!({
            "currencies": [{"code": "USD", "money_precision": 4}],
            "venues": [{
                "name": "SIM", "simulated": true, "order_types": ["market"],
                "time_in_force": ["GTC"], "supports_replace": false, "fee_ppm": 0,
                "participation_bps": null,
            }],
            "instruments": [
                {"id": "ZZZ", "venue": "SIM", "quote_currency": "USD", "price_precision": 2,
                 "size_precision": 0, "tick_size": 1, "lot_size": 1},
                {"id": "AAA", "venue": "SIM", "quote_currency": "USD", "price_precision": 1,
                 "size_precision": 2, "tick_size": 1, "lot_size": 1},
            ],
        }))
        .unwrap()
    }

    fn indicator(kind: Kind, period: u32) -> Indicator {
        Indicator {
            name: "x".into(),
            kind,
            field: 0,
            period,
        }
    }

    /// The values of one series over bars of scaled values `xs`.
    fn run(kind: Kind, period: u32, xs: &[i128]) -> Vec<Option<i128>> {
        let ind = indicator(kind, period);
        let mut series = Series::new(&ind);
        let mut value = None;
        xs.iter()
            .map(|&x| {
                series.update(x, period, &mut value);
                value
            })
            .collect()
    }

    fn declare(spec: Value) -> Checked<SignalBook> {
        Declaration::parse(&spec, &setup()).map(SignalBook::new)
    }

    fn refusal(spec: Value) -> (String, String) {
        let err = declare(spec).unwrap_err();
        (err.path, err.reason)
    }

    fn bar(close: i64) -> [i64; 5] {
        [close, close, close, close, 1]
    }

    #[test]
    fn sma_floors_toward_negative_infinity() {
        assert_eq!(run(Kind::Sma, 3, &[1, 2, 2, 10]), [None, None, Some(1), Some(4)]);
        // Bars are never negative, but the arithmetic must floor, not truncate.
        assert_eq!(run(Kind::Sma, 2, &[-3, 0]), [None, Some(-2)]);
        assert_eq!(run(Kind::Sma, 1, &[7]), [Some(7)]);
    }

    #[test]
    fn ema_is_seeded_by_the_sma_then_floors_negative_steps() {
        // Seed floor((10 + 11 + 13) / 3) = 11; then 11 + floor(2 * (7 - 11) / 4) = 9,
        // then 9 + floor(2 * (8 - 9) / 4) = 9 + floor(-0.5) = 8 (truncation would keep 9).
        assert_eq!(
            run(Kind::Ema, 3, &[10, 11, 13, 7, 8]),
            [None, None, Some(11), Some(9), Some(8)]
        );
        // Upward steps round down too: 8 + floor(2 * 1 / 4) = 8.
        assert_eq!(run(Kind::Ema, 3, &[10, 11, 13, 7, 8, 9])[5], Some(8));
        // Period 1: the bar itself, every time (2 * (x - v) / 2).
        assert_eq!(run(Kind::Ema, 1, &[5, 9, 2]), [Some(5), Some(9), Some(2)]);
    }

    #[test]
    fn highest_and_lowest_follow_the_last_n_bars() {
        let xs = [5, 3, 3, 8, 1, 1, 2, 9];
        assert_eq!(
            run(Kind::Highest, 3, &xs),
            [None, None, Some(5), Some(8), Some(8), Some(8), Some(2), Some(9)]
        );
        assert_eq!(
            run(Kind::Lowest, 3, &xs),
            [None, None, Some(3), Some(3), Some(1), Some(1), Some(1), Some(1)]
        );
        // Against a plain scan over a longer series with many ties.
        let xs: Vec<i128> = (0..500).map(|k| ((k * 7919) % 13) as i128).collect();
        for period in [1, 2, 5, 13, 40] {
            let got = run(Kind::Highest, period, &xs);
            let low = run(Kind::Lowest, period, &xs);
            for k in 0..xs.len() {
                let p = period as usize;
                let window = (k + 1 >= p).then(|| &xs[k + 1 - p..=k]);
                assert_eq!(got[k], window.map(|w| *w.iter().max().unwrap()));
                assert_eq!(low[k], window.map(|w| *w.iter().min().unwrap()));
            }
        }
    }

    #[test]
    fn rsi_of_flat_bars_is_fifty_and_starts_at_the_nth_change() {
        let flat = run(Kind::Rsi, 3, &[100 * SCALE; 6]);
        assert_eq!(flat[..3], [None, None, None]);
        assert!(flat[3..].iter().all(|v| *v == Some(50_000_000)));
        // Only rises: 100; only falls: 0.
        let up: Vec<i128> = (1..=4).map(|k| k * SCALE).collect();
        assert_eq!(
            run(Kind::Rsi, 2, &up),
            [None, None, Some(100_000_000), Some(100_000_000)]
        );
        let down: Vec<i128> = (1..=4).rev().map(|k| k * SCALE).collect();
        assert_eq!(run(Kind::Rsi, 2, &down)[2..], [Some(0), Some(0)]);
        // Changes +2, -1 (period 2): au = 1e6, ad = 5e5 -> floor(1e8 * 1e6 / 1.5e6).
        let xs = [10 * SCALE, 12 * SCALE, 11 * SCALE];
        assert_eq!(run(Kind::Rsi, 2, &xs)[2], Some(66_666_666));
        // Then -3: au = floor((1e6 * 1 + 0) / 2) = 5e5, ad = floor((5e5 + 3e6) / 2) = 1.75e6.
        let xs = [10 * SCALE, 12 * SCALE, 11 * SCALE, 8 * SCALE];
        assert_eq!(run(Kind::Rsi, 2, &xs)[3], Some(22_222_222));
    }

    #[test]
    fn extreme_bars_do_not_overflow() {
        let max = i128::from(i64::MAX) * SCALE;
        assert_eq!(run(Kind::Sma, 10_000, &vec![max; 10_000])[9_999], Some(max));
        assert!(run(Kind::Ema, 2, &[max, max, SCALE, max])[3].is_some());
        let rsi = run(Kind::Rsi, 10_000, &[SCALE, max].repeat(6_000));
        assert_eq!(rsi[10_000], Some(50_000_000));
    }

    fn evaluate(condition: &Value, closes: &[i64]) -> Vec<Option<bool>> {
        let mut book = declare(json!({
            "instruments": ["ZZZ"],
            "indicators": {"two": {"kind": "sma", "field": "close", "period": 2}},
            "conditions": {"c": condition},
        }))
        .unwrap();
        let condition = book.declaration.conditions[0].1.clone();
        closes
            .iter()
            .enumerate()
            .map(|(n, &close)| {
                book.observe(n as i64 + 1, 0, "ZZZ", bar(close));
                book.tracks[0].holds(&condition, 0)
            })
            .collect()
    }

    #[test]
    fn crossings_are_unknown_on_the_first_bar_and_compare_with_the_previous_bar() {
        // close against a constant of 1.00 (ZZZ has price_precision 2: close 100).
        let over = json!({"op": "crossover", "left": "close", "right": {"value": "1.00"}});
        assert_eq!(
            evaluate(&over, &[90, 100, 101, 102, 99, 101]),
            [
                None,
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                Some(true)
            ]
        );
        let under = json!({"op": "crossunder", "left": "close", "right": {"value": "1"}});
        assert_eq!(
            evaluate(&under, &[101, 100, 99, 99, 101, 90]),
            [
                None,
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                Some(true)
            ]
        );
        // An indicator's crossing needs its previous value too: the sma of 2 is
        // defined from the 2nd bar, so a crossing is known from the 3rd.
        let sma = json!({"op": "crossover", "left": "close", "right": "two"});
        assert_eq!(
            evaluate(&sma, &[100, 90, 95, 80]),
            [None, None, Some(true), Some(false)]
        );
    }

    #[test]
    fn conditions_use_three_valued_logic() {
        let unknown = json!({"op": "above", "left": "two", "right": "close"}); // unknown on bar 1
        let yes = json!({"op": "above", "left": "close", "right": {"value": "0.5"}});
        let no = json!({"op": "below", "left": "close", "right": {"value": "0.5"}});
        let cases = [
            (json!({"op": "all", "of": [yes, unknown]}), None),
            (json!({"op": "all", "of": [no, unknown]}), Some(false)),
            (json!({"op": "all", "of": [yes, yes]}), Some(true)),
            (json!({"op": "any", "of": [yes, unknown]}), Some(true)),
            (json!({"op": "any", "of": [no, unknown]}), None),
            (json!({"op": "any", "of": [no, no]}), Some(false)),
            (json!({"op": "not", "of": unknown}), None),
            (json!({"op": "not", "of": yes}), Some(false)),
            (json!({"op": "not", "of": {"op": "not", "of": yes}}), Some(true)),
        ];
        for (condition, expected) in cases {
            assert_eq!(evaluate(&condition, &[100])[0], expected, "{condition}");
        }
    }

    #[test]
    fn a_firing_names_the_true_conditions_and_every_value() {
        let mut book = declare(json!({
            "instruments": ["ZZZ"],
            "indicators": {
                "slow": {"kind": "sma", "field": "close", "period": 3},
                "fast": {"kind": "sma", "field": "close", "period": 1},
            },
            "conditions": {
                "z_high": {"op": "above", "left": "close", "right": {"value": "1.5"}},
                "a_any": {"op": "above", "left": "fast", "right": {"value": "0"}},
                "never": {"op": "below", "left": "volume", "right": {"value": "0"}},
            },
        }))
        .unwrap();
        book.observe(4, 17, "ZZZ", bar(200));
        book.observe(5, 18, "AAA", bar(200)); // not one of the declaration's instruments
        let firings = book.take();
        assert_eq!(firings.len(), 1);
        assert_eq!(
            String::from_utf8(firings_json(&firings)).unwrap(),
            concat!(
                r#"[{"event_time":17,"fired":["a_any","z_high"],"instrument":"ZZZ","#,
                r#""seq_id":4,"values":{"fast":200000000,"slow":null}}]"#
            )
        );
        assert!(book.take().is_empty());
        let values = book.values("ZZZ").unwrap();
        assert_eq!(values, [("fast", Some(200_000_000)), ("slow", None)]);
        assert_eq!(
            book.values("AAA").unwrap_err().reason,
            "'AAA' is not one of the signals' instruments"
        );
    }

    #[test]
    fn refusals_follow_the_contract_order() {
        let ind = json!({"a": {"kind": "sma", "field": "close", "period": 3}});
        let cond = json!({"x": {"op": "above", "left": "a", "right": "close"}});
        let with = |key: &str, value: Value| {
            let mut spec = json!({"indicators": ind, "conditions": cond});
            spec[key] = value;
            refusal(spec)
        };
        let at = |path: &str, reason: &str| (path.to_string(), reason.to_string());
        assert_eq!(refusal(json!([])), at("$", "must be an object"));
        assert_eq!(
            refusal(json!({"zz": 1, "b": 2, "indicators": 3})),
            at("$.b", "unknown field")
        );
        assert_eq!(
            with("instruments", json!(["AAA", 3])),
            at("$.instruments[1]", "must be an instrument id")
        );
        assert_eq!(
            with("instruments", json!(["AAA", "AAA", "QQQ"])),
            at("$.instruments[1]", "duplicate instrument 'AAA'")
        );
        // Each name is checked whole before the next one.
        assert_eq!(
            with("indicators", json!({"a": 5, "b-": {}})),
            at("$.indicators.a", "must be an object")
        );
        assert_eq!(
            with("indicators", json!({"open": {}})),
            at("$.indicators.open", "'open' is a bar field; choose another name")
        );
        assert_eq!(
            with(
                "indicators",
                json!({"a": {"kind": "sma", "field": "close", "period": 1.0}})
            ),
            at("$.indicators.a.period", "must be an integer from 1 to 10000")
        );
        assert_eq!(
            with(
                "indicators",
                json!({"a": {"kind": "sma", "field": "close", "period": true}})
            ),
            at("$.indicators.a.period", "must be an integer from 1 to 10000")
        );
        assert_eq!(
            with("indicators", json!({"a": {"period": 0, "x": 1}})),
            at("$.indicators.a.x", "unknown field")
        );
        assert_eq!(
            with("indicators", json!({"a": {"period": 0}})),
            at("$.indicators.a.kind", "required")
        );
        let mut deep = json!({"op": "above", "left": "a", "right": "close"});
        for _ in 0..8 {
            deep = json!({"op": "not", "of": deep});
        }
        assert_eq!(
            with("conditions", json!({"x": deep})),
            at(
                "$.conditions.x.of.of.of.of.of.of.of.of",
                "conditions nest at most 8 deep"
            )
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "close", "right": "volume"}})
            ),
            at("$.conditions.x", "compares price with volume")
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": {"value": "1"}, "right": {"value": "2"}}})
            ),
            at("$.conditions.x", "compares two constants")
        );
        // Instruments in id order when not given: AAA (places 7) before ZZZ (places 8).
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "a", "right": {"value": "1.12345678"}}})
            ),
            at(
                "$.conditions.x.right",
                "1.12345678 has more than 7 decimal places for 'AAA'"
            )
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "a", "right": {"value": "-922337203686"}}})
            ),
            at("$.conditions.x.right", "-922337203686 is out of range for 'AAA'")
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "a", "right": {"value": "1".repeat(400)}}})
            ),
            at(
                "$.conditions.x.right",
                &format!("{} is out of range for 'AAA'", "1".repeat(400))
            )
        );
        assert_eq!(
            with("conditions", json!({"x": {"op": "any", "of": []}})),
            at("$.conditions.x.of", "must be an array of 1 to 16 conditions")
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "b", "right": 1}})
            ),
            at("$.conditions.x.left", "unknown indicator 'b'")
        );
        assert_eq!(
            with(
                "conditions",
                json!({"x": {"op": "above", "left": "a", "right": {"value": "1e3"}}})
            ),
            at(
                "$.conditions.x.right",
                "must be an indicator, a bar field or {\"value\": \"<decimal>\"}"
            )
        );
    }

    #[test]
    fn constants_are_exact_and_within_i64_at_their_places() {
        let c = |text: &str, places: u32| constant(text, places, "I", "$").map_err(|e| e.reason);
        assert_eq!(c("1.5", 1), Ok(15));
        assert_eq!(c("-0.25", 3), Ok(-250));
        assert_eq!(c("-0", 0), Ok(0));
        assert_eq!(c("007", 2), Ok(700));
        assert_eq!(
            c("1.50", 1),
            Err("1.50 has more than 1 decimal places for 'I'".into())
        );
        assert_eq!(c("9223372036854775807", 0), Ok(i128::from(i64::MAX)));
        assert_eq!(c("-9223372036854775808", 0), Ok(i128::from(i64::MIN)));
        assert!(c("9223372036854775808", 0).is_err());
        assert!(c("-9223372036854775809", 0).is_err());
        assert!(c("9223372036854.775808", 6).is_err());
        assert!(is_decimal("-0.5") && is_decimal("12") && !is_decimal("+1") && !is_decimal("1."));
        assert!(!is_decimal(".5") && !is_decimal("") && !is_decimal("-") && !is_decimal("1.2.3"));
        assert!(is_name("_a9") && is_name(&"a".repeat(40)) && !is_name(&"a".repeat(41)));
        assert!(!is_name("9a") && !is_name("") && !is_name("a-b") && !is_name("é"));
    }

    #[test]
    fn reset_forgets_values_and_firings_but_keeps_the_declaration() {
        let mut book = declare(json!({
            "indicators": {"one": {"kind": "sma", "field": "close", "period": 1}},
            "conditions": {"c": {"op": "above", "left": "one", "right": {"value": "0"}}},
        }))
        .unwrap();
        book.observe(1, 1, "AAA", bar(5));
        assert_eq!(book.mark(), 1);
        assert_eq!(book.since(0)[0].seq_id, 1);
        book.reset();
        assert_eq!(book.mark(), 0);
        assert_eq!(book.values("AAA").unwrap(), [("one", None)]);
        assert_eq!(book.declaration().instruments(), ["AAA", "ZZZ"]);
    }
}
