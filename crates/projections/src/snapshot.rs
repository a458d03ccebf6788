//! Projection snapshots: the ledger with its checkpoint, the hash of the event at that
//! checkpoint and the policy version it was built under, so a restart replays only the tail.
//!
//! Encoded with bincode (serde API, `=2.0.1`) behind a format number: a snapshot written by a
//! build whose read-model layout differs does not decode, or decodes to a different format
//! number, and is then discarded and rebuilt — a snapshot is a cache, never a source of truth.

use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::ledger::Ledger;

/// The meta key the runtime keeps its snapshot under.
pub const SNAPSHOT_KEY: &str = "projections/snapshot";
/// Bump whenever `Ledger`, `Account` or anything inside them changes shape.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Largest snapshot decoded, in bytes; bounds what a corrupt length prefix can allocate.
pub const SNAPSHOT_BYTES_MAX: usize = 4 << 30;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    checkpoint: u64,
    hash: [u8; 32],
    policy_version: u32,
    ledger: &'a Ledger,
}

/// A decoded snapshot.
#[derive(Deserialize, Debug)]
pub struct Snapshot {
    pub format: u32,
    pub checkpoint: u64,
    /// The hash of the event at `checkpoint` (zeros for an empty log).
    pub hash: [u8; 32],
    pub policy_version: u32,
    pub ledger: Ledger,
}

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<SNAPSHOT_BYTES_MAX>,
> {
    bincode::config::standard().with_limit::<SNAPSHOT_BYTES_MAX>()
}

/// Encodes `ledger` with the hash of the event at its checkpoint.
pub fn encode(ledger: &Ledger, hash: [u8; 32]) -> Result<Vec<u8>, ProjectionError> {
    let snapshot = SnapshotRef {
        format: SNAPSHOT_FORMAT,
        checkpoint: ledger.checkpoint,
        hash,
        policy_version: ledger.policy_version(),
        ledger,
    };
    bincode::serde::encode_to_vec(&snapshot, config())
        .map_err(|e| ProjectionError::Snapshot(format!("does not encode: {e}")))
}

/// Decodes a snapshot and checks it is whole and of this build's format.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, ProjectionError> {
    let (mut snapshot, read) = bincode::serde::decode_from_slice::<Snapshot, _>(bytes, config())
        .map_err(|e| ProjectionError::Snapshot(format!("does not decode: {e}")))?;
    if read != bytes.len() {
        return Err(ProjectionError::Snapshot(format!(
            "{} trailing bytes",
            bytes.len() - read
        )));
    }
    if snapshot.format != SNAPSHOT_FORMAT {
        return Err(ProjectionError::Snapshot(format!(
            "format {} is not this build's {SNAPSHOT_FORMAT}",
            snapshot.format
        )));
    }
    if snapshot.checkpoint != snapshot.ledger.checkpoint {
        return Err(ProjectionError::Snapshot(format!(
            "says checkpoint {} but its ledger is at {}",
            snapshot.checkpoint, snapshot.ledger.checkpoint
        )));
    }
    if snapshot.policy_version != snapshot.ledger.policy_version() {
        return Err(ProjectionError::Snapshot(format!(
            "says policy version {} but its ledger has {}",
            snapshot.policy_version,
            snapshot.ledger.policy_version()
        )));
    }
    snapshot.ledger.restore_derived();
    Ok(snapshot)
}
