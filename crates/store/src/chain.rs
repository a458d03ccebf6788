//! The hash chain of SPEC §6: `hash_n = SHA-256(hash_{n-1} ‖ canonical(envelope_n))`, `hash_0` = 32
//! zero bytes. `canonical` is defined here byte for byte; docs/operations.md repeats it for
//! auditors, and the golden envelope vector pins it.

pub use crate::hex::{from_hex, to_hex};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash before the first event.
pub const HASH_ZERO: [u8; 32] = [0; 32];

/// The fields of an envelope that the chain covers (everything but the two hashes).
#[derive(Clone, Copy, Debug)]
pub struct Canonical<'a> {
    pub position: u64,
    pub version: u64,
    pub schema: u16,
    /// Microseconds since the Unix epoch.
    pub occurred_at_us: i64,
    /// Microseconds since the Unix epoch.
    pub recorded_at_us: i64,
    pub event_id: Uuid,
    pub stream: &'a str,
    pub event_type: &'a str,
    pub actor: &'a str,
    pub correlation_id: Option<&'a str>,
    pub causation_id: Option<&'a str>,
    pub policy_version: Option<u32>,
    pub payload: &'a [u8],
}

/// The canonical bytes of an envelope: position u64 BE ‖ version u64 BE ‖ schema u16 BE ‖
/// occurred_at i64 µs BE ‖ recorded_at i64 µs BE ‖ event_id (16 bytes) ‖ then stream, event_type,
/// actor, correlation_id, causation_id, policy_version (decimal digits) and payload, each as a
/// u32 BE length followed by the bytes; an absent value is empty (length 0).
pub fn canonical(c: &Canonical<'_>) -> Vec<u8> {
    let policy_version = c.policy_version.map(|v| v.to_string()).unwrap_or_default();
    let fields: [&[u8]; 7] = [
        c.stream.as_bytes(),
        c.event_type.as_bytes(),
        c.actor.as_bytes(),
        c.correlation_id.unwrap_or("").as_bytes(),
        c.causation_id.unwrap_or("").as_bytes(),
        policy_version.as_bytes(),
        c.payload,
    ];
    let variable: usize = fields.iter().map(|f| 4 + f.len()).sum();
    let mut out = Vec::with_capacity(8 + 8 + 2 + 8 + 8 + 16 + variable);
    out.extend_from_slice(&c.position.to_be_bytes());
    out.extend_from_slice(&c.version.to_be_bytes());
    out.extend_from_slice(&c.schema.to_be_bytes());
    out.extend_from_slice(&c.occurred_at_us.to_be_bytes());
    out.extend_from_slice(&c.recorded_at_us.to_be_bytes());
    out.extend_from_slice(c.event_id.as_bytes());
    for field in fields {
        // Fields are bounded far below 4 GiB by the codec's size limit.
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// `SHA-256(prev ‖ canonical)`.
pub fn next_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical);
    hasher.finalize().into()
}
