//! The worklist rules of SPEC §7 under the default ladder: confirm_receipt issue+3,
//! pre_due_reminder due−3, overdue_reminder due+5, call due+7, notify_sales_rep due+8,
//! final_notice due+30, collection_agency due+90; promise grace 2 days.

use projections::WorkItem;
use serde_json::json;

use crate::support::{d, issue, open, History};

/// A, with INV-1 (1000.00, issued 2026-01-01, due 2026-01-31).
fn one_invoice() -> History {
    let mut h = History::new();
    open(&mut h, "A", "2026-01-01", "50000.00");
    issue(&mut h, "A", "INV-1", "1000.00", "2026-01-01");
    h
}

fn steps(items: &[WorkItem]) -> Vec<(String, String, u32)> {
    items
        .iter()
        .map(|w| (w.invoice_id.to_string(), w.step.clone(), w.skipped_steps))
        .collect()
}

fn one(step: &str, skipped: u32) -> Vec<(String, String, u32)> {
    vec![("INV-1".to_owned(), step.to_owned(), skipped)]
}

#[test]
fn nothing_is_due_before_the_first_trigger() {
    let h = one_invoice();
    assert!(h.ledger.worklist(d("2026-01-03")).is_empty());
}

#[test]
fn confirm_receipt_is_due_three_days_after_issue_with_every_field() {
    let h = one_invoice();
    let items = h.ledger.worklist(d("2026-01-04"));
    assert_eq!(items.len(), 1);
    let w = &items[0];
    assert_eq!(w.customer_id.as_str(), "A");
    assert_eq!(w.name, "A Ltd");
    assert_eq!(w.step, "confirm_receipt");
    assert_eq!(w.channel, "email");
    assert_eq!(w.trigger_on, d("2026-01-04"));
    assert_eq!(w.open_amount.to_string(), "1000.00");
    assert_eq!(w.currency.as_str(), "EUR");
    assert_eq!(w.days_past_due, 0);
    assert_eq!(w.sales_rep.as_deref(), Some("rita"));
    assert_eq!(w.skipped_steps, 0);
}

#[test]
fn confirm_receipt_is_fulfilled_by_invoice_delivered() {
    let mut h = one_invoice();
    h.run(
        json!({"command": "confirm_delivery", "customer_id": "A", "invoice_id": "INV-1",
        "confirmed_on": "2026-01-04"}),
    );
    assert!(h.ledger.worklist(d("2026-01-04")).is_empty());
    // Delivery confirmed later does not fulfil the step on an earlier date.
    assert!(h.ledger.worklist(d("2026-01-03")).is_empty());
    // And the next step is not counted as skipping a fulfilled one.
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-01-28"))),
        one("pre_due_reminder", 0)
    );
}

/// Issue 14: a "due soon" reminder was offered for an invoice four days late.
#[test]
fn a_pre_due_step_expires_on_the_due_date() {
    let mut h = one_invoice();
    h.run(
        json!({"command": "confirm_delivery", "customer_id": "A", "invoice_id": "INV-1",
        "confirmed_on": "2026-01-02"}),
    );
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-01-31"))),
        one("pre_due_reminder", 0)
    );
    assert!(h.ledger.worklist(d("2026-02-01")).is_empty());
    assert!(h.ledger.worklist(d("2026-02-04")).is_empty());
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-02-05"))),
        one("overdue_reminder", 1)
    );
}

#[test]
fn a_step_is_superseded_once_a_later_step_is_due_and_skips_are_counted() {
    let h = one_invoice();
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-01-28"))),
        one("pre_due_reminder", 1)
    );
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-02-05"))),
        one("overdue_reminder", 2)
    );
    // The overdue reminder nobody sent gives way to the call.
    let call = h.ledger.worklist(d("2026-02-07"));
    assert_eq!(steps(&call), one("call", 3));
    assert_eq!(call[0].channel, "phone");
    assert_eq!(call[0].days_past_due, 7);
    assert_eq!(call[0].trigger_on, d("2026-02-07"));
}

#[test]
fn a_contact_naming_the_step_fulfils_it_until_the_next_step_is_due() {
    let mut h = one_invoice();
    h.run(
        json!({"command": "record_reminder", "customer_id": "A", "invoice_ids": ["INV-1"],
        "channel": "email", "step": "overdue_reminder", "sent_at": "2026-02-05T10:00:00Z"}),
    );
    assert!(h.ledger.worklist(d("2026-02-05")).is_empty());
    assert!(h.ledger.worklist(d("2026-02-06")).is_empty());
    // Before the reminder was sent, it was due.
    // The day before, the overdue reminder had not triggered yet, and the pre-due reminder had
    // expired on the due date (SPEC §5): confirm_receipt is the step left.
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-02-04"))),
        one("confirm_receipt", 1)
    );
    assert_eq!(steps(&h.ledger.worklist(d("2026-02-07"))), one("call", 2));
    // A call about the whole account fulfils the call step for every invoice.
    h.run(
        json!({"command": "log_call", "customer_id": "A", "outcome": "reached",
        "step": "call", "called_at": "2026-02-07T15:00:00Z"}),
    );
    assert!(h.ledger.worklist(d("2026-02-07")).is_empty());
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-02-08"))),
        one("notify_sales_rep", 2)
    );
}

#[test]
fn an_active_promise_covers_its_invoices_until_its_grace_ends() {
    let mut h = one_invoice();
    issue(&mut h, "A", "INV-2", "200.00", "2026-01-01");
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "1000.00", "promised_on": "2026-02-10", "invoice_ids": ["INV-1"],
        "made_on": "2026-02-06"}),
    );
    let on = |date: &str| -> Vec<String> {
        h.ledger
            .worklist(d(date))
            .iter()
            .map(|w| w.invoice_id.to_string())
            .collect()
    };
    assert_eq!(on("2026-02-05"), ["INV-1", "INV-2"], "before the promise");
    assert_eq!(on("2026-02-07"), ["INV-2"], "covered");
    assert_eq!(on("2026-02-12"), ["INV-2"], "grace: promised_on + 2");
    assert_eq!(on("2026-02-13"), ["INV-1", "INV-2"], "grace over, not kept");
}

#[test]
fn a_promise_without_invoice_ids_covers_the_whole_account() {
    let mut h = one_invoice();
    issue(&mut h, "A", "INV-2", "200.00", "2026-01-01");
    h.run(
        json!({"command": "record_promise", "customer_id": "A", "promise_id": "PR-1",
        "amount": "1200.00", "promised_on": "2026-02-10", "made_on": "2026-02-06"}),
    );
    assert!(h.ledger.worklist(d("2026-02-08")).is_empty());
}

#[test]
fn disputed_invoices_are_left_out_while_disputed() {
    let mut h = one_invoice();
    h.run(
        json!({"command": "raise_dispute", "customer_id": "A", "invoice_id": "INV-1",
        "reason": "damaged", "disputed_on": "2026-02-01"}),
    );
    assert!(h.ledger.worklist(d("2026-02-07")).is_empty());
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-01-31"))),
        one("pre_due_reminder", 1)
    );
    h.run(
        json!({"command": "resolve_dispute", "customer_id": "A", "invoice_id": "INV-1",
        "outcome": "rejected", "resolved_on": "2026-02-10"}),
    );
    assert_eq!(
        steps(&h.ledger.worklist(d("2026-02-10"))),
        one("notify_sales_rep", 4)
    );
}

#[test]
fn paid_and_escalated_invoices_are_left_out() {
    let mut h = one_invoice();
    issue(&mut h, "A", "INV-2", "300.00", "2026-01-01");
    crate::support::pay(&mut h, "A", "P1", "1000.00", "2026-02-01");
    h.run(
        json!({"command": "escalate", "customer_id": "A", "invoice_ids": ["INV-2"],
        "to": "collection_agency", "escalated_on": "2026-02-03"}),
    );
    assert!(h.ledger.worklist(d("2026-02-07")).is_empty());
    assert_eq!(h.ledger.worklist(d("2026-02-02")).len(), 1);
}

#[test]
fn items_are_ordered_by_trigger_date_then_customer_then_invoice() {
    let mut h = History::new();
    open(&mut h, "B", "2026-01-01", "50000.00");
    open(&mut h, "A", "2026-01-01", "50000.00");
    issue(&mut h, "B", "X-2", "10.00", "2026-01-01");
    issue(&mut h, "B", "X-1", "10.00", "2026-01-01");
    issue(&mut h, "A", "Z-9", "10.00", "2026-01-01");
    issue(&mut h, "A", "Y-1", "10.00", "2026-01-10");
    let order: Vec<(String, String, String)> = h
        .ledger
        .worklist(d("2026-01-13"))
        .iter()
        .map(|w| {
            (
                w.trigger_on.to_string(),
                w.customer_id.to_string(),
                w.invoice_id.to_string(),
            )
        })
        .collect();
    let expect = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        order,
        vec![
            expect("2026-01-04", "A", "Z-9"),
            expect("2026-01-04", "B", "X-1"),
            expect("2026-01-04", "B", "X-2"),
            expect("2026-01-13", "A", "Y-1"),
        ]
    );
}

#[test]
fn example_for_the_docs() {
    let mut h = one_invoice();
    issue(&mut h, "A", "INV-2", "250.00", "2026-01-20");
    h.run(
        json!({"command": "record_reminder", "customer_id": "A", "invoice_ids": ["INV-1"],
        "channel": "email", "step": "overdue_reminder", "sent_at": "2026-02-05T10:00:00Z"}),
    );
    let items = h.ledger.worklist(d("2026-02-08"));
    println!("{}", serde_json::to_string_pretty(&*items).unwrap());
    assert_eq!(
        steps(&items),
        vec![
            ("INV-2".to_owned(), "confirm_receipt".to_owned(), 0),
            ("INV-1".to_owned(), "notify_sales_rep".to_owned(), 3),
        ]
    );
}

/// Issue 15: the demo's worklist sent balances of a few hundred to a collection agency. A step
/// with `min_open_amount` is not offered below it; the invoice stays at the step before.
#[test]
fn a_step_with_a_minimum_open_amount_skips_smaller_balances() {
    let mut h = History::new();
    h.adopt(
        "name = \"small balances\"\n\
         [[ladder]]\nstep = \"final_notice\"\nfrom = \"due\"\ndays = 30\nchannel = \"letter\"\n\
         [[ladder]]\nstep = \"collection_agency\"\nfrom = \"due\"\ndays = 90\nchannel = \"agency\"\n\
         min_open_amount = { EUR = \"300.00\", NOK = \"3000\" }\n",
    );
    open(&mut h, "A", "2026-01-01", "50000.00");
    issue(&mut h, "A", "SMALL", "299.99", "2026-01-01");
    issue(&mut h, "A", "LARGE", "300.00", "2026-01-01");
    let items = h.ledger.worklist(d("2026-06-01"));
    let mut got = steps(&items);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("LARGE".to_owned(), "collection_agency".to_owned(), 1),
            ("SMALL".to_owned(), "final_notice".to_owned(), 0),
        ]
    );
}
