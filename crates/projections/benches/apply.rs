//! `Ledger::apply` of a synthetic history (`cargo bench -p projections --bench apply`): the
//! replay hot path behind rebuild, restart and time travel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use projections::Ledger;

/// Accounts in the history; each has `EVENTS_PER_ACCOUNT` events.
const ACCOUNTS: u64 = 1_000;
const EVENTS_PER_ACCOUNT: u64 = 40;

fn apply(c: &mut Criterion) {
    let log = common::history(ACCOUNTS, EVENTS_PER_ACCOUNT);
    let mut group = c.benchmark_group("apply");
    group.sample_size(20);
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("history_1k_accounts_40k_events", |b| {
        b.iter_batched(
            Ledger::new,
            |mut ledger| {
                for (meta, event) in &log {
                    ledger.apply(meta, event);
                }
                ledger
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, apply);
criterion_main!(benches);
