//! The engine configuration: currencies, venues, instruments, cash, risk, timers.
//!
//! Parsed once from a JSON value (a port of `lockstep.core.coresetup`, same
//! checks in the same order, so the same field is blamed) and never changed
//! afterwards: nothing during a run can alter the rules it started with.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::errors::SetupError;
use crate::fixedpoint::{MAX_PRECISION, MONEY_MAX, MONEY_MIN, POSITION_MAX, PRICE_MAX, QTY_MAX, TIME_MAX};
use crate::hashing::FastMap;
use crate::validate::{self as v, field, VResult};

/// Where an event comes from; also its tie-break rank via `source_priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Control,
    BrokerReport,
    MarketData,
    Timer,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::Control,
        Source::BrokerReport,
        Source::MarketData,
        Source::Timer,
    ];
    pub const NAMES: [&'static str; 4] = ["control", "broker_report", "market_data", "timer"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Source> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    Market,
    Limit,
    Stop,
    StopLimit,
}

impl OrderType {
    pub const ALL: [OrderType; 4] = [
        OrderType::Market,
        OrderType::Limit,
        OrderType::Stop,
        OrderType::StopLimit,
    ];
    pub const NAMES: [&'static str; 4] = ["market", "limit", "stop", "stop_limit"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<OrderType> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }

    /// `limit` and `stop_limit` carry a limit price (`NEEDS_PRICE`).
    pub fn needs_price(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLimit)
    }

    /// `stop` and `stop_limit` carry a stop price (`NEEDS_STOP`).
    pub fn needs_stop(self) -> bool {
        matches!(self, OrderType::Stop | OrderType::StopLimit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    Gtc,
    Ioc,
    Fok,
    Day,
}

impl TimeInForce {
    pub const ALL: [TimeInForce; 4] = [
        TimeInForce::Gtc,
        TimeInForce::Ioc,
        TimeInForce::Fok,
        TimeInForce::Day,
    ];
    pub const NAMES: [&'static str; 4] = ["GTC", "IOC", "FOK", "DAY"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<TimeInForce> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvariantMode {
    Strict,
    Warn,
    Off,
}

impl InvariantMode {
    pub const NAMES: [&'static str; 3] = ["strict", "warn", "off"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    pub code: String,
    pub money_precision: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    pub name: String,
    pub simulated: bool,
    pub order_types: Vec<OrderType>,
    pub time_in_force: Vec<TimeInForce>,
    pub supports_replace: bool,
    pub fee_ppm: i128,
    pub participation_bps: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    pub id: String,
    pub venue: String,
    pub quote_currency: String,
    pub price_precision: u32,
    pub size_precision: u32,
    pub tick_size: i64,
    pub lot_size: i64,
    /// `money_precision - price_precision - size_precision`: makes notionals exact.
    pub scale_shift: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpec {
    pub timer_id: String,
    pub start_ns: i64,
    pub interval_ns: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskLimits {
    pub max_position: BTreeMap<String, i64>,
    pub max_order_notional: BTreeMap<String, i128>,
}

/// A validated setup. Lists keep declaration order (the order Python's dicts keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSetup {
    pub currencies: Vec<Currency>,
    pub venues: Vec<Venue>,
    pub instruments: Vec<Instrument>,
    pub starting_cash: BTreeMap<String, i128>,
    pub risk: RiskLimits,
    pub source_priority: [Source; 4],
    pub invariant_mode: InvariantMode,
    pub timers: Vec<TimerSpec>,
    venue_index: FastMap<String, usize>,
    instrument_index: FastMap<String, usize>,
    currency_index: FastMap<String, usize>,
}

impl CoreSetup {
    /// Parse and validate a setup object; errors name the offending field's path.
    pub fn from_value(data: &Value) -> Result<CoreSetup, SetupError> {
        parse(data).map_err(SetupError::from)
    }

    pub fn venue(&self, name: &str) -> Option<&Venue> {
        self.venue_index.get(name).map(|&i| &self.venues[i])
    }

    pub fn instrument(&self, id: &str) -> Option<&Instrument> {
        self.instrument_index.get(id).map(|&i| &self.instruments[i])
    }

    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.currency_index.get(code).map(|&i| &self.currencies[i])
    }

    /// Rank of `source` in `source_priority` (the sequencer's second sort key).
    pub fn rank(&self, source: Source) -> usize {
        self.source_priority
            .iter()
            .position(|s| *s == source)
            .expect("source_priority lists every source")
    }

    /// The normalized setup (defaults filled in), as Python's `CoreSetup.raw`.
    pub fn to_value(&self) -> Value {
        let names = |items: Vec<&'static str>| {
            let mut items = items;
            items.sort_unstable();
            items
        };
        json!({
            "currencies": self.currencies.iter().map(|c| json!({
                "code": c.code, "money_precision": c.money_precision,
            })).collect::<Vec<_>>(),
            "venues": self.venues.iter().map(|x| json!({
                "name": x.name,
                "simulated": x.simulated,
                "order_types": names(x.order_types.iter().map(|t| t.as_str()).collect()),
                "time_in_force": names(x.time_in_force.iter().map(|t| t.as_str()).collect()),
                "supports_replace": x.supports_replace,
                "fee_ppm": int(x.fee_ppm),
                "participation_bps": x.participation_bps,
            })).collect::<Vec<_>>(),
            "instruments": self.instruments.iter().map(|i| json!({
                "id": i.id,
                "venue": i.venue,
                "quote_currency": i.quote_currency,
                "price_precision": i.price_precision,
                "size_precision": i.size_precision,
                "tick_size": i.tick_size,
                "lot_size": i.lot_size,
            })).collect::<Vec<_>>(),
            "starting_cash": self.starting_cash.iter().map(|(k, a)| (k.clone(), int(*a))).collect::<serde_json::Map<_, _>>(),
            "risk": {
                "max_position": self.risk.max_position.iter().map(|(k, a)| (k.clone(), Value::from(*a))).collect::<serde_json::Map<_, _>>(),
                "max_order_notional": self.risk.max_order_notional.iter().map(|(k, a)| (k.clone(), int(*a))).collect::<serde_json::Map<_, _>>(),
            },
            "source_priority": self.source_priority.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "invariant_mode": self.invariant_mode.as_str(),
            "timers": self.timers.iter().map(|t| json!({
                "timer_id": t.timer_id, "start_ns": t.start_ns, "interval_ns": t.interval_ns,
            })).collect::<Vec<_>>(),
        })
    }
}

/// An i128 as a JSON number (needs serde_json's `arbitrary_precision`).
pub(crate) fn int(value: i128) -> Value {
    Value::Number(serde_json::Number::from_i128(value).expect("arbitrary_precision holds any i128"))
}

fn parse(data: &Value) -> VResult<CoreSetup> {
    let obj = v::require_object(data, "$")?;
    v::exact_keys(
        obj,
        "$",
        &["currencies", "venues", "instruments"],
        &[
            "starting_cash",
            "risk",
            "source_priority",
            "invariant_mode",
            "timers",
        ],
    )?;
    let currencies = parse_currencies(&obj["currencies"])?;
    let currency_index = index(currencies.iter().map(|c| c.code.as_str()));
    let venues = parse_venues(&obj["venues"])?;
    let venue_index = index(venues.iter().map(|x| x.name.as_str()));
    let instruments = parse_instruments(&obj["instruments"], &currencies, &currency_index, &venue_index)?;
    let instrument_index = index(instruments.iter().map(|i| i.id.as_str()));
    let empty = Value::Object(Default::default());
    let starting_cash = money_map(
        obj.get("starting_cash").unwrap_or(&empty),
        "$.starting_cash",
        &currency_index,
    )?;
    let risk = parse_risk(
        obj.get("risk").unwrap_or(&empty),
        &instrument_index,
        &currency_index,
    )?;
    let source_priority = match obj.get("source_priority") {
        None => Source::ALL,
        Some(value) => parse_priority(value)?,
    };
    let invariant_mode = match obj.get("invariant_mode") {
        None => InvariantMode::Strict,
        Some(Value::String(s)) if s == "strict" => InvariantMode::Strict,
        Some(Value::String(s)) if s == "warn" => InvariantMode::Warn,
        Some(Value::String(s)) if s == "off" => InvariantMode::Off,
        Some(other) => {
            return v::fail(
                "$.invariant_mode",
                format!("expected one of {:?}, got {other}", InvariantMode::NAMES),
            )
        }
    };
    let timers = match obj.get("timers") {
        None => Vec::new(),
        Some(value) => parse_timers(value)?,
    };
    Ok(CoreSetup {
        currencies,
        venues,
        instruments,
        starting_cash,
        risk,
        source_priority,
        invariant_mode,
        timers,
        venue_index,
        instrument_index,
        currency_index,
    })
}

fn index<'a>(names: impl Iterator<Item = &'a str>) -> FastMap<String, usize> {
    names.enumerate().map(|(i, n)| (n.to_string(), i)).collect()
}

fn array<'a>(value: &'a Value, path: &str) -> VResult<&'a Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        _ => v::fail(path, "expected an array"),
    }
}

fn parse_currencies(value: &Value) -> VResult<Vec<Currency>> {
    let mut out: Vec<Currency> = Vec::new();
    for (n, item) in array(value, "$.currencies")?.iter().enumerate() {
        let path = format!("$.currencies[{n}]");
        let obj = v::require_object(item, &path)?;
        v::exact_keys(obj, &path, &["code", "money_precision"], &[])?;
        let code = match &obj["code"] {
            Value::String(s) if v::is_currency(s) => s.clone(),
            other => {
                return v::fail(
                    field(&path, "code"),
                    format!("expected a currency code like 'USD', got {other}"),
                )
            }
        };
        if out.iter().any(|c| c.code == code) {
            return v::fail(
                field(&path, "code"),
                format!("currency {code:?} is declared twice"),
            );
        }
        let money_precision = v::integer64(obj, "money_precision", &path, 0, MAX_PRECISION)? as u32;
        out.push(Currency {
            code,
            money_precision,
        });
    }
    Ok(out)
}

/// A non-empty list of distinct names drawn from `options` (Python's `_string_set`).
fn string_set<T: Copy>(obj: &v::Obj, key: &str, path: &str, names: &[&str], values: &[T]) -> VResult<Vec<T>> {
    let list_path = field(path, key);
    let items = array(&obj[key], &list_path)?;
    if items.is_empty() {
        return v::fail(list_path, "must list at least one value");
    }
    let mut out: Vec<T> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let pos = item.as_str().and_then(|s| names.iter().position(|o| *o == s));
        match pos {
            Some(i) => {
                if !seen.contains(&i) {
                    seen.push(i);
                    out.push(values[i]);
                }
            }
            None => {
                return v::fail(
                    format!("{list_path}[{n}]"),
                    format!("expected one of {names:?}, got {item}"),
                )
            }
        }
    }
    if seen.len() != items.len() {
        return v::fail(list_path, "lists a value twice");
    }
    Ok(out)
}

fn parse_venues(value: &Value) -> VResult<Vec<Venue>> {
    let mut out: Vec<Venue> = Vec::new();
    let keys = [
        "name",
        "simulated",
        "order_types",
        "time_in_force",
        "supports_replace",
        "fee_ppm",
        "participation_bps",
    ];
    for (n, item) in array(value, "$.venues")?.iter().enumerate() {
        let path = format!("$.venues[{n}]");
        let obj = v::require_object(item, &path)?;
        v::exact_keys(obj, &path, &keys, &[])?;
        let name = v::identifier(obj, "name", &path)?.to_string();
        if out.iter().any(|x| x.name == name) {
            return v::fail(field(&path, "name"), format!("venue {name:?} is declared twice"));
        }
        let simulated = v::boolean(obj, "simulated", &path)?;
        let order_types = string_set(obj, "order_types", &path, &OrderType::NAMES, &OrderType::ALL)?;
        let time_in_force = string_set(
            obj,
            "time_in_force",
            &path,
            &TimeInForce::NAMES,
            &TimeInForce::ALL,
        )?;
        let supports_replace = v::boolean(obj, "supports_replace", &path)?;
        let fee_ppm = v::integer(obj, "fee_ppm", &path, 0, 1_000_000)?;
        let participation_bps = v::optional_integer64(obj, "participation_bps", &path, 1, 10_000)?;
        out.push(Venue {
            name,
            simulated,
            order_types,
            time_in_force,
            supports_replace,
            fee_ppm,
            participation_bps,
        });
    }
    Ok(out)
}

fn parse_instruments(
    value: &Value,
    currencies: &[Currency],
    currency_index: &FastMap<String, usize>,
    venue_index: &FastMap<String, usize>,
) -> VResult<Vec<Instrument>> {
    let mut out: Vec<Instrument> = Vec::new();
    let keys = [
        "id",
        "venue",
        "quote_currency",
        "price_precision",
        "size_precision",
        "tick_size",
        "lot_size",
    ];
    for (n, item) in array(value, "$.instruments")?.iter().enumerate() {
        let path = format!("$.instruments[{n}]");
        let obj = v::require_object(item, &path)?;
        v::exact_keys(obj, &path, &keys, &[])?;
        let id = v::identifier(obj, "id", &path)?.to_string();
        if out.iter().any(|i| i.id == id) {
            return v::fail(field(&path, "id"), format!("instrument {id:?} is declared twice"));
        }
        let venue = v::identifier(obj, "venue", &path)?.to_string();
        if !venue_index.contains_key(&venue) {
            return v::fail(
                field(&path, "venue"),
                format!("venue {venue:?} is not declared in venues"),
            );
        }
        // Python raises TypeError for an unhashable quote_currency (a list or an
        // object); here every non-declared value is the same setup error.
        let ccy = obj["quote_currency"]
            .as_str()
            .filter(|c| currency_index.contains_key(*c));
        let Some(ccy) = ccy else {
            return v::fail(
                field(&path, "quote_currency"),
                format!("currency {} is not declared in currencies", obj["quote_currency"]),
            );
        };
        let pp = v::integer64(obj, "price_precision", &path, 0, MAX_PRECISION)? as u32;
        let sp = v::integer64(obj, "size_precision", &path, 0, MAX_PRECISION)? as u32;
        let mp = currencies[currency_index[ccy]].money_precision;
        if pp + sp > mp {
            return v::fail(
                path,
                format!(
                    "price_precision {pp} + size_precision {sp} exceeds money_precision {mp} of {ccy}: notionals would not be exact"
                ),
            );
        }
        let tick_size = v::integer64(obj, "tick_size", &path, 1, PRICE_MAX)?;
        let lot_size = v::integer64(obj, "lot_size", &path, 1, QTY_MAX)?;
        out.push(Instrument {
            id,
            venue,
            quote_currency: ccy.to_string(),
            price_precision: pp,
            size_precision: sp,
            tick_size,
            lot_size,
            scale_shift: mp - pp - sp,
        });
    }
    Ok(out)
}

fn money_map(
    value: &Value,
    path: &str,
    currencies: &FastMap<String, usize>,
) -> VResult<BTreeMap<String, i128>> {
    let obj = v::require_object(value, path)?;
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_unstable();
    let mut out = BTreeMap::new();
    for key in keys {
        if !currencies.contains_key(key) {
            return v::fail(
                field(path, key),
                format!("currency {key:?} is not declared in currencies"),
            );
        }
        out.insert(key.clone(), v::integer(obj, key, path, MONEY_MIN, MONEY_MAX)?);
    }
    Ok(out)
}

fn parse_risk(
    value: &Value,
    instruments: &FastMap<String, usize>,
    currencies: &FastMap<String, usize>,
) -> VResult<RiskLimits> {
    let obj = v::require_object(value, "$.risk")?;
    v::exact_keys(obj, "$.risk", &[], &["max_position", "max_order_notional"])?;
    let empty = Value::Object(Default::default());
    let positions = v::require_object(obj.get("max_position").unwrap_or(&empty), "$.risk.max_position")?;
    let mut keys: Vec<&String> = positions.keys().collect();
    keys.sort_unstable();
    let mut max_position = BTreeMap::new();
    for key in keys {
        if !instruments.contains_key(key) {
            return v::fail(
                format!("$.risk.max_position.{key}"),
                format!("instrument {key:?} is not declared"),
            );
        }
        max_position.insert(
            key.clone(),
            v::integer64(positions, key, "$.risk.max_position", 0, POSITION_MAX)?,
        );
    }
    let notionals = money_map(
        obj.get("max_order_notional").unwrap_or(&empty),
        "$.risk.max_order_notional",
        currencies,
    )?;
    for (key, amount) in &notionals {
        if *amount < 0 {
            return v::fail(format!("$.risk.max_order_notional.{key}"), "must not be negative");
        }
    }
    Ok(RiskLimits {
        max_position,
        max_order_notional: notionals,
    })
}

fn parse_priority(value: &Value) -> VResult<[Source; 4]> {
    let items = array(value, "$.source_priority")?;
    let parsed: Vec<Option<Source>> = items.iter().map(|i| i.as_str().and_then(Source::parse)).collect();
    let mut out = Source::ALL;
    let complete = parsed.len() == 4 && Source::ALL.iter().all(|s| parsed.contains(&Some(*s)));
    if !complete {
        return v::fail(
            "$.source_priority",
            format!("must list each of {:?} exactly once", Source::NAMES),
        );
    }
    for (slot, source) in out.iter_mut().zip(parsed) {
        *slot = source.expect("checked above");
    }
    Ok(out)
}

fn parse_timers(value: &Value) -> VResult<Vec<TimerSpec>> {
    let mut out: Vec<TimerSpec> = Vec::new();
    for (n, item) in array(value, "$.timers")?.iter().enumerate() {
        let path = format!("$.timers[{n}]");
        let obj = v::require_object(item, &path)?;
        v::exact_keys(obj, &path, &["timer_id", "start_ns", "interval_ns"], &[])?;
        let timer_id = v::identifier(obj, "timer_id", &path)?.to_string();
        if out.iter().any(|t| t.timer_id == timer_id) {
            return v::fail(
                field(&path, "timer_id"),
                format!("timer {timer_id:?} is declared twice"),
            );
        }
        let start_ns = v::integer64(obj, "start_ns", &path, 0, TIME_MAX)?;
        let interval_ns = v::integer64(obj, "interval_ns", &path, 0, TIME_MAX)?;
        out.push(TimerSpec {
            timer_id,
            start_ns,
            interval_ns,
        });
    }
    Ok(out)
}
