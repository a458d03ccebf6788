//! Helpers shared by the store's tests: temporary stores and small append requests.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use domain::event::{CreditLimitChanged, ReminderChannel, ReminderSent};
use domain::{Event, InvoiceId};
use rust_decimal::Decimal;
use store::{AppendRequest, ExpectedVersion, Idempotency, NewEvent, Store};

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// How long a reopen may wait for sled to let go of its file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `open` until it stops failing on sled's file lock. sled's background I/O threads can hold
/// the lock for a moment after the previous handle in this process was dropped.
pub fn retry_locked<T, E: std::fmt::Debug>(mut open: impl FnMut() -> Result<T, E>) -> T {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match open() {
            Ok(v) => return v,
            Err(e)
                if format!("{e:?}").contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => panic!("open failed: {e:?}"),
        }
    }
}

pub fn open(dir: &Path) -> Store {
    retry_locked(|| Store::open(dir))
}

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + secs, 0).unwrap()
}

/// A small event whose content names `n`, so tests can tell events apart.
pub fn event(n: u64) -> Event {
    if n % 2 == 0 {
        Event::CreditLimitChanged(CreditLimitChanged {
            new_limit: Decimal::new(i64::try_from(n).unwrap() * 100, 2),
            reason: format!("event {n}"),
        })
    } else {
        Event::ReminderSent(ReminderSent {
            invoice_ids: vec![InvoiceId::parse(&format!("INV-{n}")).unwrap()],
            channel: ReminderChannel::Email,
            step: Some(format!("step {n}")),
            template: None,
            sent_at: at(i64::try_from(n).unwrap()),
            message_id: None,
            to: None,
            language: None,
            content_sha256: None,
        })
    }
}

pub fn request(stream: &str, expected: ExpectedVersion, ns: &[u64]) -> AppendRequest {
    let events = ns.iter().map(|n| (event(*n), *n));
    request_of(stream, expected, events)
}

/// An append of `events`, each with the instant `at(n)` of the number beside it.
pub fn request_of(
    stream: &str,
    expected: ExpectedVersion,
    events: impl IntoIterator<Item = (Event, u64)>,
) -> AppendRequest {
    AppendRequest {
        stream: stream.to_owned(),
        expected,
        events: events
            .into_iter()
            .map(|(event, n)| NewEvent {
                event,
                occurred_at: at(i64::try_from(n).unwrap()),
            })
            .collect(),
        actor: "tester".to_owned(),
        correlation_id: None,
        causation_id: None,
        policy_version: None,
        idempotency: None,
    }
}

pub fn with_key(mut req: AppendRequest, key: &str, fingerprint: u8) -> AppendRequest {
    req.idempotency = Some(Idempotency {
        key: key.to_owned(),
        fingerprint: [fingerprint; 32],
    });
    req
}

/// Every event of the log, in order.
pub fn all(store: &Store) -> Vec<store::RecordedEvent> {
    store.iter_from(0).collect::<Result<Vec<_>, _>>().unwrap()
}

/// Runs `f` on the raw `log` tree of a closed store.
pub fn with_raw_tree<T>(dir: &Path, f: impl FnOnce(&sled::Tree) -> T) -> T {
    let db = retry_locked(|| sled::open(dir));
    let tree = db.open_tree("log").unwrap();
    let out = f(&tree);
    db.flush().unwrap();
    out
}

/// Rewrites the log of the closed store in `from` into the empty directory `to` through export
/// and import, which packs consecutive events into blocks of up to 64 (a live store writes one
/// block per group commit). Opens and closes the result once, so it has an anchor.
pub fn pack(from: &Path, to: &Path) {
    let mut export = Vec::new();
    {
        let store = open(from);
        store.export_jsonl(&mut export, None).unwrap();
    }
    Store::import_jsonl(to, &mut &export[..]).unwrap();
    drop(open(to));
}

/// The raw log in format 2: blocks of envelopes under `b/` + first position, stream runs under
/// `r/` + stream + `/` + last version. Tests tamper with it through these helpers.
pub mod raw {
    use store::codec;

    pub fn block_key(first: u64) -> Vec<u8> {
        let mut k = b"b/".to_vec();
        k.extend_from_slice(&first.to_be_bytes());
        k
    }

    pub fn run_key(stream: &str, last_version: u64) -> Vec<u8> {
        let mut k = format!("r/{stream}/").into_bytes();
        k.extend_from_slice(&last_version.to_be_bytes());
        k
    }

    /// A run value: first position and count.
    pub fn run_value(first_position: u64, count: u32) -> Vec<u8> {
        let mut v = first_position.to_be_bytes().to_vec();
        v.extend_from_slice(&count.to_be_bytes());
        v
    }

    /// The block holding `position`: its first position and raw bytes.
    pub fn block_of(tree: &sled::Tree, position: u64) -> (u64, Vec<u8>) {
        let (k, v) = tree
            .range(..=block_key(position))
            .next_back()
            .unwrap()
            .unwrap();
        assert!(k.starts_with(b"b/"));
        let first = u64::from_be_bytes(k[2..].try_into().unwrap());
        (first, v.to_vec())
    }

    /// The envelopes of the block starting at `first`.
    pub fn envelopes(tree: &sled::Tree, first: u64) -> Vec<Vec<u8>> {
        let bytes = tree.get(block_key(first)).unwrap().unwrap();
        let split = codec::split_block(&bytes);
        assert_eq!(split.error, None);
        split
            .entries
            .into_iter()
            .map(|r| bytes[r].to_vec())
            .collect()
    }

    /// Where the envelope at `position` lies inside its block's bytes.
    pub fn envelope_range(tree: &sled::Tree, position: u64) -> (u64, std::ops::Range<usize>) {
        let (first, bytes) = block_of(tree, position);
        let split = codec::split_block(&bytes);
        let index = usize::try_from(position - first).unwrap();
        (first, split.entries[index].clone())
    }

    /// The stored envelope at `position`.
    pub fn envelope(tree: &sled::Tree, position: u64) -> Vec<u8> {
        let (first, _) = block_of(tree, position);
        envelopes(tree, first)[usize::try_from(position - first).unwrap()].clone()
    }

    /// Replaces the envelope at `position` inside its block (the block is framed again).
    pub fn set_envelope(tree: &sled::Tree, position: u64, bytes: Vec<u8>) {
        let (first, _) = block_of(tree, position);
        let mut all = envelopes(tree, first);
        all[usize::try_from(position - first).unwrap()] = bytes;
        tree.insert(block_key(first), codec::encode_block(&all))
            .unwrap();
    }

    /// Cuts the envelope at `position` out of its block, which splits in two around the gap.
    pub fn remove_envelope(tree: &sled::Tree, position: u64) {
        let (first, _) = block_of(tree, position);
        let mut before = envelopes(tree, first);
        let after = before.split_off(usize::try_from(position - first).unwrap() + 1);
        before.pop();
        tree.remove(block_key(first)).unwrap();
        if !before.is_empty() {
            tree.insert(block_key(first), codec::encode_block(&before))
                .unwrap();
        }
        if !after.is_empty() {
            tree.insert(block_key(position + 1), codec::encode_block(&after))
                .unwrap();
        }
    }
}
