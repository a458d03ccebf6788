//! Promises to pay: record one, agree a payment plan, and which promises the payments now keep.
//! Never breaks a promise: a broken promise is the clock's (`crate::clock`).

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::PLAN_INSTALLMENTS_MAX;
use super::{check_invoice_ids, check_text, find_invoice, not_before, with_follow_ups};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::money::check_positive;
use crate::promise::coverage;

pub(super) fn record_promise(
    account: &Account,
    c: &RecordPromise,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let today = ctx.today;
    if account.promise(&c.promise_id).is_some() {
        return Err(DomainError::duplicate("promise_id", &c.promise_id));
    }
    check_positive(&account.currency, "amount", c.amount)?;
    let made_on = c
        .made_on
        .or(c.made_at.map(|at| at.date_naive()))
        .unwrap_or(today);
    let made_at = match c.made_at {
        Some(at) if at.date_naive() != made_on => {
            return Err(DomainError::invalid(
                "made_at",
                at.to_rfc3339(),
                &format!("must fall on made_on ({made_on})"),
            ))
        }
        Some(at) => Some(at),
        // Made today: now. Back-dated without an instant: unknown.
        None => (made_on == today).then_some(ctx.now),
    };
    not_before("promised_on", c.promised_on, "made_on", made_on)?;
    check_text("via", &c.via, true)?;
    check_invoice_ids(account, &c.invoice_ids)?;
    for id in &c.invoice_ids {
        if find_invoice(account, id)?.open_on(NaiveDate::MAX) <= Decimal::ZERO {
            return Err(DomainError::invalid_state(
                "invoice_ids",
                id,
                "the invoice is not open",
            ));
        }
    }
    check_promise_owed(account, "amount", c.amount, made_on)?;
    let primary = vec![PaymentPromised {
        promise_id: c.promise_id.clone(),
        amount: c.amount,
        promised_on: c.promised_on,
        invoice_ids: c.invoice_ids.clone(),
        made_on,
        via: c.via.clone(),
        made_at,
    }
    .into()];
    Ok(with_follow_ups(account, primary, made_on, ctx))
}

pub(super) fn agree_payment_plan(
    account: &Account,
    c: &AgreePaymentPlan,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    if account.plans.contains(&c.plan_id) {
        return Err(DomainError::duplicate("plan_id", &c.plan_id));
    }
    let agreed_on = c.agreed_on.unwrap_or(ctx.today);
    if c.installments.is_empty() || c.installments.len() > PLAN_INSTALLMENTS_MAX {
        return Err(DomainError::invalid(
            "installments",
            c.installments.len(),
            &format!("a plan has 1 to {PLAN_INSTALLMENTS_MAX} installments"),
        ));
    }
    let mut ids = HashSet::new();
    let mut previous: Option<NaiveDate> = None;
    for i in &c.installments {
        if account.promise(&i.promise_id).is_some() || !ids.insert(&i.promise_id) {
            return Err(DomainError::duplicate(
                "installments.promise_id",
                &i.promise_id,
            ));
        }
        check_positive(&account.currency, "installments.amount", i.amount)?;
        not_before(
            "installments.promised_on",
            i.promised_on,
            "agreed_on",
            agreed_on,
        )?;
        if previous.is_some_and(|p| i.promised_on <= p) {
            return Err(DomainError::invalid(
                "installments.promised_on",
                i.promised_on,
                "installment dates must strictly increase",
            ));
        }
        previous = Some(i.promised_on);
    }
    let total = c
        .installments
        .iter()
        .fold(Decimal::ZERO, |sum, i| sum.saturating_add(i.amount));
    check_promise_owed(account, "installments.amount", total, agreed_on)?;
    let primary = vec![PaymentPlanAgreed {
        plan_id: c.plan_id.clone(),
        installments: c.installments.clone(),
        agreed_on,
    }
    .into()];
    Ok(with_follow_ups(account, primary, agreed_on, ctx))
}

/// A promise (or a plan, all its installments together) may not exceed what the account owes
/// on the day it is made (SPEC §2): its exposure then, open invoices less unapplied cash.
fn check_promise_owed(
    account: &Account,
    field: &'static str,
    amount: Decimal,
    made_on: NaiveDate,
) -> Result<(), DomainError> {
    let owed = account.exposure_on(made_on).max(Decimal::ZERO);
    if amount > owed {
        return Err(DomainError::invalid(
            field,
            amount,
            &format!(
                "must not exceed what the account owes on {made_on} ({})",
                account.currency.display(owed)
            ),
        ));
    }
    Ok(())
}

/// `PromiseKept` for each promise that payments now cover and that is neither kept nor broken
/// (a promise reinstated by reconciliation is then kept by the payment that reinstated it).
pub fn promises_kept(
    after: &Account,
    policy: &crate::policy::Policy,
    business_date: NaiveDate,
) -> Vec<Event> {
    let grace = policy.promises.grace_days;
    let cash = after.cash_in_on(NaiveDate::MAX);
    let covered = coverage(&after.promises, &cash, grace);
    let mut events = Vec::new();
    for (i, (promise, covered)) in after.promises.iter().zip(covered).enumerate() {
        if promise.kept_on.is_none() && promise.broken_on.is_none() && covered >= promise.amount {
            events.push(
                PromiseKept {
                    promise_id: promise.id.clone(),
                    kept_on: kept_on(after, &cash, i, grace).unwrap_or(business_date),
                }
                .into(),
            );
        }
    }
    events
}

/// The day the payments first covered promise `index`: the `received_on` of the payment that
/// completed it, never the day the promise was recorded (a promise made after the money arrived
/// is kept by money received on or after `made_on` only, SPEC §5).
fn kept_on(
    account: &Account,
    cash: &[crate::promise::CashIn],
    index: usize,
    grace: u32,
) -> Option<NaiveDate> {
    let promise = account.promises.get(index)?;
    let mut days: Vec<NaiveDate> = cash.iter().map(|c| c.received_on).collect();
    days.sort();
    days.dedup();
    days.into_iter().find(|&day| {
        let so_far: Vec<crate::promise::CashIn> = cash
            .iter()
            .filter(|c| c.received_on <= day)
            .map(|c| crate::promise::CashIn {
                received_on: c.received_on,
                amount: c.amount,
            })
            .collect();
        coverage(&account.promises, &so_far, grace)
            .get(index)
            .is_some_and(|covered| *covered >= promise.amount)
    })
}
