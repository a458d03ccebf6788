//! The upgrade of format 1 (one `e/` key per envelope, one `s/` index entry per event) to
//! format 2 (blocks and runs), and on to today's format, on open: every event, stream version, stream read, idempotency
//! record, hash and the verification survive it, a half-done upgrade (stopped, or killed with
//! SIGKILL in a child process) resumes, and a damaged format-1 log is refused at its position rather than repaired.
//!
//! The format-1 directory is written here with sled directly, from the events of a store built
//! today: the envelopes are re-encoded with the public codec (byte for byte what format 1
//! stored), the idempotency records and the chain head copied raw (their format did not change).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use store::codec::{self, Envelope};
use store::{ExpectedVersion, RecordedEvent, Store, StoreError};

use crate::support::*;

/// Idempotency keys the history uses, with their fingerprint byte.
const KEYS: [(&str, u8); 3] = [("k-first", 1), ("k-multi", 2), ("k-late", 3)];

/// A history of 200 events on 7 streams: one-event and several-event appends, some with
/// idempotency keys, an actor, correlation ids and a policy version.
fn history(dir: &Path) -> Vec<RecordedEvent> {
    let store = open(dir);
    store
        .append_blocking(with_key(
            request("account-0", ExpectedVersion::NoStream, &[0]),
            KEYS[0].0,
            KEYS[0].1,
        ))
        .unwrap();
    let mut n = 1u64;
    let mut appends = 0u64;
    while n < 190 {
        appends += 1;
        let stream = format!("account-{}", n % 7);
        let count = 1 + appends % 4;
        let ns: Vec<u64> = (n..n + count).collect();
        let mut req = request(&stream, ExpectedVersion::Any, &ns);
        req.correlation_id = Some(format!("corr-{n}"));
        req.policy_version = (n % 3 == 0).then_some(2);
        if appends == 20 {
            req = with_key(req, KEYS[1].0, KEYS[1].1);
        }
        store.append_blocking(req).unwrap();
        n += count;
    }
    let ns: Vec<u64> = (n..200).collect();
    store
        .append_blocking(with_key(
            request("account-late", ExpectedVersion::Any, &ns),
            KEYS[2].0,
            KEYS[2].1,
        ))
        .unwrap();
    let events = all(&store);
    assert_eq!(events.len(), 200);
    events
}

fn envelope_of(e: &RecordedEvent) -> Envelope {
    Envelope {
        position: e.position,
        stream: e.stream.clone(),
        version: e.version,
        event_id: e.event_id.into_bytes(),
        event_type: e.event_type.clone(),
        schema: e.schema,
        occurred_at_us: e.occurred_at.timestamp_micros(),
        recorded_at_us: e.recorded_at.timestamp_micros(),
        actor: e.actor.clone(),
        correlation_id: e.correlation_id.clone(),
        causation_id: e.causation_id.clone(),
        policy_version: e.policy_version,
        payload: e.payload.clone(),
        prev_hash: e.prev_hash,
        hash: e.hash,
    }
}

/// Writes the format-1 form of the closed store in `from` into the empty directory `to`, with
/// its anchor file.
fn write_format_1(from: &Path, events: &[RecordedEvent], to: &Path) {
    let copied: Vec<(Vec<u8>, Vec<u8>)> = with_raw_tree(from, |t| {
        let mut kept: Vec<(Vec<u8>, Vec<u8>)> = t
            .scan_prefix(b"i/")
            .map(|item| {
                let (k, v) = item.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        kept.push((b"c".to_vec(), t.get(b"c").unwrap().unwrap().to_vec()));
        kept
    });
    assert_eq!(copied.len(), KEYS.len() + 1);
    let db = retry_locked(|| sled::open(to));
    let tree = db.open_tree("log").unwrap();
    tree.insert(b"f", &1u32.to_be_bytes()[..]).unwrap();
    for e in events {
        let mut key = b"e/".to_vec();
        key.extend_from_slice(&e.position.to_be_bytes());
        tree.insert(key, codec::encode_envelope(&envelope_of(e)).unwrap())
            .unwrap();
        let mut index = format!("s/{}/", e.stream).into_bytes();
        index.extend_from_slice(&e.version.to_be_bytes());
        tree.insert(index, &e.position.to_be_bytes()[..]).unwrap();
    }
    for (k, v) in copied {
        tree.insert(k, v).unwrap();
    }
    db.flush().unwrap();
    drop(db);
    std::fs::copy(from.join("anchor"), to.join("anchor")).unwrap();
}

/// How many keys with `prefix` the closed store in `dir` holds, and its format.
fn census(dir: &Path, prefix: &[u8]) -> (usize, u32) {
    with_raw_tree(dir, |t| {
        let format = t.get(b"f").unwrap().unwrap();
        (
            t.scan_prefix(prefix).count(),
            u32::from_be_bytes(format[..].try_into().unwrap()),
        )
    })
}

/// Everything a reader can ask of the upgraded store equals the original.
fn check_upgraded(dir: &Path, events: &[RecordedEvent]) {
    let store = open(dir);
    let got = all(&store);
    assert_eq!(got.len(), events.len());
    for (g, e) in got.iter().zip(events) {
        assert_eq!(envelope_of(g), envelope_of(e), "position {}", e.position);
        assert_eq!(g.event, e.event);
    }
    assert_eq!(store.head(), 200);
    let v = store.verify(0).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.checked, 200);
    let last = events.last().unwrap();
    assert!(store.verify_tail(100, events[99].hash).unwrap().ok);
    let mut streams: Vec<&str> = events.iter().map(|e| e.stream.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    for stream in streams {
        let mine: Vec<&RecordedEvent> = events.iter().filter(|e| e.stream == stream).collect();
        let version = mine.last().unwrap().version;
        assert_eq!(store.stream_version(stream).unwrap(), version, "{stream}");
        for after in 0..=version {
            let read = store.read_stream(stream, after).unwrap();
            let want: Vec<u64> = mine
                .iter()
                .filter(|e| e.version > after)
                .map(|e| e.position)
                .collect();
            let positions: Vec<u64> = read.iter().map(|e| e.position).collect();
            assert_eq!(positions, want, "{stream} after {after}");
        }
    }
    for (key, fingerprint) in KEYS {
        let record = store.idempotency(key).unwrap().unwrap();
        assert_eq!(record.fingerprint, [fingerprint; 32]);
        let wanted: Vec<u64> = events
            .iter()
            .filter(|e| e.stream == "account-late" && key == "k-late")
            .map(|e| e.position)
            .collect();
        if key == "k-late" {
            assert_eq!(record.positions, wanted);
        }
    }
    // A retry with a key from before the upgrade answers with the events it appended then.
    let retry = store
        .append_blocking(with_key(
            request("account-late", ExpectedVersion::Any, &[1]),
            "k-late",
            3,
        ))
        .unwrap();
    assert!(retry.deduplicated);
    assert_eq!(retry.events.last().unwrap().hash, last.hash);
    // The log goes on from the same chain.
    let more = store
        .append_blocking(request("account-0", ExpectedVersion::Any, &[300, 301]))
        .unwrap();
    assert_eq!(more.events[0].position, 201);
    assert_eq!(more.events[0].prev_hash, last.hash);
    assert!(store.verify(0).unwrap().ok);
    drop(store);
    assert_eq!(census(dir, b"e/"), (0, store::FORMAT_VERSION));
    assert_eq!(census(dir, b"s/").0, 0);
    let store = open(dir);
    assert_eq!(store.head(), 202);
    assert!(store.verify(0).unwrap().ok);
}

#[test]
fn a_format_1_directory_is_upgraded_on_open_with_everything_in_it() {
    let built = temp_dir();
    let events = history(built.path());
    let dir = temp_dir();
    write_format_1(built.path(), &events, dir.path());
    assert_eq!(census(dir.path(), b"e/"), (200, 1));
    check_upgraded(dir.path(), &events);
}

#[test]
fn an_upgrade_stopped_half_way_resumes_on_the_next_open() {
    let built = temp_dir();
    let events = history(built.path());
    let dir = temp_dir();
    write_format_1(built.path(), &events, dir.path());
    // Chunks of 7 events, stopped after 3, then after 5 more: as crashes between batches leave it.
    for (chunks, left) in [(3, 200 - 21), (5, 200 - 56)] {
        let done = Store::upgrade_partially_for_test(dir.path(), 7, chunks).unwrap();
        assert!(!done);
        assert_eq!(census(dir.path(), b"e/"), (left, 1));
        assert_eq!(census(dir.path(), b"s/").0, left);
        // Each moved event is in exactly one block.
        let moved: usize = with_raw_tree(dir.path(), |t| {
            t.scan_prefix(b"b/")
                .map(|item| {
                    let (_, v) = item.unwrap();
                    codec::split_block(&v).entries.len()
                })
                .sum()
        });
        assert_eq!(moved, 200 - left);
    }
    check_upgraded(dir.path(), &events);
}

#[test]
fn a_damaged_format_1_log_is_refused_at_its_position_and_left_as_it_was() {
    let built = temp_dir();
    let events = history(built.path());
    let dir = temp_dir();
    write_format_1(built.path(), &events, dir.path());
    let e = &events[119];
    let mut index = format!("s/{}/", e.stream).into_bytes();
    index.extend_from_slice(&e.version.to_be_bytes());
    with_raw_tree(dir.path(), |t| {
        t.insert(&index, &999u64.to_be_bytes()[..]).unwrap()
    });
    let opened = retry_locked(|| match Store::open(dir.path()) {
        Err(StoreError::Io(e)) if e.contains("could not acquire lock") => Err(e),
        other => Ok(other),
    });
    match opened {
        Err(StoreError::Corrupt { position, reason }) => {
            assert_eq!(position, 120, "{reason}");
            assert!(reason.contains("cannot be upgraded"), "{reason}");
        }
        Err(other) => panic!("unexpected {other:?}"),
        Ok(_) => panic!("a damaged format-1 log was upgraded"),
    }
    // The chunk holding the damage is not applied (the whole log, here): the format is still 1.
    assert_eq!(census(dir.path(), b"e/"), (200, 1));
}

const CHILD_ENV: &str = "DUNLOG_UPGRADE_CHILD";
const CHILD_TEST: &str = "migrate::child_upgrades_until_killed";

/// The child: upgrades the directory five events at a time, printing a line after each chunk,
/// until it is done or killed.
#[test]
fn child_upgrades_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Only does something when the kill test runs it.
    };
    loop {
        let done = retry_locked(|| Store::upgrade_partially_for_test(Path::new(&dir), 5, 1));
        let mut out = std::io::stdout().lock();
        writeln!(out, "chunk").unwrap();
        out.flush().unwrap();
        if done {
            return;
        }
    }
}

/// Every event of the half-upgraded closed store is stored exactly once: as an `e/` key with
/// its `s/` entry, or in a block. Returns how many are still in format 1.
fn each_event_once(dir: &Path) -> usize {
    let (old, format) = census(dir, b"e/");
    assert_eq!(census(dir, b"s/").0, old);
    let moved: usize = with_raw_tree(dir, |t| {
        t.scan_prefix(b"b/")
            .map(|item| codec::split_block(&item.unwrap().1).entries.len())
            .sum()
    });
    assert_eq!(old + moved, 200, "format {format}");
    old
}

#[test]
fn an_upgrade_killed_with_sigkill_resumes_on_the_next_open() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let built = temp_dir();
    let events = history(built.path());
    let dir = temp_dir();
    write_format_1(built.path(), &events, dir.path());
    let exe = std::env::current_exe().unwrap();
    let mut left = Vec::new();
    // Killed after 1, 3 and 6 more chunks were reported: while opening sled, applying a batch
    // or flushing, whichever the child was doing then.
    for chunks in [1, 3, 6] {
        let mut child = Command::new(&exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // The test harness prints its own lines too; count ours.
        let mut lines = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(|l| l.unwrap())
            .filter(|l| l == "chunk");
        for _ in 0..chunks {
            lines
                .next()
                .expect("the child stopped without reporting a chunk (its stderr is above)");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        left.push(each_event_once(dir.path()));
    }
    eprintln!("migrate: format-1 events left after each kill: {left:?}");
    assert!(left.windows(2).all(|w| w[1] <= w[0]), "{left:?}");
    assert!(
        *left.last().unwrap() > 0,
        "the upgrade finished before the last kill"
    );
    check_upgraded(dir.path(), &events);
}
