//! Tampering: any changed byte of a stored record, inside a block of several, is found by
//! `verify` at the right position; a changed byte of a block's framing is found too; reading a
//! damaged record is an error naming it, never a panic.

use std::path::Path;

use store::{ExpectedVersion, Store, StoreError};

use crate::support::*;

/// Three events in one block (positions 1 and 2 on account-A, one run; 3 on account-B).
fn three_events(dir: &Path) {
    let scratch = temp_dir();
    {
        let store = open(scratch.path());
        let mut req = request("account-A", ExpectedVersion::Any, &[1]);
        req.correlation_id = Some("c".into());
        store.append_blocking(req).unwrap();
        let mut req = request("account-A", ExpectedVersion::Any, &[2]);
        req.causation_id = Some("cause".into());
        req.policy_version = Some(2);
        store.append_blocking(req).unwrap();
        store
            .append_blocking(request("account-B", ExpectedVersion::Any, &[3]))
            .unwrap();
    }
    pack(scratch.path(), dir);
    with_raw_tree(dir, |t| assert_eq!(raw::envelopes(t, 1).len(), 3));
}

fn first_bad(dir: &Path) -> Option<u64> {
    let opened = retry_locked(|| match Store::open(dir) {
        Err(StoreError::Io(e)) if e.contains("could not acquire lock") => Err(e),
        other => Ok(other),
    });
    let store = match opened {
        Ok(store) => store,
        // Opening checks that the last block ends at the chain head.
        Err(StoreError::Corrupt { position, .. }) => return Some(position),
        Err(e) => panic!("open failed unclearly: {e:?}"),
    };
    // Reads of a damaged log return errors or data; they never panic.
    let _ = store.read_from(0, 10);
    let _ = store.read_stream("account-A", 0);
    let _ = store.export_jsonl(&mut std::io::sink(), None);
    let v = store.verify(0).unwrap();
    assert_eq!(v.ok, v.first_bad_position.is_none(), "{v:?}");
    v.first_bad_position
}

#[test]
fn every_single_byte_change_of_an_envelope_inside_a_block_is_found_at_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    let (first, original) = with_raw_tree(dir.path(), |t| raw::block_of(t, 2));
    let (_, range) = with_raw_tree(dir.path(), |t| raw::envelope_range(t, 2));
    assert_eq!(first, 1);
    assert_eq!(first_bad(dir.path()), None);
    // Every byte of the middle envelope is changed in place, one at a time: layout byte,
    // position, strings, payload, both hashes.
    let offsets: Vec<usize> = range.clone().collect();
    for offset in &offsets {
        let mut tampered = original.clone();
        tampered[*offset] ^= 0x5a;
        with_raw_tree(dir.path(), |t| {
            t.insert(raw::block_key(1), tampered).unwrap()
        });
        assert_eq!(
            first_bad(dir.path()),
            Some(2),
            "byte {} of the envelope of {} bytes",
            offset - range.start,
            range.len()
        );
    }
    with_raw_tree(dir.path(), |t| {
        t.insert(raw::block_key(1), original.clone()).unwrap()
    });
    assert_eq!(first_bad(dir.path()), None);
    eprintln!("tamper: {} single-byte changes found", offsets.len());
}

#[test]
fn every_single_byte_change_of_a_blocks_framing_is_found() {
    let dir = temp_dir();
    three_events(dir.path());
    let original = with_raw_tree(dir.path(), |t| raw::block_of(t, 1).1);
    let envelopes: Vec<_> = (1..=3)
        .map(|p| with_raw_tree(dir.path(), |t| raw::envelope_range(t, p).1))
        .collect();
    // The layout byte, the count, and each envelope's length prefix.
    let mut framing: Vec<usize> = (0..5).collect();
    framing.extend(envelopes.iter().flat_map(|r| r.start - 4..r.start));
    for offset in &framing {
        for flip in [0x01, 0x80, 0xff] {
            let mut tampered = original.clone();
            tampered[*offset] ^= flip;
            with_raw_tree(dir.path(), |t| {
                t.insert(raw::block_key(1), tampered).unwrap()
            });
            let bad = first_bad(dir.path());
            // A count that grows claims a position past the head, which is refused there.
            assert!(
                bad.is_some_and(|p| (1..=4).contains(&p)),
                "byte {offset} ^ {flip:#x}: {bad:?}"
            );
        }
    }
    with_raw_tree(dir.path(), |t| {
        t.insert(raw::block_key(1), original).unwrap()
    });
    assert_eq!(first_bad(dir.path()), None);
    eprintln!("tamper: {} framing changes found", framing.len() * 3);
}

#[test]
fn a_damaged_record_reads_as_corrupt_naming_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    with_raw_tree(dir.path(), |t| {
        raw::set_envelope(t, 2, b"\x01\xff\xff".to_vec())
    });
    let store = open(dir.path());
    let err = store.read_from(0, 10).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { position: 2, .. }),
        "{err:?}"
    );
    let errs: Vec<_> = store.iter_from(0).collect();
    assert!(errs[0].is_ok());
    assert!(matches!(
        errs[1],
        Err(StoreError::Corrupt { position: 2, .. })
    ));
    assert_eq!(errs.len(), 2, "the iterator stops after an error");
    assert!(matches!(
        store.read_stream("account-A", 0),
        Err(StoreError::Corrupt { position: 2, .. })
    ));
    // Position 3, after the damage in the same block, still reads on its own.
    assert_eq!(store.read_stream("account-B", 0).unwrap().len(), 1);
    let v = store.verify(0).unwrap();
    assert_eq!(v.first_bad_position, Some(2));
    assert!(v.message.unwrap().contains("envelope"));
}

/// Replay decodes into events it already holds (`LogIter::next_into`, reusing their buffers):
/// it must give exactly what iterating gives, whatever the held events were, and refuse a
/// damaged record at its position just the same, leaving the held event untouched.
#[test]
fn decoding_into_held_events_matches_iterating_and_refuses_the_same_damage() {
    let dir = temp_dir();
    three_events(dir.path());
    let fresh = all(&open(dir.path()));
    assert_eq!(fresh.len(), 3);
    // Held events in another order: stream, type, payload and hashes all differ.
    let mut held: Vec<_> = fresh.iter().rev().cloned().collect();
    held[0].correlation_id = Some("left over".to_owned());
    {
        let store = open(dir.path());
        let mut log = store.log_from(0);
        for (slot, want) in held.iter_mut().zip(&fresh) {
            log.next_into(slot).unwrap().unwrap();
            assert_eq!(format!("{slot:?}"), format!("{want:?}"));
        }
        assert!(log.next_into(&mut held[0]).is_none());
    }
    with_raw_tree(dir.path(), |t| {
        raw::set_envelope(t, 2, b"\x01\xff\xff".to_vec())
    });
    let store = open(dir.path());
    let mut log = store.log_from(0);
    let mut slot = fresh[2].clone();
    log.next_into(&mut slot).unwrap().unwrap();
    assert_eq!(format!("{slot:?}"), format!("{:?}", fresh[0]));
    let err = log.next_into(&mut slot).unwrap().unwrap_err();
    let iterated = store.iter_from(1).next().unwrap().unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { position: 2, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), iterated.to_string());
    assert_eq!(
        format!("{slot:?}"),
        format!("{:?}", fresh[0]),
        "left as it was"
    );
    assert!(log.next_into(&mut slot).is_none(), "stops after an error");
}

#[test]
fn a_missing_record_is_a_gap_at_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    with_raw_tree(dir.path(), |t| raw::remove_envelope(t, 2));
    assert_eq!(first_bad(dir.path()), Some(2));
    let store = open(dir.path());
    assert!(matches!(
        store.read_from(0, 10),
        Err(StoreError::Corrupt { position: 2, .. })
    ));
}

#[test]
fn a_changed_index_run_or_chain_head_is_found() {
    let dir = temp_dir();
    three_events(dir.path());
    // account-A versions 1 and 2 are one run at positions 1 and 2.
    let run = with_raw_tree(dir.path(), |t| {
        t.get(raw::run_key("account-A", 2))
            .unwrap()
            .unwrap()
            .to_vec()
    });
    assert_eq!(run, raw::run_value(1, 2));
    // Split in two runs, the second pointing at the wrong position.
    with_raw_tree(dir.path(), |t| {
        t.insert(raw::run_key("account-A", 1), raw::run_value(1, 1))
            .unwrap();
        t.insert(raw::run_key("account-A", 2), raw::run_value(3, 1))
            .unwrap();
    });
    assert_eq!(first_bad(dir.path()), Some(2));
    // One run claiming a version too many.
    with_raw_tree(dir.path(), |t| {
        t.remove(raw::run_key("account-A", 1)).unwrap();
        t.insert(raw::run_key("account-A", 2), raw::run_value(1, 3))
            .unwrap();
    });
    assert_eq!(first_bad(dir.path()), Some(1));
    with_raw_tree(dir.path(), |t| {
        t.insert(raw::run_key("account-A", 2), run.clone()).unwrap()
    });
    assert_eq!(first_bad(dir.path()), None);

    let chain = with_raw_tree(dir.path(), |t| t.get(b"c").unwrap().unwrap().to_vec());
    let mut bad = chain.clone();
    bad[20] ^= 1;
    with_raw_tree(dir.path(), |t| t.insert(b"c", bad).unwrap());
    assert_eq!(first_bad(dir.path()), Some(3));
    with_raw_tree(dir.path(), |t| t.insert(b"c", chain).unwrap());

    with_raw_tree(dir.path(), |t| {
        t.insert(raw::run_key("account-C", 1), raw::run_value(1, 1))
            .unwrap()
    });
    assert!(first_bad(dir.path()).is_some());
}

#[test]
fn an_idempotency_record_naming_impossible_positions_reads_as_corrupt() {
    let dir = temp_dir();
    {
        let store = open(dir.path());
        store
            .append_blocking(with_key(
                request("account-A", ExpectedVersion::Any, &[1]),
                "k",
                7,
            ))
            .unwrap();
        assert!(store.idempotency("k").unwrap().is_some());
    }
    // The record's bincode (varint): the 32-byte fingerprint, first position u64::MAX, count 2 —
    // positions past the end of u64.
    let mut forged = vec![7u8; 32];
    forged.push(0xFD);
    forged.extend_from_slice(&u64::MAX.to_le_bytes());
    forged.push(2);
    with_raw_tree(dir.path(), |tree| {
        tree.insert(b"i/k", forged).unwrap();
    });
    let store = open(dir.path());
    match store.idempotency("k") {
        Err(StoreError::Corrupt { reason, .. }) => {
            assert!(reason.contains("idempotency record"), "{reason}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
