//! Many writers at once: one winner per expected version, no gaps or duplicates, no double
//! appends from idempotent retries.

use std::collections::{BTreeMap, HashMap};

use store::{ExpectedVersion, StoreError};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_on_one_stream_get_exactly_one_winner_per_expected_version() {
    let dir = temp_dir();
    let store = open(dir.path());
    let writers = 16;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            let mut conflicts = 0;
            for _ in 0..15 {
                let v = store.stream_version("account-X").unwrap();
                match store
                    .append(request("account-X", ExpectedVersion::Exact(v), &[w]))
                    .await
                {
                    Ok(out) => {
                        assert_eq!(out.events[0].version, v + 1);
                        wins.push(v);
                    }
                    Err(StoreError::Conflict { actual, .. }) => {
                        assert!(actual > v, "conflict at {v} with actual {actual}");
                        conflicts += 1;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            (wins, conflicts)
        }));
    }
    let mut winners: BTreeMap<u64, usize> = BTreeMap::new();
    let mut conflicts = 0;
    for t in tasks {
        let (wins, c) = t.await.unwrap();
        conflicts += c;
        for v in wins {
            *winners.entry(v).or_default() += 1;
        }
    }
    let versions = store.stream_version("account-X").unwrap();
    assert!(winners.values().all(|n| *n == 1), "{winners:?}");
    assert_eq!(
        winners.keys().copied().collect::<Vec<_>>(),
        (0..versions).collect::<Vec<_>>()
    );
    assert_eq!(usize::try_from(versions).unwrap() + conflicts, 16 * 15);
    let stream = store.read_stream("account-X", 0).unwrap();
    assert_eq!(
        stream.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=versions).collect::<Vec<_>>()
    );
    assert!(store.verify(0).unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_on_many_streams_leave_no_gap_and_no_duplicate() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut tasks = Vec::new();
    for w in 0..48u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut positions = Vec::new();
            for i in 0..25u64 {
                let stream = format!("account-{}", (w + i) % 12);
                let n = if i % 3 == 0 { vec![w, i] } else { vec![w] };
                let out = store
                    .append(request(&stream, ExpectedVersion::Any, &n))
                    .await
                    .unwrap();
                positions.extend(out.events.iter().map(|e| e.position));
            }
            positions
        }));
    }
    // Plain threads with the blocking API, at the same time.
    let blocking: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let out = store
                            .append_blocking(request(
                                &format!("sync-{t}"),
                                ExpectedVersion::Any,
                                &[i],
                            ))
                            .unwrap();
                        out.events[0].position
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut positions = Vec::new();
    for t in tasks {
        positions.extend(t.await.unwrap());
    }
    for t in blocking {
        positions.extend(t.join().unwrap());
    }
    positions.sort_unstable();
    let total = u64::try_from(positions.len()).unwrap();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "acknowledged positions are 1..=n once each"
    );
    assert_eq!(store.head(), total);
    let log = all(&store);
    assert_eq!(log.len(), positions.len());
    let mut versions: HashMap<String, u64> = HashMap::new();
    for e in &log {
        let v = versions.entry(e.stream.clone()).or_default();
        *v += 1;
        assert_eq!(e.version, *v, "{} at {}", e.stream, e.position);
    }
    let v = store.verify(0).unwrap();
    assert!(v.ok && v.checked == total, "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_idempotent_retries_never_duplicate() {
    let dir = temp_dir();
    let store = open(dir.path());
    let keys = 40u64;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for k in 0..keys {
                let req = with_key(
                    request(
                        &format!("account-{}", k % 5),
                        ExpectedVersion::Any,
                        &[k, k + 1],
                    ),
                    &format!("cmd-{k}"),
                    7,
                );
                let out = store.append(req).await.unwrap();
                seen.push((
                    k,
                    out.deduplicated,
                    out.events.iter().map(|e| e.position).collect::<Vec<_>>(),
                ));
            }
            seen
        }));
    }
    let mut by_key: HashMap<u64, Vec<Vec<u64>>> = HashMap::new();
    let mut firsts = 0;
    for t in tasks {
        for (k, dedup, positions) in t.await.unwrap() {
            firsts += usize::from(!dedup);
            by_key.entry(k).or_default().push(positions);
        }
    }
    assert_eq!(
        firsts,
        usize::try_from(keys).unwrap(),
        "exactly one first append per key"
    );
    for (k, results) in &by_key {
        assert!(
            results.windows(2).all(|w| w[0] == w[1]),
            "key {k}: {results:?}"
        );
        assert_eq!(
            store
                .idempotency(&format!("cmd-{k}"))
                .unwrap()
                .unwrap()
                .positions,
            results[0]
        );
    }
    assert_eq!(store.head(), keys * 2);
    assert!(store.verify(0).unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_and_reads_on_a_live_store_see_only_whole_durable_groups() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut tasks = Vec::new();
    for w in 0..16u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40u64 {
                store
                    .append(request(
                        &format!("account-{}", (w + i) % 6),
                        ExpectedVersion::Any,
                        &[w, i],
                    ))
                    .await
                    .unwrap();
            }
        }));
    }
    let checker = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            let mut rounds = 0;
            while store.head() < 16 * 40 * 2 {
                let head = store.head();
                let v = store.verify(0).unwrap();
                assert!(v.ok && v.checked >= head, "{v:?}");
                let log = all(&store);
                assert!(log.len() as u64 >= head);
                assert!(log.iter().zip(1..).all(|(e, p)| e.position == p));
                for s in 0..6 {
                    let stream = format!("account-{s}");
                    let version = store.stream_version(&stream).unwrap();
                    assert!(store.read_stream(&stream, 0).unwrap().len() as u64 >= version);
                }
                rounds += 1;
            }
            rounds
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    let rounds = checker.await.unwrap();
    assert!(rounds > 0);
    assert!(store.verify(0).unwrap().ok);
}

/// A lone caller's group is synced and answered on the writer's own thread, a busy store's on
/// the sync thread; switching between the two must keep every answer after its durable head
/// and the answers in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lone_and_busy_phases_answer_only_what_is_durable_in_order() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut last = 0;
    for round in 0..6u64 {
        // A lone caller: one append at a time.
        for i in 0..20u64 {
            let out = store
                .append(request("lone", ExpectedVersion::Any, &[round * 100 + i]))
                .await
                .unwrap();
            let position = out.events[0].position;
            assert!(position > last, "answers in order: {position} after {last}");
            assert!(store.head() >= position, "answered before durable");
            last = position;
        }
        // Then many callers at once.
        let tasks: Vec<_> = (0..16u64)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut positions = Vec::new();
                    for i in 0..5u64 {
                        let out = store
                            .append(request(&format!("busy-{w}"), ExpectedVersion::Any, &[i]))
                            .await
                            .unwrap();
                        let position = out.events[0].position;
                        assert!(store.head() >= position, "answered before durable");
                        positions.push(position);
                    }
                    positions
                })
            })
            .collect();
        for t in tasks {
            last = last.max(t.await.unwrap().into_iter().max().unwrap());
        }
    }
    let total = 6 * (20 + 16 * 5);
    assert_eq!(store.head(), total);
    let v = store.verify(0).unwrap();
    assert!(v.ok && v.checked == total, "{v:?}");
}
