//! Deterministic rejections of the state machine. They are part of the replicated outcome.

use serde::{Deserialize, Serialize};

/// What kind of rejection; the service layer maps each kind onto one error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaErrorKind {
    /// The command itself is malformed (bad name, bad address, bad slot ...).
    Invalid,
    /// A parent or target does not exist.
    NotFound,
    /// The entry to create exists already.
    AlreadyExists,
    /// The command is well formed but the current state forbids it (shard owns slots ...).
    Conflict,
    /// The caller's expected cluster version does not match.
    VersionMismatch,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct MetaError {
    pub kind: MetaErrorKind,
    pub message: String,
}

impl MetaError {
    pub fn new(kind: MetaErrorKind, message: impl Into<String>) -> Self {
        MetaError { kind, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(MetaErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(MetaErrorKind::NotFound, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(MetaErrorKind::AlreadyExists, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(MetaErrorKind::Conflict, message)
    }
}
