//! The statement of account (SPEC §7): opening balance, every dated movement in date order with
//! a running balance, closing balance equal to the exposure as of `to`.

use projections::statement::{statement, StatementError};
use serde_json::json;

use crate::support::{d, issue, pay, History};

/// Every kind of movement on one account: invoices, a fee, a payment with a discount, a credit
/// note, a bounced payment, unapplied cash applied, a write-off.
fn everything() -> History {
    let mut h = History::new();
    h.adopt(domain::policy::DEFAULT_POLICY_TOML);
    h.run(
        json!({"command": "open_account", "customer_id": "N", "name": "Nord AS",
        "currency": "NOK", "credit_limit": "50000", "opened_on": "2026-01-01",
        "terms": {"net_days": 30, "discount_percent": "2", "discount_days": 10}}),
    );
    issue(&mut h, "N", "A", "10000", "2026-03-01");
    issue(&mut h, "N", "B", "5000.00", "2026-03-02");
    pay(&mut h, "N", "P1", "9800.00", "2026-03-11");
    h.run(
        json!({"command": "issue_credit_note", "customer_id": "N", "credit_note_id": "CN1",
        "invoice_id": "B", "amount": "100.00", "issued_on": "2026-03-20", "reason": "price"}),
    );
    pay(&mut h, "N", "P2", "6000.00", "2026-04-20");
    h.run(
        json!({"command": "reverse_payment", "customer_id": "N", "payment_id": "P2",
        "reversed_on": "2026-04-25", "reason": "bounced"}),
    );
    h.tick(d("2026-05-10"));
    h.run(
        json!({"command": "record_payment", "customer_id": "N", "payment_id": "P3",
        "amount": "300.00", "received_on": "2026-05-12", "allocations": []}),
    );
    h.run(
        json!({"command": "apply_unapplied_cash", "customer_id": "N",
        "allocations": [{"invoice_id": "B", "amount": "300.00"}], "applied_on": "2026-05-14"}),
    );
    h.run(
        json!({"command": "write_off_invoice", "customer_id": "N", "invoice_id": "B",
        "written_off_on": "2026-05-20", "reason": "uncollectable"}),
    );
    h
}

fn events(h: &History, stream: &str) -> Vec<(u64, domain::Event)> {
    h.log
        .iter()
        .filter(|(m, _)| m.stream == stream)
        .map(|(m, e)| (m.position, e.clone()))
        .collect()
}

#[test]
fn a_statement_lists_every_movement_with_a_running_balance() {
    let h = everything();
    let events = events(&h, "account-N");
    let s = statement(
        events.iter().map(|(p, e)| (*p, e)),
        d("2026-03-01"),
        d("2026-05-31"),
    )
    .unwrap()
    .unwrap();
    let lines: Vec<String> = s
        .lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {}/{} = {}",
                l.date,
                l.kind.as_str(),
                l.reference,
                l.invoice_id.as_ref().map_or("-", |i| i.as_str()),
                l.debit,
                l.credit,
                l.balance
            )
        })
        .collect();
    assert_eq!(s.opening_balance.to_string(), "0.00");
    assert_eq!(
        lines,
        [
            "2026-03-01 INVOICE A A 10000.00/0.00 = 10000.00",
            "2026-03-02 INVOICE B B 5000.00/0.00 = 15000.00",
            "2026-03-11 PAYMENT P1 A 0.00/9800.00 = 5200.00",
            "2026-03-11 DISCOUNT P1 A 0.00/200.00 = 5000.00",
            "2026-03-20 CREDIT_NOTE CN1 B 0.00/100.00 = 4900.00",
            "2026-04-06 LATE_FEE fee 1 B 73.50/0.00 = 4973.50",
            "2026-04-20 PAYMENT P2 B 0.00/4900.00 = 73.50",
            "2026-04-20 PAYMENT P2 - 0.00/1100.00 = -1026.50",
            "2026-04-25 REVERSAL P2 B 4900.00/0.00 = 3873.50",
            "2026-04-25 REVERSAL P2 - 1100.00/0.00 = 4973.50",
            "2026-05-06 LATE_FEE fee 2 B 73.50/0.00 = 5047.00",
            "2026-05-12 PAYMENT P3 - 0.00/300.00 = 4747.00",
            "2026-05-14 UNAPPLIED_APPLIED unapplied cash - 300.00/0.00 = 5047.00",
            "2026-05-14 UNAPPLIED_APPLIED unapplied cash B 0.00/300.00 = 4747.00",
            "2026-05-20 WRITE_OFF B B 0.00/4747.00 = 0.00",
        ]
    );
    assert!(s.lines.windows(2).all(|w| w[0].date <= w[1].date));
    let account = h
        .ledger
        .account(&domain::CustomerId::parse("N").unwrap())
        .unwrap();
    assert_eq!(s.closing_balance, account.exposure_on(d("2026-05-31")));
    assert_eq!(s.closing_balance, s.lines.last().unwrap().balance);
}

/// The closing balance equals the exposure as of `to` for every period, and the opening balance
/// the exposure the day before `from`: periods chain.
#[test]
fn closing_balance_is_the_exposure_as_of_to_for_any_period() {
    let h = everything();
    let events = events(&h, "account-N");
    let account = h
        .ledger
        .account(&domain::CustomerId::parse("N").unwrap())
        .unwrap();
    let mut from = d("2026-02-20");
    while from < d("2026-06-10") {
        for len in [0, 1, 6, 13, 40] {
            let to = from + chrono::Days::new(len);
            let s = statement(events.iter().map(|(p, e)| (*p, e)), from, to)
                .unwrap()
                .unwrap();
            assert_eq!(s.closing_balance, account.exposure_on(to), "{from}..{to}");
            assert_eq!(
                s.opening_balance,
                account.exposure_on(from.pred_opt().unwrap()),
                "{from}"
            );
            let last = s.lines.last().map_or(s.opening_balance, |l| l.balance);
            assert_eq!(last, s.closing_balance, "{from}..{to}");
        }
        from = from + chrono::Days::new(3);
    }
}

#[test]
fn a_period_ending_before_it_starts_is_refused() {
    let h = everything();
    let events = events(&h, "account-N");
    let e = statement(
        events.iter().map(|(p, e)| (*p, e)),
        d("2026-03-02"),
        d("2026-03-01"),
    )
    .unwrap_err();
    assert_eq!(
        e,
        StatementError::ToBeforeFrom {
            from: d("2026-03-02"),
            to: d("2026-03-01")
        }
    );
    assert_eq!(
        e.to_string(),
        r#"to = 2026-03-01: must not be before from (2026-03-02)"#
    );
}

/// SPEC §2 "amounts as shown": a RON invoice given as `"3000"` is recorded and shown as
/// `3000.00`, its 1.5 % fee as `45.00`.
#[test]
fn amounts_are_shown_at_the_currency_scale() {
    let mut h = History::new();
    h.run(
        json!({"command": "open_account", "customer_id": "R", "name": "Mica SRL",
        "currency": "RON", "credit_limit": "8000", "opened_on": "2026-01-01",
        "terms": {"net_days": 15}}),
    );
    issue(&mut h, "R", "F-1", "3000", "2026-01-02");
    h.tick(d("2026-02-01"));
    let shown: Vec<String> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            domain::Event::AccountOpened(e) => Some(e.credit_limit.to_string()),
            domain::Event::InvoiceIssued(e) => Some(e.amount.to_string()),
            domain::Event::LateFeeCharged(e) => Some(e.amount.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(shown, ["8000.00", "3000.00", "45.00"]);
}
