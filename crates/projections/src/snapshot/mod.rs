//! Projection snapshots: the ledger with its checkpoint, the hash of the event at that
//! checkpoint and the policy version it was built under, so a restart replays only the tail.
//!
//! A snapshot is a plain file in the data directory ([`SNAPSHOT_FILE`]), never a value in sled:
//! sled 0.34 keeps values this large as blob files and leaves a copy behind each time the leaf
//! holding them is rewritten (a 1M-event directory grew to 17 GB of identical 69 MB blobs).
//! The file is replaced atomically: written to [`SNAPSHOT_TEMP_FILE`], fsync'd, renamed over
//! the old one, and the directory fsync'd.
//!
//! Layout (format 12): [`MAGIC`] (8 bytes), the format number (u32 little endian), the body,
//! then the body's length (u64 LE) and its CRC-32 (u32 LE). The body is a sequence of frames,
//! each its length (u64 LE) then that many bytes of bincode (`=2.0.1`, varint integers):
//!
//! - the head (serde API): checkpoint, hash, policy version, the adopted policies, the number of
//!   accounts and the number of chunks;
//! - then each chunk (native API): the checkpoint and the chunk's index (so a chunk of another
//!   snapshot or out of place is refused), the number of accounts, and that many customer ids
//!   each followed by its account, in customer-id order. An account is written field by field
//!   by `domain::snapshot_form` (its module doc says how each kind of value is written); its
//!   ids are taken back without being checked against the id rule again: nothing decoded is
//!   used unless the CRC has vouched for the bytes this build wrote.
//!
//! No timeline is held: the ledger keeps none (the timeline is read from the account's stream
//! in the log when asked for, `crate::timeline`), so a payment is written once, in its account.
//!
//! Decoding a 10M-event ledger is seconds of CPU (SPEC §10: restart in 2 s), almost all of it
//! in the accounts, so the accounts are cut into chunks of about equal weight
//! ([`SNAPSHOT_CHUNKS_TARGET`], more than any machine's cores, for balance) that are encoded
//! and decoded on every core, each thread taking the next chunk; the accounts' id indexes are
//! rebuilt on the same threads. A restart ([`load`]) reads the file a frame at a time and hands
//! each chunk to the decoding threads as soon as it is read, so reading overlaps decoding and
//! the whole file is never held (at 10M events its 415 MB were still resident after the decode:
//! mimalloc kept the freed pages). The chunks are then joined in order (each account's id must
//! be greater than the one before), which is cheap.
//!
//! The format number is checked before anything else is read, so a snapshot of another
//! read-model layout is discarded and rebuilt, never misread. The chunks are decoded before the
//! CRC over the whole body is known, so the decoders take any bytes without panicking and
//! reserve nothing beyond the frame they read; then the body's length and CRC are checked before
//! anything decoded is looked at, so a torn or damaged file is refused as damaged whatever its
//! chunks said. A frame's length is checked against the bytes that remain (from the file's
//! size) before anything is reserved, so a corrupt length is an error, not an allocation. A
//! snapshot is a cache, never a source of truth.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use domain::{snapshot_form, Account, CustomerId};
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::ledger::{AdoptedPolicy, Ledger};

mod load;

/// The file, in the store's data directory, that holds the snapshot.
pub const SNAPSHOT_FILE: &str = "projections.snapshot";
/// Where a new snapshot is written before it is renamed over [`SNAPSHOT_FILE`].
pub const SNAPSHOT_TEMP_FILE: &str = "projections.snapshot.tmp";
/// The meta key older builds kept their snapshot under (inside sled). Never read; deleted on the
/// first save so that old directories shrink.
pub const LEGACY_SNAPSHOT_KEY: &str = "projections/snapshot";
/// The first bytes of a snapshot file.
pub const MAGIC: [u8; 8] = *b"dunlogPS";
/// Bump whenever `Ledger`, `Account` or anything inside them changes shape, or the file's
/// layout does. Format 1 lived in sled's meta tree and is never read; format 2 held the
/// accounts' id indexes (now rebuilt after decoding) and dates and amounts as text (now
/// `domain::binary_form`); format 3 was one bincode body of the whole ledger, decoded on one
/// core (now a head and chunks of accounts, decoded on every core); format 4 had no fee records,
/// fee releases or automatic flags on hold changes (reconciliation); format 5 was written by
/// two branches in turn, one without release reasons on hold changes and the fuller timeline.
/// Format 6 had no `language` and `billing_email` in contacts and no delivery failures on
/// accounts (SPEC §12). Format 7 kept no fee reversals or reinstated promises in the timeline.
/// Format 8 kept an invoice's rarely used fields inline (now `InvoiceExtras`, one pointer).
/// Format 9 held every account's timeline (a copy of each timeline event with its envelope) and
/// the actors they named; the timeline is now read from the log (issue 18). Format 10 held each
/// payment's method (read by nothing: the timeline takes it from the event) and a payment's
/// index in an invoice's entries as 8 bytes (now 4). Format 11 held the accounts in bincode's
/// serde form (now its native form, `domain::snapshot_form`). Format 12 held the state's amounts
/// as decimals and an invoice's whole terms (now packed amounts and its net days, decision 0052).
pub const SNAPSHOT_FORMAT: u32 = 13;
/// Largest snapshot decoded, in bytes; bounds what a corrupt length prefix can allocate.
pub const SNAPSHOT_BYTES_MAX: usize = 4 << 30;
/// How many chunks of accounts [`encode`] aims for (fewer when there are fewer accounts): many
/// more than the cores of any machine that runs dunlog, so that threads taking the next chunk
/// left finish together even when some accounts are much larger than others.
pub const SNAPSHOT_CHUNKS_TARGET: usize = 64;
/// Most chunks a snapshot may say it has.
pub const SNAPSHOT_CHUNKS_MAX: usize = 4_096;

const HEADER_BYTES: usize = MAGIC.len() + 4;
const TRAILER_BYTES: usize = 8 + 4;
const FRAME_LENGTH_BYTES: usize = 8;

/// The head frame as written.
#[derive(Serialize)]
struct HeadRef<'a> {
    checkpoint: u64,
    hash: [u8; 32],
    policy_version: u32,
    policies: &'a [AdoptedPolicy],
    accounts: u64,
    chunks: u32,
}

/// The head frame as read.
#[derive(Deserialize)]
struct Head {
    checkpoint: u64,
    hash: [u8; 32],
    policy_version: u32,
    policies: Vec<AdoptedPolicy>,
    accounts: u64,
    chunks: u32,
}

/// An account with its id, as a chunk holds it.
type EntryRef<'a> = (&'a CustomerId, &'a Account);
type Entry = (CustomerId, Account);

/// A chunk frame as written.
struct ChunkRef<'a> {
    checkpoint: u64,
    index: u32,
    entries: &'a [EntryRef<'a>],
}

impl bincode::Encode for ChunkRef<'_> {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.checkpoint.encode(e)?;
        self.index.encode(e)?;
        snapshot_form::encode_list(e, self.entries, |e, (customer_id, account)| {
            customer_id.encode(e)?;
            account.encode(e)
        })
    }
}

/// A chunk frame as read.
struct Chunk {
    checkpoint: u64,
    index: u32,
    entries: Vec<Entry>,
}

impl<C> bincode::Decode<C> for Chunk {
    fn decode<D: bincode::de::Decoder<Context = C>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(Chunk {
            checkpoint: u64::decode(d)?,
            index: u32::decode(d)?,
            entries: snapshot_form::decode_list(d, |d| {
                Ok((CustomerId::decode(d)?, Account::decode(d)?))
            })?,
        })
    }
}

/// A decoded snapshot.
#[derive(Debug)]
pub struct Snapshot {
    pub checkpoint: u64,
    /// The hash of the event at `checkpoint` (zeros for an empty log).
    pub hash: [u8; 32],
    pub policy_version: u32,
    pub ledger: Ledger,
}

/// The head's configuration (serde API): the limit bounds what its lists may reserve.
fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<SNAPSHOT_BYTES_MAX>,
> {
    bincode::config::standard().with_limit::<SNAPSHOT_BYTES_MAX>()
}

/// The chunks' configuration (native API): the same varints, no limit to count against on every
/// field — `domain::snapshot_form` reserves nothing beyond the bytes that remain.
fn chunk_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// `f` of every item, in the items' order, computed on up to every core: each thread takes the
/// next item left until none is.
fn parallel_map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
{
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len());
    if threads < 2 {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let next = AtomicUsize::new(0);
    let (next, f) = (&next, &f);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(i, item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// How much decoding an account costs, roughly: what it holds that grows with its events.
fn weight(entry: &EntryRef<'_>) -> usize {
    let (_, account) = entry;
    1 + account.invoices.len()
        + account.payments.len()
        + account.promises.len()
        + account.contacts_made.len()
}

/// Cuts `weights` into at most `target` runs of consecutive items of about equal total weight.
fn chunk_ranges(weights: &[usize], target: usize) -> Vec<Range<usize>> {
    let total: usize = weights.iter().sum();
    let per_chunk = total.div_ceil(target.max(1)).max(1);
    let mut ranges = Vec::new();
    let (mut start, mut weight) = (0, 0);
    for (i, w) in weights.iter().enumerate() {
        weight += w;
        if weight >= per_chunk {
            ranges.push(start..i + 1);
            (start, weight) = (i + 1, 0);
        }
    }
    if start < weights.len() {
        ranges.push(start..weights.len());
    }
    ranges
}

/// Encodes `ledger` with the hash of the event at its checkpoint: the whole file's bytes.
pub fn encode(ledger: &Ledger, hash: [u8; 32]) -> Result<Vec<u8>, ProjectionError> {
    let fails =
        |e: bincode::error::EncodeError| ProjectionError::Snapshot(format!("does not encode: {e}"));
    let entries: Vec<EntryRef<'_>> = ledger.accounts.iter().collect();
    let weights: Vec<usize> = entries.iter().map(weight).collect();
    let ranges = chunk_ranges(&weights, SNAPSHOT_CHUNKS_TARGET);
    let head = HeadRef {
        checkpoint: ledger.checkpoint,
        hash,
        policy_version: ledger.policy_version(),
        policies: &ledger.policies,
        accounts: entries.len() as u64,
        chunks: u32::try_from(ranges.len()).unwrap_or(u32::MAX),
    };
    let head = bincode::serde::encode_to_vec(&head, config()).map_err(fails)?;
    let chunks = parallel_map(&ranges, |index, range| {
        let chunk = ChunkRef {
            checkpoint: ledger.checkpoint,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            entries: entries.get(range.clone()).unwrap_or_default(),
        };
        // One pass into a growing vector: `bincode::encode_to_vec` walks the value twice (once
        // to size it), which made the native encode slower than serde's one pass.
        let mut frame = Vec::new();
        bincode::encode_into_std_write(&chunk, &mut frame, chunk_config()).map(|_| frame)
    });
    let frames = std::iter::once(Ok(head))
        .chain(chunks)
        .collect::<Result<Vec<Vec<u8>>, _>>()
        .map_err(fails)?;
    // One allocation of the file's size: the frames and the file are held together only once.
    let file_len = HEADER_BYTES
        + frames
            .iter()
            .map(|f| FRAME_LENGTH_BYTES + f.len())
            .sum::<usize>()
        + TRAILER_BYTES;
    let mut bytes = Vec::with_capacity(file_len);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
    for frame in frames {
        bytes.extend_from_slice(&(frame.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&frame);
    }
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

/// Decodes the whole of `bytes` as a `T`: trailing bytes are an error.
fn decode_frame<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    let (value, read) = bincode::serde::decode_from_slice::<T, _>(bytes, config())
        .map_err(|e| format!("{what} does not decode: {e}"))?;
    if read != bytes.len() {
        return Err(format!("{what} has {} trailing bytes", bytes.len() - read));
    }
    Ok(value)
}

/// Decodes one chunk (its accounts' id indexes are built on their first lookup).
fn decode_chunk(
    bytes: &[u8],
    index: usize,
    count: usize,
    checkpoint: u64,
) -> Result<Chunk, String> {
    let what = format!("chunk {index} of {count}");
    let (chunk, read) = bincode::decode_from_slice::<Chunk, _>(bytes, chunk_config())
        .map_err(|e| format!("{what} does not decode: {e}"))?;
    if read != bytes.len() {
        return Err(format!("{what} has {} trailing bytes", bytes.len() - read));
    }
    if u64::from(chunk.index) != index as u64 {
        return Err(format!("{what} says it is chunk {}", chunk.index));
    }
    if chunk.checkpoint != checkpoint {
        return Err(format!(
            "{what} says checkpoint {} but the snapshot is at {checkpoint}",
            chunk.checkpoint
        ));
    }
    Ok(chunk)
}

/// Decodes a snapshot file's bytes and checks it is whole and of this build's format.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, ProjectionError> {
    load::decode_from(bytes, bytes.len() as u64)
}

/// Reads and decodes the snapshot file of `dir`, or `None` when there is none.
pub fn load(dir: &Path) -> Result<Option<Snapshot>, ProjectionError> {
    load_file(&path(dir))
}

/// Reads and decodes the snapshot file `file`, or `None` when there is none: the chunks are
/// decoded while the file is still being read, and the whole file is never held at once.
pub fn load_file(file: &Path) -> Result<Option<Snapshot>, ProjectionError> {
    let cannot = |what: &str, e: std::io::Error| {
        ProjectionError::Snapshot(format!("cannot {what} {}: {e}", file.display()))
    };
    let opened = match std::fs::File::open(file) {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot("open", e)),
    };
    let len = opened.metadata().map_err(|e| cannot("stat", e))?.len();
    load::decode_from(opened, len).map(Some)
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
