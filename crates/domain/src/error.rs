//! Why a command is rejected: named rejections, each mapped to one error kind of SPEC §4.

use std::fmt;

use rust_decimal::Decimal;
use thiserror::Error;

/// The error kinds of SPEC §4; also the GraphQL `extensions.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    NotFound,
    Conflict,
    InvalidState,
    Unauthenticated,
    Forbidden,
    Limit,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Validation => "VALIDATION",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Conflict => "CONFLICT",
            ErrorKind::InvalidState => "INVALID_STATE",
            ErrorKind::Unauthenticated => "UNAUTHENTICATED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::Limit => "LIMIT",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected command. Every message names the field and the value at fault.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("{field} = {value:?}: {message}")]
    Invalid {
        field: &'static str,
        value: String,
        message: String,
    },
    #[error("policy document, line {line}, field {field}: {message}")]
    InvalidPolicy {
        line: usize,
        field: String,
        message: String,
    },
    #[error("{field} = {value:?}: not found")]
    NotFound { field: &'static str, value: String },
    #[error("{field} = {value:?}: already exists")]
    Duplicate { field: &'static str, value: String },
    #[error("{field} = {value:?}: {message}")]
    InvalidState {
        field: &'static str,
        value: String,
        message: String,
    },
    #[error(
        "allocations: {requested} to invoice {invoice_id:?} exceeds the {available} available on it"
    )]
    AllocationExceedsAvailable {
        invoice_id: String,
        available: Decimal,
        requested: Decimal,
    },
    #[error("amount = {requested}: exceeds the {available} available on invoice {invoice_id:?}")]
    AmountExceedsAvailable {
        invoice_id: String,
        available: Decimal,
        requested: Decimal,
    },
    #[error("allocations: their sum {allocated} exceeds the payment amount {amount}")]
    AllocationsExceedPayment { allocated: Decimal, amount: Decimal },
    #[error(
        "allocations: their sum {requested} exceeds the {available} of unapplied cash available"
    )]
    ExceedsUnappliedCash {
        available: Decimal,
        requested: Decimal,
    },
}

impl DomainError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::Invalid { .. }
            | DomainError::InvalidPolicy { .. }
            | DomainError::AllocationExceedsAvailable { .. }
            | DomainError::AmountExceedsAvailable { .. }
            | DomainError::AllocationsExceedPayment { .. }
            | DomainError::ExceedsUnappliedCash { .. } => ErrorKind::Validation,
            DomainError::NotFound { .. } => ErrorKind::NotFound,
            DomainError::Duplicate { .. } => ErrorKind::Conflict,
            DomainError::InvalidState { .. } => ErrorKind::InvalidState,
        }
    }

    pub fn invalid(field: &'static str, value: impl fmt::Display, message: &str) -> Self {
        DomainError::Invalid {
            field,
            value: value.to_string(),
            message: message.to_owned(),
        }
    }

    pub fn not_found(field: &'static str, value: impl fmt::Display) -> Self {
        DomainError::NotFound {
            field,
            value: value.to_string(),
        }
    }

    pub fn duplicate(field: &'static str, value: impl fmt::Display) -> Self {
        DomainError::Duplicate {
            field,
            value: value.to_string(),
        }
    }

    pub fn invalid_state(field: &'static str, value: impl fmt::Display, message: &str) -> Self {
        DomainError::InvalidState {
            field,
            value: value.to_string(),
            message: message.to_owned(),
        }
    }
}
