//! The deterministic core: one timeline, one state, one trace.
//!
//! A port of `lockstep.core.engine`. `Core` owns the sequencer, the orders, the
//! portfolio and the simulated venues. Every input item is validated whole
//! before anything changes, then committed as one trace record whose hash
//! chains to the previous one; reports the core generates itself (simulated
//! acks and fills, timers) are committed the same way, so a replay of the
//! inputs reproduces every record. Control flow (including where an error can
//! stop a step half-way, as Python's exceptions do) follows the Python core
//! statement by statement, because any difference shows up in the hashes.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::Value;

use crate::canonical::GENESIS_HASH;
use crate::coresetup::{CoreSetup, InvariantMode, Source};
use crate::errors::{CoreError, SetupError};
use crate::fixedpoint::{self as fp, DAY_NS};
use crate::intents::{
    check_cancel, check_place, check_replace, describe, parse_intent, Intent, Reason, StateView,
};
use crate::invariants::{InvariantChecker, RecordView};
use crate::items::{parse_input, Event, IntentBatch, Item, Parsed, Payload, Request, RiskFlag};
use crate::matching::match_event;
use crate::orders::{next_state, Order, Status, Trigger};
use crate::portfolio::Portfolio;
use crate::record::{Diagnostic, Fill, IntentOutcome, Origin, Record, Transition};
use crate::sequencer::Sequencer;

/// Venue of generated timer events.
pub const GENERATED_VENUE: &str = "core";

/// A fill the core refused to apply, kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub seq_id: i64,
    /// Always set by the core; a restored checkpoint may carry `null`.
    pub order_id: Option<String>,
    pub reason: String,
    pub qty: i64,
    pub price: i64,
}

/// Collects what one committed item did, in the order it happened.
#[derive(Default)]
struct RecordBuilder {
    transitions: Vec<Transition>,
    fills: Vec<Fill>,
    cash: BTreeMap<String, i128>,
    positions: BTreeMap<String, i128>,
    outcomes: Vec<IntentOutcome>,
    diagnostics: Vec<Diagnostic>,
}

impl RecordBuilder {
    /// Move `order` to `to`; self-loops change nothing and are not listed.
    fn transition(&mut self, order: &mut Order, to: Status, trigger: Trigger) {
        if to != order.status {
            self.transitions.push(Transition {
                order_id: order.order_id.clone(),
                from: order.status,
                to,
                trigger,
            });
            order.status = to;
        }
    }

    fn diagnose(&mut self, code: &'static str, order_id: Option<&str>, detail: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            code,
            order_id: order_id.map(str::to_string),
            detail: detail.into(),
        });
    }
}

/// The deterministic core. Build it with [`Core::new`].
#[derive(Debug, Clone)]
pub struct Core {
    pub(crate) setup: CoreSetup,
    pub(crate) sequencer: Sequencer,
    pub(crate) orders: HashMap<String, Order>,
    pub(crate) portfolio: Portfolio,
    pub(crate) halted: bool,
    pub(crate) reduce_only: bool,
    pub(crate) no_new_orders: bool,
    pub(crate) seen_keys: HashSet<String>,
    pub(crate) quarantine: Vec<Quarantined>,
    pub(crate) marks: BTreeMap<String, i64>,
    pub(crate) timers: BTreeMap<String, Option<i64>>,
    pub(crate) intervals: HashMap<String, i64>,
    pub(crate) clock: i64,
    pub(crate) last_hash: String,
    pub(crate) pending: VecDeque<Event>,
    /// Non-terminal order ids per instrument in creation order (pruned lazily).
    pub(crate) working: HashMap<String, Vec<String>>,
    pub(crate) failed: Option<String>,
    pub(crate) checker: InvariantChecker,
    pub(crate) warnings: Vec<String>,
}

impl Core {
    /// Validate `setup` and build a fresh core.
    pub fn new(setup: &Value) -> Result<Core, SetupError> {
        Ok(Core::from_setup(CoreSetup::from_value(setup)?))
    }

    pub fn from_setup(setup: CoreSetup) -> Core {
        let mut portfolio = Portfolio::default();
        for c in &setup.currencies {
            let cash = setup.starting_cash.get(&c.code).copied().unwrap_or(0);
            portfolio.cash.insert(c.code.clone(), cash);
            portfolio.realized_pnl.insert(c.code.clone(), 0);
            portfolio.fees.insert(c.code.clone(), 0);
        }
        for inst in &setup.instruments {
            portfolio.positions.insert(inst.id.clone(), 0);
            portfolio.cost_basis.insert(inst.id.clone(), 0);
        }
        let orders = HashMap::new();
        let checker = InvariantChecker::new(
            setup.invariant_mode,
            &portfolio.cash,
            &portfolio.positions,
            &orders,
        );
        Core {
            sequencer: Sequencer::new(&setup.source_priority),
            orders,
            portfolio,
            halted: false,
            reduce_only: false,
            no_new_orders: false,
            seen_keys: HashSet::new(),
            quarantine: Vec::new(),
            marks: BTreeMap::new(),
            timers: setup
                .timers
                .iter()
                .map(|t| (t.timer_id.clone(), Some(t.start_ns)))
                .collect(),
            intervals: setup
                .timers
                .iter()
                .map(|t| (t.timer_id.clone(), t.interval_ns))
                .collect(),
            clock: 0,
            last_hash: GENESIS_HASH.to_string(),
            pending: VecDeque::new(),
            working: setup
                .instruments
                .iter()
                .map(|i| (i.id.clone(), Vec::new()))
                .collect(),
            failed: None,
            checker,
            warnings: Vec::new(),
            setup,
        }
    }

    pub fn setup(&self) -> &CoreSetup {
        &self.setup
    }

    pub fn last_seq_id(&self) -> i64 {
        self.sequencer.last_seq_id
    }

    pub fn clock(&self) -> i64 {
        self.clock
    }

    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// Messages of `warn`-mode invariant problems since the last call (Python
    /// emits each as a `RuntimeWarning`; bindings can do the same).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    // -- public surface -------------------------------------------------------------------

    /// Commit one input item (or event group) and return every record it produced.
    pub fn step(&mut self, item: &Value) -> Result<Vec<Record>, CoreError> {
        let items = match parse_input(item)? {
            Parsed::Item(item) => vec![item],
            Parsed::Group(events) => events.into_iter().map(Item::Event).collect(),
        };
        self.step_items(items)
    }

    /// Commit one event envelope or intent batch and return its own (input) record.
    pub fn apply(&mut self, item: &Value) -> Result<Record, CoreError> {
        let parsed = match parse_input(item)? {
            Parsed::Item(item) => item,
            Parsed::Group(_) => {
                return Err(CoreError::input(
                    "$.kind",
                    "apply() takes one item; use apply_many() or step() for groups",
                ))
            }
        };
        let records = self.step_items(vec![parsed])?;
        Ok(records
            .into_iter()
            .find(|r| r.origin == Origin::Input)
            .expect("a step commits its input item"))
    }

    /// Commit items in order; the result lists every record, generated ones included.
    pub fn apply_many<'a>(
        &mut self,
        items: impl IntoIterator<Item = &'a Value>,
    ) -> Result<Vec<Record>, CoreError> {
        let mut out = Vec::new();
        for item in items {
            out.extend(self.step(item)?);
        }
        Ok(out)
    }

    // -- time steps -----------------------------------------------------------------------

    fn step_items(&mut self, items: Vec<Item>) -> Result<Vec<Record>, CoreError> {
        if let Some(reason) = &self.failed {
            return Err(CoreError::Failed(format!(
                "the core stopped after an invariant violation: {reason}"
            )));
        }
        let items = if items.len() > 1 {
            // Checked before sorting, so the path names the position as given.
            for (n, item) in items.iter().enumerate() {
                if item.seq_id().is_some() {
                    return Err(CoreError::input(
                        format!("$.events[{n}].seq_id"),
                        "events in a group are sequenced by the core; use null",
                    ));
                }
            }
            let events = items
                .into_iter()
                .map(|i| match i {
                    Item::Event(e) => e,
                    Item::Batch(_) => unreachable!("only event groups hold several items"),
                })
                .collect();
            self.sequencer
                .order(events)
                .into_iter()
                .map(Item::Event)
                .collect()
        } else {
            items
        };
        self.precheck(&items)?;
        let mut records = Vec::with_capacity(items.len() + 2);
        for item in items {
            self.fire_timers(item.time(), &mut records)?;
            self.clock = self.clock.max(item.time());
            records.push(self.commit(item, Origin::Input)?);
            while let Some(event) = self.pending.pop_front() {
                records.push(self.commit(Item::Event(event), Origin::Generated)?);
            }
        }
        Ok(records)
    }

    /// Refuse items that would break the timeline, before anything changes.
    ///
    /// Paths name positions in the *sorted* group, as Python's do.
    fn precheck(&self, items: &[Item]) -> Result<(), CoreError> {
        let mut clock = self.clock;
        let last = self.sequencer.last_seq_id as i128;
        for (n, item) in items.iter().enumerate() {
            let path = if items.len() > 1 {
                format!("$.events[{n}]")
            } else {
                "$".to_string()
            };
            let timed = match item {
                Item::Batch(_) => true,
                Item::Event(e) => matches!(e.source, Source::MarketData | Source::Timer),
            };
            if let Item::Event(e) = item {
                if e.source == Source::MarketData {
                    let listed = self
                        .setup
                        .instrument(e.instrument.as_deref().unwrap_or(""))
                        .is_some_and(|inst| inst.venue == e.venue);
                    if !listed {
                        return Err(CoreError::input(
                            format!("{path}.instrument"),
                            format!(
                                "instrument {:?} is not listed on venue {:?} in the setup",
                                e.instrument.as_deref().unwrap_or("None"),
                                e.venue
                            ),
                        ));
                    }
                }
            }
            let time = item.time();
            if timed && time < clock {
                let key = if matches!(item, Item::Batch(_)) {
                    "ts"
                } else {
                    "event_time"
                };
                return Err(CoreError::sequence(
                    format!("{path}.{key}"),
                    format!("time {time} is before the core clock {clock}"),
                ));
            }
            let due = if time > clock { self.timers_due(time) } else { 0 };
            if let Some(seq_id) = item.seq_id() {
                if seq_id as i128 <= last + due {
                    return Err(CoreError::sequence(
                        format!("{path}.seq_id"),
                        format!("seq_id {seq_id} does not follow {}", last + due),
                    ));
                }
            }
            clock = clock.max(time);
        }
        Ok(())
    }

    /// How many timer records will be committed before time `before`.
    fn timers_due(&self, before: i64) -> i128 {
        let mut count: i128 = 0;
        for (timer_id, at) in &self.timers {
            let Some(at) = *at else { continue };
            if at >= before {
                continue;
            }
            let interval = self.intervals.get(timer_id).copied().unwrap_or(0);
            let last = before - 1; // before <= TIME_MAX, so this is min(before - 1, TIME_MAX)
            count += if interval == 0 {
                1
            } else {
                ((last - at) / interval) as i128 + 1
            };
        }
        count
    }

    fn fire_timers(&mut self, before: i64, records: &mut Vec<Record>) -> Result<(), CoreError> {
        loop {
            let next = self
                .timers
                .iter()
                .filter_map(|(id, at)| at.filter(|at| *at < before).map(|at| (at, id)))
                .min();
            let Some((at, timer_id)) = next else {
                return Ok(());
            };
            let timer_id = timer_id.clone();
            let interval = self.intervals.get(&timer_id).copied().unwrap_or(0);
            let next_at = if interval > 0 {
                at.checked_add(interval)
            } else {
                None
            };
            self.timers.insert(timer_id.clone(), next_at);
            self.clock = self.clock.max(at);
            let event = Event {
                seq_id: None,
                event_time: at,
                ingest_time: at,
                source: Source::Timer,
                venue: GENERATED_VENUE.to_string(),
                instrument: None,
                payload: Payload::Timer { timer_id },
                idempotency_key: None,
                producer_index: 0,
            };
            records.push(self.commit(Item::Event(event), Origin::Generated)?);
        }
    }

    // -- committing -----------------------------------------------------------------------

    fn commit(&mut self, mut item: Item, origin: Origin) -> Result<Record, CoreError> {
        let seq_id = self.sequencer.assign(item.seq_id())?;
        item.set_seq_id(seq_id);
        let mut rec = RecordBuilder::default();
        let mut replaced: HashSet<String> = HashSet::new();
        match &item {
            Item::Batch(batch) => self.apply_intents(batch, seq_id, &mut rec),
            Item::Event(event) => self.apply_event(event, seq_id, &mut rec, &mut replaced),
        }
        let mut record = Record {
            seq_id,
            origin,
            input: item,
            transitions: rec.transitions,
            fills: rec.fills,
            position_deltas: rec.positions.into_iter().collect(),
            cash_deltas: rec.cash.into_iter().collect(),
            intent_outcomes: rec.outcomes,
            diagnostics: rec.diagnostics,
            prev_hash: self.last_hash.clone(),
            hash: String::new(),
        };
        let view = RecordView {
            seq_id,
            transitions: &record.transitions,
            fills: &record.fills,
            cash_deltas: &record.cash_deltas,
            position_deltas: &record.position_deltas,
            diagnostics: &record.diagnostics,
        };
        let checked = self.checker.check(
            &view,
            &self.orders,
            &self.portfolio.cash,
            &self.portfolio.positions,
            &replaced,
        );
        match checked {
            Err(message) => {
                self.failed = Some(message.clone());
                return Err(CoreError::Invariant(message));
            }
            Ok(problems) if !problems.is_empty() => {
                if self.checker.mode == InvariantMode::Warn {
                    self.warnings
                        .push(format!("seq_id {seq_id}: {}", problems.join("; ")));
                }
                for problem in problems {
                    record.diagnostics.push(Diagnostic {
                        code: "INVARIANT_WARNING",
                        order_id: None,
                        detail: problem,
                    });
                }
            }
            Ok(_) => {}
        }
        record.hash = record.compute_hash();
        self.last_hash.clone_from(&record.hash);
        Ok(record)
    }

    // -- events ---------------------------------------------------------------------------

    fn apply_event(
        &mut self,
        event: &Event,
        seq_id: i64,
        rec: &mut RecordBuilder,
        replaced: &mut HashSet<String>,
    ) {
        if let Some(key) = &event.idempotency_key {
            if self.seen_keys.contains(key) {
                rec.diagnose(
                    "DUPLICATE",
                    event.payload.order_id(),
                    "idempotency_key was already applied",
                );
                return;
            }
            self.seen_keys.insert(key.clone());
        }
        match &event.payload {
            _ if event.source == Source::MarketData => self.on_market(event, seq_id),
            Payload::OrderFilled { .. } => self.on_fill(event, seq_id, rec),
            _ if event.source == Source::BrokerReport => self.on_report(event, rec, replaced),
            Payload::Halt { .. } => self.halted = true,
            Payload::Resume => self.halted = false,
            Payload::SetRiskFlag { flag, value } => self.set_flag(*flag, *value),
            _ => {}
        }
    }

    fn set_flag(&mut self, flag: RiskFlag, value: bool) {
        match flag {
            RiskFlag::ReduceOnly => self.reduce_only = value,
            RiskFlag::NoNewOrders => self.no_new_orders = value,
        }
    }

    fn on_market(&mut self, event: &Event, seq_id: i64) {
        let inst_id = event
            .instrument
            .as_deref()
            .expect("market data names an instrument");
        let mark = match event.payload {
            Payload::Bar { close, .. } => close,
            Payload::Trade { price, .. } => price,
            Payload::Quote { bid, ask, .. } => ((bid as i128 + ask as i128) / 2) as i64,
            _ => unreachable!("market data payloads are bars, trades or quotes"),
        };
        self.marks.insert(inst_id.to_string(), mark);
        let simulated = {
            let inst = self.setup.instrument(inst_id).expect("checked before the step");
            self.setup
                .venue(&inst.venue)
                .expect("instruments name declared venues")
                .simulated
        };
        if !simulated {
            return;
        }
        // Borrow the working list out of the map while matching (no copy of the ids).
        let ids = self.take_working_ids(inst_id);
        let inst = self.setup.instrument(inst_id).expect("checked before the step");
        let venue = self
            .setup
            .venue(&inst.venue)
            .expect("instruments name declared venues");
        let proposals = match_event(
            &event.payload,
            seq_id,
            event.event_time / DAY_NS,
            venue,
            inst,
            &mut self.orders,
            &ids,
        );
        if let Some(slot) = self.working.get_mut(inst_id) {
            *slot = ids;
        }
        for (n, payload) in proposals.into_iter().enumerate() {
            self.pending.push_back(Event {
                seq_id: None,
                event_time: event.event_time,
                ingest_time: event.event_time,
                source: Source::BrokerReport,
                venue: inst.venue.clone(),
                instrument: Some(inst_id.to_string()),
                payload,
                idempotency_key: None,
                producer_index: n as i64,
            });
        }
    }

    /// The order a report is about, if it names a known order on the same instrument and venue.
    fn report_target(orders: &mut HashMap<String, Order>, event: &Event, order_id: &str) -> Option<Order> {
        let order = orders.get(order_id)?;
        if Some(order.instrument.as_str()) != event.instrument.as_deref() || order.venue != event.venue {
            return None;
        }
        orders.remove(order_id)
    }

    fn on_report(&mut self, event: &Event, rec: &mut RecordBuilder, replaced: &mut HashSet<String>) {
        let kind = event.event_type();
        let order_id = event.payload.order_id().expect("broker reports name an order");
        let Some(mut order) = Self::report_target(&mut self.orders, event, order_id) else {
            rec.diagnose(
                "UNKNOWN_ORDER_REPORT",
                Some(order_id),
                format!("{kind} for an unknown order"),
            );
            return;
        };
        self.on_known_report(event, &mut order, rec, replaced);
        self.orders.insert(order.order_id.clone(), order);
    }

    fn on_known_report(
        &mut self,
        event: &Event,
        order: &mut Order,
        rec: &mut RecordBuilder,
        replaced: &mut HashSet<String>,
    ) {
        let kind = event.event_type();
        let order_id = order.order_id.clone();
        if order.is_terminal() {
            rec.diagnose(
                "TERMINAL_ABSORBED",
                Some(&order_id),
                format!("{kind} ignored: order is {}", order.status.as_str()),
            );
            return;
        }
        let trigger = match &event.payload {
            Payload::OrderAccepted { .. } => Trigger::Accept,
            Payload::OrderRejected { .. } => Trigger::Reject,
            Payload::OrderCancelled { .. } => Trigger::Cancel,
            Payload::OrderExpired { .. } => Trigger::Expire,
            Payload::OrderReplaced { .. } => Trigger::Replace,
            Payload::CancelRejected {
                request: Request::Cancel,
                ..
            } => Trigger::CancelReject,
            Payload::CancelRejected {
                request: Request::Replace,
                ..
            } => Trigger::ReplaceReject,
            _ => unreachable!("fills are handled by on_fill"),
        };
        let Some(target) = next_state(order.status, trigger, order.filled_qty) else {
            rec.diagnose(
                "UNEXPECTED_REPORT",
                Some(&order_id),
                format!("{kind} is not expected while {}", order.status.as_str()),
            );
            return;
        };
        if let Payload::OrderReplaced {
            qty,
            price,
            stop_price,
            ..
        } = &event.payload
        {
            if *qty <= order.filled_qty
                || price.is_some() != order.order_type.needs_price()
                || stop_price.is_some() != order.order_type.needs_stop()
            {
                rec.diagnose(
                    "INVALID_REPORT",
                    Some(&order_id),
                    "replacement does not fit the order",
                );
                return;
            }
            order.qty = *qty;
            order.price = *price;
            order.stop_price = *stop_price;
            replaced.insert(order_id);
        }
        rec.transition(order, target, trigger);
    }

    fn on_fill(&mut self, event: &Event, seq_id: i64, rec: &mut RecordBuilder) {
        let Payload::OrderFilled {
            order_id,
            fill_id,
            qty,
            price,
            fee,
        } = &event.payload
        else {
            unreachable!("on_fill takes fills")
        };
        let (qty, price, fee) = (*qty, *price, *fee);
        let Some(mut order) = Self::report_target(&mut self.orders, event, order_id) else {
            self.quarantine_fill(seq_id, order_id, qty, price, rec, "UNKNOWN_ORDER");
            return;
        };
        self.on_known_fill(seq_id, &mut order, fill_id, qty, price, fee, rec);
        self.orders.insert(order.order_id.clone(), order);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_known_fill(
        &mut self,
        seq_id: i64,
        order: &mut Order,
        fill_id: &str,
        qty: i64,
        price: i64,
        fee: i128,
        rec: &mut RecordBuilder,
    ) {
        let order_id = order.order_id.clone();
        if order.is_terminal() {
            let reason = if order.status == Status::Filled {
                "OVERFILL"
            } else {
                "FILL_AFTER_TERMINAL"
            };
            self.quarantine_fill(seq_id, &order_id, qty, price, rec, reason);
            return;
        }
        if qty > order.remaining() {
            self.quarantine_fill(seq_id, &order_id, qty, price, rec, "OVERFILL");
            return;
        }
        let inst = self
            .setup
            .instrument(&order.instrument)
            .expect("orders name declared instruments");
        let status = if order.status == Status::Submitted {
            Status::Accepted
        } else {
            order.status
        };
        let trigger = if qty == order.remaining() {
            Trigger::FillComplete
        } else {
            Trigger::Fill
        };
        let Some(target) = next_state(status, trigger, order.filled_qty) else {
            self.quarantine_fill(seq_id, &order_id, qty, price, rec, "NOT_ACCEPTED");
            return;
        };
        let planned = fp::notional(price, qty, inst.scale_shift).and_then(|value| {
            let effects =
                self.portfolio
                    .plan_fill(&inst.id, &inst.quote_currency, order.sign() * qty, value, fee)?;
            let filled_notional = fp::add(order.filled_notional, value)?;
            let fees = fp::add(order.fees, fee)?;
            Ok((value, effects, filled_notional, fees))
        });
        let Ok((value, effects, filled_notional, fees)) = planned else {
            self.quarantine_fill(seq_id, &order_id, qty, price, rec, "VALUE_OUT_OF_RANGE");
            return;
        };
        if order.status == Status::Submitted {
            rec.transition(order, Status::Accepted, Trigger::ImpliedAccept);
            rec.diagnose(
                "IMPLIED_ACCEPT",
                Some(&order_id),
                "fill arrived before the acceptance",
            );
        }
        self.portfolio.commit(&effects);
        order.filled_qty += qty;
        order.filled_notional = filled_notional;
        order.fees = fees;
        rec.fills.push(Fill {
            order_id: order_id.clone(),
            fill_id: fill_id.to_string(),
            instrument: inst.id.clone(),
            side: order.side,
            qty,
            price,
            notional: value,
            fee,
            currency: inst.quote_currency.clone(),
        });
        *rec.cash.entry(inst.quote_currency.clone()).or_insert(0) += effects.cash_delta;
        *rec.positions.entry(inst.id.clone()).or_insert(0) += effects.position_delta as i128;
        rec.transition(order, target, trigger);
    }

    fn quarantine_fill(
        &mut self,
        seq_id: i64,
        order_id: &str,
        qty: i64,
        price: i64,
        rec: &mut RecordBuilder,
        reason: &'static str,
    ) {
        self.quarantine.push(Quarantined {
            seq_id,
            order_id: Some(order_id.to_string()),
            reason: reason.to_string(),
            qty,
            price,
        });
        rec.diagnose("QUARANTINED_FILL", Some(order_id), reason);
    }

    // -- intents --------------------------------------------------------------------------

    fn apply_intents(&mut self, batch: &IntentBatch, seq_id: i64, rec: &mut RecordBuilder) {
        let mut producer: i64 = 0;
        for (index, raw) in batch.intents.iter().enumerate() {
            let (kind, order_id) = describe(raw);
            let result = parse_intent(raw).and_then(|intent| self.apply_intent(intent, batch, seq_id, rec));
            match result {
                Err(reason) => rec.outcomes.push(IntentOutcome {
                    index,
                    kind,
                    order_id,
                    reason_code: Some(reason),
                }),
                Ok(generated) => {
                    rec.outcomes.push(IntentOutcome {
                        index,
                        kind,
                        order_id,
                        reason_code: None,
                    });
                    if let Some((payload, venue, instrument)) = generated {
                        self.pending.push_back(Event {
                            seq_id: None,
                            event_time: batch.ts,
                            ingest_time: batch.ts,
                            source: Source::BrokerReport,
                            venue,
                            instrument: Some(instrument),
                            payload,
                            idempotency_key: None,
                            producer_index: producer,
                        });
                        producer += 1;
                    }
                }
            }
        }
    }

    fn view(&self) -> StateView<'_> {
        StateView {
            setup: &self.setup,
            orders: &self.orders,
            positions: &self.portfolio.positions,
            marks: &self.marks,
            halted: self.halted,
            reduce_only: self.reduce_only,
            no_new_orders: self.no_new_orders,
            working: &self.working,
        }
    }

    /// Apply a validated intent; returns the report a simulated venue answers
    /// with (payload, venue, instrument).
    fn apply_intent(
        &mut self,
        intent: Intent,
        batch: &IntentBatch,
        seq_id: i64,
        rec: &mut RecordBuilder,
    ) -> Result<Option<(Payload, String, String)>, Reason> {
        match intent {
            Intent::Place(p) => {
                check_place(&p, &self.view())?;
                let mut order = Order {
                    order_id: p.client_order_id,
                    instrument: p.instrument,
                    venue: p.venue,
                    side: p.side,
                    order_type: p.order_type,
                    time_in_force: p.time_in_force,
                    qty: p.qty,
                    price: p.price,
                    stop_price: p.stop_price,
                    status: Status::Created,
                    filled_qty: 0,
                    filled_notional: 0,
                    fees: 0,
                    created_seq: seq_id,
                    submit_day: batch.ts / DAY_NS,
                    triggered: false,
                };
                self.working
                    .get_mut(&order.instrument)
                    .expect("check_place found the instrument")
                    .push(order.order_id.clone());
                rec.transition(&mut order, Status::Submitted, Trigger::Submit);
                let answer = self.simulated(&order, || Payload::OrderAccepted {
                    order_id: order.order_id.clone(),
                });
                self.orders.insert(order.order_id.clone(), order);
                Ok(answer)
            }
            Intent::Cancel { client_order_id } => {
                check_cancel(&client_order_id, &self.view())?;
                let mut order = self.orders.remove(&client_order_id).expect("checked");
                rec.transition(&mut order, Status::CancelPending, Trigger::CancelRequest);
                let answer = self.simulated(&order, || Payload::OrderCancelled {
                    order_id: order.order_id.clone(),
                    reason: "cancel requested".to_string(),
                });
                self.orders.insert(client_order_id, order);
                Ok(answer)
            }
            Intent::Replace(r) => {
                check_replace(&r, &self.view())?;
                let mut order = self.orders.remove(&r.client_order_id).expect("checked");
                rec.transition(&mut order, Status::ReplacePending, Trigger::ReplaceRequest);
                let answer = self.simulated(&order, || Payload::OrderReplaced {
                    order_id: order.order_id.clone(),
                    qty: r.qty,
                    price: r.price,
                    stop_price: r.stop_price,
                });
                self.orders.insert(r.client_order_id, order);
                Ok(answer)
            }
            Intent::SetRiskFlag { flag, value } => {
                self.set_flag(flag, value);
                Ok(None)
            }
            Intent::NoOp => Ok(None),
        }
    }

    fn simulated(
        &self,
        order: &Order,
        payload: impl FnOnce() -> Payload,
    ) -> Option<(Payload, String, String)> {
        let venue = self
            .setup
            .venue(&order.venue)
            .expect("orders name declared venues");
        venue
            .simulated
            .then(|| (payload(), order.venue.clone(), order.instrument.clone()))
    }

    // -- helpers --------------------------------------------------------------------------

    /// Non-terminal order ids of an instrument in creation order, pruned and
    /// taken out of `working` (the caller puts them back).
    fn take_working_ids(&mut self, instrument: &str) -> Vec<String> {
        let Some(ids) = self.working.get_mut(instrument) else {
            return Vec::new();
        };
        let orders = &self.orders;
        ids.retain(|oid| !orders[oid].is_terminal());
        std::mem::take(ids)
    }
}
