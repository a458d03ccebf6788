//! The single writer: takes appends from a channel, commits them in groups with one write to the
//! write-ahead file and one `fdatasync` per group, and only then answers each caller (SPEC §6
//! group commit; docs/decisions/0040).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::append::{AppendOutcome, PreparedAppend};
use crate::block::{LogBatch, LogIter, Write};
use crate::chain::{self, Canonical};
use crate::codec::{self, Envelope, IdempotencyEntry};
use crate::durability::Durability;
use crate::error::StoreError;
use crate::keys::{self, ChainHead, PendingGroup};
use crate::reclaim;
use crate::recorded::{instant_from_us, RecordedEvent};
use crate::wal::{GroupRecord, Wal, WalFile};

/// Most events committed by one group; the rest wait for the next group.
pub(crate) const GROUP_EVENTS_MAX: usize = 4_096;
/// Most appends waiting for the writer; callers beyond it wait to enqueue (backpressure).
pub(crate) const QUEUED_APPENDS_MAX: usize = 4_096;

pub(crate) struct Request {
    pub append: PreparedAppend,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// How many applied groups may wait for their flush while the writer stages the next one.
const GROUPS_IN_FLIGHT_MAX: usize = 2;

pub(crate) struct Writer {
    pub db: sled::Db,
    pub tree: sled::Tree,
    /// sled's own files, synced at each checkpoint of the write-ahead file.
    pub durability: Arc<Mutex<Durability>>,
    pub wal: Wal,
    /// The head as applied to sled (durable, or about to be).
    pub head: ChainHead,
    pub head_tx: watch::Sender<u64>,
    /// Versions of streams as applied to sled.
    pub versions: HashMap<String, u64>,
}

/// What the group being committed has staged so far.
struct Stage {
    head: ChainHead,
    versions: HashMap<String, u64>,
    /// Idempotency keys staged in this group: fingerprint and the index of their outcome.
    idempotency: HashMap<String, ([u8; 32], usize)>,
    /// The group's blocks, runs, idempotency records and chain head.
    log: LogBatch,
    wrote: bool,
}

/// A group applied to sled (or refused), on its way to being made durable and answered.
struct Applied {
    replies: Vec<oneshot::Sender<Result<AppendOutcome, StoreError>>>,
    outcomes: Vec<Result<AppendOutcome, StoreError>>,
    /// The head after this group, if it wrote anything.
    head: Option<u64>,
    /// Events this group wrote.
    events: u64,
    /// This group's own commit failed: its outcomes already say why.
    failed: bool,
}

impl Applied {
    /// A group whose own commit failed: the store refuses every later append (`failure`), and
    /// each of this group's callers hears why.
    fn failed(
        replies: Vec<oneshot::Sender<Result<AppendOutcome, StoreError>>>,
        msg: String,
        failure: &Failure,
        what: &str,
    ) -> Applied {
        tracing::error!(error = %msg, "{what}; refusing further appends");
        failure.set(msg.clone());
        let outcomes = replies
            .iter()
            .map(|_| Err(StoreError::Io(msg.clone())))
            .collect();
        Applied {
            replies,
            outcomes,
            head: None,
            events: 0,
            failed: true,
        }
    }
}

/// Set once a commit failed after touching sled: memory and disk may then disagree, so every
/// later append is refused until the store is reopened (a failed fsync cannot be retried).
#[derive(Default)]
struct Failure(Mutex<Option<String>>);

impl Failure {
    fn get(&self) -> Option<String> {
        self.0
            .lock()
            .map_or_else(|_| Some("poisoned".to_owned()), |f| f.clone())
    }

    fn set(&self, msg: String) {
        if let Ok(mut f) = self.0.lock() {
            f.get_or_insert(msg);
        }
    }
}

fn refused(msg: &str) -> StoreError {
    StoreError::Io(format!(
        "an earlier commit failed ({msg}); reopen the store"
    ))
}

impl Writer {
    /// Runs the writer: this thread orders and hashes groups, writes each to the write-ahead
    /// file and applies it to sled (in memory); a second thread syncs the write-ahead file and
    /// only then answers the group's callers. Staging group n + 1 overlaps with the `fdatasync`
    /// of group n; no caller hears back before its group (and every group before it) is durable.
    /// A lone caller's group skips the hand-off: the writer syncs and answers it itself.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Request>) {
        let finisher = Arc::new(Finisher {
            wal: self.wal.file.clone(),
            failure: Arc::new(Failure::default()),
            head_tx: self.head_tx.clone(),
            in_flight: AtomicUsize::new(0),
        });
        let failure = finisher.failure.clone();
        let (applied_tx, applied_rx) =
            std::sync::mpsc::sync_channel::<Applied>(GROUPS_IN_FLIGHT_MAX);
        let syncer = {
            let finisher = finisher.clone();
            std::thread::Builder::new()
                .name("dunlog-store-sync".to_owned())
                .spawn(move || sync_loop(&finisher, applied_rx))
        };
        let syncer = match syncer {
            Ok(handle) => handle,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the store's sync thread");
                return;
            }
        };
        let mut previous_group_len = 0;
        while let Some(first) = rx.blocking_recv() {
            let mut events = first.append.events.len();
            let mut group = vec![first];
            while events < GROUP_EVENTS_MAX {
                match rx.try_recv() {
                    Ok(r) => {
                        events += r.append.events.len();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            let group_len = group.len();
            let applied = self.apply(group, &failure);
            // One caller at a time (this group and the one before each held one append, and
            // nobody waits): nothing could be staged while this group syncs, so the hand-off
            // to the sync thread and back would only add latency. The sync thread has answered
            // every earlier group (none in flight), so answering here keeps the order.
            let alone = group_len == 1 && previous_group_len == 1 && rx.is_empty();
            previous_group_len = group_len;
            if alone && finisher.in_flight.load(Ordering::Acquire) == 0 {
                finisher.finish(applied);
                continue;
            }
            finisher.in_flight.fetch_add(1, Ordering::AcqRel);
            if applied_tx.send(applied).is_err() {
                break;
            }
        }
        drop(applied_tx);
        let _ = syncer.join();
        // A clean close leaves sled complete on disk and nothing to replay: the next open (or a
        // tool reading sled directly) sees every event in sled itself.
        if failure.get().is_none() {
            let closed = self.checkpoint().and_then(|()| Ok(self.wal.file.sync()?));
            if let Err(e) = closed {
                tracing::warn!(error = %e, "cannot checkpoint the store on close");
            }
        }
        tracing::debug!(head = self.head.position, "store writer stopped");
    }

    /// Makes sled durable up to the head applied so far and starts a new cycle of the
    /// write-ahead file after a checkpoint of it.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.durability
            .lock()
            .map_err(|_| StoreError::Io("durability lock poisoned".to_owned()))?
            .sync()?;
        self.wal.checkpoint(&self.head)?;
        Ok(())
    }

    /// Writes a group's record to the write-ahead file, first starting a new cycle if this
    /// one is full.
    fn log_group(&mut self, record: &[u8]) -> Result<(), StoreError> {
        if self.wal.wants_checkpoint(record.len()) {
            self.checkpoint()?;
        }
        self.wal.append(record)?;
        Ok(())
    }

    /// Writes a group's writes to sled (in memory; sled writes them out in its own time) as
    /// plain inserts, not one batch: a batch makes sled write out its buffer before and after
    /// it (two device writes per group beside our one `fdatasync`). The keys go first under
    /// [`keys::PENDING_GROUP`] and the chain head last, so that what a crash leaves of the
    /// group past the head can be found and removed on open (decision 0040).
    fn write_to_sled(&self, writes: Vec<Write>, head: &ChainHead) -> Result<(), StoreError> {
        let pending = PendingGroup::encode(
            self.head.position + 1,
            head.position,
            writes
                .iter()
                .map(|(key, _)| key.as_slice())
                .filter(|key| *key != keys::CHAIN_HEAD),
        );
        self.tree.insert(keys::PENDING_GROUP, pending)?;
        let mut chain_head = None;
        for (key, value) in writes {
            // The writer only inserts.
            let Some(value) = value else { continue };
            if key.as_slice() == keys::CHAIN_HEAD {
                chain_head = Some(value);
            } else {
                self.tree.insert(key, value)?;
            }
        }
        if let Some(value) = chain_head {
            self.tree.insert(keys::CHAIN_HEAD, value)?;
        }
        Ok(())
    }

    /// Stages a group and writes it to sled; durability comes later.
    fn apply(&mut self, group: Vec<Request>, failure: &Failure) -> Applied {
        let (appends, replies): (Vec<PreparedAppend>, Vec<_>) =
            group.into_iter().map(|r| (r.append, r.reply)).unzip();
        if let Some(msg) = failure.get() {
            let outcomes = appends.iter().map(|_| Err(refused(&msg))).collect();
            return Applied {
                replies,
                outcomes,
                head: None,
                events: 0,
                failed: false,
            };
        }
        // recorded_at never decreases along the log, even if the wall clock steps back.
        let now_us = Utc::now().timestamp_micros().max(self.head.recorded_at_us);
        let mut stage = Stage {
            head: self.head,
            versions: HashMap::new(),
            idempotency: HashMap::new(),
            log: LogBatch::default(),
            wrote: false,
        };
        let mut outcomes: Vec<Result<AppendOutcome, StoreError>> =
            Vec::with_capacity(appends.len());
        for append in appends {
            let outcome = self.stage(append, &mut stage, now_us, &outcomes);
            if let Err(StoreError::Io(msg)) = &outcome {
                // sled could not read its own files (a full disk shows here first when sled's
                // background flush failed): nothing of this group is written, and, as after a
                // failed commit, every later append is refused until the store is reopened.
                return Applied::failed(replies, msg.clone(), failure, "store read failed");
            }
            outcomes.push(outcome);
        }
        if !stage.wrote {
            return Applied {
                replies,
                outcomes,
                head: None,
                events: 0,
                failed: false,
            };
        }
        stage.log.insert(keys::CHAIN_HEAD, stage.head.encode());
        let writes = std::mem::take(&mut stage.log).finish_writes();
        let mut record = GroupRecord::with_capacity(
            writes
                .iter()
                .map(|(k, v)| 8 + k.len() + v.as_ref().map_or(0, Vec::len))
                .sum(),
        );
        for (key, value) in &writes {
            // The writer only inserts.
            if let Some(value) = value {
                record.insert(key, value);
            }
        }
        let record = record.seal(&self.head, &stage.head);
        let committed = self
            .log_group(&record)
            .and_then(|()| self.write_to_sled(writes, &stage.head));
        if let Err(e) = committed {
            let msg = match e {
                StoreError::Io(msg) => msg,
                other => other.to_string(),
            };
            return Applied::failed(replies, msg, failure, "store commit failed");
        }
        let events = stage.head.position - self.head.position;
        self.head = stage.head;
        self.versions.extend(stage.versions);
        Applied {
            replies,
            outcomes,
            head: Some(self.head.position),
            events,
            failed: false,
        }
    }

    fn version_of(&mut self, stream: &str, stage: &Stage) -> Result<u64, StoreError> {
        if let Some(v) = stage.versions.get(stream) {
            return Ok(*v);
        }
        if let Some(v) = self.versions.get(stream) {
            return Ok(*v);
        }
        // Everything in the tree is durable here: a failed commit stops the writer for good.
        let v = match self.tree.scan_prefix(keys::run_prefix(stream)).next_back() {
            None => 0,
            Some(item) => {
                let (k, _) = item?;
                keys::parse_run(&k)
                    .map(|(_, version)| version)
                    .ok_or_else(|| StoreError::Corrupt {
                        position: 0,
                        reason: format!("malformed stream index entry of {stream}"),
                    })?
            }
        };
        self.versions.insert(stream.to_owned(), v);
        Ok(v)
    }

    // Long: one append's checks and staging (idempotency, expected version, chain, keys, index
    // runs) in the order the durability argument of decision 0040 relies on, read top to bottom.
    fn stage(
        &mut self,
        a: PreparedAppend,
        stage: &mut Stage,
        now_us: i64,
        outcomes: &[Result<AppendOutcome, StoreError>],
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(idem) = &a.idempotency {
            if let Some((fingerprint, index)) = stage.idempotency.get(&idem.key) {
                if *fingerprint != idem.fingerprint {
                    return Err(StoreError::IdempotencyConflict {
                        key: idem.key.clone(),
                    });
                }
                if let Some(Ok(first)) = outcomes.get(*index) {
                    return Ok(AppendOutcome {
                        events: first.events.clone(),
                        deduplicated: true,
                    });
                }
            }
            if let Some(bytes) = self.tree.get(keys::idempotency(&idem.key))? {
                let entry = codec::decode_idempotency(&bytes).map_err(|e| StoreError::Corrupt {
                    position: 0,
                    reason: format!("idempotency record {:?}: {e}", idem.key),
                })?;
                if entry.fingerprint != idem.fingerprint {
                    return Err(StoreError::IdempotencyConflict {
                        key: idem.key.clone(),
                    });
                }
                let last = entry
                    .first_position
                    .saturating_add(entry.count)
                    .saturating_sub(1);
                let events = LogIter::new(&self.tree, entry.first_position.saturating_sub(1), last)
                    .map(|event| {
                        event.map_err(|e| match e {
                            StoreError::Corrupt { position, reason } => StoreError::Corrupt {
                                position,
                                reason: format!(
                                    "{reason}, named by idempotency key {:?}",
                                    idem.key
                                ),
                            },
                            other => other,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(AppendOutcome {
                    events,
                    deduplicated: true,
                });
            }
        }

        let current = self.version_of(&a.stream, stage)?;
        if !a.expected.admits(current) {
            return Err(StoreError::Conflict {
                stream: a.stream.clone(),
                expected: a.expected.describe(),
                actual: current,
            });
        }
        let recorded_at = instant_from_us(now_us)
            .ok_or_else(|| StoreError::Io("the clock is out of range".to_owned()))?;
        let mut head = stage.head;
        let mut staged = Vec::with_capacity(a.events.len());
        let mut recorded = Vec::with_capacity(a.events.len());
        for (version, ev) in (current + 1..).zip(a.events) {
            let position = head.position + 1;
            let event_id = Uuid::now_v7();
            let canonical = chain::canonical(&Canonical {
                position,
                version,
                schema: ev.schema,
                occurred_at_us: ev.occurred_at_us,
                recorded_at_us: now_us,
                event_id,
                stream: &a.stream,
                event_type: ev.event_type,
                actor: &a.actor,
                correlation_id: a.correlation_id.as_deref(),
                causation_id: a.causation_id.as_deref(),
                policy_version: a.policy_version,
                payload: &ev.payload,
            });
            let hash = chain::next_hash(&head.hash, &canonical);
            let envelope = Envelope {
                position,
                stream: a.stream.clone(),
                version,
                event_id: event_id.into_bytes(),
                event_type: ev.event_type.to_owned(),
                schema: ev.schema,
                occurred_at_us: ev.occurred_at_us,
                recorded_at_us: now_us,
                actor: a.actor.clone(),
                correlation_id: a.correlation_id.clone(),
                causation_id: a.causation_id.clone(),
                policy_version: a.policy_version,
                payload: ev.payload,
                prev_hash: head.hash,
                hash,
            };
            let bytes = codec::encode_envelope(&envelope)
                .map_err(|e| StoreError::Invalid(format!("envelope does not encode: {e}")))?;
            let occurred_at = instant_from_us(ev.occurred_at_us)
                .ok_or_else(|| StoreError::Invalid("occurred_at out of range".to_owned()))?;
            staged.push((position, version, bytes));
            recorded.push(RecordedEvent {
                position,
                stream: envelope.stream,
                version,
                event_id,
                event_type: envelope.event_type,
                schema: ev.schema,
                occurred_at,
                recorded_at,
                actor: envelope.actor,
                correlation_id: envelope.correlation_id,
                causation_id: envelope.causation_id,
                policy_version: a.policy_version,
                event: ev.event,
                payload: envelope.payload,
                prev_hash: head.hash,
                hash,
            });
            head = ChainHead {
                position,
                hash,
                recorded_at_us: now_us,
            };
        }

        let first_position = stage.head.position + 1;
        let count = head.position - stage.head.position;
        // Bugs, not input: positions follow the head one by one, versions follow the stream's,
        // and each event's previous hash is the one before it.
        debug_assert_eq!(count, recorded.len() as u64, "one position per event");
        debug_assert!(
            recorded
                .iter()
                .zip(recorded.iter().skip(1))
                .all(|(a, b)| b.position == a.position + 1
                    && b.version == a.version + 1
                    && b.prev_hash == a.hash),
            "positions, versions and the chain advance one event at a time"
        );
        debug_assert!(recorded
            .first()
            .is_none_or(|e| e.position == first_position && e.version == current + 1));
        // Encode everything before touching the batch, so a failure stages nothing.
        let idempotency_record = match &a.idempotency {
            None => None,
            Some(idem) => {
                let entry = IdempotencyEntry {
                    fingerprint: idem.fingerprint,
                    first_position,
                    count,
                };
                let bytes = codec::encode_idempotency(&entry)
                    .map_err(|e| StoreError::Invalid(format!("idempotency record: {e}")))?;
                Some((idem.key.clone(), idem.fingerprint, bytes))
            }
        };
        for (position, version, bytes) in staged {
            stage.log.push(position, &a.stream, version, bytes);
        }
        stage.versions.insert(a.stream.clone(), current + count);
        if let Some((key, fingerprint, bytes)) = idempotency_record {
            stage.log.insert(keys::idempotency(&key), bytes);
            stage.idempotency.insert(key, (fingerprint, outcomes.len()));
        }
        stage.head = head;
        stage.wrote = true;
        Ok(AppendOutcome {
            events: recorded,
            deduplicated: false,
        })
    }
}

/// What makes an applied group durable and answers its callers, on the sync thread or, for a
/// lone caller, on the writer's own thread.
struct Finisher {
    wal: Arc<WalFile>,
    failure: Arc<Failure>,
    head_tx: watch::Sender<u64>,
    /// Groups handed to the sync thread and not yet answered.
    in_flight: AtomicUsize,
}

/// The second half of the writer: makes each applied group durable, in order, then publishes
/// the new durable head and answers the group's callers.
fn sync_loop(finisher: &Finisher, applied_rx: std::sync::mpsc::Receiver<Applied>) {
    while let Ok(applied) = applied_rx.recv() {
        finisher.finish(applied);
        finisher.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Finisher {
    /// One `fdatasync` of the write-ahead file (which covers every record written before it),
    /// then the new durable head is published and the group's callers answered.
    fn finish(&self, mut applied: Applied) {
        // Everything written so far is synced together; a later group whose record that sync
        // already covered gets a cheap one. Groups that wrote nothing still wait their turn, since their
        // answers (idempotent retries) may name events of a group still in flight.
        if applied.failed {
            // Answered with its own error, not as a victim of an earlier one.
        } else if let Some(msg) = self.failure.get() {
            applied.outcomes = applied
                .outcomes
                .iter()
                .map(|_| Err(refused(&msg)))
                .collect();
        } else if let Some(head) = applied.head {
            match self.wal.sync() {
                Ok(()) => {
                    self.head_tx.send_replace(head);
                    // While the next group's fdatasync is awaited is a good time to free the
                    // pages this group replaced.
                    reclaim::collect_replaced_pages(applied.events);
                }
                Err(e) => {
                    let msg = e.to_string();
                    tracing::error!(error = %msg, "store sync failed; refusing further appends");
                    self.failure.set(msg.clone());
                    applied.outcomes = applied
                        .outcomes
                        .iter()
                        .map(|_| Err(StoreError::Io(msg.clone())))
                        .collect();
                }
            }
        }
        for (reply, outcome) in applied.replies.into_iter().zip(applied.outcomes) {
            // The caller may have given up waiting; the append stands regardless.
            let _ = reply.send(outcome);
        }
    }
}
