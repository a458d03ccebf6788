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

/// Longest identifier kept in place, without a heap allocation.
const INLINE_BYTES_MAX: usize = 22;

/// An identifier's text: short ones (nearly all: `INV-2026-0042`) in place, longer ones on the
/// heap. A ledger holds millions of ids, and copies of them; in place, each costs its 24 bytes
/// and no allocation (docs/performance.md, "Memory and restart"). Only ever built from text
/// [`check_id`] accepted, so it is ASCII.
#[derive(Clone)]
enum IdText {
    Inline {
        len: u8,
        bytes: [u8; INLINE_BYTES_MAX],
    },
    Heap(Box<str>),
}

impl IdText {
    fn new(value: &str) -> IdText {
        let mut bytes = [0u8; INLINE_BYTES_MAX];
        match (bytes.get_mut(..value.len()), u8::try_from(value.len())) {
            (Some(prefix), Ok(len)) => {
                prefix.copy_from_slice(value.as_bytes());
                IdText::Inline { len, bytes }
            }
            _ => IdText::Heap(value.into()),
        }
    }

    /// Text read back from a snapshot (`crate::snapshot_form`), not checked against the id
    /// rule: `None` when longer than any id or, past the inline size, not UTF-8. Inline bytes
    /// are copied as they are; should they not be UTF-8 (a CRC-checked snapshot rules that
    /// out), [`IdText::as_str`] reads them as empty text rather than panic.
    fn from_snapshot(bytes: &[u8]) -> Option<IdText> {
        if bytes.len() > ID_LEN_MAX {
            return None;
        }
        let mut inline = [0u8; INLINE_BYTES_MAX];
        match (inline.get_mut(..bytes.len()), u8::try_from(bytes.len())) {
            (Some(prefix), Ok(len)) => {
                prefix.copy_from_slice(bytes);
                Some(IdText::Inline { len, bytes: inline })
            }
            _ => std::str::from_utf8(bytes)
                .ok()
                .map(|text| IdText::Heap(text.into())),
        }
    }

    /// The text's bytes, without the UTF-8 check `as_str` makes: order and equality compare
    /// these, so that a map lookup does not validate every key it passes.
    fn as_bytes(&self) -> &[u8] {
        match self {
            IdText::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            IdText::Heap(text) => text.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            IdText::Inline { len, bytes } => {
                let text = bytes.get(..usize::from(*len)).unwrap_or_default();
                std::str::from_utf8(text).unwrap_or_default()
            }
            IdText::Heap(text) => text,
        }
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(IdText);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                check_id($field, value)?;
                Ok(Self(IdText::new(value)))
            }
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
            /// An id read back from a projection snapshot whose CRC matched: bytes this build
            /// wrote from an id parsed when it came in, so not checked again. Crate-private:
            /// only `crate::snapshot_form` calls it; ids from the API and the log are parsed.
            pub(crate) fn from_snapshot(bytes: &[u8]) -> Option<Self> {
                IdText::from_snapshot(bytes).map(Self)
            }
        }
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_owned()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        /// As `String`'s would print: `InvoiceId("INV-1")`.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.as_str()).finish()
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }
        /// For ordered maps (`BTreeMap`): the replay finds an account by its stream's bytes
        /// without checking each key it passes as UTF-8. Not for hash maps: the hash is the
        /// text's (`Borrow<str>`).
        impl std::borrow::Borrow<[u8]> for $name {
            fn borrow(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }
        // Equality, order and hash are the text's (`str` compares by its bytes), so that
        // `Borrow<str>` lookups agree.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes() == other.0.as_bytes()
            }
        }
        impl Eq for $name {}
        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.0.as_bytes().cmp(other.0.as_bytes())
            }
        }
        // The hash is the text's, as `Borrow<str>` needs; `Borrow<[u8]>` serves ordered maps
        // only (see above), where the hash plays no part.
        #[allow(clippy::impl_hash_borrow_with_str_and_bytes)]
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state)
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<$name, E> {
                        $name::parse(value).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
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
        format!("account-{}", self.as_str())
    }
}
