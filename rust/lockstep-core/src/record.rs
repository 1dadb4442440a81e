//! Trace records: what one committed item did, in the order it happened.
//!
//! Records are typed here and written straight to canonical JSON; the key
//! order in each writer is the sorted order Python's `sort_keys=True` gives.

use serde_json::Value;

use crate::canonical::{self, write_array, ObjectWriter};
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
}

impl Record {
    /// Canonical JSON of the record; without `hash` when `with_hash` is false
    /// (the bytes the record hash is taken over).
    pub fn write_canonical(&self, out: &mut Vec<u8>, with_hash: bool) {
        let mut o = ObjectWriter::new(out);
        write_array(
            o.key("cash_deltas"),
            &self.cash_deltas,
            |out, (currency, delta)| {
                let mut d = ObjectWriter::new(out);
                d.str("currency", currency);
                d.int("delta", *delta);
                d.end();
            },
        );
        write_array(o.key("diagnostics"), &self.diagnostics, |out, diag| {
            let mut d = ObjectWriter::new(out);
            d.str("code", diag.code);
            d.str("detail", &diag.detail);
            d.opt_str("order_id", diag.order_id.as_deref());
            d.end();
        });
        write_array(o.key("fills"), &self.fills, |out, fill| {
            let mut f = ObjectWriter::new(out);
            f.str("currency", &fill.currency);
            f.int("fee", fill.fee);
            f.str("fill_id", &fill.fill_id);
            f.str("instrument", &fill.instrument);
            f.int("notional", fill.notional);
            f.str("order_id", &fill.order_id);
            f.int("price", fill.price);
            f.int("qty", fill.qty);
            f.str("side", fill.side.as_str());
            f.end();
        });
        if with_hash {
            o.str("hash", &self.hash);
        }
        self.input.write_canonical(o.key("input"));
        write_array(o.key("intent_outcomes"), &self.intent_outcomes, |out, outcome| {
            let mut r = ObjectWriter::new(out);
            r.int("index", outcome.index);
            r.opt_str("order_id", outcome.order_id.as_deref());
            r.str(
                "outcome",
                if outcome.reason_code.is_none() {
                    "accepted"
                } else {
                    "rejected"
                },
            );
            r.opt_str("reason_code", outcome.reason_code);
            r.str("type", &outcome.kind);
            r.end();
        });
        o.str("origin", self.origin.as_str());
        write_array(
            o.key("position_deltas"),
            &self.position_deltas,
            |out, (instrument, delta)| {
                let mut d = ObjectWriter::new(out);
                d.int("delta", *delta);
                d.str("instrument", instrument);
                d.end();
            },
        );
        o.str("prev_hash", &self.prev_hash);
        o.int("seq_id", self.seq_id);
        write_array(o.key("transitions"), &self.transitions, |out, tr| {
            let mut t = ObjectWriter::new(out);
            t.str("from", tr.from.as_str());
            t.str("order_id", &tr.order_id);
            t.str("to", tr.to.as_str());
            t.str("trigger", tr.trigger.as_str());
            t.end();
        });
        o.end();
    }

    /// The record's line in a trace file (without the newline): canonical JSON with `hash`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_canonical(&mut out, true);
        out
    }

    /// sha256 of the canonical JSON without `hash`: what `hash` must be.
    pub fn compute_hash(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.write_canonical(&mut out, false);
        canonical::sha256_hex(&out)
    }

    /// The record as a JSON value (parsed back from its canonical bytes).
    pub fn to_value(&self) -> Value {
        serde_json::from_slice(&self.canonical_bytes()).expect("canonical JSON parses")
    }
}
