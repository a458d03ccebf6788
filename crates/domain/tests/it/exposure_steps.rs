//! The exposure index (`Account::exposure_steps`) on the histories the random properties do not
//! reach: facts `decide` would refuse but an old log may hold (a correction dated before its
//! invoice), amounts beyond the 10^15 bound (no index: the walk saturates), and amounts large
//! enough that only an exact sum is equal to the walk. `properties.rs` compares it with the walk
//! on random histories.

use chrono::{Days, NaiveDate};
use domain::event::{CreditNoteIssued, Event, InvoiceIssued};
use domain::{Account, CreditNoteId, InvoiceId};
use rust_decimal::Decimal;

use crate::support::*;

fn invoice(id: &str, amount: Decimal, issued_on: &str) -> Event {
    Event::InvoiceIssued(InvoiceIssued {
        invoice_id: InvoiceId::parse(id).unwrap(),
        amount,
        issued_on: d(issued_on),
        due_on: d(issued_on) + Days::new(30),
        terms: net(30),
        reference: None,
        override_reason: None,
    })
}

fn with(given: &[Step], recorded: &[Event]) -> Account {
    let mut state = Some(account_after(given));
    for e in recorded {
        domain::evolve(&mut state, e);
    }
    state.unwrap()
}

/// Every day from `from` to `to`, and the first and last dates there are.
fn assert_equal_to_the_walk(account: &Account, from: &str, to: &str) {
    let steps = account.exposure_steps().expect("an index");
    let mut on = d(from);
    let mut every = vec![NaiveDate::MIN, NaiveDate::MAX];
    while on <= d(to) {
        every.push(on);
        on = on.succ_opt().unwrap();
    }
    for on in every {
        assert_eq!(steps.on(on), account.exposure_on(on), "exposure on {on}");
    }
}

/// An entry in force before its invoice is issued counts only from the issue date
/// (`Invoice::open_on` is zero before it), as an old log replayed without `decide` may hold.
#[test]
fn a_correction_dated_before_its_invoice_counts_from_the_issue() {
    let account = with(
        &[
            opened(),
            issued("A", "100.00", "2026-03-10"),
            pay("P", "30.00", "2026-03-05"),
        ],
        &[Event::CreditNoteIssued(CreditNoteIssued {
            credit_note_id: CreditNoteId::parse("CN").unwrap(),
            invoice_id: InvoiceId::parse("A").unwrap(),
            amount: m("40.00"),
            reason: "correction".to_owned(),
            issued_on: d("2026-03-01"),
        })],
    );
    assert_eq!(account.exposure_on(d("2026-03-09")), m("-30.00"));
    assert_eq!(account.exposure_on(d("2026-03-10")), m("30.00"));
    assert_equal_to_the_walk(&account, "2026-02-20", "2026-04-20");
}

/// Beyond the bound the walk's saturating order decides the answer; no index is built, so the
/// caller walks (decision 0009).
#[test]
fn amounts_beyond_the_bound_get_no_index() {
    let account = with(
        &[opened(), issued("A", "500.00", "2026-03-01")],
        &[invoice("BIG", Decimal::MAX, "2026-03-02")],
    );
    assert!(account.exposure_steps().is_none());
    assert_eq!(account.exposure_on(d("2026-05-01")), Decimal::MAX);
}

/// Amounts at the bound, thousands of them: the sums are exact, so the index is built and
/// equal to the walk.
#[test]
fn amounts_at_the_bound_are_summed_exactly() {
    let at_bound = domain::money::AMOUNT_MAX;
    let recorded: Vec<Event> = (0..2_000u64)
        .map(|i| {
            let on = (d("2026-03-01") + Days::new(i % 40)).to_string();
            invoice(&format!("I{i}"), at_bound - Decimal::new(i as i64, 2), &on)
        })
        .collect();
    let account = with(&[opened(), pay("P", "0.01", "2026-03-03")], &recorded);
    assert!(
        account.exposure_on(d("2026-05-01")) > Decimal::new(1, 0) * at_bound * Decimal::from(1_999)
    );
    assert_equal_to_the_walk(&account, "2026-02-25", "2026-04-15");
}

/// An account with nothing owed: zero on every date, with no steps at all.
#[test]
fn an_account_without_invoices_has_no_steps() {
    let account = with(&[opened()], &[]);
    let steps = account.exposure_steps().unwrap();
    assert!(steps.is_empty());
    assert_equal_to_the_walk(&account, "2026-01-01", "2026-03-01");
}
