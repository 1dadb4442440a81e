//! Block entry points: many input items in, canonical trace lines out, in one call.
//!
//! This is the shape the Python bindings use (ADR 0002, engine boundary): the
//! caller hands over a whole block of input items as JSON lines (or market
//! bars as packed columns, see [`crate::bars`]) and gets back
//! the canonical record lines, how many records each input produced, and the
//! state hashes it asked for. Nothing here calls back into the caller while
//! the block runs, so a binding can release the interpreter for the whole call.
//!
//! A block stops early in two cases: an item is refused (the error and the
//! item's index come back; the items before it stay committed, exactly as a
//! loop of `Core::step` calls would leave them), or a [`WakeFilter`] matches a
//! record of the item just committed (the strategy must run before the next
//! item). The caller resumes with the rest of the block.

use std::collections::VecDeque;

use crate::background_hash::BackgroundHasher;
use crate::coresetup::Source;
use crate::engine::parse_json_item;
use crate::errors::CoreError;
use crate::items::{Item, Parsed, Payload};
use crate::record::Record;
use crate::signals::{Firing, SignalBook};
use crate::trace_check::{Progress, TraceChecker};
use crate::Core;

/// What wakes a strategy: the same rule as the runtime's `Subscriptions`
/// plus reports about orders.
///
/// `instruments: None` means every instrument; `timers: None` every timer.
/// `order_reports` wakes on any fill or order transition and on a rejected
/// intent of `strategy_id`'s batches (in a backtest every order is the
/// strategy's own; the caller still filters by order id). With `signals`, a
/// bar wakes only when it fired one of the core's declared signals, so a
/// block runs on through quiet bars (`docs/reference/signals.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WakeFilter {
    pub event_types: Vec<String>,
    pub instruments: Option<Vec<String>>,
    pub timers: Option<Vec<String>>,
    pub fills: bool,
    pub transitions: bool,
    pub strategy_id: Option<String>,
    pub signals: bool,
}

impl WakeFilter {
    /// Whether `record` would wake the strategy; `fired` are the firings
    /// recorded while its item was committed.
    pub fn wakes(&self, record: &Record, fired: &[Firing]) -> bool {
        if self.fills && !record.fills.is_empty() {
            return true;
        }
        if self.transitions && !record.transitions.is_empty() {
            return true;
        }
        match &record.input {
            Item::Batch(batch) => {
                self.transitions
                    && self.strategy_id.as_deref() == Some(batch.strategy_id.as_str())
                    && record.intent_outcomes.iter().any(|o| o.reason_code.is_some())
            }
            Item::Event(event) => {
                if event.source == Source::BrokerReport {
                    return false;
                }
                let kind = event.event_type();
                if !self.event_types.iter().any(|t| t == kind) {
                    return false;
                }
                if let Payload::Timer { timer_id } = &event.payload {
                    return self
                        .timers
                        .as_ref()
                        .is_none_or(|ids| ids.iter().any(|t| t == timer_id));
                }
                if self.signals
                    && matches!(event.payload, Payload::Bar { .. })
                    && !fired.iter().any(|f| f.seq_id == record.seq_id)
                {
                    return false;
                }
                match (&event.instrument, &self.instruments) {
                    (Some(inst), Some(wanted)) => wanted.iter().any(|w| w == inst),
                    _ => true,
                }
            }
        }
    }
}

/// Options of one block run.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockOptions<'a> {
    /// Stop after the first item whose records wake this filter.
    pub wake: Option<&'a WakeFilter>,
    /// Ascending seq_ids after which the state hash is wanted (checkpoints):
    /// taken when an item's records end exactly at that seq_id.
    pub hash_at: &'a [i64],
    /// Compare every record with a stored trace instead of returning it (replay).
    pub expect: Option<Expected<'a>>,
}

/// A stored trace a block's records are checked against, from byte offsets on.
///
/// Replay verification hands the core the stored record lines and the stored
/// key columns of each record, so equal records never leave the core: only
/// the first record that differs, and any record beyond the end of the given
/// trace, come back as lines for the caller to explain or check later.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected<'a> {
    /// Canonical record lines (with `hash`), each followed by `\n`.
    pub lines: &'a [u8],
    /// One `seq_id origin hash prev_hash` line per record, each followed by `\n`.
    pub keys: &'a [u8],
}

impl Expected<'_> {
    /// Whether `record` is the next stored record; on a match the trace moves past it.
    fn take(&mut self, record: &Record) -> bool {
        let mut unsealed = Vec::new();
        let line = if record.line().is_empty() {
            record.write_canonical(&mut unsealed, true);
            &unsealed
        } else {
            record.line()
        };
        let Some(rest) = strip_line(self.lines, line) else {
            return false;
        };
        let Some(keys) = strip_key_line(self.keys, record) else {
            return false;
        };
        self.lines = rest;
        self.keys = keys;
        true
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Hash hints queued ahead of each item at most (an item rarely makes more records).
const HINTS: usize = 16;

/// Reads the stored hash of each upcoming record from the expected key lines
/// and keeps the core's hint queue lined up with the next record to be made.
struct HintCursor<'a> {
    /// Key lines not yet queued.
    keys: &'a [u8],
    /// Index (from the block's start) of the first line in `keys`.
    next: usize,
    /// Index of the line the front of the queue is for.
    front: usize,
}

impl<'a> HintCursor<'a> {
    fn new(keys: &'a [u8]) -> Self {
        HintCursor {
            keys,
            next: 0,
            front: 0,
        }
    }

    /// Make the queue start at line `wanted` (the next record's) and top it up.
    fn fill(&mut self, queue: &mut VecDeque<Option<[u8; 64]>>, wanted: usize) {
        while self.front < wanted && queue.pop_front().is_some() {
            self.front += 1;
        }
        if queue.is_empty() {
            while self.next < wanted && !self.keys.is_empty() {
                self.take_line();
            }
            self.front = self.next;
        }
        while queue.len() < HINTS && !self.keys.is_empty() {
            let line = self.take_line();
            let hash = line.split(|b| *b == b' ').nth(2);
            queue.push_back(hash.and_then(|h| <[u8; 64]>::try_from(h).ok()));
        }
    }

    fn consumed(&mut self, hints: usize) {
        self.front += hints;
    }

    fn take_line(&mut self) -> &'a [u8] {
        let end = memchr::memchr(b'\n', self.keys).unwrap_or(self.keys.len());
        let line = &self.keys[..end];
        self.keys = self.keys.get(end + 1..).unwrap_or_default();
        self.next += 1;
        line
    }
}

/// `keys` without its first line when that line is `record`'s
/// `seq_id origin hash prev_hash`, compared piece by piece (no line is built).
fn strip_key_line<'t>(keys: &'t [u8], record: &Record) -> Option<&'t [u8]> {
    let mut rest = keys.strip_prefix(itoa::Buffer::new().format(record.seq_id).as_bytes())?;
    for part in [record.origin.as_str(), &record.hash, &record.prev_hash] {
        rest = rest.strip_prefix(b" ")?.strip_prefix(part.as_bytes())?;
    }
    rest.strip_prefix(b"\n")
}

/// `text` without its first line when that line is exactly `line`.
fn strip_line<'t>(text: &'t [u8], line: &[u8]) -> Option<&'t [u8]> {
    let rest = text.strip_prefix(line)?;
    rest.strip_prefix(b"\n")
}

/// An item of the block was refused; the items before it are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockError {
    /// Position of the refused item in the block (0-based line number).
    pub index: usize,
    pub error: CoreError,
}

/// What one block run did.
#[derive(Debug, Clone, Default)]
pub struct BlockOutput {
    /// Items committed (the prefix of the block).
    pub consumed: usize,
    /// Where to resume: for JSON lines the byte offset in the input just past
    /// the last committed line; for a bar block ([`Core::step_bar_block`]) the
    /// row after the last committed item.
    pub end: usize,
    /// Records produced by each committed item, in order.
    pub counts: Vec<u32>,
    /// Canonical record lines (with `hash`), each followed by `\n`. With
    /// [`BlockOptions::expect`], only the records that were not matched.
    pub records: Vec<u8>,
    /// Records found equal to the expected trace.
    pub verified: usize,
    /// Bytes of the expected lines and keys consumed by verified records.
    pub expect_end: (usize, usize),
    /// True when a record differed from the expected trace (the block stops
    /// after that record's item; it is the first line of `records`).
    pub diverged: bool,
    /// `(seq_id, state_hash)` for every reached entry of `hash_at`.
    pub state_hashes: Vec<(i64, String)>,
    /// True when the run stopped because the wake filter matched.
    pub woke: bool,
    pub error: Option<BlockError>,
}

/// Where the items of a block come from: JSON lines ([`JsonLines`]) or bar
/// columns ([`crate::bars`]). The block loop ([`Core::step_items`]) is the
/// same for every source; a source only reads and parses its next item and
/// says where a later run resumes.
pub(crate) trait ItemSource {
    /// The next item, parsed, or its refusal; `None` once the block is used up.
    /// Called once per item, just before the item is stepped.
    fn next_item(&mut self) -> Option<Result<Parsed, CoreError>>;

    /// Where to resume after the item `next_item` last gave (a byte offset,
    /// a row, ...), or after the whole block once it gave `None`.
    fn resume_at(&self) -> usize;

    /// The item `next_item` last gave was refused; the block stops there.
    fn refused(&mut self) {}
}

/// The items of a JSON-lines block (blank lines are skipped); positions are byte offsets.
struct JsonLines<'a> {
    input: &'a [u8],
    pos: usize,
}

impl ItemSource for JsonLines<'_> {
    fn next_item(&mut self) -> Option<Result<Parsed, CoreError>> {
        while self.pos < self.input.len() {
            let rest = &self.input[self.pos..];
            let stop = memchr::memchr(b'\n', rest).map_or(self.input.len(), |n| self.pos + n + 1);
            let line = &self.input[self.pos..stop];
            self.pos = stop;
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(parse_json_item(line));
            }
        }
        None
    }

    fn resume_at(&self) -> usize {
        self.pos
    }
}

impl Core {
    /// Step every JSON line of `input` (blank lines are ignored) until the
    /// block ends, an item is refused, or the wake filter matches. Resume a
    /// stopped block by passing `&input[out.end..]`.
    ///
    /// State hashes asked for by `hash_at` are taken on a helper thread
    /// (see `background_hash`), started at the block's first checkpoint.
    pub fn step_block(&mut self, input: &[u8], options: BlockOptions<'_>) -> BlockOutput {
        self.step_source(&mut JsonLines { input, pos: 0 }, options)
    }

    /// Run the items of `source` as [`Core::step_block`] runs JSON lines:
    /// the trace checker and the background hasher live for this one call.
    pub(crate) fn step_source(
        &mut self,
        source: &mut impl ItemSource,
        options: BlockOptions<'_>,
    ) -> BlockOutput {
        let progress = Progress::default();
        std::thread::scope(|scope| {
            let checker = options
                .expect
                .filter(|trace| !trace.is_empty())
                .map(|trace| TraceChecker::spawn(scope, &progress, trace.lines));
            let mut hasher: Option<BackgroundHasher<'_>> = None;
            let mut out = self.step_items(source, options, checker.as_ref(), &mut |seq_id, core| {
                hasher
                    .get_or_insert_with(|| BackgroundHasher::spawn(scope))
                    .submit(seq_id, core);
            });
            if let Some(checker) = checker {
                checker.finish();
            }
            if let Some(hasher) = hasher {
                out.state_hashes = hasher.finish();
            }
            out
        })
    }

    /// The block loop: step each item of `source` and collect its records
    /// (or check them against the expected trace) until the source is used
    /// up, an item is refused, the wake filter matches or the trace ends or
    /// differs.
    fn step_items(
        &mut self,
        source: &mut impl ItemSource,
        options: BlockOptions<'_>,
        checker: Option<&TraceChecker<'_>>,
        checkpoint: &mut dyn FnMut(i64, &Core),
    ) -> BlockOutput {
        let mut out = BlockOutput::default();
        let mut hash_at = options.hash_at.iter().copied().peekable();
        let mut expect = options.expect;
        let mut hints = checker
            .and(options.expect)
            .map(|trace| HintCursor::new(trace.keys));
        let mut index = 0;
        out.end = source.resume_at();
        loop {
            let Some(parsed) = source.next_item() else {
                out.end = source.resume_at();
                break;
            };
            if let Some(hints) = hints.as_mut() {
                hints.fill(&mut self.hash_hints, out.verified);
            }
            let queued = self.hash_hints.len();
            let signal_mark = self.signals.as_ref().map_or(0, SignalBook::mark);
            let mut records = match parsed.and_then(|parsed| self.step_parsed(parsed)) {
                Ok(records) => records,
                Err(error) => {
                    source.refused();
                    out.error = Some(BlockError { index, error });
                    break;
                }
            };
            // The first `hinted` records were sealed with a stored hash (a hint).
            let hinted = queued - self.hash_hints.len();
            if let Some(hints) = hints.as_mut() {
                hints.consumed(hinted);
            }
            index += 1;
            out.end = source.resume_at();
            out.consumed += 1;
            out.counts.push(records.len() as u32);
            let mut woke = false;
            for n in 0..records.len() {
                let matched = match expect.as_mut() {
                    Some(trace) if !out.diverged && !trace.is_empty() => {
                        let trusted = n >= hinted || checker.is_some_and(|c| c.consistent(out.verified));
                        let equal = trusted && trace.take(&records[n]);
                        if !equal && n < hinted {
                            self.reseal(&mut records, n);
                        }
                        out.diverged = !equal;
                        equal
                    }
                    _ => false,
                };
                let record = &records[n];
                if matched {
                    out.verified += 1;
                } else {
                    record.write_canonical(&mut out.records, true);
                    out.records.push(b'\n');
                }
                woke = woke
                    || options
                        .wake
                        .is_some_and(|w| w.wakes(record, self.fired_since(signal_mark)));
            }
            let last = self.last_seq_id();
            while hash_at.next_if(|seq| *seq < last).is_some() {}
            if hash_at.next_if_eq(&last).is_some() {
                checkpoint(last, self);
            }
            if woke {
                out.woke = true;
                break;
            }
            if expect.is_some_and(|t| out.diverged || t.is_empty()) {
                break;
            }
        }
        self.hash_hints.clear();
        if let (Some(given), Some(left)) = (options.expect, expect) {
            out.expect_end = (
                given.lines.len() - left.lines.len(),
                given.keys.len() - left.keys.len(),
            );
        }
        out
    }

    /// The firings recorded after `mark` ([`SignalBook::mark`]).
    fn fired_since(&self, mark: usize) -> &[Firing] {
        self.signals.as_ref().map_or(&[], |book| book.since(mark))
    }

    /// Seal `records[from..]` again with computed hashes, each chained to
    /// the one before: a hinted record that did not verify may carry a hash
    /// that is not its own, and so may every record chained after it.
    fn reseal(&mut self, records: &mut [Record], from: usize) {
        for n in from..records.len() {
            if n > from {
                records[n].prev_hash = records[n - 1].hash.clone();
            }
            records[n].seal(&mut self.scratch);
        }
        if let Some(last) = records.last() {
            self.last_hash.clone_from(&last.hash);
        }
    }

    /// One input item given as JSON text.
    pub fn step_line(&mut self, line: &[u8]) -> Result<Vec<Record>, CoreError> {
        self.step_json(line)
    }
}
