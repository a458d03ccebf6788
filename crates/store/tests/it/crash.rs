//! Crash safety (SPEC §6): a child process appends under load and is killed with SIGKILL at
//! random moments, many times; after each reopen every acknowledged append is there and whole,
//! no partial append is visible, positions are gapless and the chain verifies. Every other
//! cycle's child wraps its write-ahead file every 16 KiB (decision 0040).
//!
//! The child is this same test binary, re-executed to run only `child_appends_until_killed` with
//! `DUNLOG_CRASH_CHILD=<dir>` set. It prints `ack <key> <first position> <count>` for each
//! acknowledged append (one line, flushed) and the parent checks those against the reopened log.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use store::ExpectedVersion;

use crate::support::*;

const CHILD_ENV: &str = "DUNLOG_CRASH_CHILD";
const CYCLE_ENV: &str = "DUNLOG_CRASH_CYCLE";
const CHILD_TEST: &str = "crash::child_appends_until_killed";
const CYCLES: u64 = 30;
const CHILD_TASKS: u64 = 8;
/// Most acknowledgements waited for before a kill, per cycle.
const ACKS_PER_CYCLE_MAX: u64 = 400;
/// Bound on waiting for a cycle's acknowledgements, so a stuck child fails rather than hangs.
const CYCLE_WAIT: Duration = Duration::from_secs(10);

fn key_of(cycle: u64, task: u64, i: u64) -> (String, u64) {
    let count = 1 + (i % 3);
    (format!("c{cycle}-t{task}-n{i}-k{count}"), count)
}

fn count_in_key(key: &str) -> u64 {
    key.rsplit("-k").next().unwrap().parse().unwrap()
}

fn append_request(key: &str, task: u64, i: u64, count: u64) -> store::AppendRequest {
    let ns: Vec<u64> = (0..count).map(|c| i * 10 + c).collect();
    let mut req = with_key(
        request(
            &format!("account-{}", (task + i) % 5),
            ExpectedVersion::Any,
            &ns,
        ),
        key,
        u8::try_from(count).unwrap(),
    );
    req.correlation_id = Some(key.to_owned());
    req
}

fn print_ack(key: &str, first: u64, count: u64) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {key} {first} {count}").unwrap();
    out.flush().unwrap();
}

/// The child: appends from several tasks (and one blocking thread) until killed.
#[test]
fn child_appends_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // Only does something when the crash test runs it.
    };
    let cycle: u64 = std::env::var(CYCLE_ENV).unwrap().parse().unwrap();
    // If the parent dies, stdin closes and the child stops.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    // Every other cycle wraps the write-ahead file every few groups, so kills also land
    // around its checkpoints and on records that follow a wrap.
    let store = if cycle % 2 == 1 {
        retry_locked(|| store::Store::open_with_wal_wrap_for_test(Path::new(&dir), 16 * 1024))
    } else {
        open(Path::new(&dir))
    };
    let blocking = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0.. {
                let (key, count) = key_of(cycle, CHILD_TASKS, i);
                let out = store
                    .append_blocking(append_request(&key, CHILD_TASKS, i, count))
                    .unwrap();
                print_ack(&key, out.events[0].position, count);
            }
        })
    };
    // Every third cycle has one caller only, whose groups the writer syncs and answers on its
    // own thread (no hand-off to the sync thread), so kills also land on that path.
    if cycle % 3 == 2 {
        blocking.join().unwrap();
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for task in 0..CHILD_TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let (key, count) = key_of(cycle, task, i);
                    let out = store
                        .append(append_request(&key, task, i, count))
                        .await
                        .unwrap();
                    assert!(!out.deduplicated);
                    print_ack(&key, out.events[0].position, count);
                    if i % 7 == 0 {
                        // An idempotent retry returns the same positions and appends nothing.
                        let again = store
                            .append(append_request(&key, task, i, count))
                            .await
                            .unwrap();
                        assert!(again.deduplicated);
                        assert_eq!(again.events[0].position, out.events[0].position);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    blocking.join().unwrap();
}

/// splitmix64: enough randomness for kill moments without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn acknowledged_appends_survive_sigkill_at_random_moments() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = temp_dir();
    let exe = std::env::current_exe().unwrap();
    let seed = std::env::var("DUNLOG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                ^ u64::from(std::process::id())
        });
    eprintln!("crash: seed {seed} (rerun with DUNLOG_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    // key → (first position, count), for every acknowledged append of every cycle.
    let mut acked: HashMap<String, (u64, u64)> = HashMap::new();
    let mut killed_before_first_ack = 0;
    // The default run stays short; `DUNLOG_CRASH_CYCLES=300` is the long run done by hand.
    let cycles: u64 = std::env::var("DUNLOG_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CYCLES);
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env(CYCLE_ENV, cycle.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = Vec::new();
            // Only whole lines count: a line cut by the kill was never fully printed.
            while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if line.ends_with(b"\n") {
                    let _ = tx.send(String::from_utf8_lossy(&line).trim_end().to_owned());
                }
                line.clear();
            }
        });
        // A fifth of the cycles kill early (during open or recovery), the rest under load.
        let target = if rng.next() % 5 == 0 {
            0
        } else {
            1 + rng.next() % ACKS_PER_CYCLE_MAX
        };
        let deadline = Instant::now() + CYCLE_WAIT;
        let mut lines = Vec::new();
        while (lines
            .iter()
            .filter(|l: &&String| l.starts_with("ack "))
            .count() as u64)
            < target
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => {
                    panic!("cycle {cycle}: child acknowledged too little before the deadline")
                }
            }
        }
        // A random moment within a few milliseconds: between acks, mid-group, mid-fsync.
        std::thread::sleep(Duration::from_micros(rng.next() % 4_000));
        assert!(
            child.try_wait().unwrap().is_none(),
            "cycle {cycle}: the child stopped on its own"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());

        let mut cycle_acks = 0;
        for line in lines.iter().filter(|l| l.starts_with("ack ")) {
            let parts: Vec<&str> = line.split(' ').collect();
            let (key, first, count) = (
                parts[1].to_owned(),
                parts[2].parse().unwrap(),
                parts[3].parse().unwrap(),
            );
            assert!(
                acked.insert(key, (first, count)).is_none(),
                "acknowledged twice: {line}"
            );
            cycle_acks += 1;
        }
        if cycle_acks == 0 {
            killed_before_first_ack += 1;
        }
        check_after_crash(dir.path(), &acked, cycle, &mut rng);
    }
    let events: u64 = acked.values().map(|(_, c)| c).sum();
    let store = open(dir.path());
    eprintln!(
        "crash: {cycles} SIGKILL cycles ({killed_before_first_ack} before any ack), {} acknowledged appends \
         ({events} events) all present; log head {}",
        acked.len(),
        store.head()
    );
    assert!(
        acked.len() as u64 >= cycles,
        "too little load to mean anything"
    );
}

fn check_after_crash(dir: &Path, acked: &HashMap<String, (u64, u64)>, cycle: u64, rng: &mut Rng) {
    let store = open(dir);
    let v = store.verify(0).unwrap();
    assert!(v.ok, "cycle {cycle}: {v:?}");
    assert_eq!(
        v.checked,
        store.head(),
        "cycle {cycle}: positions 1..=head, no gap"
    );

    // Every acknowledged append is there, whole, where it was acknowledged.
    for (key, (first, count)) in acked {
        let record = store
            .idempotency(key)
            .unwrap()
            .unwrap_or_else(|| panic!("cycle {cycle}: lost {key}"));
        assert_eq!(
            record.positions,
            (*first..first + count).collect::<Vec<_>>(),
            "cycle {cycle}: {key}"
        );
        let events = store
            .read_from(first - 1, usize::try_from(*count).unwrap())
            .unwrap();
        assert_eq!(events.len() as u64, *count);
        assert!(
            events
                .iter()
                .all(|e| e.correlation_id.as_deref() == Some(key.as_str())),
            "cycle {cycle}: {key}"
        );
    }

    // No partial append: every key in the log has all its events, and its record names them.
    let mut by_key: HashMap<String, Vec<u64>> = HashMap::new();
    for e in all(&store) {
        by_key
            .entry(e.correlation_id.clone().unwrap())
            .or_default()
            .push(e.position);
    }
    for (key, positions) in &by_key {
        assert_eq!(
            positions.len() as u64,
            count_in_key(key),
            "cycle {cycle}: partial append {key}"
        );
        let record = store.idempotency(key).unwrap().unwrap();
        assert_eq!(&record.positions, positions, "cycle {cycle}: {key}");
    }
    let acked_keys: HashSet<&String> = acked.keys().collect();
    assert!(acked_keys.iter().all(|k| by_key.contains_key(*k)));

    // Retrying an acknowledged append after the crash appends nothing.
    let head = store.head();
    let keys: Vec<&String> = acked.keys().collect();
    for _ in 0..3.min(keys.len()) {
        let key = keys[usize::try_from(rng.next() % keys.len() as u64).unwrap()];
        let (first, count) = acked[key];
        let req = append_request(key, 0, 0, count);
        let out = store.append_blocking(req).unwrap();
        assert!(out.deduplicated);
        assert_eq!(out.events[0].position, first);
    }
    assert_eq!(store.head(), head);
}
