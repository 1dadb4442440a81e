//! Block entry points: many input items in, canonical trace lines out, in one call.
//!
//! This is the shape the Python bindings use (ADR 0002, engine boundary): the
//! caller hands over a whole block of input items as JSON lines and gets back
//! the canonical record lines, how many records each input produced, and the
//! state hashes it asked for. Nothing here calls back into the caller while
//! the block runs, so a binding can release the interpreter for the whole call.
//!
//! A block stops early in two cases: an item is refused (the error and the
//! item's index come back; the items before it stay committed, exactly as a
//! loop of `Core::step` calls would leave them), or a [`WakeFilter`] matches a
//! record of the item just committed (the strategy must run before the next
//! item). The caller resumes with the rest of the block.

use crate::coresetup::Source;
use crate::errors::CoreError;
use crate::items::{Item, Payload};
use crate::record::Record;
use crate::Core;

/// What wakes a strategy: the same rule as the runtime's `Subscriptions`
/// plus reports about orders.
///
/// `instruments: None` means every instrument; `timers: None` every timer.
/// `order_reports` wakes on any fill or order transition and on a rejected
/// intent of `strategy_id`'s batches (in a backtest every order is the
/// strategy's own; the caller still filters by order id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WakeFilter {
    pub event_types: Vec<String>,
    pub instruments: Option<Vec<String>>,
    pub timers: Option<Vec<String>>,
    pub fills: bool,
    pub transitions: bool,
    pub strategy_id: Option<String>,
}

impl WakeFilter {
    /// Whether `record` would wake the strategy.
    pub fn wakes(&self, record: &Record) -> bool {
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
    /// Byte offset in the input just past the last committed line (resume there).
    pub end: usize,
    /// Records produced by each committed item, in order.
    pub counts: Vec<u32>,
    /// Canonical record lines (with `hash`), each followed by `\n`.
    pub records: Vec<u8>,
    /// `(seq_id, state_hash)` for every reached entry of `hash_at`.
    pub state_hashes: Vec<(i64, String)>,
    /// True when the run stopped because the wake filter matched.
    pub woke: bool,
    pub error: Option<BlockError>,
}

impl Core {
    /// Step every JSON line of `input` (blank lines are ignored) until the
    /// block ends, an item is refused, or the wake filter matches. Resume a
    /// stopped block by passing `&input[out.end..]`.
    pub fn step_block(&mut self, input: &[u8], options: BlockOptions<'_>) -> BlockOutput {
        let mut out = BlockOutput::default();
        let mut hash_at = options.hash_at.iter().copied().peekable();
        let mut index = 0;
        let mut pos = 0;
        while pos < input.len() {
            let stop = input[pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(input.len(), |n| pos + n + 1);
            let line = &input[pos..stop];
            if line.iter().all(u8::is_ascii_whitespace) {
                pos = stop;
                continue;
            }
            let records = match self.step_line(line) {
                Ok(records) => records,
                Err(error) => {
                    out.error = Some(BlockError { index, error });
                    break;
                }
            };
            index += 1;
            pos = stop;
            out.end = pos;
            out.consumed += 1;
            out.counts.push(records.len() as u32);
            let mut woke = false;
            for record in &records {
                record.write_canonical(&mut out.records, true);
                out.records.push(b'\n');
                woke = woke || options.wake.is_some_and(|w| w.wakes(record));
            }
            let last = self.last_seq_id();
            while hash_at.next_if(|seq| *seq < last).is_some() {}
            if hash_at.next_if_eq(&last).is_some() {
                out.state_hashes.push((last, self.state_hash()));
            }
            if woke {
                out.woke = true;
                break;
            }
        }
        if out.error.is_none() && !out.woke {
            out.end = input.len();
        }
        out
    }

    /// One input item given as JSON text.
    pub fn step_line(&mut self, line: &[u8]) -> Result<Vec<Record>, CoreError> {
        self.step_json(line)
    }
}
