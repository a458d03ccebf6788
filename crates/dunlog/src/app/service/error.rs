//! `ServiceError`: how a request failed, as every door (GraphQL, the local channel, the CLI)
//! reports it — a named kind of SPEC §4 with a message naming the field, or an internal failure.

use domain::{DomainError, ErrorKind};
use store::StoreError;

/// Why a request failed: a named kind of SPEC §4 with a message naming the field, or an internal
/// failure (logged; clients see `INTERNAL` only).
#[derive(Debug)]
pub enum ServiceError {
    Rejected { kind: ErrorKind, message: String },
    Internal(anyhow::Error),
}

impl ServiceError {
    pub fn rejected(kind: ErrorKind, message: impl Into<String>) -> ServiceError {
        ServiceError::Rejected {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceError::Rejected { kind, message } => write!(f, "{kind}: {message}"),
            ServiceError::Internal(e) => write!(f, "internal error: {e:#}"),
        }
    }
}

impl std::error::Error for ServiceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::Rejected { .. } => None,
            ServiceError::Internal(e) => Some(e.as_ref()),
        }
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        ServiceError::rejected(e.kind(), e.to_string())
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(e: anyhow::Error) -> Self {
        ServiceError::Internal(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdempotencyConflict { key } => ServiceError::rejected(
                ErrorKind::Conflict,
                format!("idempotencyKey = {key:?}: already used for a different command"),
            ),
            StoreError::Invalid(message) => ServiceError::rejected(ErrorKind::Validation, message),
            other => ServiceError::Internal(other.into()),
        }
    }
}
