//! The write-ahead file (`<data>/wal`): every group commit's writes, synced once, so that an
//! append is durable after one device round trip; sled gets the same writes in memory (key by key) and
//! writes them out in its own time (docs/decisions/0040).
//!
//! The file is a ring of records. It starts with a *checkpoint* (a position and its hash up to
//! which sled itself is on stable storage), followed by one *group* record per group commit:
//! the group's first and last position, the chain hash before and after it, and its sled writes
//! (key and value of each insert), under a CRC-32. Once the file holds [`WAL_WRAP_BYTES`], the
//! writer flushes sled, syncs its files, writes a new checkpoint at offset 0 and goes on after
//! it: everything before that checkpoint is in sled, on disk.
//!
//! Recovery ([`replay`]) walks the records from the checkpoint while each is whole and continues
//! the previous one's positions and hash, and applies to sled those past sled's own head, each
//! as one atomic batch. Old records further on (from before the last wrap), zeros,
//! or a torn record end the walk. A record that does not continue sled's head exactly (sled
//! holds less than the checkpoint says: damage or tampering) is not applied: the anchor and
//! `verify_tail` are what find a shortened log.
//!
//! The file grows in zeroed steps and is then overwritten in place, so the `fdatasync` of a
//! group does not also have to commit a new file size to the file system's journal.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::StoreError;
use crate::keys::ChainHead;

/// The file's name in the data directory.
pub(crate) const WAL_FILE: &str = "wal";
/// Once the records of a cycle reach this many bytes, the next group starts a new cycle at the
/// file's start, after a checkpoint of sled.
pub(crate) const WAL_WRAP_BYTES: u64 = 32 * 1024 * 1024;
/// The smallest zeroed step the file grows by; each step doubles what the file already has, so
/// a small store keeps a small file and a busy one reaches its full size in a few steps.
const GROW_BYTES_MIN: u64 = 256 * 1024;

const MAGIC: [u8; 4] = *b"dWAL";
const KIND_CHECKPOINT: u8 = 1;
const KIND_GROUP: u8 = 2;
/// magic, kind, first, last, prev_hash, hash, body length, CRC.
const HEADER_BYTES: usize = 4 + 1 + 8 + 8 + 32 + 32 + 4 + 4;
/// Bodies past this are not believed (a damaged length); far above any group's writes
/// (4,096 events of at most 256 KiB payload each, and their keys).
const BODY_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;

/// The open file, shared by the writer (which writes records) and the sync thread (which syncs
/// them).
pub(crate) struct WalFile {
    file: File,
    /// Test seam shared with `Durability`: the next sync fails as a full disk would.
    fail_next: Arc<AtomicBool>,
}

impl WalFile {
    /// Returns once every record written so far is on stable storage.
    pub(crate) fn sync(&self) -> io::Result<()> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(injected());
        }
        self.file.sync_data()
    }
}

pub(crate) fn injected() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        "injected write error: no space left on device",
    )
}

/// The writer's side of the file: where the next record goes.
pub(crate) struct Wal {
    pub file: Arc<WalFile>,
    /// Where the next record goes.
    offset: u64,
    /// Bytes of the file known to be allocated (written at least once).
    len: u64,
    /// Where a cycle ends ([`WAL_WRAP_BYTES`] but in tests).
    wrap_bytes: u64,
}

/// One group's record, encoded: the header is filled in by [`GroupRecord::seal`].
pub(crate) struct GroupRecord {
    bytes: Vec<u8>,
    writes: u32,
}

impl GroupRecord {
    /// An empty record with room for about `capacity` bytes of writes.
    pub(crate) fn with_capacity(capacity: usize) -> GroupRecord {
        let mut bytes = Vec::with_capacity(HEADER_BYTES + 4 + capacity);
        bytes.resize(HEADER_BYTES + 4, 0);
        GroupRecord { bytes, writes: 0 }
    }

    /// Adds the insert of `value` under `key`.
    pub(crate) fn insert(&mut self, key: &[u8], value: &[u8]) {
        // Keys and values are bounded far below u32 by the append limits.
        self.bytes
            .extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.bytes.extend_from_slice(key);
        self.bytes
            .extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.bytes.extend_from_slice(value);
        self.writes += 1;
    }

    /// Fills in the header: the group goes from `before` to `after`.
    pub(crate) fn seal(mut self, before: &ChainHead, after: &ChainHead) -> Vec<u8> {
        let writes = self.writes.to_be_bytes();
        self.bytes[HEADER_BYTES..HEADER_BYTES + 4].copy_from_slice(&writes);
        header(
            &mut self.bytes,
            KIND_GROUP,
            before.position + 1,
            after.position,
            &before.hash,
            &after.hash,
        );
        self.bytes
    }
}

/// Writes the header into the first [`HEADER_BYTES`] of `record`, whose body follows.
fn header(record: &mut [u8], kind: u8, first: u64, last: u64, prev: &[u8; 32], hash: &[u8; 32]) {
    let body_len = (record.len() - HEADER_BYTES) as u32;
    let h = &mut record[..HEADER_BYTES];
    h[0..4].copy_from_slice(&MAGIC);
    h[4] = kind;
    h[5..13].copy_from_slice(&first.to_be_bytes());
    h[13..21].copy_from_slice(&last.to_be_bytes());
    h[21..53].copy_from_slice(prev);
    h[53..85].copy_from_slice(hash);
    h[85..89].copy_from_slice(&body_len.to_be_bytes());
    let crc = crc(record);
    record[89..93].copy_from_slice(&crc.to_be_bytes());
}

/// CRC-32 of the header before its CRC field and of the body.
fn crc(record: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&record[..89]);
    h.update(&record[HEADER_BYTES..]);
    h.finalize()
}

fn checkpoint_record(head: &ChainHead) -> Vec<u8> {
    let mut r = vec![0u8; HEADER_BYTES];
    header(
        &mut r,
        KIND_CHECKPOINT,
        head.position,
        head.position,
        &head.hash,
        &head.hash,
    );
    r
}

/// A record read back: its header fields and body.
struct Read {
    kind: u8,
    first: u64,
    last: u64,
    prev: [u8; 32],
    hash: [u8; 32],
    body: Vec<u8>,
}

/// The record at `offset`, if a whole one is there; `None` at zeros, garbage or a torn record.
fn read_record(file: &File, offset: u64, file_len: u64) -> io::Result<Option<Read>> {
    if offset.saturating_add(HEADER_BYTES as u64) > file_len {
        return Ok(None);
    }
    let mut h = [0u8; HEADER_BYTES];
    file.read_exact_at(&mut h, offset)?;
    if h[0..4] != MAGIC {
        return Ok(None);
    }
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let mut body_len = [0u8; 4];
    body_len.copy_from_slice(&h[85..89]);
    let body_len = u64::from(u32::from_be_bytes(body_len));
    let end = offset + HEADER_BYTES as u64;
    if body_len > BODY_BYTES_MAX || end.saturating_add(body_len) > file_len {
        return Ok(None);
    }
    let mut record = vec![0u8; HEADER_BYTES + body_len as usize];
    record[..HEADER_BYTES].copy_from_slice(&h);
    file.read_exact_at(&mut record[HEADER_BYTES..], end)?;
    let mut stored = [0u8; 4];
    stored.copy_from_slice(&h[89..93]);
    if u32::from_be_bytes(stored) != crc(&record) {
        return Ok(None);
    }
    let mut prev = [0u8; 32];
    prev.copy_from_slice(&h[21..53]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&h[53..85]);
    record.drain(..HEADER_BYTES);
    Ok(Some(Read {
        kind: h[4],
        first: u64_at(5),
        last: u64_at(13),
        prev,
        hash,
        body: record,
    }))
}

/// The inserts of a group record's body, as one sled batch; `None` if the body is malformed
/// (which a matching CRC makes a bug of the writer, not damage).
fn batch_of(body: &[u8]) -> Option<sled::Batch> {
    let mut rest = body;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = rest.split_at_checked(n)?;
        rest = b;
        Some(a)
    };
    let count = u32::from_be_bytes(take(4)?.try_into().ok()?);
    let mut batch = sled::Batch::default();
    for _ in 0..count {
        let klen = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        let key = take(klen)?;
        let vlen = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        let value = take(vlen)?;
        batch.insert(key, value);
    }
    rest.is_empty().then_some(batch)
}

/// Opens (or creates) the file in `dir`, without reading it.
pub(crate) fn open_file(
    dir: &Path,
    fail_next: Arc<AtomicBool>,
) -> Result<Arc<WalFile>, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(WAL_FILE))
        .map_err(|e| StoreError::Io(format!("cannot open the write-ahead file: {e}")))?;
    Ok(Arc::new(WalFile { file, fail_next }))
}

/// Applies to `tree` the groups the file holds past sled's `head`, and returns the new head.
/// sled's writes are not flushed here: the caller flushes and syncs before anything relies on
/// them.
pub(crate) fn replay(
    file: &WalFile,
    tree: &sled::Tree,
    head: ChainHead,
) -> Result<ChainHead, StoreError> {
    let file = &file.file;
    let file_len = file.metadata()?.len();
    let Some(cp) = read_record(file, 0, file_len)? else {
        return Ok(head);
    };
    if cp.kind != KIND_CHECKPOINT {
        return Ok(head);
    }
    let mut offset = (HEADER_BYTES + cp.body.len()) as u64;
    let (mut last, mut last_hash) = (cp.last, cp.hash);
    let mut head = head;
    let mut applied = 0u64;
    while let Some(r) = read_record(file, offset, file_len)? {
        if r.kind != KIND_GROUP || r.first != last + 1 || r.prev != last_hash || r.last < r.first {
            break;
        }
        offset += (HEADER_BYTES + r.body.len()) as u64;
        last = r.last;
        last_hash = r.hash;
        if r.last <= head.position {
            continue; // sled has it already.
        }
        if r.first != head.position + 1 || r.prev != head.hash {
            tracing::warn!(
                sled_head = head.position,
                record_first = r.first,
                "the write-ahead file does not continue sled's log; not applied"
            );
            break;
        }
        let batch = batch_of(&r.body).ok_or_else(|| StoreError::Corrupt {
            position: r.first,
            reason: "a write-ahead record's writes are malformed".to_owned(),
        })?;
        tree.apply_batch(batch)?;
        let recorded_at_us =
            crate::keys::ChainHead::decode(&tree.get(crate::keys::CHAIN_HEAD)?.ok_or_else(
                || StoreError::Corrupt {
                    position: r.first,
                    reason: "a write-ahead record left no chain head".to_owned(),
                },
            )?)
            .filter(|h| h.position == r.last && h.hash == r.hash)
            .ok_or_else(|| StoreError::Corrupt {
                position: r.first,
                reason: "a write-ahead record's chain head does not match its header".to_owned(),
            })?
            .recorded_at_us;
        head = ChainHead {
            position: r.last,
            hash: r.hash,
            recorded_at_us,
        };
        applied += r.last - r.first + 1;
    }
    if applied > 0 {
        tracing::info!(
            events = applied,
            head = head.position,
            "replayed the write-ahead file"
        );
    }
    Ok(head)
}

impl Wal {
    /// Starts a new cycle: sled is on stable storage up to `head` (the caller flushed and synced
    /// it), so a checkpoint of `head` goes at the start and records follow it.
    pub(crate) fn start(
        file: Arc<WalFile>,
        head: &ChainHead,
        wrap_bytes: u64,
    ) -> Result<Wal, StoreError> {
        let len = file.file.metadata()?.len();
        let mut wal = Wal {
            file,
            offset: 0,
            len,
            wrap_bytes,
        };
        wal.write_checkpoint(head)?;
        wal.file.file.sync_data()?;
        Ok(wal)
    }

    fn write_checkpoint(&mut self, head: &ChainHead) -> io::Result<()> {
        let record = checkpoint_record(head);
        self.write_at(&record, 0)?;
        self.offset = record.len() as u64;
        Ok(())
    }

    /// Whether a record of `bytes` should start a new cycle (after a checkpoint) first.
    pub(crate) fn wants_checkpoint(&self, bytes: usize) -> bool {
        self.offset > HEADER_BYTES as u64 && self.offset + bytes as u64 > self.wrap_bytes
    }

    /// Starts a new cycle; the caller has flushed and synced sled up to `head`. Records of the
    /// old cycle that are not yet synced need not be: sled has them on disk now.
    pub(crate) fn checkpoint(&mut self, head: &ChainHead) -> io::Result<()> {
        self.write_checkpoint(head)
    }

    /// Writes a sealed group record after the last one. Durable once [`WalFile::sync`] returns.
    pub(crate) fn append(&mut self, record: &[u8]) -> io::Result<()> {
        self.write_at(record, self.offset)?;
        self.offset += record.len() as u64;
        Ok(())
    }

    fn write_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        let end = offset + bytes.len() as u64;
        if end > self.len {
            self.grow(end)?;
        }
        self.file.file.write_all_at(bytes, offset)
    }

    /// Extends the file with zeros to at least `end` (doubling it, at least a step), synced, so
    /// that later records overwrite allocated blocks.
    fn grow(&mut self, end: u64) -> io::Result<()> {
        let target = end
            .max(self.len.saturating_mul(2))
            .max(self.len + GROW_BYTES_MIN)
            .min(end.max(self.wrap_bytes));
        let zeros = vec![0u8; 64 * 1024];
        let mut at = self.len;
        while at < target {
            let n = (target - at).min(zeros.len() as u64) as usize;
            self.file.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        self.file.file.sync_data()?;
        self.len = target;
        Ok(())
    }
}
