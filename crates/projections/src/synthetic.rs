//! The synthetic history every performance measurement uses (`dunlog bench`, the criterion
//! benches, the `ledger_memory` example), so their figures describe the same ledger: each
//! account opens, invoices are issued every few days, and payments settle the oldest open
//! invoice in full, about a tenth of the invoices left open.

use std::collections::VecDeque;

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::event::{
    AccountOpened, Allocation, Contacts, Event, InvoiceIssued, PaymentReceived, Terms,
};
use domain::{Currency, CustomerId, DomainError, InvoiceId, PaymentId};
use rust_decimal::Decimal;

use crate::ledger::EventMeta;

fn terms() -> Terms {
    Terms {
        net_days: 30,
        discount_percent: None,
        discount_days: None,
    }
}

/// The customer of account number `a`.
pub fn customer(a: u64) -> Result<CustomerId, DomainError> {
    CustomerId::parse(&format!("C{a:06}"))
}

/// `customer`'s account opening on `opened_on`: EUR, a 50,000.00 limit, net 30.
pub fn account_opened(customer: &CustomerId, opened_on: NaiveDate) -> Result<Event, DomainError> {
    Ok(AccountOpened {
        customer_id: customer.clone(),
        name: format!("Customer {customer}"),
        currency: Currency::parse("EUR")?,
        credit_limit: Decimal::new(5_000_000, 2),
        terms: terms(),
        opened_on,
        contacts: Contacts::default(),
        sales_rep: Some("rep-1".to_owned()),
    }
    .into())
}

/// The events of account number `a`: `per_account` of them (at least 2), opened on `start`.
pub fn account_history(
    a: u64,
    per_account: u64,
    start: NaiveDate,
) -> Result<Vec<Event>, DomainError> {
    let per_account = per_account.max(2);
    let customer = customer(a)?;
    let mut history = vec![account_opened(&customer, start)?];
    let mut open: VecDeque<(InvoiceId, Decimal)> = VecDeque::new();
    let mut day = start;
    let mut i = 0u64;
    while (history.len() as u64) < per_account {
        day = day + Days::new(1 + (i % 3));
        i += 1;
        // Nine invoices for every eight payments: about a tenth of the invoices stay open.
        if open.len() < 2 || i % 17 < 9 {
            let id = InvoiceId::parse(&format!("INV-{i}"))?;
            let amount = Decimal::new(10_000 + ((a * 7919 + i * 104_729) % 900_000) as i64, 2);
            open.push_back((id.clone(), amount));
            history.push(
                InvoiceIssued {
                    invoice_id: id,
                    amount,
                    issued_on: day,
                    due_on: day + Days::new(30),
                    terms: terms(),
                    reference: None,
                    override_reason: None,
                }
                .into(),
            );
        } else if let Some((id, amount)) = open.pop_front() {
            history.push(
                PaymentReceived {
                    payment_id: PaymentId::parse(&format!("PAY-{i}"))?,
                    amount,
                    received_on: day,
                    method: "transfer".to_owned(),
                    allocations: vec![Allocation {
                        invoice_id: id,
                        amount,
                        discount: Decimal::ZERO,
                    }],
                    unapplied: Decimal::ZERO,
                }
                .into(),
            );
        }
    }
    Ok(history)
}

/// Account number `a`'s events with their envelopes, as if recorded at `recorded_at` right
/// after position `after`: what replaying them from a log would hand to `Ledger::apply`.
pub fn account_log(
    a: u64,
    per_account: u64,
    start: NaiveDate,
    after: u64,
    recorded_at: DateTime<Utc>,
) -> Result<Vec<(EventMeta, Event)>, DomainError> {
    let stream = customer(a)?.stream();
    Ok(account_history(a, per_account, start)?
        .into_iter()
        .zip(1u64..)
        .map(|(event, version)| {
            let meta = EventMeta {
                position: after + version,
                stream: stream.clone(),
                version,
                occurred_at: recorded_at,
                recorded_at,
                actor: "bench".to_owned(),
            };
            (meta, event)
        })
        .collect())
}
