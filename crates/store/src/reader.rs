//! Reads of the log, never past the durable head: what a reader sees survives any crash.

use tokio::sync::watch;

use crate::append::{check_stream, IdempotencyRecord};
use crate::block::{self, LogIter};
use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, Run};
use crate::recorded::RecordedEvent;

/// A read handle on the log tree and the durable head. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Reader {
    pub tree: sled::Tree,
    pub head_rx: watch::Receiver<u64>,
}

impl Reader {
    /// The last durable position (0 = empty log).
    pub(crate) fn head(&self) -> u64 {
        *self.head_rx.borrow()
    }

    pub(crate) fn get(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        block::event_at(&self.tree, position)
    }

    /// Events at positions `after + 1 ..= head`, in order, as the head stood when called.
    pub(crate) fn iter_from(&self, after: u64) -> LogIter {
        LogIter::new(&self.tree, after, self.head())
    }

    pub(crate) fn read_from(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.iter_from(after).take(limit).collect()
    }

    pub(crate) fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        check_stream(stream)?;
        let head = self.head();
        for item in self.tree.scan_prefix(keys::run_prefix(stream)).rev() {
            let (k, v) = item?;
            let (_, version) = keys::parse_run(&k).ok_or_else(|| bad_index(&k))?;
            let run = Run::decode(&v).ok_or_else(|| bad_index(&k))?;
            // Runs past the head belong to a group not yet durable; a run never spans groups.
            if run.first_position <= head {
                return Ok(version);
            }
        }
        Ok(0)
    }

    pub(crate) fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_stream(stream)?;
        let head = self.head();
        let Some(first) = after_version.checked_add(1) else {
            return Ok(Vec::new());
        };
        // The first run returned may start before `first`: its key is its last version.
        let range = keys::run(stream, first)..=keys::run(stream, u64::MAX);
        let mut out = Vec::new();
        for item in self.tree.range(range) {
            let (k, v) = item?;
            let (_, last_version) = keys::parse_run(&k).ok_or_else(|| bad_index(&k))?;
            let run = Run::decode(&v).ok_or_else(|| bad_index(&k))?;
            let count = u64::from(run.count);
            let first_version = last_version
                .checked_add(1)
                .and_then(|v| v.checked_sub(count))
                .filter(|v| *v >= 1)
                .ok_or_else(|| bad_index(&k))?;
            if run.last_position() > head {
                break;
            }
            let skip = first.saturating_sub(first_version);
            let from = run.first_position.saturating_add(skip);
            let events = LogIter::new(&self.tree, from.saturating_sub(1), run.last_position());
            for (version, event) in (first_version + skip..).zip(events) {
                let event = event.map_err(|e| match e {
                    StoreError::Corrupt { position, reason } => StoreError::Corrupt {
                        position,
                        reason: format!(
                            "{reason}, named by the index of {stream} version {version}"
                        ),
                    },
                    other => other,
                })?;
                if event.stream != stream || event.version != version {
                    return Err(StoreError::Corrupt {
                        position: event.position,
                        reason: format!(
                            "the index of {stream} version {version} points at {} version {}",
                            event.stream, event.version
                        ),
                    });
                }
                out.push(event);
            }
        }
        Ok(out)
    }

    pub(crate) fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let Some(bytes) = self.tree.get(keys::idempotency(key))? else {
            return Ok(None);
        };
        let entry = codec::decode_idempotency(&bytes).map_err(|e| StoreError::Corrupt {
            position: 0,
            reason: format!("idempotency record {key:?}: {e}"),
        })?;
        let end = entry
            .first_position
            .checked_add(entry.count)
            .filter(|_| entry.first_position > 0 && entry.count > 0)
            .ok_or_else(|| StoreError::Corrupt {
                position: entry.first_position,
                reason: format!(
                    "idempotency record {key:?} names {} events from position {}",
                    entry.count, entry.first_position
                ),
            })?;
        if end - 1 > self.head() {
            return Ok(None);
        }
        Ok(Some(IdempotencyRecord {
            fingerprint: entry.fingerprint,
            positions: (entry.first_position..end).collect(),
        }))
    }
}

fn bad_index(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        position: 0,
        reason: format!(
            "malformed stream index entry {:?}",
            String::from_utf8_lossy(key)
        ),
    }
}
