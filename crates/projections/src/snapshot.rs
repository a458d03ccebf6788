//! Projection snapshots: the ledger with its checkpoint, the hash of the event at that
//! checkpoint and the policy version it was built under, so a restart replays only the tail.
//!
//! A snapshot is a plain file in the data directory ([`SNAPSHOT_FILE`]), never a value in sled:
//! sled 0.34 keeps values this large as blob files and leaves a copy behind each time the leaf
//! holding them is rewritten (a 1M-event directory grew to 17 GB of identical 69 MB blobs).
//! The file is replaced atomically: written to [`SNAPSHOT_TEMP_FILE`], fsync'd, renamed over
//! the old one, and the directory fsync'd.
//!
//! Layout: [`MAGIC`] (8 bytes), the format number (u32 little endian), the body, then the
//! body's length (u64 LE) and its CRC-32 (u32 LE). The body is bincode (serde API, `=2.0.1`)
//! of the checkpoint, hash, policy version and ledger. The format number is checked before the
//! body is decoded, so a snapshot of another read-model layout is discarded and rebuilt, never
//! misread; the CRC catches a torn or damaged file. A snapshot is a cache, never a source of
//! truth.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::ledger::Ledger;

/// The file, in the store's data directory, that holds the snapshot.
pub const SNAPSHOT_FILE: &str = "projections.snapshot";
/// Where a new snapshot is written before it is renamed over [`SNAPSHOT_FILE`].
pub const SNAPSHOT_TEMP_FILE: &str = "projections.snapshot.tmp";
/// The meta key older builds kept their snapshot under (inside sled). Never read; deleted on the
/// first save so that old directories shrink.
pub const LEGACY_SNAPSHOT_KEY: &str = "projections/snapshot";
/// The first bytes of a snapshot file.
pub const MAGIC: [u8; 8] = *b"dunlogPS";
/// Bump whenever `Ledger`, `Account` or anything inside them changes shape. Format 1 lived in
/// sled's meta tree and is never read; format 2 held the accounts' id indexes (now rebuilt
/// after decoding) and dates and amounts as text (now `domain::binary_form`).
pub const SNAPSHOT_FORMAT: u32 = 3;
/// Largest snapshot decoded, in bytes; bounds what a corrupt length prefix can allocate.
pub const SNAPSHOT_BYTES_MAX: usize = 4 << 30;

const HEADER_BYTES: usize = MAGIC.len() + 4;
const TRAILER_BYTES: usize = 8 + 4;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    checkpoint: u64,
    hash: [u8; 32],
    policy_version: u32,
    ledger: &'a Ledger,
}

/// A decoded snapshot.
#[derive(Deserialize, Debug)]
pub struct Snapshot {
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

/// Encodes `ledger` with the hash of the event at its checkpoint: the whole file's bytes.
pub fn encode(ledger: &Ledger, hash: [u8; 32]) -> Result<Vec<u8>, ProjectionError> {
    let snapshot = SnapshotRef {
        checkpoint: ledger.checkpoint,
        hash,
        policy_version: ledger.policy_version(),
        ledger,
    };
    let mut bytes = Vec::with_capacity(1 << 16);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
    bincode::serde::encode_into_std_write(&snapshot, &mut bytes, config())
        .map_err(|e| ProjectionError::Snapshot(format!("does not encode: {e}")))?;
    let body = &bytes[HEADER_BYTES..];
    let len = body.len() as u64;
    let crc = crc32fast::hash(body);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&crc.to_le_bytes());
    Ok(bytes)
}

fn le_u32(bytes: &[u8]) -> Option<u32> {
    bytes.try_into().ok().map(u32::from_le_bytes)
}

fn le_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_le_bytes)
}

/// Decodes a snapshot file's bytes and checks it is whole and of this build's format.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, ProjectionError> {
    let bad = ProjectionError::Snapshot;
    if bytes.len() < HEADER_BYTES + TRAILER_BYTES || bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("is not a projection snapshot file".to_owned()));
    }
    let format = le_u32(&bytes[MAGIC.len()..HEADER_BYTES])
        .ok_or_else(|| bad("has no format number".to_owned()))?;
    if format != SNAPSHOT_FORMAT {
        return Err(bad(format!(
            "format {format} is not this build's {SNAPSHOT_FORMAT}"
        )));
    }
    let (body, trailer) =
        bytes[HEADER_BYTES..].split_at(bytes.len() - HEADER_BYTES - TRAILER_BYTES);
    let len = le_u64(&trailer[..8]).ok_or_else(|| bad("has no length".to_owned()))?;
    let crc = le_u32(&trailer[8..]).ok_or_else(|| bad("has no checksum".to_owned()))?;
    if len != body.len() as u64 {
        return Err(bad(format!(
            "says its body is {len} bytes but it is {} (cut short or appended to)",
            body.len()
        )));
    }
    if crc != crc32fast::hash(body) {
        return Err(bad(
            "checksum does not match (the file is damaged)".to_owned()
        ));
    }
    let (mut snapshot, read) = bincode::serde::decode_from_slice::<Snapshot, _>(body, config())
        .map_err(|e| bad(format!("does not decode: {e}")))?;
    if read != body.len() {
        return Err(bad(format!("{} trailing bytes", body.len() - read)));
    }
    if snapshot.checkpoint != snapshot.ledger.checkpoint {
        return Err(bad(format!(
            "says checkpoint {} but its ledger is at {}",
            snapshot.checkpoint, snapshot.ledger.checkpoint
        )));
    }
    if snapshot.policy_version != snapshot.ledger.policy_version() {
        return Err(bad(format!(
            "says policy version {} but its ledger has {}",
            snapshot.policy_version,
            snapshot.ledger.policy_version()
        )));
    }
    snapshot.ledger.restore_derived();
    Ok(snapshot)
}

/// The snapshot file of the data directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_FILE)
}

/// Replaces the snapshot file in `dir` with `bytes`, atomically and durably: a temporary file,
/// fsync'd, renamed over the old one, then the directory fsync'd. A crash leaves either the old
/// snapshot or the new one (and perhaps a stray temporary file, overwritten by the next save).
pub fn write_file(dir: &Path, bytes: &[u8]) -> Result<(), ProjectionError> {
    let io = |what: &str, e: std::io::Error| {
        ProjectionError::Snapshot(format!("cannot {what} in {}: {e}", dir.display()))
    };
    let temp = dir.join(SNAPSHOT_TEMP_FILE);
    let mut file = std::fs::File::create(&temp).map_err(|e| io("create the temporary file", e))?;
    file.write_all(bytes)
        .map_err(|e| io("write the temporary file", e))?;
    file.sync_all()
        .map_err(|e| io("sync the temporary file", e))?;
    drop(file);
    std::fs::rename(&temp, path(dir)).map_err(|e| io("rename the snapshot into place", e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync the directory", e))
}

/// The snapshot file's bytes, or `None` when there is none.
pub fn read_file(dir: &Path) -> Result<Option<Vec<u8>>, ProjectionError> {
    match std::fs::read(path(dir)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProjectionError::Snapshot(format!(
            "cannot be read from {}: {e}",
            path(dir).display()
        ))),
    }
}
