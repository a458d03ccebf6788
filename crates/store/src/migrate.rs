//! Upgrading a format-1 log (one `e/` envelope and one `s/` index entry per event) to format 2
//! (blocks and runs, see `keys.rs`) in place, when a store opens.
//!
//! The upgrade moves the lowest positions first, in chunks; each chunk is one atomic sled batch
//! that writes the chunk's blocks and runs and removes its old keys, so at every moment each
//! event is stored exactly once. The format becomes 2 only once no old key is left. A crash in
//! the middle leaves a consistent mix that the next open resumes from: blocks up to some
//! position, `e/` keys after it. Envelopes are copied byte for byte, so every hash stays the
//! same; idempotency records and the chain head are not touched.
//!
//! An old log that is already damaged (a gap, an envelope that does not decode, an index entry
//! that does not name its event, a stray index entry) is refused with the position, and not
//! "repaired" by the upgrade: the evidence stays as it was.

use crate::block::{self, LogBatch};
use crate::codec;
use crate::error::StoreError;
use crate::keys;

/// Chunks moved between two flushes of sled's page cache, which bounds what a crash can make
/// the next open redo.
const CHUNKS_PER_FLUSH: usize = 16;

fn refused(position: u64, reason: String) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: format!("{reason}; the format-1 log cannot be upgraded"),
    }
}

/// Upgrades the log in `tree` from format `found` to 2, `chunk_events` events per atomic batch.
/// With `chunks_max`, stops after that many chunks (a test seam that leaves a half-upgraded log,
/// as a crash would). Returns whether the upgrade finished (the format is then 2).
pub(crate) fn upgrade(
    tree: &sled::Tree,
    found: u32,
    chunk_events: usize,
    chunks_max: Option<usize>,
) -> Result<bool, StoreError> {
    if found != 1 {
        return Err(StoreError::Invalid(format!(
            "the data directory has format {found}, which this dunlog cannot upgrade"
        )));
    }
    // Where an earlier, interrupted upgrade stopped: one past the last block.
    let mut next = block::last_stored(tree)? + 1;
    if next == 1 {
        tracing::info!("upgrading the log from format 1 to format 2");
    } else {
        tracing::info!(from = next, "resuming the upgrade of the log to format 2");
    }
    let mut chunks = 0usize;
    loop {
        if chunks_max.is_some_and(|max| chunks >= max) {
            tree.flush()?;
            return Ok(false);
        }
        let mut log = LogBatch::default();
        for item in tree
            .scan_prefix(keys::V1_EVENT_PREFIX)
            .take(chunk_events.max(1))
        {
            let (k, v) = item?;
            let position = keys::v1_event_position(&k)
                .ok_or_else(|| refused(next, "malformed event key".to_owned()))?;
            if position != next {
                return Err(refused(next, "missing from the log".to_owned()));
            }
            let env = codec::decode_envelope(&v)
                .map_err(|e| refused(position, format!("envelope: {e}")))?;
            if env.position != position {
                return Err(refused(
                    position,
                    format!("envelope stored under {position} says {}", env.position),
                ));
            }
            let index_key = keys::v1_stream_index(&env.stream, env.version);
            let indexed = tree.get(&index_key)?;
            if indexed.as_deref().and_then(keys::u64_value) != Some(position) {
                return Err(refused(
                    position,
                    format!(
                        "the stream index of {} version {} does not point here",
                        env.stream, env.version
                    ),
                ));
            }
            log.remove(k.to_vec());
            log.remove(index_key);
            log.push(position, &env.stream, env.version, v.to_vec());
            next += 1;
        }
        if log.events() == 0 {
            break;
        }
        tree.apply_batch(log.finish())?;
        chunks += 1;
        if chunks % CHUNKS_PER_FLUSH == 0 {
            tree.flush()?;
        }
    }
    if let Some(item) = tree.scan_prefix(keys::V1_STREAM_INDEX_PREFIX).next() {
        let (k, v) = item?;
        return Err(refused(
            keys::u64_value(&v).unwrap_or(0),
            format!("stray stream index entry {:?}", String::from_utf8_lossy(&k)),
        ));
    }
    tree.insert(keys::FORMAT, &2u32.to_be_bytes()[..])?;
    tree.flush()?;
    tracing::info!(events = next - 1, "the log is in format 2");
    Ok(true)
}
