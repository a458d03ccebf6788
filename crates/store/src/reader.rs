//! Reads of the log, never past the durable head: what a reader sees survives any crash.

use tokio::sync::watch;

use crate::append::{check_stream, IdempotencyRecord};
use crate::codec;
use crate::error::StoreError;
use crate::keys;
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
        match self.tree.get(keys::event(position))? {
            None => Ok(None),
            Some(bytes) => RecordedEvent::from_stored(position, &bytes).map(Some),
        }
    }

    /// Events at positions `after + 1 ..= head`, in order, as the head stood when called.
    pub(crate) fn iter_from(&self, after: u64) -> LogIter {
        let end = self.head();
        let inner =
            (after < end).then(|| self.tree.range(keys::event(after + 1)..=keys::event(end)));
        LogIter {
            inner,
            expected: after.saturating_add(1),
            end,
        }
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
        for item in self
            .tree
            .scan_prefix(keys::stream_index_prefix(stream))
            .rev()
        {
            let (k, v) = item?;
            let (_, version) = keys::parse_stream_index(&k).ok_or_else(|| bad_index(&k))?;
            let position = keys::u64_value(&v).ok_or_else(|| bad_index(&k))?;
            // Index entries past the head belong to a group not yet durable.
            if position <= head {
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
        let range = keys::stream_index(stream, first)..=keys::stream_index(stream, u64::MAX);
        let mut out = Vec::new();
        for item in self.tree.range(range) {
            let (k, v) = item?;
            let (_, version) = keys::parse_stream_index(&k).ok_or_else(|| bad_index(&k))?;
            let position = keys::u64_value(&v).ok_or_else(|| bad_index(&k))?;
            if position > head {
                break;
            }
            let event = self.get(position)?.ok_or_else(|| StoreError::Corrupt {
                position,
                reason: format!("missing, named by the index of {stream} version {version}"),
            })?;
            if event.stream != stream || event.version != version {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!(
                        "the index of {stream} version {version} points at {} version {}",
                        event.stream, event.version
                    ),
                });
            }
            out.push(event);
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
        let last = entry.first_position + entry.count.saturating_sub(1);
        if last > self.head() {
            return Ok(None);
        }
        Ok(Some(IdempotencyRecord {
            fingerprint: entry.fingerprint,
            positions: (entry.first_position..entry.first_position + entry.count).collect(),
        }))
    }
}

fn bad_index(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        position: 0,
        reason: format!("malformed stream index entry {key:?}"),
    }
}

/// Streams the log in position order; stops after the first error.
pub(crate) struct LogIter {
    inner: Option<sled::Iter>,
    expected: u64,
    end: u64,
}

impl Iterator for LogIter {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = self.inner.as_mut()?;
        let item = inner.next();
        let expected = self.expected;
        let result = match item {
            None if expected <= self.end => Err(StoreError::Corrupt {
                position: expected,
                reason: "missing from the log".to_owned(),
            }),
            None => {
                self.inner = None;
                return None;
            }
            Some(Err(e)) => Err(e.into()),
            Some(Ok((k, v))) => match keys::event_position(&k) {
                Some(p) if p == expected => {
                    self.expected += 1;
                    return Some(RecordedEvent::from_stored(p, &v).inspect_err(|_| {
                        self.inner = None;
                    }));
                }
                _ => Err(StoreError::Corrupt {
                    position: expected,
                    reason: "missing from the log".to_owned(),
                }),
            },
        };
        self.inner = None;
        Some(result)
    }
}
