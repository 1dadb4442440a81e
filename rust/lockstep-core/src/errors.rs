//! Error types of the core.
//!
//! They mirror `lockstep.core.errors` so bindings can map each one to the
//! Python exception of the same name without parsing messages: a malformed item
//! (`InputError`), a timeline break (`SequenceError`), an invariant violation
//! and the refusal to go on after one (`CoreFailed`).

use std::fmt;

/// A field-level validation failure: the JSON path of the offending field and why.
///
/// Every reader in [`crate::validate`] produces this; callers decide whether it
/// becomes a [`SetupError`], an input error or an intent's `SCHEMA_INVALID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub path: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The setup is not a valid engine configuration; nothing was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "setup: {}", self.reason)
        } else {
            write!(f, "setup {}: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for SetupError {}

impl From<Invalid> for SetupError {
    fn from(err: Invalid) -> Self {
        SetupError {
            path: err.path,
            reason: err.reason,
        }
    }
}

/// Why `Core::step` refused or stopped.
///
/// `Input` and `Sequence` leave the core unchanged when they come from
/// validation or the timeline pre-check (exactly as in Python); `Invariant`
/// means strict mode caught a broken invariant and the core now refuses
/// everything with `Failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// `InputError`: the item is malformed; `path` is a JSON path inside it.
    Input { path: String, reason: String },
    /// `SequenceError`: the item would break the timeline (time or seq_id).
    Sequence { path: String, reason: String },
    /// `InvariantViolation`: the message Python puts in the exception.
    Invariant(String),
    /// `CoreFailed`: the core stopped after an invariant violation.
    Failed(String),
}

impl CoreError {
    /// The JSON path for input and sequence errors.
    pub fn path(&self) -> Option<&str> {
        match self {
            CoreError::Input { path, .. } | CoreError::Sequence { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Short name of the Python exception type this error maps to.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::Input { .. } => "InputError",
            CoreError::Sequence { .. } => "SequenceError",
            CoreError::Invariant(_) => "InvariantViolation",
            CoreError::Failed(_) => "CoreFailed",
        }
    }

    pub(crate) fn sequence(path: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Sequence {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn input(path: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Input {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl From<Invalid> for CoreError {
    fn from(err: Invalid) -> Self {
        CoreError::Input {
            path: err.path,
            reason: err.reason,
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Input { path, reason } | CoreError::Sequence { path, reason } => {
                write!(f, "{path}: {reason}")
            }
            CoreError::Invariant(message) | CoreError::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CoreError {}
