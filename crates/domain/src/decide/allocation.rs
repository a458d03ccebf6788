//! Allocation: which invoices a payment's money lands on — oldest first with the early-payment
//! discount, or as given and checked. Never records anything; payments and cash call it.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::{find_invoice, ALLOCATIONS_PER_PAYMENT_MAX};
use crate::account::Account;
use crate::command::AllocationRequest;
use crate::error::DomainError;
use crate::event::Allocation;
use crate::money::{check_positive, percent_of, Currency};

/// Oldest first — by due date, then issue date, then id — disputed invoices included, with the
/// early-payment discount settling an invoice when the money covers the rest (SPEC §4).
pub fn allocate_oldest_first(
    account: &Account,
    amount: Decimal,
    received_on: NaiveDate,
) -> Vec<Allocation> {
    let mut candidates: Vec<_> = account
        .invoices
        .iter()
        .filter(|i| i.issued_on <= received_on)
        .collect();
    candidates.sort_by(|a, b| {
        (a.due_on, a.issued_on, a.id.as_str().as_bytes()).cmp(&(
            b.due_on,
            b.issued_on,
            b.id.as_str().as_bytes(),
        ))
    });
    let mut money = amount;
    let mut allocations = Vec::new();
    for invoice in candidates {
        if money <= Decimal::ZERO {
            break;
        }
        let available = invoice.available_on(received_on);
        if available <= Decimal::ZERO {
            continue;
        }
        let discount = discount_for(&account.currency, invoice, received_on).min(available);
        if discount > Decimal::ZERO && money >= available.saturating_sub(discount) {
            allocations.push(Allocation {
                invoice_id: invoice.id.clone(),
                amount: available.saturating_sub(discount),
                discount,
            });
            money = money.saturating_sub(available.saturating_sub(discount));
        } else {
            let take = money.min(available);
            allocations.push(Allocation {
                invoice_id: invoice.id.clone(),
                amount: take,
                discount: Decimal::ZERO,
            });
            money = money.saturating_sub(take);
        }
    }
    allocations
}

/// The full early-payment discount if `received_on ≤ issued_on + discount_days` (strict: one
/// day late, no discount — seed 002).
fn discount_for(
    currency: &Currency,
    invoice: &crate::invoice::Invoice,
    received_on: NaiveDate,
) -> Decimal {
    let Some(crate::invoice::Discount { percent, days }) = invoice.discount() else {
        return Decimal::ZERO;
    };
    let last_day = invoice
        .issued_on
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    if received_on > last_day {
        return Decimal::ZERO;
    }
    percent_of(currency, percent, invoice.amount())
}

/// Checks explicit allocations: known invoices issued by `on`, positive, no invoice twice,
/// each within what is available on it.
pub(super) fn check_allocations(
    account: &Account,
    requests: &[AllocationRequest],
    on: NaiveDate,
) -> Result<Vec<Allocation>, DomainError> {
    if requests.len() > ALLOCATIONS_PER_PAYMENT_MAX {
        return Err(DomainError::invalid(
            "allocations",
            requests.len(),
            &format!("at most {ALLOCATIONS_PER_PAYMENT_MAX} allocations"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let invoice = find_invoice(account, &r.invoice_id)?;
        if !seen.insert(&r.invoice_id) {
            return Err(DomainError::invalid(
                "allocations.invoice_id",
                &r.invoice_id,
                "names the same invoice twice",
            ));
        }
        check_positive(&account.currency, "allocations.amount", r.amount)?;
        if invoice.issued_on > on {
            return Err(DomainError::invalid(
                "allocations.invoice_id",
                &r.invoice_id,
                &format!(
                    "the invoice is issued on {}, after the money arrives on {on}",
                    invoice.issued_on
                ),
            ));
        }
        let available = invoice.available_on(on);
        if r.amount > available {
            return Err(DomainError::AllocationExceedsAvailable {
                invoice_id: r.invoice_id.to_string(),
                available,
                requested: r.amount,
            });
        }
        out.push(Allocation {
            invoice_id: r.invoice_id.clone(),
            amount: r.amount,
            discount: Decimal::ZERO,
        });
    }
    Ok(out)
}
