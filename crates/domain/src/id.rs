//! Identifiers given by clients (SPEC §2): `^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Longest identifier accepted, in bytes.
pub const ID_LEN_MAX: usize = 64;

/// Checks an identifier against SPEC §2, naming the field on failure.
pub fn check_id(field: &'static str, value: &str) -> Result<(), DomainError> {
    let bytes = value.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes
        .iter()
        .skip(1)
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if first_ok && rest_ok && bytes.len() <= ID_LEN_MAX {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            value,
            "must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        ))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                check_id($field, value)?;
                Ok(Self(value.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_id($field, &value)?;
                Ok(Self(value))
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A customer; one account stream `account-{customer_id}` each.
    CustomerId,
    "customer_id"
);
id_type!(
    /// An invoice, unique within its account.
    InvoiceId,
    "invoice_id"
);
id_type!(
    /// A payment, unique within its account.
    PaymentId,
    "payment_id"
);
id_type!(
    /// A promise to pay (or one installment of a plan), unique within its account.
    PromiseId,
    "promise_id"
);
id_type!(
    /// A credit note, unique within its account.
    CreditNoteId,
    "credit_note_id"
);
id_type!(
    /// A payment plan, unique within its account.
    PlanId,
    "plan_id"
);

impl CustomerId {
    /// The name of the account's stream in the log.
    pub fn stream(&self) -> String {
        format!("account-{}", self.0)
    }
}
