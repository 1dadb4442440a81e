//! Orders and the table-driven order state machine.
//!
//! The legal transitions are not written here: they come from the
//! `order_transitions.json` contract in `contracts/`, embedded at compile time,
//! so the Python core, this core and the docs follow one table. The states and
//! triggers are enums only so that the code naming specific states (`accepted`,
//! `submitted`, ...) is checked by the compiler; which transitions exist is the
//! table's business alone.

use std::collections::HashMap;
use std::ops::Index;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::canonical::{write_str, ObjectWriter};
use crate::coresetup::{OrderType, TimeInForce};
use crate::hashing::FastMap;

/// The contract, one source of truth shared with the Python core.
pub const TRANSITIONS_JSON: &str =
    include_str!("../../../contracts/src/lockstep/contracts/data/order_transitions.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Created,
    Submitted,
    Accepted,
    PartiallyFilled,
    CancelPending,
    ReplacePending,
    Filled,
    Cancelled,
    Rejected,
    Expired,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Created,
        Status::Submitted,
        Status::Accepted,
        Status::PartiallyFilled,
        Status::CancelPending,
        Status::ReplacePending,
        Status::Filled,
        Status::Cancelled,
        Status::Rejected,
        Status::Expired,
    ];
    pub const NAMES: [&'static str; 10] = [
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

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Status> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }

    /// Absorbing states, as the table declares them.
    pub fn is_terminal(self) -> bool {
        table().terminal[self as usize]
    }

    /// States in which an order rests at a simulated venue and can be matched.
    pub fn is_working(self) -> bool {
        matches!(self, Status::Accepted | Status::PartiallyFilled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    Submit,
    Accept,
    ImpliedAccept,
    Reject,
    Fill,
    FillComplete,
    CancelRequest,
    Cancel,
    CancelReject,
    Expire,
    ReplaceRequest,
    Replace,
    ReplaceReject,
}

impl Trigger {
    pub const ALL: [Trigger; 13] = [
        Trigger::Submit,
        Trigger::Accept,
        Trigger::ImpliedAccept,
        Trigger::Reject,
        Trigger::Fill,
        Trigger::FillComplete,
        Trigger::CancelRequest,
        Trigger::Cancel,
        Trigger::CancelReject,
        Trigger::Expire,
        Trigger::ReplaceRequest,
        Trigger::Replace,
        Trigger::ReplaceReject,
    ];
    pub const NAMES: [&'static str; 13] = [
        "submit",
        "accept",
        "implied_accept",
        "reject",
        "fill",
        "fill_complete",
        "cancel_request",
        "cancel",
        "cancel_reject",
        "expire",
        "replace_request",
        "replace",
        "replace_reject",
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Trigger> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
    }
}

/// A row's guard on the order's filled quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Unfilled,
    PartiallyFilled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub from: Status,
    pub trigger: Trigger,
    pub to: Status,
    pub guard: Option<Guard>,
}

impl Row {
    fn applies(&self, filled: bool) -> bool {
        match self.guard {
            None => true,
            Some(Guard::Unfilled) => !filled,
            Some(Guard::PartiallyFilled) => filled,
        }
    }
}

/// The order state machine as data.
#[derive(Debug)]
pub struct TransitionTable {
    pub rows: Vec<Row>,
    terminal: [bool; 10],
    /// `targets[from][trigger][filled]`: the row lookups of every step, as an array.
    targets: [[[Option<Status>; 2]; 13]; 10],
    /// `rows_to[from][trigger]`: bit `to` is set when `(from, trigger, to)` is a row.
    rows_to: [[u16; 13]; 10],
}

impl TransitionTable {
    /// Parse and check a table; the same consistency rules as `lockstep.contracts.transitions`.
    pub fn from_json(text: &str) -> Result<TransitionTable, String> {
        let data: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let names = |key: &str| -> Result<Vec<String>, String> {
            data[key]
                .as_array()
                .ok_or(format!("{key} must be an array"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or(format!("{key} lists a non-string"))
                })
                .collect()
        };
        let states = names("states")?;
        let triggers = names("triggers")?;
        let state = |name: &str| -> Result<Status, String> {
            if !states.iter().any(|s| s == name) {
                return Err(format!("state {name:?} is not declared"));
            }
            Status::parse(name).ok_or(format!("state {name:?} is unknown to this core"))
        };
        let mut terminal = [false; 10];
        for name in names("terminal_states")? {
            terminal[state(&name)? as usize] = true;
        }
        let guards = data["guards"].as_object().ok_or("guards must be an object")?;
        for guard in guards.keys() {
            if guard != "unfilled" && guard != "partially_filled" {
                return Err(format!("guard {guard:?} is not supported"));
            }
        }
        let mut rows = Vec::new();
        let mut index: HashMap<(Status, Trigger), Vec<Row>> = HashMap::new();
        for (i, row) in data["transitions"]
            .as_array()
            .ok_or("transitions must be an array")?
            .iter()
            .enumerate()
        {
            let text = |key: &str| {
                row[key]
                    .as_str()
                    .ok_or(format!("transitions[{i}].{key} is missing"))
            };
            let trigger_name = text("trigger")?;
            if !triggers.iter().any(|t| t == trigger_name) {
                return Err(format!(
                    "transitions[{i}].trigger: {trigger_name:?} is not declared"
                ));
            }
            let trigger = Trigger::parse(trigger_name)
                .ok_or(format!("trigger {trigger_name:?} is unknown to this core"))?;
            let guard = match row.get("guard").and_then(Value::as_str) {
                None => None,
                Some(g) if !guards.contains_key(g) => {
                    return Err(format!("transitions[{i}].guard: {g:?} is not declared"))
                }
                Some("unfilled") => Some(Guard::Unfilled),
                Some(_) => Some(Guard::PartiallyFilled),
            };
            let parsed = Row {
                from: state(text("from")?)?,
                trigger,
                to: state(text("to")?)?,
                guard,
            };
            if terminal[parsed.from as usize] {
                return Err(format!(
                    "transitions[{i}]: terminal state {:?} has an outgoing row",
                    parsed.from.as_str()
                ));
            }
            rows.push(parsed);
            index
                .entry((parsed.from, parsed.trigger))
                .or_default()
                .push(parsed);
        }
        for ((from, trigger), group) in &index {
            let guards: Vec<Option<Guard>> = group.iter().map(|r| r.guard).collect();
            let ok = guards == [None]
                || (guards.len() == 2
                    && guards.contains(&Some(Guard::Unfilled))
                    && guards.contains(&Some(Guard::PartiallyFilled)));
            if !ok {
                return Err(format!(
                    "rows for ({:?}, {:?}) must be one unguarded row or exactly one 'unfilled' and one 'partially_filled' row",
                    from.as_str(),
                    trigger.as_str()
                ));
            }
        }
        let mut targets = [[[None; 2]; 13]; 10];
        let mut rows_to = [[0u16; 13]; 10];
        for row in &rows {
            rows_to[row.from as usize][row.trigger as usize] |= 1 << row.to as usize;
        }
        for ((from, trigger), group) in &index {
            for filled in [false, true] {
                targets[*from as usize][*trigger as usize][filled as usize] =
                    group.iter().find(|row| row.applies(filled)).map(|row| row.to);
            }
        }
        Ok(TransitionTable {
            rows,
            terminal,
            targets,
            rows_to,
        })
    }

    /// Target state for `trigger` from `state`, or `None` when the table has no row.
    pub fn lookup(&self, state: Status, trigger: Trigger, filled: bool) -> Option<Status> {
        self.targets[state as usize][trigger as usize][filled as usize]
    }

    /// Whether `(from, trigger, to)` is a row (the invariant checker's question).
    pub fn has_row(&self, from: Status, trigger: Trigger, to: Status) -> bool {
        self.rows_to[from as usize][trigger as usize] & (1 << to as usize) != 0
    }
}

/// The bundled table, parsed once.
pub fn table() -> &'static TransitionTable {
    static TABLE: OnceLock<TransitionTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        TransitionTable::from_json(TRANSITIONS_JSON)
            .unwrap_or_else(|err| panic!("order_transitions.json is inconsistent: {err}"))
    })
}

/// Target state for `trigger` from `status`, or `None` (an unexpected report or illegal request).
pub fn next_state(status: Status, trigger: Trigger, filled_qty: i64) -> Option<Status> {
    table().lookup(status, trigger, filled_qty > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    pub fn parse(name: &str) -> Option<Side> {
        match name {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }

    /// `+1` for buys, `-1` for sells.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub instrument: String,
    pub venue: String,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub qty: i64,
    pub price: Option<i64>,
    pub stop_price: Option<i64>,
    pub status: Status,
    pub filled_qty: i64,
    pub filled_notional: i128,
    pub fees: i128,
    pub created_seq: i64,
    pub submit_day: i64,
    pub triggered: bool,
}

impl Order {
    /// A placeholder that holds a slot while its order is taken out (allocates nothing).
    fn vacant() -> Order {
        Order {
            order_id: String::new(),
            instrument: String::new(),
            venue: String::new(),
            side: Side::Buy,
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Gtc,
            qty: 0,
            price: None,
            stop_price: None,
            status: Status::Created,
            filled_qty: 0,
            filled_notional: 0,
            fees: 0,
            created_seq: 0,
            submit_day: 0,
            triggered: false,
        }
    }

    pub fn remaining(&self) -> i64 {
        self.qty - self.filled_qty
    }

    pub fn sign(&self) -> i64 {
        self.side.sign()
    }

    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Canonical JSON of `Order.to_dict()`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut o = ObjectWriter::new(out);
        o.int("created_seq", self.created_seq);
        o.int("fees", self.fees);
        o.int("filled_notional", self.filled_notional);
        o.int("filled_qty", self.filled_qty);
        o.str("instrument", &self.instrument);
        o.str("order_id", &self.order_id);
        o.str("order_type", self.order_type.as_str());
        o.opt_int("price", self.price);
        o.int("qty", self.qty);
        o.str("side", self.side.as_str());
        o.str("status", self.status.as_str());
        o.opt_int("stop_price", self.stop_price);
        o.int("submit_day", self.submit_day);
        o.str("time_in_force", self.time_in_force.as_str());
        o.bool("triggered", self.triggered);
        o.str("venue", &self.venue);
        o.end();
    }
}

/// Every order the core knows, by id, stored in one vector in the order they
/// were added; the per-instrument working lists refer to them by position.
///
/// Orders are never removed (terminal ones stay part of the state), so a
/// position stays valid for the life of the book: matching and report
/// handling reach an order without hashing its id again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderBook {
    orders: Vec<Order>,
    index: FastMap<String, usize>,
    cache: WriteCache,
}

/// What writing the book for a state hash can reuse from the last time: the
/// canonical JSON entries (`"id":{...}`) of terminal orders (a terminal order does not change again,
/// and every checkpoint's state hash writes every order the core ever saw),
/// and the positions of the orders sorted by id (orders are never removed and
/// ids never change, so only orders added since need sorting in). Any mutable
/// access to an order drops its bytes, so an entry can never be stale. A
/// cache, not state: it takes no part in comparisons.
#[derive(Debug, Default)]
struct WriteCache(Mutex<CachedWrite>);

#[derive(Debug, Default, Clone)]
struct CachedWrite {
    terminal: Vec<Option<Box<[u8]>>>,
    sorted: Vec<usize>,
}

impl Clone for WriteCache {
    fn clone(&self) -> Self {
        WriteCache(Mutex::new(self.lock().clone()))
    }
}

impl PartialEq for WriteCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for WriteCache {}

impl WriteCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedWrite> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&mut self, n: usize) {
        let cached = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = cached.terminal.get_mut(n) {
            *slot = None;
        }
    }
}

impl CachedWrite {
    /// Bring the id-sorted positions up to `orders`: sort the new ones and
    /// merge them in (usually they all sort after the old ones: append).
    fn sort_in(&mut self, orders: &[Order]) {
        let known = self.sorted.len();
        if known == orders.len() {
            return;
        }
        let by_id = |a: &usize, b: &usize| orders[*a].order_id.cmp(&orders[*b].order_id);
        let mut added: Vec<usize> = (known..orders.len()).collect();
        added.sort_unstable_by(by_id);
        let appends = self
            .sorted
            .last()
            .is_none_or(|last| by_id(last, &added[0]).is_lt());
        if appends {
            self.sorted.extend(added);
            return;
        }
        let mut merged = Vec::with_capacity(orders.len());
        let (mut old, mut new) = (self.sorted.iter().peekable(), added.iter().peekable());
        while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
            if by_id(a, b).is_lt() {
                merged.push(*old.next().expect("peeked"));
            } else {
                merged.push(*new.next().expect("peeked"));
            }
        }
        merged.extend(old);
        merged.extend(new);
        self.sorted = merged;
    }
}

impl OrderBook {
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Position of the order `id`.
    #[inline]
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    #[inline]
    pub fn get(&self, id: &str) -> Option<&Order> {
        self.position(id).map(|n| &self.orders[n])
    }

    #[inline]
    pub fn contains_key(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    #[inline]
    pub fn at(&self, n: usize) -> &Order {
        &self.orders[n]
    }

    #[inline]
    pub fn at_mut(&mut self, n: usize) -> &mut Order {
        self.cache.forget(n);
        &mut self.orders[n]
    }

    /// Append `{"id":{order},...}` for every order, sorted by id, calling
    /// `flush` between orders once `out` holds a good deal (see
    /// [`WriteCache`] for what is reused from the last call).
    pub fn write_sorted(&self, out: &mut Vec<u8>, flush_at: usize, flush: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut cached = self.cache.lock();
        let cached = &mut *cached;
        cached.sort_in(&self.orders);
        cached.terminal.resize(self.orders.len(), None);
        out.push(b'{');
        for (k, &n) in cached.sorted.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let order = &self.orders[n];
            if let Some(entry) = &cached.terminal[n] {
                out.extend_from_slice(entry);
            } else {
                let start = out.len();
                write_str(out, &order.order_id);
                out.push(b':');
                order.write_canonical(out);
                if order.is_terminal() {
                    cached.terminal[n] = Some(out[start..].into());
                }
            }
            if out.len() >= flush_at {
                flush(out);
            }
        }
        out.push(b'}');
    }

    /// Add a new order (its id must be new); returns its position.
    pub fn insert(&mut self, order: Order) -> usize {
        let n = self.orders.len();
        let previous = self.index.insert(order.order_id.clone(), n);
        assert!(
            previous.is_none(),
            "order {} is already in the book",
            order.order_id
        );
        self.orders.push(order);
        n
    }

    /// Take the order at `n` out for a while (the caller puts it back with
    /// [`OrderBook::put`]); lets an order be changed while the rest of the
    /// core is borrowed too.
    pub fn take(&mut self, n: usize) -> Order {
        self.cache.forget(n);
        std::mem::replace(&mut self.orders[n], Order::vacant())
    }

    pub fn put(&mut self, n: usize, order: Order) {
        self.cache.forget(n);
        debug_assert!(self.orders[n].order_id.is_empty(), "slot {n} is occupied");
        self.orders[n] = order;
    }

    /// Orders in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter()
    }
}

impl Index<&str> for OrderBook {
    type Output = Order;

    fn index(&self, id: &str) -> &Order {
        self.get(id).unwrap_or_else(|| panic!("unknown order {id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_loads_and_declares_terminals() {
        let t = table();
        assert_eq!(t.rows.len(), 33);
        for s in [
            Status::Filled,
            Status::Cancelled,
            Status::Rejected,
            Status::Expired,
        ] {
            assert!(s.is_terminal());
        }
        assert!(!Status::CancelPending.is_terminal());
    }

    #[test]
    fn rows_and_guards() {
        use Status::*;
        use Trigger::*;
        assert_eq!(next_state(Created, Submit, 0), Some(Submitted));
        assert_eq!(next_state(Submitted, Accept, 0), Some(Accepted));
        assert_eq!(next_state(Accepted, Fill, 0), Some(PartiallyFilled));
        assert_eq!(next_state(PartiallyFilled, Fill, 5), Some(PartiallyFilled));
        assert_eq!(next_state(CancelPending, CancelReject, 0), Some(Accepted));
        assert_eq!(next_state(CancelPending, CancelReject, 3), Some(PartiallyFilled));
        assert_eq!(next_state(ReplacePending, Replace, 0), Some(Accepted));
        assert_eq!(next_state(ReplacePending, Replace, 1), Some(PartiallyFilled));
        assert_eq!(next_state(ReplacePending, FillComplete, 1), Some(Filled));
        assert_eq!(next_state(Accepted, Accept, 0), None);
        assert_eq!(next_state(Submitted, Fill, 0), None);
        assert_eq!(next_state(Accepted, CancelReject, 0), None);
        assert_eq!(next_state(Filled, Cancel, 1), None);
        assert!(t_has(Submitted, ImpliedAccept, Accepted));
        assert!(!t_has(Accepted, ImpliedAccept, Accepted));
    }

    fn t_has(from: Status, trigger: Trigger, to: Status) -> bool {
        table().has_row(from, trigger, to)
    }

    #[test]
    fn every_contract_row_is_reachable_by_lookup() {
        let data: Value = serde_json::from_str(TRANSITIONS_JSON).unwrap();
        for row in data["transitions"].as_array().unwrap() {
            let from = Status::parse(row["from"].as_str().unwrap()).unwrap();
            let trigger = Trigger::parse(row["trigger"].as_str().unwrap()).unwrap();
            let filled = row.get("guard").and_then(Value::as_str) == Some("partially_filled");
            assert_eq!(
                table().lookup(from, trigger, filled).map(Status::as_str),
                row["to"].as_str(),
                "{row}"
            );
        }
    }

    #[test]
    fn inconsistent_tables_are_refused() {
        let mut data: Value = serde_json::from_str(TRANSITIONS_JSON).unwrap();
        data["transitions"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(
                {"from": "filled", "trigger": "cancel", "to": "cancelled"}
            ));
        assert!(TransitionTable::from_json(&data.to_string())
            .unwrap_err()
            .contains("terminal"));
        let mut data: Value = serde_json::from_str(TRANSITIONS_JSON).unwrap();
        data["transitions"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(
                {"from": "accepted", "trigger": "cancel", "to": "expired"}
            ));
        assert!(TransitionTable::from_json(&data.to_string())
            .unwrap_err()
            .contains("unguarded"));
    }
}
