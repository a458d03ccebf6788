//! The values of SPEC §2: currencies and their minor units, the one rounding rule, identifiers.

use domain::{Currency, InvoiceId};

use crate::support::*;

#[test]
fn currencies_have_their_minor_units() {
    let units: Vec<u32> = ["JPY", "KWD", "BHD", "OMR", "TND", "JOD", "EUR", "NOK"]
        .iter()
        .map(|c| Currency::parse(c).unwrap().minor_units())
        .collect();
    assert_eq!(units, [0, 3, 3, 3, 3, 3, 2, 2]);
}

#[test]
fn currency_is_three_uppercase_letters() {
    for bad in ["eur", "EURO", "E1R", ""] {
        assert_eq!(
            Currency::parse(bad).unwrap_err().kind(),
            domain::ErrorKind::Validation,
            "{bad}"
        );
    }
}

#[test]
fn rounding_is_to_minor_units_midpoint_away_from_zero() {
    let eur = Currency::parse("EUR").unwrap();
    let jpy = Currency::parse("JPY").unwrap();
    let kwd = Currency::parse("KWD").unwrap();
    assert_eq!(eur.round(m("0.205")), m("0.21"));
    assert_eq!(eur.round(m("-0.205")), m("-0.21"));
    assert_eq!(eur.round(m("0.2049")), m("0.20"));
    assert_eq!(jpy.round(m("2.5")), m("3"));
    assert_eq!(kwd.round(m("1.0005")), m("1.001"));
}

#[test]
fn amount_scale_may_not_exceed_minor_units() {
    let jpy = Currency::parse("JPY").unwrap();
    assert!(jpy.check_scale("amount", m("100")).is_ok());
    assert!(jpy.check_scale("amount", m("100.5")).is_err());
    let kwd = Currency::parse("KWD").unwrap();
    assert!(kwd.check_scale("amount", m("1.125")).is_ok());
    assert!(kwd.check_scale("amount", m("1.1255")).is_err());
}

#[test]
fn identifiers_follow_the_pattern() {
    for good in ["A", "INV-1", "a.b_c:d-e", &"x".repeat(64)] {
        assert!(InvoiceId::parse(good).is_ok(), "{good}");
    }
    for bad in ["", "-A", ".A", "A B", "A/B", "Ä", &"x".repeat(65)] {
        let e = InvoiceId::parse(bad).unwrap_err();
        assert_eq!(
            render_error(&e),
            format!("Err(VALIDATION invoice_id={bad})")
        );
    }
}

#[test]
fn identifiers_are_checked_when_decoded() {
    assert!(serde_json::from_str::<InvoiceId>("\"INV-1\"").is_ok());
    assert!(serde_json::from_str::<InvoiceId>("\"INV 1\"").is_err());
}

/// Issue 12: amounts beyond 10^15 were accepted and then overflowed every sum.
#[test]
fn amounts_beyond_ten_to_the_fifteen_are_refused_naming_the_field() {
    let eur = Currency::parse("EUR").unwrap();
    assert!(eur.check_scale("amount", m("1000000000000000")).is_ok());
    assert!(eur.check_scale("amount", m("-1000000000000000")).is_ok());
    for beyond in [
        "1000000000000000.01",
        "79228162514264337593543950335",
        "-1000000000000001",
    ] {
        let e = eur.check_scale("amount", m(beyond)).unwrap_err();
        assert_eq!(e.kind(), domain::ErrorKind::Validation, "{beyond}");
        let message = e.to_string();
        assert!(
            message.contains("amount") && message.contains("10^15"),
            "{message}"
        );
    }
    check(
        &[opened()],
        issued("BIG", "79228162514264337593543950335", "2026-03-01"),
        "Err(VALIDATION amount=79228162514264337593543950335)",
    );
}

/// A ledger written before the bound may hold such amounts: every as-of figure saturates at
/// the largest Decimal instead of panicking (decision 0009), and a write-off still clears it.
#[test]
fn recorded_amounts_beyond_the_bound_saturate_instead_of_overflowing() {
    use domain::event::{Event, InvoiceIssued};
    let mut state = Some(account_after(&[
        opened(),
        issued("A", "500.00", "2026-03-01"),
    ]));
    let big = Event::InvoiceIssued(InvoiceIssued {
        invoice_id: InvoiceId::parse("BIG").unwrap(),
        amount: rust_decimal::Decimal::MAX,
        issued_on: d("2026-03-02"),
        due_on: d("2026-04-01"),
        terms: net(30),
        reference: None,
        override_reason: None,
    });
    domain::evolve(&mut state, &big);
    let account = state.unwrap();
    assert_eq!(
        account.receivables_on(d("2026-05-01")),
        rust_decimal::Decimal::MAX
    );
    assert_eq!(
        account.exposure_on(d("2026-05-01")),
        rust_decimal::Decimal::MAX
    );
    assert_eq!(account.exposure_on(d("2026-03-01")), m("500.00"));
    let ticked = domain::tick(&account, default_policy(), d("2026-03-02"), d("2026-09-30"));
    assert!(!ticked.is_empty(), "the clock still runs");
}

/// The account state packs amounts in 8 bytes (decision 0052); one beyond what packs in place
/// must still come back exactly, or a write-off of what is open would not bring it to zero.
#[test]
fn a_write_off_of_an_amount_beyond_the_bound_clears_it_exactly() {
    use domain::event::{CreditNoteIssued, Event, InvoiceIssued, InvoiceWrittenOff};
    use domain::CreditNoteId;
    let big = InvoiceId::parse("BIG").unwrap();
    let mut state = Some(account_after(&[opened()]));
    for (amount, id) in [
        (rust_decimal::Decimal::MAX, "BIG"),
        (m("1152921504606846976.25"), "WIDE"),
    ] {
        domain::evolve(
            &mut state,
            &Event::InvoiceIssued(InvoiceIssued {
                invoice_id: InvoiceId::parse(id).unwrap(),
                amount,
                issued_on: d("2026-03-02"),
                due_on: d("2026-04-01"),
                terms: net(30),
                reference: None,
                override_reason: None,
            }),
        );
    }
    domain::evolve(
        &mut state,
        &Event::CreditNoteIssued(CreditNoteIssued {
            credit_note_id: CreditNoteId::parse("CN-1").unwrap(),
            invoice_id: big.clone(),
            amount: m("1000.00"),
            reason: "correction".to_owned(),
            issued_on: d("2026-03-03"),
        }),
    );
    let open = state
        .as_ref()
        .unwrap()
        .invoice(&big)
        .unwrap()
        .open_on(d("2026-03-04"));
    assert_eq!(open, rust_decimal::Decimal::MAX - m("1000.00"));
    domain::evolve(
        &mut state,
        &Event::InvoiceWrittenOff(InvoiceWrittenOff {
            invoice_id: big.clone(),
            amount: open,
            written_off_on: d("2026-03-04"),
            reason: "entered in error".to_owned(),
        }),
    );
    let account = state.unwrap();
    assert_eq!(
        account.invoice(&big).unwrap().open_on(d("2026-03-05")),
        m("0.00")
    );
    let wide = account.invoice(&InvoiceId::parse("WIDE").unwrap()).unwrap();
    assert_eq!(wide.amount().to_string(), "1152921504606846976.25");
}
