//! Disk trouble (issue 7): a read-only data directory, a full disk, a truncated or overwritten
//! sled file. The store refuses to acknowledge, says so with a clear error, never panics, and
//! loses nothing it acknowledged before; damage is located by `Store::open`, `verify` or
//! `verify_tail`.
//!
//! Real file-system trouble needs root (CI runs as root, where permission bits do not stop
//! writes): a read-only bind mount, `chattr +i` and a 2 MiB tmpfs; as another user, chmod. Each
//! test runs every way the sandbox allows and always also injects the failure behind the store's
//! file layer with `Store::fail_next_sync_for_test`, which makes the next `fdatasync` fail as a
//! full disk does, so nothing is ever skipped. Mounts are undone by drop guards.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use store::{ExpectedVersion, Store, StoreError};

use crate::support::*;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs a command quietly; true if it ran and succeeded.
fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A mount made by a test; unmounted when dropped, even if the test fails.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        let options = format!("size={size}");
        run("mount", &["-t", "tmpfs", "-o", &options, "tmpfs", text(at)]).then(|| Mount(at.into()))
    }

    /// `at` bound onto itself, then made read-only (a bind mount's own flag; the file system
    /// beneath stays writable).
    fn read_only_bind(at: &Path) -> Option<Mount> {
        if !run("mount", &["--bind", text(at), text(at)]) {
            return None;
        }
        let mount = Mount(at.into());
        run("mount", &["-o", "remount,bind,ro", text(at)]).then_some(mount)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // sled's I/O threads may hold a file for a moment after the store is dropped.
        if !run("umount", &[text(&self.0)]) {
            run("umount", &["-l", text(&self.0)]);
        }
    }
}

/// The files of a directory, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        }
        out.push(path);
    }
    out
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

/// How the data directory was made read-only; undone when dropped.
enum ReadOnly {
    /// Not root: permission bits are enough.
    Chmod(PathBuf),
    /// Root: a read-only bind mount over the directory.
    BindMount(#[allow(dead_code)] Mount),
    /// Root without mounts: the immutable attribute on the directory and its files.
    Immutable(Vec<PathBuf>),
    /// Nothing of the above is possible: the store's next sync is made to fail instead.
    Injected,
}

/// The ways to make a directory read-only, in order of preference.
#[derive(Clone, Copy, Debug)]
enum Way {
    Chmod,
    BindMount,
    Immutable,
    Injected,
}

impl ReadOnly {
    /// Makes `dir` read-only this way, if this sandbox allows it.
    fn make(dir: &Path, way: Way) -> Option<ReadOnly> {
        match way {
            Way::Chmod => {
                for f in files(dir) {
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).ok()?;
                }
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
                Some(ReadOnly::Chmod(dir.into()))
            }
            Way::BindMount => Mount::read_only_bind(dir).map(ReadOnly::BindMount),
            Way::Immutable => {
                let mut paths = files(dir);
                paths.push(dir.into());
                let mut done = ReadOnly::Immutable(Vec::new());
                for p in paths {
                    if !run("chattr", &["+i", text(&p)]) {
                        return None; // `done` undoes what was set.
                    }
                    if let ReadOnly::Immutable(set) = &mut done {
                        set.push(p);
                    }
                }
                Some(done)
            }
            Way::Injected => Some(ReadOnly::Injected),
        }
    }

    /// The ways worth trying here: permission bits do not stop root.
    fn ways() -> Vec<Way> {
        if is_root() {
            vec![Way::BindMount, Way::Immutable, Way::Injected]
        } else {
            vec![Way::Chmod, Way::Injected]
        }
    }

    fn undo(&mut self) {
        match self {
            ReadOnly::Chmod(dir) => {
                std::fs::set_permissions(&*dir, std::fs::Permissions::from_mode(0o755)).unwrap();
                for f in files(dir) {
                    let mode = if f.is_dir() { 0o755 } else { 0o644 };
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
                }
            }
            ReadOnly::Immutable(paths) => {
                for p in paths.iter().rev() {
                    run("chattr", &["-i", text(p)]);
                }
                paths.clear();
            }
            ReadOnly::BindMount(_) | ReadOnly::Injected => {}
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        self.undo();
    }
}

/// What an acknowledged append promised: its key and its events' positions and hashes.
type AckedAppend = (String, Vec<(u64, [u8; 32])>);
type Acked = Vec<AckedAppend>;

const EVENTS_PER_APPEND: u64 = 3;

fn keyed_append(store: &Store, i: u64) -> Result<AckedAppend, StoreError> {
    let key = format!("append-{i}");
    let ns: Vec<u64> = (0..EVENTS_PER_APPEND).map(|c| i * 10 + c).collect();
    let mut req = with_key(
        request(&format!("account-{}", i % 4), ExpectedVersion::Any, &ns),
        &key,
        7,
    );
    req.correlation_id = Some(key.clone());
    let out = store.append_blocking(req)?;
    assert!(!out.deduplicated);
    let events = out.events.iter().map(|e| (e.position, e.hash)).collect();
    Ok((key, events))
}

/// Every acknowledged append is there with its positions and hashes, no append is partly
/// there, positions are gapless, the chain verifies and the store takes appends again.
fn check_nothing_lost(dir: &Path, acked: &Acked) {
    let store = open(dir);
    let log = all(&store);
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "gapless");
    }
    let by_position: HashMap<u64, &store::RecordedEvent> =
        log.iter().map(|e| (e.position, e)).collect();
    for (key, events) in acked {
        for (position, hash) in events {
            let e = by_position.get(position).unwrap_or_else(|| {
                panic!("acknowledged {key} position {position} is lost");
            });
            assert_eq!(&e.hash, hash, "{key} at {position}");
            assert_eq!(e.correlation_id.as_deref(), Some(key.as_str()));
        }
        let record = store.idempotency(key).unwrap().unwrap();
        let positions: Vec<u64> = events.iter().map(|(p, _)| *p).collect();
        assert_eq!(record.positions, positions, "{key}");
    }
    // Whole or absent: every append in the log has all its events (acknowledged or not).
    let mut groups: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in &log {
        let key = e.correlation_id.clone().unwrap_or_default();
        groups.entry(key).or_default().push(e.position);
    }
    for (key, positions) in &groups {
        assert_eq!(
            positions.len() as u64,
            EVENTS_PER_APPEND,
            "{key} is partial"
        );
        assert_eq!(positions[2] - positions[0], 2, "{key} is not contiguous");
    }
    let v = store.verify(0).unwrap();
    assert!(v.ok, "{v:?}");
    let after = keyed_append(&store, 1_000_000).unwrap();
    assert_eq!(after.1[0].0, log.len() as u64 + 1);
}

fn expect_io(result: Result<impl std::fmt::Debug, StoreError>, what: &str) -> String {
    match result {
        Err(StoreError::Io(msg)) => msg,
        other => panic!("{what}: expected an I/O error, got {other:?}"),
    }
}

/// One read-only case: `Store::open` (or the first append) fails with a clear I/O error and no
/// panic; made writable again, every acknowledged event is there and the chain verifies.
fn read_only_case(way: Way) -> Option<String> {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let acked: Acked = {
        let store = open(&data);
        (0..10).map(|i| keyed_append(&store, i).unwrap()).collect()
    };
    let mut ro = ReadOnly::make(&data, way)?;
    let message = if matches!(ro, ReadOnly::Injected) {
        let store = open(&data);
        store.fail_next_sync_for_test();
        let msg = expect_io(keyed_append(&store, 10), "the first append");
        // Refused until reopened, not retried.
        expect_io(keyed_append(&store, 11), "a later append");
        msg
    } else {
        match catch_unwind(|| Store::open(&data)) {
            Err(_) => panic!("opening a read-only directory panicked"),
            Ok(Err(StoreError::Io(msg))) => msg,
            Ok(Err(other)) => panic!("expected an I/O error, got {other:?}"),
            Ok(Ok(store)) => {
                let msg = expect_io(keyed_append(&store, 10), "the first append");
                expect_io(keyed_append(&store, 11), "a later append");
                msg
            }
        }
    };
    let lowered = message.to_lowercase();
    assert!(
        ["read-only", "permission", "not permitted", "injected"]
            .iter()
            .any(|w| lowered.contains(w)),
        "{way:?}: unclear: {message}"
    );
    ro.undo();
    drop(ro);
    check_nothing_lost(&data, &acked);
    Some(message)
}

#[test]
fn a_read_only_data_directory_is_refused_and_nothing_acknowledged_is_lost() {
    // Every way this sandbox allows; the injected one always works, so nothing is skipped.
    let mut tried = 0;
    for way in ReadOnly::ways() {
        match read_only_case(way) {
            Some(message) => {
                tried += 1;
                eprintln!("disk: read-only via {way:?}: refused with {message:?}");
            }
            None => eprintln!("disk: read-only via {way:?} is not possible here"),
        }
    }
    assert!(tried > 0);
}

/// Appends until the store refuses; returns what was acknowledged and the refusal.
fn append_until_refused(store: &Store, inject_at: Option<u64>) -> (Acked, String) {
    let mut acked = Vec::new();
    for i in 0..20_000 {
        if inject_at == Some(i) {
            store.fail_next_sync_for_test();
        }
        match keyed_append(store, i) {
            Ok(a) => acked.push(a),
            Err(StoreError::Io(msg)) => return (acked, msg),
            Err(other) => panic!("append {i}: expected an I/O error, got {other:?}"),
        }
    }
    panic!("the disk never filled");
}

/// One full-disk case, on a 2 MiB tmpfs (`real`) or with an injected sync failure: appends
/// until refused, checks that later appends are refused too, then moves the directory to a
/// bigger disk and checks that nothing acknowledged is lost. None if `real` cannot mount.
fn full_disk_case(real: bool) -> Option<(usize, String)> {
    let big = temp_dir();
    let small = temp_dir();
    let mount = if real {
        Some(Mount::tmpfs(small.path(), "2m")?)
    } else {
        None
    };
    let data = small.path().join("data");
    let (acked, message) = {
        let store = open(&data);
        let inject_at = (!real).then_some(40);
        let (acked, message) = append_until_refused(&store, inject_at);
        // Every later append is refused too: after a failed sync nothing is retried.
        for i in 0..3 {
            let later = expect_io(keyed_append(&store, 50_000 + i), "a later append");
            assert!(later.contains("reopen"), "{later}");
        }
        (acked, message)
    };
    assert!(!acked.is_empty());
    assert!(
        message.contains("No space left") || message.contains("injected"),
        "unclear: {message}"
    );
    // Move to a bigger disk, as an operator would, and check.
    copy_dir(&data, &big.path().join("data"));
    drop(mount);
    check_nothing_lost(&big.path().join("data"), &acked);
    Some((acked.len(), message))
}

#[test]
fn a_full_disk_refuses_appends_and_nothing_acknowledged_is_lost() {
    // A real full disk where mounting is possible (root), and always the injected failure.
    let ways: &[bool] = if is_root() { &[true, false] } else { &[false] };
    for real in ways {
        let how = if *real {
            "a 2 MiB tmpfs"
        } else {
            "an injected sync failure"
        };
        match full_disk_case(*real) {
            Some((appends, message)) => eprintln!(
                "disk: full via {how}: {appends} appends ({} events) acknowledged, then \
                 refused with {message:?}",
                appends as u64 * EVENTS_PER_APPEND
            ),
            None => eprintln!("disk: full via {how} is not possible here"),
        }
    }
}

#[test]
fn a_failed_sync_refuses_every_later_append_until_reopened() {
    let dir = temp_dir();
    let acked = {
        let store = open(dir.path());
        let acked: Acked = (0..5).map(|i| keyed_append(&store, i).unwrap()).collect();
        store.fail_next_sync_for_test();
        let msg = expect_io(keyed_append(&store, 5), "the failing append");
        assert!(msg.contains("injected"), "{msg}");
        let later = expect_io(keyed_append(&store, 6), "a later append");
        assert!(later.contains("reopen"), "{later}");
        // Reads still work and never show the refused append.
        assert_eq!(store.head(), 15);
        assert_eq!(all(&store).len(), 15);
        assert!(store.idempotency("append-5").unwrap().is_none());
        acked
    };
    check_nothing_lost(dir.path(), &acked);
}

/// What a damaged `db` file did to opening and verifying.
#[derive(Debug)]
enum Outcome {
    /// `Store::open` refused, naming the first bad position when it is a damaged log.
    OpenRefused(Option<u64>, String),
    VerifyFound(u64, String),
    /// The log opened and verified, but ends before (or differs at) the remembered anchor.
    TailFound(u64, String),
    /// Every acknowledged event is still there and verifies (the damage hit dead space).
    Intact,
}

/// Copies `source`, damages the copy's `db` file, then opens and verifies it, catching panics.
/// `head` and `hash` are what a server remembers from its last verification.
fn damaged(source: &Path, keep_anchor: bool, damage: Damage, head: u64, hash: [u8; 32]) -> Outcome {
    let dir = temp_dir();
    copy_dir(source, dir.path());
    if !keep_anchor {
        std::fs::remove_file(dir.path().join("anchor")).unwrap();
    }
    damage.apply(&dir.path().join("db"));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let store = match Store::open(dir.path()) {
            Ok(s) => s,
            Err(StoreError::Corrupt { position, reason }) => {
                return Outcome::OpenRefused(Some(position), reason)
            }
            Err(e) => return Outcome::OpenRefused(None, e.to_string()),
        };
        // Reads of a damaged log return errors or data; they never panic.
        let _ = store.read_from(0, 100);
        let _ = store.export_jsonl(&mut std::io::sink(), None);
        let v = store.verify(0).unwrap();
        if let Some(p) = v.first_bad_position {
            return Outcome::VerifyFound(p, v.message.unwrap_or_default());
        }
        let t = store.verify_tail(head, hash).unwrap();
        match t.first_bad_position {
            Some(p) => Outcome::TailFound(p, t.message.unwrap_or_default()),
            None => Outcome::Intact,
        }
    }));
    outcome.unwrap_or_else(|_| panic!("a damaged db file made the store panic"))
}

/// Damage done to a copy's `db` file.
#[derive(Clone, Copy)]
enum Damage {
    /// Cut to this length.
    Truncate(u64),
    /// 4 KiB of this byte written at this offset.
    Overwrite(u64, u8),
}

impl Damage {
    fn apply(self, db: &Path) {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
        match self {
            Damage::Truncate(to) => f.set_len(to).unwrap(),
            Damage::Overwrite(at, byte) => {
                f.seek(SeekFrom::Start(at)).unwrap();
                f.write_all(&[byte; 4096]).unwrap();
            }
        }
    }
}

#[test]
fn a_truncated_or_overwritten_db_file_is_refused_or_located_never_a_panic() {
    let dir = temp_dir();
    let (head, hash) = {
        let store = open(dir.path());
        for i in 0..40 {
            keyed_append(&store, i).unwrap();
        }
        let last = store.read_from(store.head() - 1, 1).unwrap().remove(0);
        (last.position, last.hash)
    };
    let len = std::fs::metadata(dir.path().join("db")).unwrap().len();
    let damages = [
        ("truncated to half", Damage::Truncate(len / 2)),
        ("truncated to 0", Damage::Truncate(0)),
        (
            "4 KiB of 0xA5 in the middle",
            Damage::Overwrite(len / 2, 0xa5),
        ),
        (
            "4 KiB of zeros in the middle",
            Damage::Overwrite(len / 2, 0),
        ),
        ("4 KiB of 0xA5 near the start", Damage::Overwrite(64, 0xa5)),
    ];
    for (what, damage) in &damages {
        // With the anchor a clean close leaves, opening itself refuses a shortened log.
        let outcome = damaged(dir.path(), true, *damage, head, hash);
        eprintln!("disk: db of {len} bytes {what}, anchor kept: {outcome:?}");
        match outcome {
            Outcome::OpenRefused(Some(p), reason) => assert!(p <= head, "{p}: {reason}"),
            Outcome::Intact => {}
            other => panic!("{what}: expected open to refuse, got {other:?}"),
        }
        // Without it (a crash before any clean close), the remembered tail finds it.
        let outcome = damaged(dir.path(), false, *damage, head, hash);
        eprintln!("disk: db of {len} bytes {what}, no anchor: {outcome:?}");
        match outcome {
            Outcome::OpenRefused(_, reason) => assert!(!reason.is_empty()),
            Outcome::Intact => {}
            Outcome::VerifyFound(p, reason) | Outcome::TailFound(p, reason) => {
                assert!(p <= head, "{p}: {reason}");
            }
        }
    }
}
