//! The aging memo never serves a stale report: an event applied after an aging call shows in
//! the next one; another as-of date, currency or set of buckets is its own report; ledgers known
//! at an instant and clones are served their own facts; memoised == recomputed == rebuilt for
//! random histories.

use std::sync::Arc;

use domain::policy::SINGLE_REMINDER_POLICY_TOML;
use projections::aging::AGING_MEMO_POINT_UPDATES_MAX;
use projections::memo::MEMO_TOUCHED_MAX as AGING_MEMO_TOUCHED_MAX;
use projections::{ledger_known_at, KnownAtCache, Ledger};
use proptest::prelude::*;
use store::Store;

use crate::replay::{day, history, op};
use crate::support::{d, issue, open, pay, wait_until_past, History};

/// Aging recomputed from every account, as a rebuild would answer.
fn recomputed(ledger: &Ledger, as_of: &str, currency: Option<&str>) -> projections::AgingReport {
    let rules = ledger.policy().aging;
    ledger.aging_uncached(d(as_of), currency, &rules)
}

fn total(report: &projections::AgingReport) -> String {
    report
        .totals
        .iter()
        .map(|t| format!("{} {}", t.currency.as_str(), t.total))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn an_event_applied_after_an_aging_call_shows_in_the_next_one() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let first = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(total(&first), "EUR 1000.00");
    // Asked again with nothing applied: the same report, shared.
    assert!(Arc::ptr_eq(&first, &h.ledger.aging(d("2026-03-01"), None)));

    pay(&mut h, "A", "P1", "400.00", "2026-02-01");
    let second = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(total(&second), "EUR 600.00");
    assert_eq!(*second, recomputed(&h.ledger, "2026-03-01", None));
    // A report already handed out is not changed under its holder.
    assert_eq!(total(&first), "EUR 1000.00");

    // A new account gets a row, in customer-id order.
    open(&mut h, "0-FIRST", "2026-01-01", "5000.00");
    issue(&mut h, "0-FIRST", "INV-9", "250.00", "2026-01-10");
    open(&mut h, "Z", "2026-01-01", "5000.00");
    issue(&mut h, "Z", "INV-9", "50.00", "2026-02-20");
    let third = h.ledger.aging(d("2026-03-01"), None);
    let ids: Vec<&str> = third.rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["0-FIRST", "A", "Z"]);
    assert_eq!(total(&third), "EUR 900.00");

    // Paid in full: the row goes.
    pay(&mut h, "A", "P2", "600.00", "2026-02-02");
    let fourth = h.ledger.aging(d("2026-03-01"), None);
    let ids: Vec<&str> = fourth.rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["0-FIRST", "Z"]);
    assert_eq!(*fourth, recomputed(&h.ledger, "2026-03-01", None));
    assert_eq!(h.ledger, h.rebuilt());
}

#[test]
fn another_as_of_date_or_currency_is_its_own_report() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let march = h.ledger.aging(d("2026-03-01"), None);
    let may = h.ledger.aging(d("2026-05-01"), None);
    let bucket =
        |r: &projections::AgingReport| r.rows[0].amounts.iter().position(|a| !a.is_zero()).unwrap();
    assert_eq!(bucket(&march), 1, "1-30 days past due on 1 March");
    assert_eq!(bucket(&may), 3, "61-90 days past due on 1 May");
    assert_eq!(h.ledger.aging(d("2026-01-15"), Some("USD")).rows.len(), 0);

    // Both memoised reports see a later event.
    pay(&mut h, "A", "P1", "100.00", "2026-01-20");
    for as_of in ["2026-03-01", "2026-05-01"] {
        let report = h.ledger.aging(d(as_of), None);
        assert_eq!(total(&report), "EUR 900.00", "as of {as_of}");
        assert_eq!(*report, recomputed(&h.ledger, as_of, None));
    }
    assert_eq!(
        total(&h.ledger.aging(d("2026-03-01"), Some("EUR"))),
        "EUR 900.00"
    );
}

#[test]
fn a_policy_with_other_buckets_is_served_with_its_buckets() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let before = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(before.buckets.len(), 6);

    let document = SINGLE_REMINDER_POLICY_TOML
        .replace("buckets = [30, 60, 90, 120]", "buckets = [15, 45]")
        .replace("basis = \"due\"", "basis = \"issue\"");
    assert_ne!(document, SINGLE_REMINDER_POLICY_TOML);
    h.adopt(&document);
    let after = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(after.buckets, ["Current", "1-15", "16-45", "46+"]);
    assert_eq!(after.rows[0].amounts.len(), 4);
    assert_eq!(after.totals[0].amounts.len(), 4);
    // 59 days since issue: the last bucket.
    assert_eq!(after.rows[0].amounts[3].to_string(), "1000.00");
    assert_eq!(*after, recomputed(&h.ledger, "2026-03-01", None));

    // An analyst's override is read the same way, and dropping it brings the adopted one back.
    h.ledger
        .set_policy_override(Some(domain::Policy::default_policy()));
    assert_eq!(h.ledger.aging(d("2026-03-01"), None).buckets.len(), 6);
    h.ledger.set_policy_override(None);
    assert_eq!(h.ledger.aging(d("2026-03-01"), None).buckets.len(), 4);
}

#[test]
fn many_accounts_touched_at_once_are_merged_in_order() {
    let mut h = History::new();
    let n = AGING_MEMO_POINT_UPDATES_MAX * 10;
    assert!(n + n / 2 < AGING_MEMO_TOUCHED_MAX);
    for i in 0..n {
        let id = format!("C{:05}", 2 * i);
        open(&mut h, &id, "2026-01-01", "100.00");
        issue(&mut h, &id, "I1", "10.00", "2026-01-05");
    }
    let before = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(before.rows.len(), n);
    // Every account pays part, every third pays in full (its row goes), and new accounts open
    // between the old ones (their rows come in between).
    for i in 0..n {
        let id = format!("C{:05}", 2 * i);
        pay(
            &mut h,
            &id,
            "P1",
            if i % 3 == 0 { "10.00" } else { "4.00" },
            "2026-02-01",
        );
        if i % 2 == 0 {
            let new = format!("C{:05}", 2 * i + 1);
            open(&mut h, &new, "2026-01-01", "100.00");
            issue(&mut h, &new, "I1", "1.00", "2026-01-05");
        }
    }
    open(&mut h, "A-BEFORE-ALL", "2026-01-01", "100.00");
    issue(&mut h, "A-BEFORE-ALL", "I1", "1.00", "2026-01-05");
    open(&mut h, "Z-AFTER-ALL", "2026-01-01", "100.00");
    issue(&mut h, "Z-AFTER-ALL", "I1", "1.00", "2026-01-05");
    let after = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(*after, recomputed(&h.ledger, "2026-03-01", None));
    assert_eq!(
        after.rows.first().unwrap().customer_id.as_str(),
        "A-BEFORE-ALL"
    );
    assert_eq!(
        after.rows.last().unwrap().customer_id.as_str(),
        "Z-AFTER-ALL"
    );
    assert_eq!(total(&before), format!("EUR {}.00", 10 * n));
}

#[test]
fn more_accounts_touched_than_the_memo_patches_still_answer_right() {
    let mut h = History::new();
    let n = AGING_MEMO_TOUCHED_MAX + 5;
    for i in 0..n {
        let id = format!("C{i:05}");
        open(&mut h, &id, "2026-01-01", "100.00");
        issue(&mut h, &id, "I1", "10.00", "2026-01-05");
    }
    let before = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(before.rows.len(), n);
    for i in 0..n {
        pay(&mut h, &format!("C{i:05}"), "P1", "4.00", "2026-02-01");
    }
    let after = h.ledger.aging(d("2026-03-01"), None);
    assert_eq!(after.totals[0].total.to_string(), format!("{}.00", 6 * n));
    assert_eq!(*after, recomputed(&h.ledger, "2026-03-01", None));
}

#[test]
fn ledgers_known_at_an_instant_and_clones_answer_their_own_facts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut h = History::with_store(store.clone());
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let known_at = h.log.last().unwrap().0.recorded_at;
    let cache = KnownAtCache::new(4);
    let then = cache.get_or_build(&store, known_at).unwrap();
    assert_eq!(total(&then.aging(d("2026-03-01"), None)), "EUR 1000.00");

    // Recorded later (same or later instant): the cache builds the newer ledger from a copy of
    // the older one, whose memo is warm; the copy must not answer from it.
    wait_until_past(known_at);
    pay(&mut h, "A", "P1", "400.00", "2026-02-01");
    let recorded_later = h.log.last().unwrap().0.recorded_at;
    let later = cache.get_or_build(&store, recorded_later).unwrap();
    assert_eq!(total(&later.aging(d("2026-03-01"), None)), "EUR 600.00");
    assert_eq!(total(&then.aging(d("2026-03-01"), None)), "EUR 1000.00");
    let fresh = ledger_known_at(&store, recorded_later).unwrap();
    assert_eq!(
        *later.aging(d("2026-03-01"), None),
        *fresh.aging(d("2026-03-01"), None)
    );

    // A snapshot carries no memo: restored and caught up, it answers the same.
    let bytes = projections::snapshot::encode(&h.ledger, [1; 32]).unwrap();
    let restored = projections::snapshot::decode(&bytes).unwrap().ledger;
    assert_eq!(
        *restored.aging(d("2026-03-01"), None),
        *h.ledger.aging(d("2026-03-01"), None)
    );
}

#[test]
fn a_clone_of_a_warm_ledger_answers_its_own_facts() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let warm = h.ledger.aging(d("2026-03-01"), None);
    // A copy taken now keeps these facts while the warm ledger moves on.
    let original = h.ledger.clone();
    assert_eq!(original, h.ledger);
    pay(&mut h, "A", "P1", "400.00", "2026-02-01");
    assert_eq!(total(&h.ledger.aging(d("2026-03-01"), None)), "EUR 600.00");
    assert_eq!(*original.aging(d("2026-03-01"), None), *warm);
    assert_eq!(total(&original.aging(d("2026-03-01"), None)), "EUR 1000.00");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Aging asked for between events (so the memo is warm and patched event by event) equals
    /// aging recomputed from every account, and at the end equals the rebuild's.
    #[test]
    fn memoised_aging_equals_recomputed_and_rebuilt(
        ops in proptest::collection::vec(op(), 1..60),
        every in 1usize..5,
        as_of in 0u16..220,
    ) {
        let h = history(&ops);
        let dates = [day(as_of), day(0), day(400)];
        let mut ledger = Ledger::new();
        for (i, (meta, event)) in h.log.iter().enumerate() {
            ledger.apply(meta, event);
            if i % every == 0 {
                let date = dates[i % dates.len()];
                let rules = ledger.policy().aging;
                for currency in [None, Some("EUR")] {
                    prop_assert_eq!(
                        &*ledger.aging(date, currency),
                        &ledger.aging_uncached(date, currency, &rules)
                    );
                }
            }
        }
        let rebuilt = h.rebuilt();
        let rules = rebuilt.policy().aging;
        for date in dates {
            for currency in [None, Some("EUR"), Some("USD")] {
                prop_assert_eq!(
                    &*ledger.aging(date, currency),
                    &rebuilt.aging_uncached(date, currency, &rules)
                );
            }
        }
    }
}
