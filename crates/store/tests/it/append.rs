//! Appends and reads: positions, versions, expected versions, idempotency, restarts, export, meta.

use chrono::{Duration, SecondsFormat};
use store::{ExpectedVersion, Store, StoreError};

use crate::support::*;

#[tokio::test]
async fn appends_get_gapless_positions_versions_and_a_chain() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(store.head(), 0);
    let first = store
        .append(request("account-A", ExpectedVersion::NoStream, &[1, 2]))
        .await
        .unwrap();
    assert!(!first.deduplicated);
    let second = store
        .append(request("account-B", ExpectedVersion::Any, &[3]))
        .await
        .unwrap();
    let third = store
        .append(request("account-A", ExpectedVersion::Exact(2), &[4]))
        .await
        .unwrap();
    let positions: Vec<u64> = [&first, &second, &third]
        .iter()
        .flat_map(|o| o.events.iter().map(|e| e.position))
        .collect();
    assert_eq!(positions, [1, 2, 3, 4]);
    assert_eq!(store.head(), 4);
    assert_eq!(store.stream_version("account-A").unwrap(), 3);
    assert_eq!(store.stream_version("account-B").unwrap(), 1);
    assert_eq!(store.stream_version("account-C").unwrap(), 0);

    let log = all(&store);
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].prev_hash, [0; 32]);
    for pair in log.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for e in &log {
        assert_eq!(e.computed_hash(), e.hash);
        assert_eq!(e.event, event_of(e));
    }
    // What append returned is what the log holds.
    assert_eq!(log[3].hash, third.events[0].hash);
    assert_eq!(log[3].event_id, third.events[0].event_id);

    let a = store.read_stream("account-A", 0).unwrap();
    assert_eq!(
        a.iter()
            .map(|e| (e.position, e.version))
            .collect::<Vec<_>>(),
        [(1, 1), (2, 2), (4, 3)]
    );
    assert_eq!(store.read_stream("account-A", 2).unwrap().len(), 1);
    assert_eq!(
        store
            .read_from(1, 2)
            .unwrap()
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(store.read_from(4, 10).unwrap().is_empty());
    assert_eq!(store.iter_from(2).count(), 2);
    assert!(store.verify(0).unwrap().ok);
    let partial = store.verify(2).unwrap();
    assert!(partial.ok && partial.checked == 2, "{partial:?}");
}

fn event_of(e: &store::RecordedEvent) -> domain::Event {
    e.event.clone()
}

#[tokio::test]
async fn expected_version_mismatches_are_conflicts_that_append_nothing() {
    let dir = temp_dir();
    let store = open(dir.path());
    store
        .append(request("account-A", ExpectedVersion::NoStream, &[1]))
        .await
        .unwrap();
    let err = store
        .append(request("account-A", ExpectedVersion::NoStream, &[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, expected, actual: 1 } if stream == "account-A" && expected == "no stream"),
        "{err:?}"
    );
    let err = store
        .append(request("account-A", ExpectedVersion::Exact(5), &[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err:?}"
    );
    let err = store
        .append(request("account-B", ExpectedVersion::Exact(1), &[2]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 0, .. }),
        "{err:?}"
    );
    store
        .append(request("account-B", ExpectedVersion::Exact(0), &[2]))
        .await
        .unwrap();
    assert_eq!(store.head(), 2);
}

#[tokio::test]
async fn malformed_appends_are_invalid() {
    let dir = temp_dir();
    let store = open(dir.path());
    for stream in ["", "a/b", "-x", "a b", &"x".repeat(200)] {
        let err = store
            .append(request(stream, ExpectedVersion::Any, &[1]))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{stream:?}: {err:?}");
    }
    let err = store
        .append(request("s", ExpectedVersion::Any, &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let mut req = request("s", ExpectedVersion::Any, &[1]);
    req.actor = String::new();
    assert!(matches!(
        store.append(req).await,
        Err(StoreError::Invalid(_))
    ));
    let req = with_key(request("s", ExpectedVersion::Any, &[1]), "", 1);
    assert!(matches!(
        store.append(req).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.stream_version("a/b"),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.head(), 0);
}

#[tokio::test]
async fn idempotency_keys_return_the_first_result_and_survive_restarts() {
    let dir = temp_dir();
    let first = {
        let store = open(dir.path());
        let first = store
            .append(with_key(
                request("account-A", ExpectedVersion::NoStream, &[1, 2]),
                "k1",
                1,
            ))
            .await
            .unwrap();
        // A retry, even with a now-stale expected version, returns the first result.
        let again = store
            .append(with_key(
                request("account-A", ExpectedVersion::NoStream, &[1, 2]),
                "k1",
                1,
            ))
            .await
            .unwrap();
        assert!(again.deduplicated);
        assert_eq!(hashes(&again.events), hashes(&first.events));
        let err = store
            .append(with_key(
                request("account-A", ExpectedVersion::Any, &[3]),
                "k1",
                2,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::IdempotencyConflict { key } if key == "k1"),
            "{err:?}"
        );
        assert_eq!(store.head(), 2);
        first
    };
    let store = open(dir.path());
    let record = store.idempotency("k1").unwrap().unwrap();
    assert_eq!(record.positions, [1, 2]);
    assert_eq!(record.fingerprint, [1; 32]);
    assert!(store.idempotency("k2").unwrap().is_none());
    let again = store
        .append(with_key(
            request("account-A", ExpectedVersion::NoStream, &[1, 2]),
            "k1",
            1,
        ))
        .await
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(hashes(&again.events), hashes(&first.events));
    assert!(matches!(
        store
            .append(with_key(request("x", ExpectedVersion::Any, &[1]), "k1", 9))
            .await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    assert_eq!(store.head(), 2);
}

fn hashes(events: &[store::RecordedEvent]) -> Vec<[u8; 32]> {
    events.iter().map(|e| e.hash).collect()
}

#[test]
fn a_reopened_store_continues_the_chain_and_the_versions() {
    let dir = temp_dir();
    {
        let store = open(dir.path());
        store
            .append_blocking(request("account-A", ExpectedVersion::NoStream, &[1, 2]))
            .unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.head(), 2);
    assert_eq!(store.stream_version("account-A").unwrap(), 2);
    assert!(matches!(
        store.append_blocking(request("account-A", ExpectedVersion::Exact(1), &[3])),
        Err(StoreError::Conflict { actual: 2, .. })
    ));
    let out = store
        .append_blocking(request("account-A", ExpectedVersion::Exact(2), &[3]))
        .unwrap();
    assert_eq!((out.events[0].position, out.events[0].version), (3, 3));
    let v = store.verify(0).unwrap();
    assert!(v.ok && v.checked == 3, "{v:?}");
}

#[test]
fn recorded_at_is_whole_microseconds_and_never_decreases() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut req = request("s", ExpectedVersion::Any, &[1]);
    req.events[0].occurred_at = at(0) + Duration::nanoseconds(1_234_567);
    let out = store.append_blocking(req).unwrap();
    assert_eq!(
        out.events[0].occurred_at,
        at(0) + Duration::microseconds(1_234)
    );
    for n in 0..20 {
        store
            .append_blocking(request("s", ExpectedVersion::Any, &[n]))
            .unwrap();
    }
    let log = all(&store);
    assert_eq!(log[0].occurred_at, at(0) + Duration::microseconds(1_234));
    for pair in log.windows(2) {
        assert!(pair[0].recorded_at <= pair[1].recorded_at);
    }
    assert!(log
        .iter()
        .all(|e| e.recorded_at.timestamp_subsec_nanos() % 1_000 == 0));
    assert!(log.iter().all(|e| e.event_id.get_version_num() == 7));
}

#[test]
fn a_newer_format_is_refused_with_a_clear_error() {
    let dir = temp_dir();
    drop(open(dir.path()));
    {
        let db = retry_locked(|| sled::open(dir.path()));
        let tree = db.open_tree("log").unwrap();
        tree.insert("f", &99u32.to_be_bytes()[..]).unwrap();
        db.flush().unwrap();
    }
    let opened = retry_locked(|| match Store::open(dir.path()) {
        Err(StoreError::Io(msg)) if msg.contains("could not acquire lock") => Err(msg),
        other => Ok(other),
    });
    match opened {
        Err(StoreError::Invalid(msg)) => assert!(msg.contains("newer"), "{msg}"),
        Err(other) => panic!("unexpected {other:?}"),
        Ok(_) => panic!("opened a newer format"),
    }
}

#[test]
fn export_lines_carry_every_envelope_field_and_known_at_cuts_the_log() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut req = request("account-A", ExpectedVersion::Any, &[1, 2]);
    req.correlation_id = Some("corr-1".into());
    req.policy_version = Some(4);
    store.append_blocking(req).unwrap();
    store
        .append_blocking(request("account-B", ExpectedVersion::Any, &[3]))
        .unwrap();
    let log = all(&store);

    let mut out = Vec::new();
    assert_eq!(store.export_jsonl(&mut out, None).unwrap(), 3);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Keys come in the order SPEC §6 lists them (the first line's payload repeats none).
    let line = text.lines().next().unwrap();
    let offsets: Vec<usize> = [
        "position",
        "stream",
        "version",
        "event_id",
        "event_type",
        "schema",
        "occurred_at",
        "recorded_at",
        "actor",
        "correlation_id",
        "causation_id",
        "policy_version",
        "payload",
        "payload_bytes",
        "prev_hash",
        "hash",
    ]
    .iter()
    .map(|k| line.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{line}");
    let first = &lines[0];
    assert_eq!(first["position"], 1);
    assert_eq!(first["stream"], "account-A");
    assert_eq!(first["event_type"], "ReminderSent");
    assert_eq!(first["correlation_id"], "corr-1");
    assert_eq!(first["causation_id"], serde_json::Value::Null);
    assert_eq!(first["policy_version"], 4);
    assert_eq!(first["payload"]["invoice_ids"][0], "INV-1");
    assert_eq!(first["payload"]["channel"], "email");
    assert_eq!(first["prev_hash"], "0".repeat(64));
    assert_eq!(first["hash"], store::chain::to_hex(&log[0].hash));
    assert_eq!(
        first["recorded_at"],
        log[0]
            .recorded_at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    );
    assert_eq!(lines[1]["payload"]["new_limit"], "2.00");
    assert_eq!(lines[1].as_object().unwrap().len(), 16);
    for (line, event) in lines.iter().zip(&log) {
        assert_eq!(line, &event.to_export_json());
    }

    // known_at: exactly the events recorded at or before the instant.
    for cut in [
        log[0].recorded_at,
        log[2].recorded_at,
        log[0].recorded_at - Duration::microseconds(1),
    ] {
        let mut out = Vec::new();
        let n = store.export_jsonl(&mut out, Some(cut)).unwrap();
        let want = log.iter().filter(|e| e.recorded_at <= cut).count();
        assert_eq!(n, u64::try_from(want).unwrap());
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), want);
    }
}

#[test]
fn meta_entries_are_durable_and_scannable() {
    let dir = temp_dir();
    {
        let store = open(dir.path());
        store.meta_put("snapshot/aging", b"one").unwrap();
        store.meta_put("snapshot/exposure", b"two").unwrap();
        store.meta_put("other", b"three").unwrap();
        store.meta_delete("other").unwrap();
        assert!(store.disk_bytes().unwrap() > 0);
    }
    let store = open(dir.path());
    assert_eq!(
        store.meta_get("snapshot/aging").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(store.meta_get("other").unwrap(), None);
    let scanned = store.meta_scan("snapshot/").unwrap();
    assert_eq!(
        scanned,
        [
            ("snapshot/aging".to_owned(), b"one".to_vec()),
            ("snapshot/exposure".to_owned(), b"two".to_vec())
        ]
    );
    assert_eq!(store.head(), 0, "meta entries are not events");
}

#[test]
fn an_export_imports_into_an_identical_log_and_a_changed_line_is_refused() {
    let source = temp_dir();
    let store = open(source.path());
    for n in 0..30 {
        let mut req = request(
            &format!("account-{}", n % 4),
            ExpectedVersion::Any,
            &[n, n + 100],
        );
        req.causation_id = (n % 2 == 0).then(|| format!("cause-{n}"));
        req.policy_version = (n % 3 == 0).then_some(2);
        store.append_blocking(req).unwrap();
    }
    let mut export = Vec::new();
    store.export_jsonl(&mut export, None).unwrap();
    let original = all(&store);

    let restored_dir = temp_dir();
    let n = Store::import_jsonl(restored_dir.path(), &mut &export[..]).unwrap();
    assert_eq!(n, 60);
    let restored = open(restored_dir.path());
    let v = restored.verify(0).unwrap();
    assert!(v.ok && v.checked == 60, "{v:?}");
    let copy = all(&restored);
    for (a, b) in original.iter().zip(&copy) {
        assert_eq!(
            (a.position, &a.stream, a.version, a.event_id),
            (b.position, &b.stream, b.version, b.event_id)
        );
        assert_eq!(
            (a.recorded_at, a.occurred_at, a.hash, &a.event),
            (b.recorded_at, b.occurred_at, b.hash, &b.event)
        );
    }
    assert_eq!(
        restored.stream_version("account-1").unwrap(),
        store.stream_version("account-1").unwrap()
    );
    // The restored log goes on where the original stopped.
    let next = restored
        .append_blocking(request("account-1", ExpectedVersion::Exact(16), &[9]))
        .unwrap();
    assert_eq!(next.events[0].position, 61);
    assert_eq!(next.events[0].prev_hash, original[59].hash);
    drop(restored);
    assert!(matches!(
        Store::import_jsonl(restored_dir.path(), &mut &export[..]),
        Err(StoreError::Invalid(_))
    ));

    // One changed character in line 7 is refused, naming the line.
    let text = String::from_utf8(export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[6] = lines[6].replace("\"actor\":\"tester\"", "\"actor\":\"Tester\"");
    let changed = lines.join("\n");
    let dir = temp_dir();
    match Store::import_jsonl(dir.path(), &mut changed.as_bytes()) {
        Err(StoreError::Invalid(msg)) => assert!(msg.starts_with("line 7:"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn store_and_subscription_can_cross_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    fn sendable<T: Send + 'static>() {}
    shared::<Store>();
    sendable::<store::Subscription>();
    sendable::<StoreError>();
}

#[test]
fn a_directory_in_use_is_refused_with_a_clear_error() {
    let dir = temp_dir();
    let _first = open(dir.path());
    match Store::open(dir.path()) {
        Err(StoreError::Io(msg)) => assert!(msg.contains("in use"), "{msg}"),
        Err(other) => panic!("unexpected {other:?}"),
        Ok(_) => panic!("opened twice"),
    }
}
