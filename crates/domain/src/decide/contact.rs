//! Contacts with the customer: reminders sent or failed, calls, sales reps notified, and when a
//! contact may be dated. Never sends anything: delivery happens outside the domain.

use chrono::{DateTime, Duration, Utc};

use super::{check_invoice_ids, check_optional_text, check_text, CONTACT_FUTURE_HOURS_MAX};
use crate::account::Account;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::id::InvoiceId;

pub(super) fn record_reminder(
    account: &Account,
    c: &RecordReminder,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let sent_at = contact_time("sent_at", c.sent_at, ctx)?;
    check_contact(account, &c.invoice_ids, &c.step, ctx)?;
    check_optional_text("template", &c.template)?;
    if let Some(d) = &c.delivery {
        check_text("delivery.message_id", &d.message_id, true)?;
        check_text("delivery.to", &d.to, true)?;
        check_text("delivery.language", &d.language, true)?;
        check_text("delivery.content_sha256", &d.content_sha256, true)?;
    }
    let delivery = c.delivery.as_ref();
    Ok(vec![ReminderSent {
        invoice_ids: c.invoice_ids.clone(),
        channel: c.channel,
        step: c.step.clone(),
        template: c.template.clone(),
        sent_at,
        message_id: delivery.map(|d| d.message_id.clone()),
        to: delivery.map(|d| d.to.clone()),
        language: delivery.map(|d| d.language.clone()),
        content_sha256: delivery.map(|d| d.content_sha256.clone()),
    }
    .into()])
}

pub(super) fn record_reminder_failure(
    account: &Account,
    c: &RecordReminderFailure,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let failed_at = contact_time("failed_at", c.failed_at, ctx)?;
    check_contact(account, &c.invoice_ids, &c.step, ctx)?;
    check_optional_text("to", &c.to)?;
    check_text("reason", &c.reason, true)?;
    Ok(vec![ReminderFailed {
        invoice_ids: c.invoice_ids.clone(),
        channel: c.channel,
        step: c.step.clone(),
        to: c.to.clone(),
        reason: c.reason.clone(),
        permanent: c.permanent,
        failed_at,
    }
    .into()])
}

pub(super) fn log_call(
    account: &Account,
    c: &LogCall,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let called_at = contact_time("called_at", c.called_at, ctx)?;
    check_contact(account, &c.invoice_ids, &c.step, ctx)?;
    check_text("outcome", &c.outcome, true)?;
    check_optional_text("notes", &c.notes)?;
    Ok(vec![CallLogged {
        invoice_ids: c.invoice_ids.clone(),
        outcome: c.outcome.clone(),
        step: c.step.clone(),
        called_at,
        notes: c.notes.clone(),
    }
    .into()])
}

pub(super) fn notify_sales_rep(
    account: &Account,
    c: &NotifySalesRep,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    let notified_at = contact_time("notified_at", c.notified_at, ctx)?;
    check_contact(account, &c.invoice_ids, &c.step, ctx)?;
    let sales_rep = c
        .sales_rep
        .clone()
        .or_else(|| account.sales_rep.clone())
        .ok_or_else(|| DomainError::invalid("sales_rep", "", "the account has no sales rep"))?;
    check_text("sales_rep", &sales_rep, true)?;
    Ok(vec![SalesRepNotified {
        invoice_ids: c.invoice_ids.clone(),
        sales_rep,
        step: c.step.clone(),
        notified_at,
    }
    .into()])
}

fn check_contact(
    account: &Account,
    invoice_ids: &[InvoiceId],
    step: &Option<String>,
    ctx: &Context,
) -> Result<(), DomainError> {
    check_invoice_ids(account, invoice_ids)?;
    if let Some(step) = step {
        if ctx.policy.step(step).is_none() {
            return Err(DomainError::invalid(
                "step",
                step,
                "is not a step of the policy's ladder",
            ));
        }
    }
    Ok(())
}

fn contact_time(
    field: &'static str,
    at: Option<DateTime<Utc>>,
    ctx: &Context,
) -> Result<DateTime<Utc>, DomainError> {
    let at = at.unwrap_or(ctx.now);
    if at > ctx.now + Duration::hours(CONTACT_FUTURE_HOURS_MAX) {
        return Err(DomainError::invalid(
            field,
            at.to_rfc3339(),
            &format!("is more than {CONTACT_FUTURE_HOURS_MAX} h in the future"),
        ));
    }
    Ok(at)
}
