//! One example of every event type, with every optional field filled, for golden vectors.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::event::*;
use domain::{CreditNoteId, Currency, CustomerId, Event, InvoiceId, PaymentId, PlanId, PromiseId};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn day(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn inv(s: &str) -> InvoiceId {
    InvoiceId::parse(s).unwrap()
}

fn promise(s: &str) -> PromiseId {
    PromiseId::parse(s).unwrap()
}

fn terms() -> Terms {
    Terms {
        net_days: 30,
        discount_percent: Some(d("2")),
        discount_days: Some(10),
    }
}

fn contacts() -> Contacts {
    Contacts {
        emails: vec!["ap@acme.example".into()],
        phones: vec!["+47 22 00 00 00".into()],
        postal_address: Some("Storgata 1, 0155 Oslo".into()),
        billing_contact: Some("Kari Nordmann".into()),
    }
}

/// One example per type, in the order of `EVENT_TYPES`.
pub fn examples() -> Vec<Event> {
    let at = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap()
        + chrono::Duration::microseconds(123_456);
    vec![
        Event::AccountOpened(AccountOpened {
            customer_id: CustomerId::parse("ACME-1").unwrap(),
            name: "Acme Ltd — Nordic".into(),
            currency: Currency::parse("EUR").unwrap(),
            credit_limit: d("50000.00"),
            terms: terms(),
            opened_on: day(2026, 1, 5),
            contacts: contacts(),
            sales_rep: Some("ingrid".into()),
        }),
        Event::CreditLimitChanged(CreditLimitChanged {
            new_limit: d("75000.00"),
            reason: "annual review".into(),
        }),
        Event::TermsChanged(TermsChanged {
            terms: Terms {
                net_days: 14,
                discount_percent: None,
                discount_days: None,
            },
        }),
        Event::ContactDetailsUpdated(ContactDetailsUpdated {
            contacts: contacts(),
        }),
        Event::ContactDetailsVerified(ContactDetailsVerified {
            verified_on: day(2026, 2, 1),
            by: "collector-7".into(),
        }),
        Event::SalesRepAssigned(SalesRepAssigned {
            sales_rep: "andrei".into(),
        }),
        Event::InvoiceIssued(InvoiceIssued {
            invoice_id: inv("INV-1001"),
            amount: d("1000.00"),
            issued_on: day(2026, 3, 1),
            due_on: day(2026, 3, 31),
            terms: terms(),
            reference: Some("PO-77".into()),
            override_reason: Some("approved by CFO".into()),
        }),
        Event::InvoiceDelivered(InvoiceDelivered {
            invoice_id: inv("INV-1001"),
            channel: "email".into(),
            confirmed_on: day(2026, 3, 2),
        }),
        Event::InvoiceDisputed(InvoiceDisputed {
            invoice_id: inv("INV-1001"),
            reason: "goods damaged".into(),
            disputed_on: day(2026, 3, 5),
        }),
        Event::DisputeResolved(DisputeResolved {
            invoice_id: inv("INV-1001"),
            outcome: "credit note issued".into(),
            resolved_on: day(2026, 3, 9),
        }),
        Event::CreditNoteIssued(CreditNoteIssued {
            credit_note_id: CreditNoteId::parse("CN-1").unwrap(),
            invoice_id: inv("INV-1001"),
            amount: d("100.00"),
            reason: "damaged goods".into(),
            issued_on: day(2026, 3, 9),
        }),
        Event::LateFeeCharged(LateFeeCharged {
            invoice_id: inv("INV-1001"),
            amount: d("40.00"),
            charged_on: day(2026, 4, 1),
            period: 1,
        }),
        Event::InvoiceWrittenOff(InvoiceWrittenOff {
            invoice_id: inv("INV-1001"),
            amount: d("940.00"),
            written_off_on: day(2026, 12, 31),
            reason: "customer insolvent".into(),
        }),
        Event::PaymentReceived(PaymentReceived {
            payment_id: PaymentId::parse("PAY-9").unwrap(),
            amount: d("990.00"),
            received_on: day(2026, 3, 10),
            method: "bank transfer".into(),
            allocations: vec![Allocation {
                invoice_id: inv("INV-1001"),
                amount: d("980.00"),
                discount: d("20.00"),
            }],
            unapplied: d("10.00"),
        }),
        Event::PaymentReversed(PaymentReversed {
            payment_id: PaymentId::parse("PAY-9").unwrap(),
            reversed_on: day(2026, 3, 12),
            reason: "insufficient funds".into(),
        }),
        Event::UnappliedCashApplied(UnappliedCashApplied {
            allocations: vec![Application {
                invoice_id: inv("INV-1002"),
                amount: d("10.00"),
            }],
            applied_on: day(2026, 3, 11),
        }),
        Event::ReminderSent(ReminderSent {
            invoice_ids: vec![inv("INV-1001"), inv("INV-1002")],
            channel: ReminderChannel::Letter,
            step: Some("first-reminder".into()),
            template: Some("polite-1".into()),
            sent_at: at,
        }),
        Event::CallLogged(CallLogged {
            invoice_ids: vec![inv("INV-1001")],
            outcome: "promised to pay".into(),
            step: Some("call".into()),
            called_at: at,
            notes: Some("spoke to Kari".into()),
        }),
        Event::SalesRepNotified(SalesRepNotified {
            invoice_ids: vec![inv("INV-1001")],
            sales_rep: "andrei".into(),
            step: Some("notify-rep".into()),
            notified_at: at,
        }),
        Event::PaymentPromised(PaymentPromised {
            promise_id: promise("PR-1"),
            amount: d("500.00"),
            promised_on: day(2026, 3, 20),
            invoice_ids: vec![inv("INV-1001")],
            made_on: day(2026, 3, 14),
            via: "phone".into(),
            made_at: Some(at),
        }),
        Event::PaymentPlanAgreed(PaymentPlanAgreed {
            plan_id: PlanId::parse("PLAN-1").unwrap(),
            installments: vec![
                Installment {
                    promise_id: promise("PR-2"),
                    amount: d("250.00"),
                    promised_on: day(2026, 4, 1),
                },
                Installment {
                    promise_id: promise("PR-3"),
                    amount: d("250.00"),
                    promised_on: day(2026, 5, 1),
                },
            ],
            agreed_on: day(2026, 3, 15),
        }),
        Event::PromiseKept(PromiseKept {
            promise_id: promise("PR-1"),
            kept_on: day(2026, 3, 19),
        }),
        Event::PromiseBroken(PromiseBroken {
            promise_id: promise("PR-2"),
            shortfall: d("250.00"),
            effective_on: day(2026, 4, 2),
        }),
        Event::AccountHeld(AccountHeld {
            reason: "broken promise".into(),
            rule: Some("hold-after-broken-promise".into()),
            manual: false,
            effective_on: day(2026, 4, 2),
        }),
        Event::AccountReleased(AccountReleased {
            reason: "paid in full".into(),
            manual: true,
            effective_on: day(2026, 4, 20),
        }),
        Event::CashOnlyImposed(CashOnlyImposed {
            reason: "broken promise".into(),
            effective_on: day(2026, 4, 2),
        }),
        Event::CashOnlyLifted(CashOnlyLifted {
            effective_on: day(2026, 4, 20),
        }),
        Event::Escalated(Escalated {
            invoice_ids: vec![inv("INV-1001")],
            to: EscalationTarget::CollectionAgency,
            escalated_on: day(2026, 6, 1),
            notes: Some("agency ref 42".into()),
        }),
        Event::PolicyAdopted(PolicyAdopted {
            version: 3,
            name: "default".into(),
            document: "[aging]\nbuckets = [0, 30, 60, 90]\n".into(),
        }),
        Event::LateFeeReversed(LateFeeReversed {
            invoice_id: InvoiceId::parse("INV-2026-0001").unwrap(),
            period: 1,
            amount: d("15.00"),
            unapplied: d("15.00"),
            unapplied_on: Some(day(2026, 4, 10)),
            reason: "invoice INV-2026-0001 disputed 2026-04-01".into(),
            reverses: 1_234,
        }),
        Event::PromiseReinstated(PromiseReinstated {
            promise_id: PromiseId::parse("PR-7").unwrap(),
            reason: "payment PAY-9 received 2026-04-06".into(),
            reverses: 987,
            effective_on: day(2026, 4, 8),
        }),
    ]
}
