//! `Store`: opening the data directory, the append entry points and every read.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use crate::anchor::{self, Anchor};
use crate::append::{prepare, AppendOutcome, AppendRequest, IdempotencyRecord};
use crate::block::LogIter;
use crate::db::{check_format, open_db};
use crate::durability::Durability;
use crate::error::StoreError;
use crate::keys::{self, ChainHead, PendingGroup};
use crate::reader::Reader;
use crate::recorded::RecordedEvent;
use crate::subscription::Subscription;
use crate::verify::Verification;
use crate::wal::{self, Wal};
use crate::writer::{Request, Writer, QUEUED_APPENDS_MAX};

/// The event log. Cheap to clone; every clone talks to the same single writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    reader: Reader,
    durability: Arc<Mutex<Durability>>,
    tx: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    /// The anchor as found at open; rewritten on close only if the log moved on.
    anchor: Option<Anchor>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and stop.
        self.tx.take();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
        // Everything up to the durable head is on disk: remember where the log reached.
        let head = self.reader.head();
        let hash = match self.reader.get(head) {
            Ok(Some(event)) => Some(event.hash),
            _ => None,
        };
        let now = hash.filter(|_| head > 0).map(|hash| Anchor {
            position: head,
            hash,
        });
        if let Some(now) = now.filter(|now| Some(*now) != self.anchor) {
            if let Err(e) = anchor::write(&self.dir, now) {
                tracing::warn!(error = %e, dir = %self.dir.display(), "cannot write the anchor");
            }
        }
    }
}

/// sled's chain head, after removing what a crash left of a group past it.
fn read_chain_head(tree: &sled::Tree) -> Result<ChainHead, StoreError> {
    let head = match tree.get(keys::CHAIN_HEAD)? {
        None => ChainHead::EMPTY,
        Some(bytes) => ChainHead::decode(&bytes).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            reason: "malformed chain head record".to_owned(),
        })?,
    };
    // The chain head is written after the group's events, and what a crash left of a group
    // past it is cut first, so they agree.
    cut_torn_group(tree, &head)?;
    let last = crate::block::last_stored(tree)?;
    if last != head.position {
        // The first bad position: the first one missing, or the first one past the head.
        return Err(StoreError::Corrupt {
            position: last.min(head.position) + 1,
            reason: format!(
                "the chain head says position {} but the last stored event is {last}",
                head.position
            ),
        });
    }
    Ok(head)
}

fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Removes the keys of a group past sled's chain head `head` that sled holds only in part: the
/// writer writes a group's keys one by one after listing them under [`keys::PENDING_GROUP`]
/// and the chain head last, and sled recovers a prefix of its writes, so after a crash the list
/// names everything there may be of a group the head does not cover (decision 0040). If that
/// group was acknowledged, the write-ahead file replays it whole right after.
fn cut_torn_group(tree: &sled::Tree, head: &ChainHead) -> Result<(), StoreError> {
    let Some(bytes) = tree.get(keys::PENDING_GROUP)? else {
        return Ok(());
    };
    let pending = PendingGroup::decode(&bytes).ok_or_else(|| StoreError::Corrupt {
        position: head.position,
        reason: "the record of the group being written is malformed".to_owned(),
    })?;
    if pending.last <= head.position {
        return Ok(()); // The group is whole in sled.
    }
    if pending.first != head.position + 1 {
        // sled holds less than the writer had finished: damage, which verify reports.
        tracing::warn!(
            head = head.position,
            group_first = pending.first,
            "the group being written does not follow sled's chain head; left as it is"
        );
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for key in &pending.keys {
        batch.remove(key.as_slice());
    }
    batch.remove(keys::PENDING_GROUP);
    tree.apply_batch(batch)?;
    tracing::info!(
        head = head.position,
        keys = pending.keys.len(),
        "removed what a crash left of a group past the chain head"
    );
    Ok(())
}

impl Store {
    /// Opens (or creates) the log in `dir` and starts its writer thread.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, wal::WAL_WRAP_BYTES)
    }

    /// Test seam: [`Store::open`] with a write-ahead file that wraps (after a checkpoint of
    /// sled) once a cycle holds `wrap_bytes`, so that tests reach wraps with a few events. Not
    /// for production use.
    #[doc(hidden)]
    pub fn open_with_wal_wrap_for_test(dir: &Path, wrap_bytes: u64) -> Result<Store, StoreError> {
        Store::open_with(dir, wrap_bytes)
    }

    fn open_with(dir: &Path, wal_wrap_bytes: u64) -> Result<Store, StoreError> {
        let db = open_db(dir)?;
        let tree = db.open_tree("log")?;
        let meta = db.open_tree("meta")?;
        check_format(&tree)?;
        let head = read_chain_head(&tree)?;
        let fail_next = Arc::new(AtomicBool::new(false));
        let wal_file = wal::open_file(dir, fail_next.clone())?;
        // Acknowledged groups sled had not yet written out when the last process stopped.
        let head = wal::replay(&wal_file, &tree, head)?;
        let (head_tx, head_rx) = watch::channel(head.position);
        let reader = Reader { tree, head_rx };
        let anchor = anchor::read(dir)?;
        if let Some(anchor) = anchor {
            anchor::check(&reader.tree, head.position, anchor, || {
                Ok(reader.verify(0, &mut |_| {})?.first_bad_position)
            })?;
        }
        db.flush()?;
        let durability = Arc::new(Mutex::new(Durability::open(dir, fail_next)?));
        let wal = Wal::start(wal_file, &head, wal_wrap_bytes)?;

        let (tx, rx) = mpsc::channel(QUEUED_APPENDS_MAX);
        let writer = Writer {
            db: db.clone(),
            tree: reader.tree.clone(),
            durability: durability.clone(),
            wal,
            head,
            head_tx,
            versions: Default::default(),
        };
        let handle = std::thread::Builder::new()
            .name("dunlog-store-writer".to_owned())
            .spawn(move || writer.run(rx))?;
        tracing::info!(dir = %dir.display(), head = head.position, "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                db,
                meta,
                reader,
                durability,
                tx: Some(tx),
                writer: Some(handle),
                anchor,
            }),
        })
    }

    /// Rebuilds a log from its JSONL export (as [`Store::export_jsonl`] writes it) in `dir`,
    /// which must hold no events; call before [`Store::open`]. Every line's position, version,
    /// payload and chain link is checked. Idempotency keys and meta entries are not in an export
    /// and are not restored. Returns the number of events imported.
    pub fn import_jsonl(dir: &Path, input: &mut dyn std::io::BufRead) -> Result<u64, StoreError> {
        crate::import::import_jsonl(dir, input)
    }

    fn sender(&self) -> Result<&mpsc::Sender<Request>, StoreError> {
        self.inner.tx.as_ref().ok_or(StoreError::Closed)
    }

    /// Appends atomically; returns once the events are durable.
    ///
    /// If this future is dropped after the append was queued, the append may still happen:
    /// give commands an idempotency key and retry with it to learn the outcome.
    pub async fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let append = prepare(req)?;
        let (reply, rx) = oneshot::channel();
        self.sender()?
            .send(Request { append, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Store::append`] for synchronous callers. Blocks the thread; never call it from a thread
    /// that runs a tokio runtime (use `append` there, or `spawn_blocking`).
    pub fn append_blocking(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let append = prepare(req)?;
        let (reply, rx) = oneshot::channel();
        self.sender()?
            .blocking_send(Request { append, reply })
            .map_err(|_| StoreError::Closed)?;
        rx.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// The last durable position (0 = empty log).
    pub fn head(&self) -> u64 {
        self.inner.reader.head()
    }

    /// The stream's current version (0 = no such stream).
    pub fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.inner.reader.stream_version(stream)
    }

    /// Up to `limit` events at positions greater than `after`, ascending.
    pub fn read_from(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.reader.read_from(after, limit)
    }

    /// Every event from `after + 1` to the head as it stands now, streamed.
    pub fn iter_from(
        &self,
        after: u64,
    ) -> impl Iterator<Item = Result<RecordedEvent, StoreError>> + '_ {
        self.inner.reader.iter_from(after)
    }

    /// Like [`Store::iter_from`], as a [`LogIter`] whose [`LogIter::next_into`] decodes into
    /// events the caller already holds (replay reuses them range after range).
    pub fn log_from(&self, after: u64) -> LogIter {
        self.inner.reader.iter_from(after)
    }

    /// The stream's events with versions greater than `after_version`, ascending.
    pub fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.reader.read_stream(stream, after_version)
    }

    /// Catches up from `after`, then follows live appends.
    pub fn subscribe(&self, after: u64) -> Subscription {
        Subscription::new(self.inner.reader.clone(), after)
    }

    /// Checks the chain, gapless positions and the stream index from `after + 1` to the head.
    pub fn verify(&self, after: u64) -> Result<Verification, StoreError> {
        self.inner.reader.verify(after, &mut |_| {})
    }

    /// [`Store::verify`], showing `inspect` each event that passed the checks, in position
    /// order: one pass over the log for the chain and for whatever the caller looks for in
    /// the events (`dunlog verify`'s warnings).
    pub fn verify_inspecting(
        &self,
        after: u64,
        inspect: &mut dyn FnMut(&RecordedEvent),
    ) -> Result<Verification, StoreError> {
        self.inner.reader.verify(after, inspect)
    }

    /// Checks only the tail: positions `after + 1` to the head, chained from `hash_at_after`, the
    /// hash of position `after` remembered from an earlier verification (a server keeps its last
    /// verified position and hash, and checks only what came since at start). Nothing at or
    /// before `after` is read, so the cost is that of the tail. A log shorter than `after` (the
    /// tail was cut off) is reported at its first missing position; a wrong `hash_at_after` at
    /// `after + 1` (or at `after` itself, through the chain head, when nothing came since).
    pub fn verify_tail(
        &self,
        after: u64,
        hash_at_after: [u8; 32],
    ) -> Result<Verification, StoreError> {
        self.inner.reader.verify_tail(after, hash_at_after)
    }

    /// Writes the JSONL export of SPEC §6; with `known_at`, only events recorded at or before it.
    /// Returns the number of lines written.
    pub fn export_jsonl(
        &self,
        out: &mut dyn std::io::Write,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<u64, StoreError> {
        let mut lines = 0;
        for event in self.iter_from(0) {
            let event = event?;
            // recorded_at never decreases along the log, so the first later event ends it.
            if known_at.is_some_and(|t| event.recorded_at > t) {
                break;
            }
            event.write_export_line(out)?;
            out.write_all(b"\n")?;
            lines += 1;
        }
        out.flush()?;
        Ok(lines)
    }

    /// What an idempotency key is bound to, once durable.
    pub fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.reader.idempotency(key)
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Durable on return.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.meta.insert(key.as_bytes(), value)?;
        self.sync()
    }

    /// Durable on return.
    pub fn meta_delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.meta.remove(key.as_bytes())?;
        self.sync()
    }

    /// Every meta entry whose key starts with `prefix`, in key order.
    pub fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner
            .meta
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (k, v) = item?;
                let key = String::from_utf8(k.to_vec()).map_err(|_| StoreError::Corrupt {
                    position: 0,
                    reason: "meta key is not UTF-8".to_owned(),
                })?;
                Ok((key, v.to_vec()))
            })
            .collect()
    }

    /// The data directory. Besides sled's files it holds dunlog's own (the anchor, the
    /// projection snapshot); nothing else should write there.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Bytes the data directory takes on disk.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(dir_bytes(&self.inner.dir)?)
    }

    /// Test seam: runs at most `chunks` chunks of `chunk_events` events of the format-1 upgrade
    /// on the closed data directory `dir` and stops, leaving a half-upgraded log as a crash in
    /// the middle would. Returns whether the upgrade finished. Not for production use: opening a
    /// store upgrades (or resumes) by itself.
    #[doc(hidden)]
    pub fn upgrade_partially_for_test(
        dir: &Path,
        chunk_events: usize,
        chunks: usize,
    ) -> Result<bool, StoreError> {
        let db = open_db(dir)?;
        let tree = db.open_tree("log")?;
        let found = tree
            .get(keys::FORMAT)?
            .and_then(|b| <[u8; 4]>::try_from(&b[..]).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| StoreError::Invalid("no format version".to_owned()))?;
        let done = crate::migrate::upgrade(&tree, found, chunk_events, Some(chunks))?;
        db.flush()?;
        Ok(done)
    }

    /// Test seam: the next flush-and-sync (of an append group or a `meta_put`) fails as a full or
    /// failing disk makes `fdatasync` fail, whatever sled managed to write. Not for production
    /// use; the store then refuses appends until reopened, exactly as after a real failure.
    #[doc(hidden)]
    pub fn fail_next_sync_for_test(&self) {
        if let Ok(mut d) = self.inner.durability.lock() {
            d.fail_next_sync();
        }
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        self.inner
            .durability
            .lock()
            .map_err(|_| StoreError::Io("durability lock poisoned".to_owned()))?
            .sync()?;
        Ok(())
    }
}
