//! Checking a checkpoint before `restore` loads it.
//!
//! Python validates the snapshot against the `state` contract schema and then
//! refuses one taken with a different setup (other instruments, currencies or
//! timers), raising `InputError` and leaving the core unchanged. This is a
//! hand-written equivalent of that schema (no schema engine in the core), so
//! the accept/refuse decision is the same. When several fields are wrong, the
//! reported path follows `jsonschema.best_match`'s relevance order (shallowest
//! error, then the greatest path among siblings, then type errors), which
//! matches Python in the common cases but is not guaranteed for every mix.

use serde_json::{Map, Value};

use crate::canonical::is_integer_text;
use crate::coresetup::CoreSetup;
use crate::errors::Invalid;
use crate::validate::{is_currency, is_identifier};

const I64: i128 = i64::MAX as i128;

/// One schema error: jsonschema's `error.path` (for relevance), the path
/// reported to the user (extended to a missing or extra property), whether it
/// is preferred among same-path errors (`not error._matches_type()`), and why.
struct SchemaError {
    path: Vec<String>,
    reported: String,
    preferred: bool,
    reason: String,
}

/// `jsonschema.exceptions.relevance` of an error, as far as these schemas need it.
type Relevance<'a> = (std::cmp::Reverse<usize>, Vec<Segment<'a>>, bool);

/// A path part: an array index or an object key.
type Segment<'a> = (Option<usize>, &'a str);

/// Which keys a map accepts.
type KeyCheck = fn(&str) -> bool;

/// Collects schema errors.
struct Check {
    errors: Vec<SchemaError>,
}

fn json_path(parts: &[String]) -> String {
    let mut out = String::from("$");
    for part in parts {
        if let Some(index) = part.strip_prefix('#') {
            out.push_str(&format!("[{index}]"));
        } else if part
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push('.');
            out.push_str(part);
        } else {
            out.push_str(&format!("[{}]", Value::String(part.clone())));
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Kind {
    Int { lo: i128, hi: i128, nullable: bool },
    Bool,
    Identifier { nullable: bool },
    Enum(&'static [&'static str]),
    Sha256,
}

const SIDES: &[&str] = &["buy", "sell"];
const ORDER_TYPES: &[&str] = &["market", "limit", "stop", "stop_limit"];
const TIFS: &[&str] = &["GTC", "IOC", "FOK", "DAY"];
const STATES: &[&str] = &[
    "created",
    "submitted",
    "accepted",
    "partially_filled",
    "cancel_pending",
    "replace_pending",
    "filled",
    "cancelled",
    "rejected",
    "expired",
];
const QUARANTINE_REASONS: &[&str] = &[
    "UNKNOWN_ORDER",
    "OVERFILL",
    "FILL_AFTER_TERMINAL",
    "VALUE_OUT_OF_RANGE",
    "NOT_ACCEPTED",
];

fn int(lo: i128, hi: i128) -> Kind {
    Kind::Int {
        lo,
        hi,
        nullable: false,
    }
}

fn money() -> Kind {
    int(i128::MIN, i128::MAX)
}

impl Check {
    /// Record an error at `at` (the reported path) whose relevance path is
    /// the first `depth` parts of it.
    fn fail(&mut self, depth: usize, at: &[String], reason: impl Into<String>) {
        self.push(depth, at, false, reason);
    }

    fn push(&mut self, depth: usize, at: &[String], preferred: bool, reason: impl Into<String>) {
        self.errors.push(SchemaError {
            path: at[..depth].to_vec(),
            reported: json_path(at),
            preferred,
            reason: reason.into(),
        });
    }

    /// `jsonschema.best_match`: the max by (-depth, path, preferred), first one on ties.
    fn best(self) -> Option<SchemaError> {
        fn key(e: &SchemaError) -> Relevance<'_> {
            (std::cmp::Reverse(e.path.len()), segments(&e.path), e.preferred)
        }
        let mut best: Option<SchemaError> = None;
        for error in self.errors {
            if best.as_ref().is_none_or(|b| key(&error) > key(b)) {
                best = Some(error);
            }
        }
        best
    }

    fn scalar(&mut self, value: &Value, kind: Kind, path: &[String]) {
        let depth = path.len();
        let ok = match (kind, value) {
            (Kind::Int { nullable: true, .. }, Value::Null) => true,
            (Kind::Identifier { nullable: true }, Value::Null) => true,
            (Kind::Int { lo, hi, .. }, Value::Number(n)) if is_integer_text(n.as_str()) => {
                n.as_i128().is_some_and(|v| (lo..=hi).contains(&v))
            }
            (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Identifier { .. }, Value::String(s)) => is_identifier(s),
            (Kind::Enum(options), Value::String(s)) => options.contains(&s.as_str()),
            (Kind::Sha256, Value::String(s)) => {
                s.len() == 64
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            _ => false,
        };
        if !ok {
            // A wrong JSON type, or a keyword in a schema without "type" (the
            // enums), is what jsonschema prefers among errors at one path.
            let type_ok = match (kind, value) {
                (Kind::Int { .. }, Value::Number(n)) => is_integer_text(n.as_str()),
                (Kind::Identifier { .. } | Kind::Sha256, Value::String(_)) => true,
                (Kind::Enum(_), _) => false,
                _ => false,
            };
            self.push(depth, path, !type_ok, format!("{value} is not valid here"));
        }
    }

    /// An object with exactly `fields` (all required), each checked by `check_field`.
    fn record<'a>(
        &mut self,
        value: &'a Value,
        path: &[String],
        fields: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(obj) = value.as_object() else {
            self.push(path.len(), path, true, format!("{value} is not of type 'object'"));
            return None;
        };
        let extras: Vec<&String> = obj.keys().filter(|k| !fields.contains(&k.as_str())).collect();
        if !extras.is_empty() {
            let mut at = path.to_vec();
            if extras.len() == 1 {
                at.push(extras[0].clone());
            }
            self.fail(path.len(), &at, "Additional properties are not allowed");
        }
        for field in fields {
            if !obj.contains_key(*field) {
                let mut at = path.to_vec();
                at.push(field.to_string());
                self.fail(path.len(), &at, format!("'{field}' is a required property"));
            }
        }
        Some(obj)
    }

    fn fields(&mut self, obj: &Map<String, Value>, path: &[String], spec: &[(&str, Kind)]) {
        for (key, kind) in spec {
            if let Some(value) = obj.get(*key) {
                self.scalar(value, *kind, &child(path, key));
            }
        }
    }

    /// An object used as a map: keys checked by `key_ok`, values by `kind`.
    fn map(&mut self, value: &Value, path: &[String], key_ok: KeyCheck, kind: Kind) {
        let Some(obj) = value.as_object() else {
            self.push(path.len(), path, true, format!("{value} is not of type 'object'"));
            return;
        };
        for (key, item) in obj {
            if !key_ok(key) {
                self.fail(path.len(), path, format!("{key:?} is not a valid property name"));
            }
            self.scalar(item, kind, &child(path, key));
        }
    }
}

/// Path parts as jsonschema compares them: keys as strings, indexes as numbers.
fn segments(path: &[String]) -> Vec<Segment<'_>> {
    path.iter()
        .map(|p| match p.strip_prefix('#') {
            Some(n) => (Some(n.parse().expect("index parts are numbers")), ""),
            None => (None, p.as_str()),
        })
        .collect()
}

fn child(path: &[String], key: &str) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(key.to_string());
    out
}

fn index(path: &[String], n: usize) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(format!("#{n}"));
    out
}

const ORDER_FIELDS: [&str; 16] = [
    "order_id",
    "instrument",
    "venue",
    "side",
    "order_type",
    "time_in_force",
    "qty",
    "price",
    "stop_price",
    "status",
    "filled_qty",
    "filled_notional",
    "fees",
    "created_seq",
    "submit_day",
    "triggered",
];

fn check_business(c: &mut Check, value: &Value, path: &[String]) {
    let fields = [
        "orders",
        "positions",
        "cost_basis",
        "cash",
        "realized_pnl",
        "fees",
        "risk",
        "seen_keys",
        "quarantine",
    ];
    let Some(obj) = c.record(value, path, &fields) else {
        return;
    };
    if let Some(orders) = obj.get("orders") {
        let at = child(path, "orders");
        match orders.as_object() {
            None => c.push(at.len(), &at, true, "not of type 'object'"),
            Some(map) => {
                for (oid, order) in map {
                    if !is_identifier(oid) {
                        c.fail(at.len(), &at, format!("{oid:?} is not a valid property name"));
                    }
                    let op = child(&at, oid);
                    if let Some(o) = c.record(order, &op, &ORDER_FIELDS) {
                        let ident = Kind::Identifier { nullable: false };
                        let price = Kind::Int {
                            lo: 1,
                            hi: I64,
                            nullable: true,
                        };
                        c.fields(
                            o,
                            &op,
                            &[
                                ("order_id", ident),
                                ("instrument", ident),
                                ("venue", ident),
                                ("side", Kind::Enum(SIDES)),
                                ("order_type", Kind::Enum(ORDER_TYPES)),
                                ("time_in_force", Kind::Enum(TIFS)),
                                ("qty", int(1, I64)),
                                ("price", price),
                                ("stop_price", price),
                                ("status", Kind::Enum(STATES)),
                                ("filled_qty", int(0, I64)),
                                ("filled_notional", money()),
                                ("fees", money()),
                                ("created_seq", int(1, I64)),
                                ("submit_day", int(0, I64)),
                                ("triggered", Kind::Bool),
                            ],
                        );
                    }
                }
            }
        }
    }
    let maps: [(&str, KeyCheck, Kind); 5] = [
        ("positions", is_identifier, int(-I64, I64)),
        ("cost_basis", is_identifier, money()),
        ("cash", is_currency, money()),
        ("realized_pnl", is_currency, money()),
        ("fees", is_currency, money()),
    ];
    for (key, key_ok, kind) in maps {
        if let Some(value) = obj.get(key) {
            c.map(value, &child(path, key), key_ok, kind);
        }
    }
    if let Some(risk) = obj.get("risk") {
        let at = child(path, "risk");
        if let Some(r) = c.record(risk, &at, &["halted", "reduce_only", "no_new_orders"]) {
            c.fields(
                r,
                &at,
                &[
                    ("halted", Kind::Bool),
                    ("reduce_only", Kind::Bool),
                    ("no_new_orders", Kind::Bool),
                ],
            );
        }
    }
    if let Some(keys) = obj.get("seen_keys") {
        let at = child(path, "seen_keys");
        match keys.as_array() {
            None => c.push(at.len(), &at, true, "not of type 'array'"),
            Some(list) => {
                for (n, key) in list.iter().enumerate() {
                    let ok = key
                        .as_str()
                        .is_some_and(|s| (1..=128).contains(&s.chars().count()));
                    if !ok {
                        c.push(
                            at.len() + 1,
                            &index(&at, n),
                            !key.is_string(),
                            "not a valid idempotency key",
                        );
                    }
                }
                let distinct: std::collections::HashSet<String> = list.iter().map(Value::to_string).collect();
                if distinct.len() != list.len() {
                    c.fail(at.len(), &at, "has non-unique elements");
                }
            }
        }
    }
    if let Some(quarantine) = obj.get("quarantine") {
        let at = child(path, "quarantine");
        match quarantine.as_array() {
            None => c.push(at.len(), &at, true, "not of type 'array'"),
            Some(list) => {
                for (n, entry) in list.iter().enumerate() {
                    let ep = index(&at, n);
                    if let Some(q) = c.record(entry, &ep, &["seq_id", "order_id", "reason", "qty", "price"]) {
                        c.fields(
                            q,
                            &ep,
                            &[
                                ("seq_id", int(1, I64)),
                                ("order_id", Kind::Identifier { nullable: true }),
                                ("reason", Kind::Enum(QUARANTINE_REASONS)),
                                ("qty", int(1, I64)),
                                ("price", int(1, I64)),
                            ],
                        );
                    }
                }
            }
        }
    }
}

fn check_engine(c: &mut Check, value: &Value, path: &[String]) {
    let Some(obj) = c.record(
        value,
        path,
        &["last_seq_id", "clock", "marks", "timers", "last_hash"],
    ) else {
        return;
    };
    c.fields(
        obj,
        path,
        &[
            ("last_seq_id", int(0, I64)),
            ("clock", int(0, I64)),
            ("last_hash", Kind::Sha256),
        ],
    );
    if let Some(marks) = obj.get("marks") {
        c.map(marks, &child(path, "marks"), is_identifier, int(1, I64));
    }
    if let Some(timers) = obj.get("timers") {
        let kind = Kind::Int {
            lo: 0,
            hi: I64,
            nullable: true,
        };
        c.map(timers, &child(path, "timers"), is_identifier, kind);
    }
}

/// Refuse a snapshot that is not a valid state or was taken with another setup.
pub fn check_checkpoint(snapshot: &Value, setup: &CoreSetup) -> Result<(), Invalid> {
    let mut c = Check { errors: Vec::new() };
    if let Some(obj) = c.record(snapshot, &[], &["business", "engine"]) {
        if let Some(business) = obj.get("business") {
            check_business(&mut c, business, &["business".to_string()]);
        }
        if let Some(engine) = obj.get("engine") {
            check_engine(&mut c, engine, &["engine".to_string()]);
        }
    }
    if let Some(error) = c.best() {
        return Err(Invalid::new(
            error.reported,
            format!("checkpoint is not a valid state: {}", error.reason),
        ));
    }
    let same = |value: &Value, known: Vec<&str>| {
        let mut names: Vec<&str> = value
            .as_object()
            .expect("checked")
            .keys()
            .map(String::as_str)
            .collect();
        let mut known = known;
        names.sort_unstable();
        known.sort_unstable();
        known.dedup();
        names == known
    };
    let checks = [
        (
            "$.business.positions",
            &snapshot["business"]["positions"],
            setup.instruments.iter().map(|i| i.id.as_str()).collect(),
        ),
        (
            "$.business.cash",
            &snapshot["business"]["cash"],
            setup.currencies.iter().map(|c| c.code.as_str()).collect(),
        ),
        (
            "$.engine.timers",
            &snapshot["engine"]["timers"],
            setup.timers.iter().map(|t| t.timer_id.as_str()).collect(),
        ),
    ];
    for (path, value, known) in checks {
        if !same(value, known) {
            return Err(Invalid::new(path, "checkpoint was taken with a different setup"));
        }
    }
    // Orders are keyed by their own id (the schema cannot say so).
    for (oid, order) in snapshot["business"]["orders"].as_object().expect("checked") {
        if order["order_id"].as_str() != Some(oid.as_str()) {
            return Err(Invalid::new(
                "$.business.orders",
                format!(
                    "checkpoint is not a valid state: order {oid:?} has order_id {}",
                    order["order_id"]
                ),
            ));
        }
    }
    Ok(())
}
