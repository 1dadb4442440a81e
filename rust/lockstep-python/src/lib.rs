//! `lockstep_native`: the thin PyO3 layer over `lockstep-core`.
//!
//! No engine logic lives here. The module converts at the boundary (JSON text
//! and bytes in, canonical JSON lines out), maps core errors to plain
//! `(kind, path, reason)` triples that `lockstep.core.native` turns into the
//! Python core's exception types, counts crossings, and releases the
//! interpreter while a block runs. Every call is per block, setup or
//! checkpoint, never per item (ADR 0002, engine shape; record 0002).

use lockstep_core::{signals, BarColumns, BlockOptions, Core, CoreError, Expected, SetupError, WakeFilter};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

create_exception!(
    lockstep_native,
    NativeError,
    PyException,
    "A refusal from the native core: args are (kind, path, reason)."
);

/// `(kind, path, reason)` of a core error; kinds name the Python exception types.
fn describe(err: &CoreError) -> (&'static str, String, String) {
    match err {
        CoreError::Input { path, reason } => ("InputError", path.clone(), reason.clone()),
        CoreError::Sequence { path, reason } => ("SequenceError", path.clone(), reason.clone()),
        CoreError::Invariant(message) => ("InvariantViolation", String::new(), message.clone()),
        CoreError::Failed(message) => ("CoreFailed", String::new(), message.clone()),
    }
}

fn native_error(kind: &str, path: String, reason: String) -> PyErr {
    NativeError::new_err((kind.to_string(), path, reason))
}

fn setup_error(err: SetupError) -> PyErr {
    native_error("SetupError", err.path, err.reason)
}

fn parse_json(text: &str, what: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|err| {
        native_error(
            "InputError",
            "$".into(),
            format!("{what} is not valid JSON: {err}"),
        )
    })
}

/// What one `step_block` call returns to Python.
type BlockResult<'py> = (
    usize,
    usize,
    Vec<u32>,
    Bound<'py, PyBytes>,
    Vec<(i64, String)>,
    bool,
    Option<(usize, &'static str, String, String)>,
    Vec<String>,
    usize,
    (usize, usize),
    bool,
);

/// What one `step_bars` call returns to Python.
type BarsResult<'py> = (
    usize,
    usize,
    Vec<u32>,
    Bound<'py, PyBytes>,
    Vec<(i64, String)>,
    bool,
    Option<(usize, &'static str, String, String)>,
    Vec<String>,
    Option<Bound<'py, PyBytes>>,
);

/// A core instance owned by Python.
#[pyclass(module = "lockstep_native", name = "NativeCore")]
struct NativeCore {
    core: Core,
    crossings: u64,
}

#[pymethods]
impl NativeCore {
    /// Build a core from the setup as JSON text.
    #[new]
    fn new(setup_json: &str) -> PyResult<Self> {
        let setup = parse_json(setup_json, "the setup")?;
        let core = Core::new(&setup).map_err(setup_error)?;
        Ok(NativeCore { core, crossings: 1 })
    }

    /// Run a block of JSON lines; see `lockstep_core::batch`.
    ///
    /// Starts at byte `start` of `data`. `expect` is `(lines, keys, lines_start,
    /// keys_start)`: a stored trace to check the records against (see
    /// `lockstep_core::Expected`). Returns `(consumed, end, counts,
    /// record_lines, state_hashes, woke, error, warnings, verified,
    /// expect_end, diverged)`: `end` is the byte offset to resume from,
    /// `error` is `(index, kind, path, reason)` or None, `warnings` are the
    /// warn-mode invariant messages the block raised and `expect_end` the
    /// absolute offsets in the expected lines and keys reached.
    #[pyo3(signature = (data, wake=None, hash_at=Vec::new(), start=0, expect=None))]
    fn step_block<'py>(
        &mut self,
        py: Python<'py>,
        data: PyBackedBytes,
        wake: Option<WakeSpec>,
        hash_at: Vec<i64>,
        start: usize,
        expect: Option<(PyBackedBytes, PyBackedBytes, usize, usize)>,
    ) -> PyResult<BlockResult<'py>> {
        self.crossings += 1;
        let beyond = |what: &str, at: usize, len: usize| {
            native_error(
                "InputError",
                "$".into(),
                format!("{what} start {at} is beyond its {len} bytes"),
            )
        };
        if start > data.len() {
            return Err(beyond("block", start, data.len()));
        }
        let (lines_at, keys_at) = expect.as_ref().map_or((0, 0), |e| (e.2, e.3));
        let trace = match &expect {
            Some((lines, _, at, _)) if *at > lines.len() => {
                return Err(beyond("expected lines", *at, lines.len()))
            }
            Some((_, keys, _, at)) if *at > keys.len() => {
                return Err(beyond("expected keys", *at, keys.len()))
            }
            Some((lines, keys, _, _)) => Some(Expected {
                lines: &lines[lines_at..],
                keys: &keys[keys_at..],
            }),
            None => None,
        };
        let filter = wake.map(WakeSpec::into_filter);
        let core = &mut self.core;
        let out = py.detach(|| {
            core.step_block(
                &data[start..],
                BlockOptions {
                    wake: filter.as_ref(),
                    hash_at: &hash_at,
                    expect: trace,
                },
            )
        });
        let error = out.error.map(|e| {
            let (kind, path, reason) = describe(&e.error);
            (e.index, kind, path, reason)
        });
        Ok((
            out.consumed,
            start + out.end,
            out.counts,
            PyBytes::new(py, &out.records),
            out.state_hashes,
            out.woke,
            error,
            self.core.take_warnings(),
            out.verified,
            (lines_at + out.expect_end.0, keys_at + out.expect_end.1),
            out.diverged,
        ))
    }

    /// Run a bar block (packed int64 columns, see `lockstep_core::bars`) from
    /// row `start_row` on, as `step_block` runs the equivalent JSON lines.
    ///
    /// `data` is `lockstep.core.bars.BarBlock.data` (`rows` rows) and
    /// `sources` its `(venue, instrument)` pairs. Returns `(consumed, end_row,
    /// counts, record_lines, state_hashes, woke, error, warnings,
    /// item_lines)`: `end_row` is the row to resume at, `error` is `(index,
    /// kind, path, reason)` or None, and `item_lines` (with `item_lines=True`,
    /// else None) holds the canonical line of each committed item.
    #[pyo3(signature = (data, rows, sources, wake=None, hash_at=Vec::new(), start_row=0, item_lines=false))]
    #[allow(clippy::too_many_arguments)] // the Python keyword arguments
    fn step_bars<'py>(
        &mut self,
        py: Python<'py>,
        data: PyBackedBytes,
        rows: usize,
        sources: Vec<(String, String)>,
        wake: Option<WakeSpec>,
        hash_at: Vec<i64>,
        start_row: usize,
        item_lines: bool,
    ) -> PyResult<BarsResult<'py>> {
        self.crossings += 1;
        let block = BarColumns::new(&data, rows, &sources)
            .map_err(|reason| native_error("InputError", "$".into(), reason))?;
        if start_row > rows {
            return Err(native_error(
                "InputError",
                "$".into(),
                format!("bar block start row {start_row} is beyond its {rows} rows"),
            ));
        }
        let filter = wake.map(WakeSpec::into_filter);
        let core = &mut self.core;
        let out = py.detach(|| {
            core.step_bar_block(
                block,
                start_row,
                BlockOptions {
                    wake: filter.as_ref(),
                    hash_at: &hash_at,
                    expect: None,
                },
                item_lines,
            )
        });
        let error = out.block.error.map(|e| {
            let (kind, path, reason) = describe(&e.error);
            (e.index, kind, path, reason)
        });
        Ok((
            out.block.consumed,
            out.block.end,
            out.block.counts,
            PyBytes::new(py, &out.block.records),
            out.block.state_hashes,
            out.block.woke,
            error,
            self.core.take_warnings(),
            out.item_lines.map(|lines| PyBytes::new(py, &lines)),
        ))
    }

    /// The checkpoint as canonical JSON text.
    fn snapshot_json(&mut self) -> String {
        self.crossings += 1;
        String::from_utf8(self.core.snapshot_canonical()).expect("canonical JSON is UTF-8")
    }

    /// `(snapshot as canonical JSON text, state hash)` in one crossing.
    fn checkpoint_json(&mut self) -> (String, String) {
        self.crossings += 1;
        let (snapshot, state_hash) = self.core.checkpoint();
        (
            String::from_utf8(snapshot).expect("canonical JSON is UTF-8"),
            state_hash,
        )
    }

    /// The named orders (unknown ids left out) as canonical JSON `{id: order}`.
    fn order_states_json(&mut self, order_ids: Vec<String>) -> String {
        self.crossings += 1;
        let states = self.core.order_states(order_ids.iter().map(String::as_str));
        map_json(states)
    }

    /// Every order not in a terminal state as canonical JSON `{id: order}`.
    fn open_order_states_json(&mut self) -> String {
        self.crossings += 1;
        map_json(self.core.open_order_states())
    }

    /// Load a checkpoint given as JSON text (refused whole on any problem).
    fn restore_json(&mut self, snapshot_json: &str) -> PyResult<()> {
        self.crossings += 1;
        let snapshot = parse_json(snapshot_json, "the checkpoint")?;
        self.core.restore(&snapshot).map_err(|err| {
            let (kind, path, reason) = describe(&err);
            native_error(kind, path, reason)
        })
    }

    fn state_hash(&mut self) -> String {
        self.crossings += 1;
        self.core.state_hash()
    }

    /// Commit one event or intent batch (JSON text); its own record as a canonical line.
    ///
    /// Per item by nature: `Core.apply` is the one-item API. Blocks go through
    /// `step_block`.
    fn apply_json(&mut self, item_json: &str) -> PyResult<(String, Vec<String>)> {
        self.crossings += 1;
        let item = parse_json(item_json, "the item")?;
        let record = self.core.apply(&item).map_err(|err| {
            let (kind, path, reason) = describe(&err);
            native_error(kind, path, reason)
        })?;
        let line = String::from_utf8(record.canonical_bytes()).expect("canonical JSON is UTF-8");
        Ok((line, self.core.take_warnings()))
    }

    /// `(last_seq_id, clock, last_hash)` in one crossing.
    fn position(&mut self) -> (i64, i64, String) {
        self.crossings += 1;
        (
            self.core.last_seq_id(),
            self.core.clock(),
            self.core.last_hash().to_string(),
        )
    }

    /// Take a signal declaration given as JSON text (`docs/reference/signals.md`);
    /// refusals come back as `SetupError` with the contract's path and reason.
    fn declare_signals(&mut self, spec_json: &str) -> PyResult<()> {
        self.crossings += 1;
        let spec = parse_json(spec_json, "the signal declaration")?;
        self.core.declare_signals(&spec).map_err(setup_error)
    }

    /// The firings since the previous call as a canonical JSON array.
    fn take_signals(&mut self) -> String {
        self.crossings += 1;
        let firings = self.core.take_signals();
        String::from_utf8(signals::firings_json(&firings)).expect("canonical JSON is UTF-8")
    }

    /// The instrument's indicator values as a canonical JSON object.
    fn signal_values(&mut self, instrument: &str) -> PyResult<String> {
        self.crossings += 1;
        let values = self.core.signal_values(instrument).map_err(setup_error)?;
        let mut out = Vec::new();
        signals::write_values(&mut out, &values);
        Ok(String::from_utf8(out).expect("canonical JSON is UTF-8"))
    }

    /// Calls into this core so far (construction included).
    #[getter]
    fn crossings(&self) -> u64 {
        self.crossings
    }
}

/// The wake filter as Python passes it: a dict with the `WakeFilter` fields.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct WakeSpec {
    event_types: Vec<String>,
    instruments: Option<Vec<String>>,
    timers: Option<Vec<String>>,
    fills: bool,
    transitions: bool,
    strategy_id: Option<String>,
    /// Absent from a dict built before signals existed: no signal gating.
    #[pyo3(default)]
    signals: bool,
}

impl WakeSpec {
    fn into_filter(self) -> WakeFilter {
        WakeFilter {
            event_types: self.event_types,
            instruments: self.instruments,
            timers: self.timers,
            fills: self.fills,
            transitions: self.transitions,
            strategy_id: self.strategy_id,
            signals: self.signals,
        }
    }
}

#[pymodule]
fn lockstep_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeCore>()?;
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BOUNDARY", "block")?;
    Ok(())
}

/// A JSON object of order states as canonical text.
fn map_json(map: serde_json::Map<String, serde_json::Value>) -> String {
    let bytes =
        lockstep_core::canonical_json(&serde_json::Value::Object(map)).expect("order states are canonical");
    String::from_utf8(bytes).expect("canonical JSON is UTF-8")
}
