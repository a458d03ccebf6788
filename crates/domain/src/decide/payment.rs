//! Payments: record one (allocated as given or oldest first), reverse one, and put unapplied cash
//! on invoices. Never the allocation rule itself (that, with the discount, is [`super::allocation`]).

use super::allocation::{allocate_oldest_first, check_allocations};
use super::{check_text, not_before, with_follow_ups};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::money::check_positive;

pub(super) fn record_payment(
    account: &Account,
    c: &RecordPayment,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    if account.payment(&c.payment_id).is_some() {
        return Err(DomainError::duplicate("payment_id", &c.payment_id));
    }
    check_positive(&account.currency, "amount", c.amount)?;
    not_before(
        "received_on",
        c.received_on,
        "the account's opened_on",
        account.opened_on,
    )?;
    check_text("method", &c.method, true)?;
    let allocations = match &c.allocations {
        Some(requests) => {
            let allocations = check_allocations(account, requests, c.received_on)?;
            let allocated = crate::money::sum(allocations.iter().map(|a| a.amount));
            if allocated > c.amount {
                return Err(DomainError::AllocationsExceedPayment {
                    allocated,
                    amount: c.amount,
                });
            }
            allocations
        }
        None => allocate_oldest_first(account, c.amount, c.received_on),
    };
    let allocated = crate::money::sum(allocations.iter().map(|a| a.amount));
    let primary = vec![PaymentReceived {
        payment_id: c.payment_id.clone(),
        amount: c.amount,
        received_on: c.received_on,
        method: c.method.clone(),
        allocations,
        unapplied: c.amount.saturating_sub(allocated),
    }
    .into()];
    Ok(with_follow_ups(account, primary, c.received_on, ctx))
}

pub(super) fn reverse_payment(
    account: &Account,
    c: &ReversePayment,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let payment = account
        .payment(&c.payment_id)
        .ok_or_else(|| DomainError::not_found("payment_id", &c.payment_id))?;
    let reversed_on = c.reversed_on.unwrap_or(ctx.today);
    check_text("reason", &c.reason, false)?;
    not_before(
        "reversed_on",
        reversed_on,
        "received_on",
        payment.received_on,
    )?;
    if payment.reversed_on.is_some() {
        return Err(DomainError::invalid_state(
            "payment_id",
            &c.payment_id,
            "the payment is already reversed",
        ));
    }
    let pool = account.unapplied_available_on(reversed_on);
    if pool < payment.unapplied() {
        return Err(DomainError::invalid_state(
            "payment_id",
            &c.payment_id,
            &format!(
                "its unapplied {} was already put on invoices ({} of unapplied cash \
                 remains); reverse those applications with credit notes first",
                payment.unapplied(),
                pool
            ),
        ));
    }
    Ok(vec![PaymentReversed {
        payment_id: c.payment_id.clone(),
        reversed_on,
        reason: c.reason.clone(),
    }
    .into()])
}

pub(super) fn apply_unapplied_cash(
    account: &Account,
    c: &ApplyUnappliedCash,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let applied_on = c.applied_on.unwrap_or(ctx.today);
    if c.allocations.is_empty() {
        return Err(DomainError::invalid(
            "allocations",
            "[]",
            "must not be empty",
        ));
    }
    let requests: Vec<AllocationRequest> = c
        .allocations
        .iter()
        .map(|a| AllocationRequest {
            invoice_id: a.invoice_id.clone(),
            amount: a.amount,
        })
        .collect();
    let allocations = check_allocations(account, &requests, applied_on)?;
    let total = crate::money::sum(allocations.iter().map(|a| a.amount));
    let available = account.unapplied_available_on(applied_on);
    if total > available {
        return Err(DomainError::ExceedsUnappliedCash {
            available,
            requested: total,
        });
    }
    let primary = vec![UnappliedCashApplied {
        allocations: c.allocations.clone(),
        applied_on,
    }
    .into()];
    Ok(with_follow_ups(account, primary, applied_on, ctx))
}
