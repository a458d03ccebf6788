//! Tampering with the stored log beyond single records (see `tamper.rs` for every byte of one
//! envelope, a block's framing, index runs and the chain head): random byte flips anywhere in a
//! block of six, deleted and swapped records inside it, truncation with the chain head kept or rewritten, a truncated log that was appended
//! to again, and the cheap tail check (`verify_tail`) a server runs at start.
//!
//! Each case names the first bad position, through `Store::open` refusing (`Corrupt { position }`)
//! or through `verify` / `verify_tail`.

use std::path::Path;

use store::{ExpectedVersion, Store, StoreError, Verification};

use crate::support::*;

const EVENTS: u64 = 6;

/// Six one-event appends on two streams, packed into one block; returns every event as
/// recorded.
fn six_events(dir: &Path) -> Vec<store::RecordedEvent> {
    let scratch = temp_dir();
    {
        let store = open(scratch.path());
        for n in 1..=EVENTS {
            let stream = if n % 2 == 0 { "account-A" } else { "account-B" };
            store
                .append_blocking(request(stream, ExpectedVersion::Any, &[n]))
                .unwrap();
        }
    }
    pack(scratch.path(), dir);
    with_raw_tree(dir, |t| assert_eq!(raw::envelopes(t, 1).len(), 6));
    let store = open(dir);
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
    let block = with_raw_tree(dir.path(), |t| raw::block_of(t, 1).1);
    let ranges: Vec<_> = with_raw_tree(dir.path(), |t| {
        (1..=EVENTS).map(|p| raw::envelope_range(t, p).1).collect()
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
        let range = &ranges[usize::try_from(position - 1).unwrap()];
        let offset = usize::try_from(next(range.len() as u64)).unwrap();
        let bit = 1u8 << next(8);
        let mut tampered = block.clone();
        tampered[range.start + offset] ^= bit;
        with_raw_tree(dir.path(), |t| {
            t.insert(raw::block_key(1), tampered).unwrap()
        });
        assert_eq!(
            first_bad(dir.path()),
            Some(position),
            "bit {bit:#x} of byte {offset} at position {position}"
        );
        with_raw_tree(dir.path(), |t| {
            t.insert(raw::block_key(1), block.clone()).unwrap()
        });
    }
    assert_eq!(first_bad(dir.path()), None);
    assert_eq!(events.len() as u64, EVENTS);
    eprintln!(
        "tamper_log: {trials} random bit flips over {EVENTS} records of one block, each found"
    );
}

#[test]
fn swapped_records_are_found_at_the_first_of_the_two() {
    let dir = temp_dir();
    six_events(dir.path());
    for (a, b) in [(2, 5), (3, 4), (1, 6)] {
        let swap = |t: &sled::Tree| {
            let va = raw::envelope(t, a);
            let vb = raw::envelope(t, b);
            raw::set_envelope(t, a, vb);
            raw::set_envelope(t, b, va);
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
        raw::remove_envelope(t, 3);
        t.remove(raw::run_key(&e3.stream, e3.version)).unwrap();
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
        for e in events[usize::try_from(from - 1).unwrap()..].iter().rev() {
            raw::remove_envelope(t, e.position);
            t.remove(raw::run_key(&e.stream, e.version)).unwrap();
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
    let scratch = temp_dir();
    {
        let store = open(scratch.path());
        for n in 1..=10 {
            store
                .append_blocking(request("account-A", ExpectedVersion::Any, &[n]))
                .unwrap();
        }
    }
    // One block of ten, one run of ten.
    pack(scratch.path(), dir.path());
    let store = open(dir.path());
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
        raw::set_envelope(t, 3, b"\x01garbage".to_vec());
        raw::set_envelope(t, 5, b"\x01garbage".to_vec());
    });
    let store = retry_open(dir.path()).unwrap();
    ok(store.verify_tail(5, h5).unwrap(), 5);
    assert_eq!(store.verify(0).unwrap().first_bad_position, Some(3));
    assert_eq!(store.verify(5).unwrap().first_bad_position, Some(5));
    drop(store);

    // A change after it is found, at its position.
    let mut e8 = with_raw_tree(dir.path(), |t| raw::envelope(t, 8));
    e8[20] ^= 0x10;
    with_raw_tree(dir.path(), |t| raw::set_envelope(t, 8, e8));
    let store = retry_open(dir.path()).unwrap();
    let v = store.verify_tail(5, h5).unwrap();
    assert_eq!(v.first_bad_position, Some(8), "{v:?}");
    assert_eq!(v.checked, 2);
}
