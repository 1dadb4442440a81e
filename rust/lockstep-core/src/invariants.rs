//! Invariant checks run after every committed record.
//!
//! The checker keeps its own shadow ledger, built only from the fills listed
//! in records, and compares it with the core's portfolio, so a bug in the
//! core's update code shows up as a disagreement instead of being checked
//! against itself. Problem texts are Python's f-strings, character for
//! character: in `warn` mode they become `INVARIANT_WARNING` diagnostics and
//! are hashed into the record.

use std::collections::BTreeMap;

use crate::coresetup::InvariantMode;
use crate::orders::{table, OrderBook, Side, Status};
use crate::record::{Diagnostic, Fill, Transition};

/// The parts of a record the checks read.
pub struct RecordView<'a> {
    pub seq_id: i64,
    pub transitions: &'a [Transition],
    pub fills: &'a [Fill],
    pub cash_deltas: &'a [(String, i128)],
    pub position_deltas: &'a [(String, i128)],
    pub diagnostics: &'a [Diagnostic],
}

#[derive(Debug, Clone)]
pub struct InvariantChecker {
    pub mode: InvariantMode,
    cash: BTreeMap<String, i128>,
    positions: BTreeMap<String, i128>,
    /// Last seen filled and remaining quantity per order, by position in the
    /// order book (`None`: not seen yet).
    filled: Vec<Option<i64>>,
    remaining: Vec<Option<i64>>,
}

/// `counters[n] = Some(value)`, growing the vector as needed.
fn record_at(counters: &mut Vec<Option<i64>>, n: usize, value: i64) {
    if counters.len() <= n {
        counters.resize(n + 1, None);
    }
    counters[n] = Some(value);
}

/// The entry for `key`, created with `default` (allocating the key) only when missing.
fn slot<'m, M: ShadowMap<V>, V>(map: &'m mut M, key: &str, default: V) -> &'m mut V {
    if !map.has(key) {
        map.add(key.to_string(), default);
    }
    map.entry_mut(key)
}

/// The shadow ledgers' map type (a trait so `slot` reads as a plain helper).
trait ShadowMap<V> {
    fn has(&self, key: &str) -> bool;
    fn add(&mut self, key: String, value: V);
    fn entry_mut(&mut self, key: &str) -> &mut V;
}

impl<V> ShadowMap<V> for BTreeMap<String, V> {
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn add(&mut self, key: String, value: V) {
        self.insert(key, value);
    }
    fn entry_mut(&mut self, key: &str) -> &mut V {
        self.get_mut(key).expect("added above")
    }
}

fn accepted_or_later(status: Status) -> bool {
    matches!(
        status,
        Status::Accepted
            | Status::PartiallyFilled
            | Status::CancelPending
            | Status::ReplacePending
            | Status::Filled
    )
}

impl InvariantChecker {
    pub fn new(
        mode: InvariantMode,
        cash: &BTreeMap<String, i128>,
        positions: &BTreeMap<String, i64>,
        orders: &OrderBook,
    ) -> Self {
        InvariantChecker {
            mode,
            cash: cash.clone(),
            positions: positions.iter().map(|(k, v)| (k.clone(), *v as i128)).collect(),
            filled: orders.iter().map(|o| Some(o.filled_qty)).collect(),
            remaining: orders.iter().map(|o| Some(o.remaining())).collect(),
        }
    }

    /// The violations found. `Err(message)` in strict mode when there are any
    /// (the text of Python's `InvariantViolation`).
    pub fn check(
        &mut self,
        record: &RecordView,
        orders: &OrderBook,
        cash: &BTreeMap<String, i128>,
        positions: &BTreeMap<String, i64>,
        replaced: &[String],
    ) -> Result<Vec<String>, String> {
        if self.mode == InvariantMode::Off {
            return Ok(Vec::new());
        }
        let mut problems: Vec<String> = Vec::new();
        let is_duplicate = record.diagnostics.iter().any(|d| d.code == "DUPLICATE");
        if is_duplicate
            && !(record.transitions.is_empty()
                && record.fills.is_empty()
                && record.cash_deltas.is_empty()
                && record.position_deltas.is_empty())
        {
            problems.push("a duplicate report changed state".to_string());
        }
        for tr in record.transitions {
            if tr.from.is_terminal() {
                problems.push(format!(
                    "order {} left terminal state {}",
                    tr.order_id,
                    tr.from.as_str()
                ));
            }
            if !table().has_row(tr.from, tr.trigger, tr.to) {
                problems.push(format!(
                    "transition {} -{}-> {} is not in the table",
                    tr.from.as_str(),
                    tr.trigger.as_str(),
                    tr.to.as_str()
                ));
            }
        }
        for fill in record.fills {
            let accepted = orders
                .get(&fill.order_id)
                .is_some_and(|o| accepted_or_later(o.status));
            if !accepted {
                problems.push(format!(
                    "fill {} applied to an order that was not accepted",
                    fill.fill_id
                ));
            }
            let signed = if fill.side == Side::Buy {
                fill.qty as i128
            } else {
                -(fill.qty as i128)
            };
            let position = slot(&mut self.positions, &fill.instrument, 0);
            *position = position.wrapping_add(signed);
            let flow = if signed < 0 {
                fill.notional.wrapping_sub(fill.fee)
            } else {
                fill.notional.wrapping_add(fill.fee).wrapping_neg()
            };
            let shadow = slot(&mut self.cash, &fill.currency, 0);
            *shadow = shadow.wrapping_add(flow);
        }
        for (ccy, _) in record.cash_deltas {
            let actual = cash.get(ccy).copied().unwrap_or(0);
            let shadow = self.cash.get(ccy).copied().unwrap_or(0);
            if actual != shadow {
                problems.push(format!("cash in {ccy} is {actual}, fills account for {shadow}"));
            }
        }
        for (inst, _) in record.position_deltas {
            let actual = positions.get(inst).copied().unwrap_or(0) as i128;
            let shadow = self.positions.get(inst).copied().unwrap_or(0);
            if actual != shadow {
                problems.push(format!(
                    "position in {inst} is {actual}, fills account for {shadow}"
                ));
            }
        }
        // Sorted and distinct, as a set would give them (problem texts list in this order).
        let mut touched: Vec<&str> = record
            .transitions
            .iter()
            .map(|t| t.order_id.as_str())
            .chain(record.fills.iter().map(|f| f.order_id.as_str()))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for oid in touched {
            let Some(n) = orders.position(oid) else {
                continue;
            };
            let order = orders.at(n);
            let before_filled = self.filled.get(n).copied().flatten().unwrap_or(0);
            let before_remaining = self
                .remaining
                .get(n)
                .copied()
                .flatten()
                .unwrap_or(order.remaining());
            if order.filled_qty < before_filled {
                problems.push(format!("filled quantity of {oid} decreased"));
            }
            if order.filled_qty > order.qty {
                problems.push(format!("order {oid} is filled beyond its quantity"));
            }
            if order.remaining() > before_remaining && !replaced.iter().any(|r| r == oid) {
                problems.push(format!("remaining quantity of {oid} increased"));
            }
            record_at(&mut self.filled, n, order.filled_qty);
            record_at(&mut self.remaining, n, order.remaining());
        }
        for oid in replaced {
            let n = orders.position(oid).expect("replaced orders are known");
            record_at(&mut self.remaining, n, orders.at(n).remaining());
        }
        if !problems.is_empty() && self.mode == InvariantMode::Strict {
            return Err(format!("seq_id {}: {}", record.seq_id, problems.join("; ")));
        }
        Ok(problems)
    }
}
