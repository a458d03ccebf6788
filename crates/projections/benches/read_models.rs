//! Read models over 10,000 accounts (`cargo bench -p projections --bench read_models`): aging
//! cold (every row computed, as on a memo miss), warm (served from the memo), and after one
//! event (the touched account's row recomputed and the totals summed again); one account's
//! exposure, as the GraphQL `exposure` query asks for it; and one account of 1,000 events (as
//! at 10M events over 10,000 accounts): its exposure walked, from its index, and the index
//! built.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Days, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::event::{Event, ReminderChannel, ReminderSent};
use domain::exposure_steps::ExposureSteps;
use domain::CustomerId;
use projections::exposure::exposure_of;
use projections::{EventMeta, Ledger};

const ACCOUNTS: u64 = 10_000;
const EVENTS_PER_ACCOUNT: u64 = 40;

/// Events of each account in `exposure_1k_events`: what an account holds at 10M events.
const EVENTS_PER_LARGE_ACCOUNT: u64 = 1_000;

fn ledger() -> Ledger {
    ledger_of(ACCOUNTS, EVENTS_PER_ACCOUNT)
}

fn ledger_of(accounts: u64, per_account: u64) -> Ledger {
    let mut ledger = Ledger::new();
    for (meta, event) in common::history(accounts, per_account) {
        ledger.apply(&meta, &event);
    }
    ledger
}

/// Accounts in `exposure_1k_events`: as many as `dunlog bench` asks about in turn.
const LARGE_ACCOUNTS: u64 = 100;

/// Accounts of 1,000 events (about 530 invoices and 470 payments each), asked as of a day after
/// their last fact, as `dunlog bench` asks: `walk` is `exposure_of` walking every invoice and
/// payment (the path before the index), `indexed` is `Ledger::exposure` served from the
/// account's index, `build` is what the second question after a change pays once to build it.
/// `…_one` asks one account again and again (its facts stay in the CPU's caches); `…_rotating`
/// asks the 100 accounts in turn, as `dunlog bench` does (each question reads memory the
/// previous 99 pushed out of the caches).
fn exposure_of_large_accounts(c: &mut Criterion) {
    let ledger = ledger_of(LARGE_ACCOUNTS, EVENTS_PER_LARGE_ACCOUNT);
    let as_of = common::start() + Days::new(3_000);
    let policy = ledger.policy();
    let customers: Vec<CustomerId> = (0..LARGE_ACCOUNTS)
        .map(|a| projections::synthetic::customer(a).unwrap())
        .collect();
    for customer in &customers {
        let account = ledger.account(customer).unwrap();
        // Warm: the first question walks, the second builds the index.
        let walked = exposure_of(account, &policy, as_of);
        assert_eq!(ledger.exposure(customer, as_of).unwrap(), walked);
        assert_eq!(ledger.exposure(customer, as_of).unwrap(), walked);
    }
    assert_eq!(ledger.exposure_index().indexed(), customers.len());
    let customer = &customers[2];
    let account = ledger.account(customer).unwrap();

    let mut group = c.benchmark_group("exposure_1k_events");
    group.bench_function("walk_one", |b| {
        b.iter(|| exposure_of(account, &policy, as_of))
    });
    group.bench_function("indexed_one", |b| {
        b.iter(|| ledger.exposure(customer, as_of))
    });
    let mut next = customers.iter().cycle();
    group.bench_function("walk_rotating", |b| {
        b.iter(|| {
            let account = ledger.account(next.next().unwrap()).unwrap();
            exposure_of(account, &policy, as_of)
        })
    });
    group.bench_function("indexed_rotating", |b| {
        b.iter(|| ledger.exposure(next.next().unwrap(), as_of))
    });
    group.bench_function("build", |b| b.iter(|| ExposureSteps::of(account)));
    group.finish();
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

criterion_group!(benches, exposure_of_large_accounts, read_models);
criterion_main!(benches);
