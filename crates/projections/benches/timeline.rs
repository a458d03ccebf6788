//! One account's timeline as the GraphQL `timeline` query builds it since issue 18
//! (`cargo bench -p projections --bench timeline`): the account's stream read from a real store,
//! then the entries built from it and the account; and each half alone. The old read model kept
//! the timeline's events in memory, so `build` alone is about what the query cost before and
//! `read_stream` what it costs now on top.
//!
//! The store holds [`ACCOUNTS`] synthetic accounts of [`EVENTS_PER_ACCOUNT`] events, appended
//! round-robin [`EVENTS_PER_APPEND`] at a time, so each stream is cut into runs of the log as a
//! server's streams are (interleaved with other accounts' appends).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use domain::CustomerId;
use projections::timeline::timeline;
use projections::{synthetic, Ledger};
use store::{AppendRequest, ExpectedVersion, NewEvent, Store};

const ACCOUNTS: u64 = 100;
const EVENTS_PER_ACCOUNT: u64 = 200;
const EVENTS_PER_APPEND: usize = 10;

fn store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let occurred_at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0).unwrap();
    let histories: Vec<(String, Vec<domain::Event>)> = (0..ACCOUNTS)
        .map(|a| {
            let stream = synthetic::customer(a).unwrap().stream();
            let events = synthetic::account_history(a, EVENTS_PER_ACCOUNT, start).unwrap();
            (stream, events)
        })
        .collect();
    for round in 0..(EVENTS_PER_ACCOUNT as usize).div_ceil(EVENTS_PER_APPEND) {
        for (stream, events) in &histories {
            let chunk: Vec<NewEvent> = events
                .iter()
                .skip(round * EVENTS_PER_APPEND)
                .take(EVENTS_PER_APPEND)
                .map(|event| NewEvent {
                    event: event.clone(),
                    occurred_at,
                })
                .collect();
            if chunk.is_empty() {
                continue;
            }
            store
                .append_blocking(AppendRequest {
                    stream: stream.clone(),
                    expected: ExpectedVersion::Any,
                    events: chunk,
                    actor: "bench".to_owned(),
                    correlation_id: None,
                    causation_id: None,
                    policy_version: None,
                    idempotency: None,
                })
                .unwrap();
        }
    }
    store
}

fn bench_timeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut ledger = Ledger::new();
    projections::replay::replay(&store, &mut ledger, None, &mut |_, _| {}).unwrap();
    let customer: CustomerId = synthetic::customer(ACCOUNTS / 2).unwrap();
    let stream = customer.stream();
    let account = ledger.account(&customer).unwrap();
    let events = store.read_stream(&stream, 0).unwrap();
    assert_eq!(events.len() as u64, EVENTS_PER_ACCOUNT);
    let entries = timeline(account, events.iter().map(Into::into), None, None, None);
    assert!(!entries.is_empty());

    let mut group = c.benchmark_group("timeline_one_account");
    group.bench_function("read_stream", |b| {
        b.iter(|| store.read_stream(&stream, 0).unwrap())
    });
    group.bench_function("build", |b| {
        b.iter(|| timeline(account, events.iter().map(Into::into), None, None, None))
    });
    group.bench_function("read_and_build", |b| {
        b.iter(|| {
            let events = store.read_stream(&stream, 0).unwrap();
            timeline(account, events.iter().map(Into::into), None, None, None)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_timeline);
criterion_main!(benches);
