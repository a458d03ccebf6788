//! The exposure index never serves a stale figure: a late fact (a back-dated payment, a
//! reversal, a fee the clock charges) applied after an account was indexed shows in the next
//! exposure and credit check; clones and snapshots start without indexes and answer their own
//! facts; indexed == walked == rebuilt for random histories.

use chrono::NaiveDate;
use domain::CustomerId;
use projections::exposure::exposure_of;
use projections::{Exposure, Ledger};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

use crate::replay::{day, history, op};
use crate::support::{d, issue, open, pay, History};

fn customer(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

/// The exposure walked from the account's facts, as before the index.
fn walked(ledger: &Ledger, id: &str, on: NaiveDate) -> Exposure {
    let account = ledger.account(&customer(id)).unwrap();
    exposure_of(account, &ledger.policy(), on)
}

/// Asked twice: the first question walks, the second builds the index.
fn asked_twice(ledger: &Ledger, id: &str, on: NaiveDate) -> Exposure {
    let first = ledger.exposure(&customer(id), on).unwrap();
    let second = ledger.exposure(&customer(id), on).unwrap();
    assert_eq!(first, second);
    second
}

fn amount(e: &Exposure) -> Decimal {
    e.exposure
}

#[test]
fn a_back_dated_payment_shows_in_the_next_exposure() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-10");
    issue(&mut h, "A", "INV-2", "600.00", "2026-02-10");
    let on = d("2026-03-01");
    assert_eq!(
        amount(&asked_twice(&h.ledger, "A", on)),
        Decimal::new(160_000, 2)
    );
    assert_eq!(h.ledger.exposure_index().indexed(), 1);

    // Received on 2026-02-01, recorded now: the index of A is dropped, the figure follows.
    pay(&mut h, "A", "P1", "1000.00", "2026-02-01");
    assert_eq!(h.ledger.exposure_index().indexed(), 0);
    let after = asked_twice(&h.ledger, "A", on);
    assert_eq!(amount(&after), Decimal::new(60_000, 2));
    assert_eq!(after, walked(&h.ledger, "A", on));
    // On a date before the payment it still owes both invoices' first.
    assert_eq!(
        amount(&h.ledger.exposure(&customer("A"), d("2026-01-31")).unwrap()),
        Decimal::new(100_000, 2)
    );

    // The payment bounces: back to what was owed without it.
    h.run(
        json!({"command": "reverse_payment", "customer_id": "A", "payment_id": "P1",
        "reversed_on": "2026-02-20", "reason": "bounced"}),
    );
    assert_eq!(
        amount(&asked_twice(&h.ledger, "A", on)),
        Decimal::new(160_000, 2)
    );
    assert_eq!(
        amount(&h.ledger.exposure(&customer("A"), d("2026-02-10")).unwrap()),
        Decimal::new(60_000, 2)
    );

    // Incremental == rebuilt, on every date of the history and the last date there is.
    let rebuilt = h.rebuilt();
    let mut date = d("2025-12-25");
    while date <= d("2026-03-31") {
        assert_eq!(
            h.ledger.exposure(&customer("A"), date),
            rebuilt.exposure(&customer("A"), date),
            "{date}"
        );
        date = date.succ_opt().unwrap();
    }
    assert_eq!(
        h.ledger.exposure(&customer("A"), NaiveDate::MAX),
        Some(walked(&rebuilt, "A", NaiveDate::MAX))
    );
    assert_eq!(h.ledger, rebuilt);
}

#[test]
fn the_credit_check_follows_a_late_fact() {
    let mut h = History::new();
    open(&mut h, "A", "2025-01-01", "1000.00");
    issue(&mut h, "A", "INV-1", "900.00", "2026-01-10");
    let on = d("2026-02-01");
    let check = |ledger: &Ledger| {
        ledger
            .credit_check(&customer("A"), Decimal::new(20_000, 2), on)
            .unwrap()
    };
    assert!(!check(&h.ledger).approved);
    assert!(!check(&h.ledger).approved);
    pay(&mut h, "A", "P1", "900.00", "2026-01-20");
    let after = check(&h.ledger);
    assert!(after.approved, "{after:?}");
    assert_eq!(after, check(&h.rebuilt()));
}

#[test]
fn other_accounts_keep_their_index() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-10");
    open(&mut h, "B", "2026-01-01", "5000.00");
    issue(&mut h, "B", "INV-1", "300.00", "2026-01-10");
    asked_twice(&h.ledger, "A", d("2026-03-01"));
    asked_twice(&h.ledger, "B", d("2026-03-01"));
    assert_eq!(h.ledger.exposure_index().indexed(), 2);
    pay(&mut h, "B", "P1", "300.00", "2026-02-01");
    assert_eq!(h.ledger.exposure_index().indexed(), 1);
    assert_eq!(
        amount(&asked_twice(&h.ledger, "B", d("2026-03-01"))),
        Decimal::ZERO
    );
    assert_eq!(
        amount(&asked_twice(&h.ledger, "A", d("2026-03-01"))),
        Decimal::new(100_000, 2)
    );
}

#[test]
fn clones_and_snapshots_start_without_indexes_and_answer_their_own_facts() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-10");
    let on = d("2026-03-01");
    let before = asked_twice(&h.ledger, "A", on);
    let original = h.ledger.clone();
    assert_eq!(original.exposure_index().indexed(), 0);
    pay(&mut h, "A", "P1", "1000.00", "2026-02-01");
    assert_eq!(amount(&asked_twice(&h.ledger, "A", on)), Decimal::ZERO);
    assert_eq!(asked_twice(&original, "A", on), before);

    let bytes = projections::snapshot::encode(&h.ledger, [1; 32]).unwrap();
    let restored = projections::snapshot::decode(&bytes).unwrap().ledger;
    assert_eq!(restored.exposure_index().indexed(), 0);
    assert_eq!(amount(&asked_twice(&restored, "A", on)), Decimal::ZERO);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Exposure asked between events (so the index is built and dropped event by event) equals
    /// the walk, and at the end the rebuilt ledger's, for every account and several dates.
    #[test]
    fn indexed_exposure_equals_walked_and_rebuilt(
        ops in proptest::collection::vec(op(), 1..60),
        every in 1usize..4,
        date in 0u16..220,
    ) {
        let h = history(&ops);
        let dates = [day(date), day(0), day(60), day(400), NaiveDate::MAX];
        let customers = ["ACME", "BETA", "GAMMA"];
        let mut ledger = Ledger::new();
        for (i, (meta, event)) in h.log.iter().enumerate() {
            ledger.apply(meta, event);
            if i % every == 0 {
                let date = dates[i % dates.len()];
                for id in customers {
                    if ledger.account(&customer(id)).is_some() {
                        prop_assert_eq!(asked_twice(&ledger, id, date), walked(&ledger, id, date));
                    }
                }
            }
        }
        let rebuilt = h.rebuilt();
        for date in dates {
            for id in customers {
                prop_assert_eq!(asked_twice(&ledger, id, date), walked(&rebuilt, id, date));
            }
        }
    }
}
