//! `verify`: walks the chain, the positions and the indexes, and names the first bad position.

use std::collections::HashMap;

use crate::chain::{self, HASH_ZERO};
use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, ChainHead};
use crate::reader::Reader;
use crate::recorded::RecordedEvent;

/// The result of [`crate::Store::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    /// Events checked before the first problem (all of them when `ok`).
    pub checked: u64,
    pub first_bad_position: Option<u64>,
    pub message: Option<String>,
}

impl Verification {
    fn bad(checked: u64, position: u64, message: String) -> Verification {
        Verification {
            ok: false,
            checked,
            first_bad_position: Some(position),
            message: Some(message),
        }
    }
}

/// A stream index entry: the position it names and its key.
type IndexEntry = (u64, Vec<u8>);

impl Reader {
    /// Checks positions `after + 1 ..= head`. With `after = 0` it also checks that every stream's
    /// versions run 1, 2, 3, … and that the stream index holds nothing else. With `after > 0` the
    /// chain starts from the hash stored at `after` (see [`Reader::verify_tail`] to start from a
    /// hash remembered elsewhere instead).
    pub(crate) fn verify(&self, after: u64) -> Result<Verification, StoreError> {
        if after == 0 {
            return self.walk(0, HASH_ZERO, i64::MIN);
        }
        match self.tree.get(keys::event(after))? {
            None => Ok(Verification::bad(0, after, "missing from the log".into())),
            Some(bytes) => match codec::decode_envelope(&bytes) {
                Ok(env) => self.walk(after, env.hash, env.recorded_at_us),
                Err(e) => Ok(Verification::bad(0, after, format!("envelope: {e}"))),
            },
        }
    }

    /// Checks positions `after + 1 ..= head` against `hash_at_after`, a hash of position `after`
    /// that the caller remembers from an earlier verification; nothing at or before `after` is
    /// read. A log that ends before `after` is reported at its first missing position.
    pub(crate) fn verify_tail(
        &self,
        after: u64,
        hash_at_after: [u8; 32],
    ) -> Result<Verification, StoreError> {
        let head = self.head();
        if after > head {
            return Ok(Verification::bad(
                0,
                head + 1,
                format!("missing from the log, which ends at {head}; position {after} was verified before"),
            ));
        }
        // recorded_at of `after` is not re-read; the hash link covers the first tail event.
        self.walk(after, hash_at_after, i64::MIN)
    }

    /// The walk behind both: `prev_hash` and `prev_recorded_at_us` are those of `after`.
    fn walk(
        &self,
        after: u64,
        mut prev_hash: [u8; 32],
        mut prev_recorded_at_us: i64,
    ) -> Result<Verification, StoreError> {
        let head = self.head();
        let whole = after == 0;
        let mut versions: HashMap<String, u64> = HashMap::new();
        let mut checked = 0u64;
        let mut expected = after + 1;
        for item in self
            .tree
            .range(keys::event(after + 1)..=keys::event(u64::MAX))
        {
            let (k, v) = item?;
            let Some(position) = keys::event_position(&k) else {
                return Ok(Verification::bad(
                    checked,
                    expected,
                    "malformed event key".into(),
                ));
            };
            if position != expected {
                return Ok(Verification::bad(
                    checked,
                    expected,
                    "missing from the log".into(),
                ));
            }
            if position > head {
                // Appended but not yet durable (a live store): not part of this check.
                break;
            }
            let event = match RecordedEvent::from_stored(position, &v) {
                Ok(e) => e,
                Err(e) => return Ok(Verification::bad(checked, position, e.to_string())),
            };
            if event.prev_hash != prev_hash {
                return Ok(Verification::bad(
                    checked,
                    position,
                    "prev_hash is not the hash of the previous event".into(),
                ));
            }
            let computed = event.computed_hash();
            if computed != event.hash {
                return Ok(Verification::bad(
                    checked,
                    position,
                    format!(
                        "hash mismatch: stored {}, computed {}",
                        chain::to_hex(&event.hash),
                        chain::to_hex(&computed)
                    ),
                ));
            }
            let recorded_at_us = event.recorded_at.timestamp_micros();
            if recorded_at_us < prev_recorded_at_us {
                return Ok(Verification::bad(
                    checked,
                    position,
                    "recorded_at is earlier than the previous event's".into(),
                ));
            }
            if let Some(problem) = self.check_index(&event, whole, &mut versions)? {
                return Ok(Verification::bad(checked, position, problem));
            }
            prev_hash = event.hash;
            prev_recorded_at_us = recorded_at_us;
            checked += 1;
            expected += 1;
        }
        if expected - 1 != head {
            return Ok(Verification::bad(
                checked,
                expected,
                "missing from the log".into(),
            ));
        }
        // On a live store, groups may be applied past `head` while we walk. A batch is atomic
        // to single reads, so the chain head read last covers every entry seen before it.
        let index_entries = self.index_entries(head)?;
        let last_stored = match self.tree.scan_prefix(keys::EVENT_PREFIX).next_back() {
            None => 0,
            Some(item) => keys::event_position(&item?.0).unwrap_or(u64::MAX),
        };
        let chain_head = match self.tree.get(keys::CHAIN_HEAD)? {
            None => ChainHead::EMPTY,
            Some(b) => match ChainHead::decode(&b) {
                Some(h) => h,
                None => {
                    return Ok(Verification::bad(
                        checked,
                        head,
                        "malformed chain head".into(),
                    ))
                }
            },
        };
        if last_stored > chain_head.position.max(head) {
            return Ok(Verification::bad(
                checked,
                chain_head.position.max(head) + 1,
                format!("events stored up to {last_stored}, past the chain head"),
            ));
        }
        let head_hash_wrong = chain_head.position == head && chain_head.hash != prev_hash;
        if chain_head.position < head || head_hash_wrong {
            return Ok(Verification::bad(
                checked,
                head,
                "the chain head record disagrees with the log".into(),
            ));
        }
        if whole {
            let (durable, stray) = index_entries;
            if let Some((position, key)) = stray.filter(|(p, _)| *p > chain_head.position) {
                return Ok(Verification::bad(
                    checked,
                    position.min(head),
                    format!("stray stream index entry {key:?} names position {position}"),
                ));
            }
            if durable != head {
                return Ok(Verification::bad(
                    checked,
                    head,
                    format!("the stream index has {durable} entries for {head} events"),
                ));
            }
        }
        Ok(Verification {
            ok: true,
            checked,
            first_bad_position: None,
            message: None,
        })
    }

    /// The stream index must point back at this event; on a whole-log walk its version must
    /// follow the stream's previous one.
    fn check_index(
        &self,
        event: &RecordedEvent,
        whole: bool,
        versions: &mut HashMap<String, u64>,
    ) -> Result<Option<String>, StoreError> {
        let indexed = self
            .tree
            .get(keys::stream_index(&event.stream, event.version))?;
        if indexed.as_deref().and_then(keys::u64_value) != Some(event.position) {
            return Ok(Some(format!(
                "the stream index of {} version {} does not point here",
                event.stream, event.version
            )));
        }
        if whole {
            let last = versions.get(&event.stream).copied().unwrap_or(0);
            if event.version != last + 1 {
                return Ok(Some(format!(
                    "{} version {} follows version {last}",
                    event.stream, event.version
                )));
            }
            versions.insert(event.stream.clone(), event.version);
        } else if event.version == 0 {
            return Ok(Some("version 0".into()));
        }
        Ok(None)
    }

    /// Counts stream index entries naming positions up to `head`, and returns the entry naming
    /// the highest position above it, if any (in flight on a live store, or stray).
    fn index_entries(&self, head: u64) -> Result<(u64, Option<IndexEntry>), StoreError> {
        let mut durable = 0u64;
        let mut beyond: Option<IndexEntry> = None;
        for item in self.tree.scan_prefix(keys::STREAM_INDEX_PREFIX) {
            let (k, v) = item?;
            let position = keys::u64_value(&v).unwrap_or(u64::MAX);
            if position <= head {
                durable += 1;
            } else if beyond.as_ref().is_none_or(|(p, _)| position > *p) {
                beyond = Some((position, k.to_vec()));
            }
        }
        Ok((durable, beyond))
    }
}
