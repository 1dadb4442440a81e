//! Lockstep's deterministic core in Rust, byte-identical to the Python reference.
//!
//! The Python package `lockstep.core` is the reference implementation and the
//! golden cases in `contracts/` are the oracle: for the same setup and input,
//! this crate produces the same trace records (same canonical bytes, same
//! chained hashes) and the same state hash. The module layout mirrors the
//! Python modules one to one so a change on either side has an obvious
//! counterpart. This crate has no Python dependency; `lockstep-python` binds it.
//!
//! Two entry points take input: [`Core::step`] takes a parsed
//! `serde_json::Value`; [`Core::step_json`] takes one JSON line as bytes and is
//! the fast one for logs and blocks (it reads plain items straight into their
//! typed form, see [`lineparse`], and gives exactly what `step` gives on the
//! parsed line, errors included). Each [`Record`] keeps the canonical line it
//! was committed with ([`Record::line`]), so writing a trace copies bytes.
//!
//! ```
//! use lockstep_core::Core;
//! let setup = serde_json::json!({
//!     "currencies": [{"code": "USD", "money_precision": 4}],
//!     "venues": [], "instruments": [],
//! });
//! let mut core = Core::new(&setup).unwrap();
//! let records = core.step(&serde_json::json!({
//!     "kind": "event", "seq_id": null, "event_time": 5, "ingest_time": 5,
//!     "source": "control", "venue": "ops", "instrument": null, "event_type": "halt",
//!     "payload": {"reason": "maintenance"}, "idempotency_key": null, "producer_index": 0,
//! })).unwrap();
//! assert_eq!(records.len(), 1);
//! assert_eq!(core.snapshot()["business"]["risk"]["halted"], true);
//! ```

#![forbid(unsafe_code)]

mod background_hash;
pub mod bars;
pub mod batch;
pub mod canonical;
pub mod cases;
pub mod checkpoint;
pub mod coresetup;
pub mod engine;
pub mod errors;
pub mod fixedpoint;
pub mod hashing;
pub mod intents;
pub mod invariants;
pub mod items;
pub mod lineparse;
pub mod matching;
pub mod orders;
pub mod portfolio;
pub mod record;
pub mod seen_keys;
pub mod sequencer;
pub mod signals;
pub mod state;
mod trace_check;
pub mod validate;

pub use bars::{BarBlockOutput, BarColumns};
pub use batch::{BlockError, BlockOptions, BlockOutput, Expected, WakeFilter};
pub use canonical::{canonical_json, sha256_hex, GENESIS_HASH};
pub use coresetup::CoreSetup;
pub use engine::Core;
pub use errors::{CoreError, SetupError};
pub use record::Record;
pub use signals::{Declaration, Firing, SignalBook};
