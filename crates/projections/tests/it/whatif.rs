//! What-if: a history recorded (and ticked) under the default policy, replayed under
//! `policies/single-reminder.toml` and under the default itself.

use domain::Policy;
use projections::whatif;
use serde_json::json;

use crate::support::{d, issue, open, pay, History};

/// A: never pays, breaks a promise; B: pays on time. Ticked as the server would, facts in order.
pub fn recorded_under_default() -> History {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "50000.00");
    open(&mut h, "B", "2026-01-01", "50000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    issue(&mut h, "B", "INV-7", "100.00", "2026-01-01");
    h.tick(d("2026-01-19"));
    pay(&mut h, "B", "P1", "100.00", "2026-01-20");
    h.tick(d("2026-02-05"));
    h.run(
        json!({"command": "record_reminder", "customer_id": "A", "invoice_ids": ["INV-1"],
        "channel": "email", "step": "overdue_reminder", "sent_at": "2026-02-05T10:00:00Z"}),
    );
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "500.00", "promised_on": "2026-02-10", "made_on": "2026-02-06"}),
    );
    h.tick(d("2026-02-20"));
    h.tick(d("2026-03-31"));
    h
}

#[test]
fn under_single_reminder_the_default_late_fees_and_holds_disappear() {
    let h = recorded_under_default();
    let before = h.ledger.clone();
    let policy = Policy::parse(domain::policy::SINGLE_REMINDER_POLICY_TOML).unwrap();
    let report = whatif(&h.ledger, &policy, d("2026-03-31"));
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(h.ledger, before, "what-if appends nothing");
    assert_eq!(report.policy_name, "single-reminder");
    assert_eq!(report.accounts_compared, 2);
    assert_eq!(report.accounts.len(), 1, "B paid on time: nothing differs");
    let a = &report.accounts[0];
    assert_eq!(a.customer_id.as_str(), "A");
    assert_eq!(a.late_fee_count_recorded, 2, "due+5 and 30 days later");
    assert_eq!(a.late_fees_recorded.to_string(), "30.00");
    assert_eq!(a.late_fee_count_would, 0);
    assert_eq!(a.late_fees_would.to_string(), "0.00");
    assert_eq!(a.holds_recorded, 1, "days_past_due hold");
    assert_eq!(a.holds_would, 0);
    assert_eq!(a.broken_promises_recorded, 1);
    assert_eq!(a.broken_promises_would, 1, "broken under grace 0 too");
    assert_eq!((a.worklist_recorded, a.worklist_would), (1, 1));
    assert!(a
        .differences
        .iter()
        .any(|l| l.contains("collection_agency would be due")));
    assert_eq!(report.totals.customer_id.as_str(), "TOTAL");
    assert_eq!(report.totals.late_fee_count_recorded, 2);
    assert_eq!(report.totals.holds_would, 0);
}

#[test]
fn under_the_recorded_policy_nothing_differs() {
    let h = recorded_under_default();
    let report = whatif(&h.ledger, &h.ledger.policy(), d("2026-03-31"));
    assert!(report.accounts.is_empty(), "{:#?}", report.accounts);
    assert_eq!(report.totals.late_fee_count_would, 2);
    assert_eq!(report.totals.holds_would, 1);
}

#[test]
fn a_back_dated_payment_shows_what_the_clock_would_have_done_had_it_been_known() {
    let mut h = recorded_under_default();
    // Recorded after the ticks, dated before the first fee: the fees stay recorded.
    pay(&mut h, "A", "P9", "1000.00", "2026-02-01");
    let report = whatif(&h.ledger, &h.ledger.policy(), d("2026-03-31"));
    let a = &report.accounts[0];
    assert_eq!(a.late_fee_count_recorded, 2);
    assert_eq!(a.late_fee_count_would, 0);
}
