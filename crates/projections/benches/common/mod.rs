//! A synthetic history for the benches, shaped like `dunlog bench`'s: accounts open, invoices
//! are issued every few days over a year, and payments settle the oldest invoice in full, so
//! about a tenth of the invoices stay open.

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::event::{
    AccountOpened, Allocation, Contacts, Event, InvoiceIssued, PaymentReceived, Terms,
};
use domain::{Currency, CustomerId, InvoiceId, PaymentId};
use projections::EventMeta;
use rust_decimal::Decimal;

/// The first business day of the history.
pub fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a valid date")
}

fn recorded_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid instant")
}

fn terms() -> Terms {
    Terms {
        net_days: 30,
        discount_percent: None,
        discount_days: None,
    }
}

/// `accounts` accounts of `per_account` events each, in position order.
pub fn history(accounts: u64, per_account: u64) -> Vec<(EventMeta, Event)> {
    let mut log = Vec::new();
    for a in 0..accounts {
        let customer = CustomerId::parse(&format!("C{a:06}")).expect("a valid id");
        let stream = customer.stream();
        let mut events: Vec<Event> = vec![AccountOpened {
            customer_id: customer.clone(),
            name: format!("Customer {customer}"),
            currency: Currency::parse("EUR").expect("a currency"),
            credit_limit: Decimal::new(5_000_000, 2),
            terms: terms(),
            opened_on: start(),
            contacts: Contacts::default(),
            sales_rep: Some("rep-1".to_owned()),
        }
        .into()];
        let mut open: std::collections::VecDeque<(InvoiceId, Decimal)> = Default::default();
        let mut day = start();
        let mut i = 0u64;
        while (events.len() as u64) < per_account {
            day = day + Days::new(1 + (i % 3));
            i += 1;
            if open.len() < 2 || i % 17 < 9 {
                let id = InvoiceId::parse(&format!("INV-{i}")).expect("a valid id");
                let cents = 10_000 + ((a * 7919 + i * 104_729) % 900_000) as i64;
                let amount = Decimal::new(cents, 2);
                open.push_back((id.clone(), amount));
                events.push(
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
                events.push(
                    PaymentReceived {
                        payment_id: PaymentId::parse(&format!("PAY-{i}")).expect("a valid id"),
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
        for (v, event) in events.into_iter().enumerate() {
            let meta = EventMeta {
                position: log.len() as u64 + 1,
                stream: stream.clone(),
                version: v as u64 + 1,
                occurred_at: recorded_at(),
                recorded_at: recorded_at(),
                actor: "bench".to_owned(),
            };
            log.push((meta, event));
        }
    }
    log
}
