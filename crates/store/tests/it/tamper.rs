//! Tampering: any changed byte of a stored record is found by `verify`, at the right position,
//! and reading a damaged record is an error naming it, never a panic.

use std::path::Path;

use store::{ExpectedVersion, StoreError};

use crate::support::*;

fn event_key(position: u64) -> Vec<u8> {
    let mut k = b"e/".to_vec();
    k.extend_from_slice(&position.to_be_bytes());
    k
}

/// Runs `f` on the raw `log` tree of a closed store.
fn with_raw_tree<T>(dir: &Path, f: impl FnOnce(&sled::Tree) -> T) -> T {
    let db = retry_locked(|| sled::open(dir));
    let tree = db.open_tree("log").unwrap();
    let out = f(&tree);
    db.flush().unwrap();
    out
}

fn three_events(dir: &Path) {
    let store = open(dir);
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

fn first_bad(dir: &Path) -> Option<u64> {
    let store = open(dir);
    // Reads of a damaged log return errors or data; they never panic.
    let _ = store.read_from(0, 10);
    let _ = store.read_stream("account-A", 0);
    let _ = store.export_jsonl(&mut std::io::sink(), None);
    let v = store.verify(0).unwrap();
    assert_eq!(v.ok, v.first_bad_position.is_none(), "{v:?}");
    v.first_bad_position
}

#[test]
fn every_single_byte_change_of_an_envelope_is_found_at_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    let original = with_raw_tree(dir.path(), |t| {
        t.get(event_key(2)).unwrap().unwrap().to_vec()
    });
    assert_eq!(first_bad(dir.path()), None);
    // Every byte is changed, one at a time: layout byte, position, strings, payload, both hashes.
    let offsets: Vec<usize> = (0..original.len()).collect();
    for offset in &offsets {
        let mut tampered = original.clone();
        tampered[*offset] ^= 0x5a;
        with_raw_tree(dir.path(), |t| t.insert(event_key(2), tampered).unwrap());
        assert_eq!(
            first_bad(dir.path()),
            Some(2),
            "byte {offset} of {}",
            original.len()
        );
    }
    with_raw_tree(dir.path(), |t| t.insert(event_key(2), original).unwrap());
    assert_eq!(first_bad(dir.path()), None);
    eprintln!("tamper: {} single-byte changes found", offsets.len());
}

#[test]
fn a_damaged_record_reads_as_corrupt_naming_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    with_raw_tree(dir.path(), |t| {
        t.insert(event_key(2), &b"\x01\xff\xff"[..]).unwrap()
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
    let v = store.verify(0).unwrap();
    assert_eq!(v.first_bad_position, Some(2));
    assert!(v.message.unwrap().contains("envelope"));
}

#[test]
fn a_missing_record_is_a_gap_at_its_position() {
    let dir = temp_dir();
    three_events(dir.path());
    with_raw_tree(dir.path(), |t| t.remove(event_key(2)).unwrap());
    assert_eq!(first_bad(dir.path()), Some(2));
    let store = open(dir.path());
    assert!(matches!(
        store.read_from(0, 10),
        Err(StoreError::Corrupt { position: 2, .. })
    ));
}

#[test]
fn a_changed_index_entry_or_chain_head_is_found() {
    let dir = temp_dir();
    three_events(dir.path());
    let mut index_key = b"s/account-A/".to_vec();
    index_key.extend_from_slice(&2u64.to_be_bytes());
    let index = with_raw_tree(dir.path(), |t| {
        t.insert(&index_key, &3u64.to_be_bytes()[..])
            .unwrap()
            .unwrap()
    });
    assert_eq!(first_bad(dir.path()), Some(2));
    with_raw_tree(dir.path(), |t| t.insert(&index_key, index).unwrap());

    let chain = with_raw_tree(dir.path(), |t| t.get(b"c").unwrap().unwrap().to_vec());
    let mut bad = chain.clone();
    bad[20] ^= 1;
    with_raw_tree(dir.path(), |t| t.insert(b"c", bad).unwrap());
    assert_eq!(first_bad(dir.path()), Some(3));
    with_raw_tree(dir.path(), |t| t.insert(b"c", chain).unwrap());

    let mut stray = b"s/account-C/".to_vec();
    stray.extend_from_slice(&1u64.to_be_bytes());
    with_raw_tree(dir.path(), |t| {
        t.insert(stray, &1u64.to_be_bytes()[..]).unwrap()
    });
    assert!(first_bad(dir.path()).is_some());
}
