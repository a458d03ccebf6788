//! The worklist memo never serves a stale list: an event applied after a worklist call shows in
//! the next one; another date or policy is its own list; a list handed out is never changed
//! under its holder; clones and snapshots answer their own facts; memoised == recomputed ==
//! rebuilt for random histories.

use std::sync::Arc;

use domain::policy::SINGLE_REMINDER_POLICY_TOML;
use projections::memo::MEMO_TOUCHED_MAX;
use projections::{Ledger, WorkItem};
use proptest::prelude::*;
use serde_json::json;

use crate::replay::{day, history, op};
use crate::support::{d, issue, open, pay, History};

/// The worklist recomputed from every account, as a rebuild would answer.
fn recomputed(ledger: &Ledger, date: &str) -> Vec<WorkItem> {
    ledger.worklist_uncached(d(date), &ledger.policy())
}

fn listed(items: &[WorkItem]) -> Vec<String> {
    items
        .iter()
        .map(|w| format!("{} {} {}", w.customer_id.as_str(), w.invoice_id, w.step))
        .collect()
}

#[test]
fn an_event_applied_after_a_worklist_call_shows_in_the_next_one() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    open(&mut h, "B", "2026-01-01", "5000.00");
    issue(&mut h, "B", "INV-1", "300.00", "2026-01-01");
    let first = h.ledger.worklist(d("2026-02-07"));
    assert_eq!(listed(&first), ["A INV-1 call", "B INV-1 call"]);
    // Asked again with nothing applied: the same list, shared.
    assert!(Arc::ptr_eq(&first, &h.ledger.worklist(d("2026-02-07"))));

    // The call is logged: A's item goes, B's stays.
    h.run(
        json!({"command": "log_call", "customer_id": "A", "invoice_ids": ["INV-1"],
        "outcome": "reached", "step": "call", "called_at": "2026-02-07T09:00:00Z"}),
    );
    let second = h.ledger.worklist(d("2026-02-07"));
    assert_eq!(listed(&second), ["B INV-1 call"]);
    assert_eq!(*second, recomputed(&h.ledger, "2026-02-07"));
    // A list already handed out is not changed under its holder.
    assert_eq!(listed(&first), ["A INV-1 call", "B INV-1 call"]);

    // Paid in full: B's item goes; a new account's invoice comes in, in order.
    pay(&mut h, "B", "P1", "300.00", "2026-02-05");
    open(&mut h, "0-FIRST", "2026-01-01", "5000.00");
    issue(&mut h, "0-FIRST", "INV-9", "250.00", "2026-01-01");
    let third = h.ledger.worklist(d("2026-02-07"));
    assert_eq!(listed(&third), ["0-FIRST INV-9 call"]);
    assert_eq!(*third, recomputed(&h.ledger, "2026-02-07"));
    assert_eq!(h.ledger, h.rebuilt());
}

#[test]
fn another_date_or_policy_is_its_own_list() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    assert_eq!(
        listed(&h.ledger.worklist(d("2026-02-05"))),
        ["A INV-1 overdue_reminder"]
    );
    assert_eq!(
        listed(&h.ledger.worklist(d("2026-02-07"))),
        ["A INV-1 call"]
    );

    h.adopt(SINGLE_REMINDER_POLICY_TOML);
    let single = h.ledger.worklist(d("2026-02-07"));
    assert_eq!(*single, recomputed(&h.ledger, "2026-02-07"));
    assert!(single.iter().all(|w| w.step != "call"), "{single:?}");

    // An analyst's override is read the same way, and dropping it brings the adopted one back.
    h.ledger
        .set_policy_override(Some(domain::Policy::default_policy()));
    assert_eq!(
        listed(&h.ledger.worklist(d("2026-02-07"))),
        ["A INV-1 call"]
    );
    h.ledger.set_policy_override(None);
    assert_eq!(*h.ledger.worklist(d("2026-02-07")), *single);
}

#[test]
fn more_accounts_touched_than_the_memo_patches_still_answer_right() {
    let mut h = History::new();
    let n = MEMO_TOUCHED_MAX + 5;
    for i in 0..n {
        let id = format!("C{i:05}");
        open(&mut h, &id, "2026-01-01", "100.00");
        issue(&mut h, &id, "I1", "10.00", "2026-01-05");
    }
    let before = h.ledger.worklist(d("2026-02-20"));
    assert_eq!(before.len(), n);
    // Every other account pays in full: its item goes.
    for i in (0..n).step_by(2) {
        pay(&mut h, &format!("C{i:05}"), "P1", "10.00", "2026-02-01");
    }
    let after = h.ledger.worklist(d("2026-02-20"));
    assert_eq!(after.len(), n / 2);
    assert_eq!(*after, recomputed(&h.ledger, "2026-02-20"));
}

#[test]
fn clones_and_snapshots_answer_their_own_facts() {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "5000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    let warm = h.ledger.worklist(d("2026-02-07"));
    let original = h.ledger.clone();
    pay(&mut h, "A", "P1", "1000.00", "2026-02-01");
    assert!(h.ledger.worklist(d("2026-02-07")).is_empty());
    assert_eq!(*original.worklist(d("2026-02-07")), *warm);

    let bytes = projections::snapshot::encode(&h.ledger, [1; 32]).unwrap();
    let restored = projections::snapshot::decode(&bytes).unwrap().ledger;
    assert!(restored.worklist(d("2026-02-07")).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The worklist asked for between events (so the memo is warm and patched event by event)
    /// equals the worklist recomputed from every account, and at the end the rebuild's.
    #[test]
    fn memoised_worklist_equals_recomputed_and_rebuilt(
        ops in proptest::collection::vec(op(), 1..60),
        every in 1usize..5,
        date in 0u16..220,
    ) {
        let h = history(&ops);
        let dates = [day(date), day(0), day(60), day(400)];
        let mut ledger = Ledger::new();
        for (i, (meta, event)) in h.log.iter().enumerate() {
            ledger.apply(meta, event);
            if i % every == 0 {
                let date = dates[i % dates.len()];
                prop_assert_eq!(
                    &*ledger.worklist(date),
                    &ledger.worklist_uncached(date, &ledger.policy())
                );
            }
        }
        let rebuilt = h.rebuilt();
        for date in dates {
            prop_assert_eq!(
                &*ledger.worklist(date),
                &rebuilt.worklist_uncached(date, &rebuilt.policy())
            );
        }
    }
}
