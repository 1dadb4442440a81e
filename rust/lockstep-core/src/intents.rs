//! Strategy intents and the four validation stages.
//!
//! Strategies never mutate engine state; they hand the core intents. Each
//! intent is checked in a fixed order (schema, venue capability, risk guards,
//! order-state legality) and the first failing check becomes its reason code,
//! so the same bad intent gets the same answer from this core and Python's.

use std::collections::BTreeMap;

use crate::hashing::FastMap;

use serde_json::Value;

use crate::coresetup::{CoreSetup, OrderType, TimeInForce};
use crate::fixedpoint::{self as fp, POSITION_MAX, POSITION_MIN, PRICE_MAX, PRICE_MIN, QTY_MAX, QTY_MIN};
use crate::items::{risk_flag_from_index, RiskFlag};
use crate::orders::{Order, OrderBook, Side};
use crate::validate::{self as v, VResult};

pub const INTENT_TYPES: [&str; 5] = [
    "place_order",
    "cancel_order",
    "replace_order",
    "set_risk_flag",
    "noop",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub client_order_id: String,
    pub venue: String,
    pub instrument: String,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub qty: i64,
    pub price: Option<i64>,
    pub stop_price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaceOrder {
    pub client_order_id: String,
    pub qty: i64,
    pub price: Option<i64>,
    pub stop_price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Place(PlaceOrder),
    Cancel { client_order_id: String },
    Replace(ReplaceOrder),
    SetRiskFlag { flag: RiskFlag, value: bool },
    NoOp,
}

/// A rejected intent's reason code.
pub type Reason = &'static str;

/// What the rules read; the core lends it, tests can build one by hand.
pub struct StateView<'a> {
    pub setup: &'a CoreSetup,
    pub orders: &'a OrderBook,
    pub positions: &'a BTreeMap<String, i64>,
    pub marks: &'a BTreeMap<String, i64>,
    pub halted: bool,
    pub reduce_only: bool,
    pub no_new_orders: bool,
    /// Positions in `orders` of non-terminal orders per instrument, in
    /// creation order (may hold terminal ones).
    pub working: &'a FastMap<String, Vec<usize>>,
}

impl StateView<'_> {
    /// Signed remaining quantity of the instrument's non-terminal orders.
    pub fn open_signed_remaining(&self, instrument: &str, excluding: Option<&str>) -> i128 {
        let Some(ids) = self.working.get(instrument) else {
            return 0;
        };
        ids.iter()
            .map(|&n| self.orders.at(n))
            .filter(|o| !o.is_terminal() && Some(o.order_id.as_str()) != excluding)
            .map(|o| o.sign() as i128 * o.remaining() as i128)
            .sum()
    }
}

/// Best-effort (type, order id) of a raw intent, for its outcome record.
pub fn describe(raw: &Value) -> (String, Option<String>) {
    let kind = raw
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("invalid")
        .to_string();
    let order_id = raw
        .get("client_order_id")
        .and_then(Value::as_str)
        .filter(|id| v::is_identifier(id))
        .map(str::to_string);
    (kind, order_id)
}

/// Stage 1: the intent's own shape; any failure is `SCHEMA_INVALID`.
///
/// Since every failure gets the same reason code, the members are read in
/// one pass over the object into slots and then checked, instead of being
/// looked up one by one the way `validate`'s readers do for paths.
pub fn parse_intent(raw: &Value) -> Result<Intent, Reason> {
    read_intent(raw).ok_or("SCHEMA_INVALID")
}

/// The members an intent may have, by name.
#[derive(Default)]
struct Members<'a> {
    kind: Option<&'a Value>,
    client_order_id: Option<&'a Value>,
    venue: Option<&'a Value>,
    instrument: Option<&'a Value>,
    side: Option<&'a Value>,
    order_type: Option<&'a Value>,
    time_in_force: Option<&'a Value>,
    qty: Option<&'a Value>,
    price: Option<&'a Value>,
    stop_price: Option<&'a Value>,
    flag: Option<&'a Value>,
    value: Option<&'a Value>,
}

fn int_in(value: Option<&Value>, lo: i64, hi: i64) -> Option<i64> {
    match v::as_int(value?) {
        Some(Ok(n)) if (lo as i128..=hi as i128).contains(&n) => Some(n as i64),
        _ => None,
    }
}

/// Present, and `null` or an integer in bounds.
fn opt_int_in(value: Option<&Value>, lo: i64, hi: i64) -> Option<Option<i64>> {
    match value? {
        Value::Null => Some(None),
        other => int_in(Some(other), lo, hi).map(Some),
    }
}

fn ident(value: Option<&Value>) -> Option<String> {
    value?
        .as_str()
        .filter(|s| v::is_identifier(s))
        .map(str::to_string)
}

fn pick(value: Option<&Value>, options: &[&str]) -> Option<usize> {
    let text = value?.as_str()?;
    options.iter().position(|o| *o == text)
}

/// The same accept/refuse decisions and values as the field-by-field reader
/// kept in the tests (`parse`), which mirrors Python's `_parse`.
fn read_intent(raw: &Value) -> Option<Intent> {
    let Value::Object(map) = raw else {
        return None;
    };
    let mut m = Members::default();
    for (key, value) in map {
        let slot = match key.as_str() {
            "type" => &mut m.kind,
            "client_order_id" => &mut m.client_order_id,
            "venue" => &mut m.venue,
            "instrument" => &mut m.instrument,
            "side" => &mut m.side,
            "order_type" => &mut m.order_type,
            "time_in_force" => &mut m.time_in_force,
            "qty" => &mut m.qty,
            "price" => &mut m.price,
            "stop_price" => &mut m.stop_price,
            "flag" => &mut m.flag,
            "value" => &mut m.value,
            _ => return None,
        };
        *slot = Some(value);
    }
    // With every required member read through `?` below, a member count equal
    // to the number required means no other member is present.
    let count = map.len();
    match m.kind?.as_str()? {
        "place_order" if count == 10 => {
            let order_type = OrderType::ALL[pick(m.order_type, &OrderType::NAMES)?];
            let price = opt_int_in(m.price, PRICE_MIN, PRICE_MAX)?;
            let stop_price = opt_int_in(m.stop_price, PRICE_MIN, PRICE_MAX)?;
            check_prices(order_type, price, stop_price).ok()?;
            Some(Intent::Place(PlaceOrder {
                client_order_id: ident(m.client_order_id)?,
                venue: ident(m.venue)?,
                instrument: ident(m.instrument)?,
                side: [Side::Buy, Side::Sell][pick(m.side, &["buy", "sell"])?],
                order_type,
                time_in_force: TimeInForce::ALL[pick(m.time_in_force, &TimeInForce::NAMES)?],
                qty: int_in(m.qty, QTY_MIN, QTY_MAX)?,
                price,
                stop_price,
            }))
        }
        "cancel_order" if count == 2 => Some(Intent::Cancel {
            client_order_id: ident(m.client_order_id)?,
        }),
        "replace_order" if count == 5 => Some(Intent::Replace(ReplaceOrder {
            client_order_id: ident(m.client_order_id)?,
            qty: int_in(m.qty, QTY_MIN, QTY_MAX)?,
            price: opt_int_in(m.price, PRICE_MIN, PRICE_MAX)?,
            stop_price: opt_int_in(m.stop_price, PRICE_MIN, PRICE_MAX)?,
        })),
        "set_risk_flag" if count == 3 => Some(Intent::SetRiskFlag {
            flag: risk_flag_from_index(pick(m.flag, &RiskFlag::NAMES)?),
            value: m.value?.as_bool()?,
        }),
        "noop" if count == 1 => Some(Intent::NoOp),
        _ => None,
    }
}

/// The field-by-field reader (Python's `_parse`, check by check); the tests
/// hold [`read_intent`] to the same decisions.
#[cfg(test)]
fn parse(raw: &Value) -> VResult<Intent> {
    let obj = v::require_object(raw, "$")?;
    let kind = INTENT_TYPES[v::choice(obj, "type", "$", &INTENT_TYPES)?];
    match kind {
        "place_order" => {
            v::exact_keys(
                obj,
                "$",
                &[
                    "type",
                    "client_order_id",
                    "venue",
                    "instrument",
                    "side",
                    "order_type",
                    "time_in_force",
                    "qty",
                    "price",
                    "stop_price",
                ],
                &[],
            )?;
            let order_type = OrderType::ALL[v::choice(obj, "order_type", "$", &OrderType::NAMES)?];
            let price = v::optional_integer64(obj, "price", "$", PRICE_MIN, PRICE_MAX)?;
            let stop_price = v::optional_integer64(obj, "stop_price", "$", PRICE_MIN, PRICE_MAX)?;
            check_prices(order_type, price, stop_price)?;
            Ok(Intent::Place(PlaceOrder {
                client_order_id: v::identifier(obj, "client_order_id", "$")?.to_string(),
                venue: v::identifier(obj, "venue", "$")?.to_string(),
                instrument: v::identifier(obj, "instrument", "$")?.to_string(),
                side: [Side::Buy, Side::Sell][v::choice(obj, "side", "$", &["buy", "sell"])?],
                order_type,
                time_in_force: TimeInForce::ALL[v::choice(obj, "time_in_force", "$", &TimeInForce::NAMES)?],
                qty: v::integer64(obj, "qty", "$", QTY_MIN, QTY_MAX)?,
                price,
                stop_price,
            }))
        }
        "cancel_order" => {
            v::exact_keys(obj, "$", &["type", "client_order_id"], &[])?;
            Ok(Intent::Cancel {
                client_order_id: v::identifier(obj, "client_order_id", "$")?.to_string(),
            })
        }
        "replace_order" => {
            v::exact_keys(
                obj,
                "$",
                &["type", "client_order_id", "qty", "price", "stop_price"],
                &[],
            )?;
            Ok(Intent::Replace(ReplaceOrder {
                client_order_id: v::identifier(obj, "client_order_id", "$")?.to_string(),
                qty: v::integer64(obj, "qty", "$", QTY_MIN, QTY_MAX)?,
                price: v::optional_integer64(obj, "price", "$", PRICE_MIN, PRICE_MAX)?,
                stop_price: v::optional_integer64(obj, "stop_price", "$", PRICE_MIN, PRICE_MAX)?,
            }))
        }
        "set_risk_flag" => {
            v::exact_keys(obj, "$", &["type", "flag", "value"], &[])?;
            Ok(Intent::SetRiskFlag {
                flag: risk_flag_from_index(v::choice(obj, "flag", "$", &RiskFlag::NAMES)?),
                value: v::boolean(obj, "value", "$")?,
            })
        }
        _ => {
            v::exact_keys(obj, "$", &["type"], &[])?;
            Ok(Intent::NoOp)
        }
    }
}

fn check_prices(order_type: OrderType, price: Option<i64>, stop: Option<i64>) -> VResult<()> {
    if price.is_some() != order_type.needs_price() {
        return v::fail("$.price", "price does not fit the order type");
    }
    if stop.is_some() != order_type.needs_stop() {
        return v::fail("$.stop_price", "stop_price does not fit the order type");
    }
    Ok(())
}

/// Stages 2-4 for a new order.
pub fn check_place(intent: &PlaceOrder, state: &StateView) -> Result<(), Reason> {
    let setup = state.setup;
    let Some(venue) = setup.venue(&intent.venue) else {
        return Err("UNKNOWN_VENUE");
    };
    let inst = match setup.instrument(&intent.instrument) {
        Some(inst) if inst.venue == intent.venue => inst,
        _ => return Err("UNKNOWN_INSTRUMENT"),
    };
    if !venue.order_types.contains(&intent.order_type) {
        return Err("ORDER_TYPE_UNSUPPORTED");
    }
    if !venue.time_in_force.contains(&intent.time_in_force) {
        return Err("TIF_UNSUPPORTED");
    }
    check_grid(
        inst.tick_size,
        inst.lot_size,
        intent.qty,
        intent.price,
        intent.stop_price,
    )?;
    if state.halted {
        return Err("HALTED");
    }
    if state.no_new_orders {
        return Err("RISK_FLAG_BLOCKED");
    }
    let signed = intent.side.sign() as i128 * intent.qty as i128;
    check_exposure(
        state,
        &intent.instrument,
        signed,
        None,
        intent.qty,
        intent.price,
        intent.stop_price,
    )?;
    if state.orders.contains_key(&intent.client_order_id) {
        return Err("DUPLICATE_ORDER_ID");
    }
    Ok(())
}

/// Cancels are always allowed while halted; only the order's state matters.
pub fn check_cancel<'a>(client_order_id: &str, state: &StateView<'a>) -> Result<&'a Order, Reason> {
    let Some(order) = state.orders.get(client_order_id) else {
        return Err("UNKNOWN_ORDER");
    };
    if !order.status.is_working() {
        return Err("ORDER_NOT_CANCELABLE");
    }
    Ok(order)
}

pub fn check_replace<'a>(intent: &ReplaceOrder, state: &StateView<'a>) -> Result<&'a Order, Reason> {
    let order = state.orders.get(&intent.client_order_id);
    if let Some(order) = order {
        let venue = state
            .setup
            .venue(&order.venue)
            .expect("orders name declared venues");
        let inst = state
            .setup
            .instrument(&order.instrument)
            .expect("orders name declared instruments");
        if !venue.supports_replace {
            return Err("REPLACE_UNSUPPORTED");
        }
        check_grid(
            inst.tick_size,
            inst.lot_size,
            intent.qty,
            intent.price,
            intent.stop_price,
        )?;
    }
    if state.halted {
        return Err("HALTED");
    }
    let Some(order) = order else {
        return Err("UNKNOWN_ORDER");
    };
    let new_remaining = (intent.qty - order.filled_qty).max(0);
    check_exposure(
        state,
        &order.instrument,
        order.sign() as i128 * new_remaining as i128,
        Some(&order.order_id),
        intent.qty,
        intent.price,
        intent.stop_price,
    )?;
    if !order.status.is_working() {
        return Err("ORDER_NOT_REPLACEABLE");
    }
    if intent.qty <= order.filled_qty
        || intent.price.is_some() != order.order_type.needs_price()
        || intent.stop_price.is_some() != order.order_type.needs_stop()
    {
        return Err("INVALID_REPLACE");
    }
    Ok(order)
}

fn check_grid(tick: i64, lot: i64, qty: i64, price: Option<i64>, stop: Option<i64>) -> Result<(), Reason> {
    let off = |p: Option<i64>| p.is_some_and(|p| p % tick != 0);
    if off(price) || off(stop) {
        return Err("PRICE_OFF_TICK");
    }
    if qty % lot != 0 {
        return Err("QTY_OFF_LOT");
    }
    Ok(())
}

/// Reduce-only, max position and max order notional, in that order.
fn check_exposure(
    state: &StateView,
    instrument: &str,
    signed_qty: i128,
    excluding: Option<&str>,
    qty: i64,
    price: Option<i64>,
    stop: Option<i64>,
) -> Result<(), Reason> {
    let setup = state.setup;
    let inst = setup.instrument(instrument).expect("checked by the caller");
    let projected = state.positions.get(instrument).copied().unwrap_or(0) as i128
        + state.open_signed_remaining(instrument, excluding);
    let after = projected + signed_qty;
    if state.reduce_only && after.abs() > projected.abs() {
        return Err("RISK_FLAG_BLOCKED");
    }
    if let Some(limit) = setup.risk.max_position.get(instrument) {
        if after.abs() > *limit as i128 {
            return Err("MAX_POSITION_EXCEEDED");
        }
    }
    if after < POSITION_MIN as i128 || after > POSITION_MAX as i128 {
        return Err("VALUE_OUT_OF_RANGE");
    }
    let reference = price.or(stop).or_else(|| state.marks.get(instrument).copied());
    let max_notional = setup.risk.max_order_notional.get(&inst.quote_currency);
    let Some(reference) = reference else {
        return match max_notional {
            Some(_) => Err("NO_REFERENCE_PRICE"),
            None => Ok(()),
        };
    };
    let value = fp::notional(reference, qty, inst.scale_shift).map_err(|_| "VALUE_OUT_OF_RANGE")?;
    if max_notional.is_some_and(|m| value > *m) {
        return Err("MAX_NOTIONAL_EXCEEDED");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Damaged variants of every intent shape: dropped, added and replaced members.
    fn variants() -> Vec<Value> {
        let base = [
            json!({"type": "place_order", "client_order_id": "o1", "venue": "SIM", "instrument": "AAA",
                   "side": "buy", "order_type": "limit", "time_in_force": "GTC", "qty": 5,
                   "price": 100, "stop_price": null}),
            json!({"type": "place_order", "client_order_id": "o2", "venue": "SIM", "instrument": "AAA",
                   "side": "sell", "order_type": "stop_limit", "time_in_force": "DAY", "qty": 1,
                   "price": 100, "stop_price": 90}),
            json!({"type": "cancel_order", "client_order_id": "o1"}),
            json!({"type": "replace_order", "client_order_id": "o1", "qty": 7, "price": null, "stop_price": 3}),
            json!({"type": "set_risk_flag", "flag": "reduce_only", "value": true}),
            json!({"type": "noop"}),
        ];
        let odd = [
            json!(null),
            json!(0),
            json!(-1),
            json!(1),
            json!(i64::MAX),
            json!(u64::MAX),
            json!("x"),
            json!("o1\n"),
            json!("a b"),
            json!(true),
            json!([]),
            json!({}),
            json!("market"),
            json!("stop"),
            json!("IOC"),
            json!("no_new_orders"),
            json!("noop"),
            json!("cancel_order"),
            json!("replace_order"),
            json!("set_risk_flag"),
            json!("place_order"),
            json!("teleport"),
        ];
        let keys = [
            "type",
            "client_order_id",
            "venue",
            "instrument",
            "side",
            "order_type",
            "time_in_force",
            "qty",
            "price",
            "stop_price",
            "flag",
            "value",
            "extra",
        ];
        let mut out = vec![json!(null), json!([]), json!("noop"), json!({})];
        for intent in base {
            out.push(intent.clone());
            for key in keys {
                let mut dropped = intent.clone();
                if dropped.as_object_mut().unwrap().remove(key).is_some() {
                    out.push(dropped);
                }
                for value in &odd {
                    let mut changed = intent.clone();
                    changed[key] = value.clone();
                    out.push(changed);
                }
            }
        }
        out
    }

    #[test]
    fn the_one_pass_reader_decides_like_the_field_by_field_one() {
        let all = variants();
        assert!(all.len() > 1000);
        let mut accepted = 0;
        for raw in &all {
            let reference = parse(raw).map_err(|_| "SCHEMA_INVALID");
            assert_eq!(parse_intent(raw), reference, "{raw}");
            accepted += usize::from(reference.is_ok());
        }
        assert!(accepted > 50, "{accepted}");
    }
}
