//! A person's holds on an account: hold it, release it, escalate its invoices. Never an automatic
//! hold or release: those are the clock's and reconciliation's (`crate::clock`, `crate::reconcile`).

use super::{check_invoice_ids, check_optional_text, check_text};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;

pub(super) fn hold_account(
    account: &Account,
    c: &HoldAccount,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let effective_on = c.effective_on.unwrap_or(ctx.today);
    check_text("reason", &c.reason, false)?;
    if account.hold_on(effective_on).is_some() {
        return Err(DomainError::invalid_state(
            "customer_id",
            &c.customer_id,
            "the account is already held on effective_on",
        ));
    }
    // A later hold or release would supersede this hold, and a later automatic release
    // would end a manual hold, which only a manual release may do (SPEC §5).
    if let Some(later) = account
        .holds
        .iter()
        .map(|h| h.effective_on)
        .filter(|on| *on > effective_on)
        .max()
    {
        return Err(DomainError::invalid_state(
            "effective_on",
            effective_on,
            &format!(
                "the account's hold status already changes on {later}; hold from that \
                 date or later"
            ),
        ));
    }
    Ok(vec![AccountHeld {
        reason: non_empty_or(&c.reason, "manual"),
        rule: None,
        manual: true,
        effective_on,
    }
    .into()])
}

pub(super) fn release_account(
    account: &Account,
    c: &ReleaseAccount,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let effective_on = c.effective_on.unwrap_or(ctx.today);
    check_text("reason", &c.reason, false)?;
    if account.hold_on(effective_on).is_none() {
        return Err(DomainError::invalid_state(
            "customer_id",
            &c.customer_id,
            "the account is not held on effective_on",
        ));
    }
    Ok(vec![AccountReleased {
        reason: non_empty_or(&c.reason, "manual"),
        manual: true,
        effective_on,
    }
    .into()])
}

pub(super) fn escalate(
    account: &Account,
    c: &Escalate,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    check_invoice_ids(account, &c.invoice_ids)?;
    check_optional_text("notes", &c.notes)?;
    Ok(vec![Escalated {
        invoice_ids: c.invoice_ids.clone(),
        to: c.to,
        escalated_on: c.escalated_on.unwrap_or(ctx.today),
        notes: c.notes.clone(),
    }
    .into()])
}

fn non_empty_or(value: &str, default: &str) -> String {
    if value.trim().is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}
