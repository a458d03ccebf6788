//! The bounds of SPEC §2 on dates and values: each rejection is `VALIDATION`, names the field
//! and the bound in its message, and records nothing. These tests' today is 2026-06-01
//! (`support::TODAY`), injected through the context like every caller's.

use domain::command::*;
use domain::{Command, Event};

use crate::support::*;

/// Asserts `when` is refused with exactly `message` (a `VALIDATION`), after `given`; deciding is
/// pure, so nothing was recorded.
#[track_caller]
fn refused(given: &[Step], when: Step, message: &str) {
    let ledger = history(default_policy(), given);
    let before = ledger.state.clone();
    match ledger.peek(&when) {
        Err(e) => {
            assert_eq!(e.kind(), domain::ErrorKind::Validation, "{e}");
            assert_eq!(e.to_string(), message);
        }
        Ok(events) => panic!("accepted: {events:?}"),
    }
    assert_eq!(ledger.state, before);
}

#[track_caller]
fn accepted(given: &[Step], when: Step) -> Vec<Event> {
    history(default_policy(), given)
        .peek(&when)
        .unwrap_or_else(|e| panic!("refused: {e}"))
}

fn a() -> Step {
    issued("A", "1000.00", "2026-05-01")
}

#[test]
fn payment_is_not_after_today() {
    accepted(&[opened(), a()], pay("P1", "10.00", "2026-06-01"));
    refused(
        &[opened(), a()],
        pay("P1", "10.00", "2026-06-02"),
        r#"received_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn five_months_ahead_payment_is_refused() {
    refused(
        &[opened(), a()],
        pay("P1", "10.00", "2026-11-01"),
        r#"received_on = "2026-11-01": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn delivery_dispute_resolution_are_not_after_today() {
    refused(
        &[opened(), a()],
        deliver("A", "2026-06-02"),
        r#"confirmed_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a()],
        dispute("A", "2026-06-02"),
        r#"disputed_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a(), dispute("A", "2026-05-10")],
        resolve("A", "2026-06-02"),
        r#"resolved_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn credit_note_write_off_reversal_application_are_not_after_today() {
    refused(
        &[opened(), a()],
        credit_note("CN1", "A", "10.00", "2026-06-02"),
        r#"issued_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a()],
        write_off("A", "2026-06-02"),
        r#"written_off_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a(), pay("P1", "10.00", "2026-05-02")],
        reverse("P1", "2026-06-02"),
        r#"reversed_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a(), pay_to("P1", "10.00", "2026-05-02", &[])],
        apply(&[("A", "10.00")], "2026-06-02"),
        r#"applied_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn contacts_are_not_after_today() {
    refused(
        &[opened(), a()],
        call(&["A"], "no answer", "2026-06-02T08:00:00Z"),
        r#"called_at = "2026-06-02T08:00:00+00:00": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn promise_and_plan_are_not_made_after_today() {
    refused(
        &[opened(), a()],
        promise("PR1", "100.00", "2026-06-02", "2026-06-10"),
        r#"made_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a()],
        plan("PL1", "2026-06-02", &[("I1", "100.00", "2026-07-01")]),
        r#"agreed_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn holds_releases_escalations_are_not_after_today() {
    refused(
        &[opened(), a()],
        hold("2026-06-02"),
        r#"effective_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    refused(
        &[opened(), a(), hold("2026-05-20")],
        release("2026-06-02"),
        r#"effective_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
    let mut escalation = escalate(&["A"]);
    if let Step::Do(Command::Escalate(c)) = &mut escalation {
        c.escalated_on = Some(d("2026-06-02"));
    }
    refused(
        &[opened(), a()],
        escalation,
        r#"escalated_on = "2026-06-02": must not be after today (2026-06-01)"#,
    );
}

#[test]
fn invoice_is_issued_at_most_31_days_ahead() {
    accepted(&[opened()], issued("A", "10.00", "2026-07-02"));
    refused(
        &[opened()],
        issued("A", "10.00", "2026-07-03"),
        r#"issued_on = "2026-07-03": must be at most 31 days after today (2026-06-01), on or before 2026-07-02"#,
    );
}

/// Found by a new user: `issueInvoice(issuedOn: "9999-12-31")` answered due date `+10000-01-30`.
#[test]
fn invoice_in_year_9999_is_refused() {
    refused(
        &[opened()],
        issued("A", "10.00", "9999-12-31"),
        r#"issued_on = "9999-12-31": must be at most 31 days after today (2026-06-01), on or before 2026-07-02"#,
    );
}

#[test]
fn due_date_is_at_most_3660_days_after_issue() {
    accepted(
        &[opened()],
        issued_due("A", "10.00", "2026-05-01", "2036-05-08"),
    );
    refused(
        &[opened()],
        issued_due("A", "10.00", "2026-05-01", "2036-05-09"),
        r#"due_on = "2036-05-09": must be at most 3660 days after issued_on (2026-05-01), on or before 2036-05-08"#,
    );
}

#[test]
fn promised_date_is_at_most_3660_days_after_it_is_made() {
    accepted(
        &[opened(), a()],
        promise("PR1", "10.00", "2026-05-10", "2036-05-17"),
    );
    refused(
        &[opened(), a()],
        promise("PR1", "10.00", "2026-05-10", "2036-05-18"),
        r#"promised_on = "2036-05-18": must be at most 3660 days after made_on (2026-05-10), on or before 2036-05-17"#,
    );
    refused(
        &[opened(), a()],
        plan("PL1", "2026-05-10", &[("I1", "10.00", "2036-05-18")]),
        r#"installments.promised_on = "2036-05-18": must be at most 3660 days after agreed_on (2026-05-10), on or before 2036-05-17"#,
    );
}

/// Found by a new user: a promise of 99,999.00 against 1,000.00 owed was accepted.
#[test]
fn promise_is_no_larger_than_what_is_owed_when_made() {
    accepted(
        &[opened(), a()],
        promise("PR1", "1000.00", "2026-05-10", "2026-05-20"),
    );
    refused(
        &[opened(), a()],
        promise("PR1", "99999.00", "2026-05-10", "2026-05-20"),
        r#"amount = "99999.00": must not exceed what the account owes on 2026-05-10 (1000.00)"#,
    );
    // What is owed on made_on: an invoice issued later does not count.
    refused(
        &[opened(), a(), issued("B", "500.00", "2026-05-15")],
        promise("PR1", "1500.00", "2026-05-10", "2026-05-20"),
        r#"amount = "1500.00": must not exceed what the account owes on 2026-05-10 (1000.00)"#,
    );
    refused(
        &[opened(), a()],
        plan(
            "PL1",
            "2026-05-10",
            &[
                ("I1", "600.00", "2026-06-10"),
                ("I2", "600.00", "2026-07-10"),
            ],
        ),
        r#"installments.amount = "1200.00": must not exceed what the account owes on 2026-05-10 (1000.00)"#,
    );
}

#[test]
fn currency_is_an_active_iso_4217_code() {
    let open = |code: &str| {
        Step::Do(Command::OpenAccount(OpenAccount {
            currency: code.to_owned(),
            ..match opened() {
                Step::Do(Command::OpenAccount(c)) => c,
                _ => unreachable!(),
            }
        }))
    };
    accepted(&[], open("RON"));
    refused(
        &[],
        open("XYZ"),
        r#"currency = "XYZ": is not an active ISO 4217 currency code"#,
    );
    // Withdrawn (Croatia adopted the euro in 2023) and "no currency".
    for code in ["HRK", "XXX"] {
        refused(
            &[],
            open(code),
            &format!("currency = {code:?}: is not an active ISO 4217 currency code"),
        );
    }
}

#[test]
fn active_codes_are_sorted_and_unique() {
    let codes = domain::iso4217::ACTIVE_CODES;
    assert!(codes.windows(2).all(|w| w[0] < w[1]));
    assert!(codes
        .iter()
        .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    for c in [
        "EUR", "USD", "GBP", "NOK", "RON", "IDR", "JPY", "KWD", "BHD", "OMR", "TND", "JOD",
    ] {
        assert!(domain::iso4217::is_active(c), "{c}");
    }
}

#[test]
fn account_is_opened_at_most_31_days_ahead() {
    let mut open = opened();
    if let Step::Do(Command::OpenAccount(c)) = &mut open {
        c.opened_on = d("2026-07-03");
    }
    refused(
        &[],
        open,
        r#"opened_on = "2026-07-03": must be at most 31 days after today (2026-06-01), on or before 2026-07-02"#,
    );
}

#[test]
fn dates_before_year_1_are_refused() {
    let mut open = opened();
    if let Step::Do(Command::OpenAccount(c)) = &mut open {
        c.opened_on = chrono::NaiveDate::from_ymd_opt(0, 12, 31).unwrap();
    }
    refused(
        &[],
        open,
        r#"opened_on = "0000-12-31": must be in the years 0001 to 9999"#,
    );
}

/// SPEC §2 "amounts as shown": `"3000"` given for RON is recorded as `3000.00`.
#[test]
fn amounts_are_recorded_at_the_currency_minor_units() {
    let events = accepted(&[opened()], issued("A", "3000", "2026-05-01"));
    let Event::InvoiceIssued(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(e.amount.to_string(), "3000.00");
    let events = accepted(&[opened(), a()], pay("P1", "1500", "2026-05-02"));
    let Event::PaymentReceived(p) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            p.amount.to_string(),
            p.allocations[0].amount.to_string(),
            p.allocations[0].discount.to_string(),
            p.unapplied.to_string()
        ),
        (
            "1500.00".to_owned(),
            "1000.00".to_owned(),
            "0.00".to_owned(),
            "500.00".to_owned()
        )
    );
    let events = accepted(&[], opened_with(net(30), "50000"));
    let Event::AccountOpened(o) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(o.credit_limit.to_string(), "50000.00");
}

/// The clock's fees are rounded by `Currency::round`, which writes them at scale: 1.5 % of
/// 3000.00 is `45.00`, not `45.0`.
#[test]
fn rounding_writes_the_minor_units() {
    let ron = domain::Currency::parse("RON").unwrap();
    assert_eq!(
        domain::money::percent_of(&ron, m("1.5"), m("3000")).to_string(),
        "45.00"
    );
    let jpy = domain::Currency::parse("JPY").unwrap();
    assert_eq!(jpy.round(m("45.0")).to_string(), "45");
}

fn promise_at(made_on: Option<&str>, made_at: Option<&str>) -> Step {
    Command::RecordPromise(RecordPromise {
        customer_id: domain::CustomerId::parse(CUSTOMER).unwrap(),
        promise_id: domain::PromiseId::parse("PR1").unwrap(),
        amount: m("100.00"),
        promised_on: d("2026-06-20"),
        invoice_ids: Vec::new(),
        made_on: made_on.map(d),
        made_at: made_at.map(at),
        via: "call".to_owned(),
    })
    .into()
}

fn made_at_of(events: &[Event]) -> Option<chrono::DateTime<chrono::Utc>> {
    match events.first() {
        Some(Event::PaymentPromised(p)) => p.made_at,
        other => panic!("{other:?}"),
    }
}

/// SPEC §7: a promise carries the instant it was made — given, or now when made today; a
/// back-dated promise without an instant has none (the timeline then uses its envelope).
#[test]
fn a_promise_carries_the_instant_it_was_made() {
    let given = accepted(
        &[opened(), a()],
        promise_at(None, Some("2026-05-20T14:02:00Z")),
    );
    assert_eq!(made_at_of(&given), Some(at("2026-05-20T14:02:00Z")));
    let Some(Event::PaymentPromised(p)) = given.first() else {
        unreachable!()
    };
    assert_eq!(p.made_on, d("2026-05-20"));
    assert_eq!(
        made_at_of(&accepted(&[opened(), a()], promise_at(None, None))),
        Some(at(NOW))
    );
    assert_eq!(
        made_at_of(&accepted(
            &[opened(), a()],
            promise_at(Some("2026-05-20"), None)
        )),
        None
    );
    refused(
        &[opened(), a()],
        promise_at(Some("2026-05-21"), Some("2026-05-20T14:02:00Z")),
        r#"made_at = "2026-05-20T14:02:00+00:00": must fall on made_on (2026-05-21)"#,
    );
    refused(
        &[opened(), a()],
        promise_at(None, Some("2026-06-02T09:00:00Z")),
        r#"made_at = "2026-06-02T09:00:00+00:00": must not be after today (2026-06-01)"#,
    );
}
