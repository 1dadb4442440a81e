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

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use crate::canonical::GENESIS_HASH;
use crate::coresetup::{CoreSetup, InvariantMode, Source};
use crate::errors::{CoreError, SetupError};
use crate::fixedpoint::{self as fp, DAY_NS};
use crate::hashing::FastMap;
use crate::intents::{
    check_cancel, check_place, check_replace, describe, parse_intent, Intent, Reason, StateView,
};
use crate::invariants::{InvariantChecker, RecordView};
use crate::items::{parse_input, Event, IntentBatch, Item, Parsed, Payload, Request, RiskFlag};
use crate::lineparse::parse_line;
use crate::matching::match_event;
use crate::orders::{next_state, Order, OrderBook, Status, Trigger};
use crate::portfolio::Portfolio;
use crate::record::{Diagnostic, Fill, IntentOutcome, Origin, Record, Transition};
use crate::seen_keys::SeenKeys;
use crate::sequencer::Sequencer;
use crate::signals::{Declaration, Firing, SignalBook};

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

/// One JSON line read as Python's `json.loads` reads it.
///
/// `json.loads` also accepts the constants `NaN`, `Infinity` and `-Infinity`
/// (as floats); serde_json does not. When a line fails to parse only because
/// of them, they are read as a float literal instead, so that the item is
/// refused at the field that holds them, as the Python core refuses it.
fn read_json_line(line: &[u8]) -> Result<Value, CoreError> {
    serde_json::from_slice(line).or_else(|err| {
        python_constants(line)
            .and_then(|text| serde_json::from_slice(&text).ok())
            .ok_or_else(|| CoreError::input("$", format!("not valid JSON: {err}")))
    })
}

/// One input item given as JSON text, parsed as [`Core::step_json`] parses it:
/// a plain item straight from the bytes ([`parse_line`]), anything else
/// through `serde_json` and [`parse_input`], which name the offending field.
pub fn parse_json_item(line: &[u8]) -> Result<Parsed, CoreError> {
    match parse_line(line) {
        Some(parsed) => Ok(parsed),
        None => Ok(parse_input(&read_json_line(line)?)?),
    }
}

/// `line` with each `NaN`, `Infinity` and `-Infinity` token outside strings
/// (in a value position) replaced by a float literal; `None` if there is none.
fn python_constants(line: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [(&[u8], &[u8]); 3] = [
        (b"-Infinity", b"-1e999"),
        (b"Infinity", b"1e999"),
        (b"NaN", b"1e999"),
    ];
    let mut out = Vec::with_capacity(line.len());
    let mut in_string = false;
    let mut replaced = false;
    // The last byte outside whitespace: a value may start only after `[`, `,`, `:` or at the start.
    let mut last: Option<u8> = None;
    let mut at = 0;
    while at < line.len() {
        let b = line[at];
        if in_string {
            out.push(b);
            match b {
                b'\\' if at + 1 < line.len() => {
                    out.push(line[at + 1]);
                    at += 2;
                    continue;
                }
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        if matches!(last, None | Some(b'[' | b',' | b':')) {
            if let Some((token, float)) = TOKENS.iter().find(|(token, _)| line[at..].starts_with(token)) {
                out.extend_from_slice(float);
                at += token.len();
                last = Some(b'0');
                replaced = true;
                continue;
            }
        }
        if b == b'"' {
            in_string = true;
        }
        if !b.is_ascii_whitespace() {
            last = Some(b);
        }
        out.push(b);
        at += 1;
    }
    replaced.then_some(out)
}

/// Add the new order at position `n` to its instrument's working list, in
/// creation order: `(created_seq, order_id)`.
///
/// Orders placed by one batch share `created_seq` and are ordered by id among
/// themselves, so the order is a function of the state alone and `restore`
/// rebuilds it exactly (the intents' order within a batch is not part of the
/// state).
fn add_working(ids: &mut Vec<usize>, orders: &OrderBook, n: usize) {
    let order = orders.at(n);
    let mut at = ids.len();
    while at > 0 {
        let previous = orders.at(ids[at - 1]);
        if previous.created_seq != order.created_seq || previous.order_id < order.order_id {
            break;
        }
        at -= 1;
    }
    ids.insert(at, n);
}

/// `deltas[key] += delta`, allocating the key only the first time.
fn add_delta(deltas: &mut BTreeMap<String, i128>, key: &str, delta: i128) {
    match deltas.get_mut(key) {
        Some(total) => *total += delta,
        None => {
            deltas.insert(key.to_string(), delta);
        }
    }
}

/// The deterministic core. Build it with [`Core::new`].
#[derive(Debug, Clone)]
pub struct Core {
    pub(crate) setup: CoreSetup,
    pub(crate) sequencer: Sequencer,
    pub(crate) orders: OrderBook,
    pub(crate) portfolio: Portfolio,
    pub(crate) halted: bool,
    pub(crate) reduce_only: bool,
    pub(crate) no_new_orders: bool,
    pub(crate) seen_keys: SeenKeys,
    pub(crate) quarantine: Vec<Quarantined>,
    pub(crate) marks: BTreeMap<String, i64>,
    pub(crate) timers: BTreeMap<String, Option<i64>>,
    pub(crate) intervals: FastMap<String, i64>,
    pub(crate) clock: i64,
    pub(crate) last_hash: String,
    pub(crate) pending: VecDeque<Event>,
    /// Positions in `orders` of each instrument's non-terminal orders, in
    /// creation order (pruned lazily).
    pub(crate) working: FastMap<String, Vec<usize>>,
    pub(crate) failed: Option<String>,
    pub(crate) checker: InvariantChecker,
    pub(crate) warnings: Vec<String>,
    /// The buffer each trace line is written in before it is copied out.
    pub(crate) scratch: Vec<u8>,
    /// Stored hashes the next records are expected to have, during a replay
    /// block only (see `trace_check`); empty otherwise.
    pub(crate) hash_hints: VecDeque<Option<[u8; 64]>>,
    /// Declared signals (`docs/reference/signals.md`): derived from bars, so
    /// outside snapshots, state hashes and the trace.
    pub(crate) signals: Option<SignalBook>,
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
        let orders = OrderBook::default();
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
            seen_keys: SeenKeys::default(),
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
            scratch: Vec::with_capacity(4096),
            hash_hints: VecDeque::new(),
            signals: None,
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

    // -- signals (docs/reference/signals.md) ------------------------------------------------

    /// Take a signal declaration, refused whole (nothing changes) if it breaks a
    /// rule of the contract. Signals warm up from the next committed bar.
    ///
    /// The declaration is checked before the core's own state, as the contract
    /// lists its checks: a second declaration that is itself malformed is
    /// refused for what is wrong with it.
    pub fn declare_signals(&mut self, spec: &Value) -> Result<(), SetupError> {
        let declaration = Declaration::parse(spec, &self.setup)?;
        if self.signals.is_some() {
            return Err(SetupError {
                path: "$".to_string(),
                reason: "signals are already declared".to_string(),
            });
        }
        self.signals = Some(SignalBook::new(declaration));
        Ok(())
    }

    /// The firings since the previous call, in commit order (none without a declaration).
    pub fn take_signals(&mut self) -> Vec<Firing> {
        self.signals.as_mut().map(SignalBook::take).unwrap_or_default()
    }

    /// `instrument`'s indicator values after its latest bar, in name order
    /// (`None` while an indicator is not defined yet).
    pub fn signal_values(&self, instrument: &str) -> Result<Vec<(&str, Option<i128>)>, SetupError> {
        match &self.signals {
            Some(book) => book.values(instrument),
            None => Err(SetupError {
                path: "$".to_string(),
                reason: "no signals are declared".to_string(),
            }),
        }
    }

    /// The declared signals, if any.
    pub fn signals(&self) -> Option<&SignalBook> {
        self.signals.as_ref()
    }

    // -- public surface -------------------------------------------------------------------

    /// Commit one input item (or event group) and return every record it produced.
    pub fn step(&mut self, item: &Value) -> Result<Vec<Record>, CoreError> {
        self.step_parsed(parse_input(item)?)
    }

    /// Commit an item already parsed by [`parse_input`] or [`parse_line`].
    pub fn step_parsed(&mut self, parsed: Parsed) -> Result<Vec<Record>, CoreError> {
        if let Some(reason) = &self.failed {
            return Err(CoreError::Failed(format!(
                "the core stopped after an invariant violation: {reason}"
            )));
        }
        match parsed {
            Parsed::Item(item) => {
                self.precheck(std::slice::from_ref(&item), None)?;
                let mut records = Vec::with_capacity(2);
                self.run(item, &mut records)?;
                Ok(records)
            }
            Parsed::Group(events) => {
                for (n, event) in events.iter().enumerate() {
                    if event.seq_id.is_some() {
                        return Err(CoreError::input(
                            format!("$.events[{n}].seq_id"),
                            "events in a group are sequenced by the core; use null",
                        ));
                    }
                }
                // Commit order; errors name each event's position as given.
                let positions = self.sequencer.order_positions(&events);
                let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
                let items: Vec<Item> = positions
                    .iter()
                    .map(|&n| Item::Event(slots[n].take().expect("each position once")))
                    .collect();
                self.precheck(&items, Some(&positions))?;
                let mut records = Vec::with_capacity(items.len() + 2);
                for item in items {
                    self.run(item, &mut records)?;
                }
                Ok(records)
            }
        }
    }

    /// Commit one input item given as JSON text (one line of an input log) and
    /// return every record it produced: the fast entry point for replays and blocks.
    ///
    /// The result, error or records, is what [`Core::step`] gives for the
    /// parsed line. A plain, valid item is read straight from the bytes into
    /// its typed form ([`crate::lineparse`]); anything else (invalid JSON,
    /// escapes, floats, a refused field, ...) goes through `serde_json` and
    /// the generic checks, which name the offending field.
    pub fn step_json(&mut self, line: &[u8]) -> Result<Vec<Record>, CoreError> {
        self.step_parsed(parse_json_item(line)?)
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
        let records = self.step_parsed(Parsed::Item(parsed))?;
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

    /// One time step: due timers, the item, then every report it queued.
    fn run(&mut self, item: Item, records: &mut Vec<Record>) -> Result<(), CoreError> {
        self.fire_timers(item.time(), records)?;
        self.clock = self.clock.max(item.time());
        self.commit(item, Origin::Input, records)?;
        while let Some(event) = self.pending.pop_front() {
            self.commit(Item::Event(event), Origin::Generated, records)?;
        }
        Ok(())
    }

    /// Refuse items that would break the timeline, before anything changes.
    ///
    /// `items` are in commit order; for a group, `positions[n]` is where
    /// `items[n]` stood in the group as given, which is what paths name.
    fn precheck(&self, items: &[Item], positions: Option<&[usize]>) -> Result<(), CoreError> {
        let mut clock = self.clock;
        let last = self.sequencer.last_seq_id as i128;
        for (n, item) in items.iter().enumerate() {
            // Built only when an error needs it.
            let path = || match positions {
                Some(positions) => format!("$.events[{}]", positions[n]),
                None => "$".to_string(),
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
                            format!("{}.instrument", path()),
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
                    format!("{}.{key}", path()),
                    format!("time {time} is before the core clock {clock}"),
                ));
            }
            let due = if time > clock { self.timers_due(time) } else { 0 };
            if let Some(seq_id) = item.seq_id() {
                if seq_id as i128 <= last + due {
                    return Err(CoreError::sequence(
                        format!("{}.seq_id", path()),
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
            self.commit(Item::Event(event), Origin::Generated, records)?;
        }
    }

    // -- committing -----------------------------------------------------------------------

    /// Commit one item as one record, sealed and appended to `records`.
    fn commit(&mut self, mut item: Item, origin: Origin, records: &mut Vec<Record>) -> Result<(), CoreError> {
        let seq_id = self.sequencer.assign(item.seq_id())?;
        item.set_seq_id(seq_id);
        let mut rec = RecordBuilder::default();
        let mut replaced: Vec<String> = Vec::new();
        match &item {
            Item::Batch(batch) => self.apply_intents(batch, seq_id, &mut rec),
            Item::Event(event) => self.apply_event(event, seq_id, &mut rec, &mut replaced),
        }
        let mut record = Record::new(
            seq_id,
            origin,
            item,
            rec.transitions,
            rec.fills,
            rec.positions.into_iter().collect(),
            rec.cash.into_iter().collect(),
            rec.outcomes,
            rec.diagnostics,
            self.last_hash.clone(),
        );
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
        records.push(record);
        let record = records.last_mut().expect("just pushed");
        let hint = self.hash_hints.pop_front().flatten();
        record.seal_with(&mut self.scratch, hint.as_ref());
        self.last_hash.clone_from(&record.hash);
        Ok(())
    }

    // -- events ---------------------------------------------------------------------------

    fn apply_event(
        &mut self,
        event: &Event,
        seq_id: i64,
        rec: &mut RecordBuilder,
        replaced: &mut Vec<String>,
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
            self.seen_keys.insert(key);
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
        match self.marks.get_mut(inst_id) {
            Some(slot) => *slot = mark,
            None => {
                self.marks.insert(inst_id.to_string(), mark);
            }
        }
        if let (
            Some(book),
            Payload::Bar {
                open,
                high,
                low,
                close,
                volume,
            },
        ) = (&mut self.signals, &event.payload)
        {
            book.observe(
                seq_id,
                event.event_time,
                inst_id,
                [*close, *high, *low, *open, *volume],
            );
        }
        // One lookup each; the fields borrowed below are disjoint.
        let inst = self.setup.instrument(inst_id).expect("checked before the step");
        let venue = self
            .setup
            .venue(&inst.venue)
            .expect("instruments name declared venues");
        if !venue.simulated {
            return;
        }
        let Some(ids) = self.working.get_mut(inst_id) else {
            return;
        };
        let orders = &mut self.orders;
        ids.retain(|&n| !orders.at(n).is_terminal());
        let proposals = match_event(
            &event.payload,
            seq_id,
            event.event_time / DAY_NS,
            venue,
            inst,
            orders,
            ids,
        );
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

    /// Position of the order a report is about, if it names a known order on
    /// the same instrument and venue.
    fn report_target(orders: &OrderBook, event: &Event, order_id: &str) -> Option<usize> {
        let n = orders.position(order_id)?;
        let order = orders.at(n);
        if Some(order.instrument.as_str()) != event.instrument.as_deref() || order.venue != event.venue {
            return None;
        }
        Some(n)
    }

    fn on_report(&mut self, event: &Event, rec: &mut RecordBuilder, replaced: &mut Vec<String>) {
        let kind = event.event_type();
        let order_id = event.payload.order_id().expect("broker reports name an order");
        let Some(n) = Self::report_target(&self.orders, event, order_id) else {
            rec.diagnose(
                "UNKNOWN_ORDER_REPORT",
                Some(order_id),
                format!("{kind} for an unknown order"),
            );
            return;
        };
        let mut order = self.orders.take(n);
        self.on_known_report(event, &mut order, rec, replaced);
        self.orders.put(n, order);
    }

    fn on_known_report(
        &mut self,
        event: &Event,
        order: &mut Order,
        rec: &mut RecordBuilder,
        replaced: &mut Vec<String>,
    ) {
        let kind = event.event_type();
        if order.is_terminal() {
            rec.diagnose(
                "TERMINAL_ABSORBED",
                Some(&order.order_id),
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
                Some(&order.order_id),
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
                    Some(&order.order_id),
                    "replacement does not fit the order",
                );
                return;
            }
            order.qty = *qty;
            order.price = *price;
            order.stop_price = *stop_price;
            if !replaced.contains(&order.order_id) {
                replaced.push(order.order_id.clone());
            }
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
        let Some(n) = Self::report_target(&self.orders, event, order_id) else {
            self.quarantine_fill(seq_id, order_id, qty, price, rec, "UNKNOWN_ORDER");
            return;
        };
        let mut order = self.orders.take(n);
        self.on_known_fill(seq_id, &mut order, fill_id, qty, price, fee, rec);
        self.orders.put(n, order);
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
        if order.is_terminal() {
            let reason = if order.status == Status::Filled {
                "OVERFILL"
            } else {
                "FILL_AFTER_TERMINAL"
            };
            self.quarantine_fill(seq_id, &order.order_id, qty, price, rec, reason);
            return;
        }
        if qty > order.remaining() {
            self.quarantine_fill(seq_id, &order.order_id, qty, price, rec, "OVERFILL");
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
            self.quarantine_fill(seq_id, &order.order_id, qty, price, rec, "NOT_ACCEPTED");
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
            self.quarantine_fill(seq_id, &order.order_id, qty, price, rec, "VALUE_OUT_OF_RANGE");
            return;
        };
        if order.status == Status::Submitted {
            rec.transition(order, Status::Accepted, Trigger::ImpliedAccept);
            rec.diagnose(
                "IMPLIED_ACCEPT",
                Some(&order.order_id),
                "fill arrived before the acceptance",
            );
        }
        self.portfolio.commit(&inst.id, &inst.quote_currency, &effects);
        order.filled_qty += qty;
        order.filled_notional = filled_notional;
        order.fees = fees;
        rec.fills.push(Fill {
            order_id: order.order_id.clone(),
            fill_id: fill_id.to_string(),
            instrument: inst.id.clone(),
            side: order.side,
            qty,
            price,
            notional: value,
            fee,
            currency: inst.quote_currency.clone(),
        });
        add_delta(&mut rec.cash, &inst.quote_currency, effects.cash_delta);
        add_delta(&mut rec.positions, &inst.id, effects.position_delta as i128);
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
                rec.transition(&mut order, Status::Submitted, Trigger::Submit);
                let answer = self.simulated(&order, || Payload::OrderAccepted {
                    order_id: order.order_id.clone(),
                });
                let instrument = order.instrument.clone();
                let n = self.orders.insert(order);
                let ids = self
                    .working
                    .get_mut(&instrument)
                    .expect("check_place found the instrument");
                add_working(ids, &self.orders, n);
                Ok(answer)
            }
            Intent::Cancel { client_order_id } => {
                check_cancel(&client_order_id, &self.view())?;
                let n = self.orders.position(&client_order_id).expect("checked");
                let mut order = self.orders.take(n);
                rec.transition(&mut order, Status::CancelPending, Trigger::CancelRequest);
                let answer = self.simulated(&order, || Payload::OrderCancelled {
                    order_id: order.order_id.clone(),
                    reason: "cancel requested".to_string(),
                });
                self.orders.put(n, order);
                Ok(answer)
            }
            Intent::Replace(r) => {
                check_replace(&r, &self.view())?;
                let n = self.orders.position(&r.client_order_id).expect("checked");
                let mut order = self.orders.take(n);
                rec.transition(&mut order, Status::ReplacePending, Trigger::ReplaceRequest);
                let answer = self.simulated(&order, || Payload::OrderReplaced {
                    order_id: order.order_id.clone(),
                    qty: r.qty,
                    price: r.price,
                    stop_price: r.stop_price,
                });
                self.orders.put(n, order);
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
}
