//! `evolve` given an event it cannot apply (one `decide` and the clock never produce): a bug that
//! stops a debug build, and passed over in release, so a log written by an older version replays.

use std::panic::{catch_unwind, AssertUnwindSafe};

use domain::event::{DisputeResolved, InvoiceDelivered, PaymentReversed, PromiseKept};
use domain::{evolve, Event, InvoiceId, PaymentId, PromiseId};

use crate::support::*;

/// Applies `event` after `given`: in a debug build it must panic; in release nothing but the
/// stream version may change.
fn check_impossible(given: &[Step], event: Event) {
    let account = account_after(given);
    let mut state = Some(account.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| evolve(&mut state, &event)));
    if cfg!(debug_assertions) {
        assert!(outcome.is_err(), "{event:?} applied without an assertion");
    } else {
        let mut expected = account;
        expected.version += 1;
        assert_eq!(state, Some(expected), "{event:?} changed the state");
    }
}

#[test]
fn an_event_for_an_unknown_invoice_is_a_bug() {
    check_impossible(
        &[opened(), issued("A", "100.00", "2026-02-01")],
        InvoiceDelivered {
            invoice_id: InvoiceId::parse("B").unwrap(),
            channel: "email".to_owned(),
            confirmed_on: d("2026-02-02"),
        }
        .into(),
    );
}

#[test]
fn a_reversal_of_an_unknown_payment_is_a_bug() {
    check_impossible(
        &[opened(), pay("P1", "10.00", "2026-02-01")],
        PaymentReversed {
            payment_id: PaymentId::parse("P2").unwrap(),
            reversed_on: d("2026-02-02"),
            reason: String::new(),
        }
        .into(),
    );
}

#[test]
fn an_unknown_promise_kept_is_a_bug() {
    check_impossible(
        &[opened()],
        PromiseKept {
            promise_id: PromiseId::parse("PR1").unwrap(),
            kept_on: d("2026-02-02"),
        }
        .into(),
    );
}

#[test]
fn a_dispute_resolved_that_was_never_raised_is_a_bug() {
    check_impossible(
        &[opened(), issued("A", "100.00", "2026-02-01")],
        DisputeResolved {
            invoice_id: InvoiceId::parse("A").unwrap(),
            outcome: String::new(),
            resolved_on: d("2026-02-02"),
        }
        .into(),
    );
}
