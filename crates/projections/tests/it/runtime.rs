//! The runtime against a real store: catch-up equals the in-memory ledger, live follow,
//! read-your-writes, restart from a snapshot replaying only the tail, a corrupt or foreign
//! snapshot discarded and rebuilt, a snapshot file that does not grow the directory.

use std::time::{Duration, Instant};

use projections::snapshot::{self, LEGACY_SNAPSHOT_KEY, SNAPSHOT_FILE};
use projections::Projector;
use serde_json::json;
use store::Store;

use crate::support::{issue, open, pay, History};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A small history with contacts, a promise, a tick: N events.
fn first_part(h: &mut History) {
    open(h, "A", "2026-01-01", "5000.00");
    open(h, "B", "2026-01-01", "800.00");
    issue(h, "A", "INV-1", "1000.00", "2026-01-01");
    issue(h, "B", "INV-1", "900.00", "2026-01-02");
    h.run(
        json!({"command": "record_reminder", "customer_id": "A", "invoice_ids": ["INV-1"],
        "channel": "email", "step": "overdue_reminder", "sent_at": "2026-02-05T10:00:00Z"}),
    );
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "500.00", "promised_on": "2026-02-10", "made_on": "2026-02-06"}),
    );
    h.tick(chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
}

fn second_part(h: &mut History) {
    pay(h, "A", "P1", "300.00", "2026-03-02");
    issue(h, "A", "INV-2", "50.00", "2026-03-03");
}

#[test]
fn restart_replays_only_what_came_after_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let n;
    {
        let store = Store::open(dir.path()).unwrap();
        let mut h = History::with_store(store.clone());
        first_part(&mut h);
        n = store.head();
        assert!(n > 8, "history too small: {n}");

        let projector = rt.block_on(Projector::start(store.clone())).unwrap();
        assert_eq!(projector.replayed_on_start(), n);
        assert_eq!(projector.checkpoint(), n);
        assert_eq!(*projector.read(), h.ledger);
        projector.save_snapshot().unwrap();

        // Live follow: appends made while it runs reach it; wait_for gives read-your-writes.
        second_part(&mut h);
        let head = store.head();
        rt.block_on(projector.wait_for(head));
        assert_eq!(projector.checkpoint(), head);
        assert_eq!(*projector.read(), h.ledger);
        rt.block_on(projector.shutdown());
    }
    let (k, expected) = {
        // More appends while nothing is running.
        let store = Store::open(dir.path()).unwrap();
        let before = store.head();
        let mut h = History::with_store(store.clone());
        h.ledger = projections::rebuild(&store, None, &mut |_, _| {})
            .unwrap()
            .0;
        issue(&mut h, "B", "INV-2", "75.00", "2026-03-04");
        (store.head() - n, (h.ledger, store.head() - before))
    };
    assert_eq!(expected.1, 1, "one more event appended while nothing ran");
    let store = Store::open(dir.path()).unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    assert_eq!(
        projector.replayed_on_start(),
        k,
        "only the tail after the snapshot"
    );
    assert!(projector.replayed_on_start() < store.head());
    assert_eq!(*projector.read(), expected.0);
    // The timeline, read from the log, is the same after a restart from the snapshot.
    let a = domain::CustomerId::parse("A").unwrap();
    let events = store.read_stream(&a.stream(), 0).unwrap();
    let timeline = projector
        .read()
        .timeline(&a, events.iter().map(Into::into), None, None, None);
    let rebuilt = projections::rebuild(&store, None, &mut |_, _| {})
        .unwrap()
        .0;
    assert_eq!(
        timeline,
        rebuilt.timeline(&a, events.iter().map(Into::into), None, None, None)
    );
    let types: Vec<&str> = timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"ReminderSent"), "{types:?}");
    assert!(types.contains(&"PaymentReceived"), "{types:?}");
    rt.block_on(projector.shutdown());
}

/// A snapshot written by the build before this one (format 9 held the timelines) is not read:
/// the ledger is rebuilt from the log, and the timeline is whole.
#[test]
fn a_snapshot_of_an_older_format_is_discarded_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    first_part(&mut h);
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    projector.save_snapshot().unwrap();
    rt.block_on(projector.shutdown());
    drop(projector);
    second_part(&mut h);

    let file = dir.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(snapshot::decode(&bytes).is_ok());
    let older = snapshot::SNAPSHOT_FORMAT - 1;
    bytes[8..12].copy_from_slice(&older.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    assert_eq!(
        projector.replayed_on_start(),
        store.head(),
        "rebuilt from position 1"
    );
    assert_eq!(*projector.read(), h.ledger);
    let a = domain::CustomerId::parse("A").unwrap();
    let events = store.read_stream(&a.stream(), 0).unwrap();
    assert_eq!(
        projector
            .read()
            .timeline(&a, events.iter().map(Into::into), None, None, None),
        h.timeline(&a, None, None, None)
    );
    rt.block_on(projector.shutdown());
}

#[test]
fn a_corrupt_snapshot_is_discarded_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    first_part(&mut h);
    let n = store.head();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    projector.save_snapshot().unwrap();
    rt.block_on(projector.shutdown());
    drop(projector);

    let file = dir.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    std::fs::write(&file, &bytes).unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    assert_eq!(projector.replayed_on_start(), n, "rebuilt from position 1");
    assert_eq!(*projector.read(), h.ledger);
    rt.block_on(projector.shutdown());
}

#[test]
fn a_snapshot_of_another_log_is_discarded_and_rebuilt() {
    let rt = runtime();
    // A snapshot taken of one log …
    let other = tempfile::tempdir().unwrap();
    let foreign = {
        let store = Store::open(other.path()).unwrap();
        let mut h = History::with_store(store.clone());
        first_part(&mut h);
        let projector = rt.block_on(Projector::start(store.clone())).unwrap();
        projector.save_snapshot().unwrap();
        rt.block_on(projector.shutdown());
        std::fs::read(other.path().join(SNAPSHOT_FILE)).unwrap()
    };
    // … put next to a different log of the same length or longer: the hashes differ.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    h.occurred_at = crate::support::t("2026-01-02T08:00:00Z");
    first_part(&mut h);
    second_part(&mut h);
    std::fs::write(dir.path().join(SNAPSHOT_FILE), &foreign).unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    assert_eq!(projector.replayed_on_start(), store.head());
    assert_eq!(*projector.read(), h.ledger);
    rt.block_on(projector.shutdown());
}

#[test]
fn clones_share_one_live_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path()).unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    let clone = projector.clone();
    let mut h = History::with_store(store.clone());
    open(&mut h, "A", "2026-01-01", "100.00");
    let deadline = Instant::now() + Duration::from_secs(10);
    while clone.checkpoint() < store.head() {
        assert!(Instant::now() < deadline, "the follower never caught up");
        std::thread::yield_now();
    }
    assert_eq!(projector.read().accounts.len(), 1);
    rt.block_on(projector.shutdown());
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                dir_bytes(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// Regression: the snapshot lived in sled's meta tree, and sled 0.34 kept a copy of the large
/// value as a blob file each time its leaf was rewritten; a 1M-event bench directory grew to
/// 17 GB of identical 69 MB files in `blobs/`. Found by running `dunlog bench` on a small disk.
#[test]
fn saving_the_snapshot_again_and_again_does_not_grow_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    first_part(&mut h);
    // Enough accounts that the snapshot is larger than sled's blob threshold.
    for i in 0..1200 {
        open(&mut h, &format!("C{i:04}"), "2026-01-01", "100.00");
    }
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    rt.block_on(projector.wait_for(store.head()));
    projector.save_snapshot().unwrap();
    let snapshot_bytes = std::fs::metadata(dir.path().join(SNAPSHOT_FILE))
        .unwrap()
        .len();
    assert!(
        snapshot_bytes > 64 * 1024,
        "snapshot too small to be a blob: {snapshot_bytes}"
    );
    let after_first = dir_bytes(dir.path());
    for _ in 0..20 {
        // A few appends between saves, as a server does, so that sled rewrites its leaves.
        issue(
            &mut h,
            "A",
            &format!("INV-X{}", store.head()),
            "1.00",
            "2026-03-05",
        );
        rt.block_on(projector.wait_for(store.head()));
        projector.save_snapshot().unwrap();
    }
    let after_many = dir_bytes(dir.path());
    assert!(
        after_many < after_first + snapshot_bytes,
        "the directory grew from {after_first} to {after_many} bytes over 20 saves of a \
         {snapshot_bytes}-byte snapshot"
    );
    assert!(
        !dir.path().join(snapshot::SNAPSHOT_TEMP_FILE).exists(),
        "the temporary file is renamed into place"
    );
    assert_eq!(*projector.read(), h.ledger);
    rt.block_on(projector.shutdown());
}

/// A directory written by a build that kept the snapshot in sled: the old value is never read,
/// and the first save deletes it.
#[test]
fn the_snapshot_older_builds_kept_in_sled_is_ignored_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    first_part(&mut h);
    store
        .meta_put(LEGACY_SNAPSHOT_KEY, b"a format-1 snapshot")
        .unwrap();
    let projector = rt.block_on(Projector::start(store.clone())).unwrap();
    assert_eq!(projector.replayed_on_start(), store.head());
    assert_eq!(*projector.read(), h.ledger);
    projector.save_snapshot().unwrap();
    assert_eq!(store.meta_get(LEGACY_SNAPSHOT_KEY).unwrap(), None);
    rt.block_on(projector.shutdown());
}

/// The server shares these across tasks and threads.
#[test]
fn the_shared_types_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Projector>();
    shared::<projections::KnownAtCache>();
    shared::<projections::Ledger>();
    shared::<projections::ProjectionError>();
}
