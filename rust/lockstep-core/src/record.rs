//! Trace records: what one committed item did, in the order it happened.
//!
//! Records are typed here and written straight to canonical JSON; the key
//! order in each writer is the sorted order Python's `sort_keys=True` gives.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::{self, write_int, write_name, write_opt_str, write_str, GENESIS_HASH};
use crate::items::Item;
use crate::orders::{Side, Status, Trigger};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Input,
    Generated,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Input => "input",
            Origin::Generated => "generated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub order_id: String,
    pub from: Status,
    pub to: Status,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub order_id: String,
    pub fill_id: String,
    pub instrument: String,
    pub side: Side,
    pub qty: i64,
    pub price: i64,
    pub notional: i128,
    pub fee: i128,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentOutcome {
    pub index: usize,
    /// The intent's `type` as given (any string), or `"invalid"`.
    pub kind: String,
    pub order_id: Option<String>,
    /// `None` when accepted, else the reason code of the rejection.
    pub reason_code: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub order_id: Option<String>,
    pub detail: String,
}

/// One trace record (`core_model.md` §8).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq_id: i64,
    pub origin: Origin,
    pub input: Item,
    pub transitions: Vec<Transition>,
    pub fills: Vec<Fill>,
    /// Merged per instrument, sorted by instrument.
    pub position_deltas: Vec<(String, i128)>,
    /// Merged per currency, sorted by currency.
    pub cash_deltas: Vec<(String, i128)>,
    pub intent_outcomes: Vec<IntentOutcome>,
    pub diagnostics: Vec<Diagnostic>,
    pub prev_hash: String,
    pub hash: String,
    /// The committed trace line (canonical JSON with `hash`), written once when
    /// the core seals the record; empty for a record built by hand.
    line: Vec<u8>,
}

impl Record {
    /// A record that has not been sealed yet (`hash` empty).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seq_id: i64,
        origin: Origin,
        input: Item,
        transitions: Vec<Transition>,
        fills: Vec<Fill>,
        position_deltas: Vec<(String, i128)>,
        cash_deltas: Vec<(String, i128)>,
        intent_outcomes: Vec<IntentOutcome>,
        diagnostics: Vec<Diagnostic>,
        prev_hash: String,
    ) -> Record {
        Record {
            seq_id,
            origin,
            input,
            transitions,
            fills,
            position_deltas,
            cash_deltas,
            intent_outcomes,
            diagnostics,
            prev_hash,
            hash: String::new(),
            line: Vec::new(),
        }
    }

    /// Canonical JSON of the record; without `hash` when `with_hash` is false
    /// (the bytes the record hash is taken over).
    ///
    /// A sealed record writes the line it was committed with (one copy, no
    /// re-serialization): that is the line the chain hashes, whatever happened
    /// to the public fields afterwards.
    pub fn write_canonical(&self, out: &mut Vec<u8>, with_hash: bool) {
        if with_hash && !self.line.is_empty() {
            out.extend_from_slice(&self.line);
            return;
        }
        self.write_fields(out, with_hash.then_some(self.hash.as_str()));
    }

    /// Compute `hash` and the trace line in one serialization.
    ///
    /// The record is written once with a placeholder `hash`; the digest is
    /// taken over the bytes around the `,"hash":"..."` member (exactly the
    /// canonical JSON without `hash`, since members are written in sorted
    /// order and `hash` is never the first one) and then written into the
    /// placeholder. The line is written in `scratch` (a buffer the core
    /// reuses) and copied out at its exact size: a small exact allocation is
    /// much cheaper than a generously sized one.
    pub(crate) fn seal(&mut self, scratch: &mut Vec<u8>) {
        self.seal_with(scratch, None);
    }

    /// [`Record::seal`], or with `hint` written as the hash instead of a
    /// computed one: replay's hint of the stored hash this record is
    /// expected to have (see `trace_check`), which is trusted only once the
    /// line is found equal to a stored line whose hash was checked.
    pub(crate) fn seal_with(&mut self, scratch: &mut Vec<u8>, hint: Option<&[u8; 64]>) {
        let line = scratch;
        line.clear();
        let (cut_start, cut_end) = self.write_fields(line, Some(GENESIS_HASH));
        let hex = match hint {
            Some(hint) => {
                line[cut_end - 65..cut_end - 1].copy_from_slice(hint);
                &line[cut_end - 65..cut_end - 1]
            }
            None => {
                let mut hasher = Sha256::new();
                hasher.update(&line[..cut_start]);
                hasher.update(&line[cut_end..]);
                let digest = hasher.finalize();
                let hex = &mut line[cut_end - 65..cut_end - 1];
                for (n, byte) in digest.iter().enumerate() {
                    hex[2 * n] = canonical::HEX[(byte >> 4) as usize];
                    hex[2 * n + 1] = canonical::HEX[(byte & 15) as usize];
                }
                &*hex
            }
        };
        self.hash = String::from_utf8(hex.to_vec()).expect("hex digits are ASCII");
        self.line = line.to_vec();
    }

    /// The sealed trace line (empty before sealing).
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Write the members in sorted key order, with `hash` when given; returns
    /// the byte range of the `,"hash":"..."` member (empty without one).
    ///
    /// The keys are spelled out in sorted order as literal runs of bytes (one
    /// copy per run instead of one per token): this is the hottest writer in
    /// the core, and the golden cases pin every byte of it.
    fn write_fields(&self, out: &mut Vec<u8>, hash: Option<&str>) -> (usize, usize) {
        out.extend_from_slice(b"{\"cash_deltas\":[");
        for (n, (currency, delta)) in self.cash_deltas.iter().enumerate() {
            out.extend_from_slice(if n == 0 {
                b"{\"currency\":"
            } else {
                b",{\"currency\":"
            });
            write_str(out, currency);
            out.extend_from_slice(b",\"delta\":");
            write_int(out, *delta);
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"diagnostics\":[");
        for (n, diag) in self.diagnostics.iter().enumerate() {
            out.extend_from_slice(if n == 0 { b"{\"code\":" } else { b",{\"code\":" });
            write_name(out, diag.code);
            out.extend_from_slice(b",\"detail\":");
            write_str(out, &diag.detail);
            out.extend_from_slice(b",\"order_id\":");
            write_opt_str(out, diag.order_id.as_deref());
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"fills\":[");
        for (n, fill) in self.fills.iter().enumerate() {
            out.extend_from_slice(if n == 0 {
                b"{\"currency\":"
            } else {
                b",{\"currency\":"
            });
            write_str(out, &fill.currency);
            out.extend_from_slice(b",\"fee\":");
            write_int(out, fill.fee);
            out.extend_from_slice(b",\"fill_id\":");
            write_str(out, &fill.fill_id);
            out.extend_from_slice(b",\"instrument\":");
            write_str(out, &fill.instrument);
            out.extend_from_slice(b",\"notional\":");
            write_int(out, fill.notional);
            out.extend_from_slice(b",\"order_id\":");
            write_str(out, &fill.order_id);
            out.extend_from_slice(b",\"price\":");
            write_int(out, fill.price);
            out.extend_from_slice(b",\"qty\":");
            write_int(out, fill.qty);
            out.extend_from_slice(b",\"side\":");
            write_name(out, fill.side.as_str());
            out.push(b'}');
        }
        out.push(b']');
        let cut = match hash {
            Some(hash) => {
                let start = out.len();
                out.extend_from_slice(b",\"hash\":");
                write_name(out, hash); // hex digits: nothing to escape
                (start, out.len())
            }
            None => (0, 0),
        };
        out.extend_from_slice(b",\"input\":");
        self.input.write_canonical(out);
        out.extend_from_slice(b",\"intent_outcomes\":[");
        for (n, outcome) in self.intent_outcomes.iter().enumerate() {
            out.extend_from_slice(if n == 0 { b"{\"index\":" } else { b",{\"index\":" });
            write_int(out, outcome.index);
            out.extend_from_slice(b",\"order_id\":");
            write_opt_str(out, outcome.order_id.as_deref());
            out.extend_from_slice(match outcome.reason_code {
                None => b",\"outcome\":\"accepted\",\"reason_code\":null,\"type\":".as_slice(),
                Some(_) => b",\"outcome\":\"rejected\",\"reason_code\":".as_slice(),
            });
            if let Some(code) = outcome.reason_code {
                write_name(out, code);
                out.extend_from_slice(b",\"type\":");
            }
            write_str(out, &outcome.kind);
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"origin\":");
        write_name(out, self.origin.as_str());
        out.extend_from_slice(b",\"position_deltas\":[");
        for (n, (instrument, delta)) in self.position_deltas.iter().enumerate() {
            out.extend_from_slice(if n == 0 { b"{\"delta\":" } else { b",{\"delta\":" });
            write_int(out, *delta);
            out.extend_from_slice(b",\"instrument\":");
            write_str(out, instrument);
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"prev_hash\":");
        write_str(out, &self.prev_hash);
        out.extend_from_slice(b",\"seq_id\":");
        write_int(out, self.seq_id);
        out.extend_from_slice(b",\"transitions\":[");
        for (n, tr) in self.transitions.iter().enumerate() {
            out.extend_from_slice(if n == 0 { b"{\"from\":" } else { b",{\"from\":" });
            write_name(out, tr.from.as_str());
            out.extend_from_slice(b",\"order_id\":");
            write_str(out, &tr.order_id);
            out.extend_from_slice(b",\"to\":");
            write_name(out, tr.to.as_str());
            out.extend_from_slice(b",\"trigger\":");
            write_name(out, tr.trigger.as_str());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        cut
    }

    /// The record's line in a trace file (without the newline): canonical JSON with `hash`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_canonical(&mut out, true);
        out
    }

    /// sha256 of the canonical JSON without `hash`, from the public fields:
    /// what `hash` must be.
    pub fn compute_hash(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.write_fields(&mut out, None);
        canonical::sha256_hex(&out)
    }

    /// The record as a JSON value (parsed back from its canonical bytes).
    pub fn to_value(&self) -> Value {
        serde_json::from_slice(&self.canonical_bytes()).expect("canonical JSON parses")
    }
}
