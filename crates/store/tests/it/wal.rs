//! The write-ahead file (decision 0040): an acknowledged group is durable once its record is
//! synced, before sled writes it out. A child process appends and then exits without closing
//! the store (so sled never flushes), and the parent checks that reopening replays every
//! acknowledged group from the file — also across wraps of the file — that a clean close leaves
//! sled complete, and that a damaged file never makes opening panic or apply a torn record.
//!
//! The child is this same test binary, re-executed to run only `child_appends_then_exits` with
//! `DUNLOG_WAL_CHILD=<dir>` set; it prints `ack <key> <first position> <count>` per append.

use std::io::{BufRead, BufReader};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Command, Stdio};

use store::{ExpectedVersion, Store};

use crate::support::*;

const CHILD_ENV: &str = "DUNLOG_WAL_CHILD";
const WRAP_ENV: &str = "DUNLOG_WAL_WRAP";
const APPENDS_ENV: &str = "DUNLOG_WAL_APPENDS";
const CHILD_TEST: &str = "wal::child_appends_then_exits";

fn keyed(key: &str, i: u64) -> store::AppendRequest {
    let count = 1 + i % 3;
    let ns: Vec<u64> = (0..count).map(|c| i * 10 + c).collect();
    let mut req = with_key(
        request(&format!("account-{}", i % 4), ExpectedVersion::Any, &ns),
        key,
        7,
    );
    req.correlation_id = Some(key.to_owned());
    req
}

/// The child: appends, prints each acknowledgement, then exits without dropping the store.
#[test]
fn child_appends_then_exits() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Only does something when a test below runs it.
    };
    let wrap: u64 = std::env::var(WRAP_ENV).unwrap().parse().unwrap();
    let appends: u64 = std::env::var(APPENDS_ENV).unwrap().parse().unwrap();
    let dir = Path::new(&dir);
    let store = if wrap == 0 {
        open(dir)
    } else {
        retry_locked(|| Store::open_with_wal_wrap_for_test(dir, wrap))
    };
    let mut out = String::new();
    for i in 0..appends {
        let key = format!("k{i}");
        let done = store.append_blocking(keyed(&key, i)).unwrap();
        let first = done.events[0].position;
        out.push_str(&format!("ack {key} {first} {}\n", done.events.len()));
    }
    // libtest has printed the test's name without a newline: start on a line of our own.
    print!("\n{out}");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    // As a crash would: no clean close, so sled has written out nothing since it opened.
    std::process::exit(0);
}

/// Runs the child on `dir` and returns its acknowledgements: key, first position, count.
fn appended_then_died(dir: &Path, wrap: u64, appends: u64) -> Vec<(String, u64, u64)> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env(WRAP_ENV, wrap.to_string())
        .env(APPENDS_ENV, appends.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {:?}", out.status);
    let acks: Vec<(String, u64, u64)> = BufReader::new(&out.stdout[..])
        .lines()
        .map(Result::unwrap)
        .filter(|l| l.starts_with("ack "))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (
                parts[1].to_owned(),
                parts[2].parse().unwrap(),
                parts[3].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(acks.len() as u64, appends);
    acks
}

/// The chain head position sled itself holds in the closed store in `dir`.
fn sled_head(dir: &Path) -> u64 {
    with_raw_tree(dir, |t| {
        t.get(b"c")
            .unwrap()
            .map_or(0, |v| u64::from_be_bytes(v[..8].try_into().unwrap()))
    })
}

/// Every acknowledged append is in the reopened store, whole, where it was acknowledged.
fn check_all_there(store: &Store, acks: &[(String, u64, u64)]) {
    let last = acks.iter().map(|(_, f, c)| f + c - 1).max().unwrap();
    assert_eq!(store.head(), last);
    let v = store.verify(0).unwrap();
    assert!(v.ok, "{v:?}");
    for (key, first, count) in acks {
        let record = store.idempotency(key).unwrap().unwrap();
        assert_eq!(
            record.positions,
            (*first..first + count).collect::<Vec<_>>()
        );
        let events = store
            .read_from(first - 1, usize::try_from(*count).unwrap())
            .unwrap();
        assert!(events
            .iter()
            .all(|e| e.correlation_id.as_deref() == Some(key.as_str())));
    }
}

#[test]
fn acknowledged_appends_sled_never_wrote_are_replayed_from_the_write_ahead_file() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = temp_dir();
    let acks = appended_then_died(dir.path(), 0, 30);
    let last = acks.iter().map(|(_, f, c)| f + c - 1).max().unwrap();
    // Without the file these would be lost: sled on disk ends before them.
    let in_sled = sled_head(dir.path());
    assert!(in_sled < last, "sled already held {in_sled} of {last}");
    let store = open(dir.path());
    check_all_there(&store, &acks);
    // The log goes on from there.
    let more = store.append_blocking(keyed("after", 100)).unwrap();
    assert_eq!(more.events[0].position, last + 1);
    drop(store);
    // A clean close leaves sled complete: tools reading sled directly see everything.
    assert_eq!(sled_head(dir.path()), last + 2);
    let store = open(dir.path());
    assert_eq!(store.head(), last + 2);
    assert!(store.verify(0).unwrap().ok);
}

#[test]
fn a_write_ahead_file_that_wraps_every_few_groups_loses_nothing() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = temp_dir();
    let wrap = 4 * 1024;
    let acks = appended_then_died(dir.path(), wrap, 200);
    let len = std::fs::metadata(dir.path().join("wal")).unwrap().len();
    // 200 appends' records take ~100 KiB; the file wrapped instead of growing.
    assert!(
        len < 16 * 1024,
        "the write-ahead file did not wrap: {len} bytes"
    );
    // Again, now from the state the first recovery left, with old records after the new ones.
    let store = open(dir.path());
    check_all_there(&store, &acks);
    drop(store);
    let acks_2 = appended_then_died(dir.path(), wrap, 50);
    let store = open(dir.path());
    let mut every = acks.clone();
    every.extend(acks_2);
    check_all_there(&store, &every);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Position, hash and event id of every event: equal lists are equal logs (the chain verifies).
fn fingerprints(store: &Store) -> Vec<(u64, [u8; 32], uuid::Uuid)> {
    all(store)
        .iter()
        .map(|e| (e.position, e.hash, e.event_id))
        .collect()
}

#[test]
fn a_damaged_write_ahead_file_never_makes_open_panic_or_apply_a_torn_record() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let source = temp_dir();
    let acks = appended_then_died(source.path(), 0, 20);
    let in_sled = sled_head(source.path());
    let intact = {
        let copy = temp_dir();
        copy_dir(source.path(), copy.path());
        let store = open(copy.path());
        check_all_there(&store, &acks);
        fingerprints(&store)
    };
    let wal = std::fs::read(source.path().join("wal")).unwrap();
    let used = wal.iter().rposition(|b| *b != 0).unwrap() + 1;
    let mut damages: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [0, 1, 50, 93, used / 3, used / 2, used - 1] {
        damages.push((format!("cut to {cut}"), wal[..cut].to_vec()));
    }
    for at in (0..used).step_by(used / 40 + 1) {
        let mut w = wal.clone();
        w[at] ^= 0x40;
        damages.push((format!("byte {at} flipped"), w));
    }
    let mut shorter = 0;
    for (what, bytes) in &damages {
        let copy = temp_dir();
        copy_dir(source.path(), copy.path());
        std::fs::write(copy.path().join("wal"), bytes).unwrap();
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let store = open(copy.path());
            let v = store.verify(0).unwrap();
            assert!(v.ok, "{what}: {v:?}");
            fingerprints(&store)
        }));
        let log = opened.unwrap_or_else(|_| panic!("{what}: opening panicked"));
        // What sled held is kept; what the file adds is whole groups, exactly as appended.
        assert!(log.len() as u64 >= in_sled, "{what}");
        assert_eq!(log[..], intact[..log.len()], "{what}");
        if log.len() < intact.len() {
            shorter += 1;
        }
    }
    eprintln!(
        "wal: {} damaged files, {shorter} left a shorter log, none panicked",
        damages.len()
    );
    assert!(shorter > 0);
}

/// What a crash can leave of a group the writer was writing into sled key by key: its list of
/// keys (`p`: first and last position, then each key with its length) and some of the keys,
/// but not the chain head. Opening removes them; the group was never acknowledged.
#[test]
fn what_a_crash_left_of_a_group_past_the_chain_head_is_removed_on_open() {
    let dir = temp_dir();
    {
        let store = open(dir.path());
        for n in 1..=3 {
            store
                .append_blocking(request("account-A", ExpectedVersion::Any, &[n]))
                .unwrap();
        }
    }
    let block = raw::block_key(4);
    let run = raw::run_key("account-B", 2);
    with_raw_tree(dir.path(), |t| {
        let mut pending = Vec::new();
        pending.extend_from_slice(&4u64.to_be_bytes());
        pending.extend_from_slice(&5u64.to_be_bytes());
        for key in [&block, &run] {
            pending.extend_from_slice(&(key.len() as u32).to_be_bytes());
            pending.extend_from_slice(key);
        }
        t.insert(b"p", pending).unwrap();
        t.insert(&block, b"half a block".to_vec()).unwrap();
        t.insert(&run, raw::run_value(4, 2)).unwrap();
    });

    let store = open(dir.path());
    assert_eq!(store.head(), 3);
    assert_eq!(store.stream_version("account-B").unwrap(), 0);
    let out = store
        .append_blocking(request("account-B", ExpectedVersion::NoStream, &[4]))
        .unwrap();
    assert_eq!(out.events[0].position, 4);
    assert_eq!(out.events[0].version, 1);
    let verification = store.verify(0).unwrap();
    assert!(verification.ok, "{verification:?}");
    drop(store);
    with_raw_tree(dir.path(), |t| assert!(t.get(&run).unwrap().is_none()));
}
