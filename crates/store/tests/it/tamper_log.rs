//! Tampering with the stored log beyond single records (see `tamper.rs` for every byte of one
//! envelope, index entries and the chain head): random byte flips anywhere, deleted and swapped
//! records, truncation with the chain head kept or rewritten, a truncated log that was appended
//! to again, and the cheap tail check (`verify_tail`) a server runs at start.
//!
//! Each case names the first bad position, through `Store::open` refusing (`Corrupt { position }`)
//! or through `verify` / `verify_tail`.

use std::path::Path;

use store::{ExpectedVersion, Store, StoreError, Verification};

use crate::support::*;

const EVENTS: u64 = 6;

fn event_key(position: u64) -> Vec<u8> {
    let mut k = b"e/".to_vec();
    k.extend_from_slice(&position.to_be_bytes());
    k
}

fn index_key(stream: &str, version: u64) -> Vec<u8> {
    let mut k = format!("s/{stream}/").into_bytes();
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn with_raw_tree<T>(dir: &Path, f: impl FnOnce(&sled::Tree) -> T) -> T {
    let db = retry_locked(|| sled::open(dir));
    let tree = db.open_tree("log").unwrap();
    let out = f(&tree);
    db.flush().unwrap();
    out
}

/// Six one-event appends on two streams; returns every event as recorded.
fn six_events(dir: &Path) -> Vec<store::RecordedEvent> {
    let store = open(dir);
    for n in 1..=EVENTS {
        let stream = if n % 2 == 0 { "account-A" } else { "account-B" };
        store
            .append_blocking(request(stream, ExpectedVersion::Any, &[n]))
            .unwrap();
    }
    all(&store)
}

/// The first bad position as the store reports it: `Store::open` refusing, or `verify(0)`.
fn first_bad(dir: &Path) -> Option<u64> {
    let store = match retry_open(dir) {
        Ok(s) => s,
        Err(StoreError::Corrupt { position, .. }) => return Some(position),
        Err(e) => panic!("open failed unclearly: {e:?}"),
    };
    let _ = store.read_from(0, 100);
    let v = store.verify(0).unwrap();
    assert_eq!(v.ok, v.first_bad_position.is_none(), "{v:?}");
    v.first_bad_position
}

fn retry_open(dir: &Path) -> Result<Store, StoreError> {
    let mut result = None;
    retry_locked(|| match Store::open(dir) {
        Err(StoreError::Io(e)) if e.contains("could not acquire lock") => Err(e),
        other => {
            result = Some(other);
            Ok(())
        }
    });
    result.unwrap()
}

/// Drops the anchor a clean close leaves, as after a crash before any clean close.
fn forget_anchor(dir: &Path) {
    std::fs::remove_file(dir.join("anchor")).unwrap();
}

#[test]
fn random_byte_flips_anywhere_in_the_log_are_found_at_their_position() {
    let dir = temp_dir();
    let events = six_events(dir.path());
    let originals: Vec<Vec<u8>> = with_raw_tree(dir.path(), |t| {
        (1..=EVENTS)
            .map(|p| t.get(event_key(p)).unwrap().unwrap().to_vec())
            .collect()
    });
    // A fixed-seed LCG: the same flips on every run, spread over every record and offset.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let trials = 60;
    for _ in 0..trials {
        let position = 1 + next(EVENTS);
        let original = &originals[usize::try_from(position - 1).unwrap()];
        let offset = usize::try_from(next(original.len() as u64)).unwrap();
        let bit = 1u8 << next(8);
        let mut tampered = original.clone();
        tampered[offset] ^= bit;
        with_raw_tree(dir.path(), |t| {
            t.insert(event_key(position), tampered).unwrap()
        });
        assert_eq!(
            first_bad(dir.path()),
            Some(position),
            "bit {bit:#x} of byte {offset} at position {position}"
        );
        with_raw_tree(dir.path(), |t| {
            t.insert(event_key(position), original.clone()).unwrap()
        });
    }
    assert_eq!(first_bad(dir.path()), None);
    assert_eq!(events.len() as u64, EVENTS);
    eprintln!("tamper_log: {trials} random bit flips over {EVENTS} records, each found");
}

#[test]
fn swapped_records_are_found_at_the_first_of_the_two() {
    let dir = temp_dir();
    six_events(dir.path());
    for (a, b) in [(2, 5), (3, 4), (1, 6)] {
        let swap = |t: &sled::Tree| {
            let va = t.get(event_key(a)).unwrap().unwrap();
            let vb = t.get(event_key(b)).unwrap().unwrap();
            t.insert(event_key(a), vb).unwrap();
            t.insert(event_key(b), va).unwrap();
        };
        with_raw_tree(dir.path(), swap);
        assert_eq!(first_bad(dir.path()), Some(a), "{a} <-> {b}");
        with_raw_tree(dir.path(), swap);
        assert_eq!(first_bad(dir.path()), None, "swapped back");
    }
}

#[test]
fn a_record_deleted_with_its_index_entry_is_found_at_its_position() {
    let dir = temp_dir();
    let events = six_events(dir.path());
    let e3 = &events[2];
    with_raw_tree(dir.path(), |t| {
        t.remove(event_key(3)).unwrap();
        t.remove(index_key(&e3.stream, e3.version)).unwrap();
    });
    assert_eq!(first_bad(dir.path()), Some(3));
    let store = retry_open(dir.path()).unwrap();
    assert!(matches!(
        store.read_from(0, 10),
        Err(StoreError::Corrupt { position: 3, .. })
    ));
}

/// Removes positions `from..=EVENTS` and their index entries; with `rewrite_head`, also points
/// the chain head at `from - 1`, so that what is left is a consistent, shorter log.
fn truncate(dir: &Path, events: &[store::RecordedEvent], from: u64, rewrite_head: bool) {
    let kept = &events[usize::try_from(from - 2).unwrap()];
    with_raw_tree(dir, |t| {
        for e in &events[usize::try_from(from - 1).unwrap()..] {
            t.remove(event_key(e.position)).unwrap();
            t.remove(index_key(&e.stream, e.version)).unwrap();
        }
        if rewrite_head {
            let mut head = kept.position.to_be_bytes().to_vec();
            head.extend_from_slice(&kept.hash);
            head.extend_from_slice(&kept.recorded_at.timestamp_micros().to_be_bytes());
            t.insert(b"c", head).unwrap();
        }
    });
}

#[test]
fn truncation_keeping_the_chain_head_is_refused_at_the_first_missing_position() {
    let dir = temp_dir();
    let events = six_events(dir.path());
    forget_anchor(dir.path());
    truncate(dir.path(), &events, 5, false);
    match retry_open(dir.path()) {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, 5, "{reason}");
        }
        other => panic!("expected Corrupt at 5, got {:?}", other.err()),
    }
}

#[test]
fn truncation_with_the_chain_head_rewritten_is_found_by_the_anchor_or_the_tail_check() {
    let dir = temp_dir();
    let events = six_events(dir.path());
    let last = events.last().unwrap();
    truncate(dir.path(), &events, 5, true);
    // The anchor of the last clean close: opening refuses.
    assert_eq!(first_bad(dir.path()), Some(5));
    // Without it, the shorter log is consistent in itself: only a remembered position shows
    // that the tail is gone, which is what the server checks at start.
    forget_anchor(dir.path());
    let store = retry_open(dir.path()).unwrap();
    assert_eq!(store.head(), 4);
    assert!(store.verify(0).unwrap().ok);
    let v = store.verify_tail(last.position, last.hash).unwrap();
    assert_eq!(v.first_bad_position, Some(5), "{v:?}");
    // Appending again forks the history: positions 5 and 6 exist again, with other hashes.
    for n in [50, 60] {
        store
            .append_blocking(request("account-C", ExpectedVersion::Any, &[n]))
            .unwrap();
    }
    assert_eq!(store.head(), 6);
    assert!(store.verify(0).unwrap().ok);
    let v = store.verify_tail(last.position, last.hash).unwrap();
    assert_eq!(v.first_bad_position, Some(6), "{v:?}");
    let v = store.verify_tail(4, events[3].hash).unwrap();
    assert!(v.ok, "the untouched prefix still verifies: {v:?}");
    drop(store);
    // The anchor of that session is the forked head; an older remembered one still catches it.
    let store = retry_open(dir.path()).unwrap();
    let v = store.verify_tail(5, events[4].hash).unwrap();
    assert_eq!(v.first_bad_position, Some(6), "{v:?}");
}

#[test]
fn verify_tail_checks_only_after_the_remembered_position() {
    let dir = temp_dir();
    let store = open(dir.path());
    for n in 1..=10 {
        store
            .append_blocking(request("account-A", ExpectedVersion::Any, &[n]))
            .unwrap();
    }
    let events = all(&store);
    let h5 = events[4].hash;
    let ok = |v: Verification, checked: u64| {
        assert!(v.ok, "{v:?}");
        assert_eq!(v.checked, checked);
    };
    ok(store.verify_tail(5, h5).unwrap(), 5);
    ok(store.verify_tail(0, [0; 32]).unwrap(), 10);
    ok(store.verify_tail(10, events[9].hash).unwrap(), 0);
    // A wrong remembered hash is found at the first event after it (or at the head record).
    let v = store.verify_tail(5, [7; 32]).unwrap();
    assert_eq!(v.first_bad_position, Some(6), "{v:?}");
    let v = store.verify_tail(10, [7; 32]).unwrap();
    assert_eq!(v.first_bad_position, Some(10), "{v:?}");
    // A position past the head: the log was cut before it.
    let v = store.verify_tail(12, [7; 32]).unwrap();
    assert_eq!(v.first_bad_position, Some(11), "{v:?}");
    drop(store);

    // Records at and before the remembered position are not read at all: garbage there does
    // not disturb the tail check, while `verify(0)` and `verify(5)` see it.
    with_raw_tree(dir.path(), |t| {
        t.insert(event_key(3), &b"\x01garbage"[..]).unwrap();
        t.insert(event_key(5), &b"\x01garbage"[..]).unwrap();
    });
    let store = retry_open(dir.path()).unwrap();
    ok(store.verify_tail(5, h5).unwrap(), 5);
    assert_eq!(store.verify(0).unwrap().first_bad_position, Some(3));
    assert_eq!(store.verify(5).unwrap().first_bad_position, Some(5));
    drop(store);

    // A change after it is found, at its position.
    let mut e8 = with_raw_tree(dir.path(), |t| {
        t.get(event_key(8)).unwrap().unwrap().to_vec()
    });
    e8[20] ^= 0x10;
    with_raw_tree(dir.path(), |t| t.insert(event_key(8), e8).unwrap());
    let store = retry_open(dir.path()).unwrap();
    let v = store.verify_tail(5, h5).unwrap();
    assert_eq!(v.first_bad_position, Some(8), "{v:?}");
    assert_eq!(v.checked, 2);
}
