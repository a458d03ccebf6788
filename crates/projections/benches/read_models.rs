//! Read models over 10,000 accounts (`cargo bench -p projections --bench read_models`): aging
//! cold (every row computed, as on a memo miss), warm (served from the memo), and after one
//! event (the touched account's row recomputed and the totals summed again); one account's
//! exposure, as the GraphQL `exposure` query asks for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Days, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::event::{Event, ReminderChannel, ReminderSent};
use domain::CustomerId;
use projections::{EventMeta, Ledger};

const ACCOUNTS: u64 = 10_000;
const EVENTS_PER_ACCOUNT: u64 = 40;

fn ledger() -> Ledger {
    let mut ledger = Ledger::new();
    for (meta, event) in common::history(ACCOUNTS, EVENTS_PER_ACCOUNT) {
        ledger.apply(&meta, &event);
    }
    ledger
}

fn read_models(c: &mut Criterion) {
    let mut ledger = ledger();
    let as_of = common::start() + Days::new(365);

    let customer = CustomerId::parse("C004242").unwrap();
    assert!(ledger.exposure(&customer, as_of).is_some());
    c.bench_function("exposure_one_account", |b| {
        b.iter(|| ledger.exposure(&customer, as_of))
    });

    let rules = ledger.policy().aging;
    assert_eq!(ledger.aging(as_of, None).rows.len(), ACCOUNTS as usize);

    let mut group = c.benchmark_group("aging_10k_accounts");
    group.sample_size(20);
    group.bench_function("cold", |b| {
        b.iter(|| ledger.aging_uncached(as_of, None, &rules))
    });
    group.bench_function("warm", |b| b.iter(|| ledger.aging(as_of, None)));
    // An account-level reminder: touches one account without changing what it owes.
    let reminder: Event = ReminderSent {
        invoice_ids: Vec::new(),
        channel: ReminderChannel::Email,
        step: None,
        template: None,
        sent_at: DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap(),
        message_id: None,
        to: None,
        language: None,
        content_sha256: None,
    }
    .into();
    group.bench_function("after_one_event", |b| {
        b.iter(|| {
            let meta = EventMeta {
                position: ledger.checkpoint + 1,
                stream: "account-C004242".to_owned(),
                version: 0,
                occurred_at: DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap(),
                recorded_at: DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap(),
                actor: "bench".to_owned(),
            };
            ledger.apply(&meta, &reminder);
            ledger.aging(as_of, None)
        })
    });
    group.finish();
}

criterion_group!(benches, read_models);
criterion_main!(benches);
