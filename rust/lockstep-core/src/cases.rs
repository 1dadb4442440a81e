//! Running a golden-case directory: `setup.json` plus `input.jsonl`.
//!
//! The shared step behind the parity tests and the `trace` example, like
//! `lockstep.core.cases` on the Python side.

use std::fmt;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::engine::Core;
use crate::errors::{CoreError, SetupError};
use crate::record::Record;

#[derive(Debug)]
pub struct CaseRun {
    pub records: Vec<Record>,
    pub snapshot: Value,
    pub state_hash: String,
}

impl CaseRun {
    /// The trace file: one canonical JSON record per line.
    pub fn trace_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.records.len() * 1024);
        for record in &self.records {
            record.write_canonical(&mut out, true);
            out.push(b'\n');
        }
        out
    }
}

/// Why a case could not be run; input errors name the 1-based line.
#[derive(Debug)]
pub enum CaseError {
    Io(String),
    Setup(SetupError),
    Json { line: usize, message: String },
    Input { line: usize, error: CoreError },
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseError::Io(message) => f.write_str(message),
            CaseError::Setup(err) => write!(f, "{err}"),
            CaseError::Json { line, message } => write!(f, "line {line}: invalid JSON ({message})"),
            CaseError::Input { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

impl std::error::Error for CaseError {}

/// Parse the non-blank lines of a JSON-lines text as (1-based line number, value).
pub fn read_items(text: &str) -> Result<Vec<(usize, Value)>, CaseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).map_err(|e| CaseError::Json {
            line: n + 1,
            message: e.to_string(),
        })?;
        out.push((n + 1, value));
    }
    Ok(out)
}

pub fn load_setup(case_dir: &Path) -> Result<Value, CaseError> {
    let path = case_dir.join("setup.json");
    let text = fs::read_to_string(&path).map_err(|e| CaseError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| CaseError::Io(format!("{}: invalid JSON ({e})", path.display())))
}

/// Run a case from a fresh core.
pub fn run_case(case_dir: &Path) -> Result<CaseRun, CaseError> {
    let mut core = Core::new(&load_setup(case_dir)?).map_err(CaseError::Setup)?;
    let path = case_dir.join("input.jsonl");
    let text = fs::read_to_string(&path).map_err(|e| CaseError::Io(format!("{}: {e}", path.display())))?;
    let mut records = Vec::new();
    for (line, item) in read_items(&text)? {
        records.extend(
            core.step(&item)
                .map_err(|error| CaseError::Input { line, error })?,
        );
    }
    Ok(CaseRun {
        records,
        snapshot: core.snapshot(),
        state_hash: core.state_hash(),
    })
}
