//! An invoice's commands: issue it, confirm its delivery, raise and resolve disputes, credit notes
//! and write-offs. Never how payments are allocated (that is [`super::allocation`]).

use chrono::Days;
use rust_decimal::Decimal;

use super::account::check_terms;
use super::{check_optional_text, check_text, find_invoice, not_before, with_follow_ups};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::money::check_positive;

pub(super) fn issue_invoice(
    account: &Account,
    c: &IssueInvoice,
) -> Result<Vec<Event>, DomainError> {
    if account.invoice(&c.invoice_id).is_some() {
        return Err(DomainError::duplicate("invoice_id", &c.invoice_id));
    }
    check_positive(&account.currency, "amount", c.amount)?;
    // The clock walks from the opening; a fact before it would escape every rule.
    not_before(
        "issued_on",
        c.issued_on,
        "the account's opened_on",
        account.opened_on,
    )?;
    let terms = c.terms.clone().unwrap_or_else(|| account.terms.clone());
    check_terms(&terms)?;
    let due_on = match c.due_on {
        Some(d) => d,
        None => c
            .issued_on
            .checked_add_days(Days::new(u64::from(terms.net_days)))
            .ok_or_else(|| DomainError::invalid("issued_on", c.issued_on, "is out of range"))?,
    };
    not_before("due_on", due_on, "issued_on", c.issued_on)?;
    check_optional_text("reference", &c.reference)?;
    check_optional_text("override_reason", &c.override_reason)?;
    let overridden = c
        .override_reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if !overridden {
        if let Some(hold) = account.hold_on(c.issued_on) {
            return Err(DomainError::invalid_state(
                "customer_id",
                &account.customer_id,
                &format!(
                    "the account is held ({}) on issued_on; give override_reason to invoice anyway",
                    hold.reason
                ),
            ));
        }
        if account.cash_only_on(c.issued_on).is_some() {
            return Err(DomainError::invalid_state(
                "customer_id",
                &account.customer_id,
                "the account is cash only on issued_on; give override_reason to invoice anyway",
            ));
        }
    }
    Ok(vec![InvoiceIssued {
        invoice_id: c.invoice_id.clone(),
        amount: c.amount,
        issued_on: c.issued_on,
        due_on,
        terms,
        reference: c.reference.clone(),
        override_reason: c.override_reason.clone().filter(|_| overridden),
    }
    .into()])
}

pub(super) fn confirm_delivery(
    account: &Account,
    c: &ConfirmDelivery,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let invoice = find_invoice(account, &c.invoice_id)?;
    let confirmed_on = c.confirmed_on.unwrap_or(ctx.today);
    not_before("confirmed_on", confirmed_on, "issued_on", invoice.issued_on)?;
    check_text("channel", &c.channel, true)?;
    if invoice.extras().delivered_on.is_some() {
        return Err(DomainError::invalid_state(
            "invoice_id",
            &c.invoice_id,
            "delivery is already confirmed",
        ));
    }
    Ok(vec![InvoiceDelivered {
        invoice_id: c.invoice_id.clone(),
        channel: c.channel.clone(),
        confirmed_on,
    }
    .into()])
}

pub(super) fn raise_dispute(
    account: &Account,
    c: &RaiseDispute,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let invoice = find_invoice(account, &c.invoice_id)?;
    let disputed_on = c.disputed_on.unwrap_or(ctx.today);
    not_before("disputed_on", disputed_on, "issued_on", invoice.issued_on)?;
    check_text("reason", &c.reason, false)?;
    if invoice.in_dispute() {
        return Err(DomainError::invalid_state(
            "invoice_id",
            &c.invoice_id,
            "the invoice is already disputed",
        ));
    }
    if invoice.open_on(disputed_on) <= Decimal::ZERO {
        return Err(DomainError::invalid_state(
            "invoice_id",
            &c.invoice_id,
            "the invoice is not open on disputed_on",
        ));
    }
    Ok(vec![InvoiceDisputed {
        invoice_id: c.invoice_id.clone(),
        reason: c.reason.clone(),
        disputed_on,
    }
    .into()])
}

pub(super) fn resolve_dispute(
    account: &Account,
    c: &ResolveDispute,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let invoice = find_invoice(account, &c.invoice_id)?;
    let resolved_on = c.resolved_on.unwrap_or(ctx.today);
    check_text("outcome", &c.outcome, false)?;
    let dispute = invoice
        .extras()
        .disputes
        .last()
        .filter(|d| d.until.is_none())
        .ok_or_else(|| {
            DomainError::invalid_state("invoice_id", &c.invoice_id, "the invoice is not disputed")
        })?;
    not_before("resolved_on", resolved_on, "disputed_on", dispute.from)?;
    Ok(vec![DisputeResolved {
        invoice_id: c.invoice_id.clone(),
        outcome: c.outcome.clone(),
        resolved_on,
    }
    .into()])
}

pub(super) fn issue_credit_note(
    account: &Account,
    c: &IssueCreditNote,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    if account.credit_notes.contains(&c.credit_note_id) {
        return Err(DomainError::duplicate("credit_note_id", &c.credit_note_id));
    }
    let invoice = find_invoice(account, &c.invoice_id)?;
    check_positive(&account.currency, "amount", c.amount)?;
    check_text("reason", &c.reason, false)?;
    not_before(
        "issued_on",
        c.issued_on,
        "the invoice's issued_on",
        invoice.issued_on,
    )?;
    let available = invoice.available_on(c.issued_on);
    if c.amount > available {
        return Err(DomainError::AmountExceedsAvailable {
            invoice_id: c.invoice_id.to_string(),
            available,
            requested: c.amount,
        });
    }
    let primary = vec![CreditNoteIssued {
        credit_note_id: c.credit_note_id.clone(),
        invoice_id: c.invoice_id.clone(),
        amount: c.amount,
        reason: c.reason.clone(),
        issued_on: c.issued_on,
    }
    .into()];
    Ok(with_follow_ups(account, primary, c.issued_on, ctx))
}

pub(super) fn write_off_invoice(
    account: &Account,
    c: &WriteOffInvoice,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let invoice = find_invoice(account, &c.invoice_id)?;
    let written_off_on = c.written_off_on.unwrap_or(ctx.today);
    not_before(
        "written_off_on",
        written_off_on,
        "issued_on",
        invoice.issued_on,
    )?;
    check_text("reason", &c.reason, false)?;
    let amount = invoice.available_on(written_off_on);
    if amount <= Decimal::ZERO {
        return Err(DomainError::invalid_state(
            "invoice_id",
            &c.invoice_id,
            "nothing is open to write off on written_off_on",
        ));
    }
    let primary = vec![InvoiceWrittenOff {
        invoice_id: c.invoice_id.clone(),
        amount,
        written_off_on,
        reason: c.reason.clone(),
    }
    .into()];
    Ok(with_follow_ups(account, primary, written_off_on, ctx))
}
