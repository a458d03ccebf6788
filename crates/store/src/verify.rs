//! `verify`: walks the chain, the positions and the indexes, and names the first bad position.

use std::collections::HashMap;

use crate::block::{self, LogIter};
use crate::chain::{self, HASH_ZERO};
use crate::error::StoreError;
use crate::keys::{self, ChainHead, PendingGroup, Run};
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

/// A stream index run: the first position it names and its key.
type IndexEntry = (u64, Vec<u8>);

/// The run the last event was found in: stream, first version, last version, first position.
type RunSeen = (String, u64, u64, u64);

impl Reader {
    /// Checks positions `after + 1 ..= head`. With `after = 0` it also checks that every stream's
    /// versions run 1, 2, 3, … and that the stream index holds nothing else. With `after > 0` the
    /// chain starts from the hash stored at `after` (see [`Reader::verify_tail`] to start from a
    /// hash remembered elsewhere instead).
    ///
    /// `inspect` sees each event that passed the checks, in position order, so a caller can
    /// look at the events themselves in the same pass over the log.
    pub(crate) fn verify(
        &self,
        after: u64,
        inspect: &mut dyn FnMut(&RecordedEvent),
    ) -> Result<Verification, StoreError> {
        if after == 0 {
            return self.walk(0, HASH_ZERO, i64::MIN, inspect);
        }
        match self.get(after) {
            Ok(None) => Ok(Verification::bad(0, after, "missing from the log".into())),
            Ok(Some(event)) => self.walk(
                after,
                event.hash,
                event.recorded_at.timestamp_micros(),
                inspect,
            ),
            Err(StoreError::Corrupt { reason, .. }) => Ok(Verification::bad(0, after, reason)),
            Err(e) => Err(e),
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
        self.walk(after, hash_at_after, i64::MIN, &mut |_| {})
    }

    /// The walk behind both: `prev_hash` and `prev_recorded_at_us` are those of `after`.
    fn walk(
        &self,
        after: u64,
        mut prev_hash: [u8; 32],
        mut prev_recorded_at_us: i64,
        inspect: &mut dyn FnMut(&RecordedEvent),
    ) -> Result<Verification, StoreError> {
        let head = self.head();
        let whole = after == 0;
        let mut versions: HashMap<String, u64> = HashMap::new();
        let mut checked = 0u64;
        let mut run_seen: Option<RunSeen> = None;
        for item in LogIter::new(&self.tree, after, head) {
            let event = match item {
                Ok(event) => event,
                Err(StoreError::Corrupt { position, reason }) => {
                    return Ok(Verification::bad(checked, position, reason))
                }
                Err(e) => return Err(e),
            };
            let position = event.position;
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
            if let Some(problem) = self.check_index(&event, whole, &mut versions, &mut run_seen)? {
                return Ok(Verification::bad(checked, position, problem));
            }
            inspect(&event);
            prev_hash = event.hash;
            prev_recorded_at_us = recorded_at_us;
            checked += 1;
        }
        // On a live store, groups may be written into sled past `head` while we walk, key by
        // key: the group's list first, its keys, its chain head last (decision 0040). So an
        // entry seen here belongs to a group the chain head read after covers, or to the group
        // being written, which the list read between them names: read in that order, nothing
        // seen is past both.
        let index_entries = self.index_entries(head)?;
        let last_stored = match block::last_stored(&self.tree) {
            Ok(last) => last,
            Err(StoreError::Corrupt { .. }) => u64::MAX,
            Err(e) => return Err(e),
        };
        let (being_written, chain_head) = self.group_being_written_and_chain_head()?;
        let Some(chain_head) = chain_head else {
            return Ok(Verification::bad(
                checked,
                head,
                "malformed chain head".into(),
            ));
        };
        let written = chain_head.position.max(head).max(being_written);
        if last_stored > written {
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
            if let Some((position, key)) = stray.filter(|(p, _)| *p > written) {
                return Ok(Verification::bad(
                    checked,
                    position.min(head),
                    format!(
                        "stray stream index run {:?} names position {position}",
                        String::from_utf8_lossy(&key)
                    ),
                ));
            }
            if durable != head {
                return Ok(Verification::bad(
                    checked,
                    head,
                    format!("the stream index covers {durable} events for {head} events"),
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

    /// The last position the group being written names (0 if none), then the chain head
    /// (`None` if malformed), read in that order (see the end of [`Reader::walk`]).
    fn group_being_written_and_chain_head(&self) -> Result<(u64, Option<ChainHead>), StoreError> {
        let being_written = self
            .tree
            .get(keys::PENDING_GROUP)?
            .and_then(|bytes| PendingGroup::decode(&bytes))
            .map_or(0, |group| group.last);
        let chain_head = match self.tree.get(keys::CHAIN_HEAD)? {
            None => Some(ChainHead::EMPTY),
            Some(b) => ChainHead::decode(&b),
        };
        Ok((being_written, chain_head))
    }

    /// The stream index must point back at this event; on a whole-log walk its version must
    /// follow the stream's previous one. `run_seen` keeps the last run looked up, so the events of
    /// one run cost one lookup.
    fn check_index(
        &self,
        event: &RecordedEvent,
        whole: bool,
        versions: &mut HashMap<String, u64>,
        run_seen: &mut Option<RunSeen>,
    ) -> Result<Option<String>, StoreError> {
        let cached = run_seen.as_ref().filter(|(stream, first, last, _)| {
            *stream == event.stream && (*first..=*last).contains(&event.version)
        });
        let run = match cached {
            Some(run) => Some(run.clone()),
            None => self.run_of(&event.stream, event.version)?,
        };
        let points_here = run
            .as_ref()
            .is_some_and(|(_, first_version, _, first_position)| {
                event.version >= *first_version
                    && first_position.checked_add(event.version - first_version)
                        == Some(event.position)
            });
        if !points_here {
            return Ok(Some(format!(
                "the stream index of {} version {} does not point here",
                event.stream, event.version
            )));
        }
        *run_seen = run;
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

    /// The run of `stream` whose versions include `version`, if the index has one that decodes.
    fn run_of(&self, stream: &str, version: u64) -> Result<Option<RunSeen>, StoreError> {
        let range = keys::run(stream, version)..=keys::run(stream, u64::MAX);
        let Some(item) = self.tree.range(range).next() else {
            return Ok(None);
        };
        let (k, v) = item?;
        let (Some((_, last)), Some(run)) = (keys::parse_run(&k), Run::decode(&v)) else {
            return Ok(None);
        };
        let Some(first) = last
            .checked_add(1)
            .and_then(|l| l.checked_sub(u64::from(run.count)))
        else {
            return Ok(None);
        };
        Ok((first <= version).then(|| (stream.to_owned(), first, last, run.first_position)))
    }

    /// Counts the events of stream index runs that end at or before `head`, and returns the run
    /// starting at the highest position past it, if any (in flight on a live store, or stray).
    fn index_entries(&self, head: u64) -> Result<(u64, Option<IndexEntry>), StoreError> {
        let mut durable = 0u64;
        let mut beyond: Option<IndexEntry> = None;
        for item in self.tree.scan_prefix(keys::RUN_PREFIX) {
            let (k, v) = item?;
            let run = Run::decode(&v);
            match run {
                Some(run) if run.last_position() <= head => {
                    durable = durable.saturating_add(u64::from(run.count));
                }
                _ => {
                    let position = run.map_or(u64::MAX, |r| r.first_position);
                    if beyond.as_ref().is_none_or(|(p, _)| position > *p) {
                        beyond = Some((position, k.to_vec()));
                    }
                }
            }
        }
        Ok((durable, beyond))
    }
}
