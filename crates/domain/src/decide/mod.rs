//! Decides what a command means for an account (SPEC §4): here the dispatch, the named limits and
//! the checks every concept shares; one file per concept beside it. Pure: no I/O, no clock.
//!
//! Time and policy come in the context; the answer is the events to record, or a named rejection
//! that changes nothing.

mod account;
mod allocation;
mod contact;
mod hold;
mod invoice;
mod payment;
mod promise;

use chrono::NaiveDate;

use crate::account::{evolve, Account};
use crate::bounds::check_dates;
use crate::command::Command;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::Event;
use crate::id::InvoiceId;
use crate::scale::at_scale;

pub use self::account::is_language_tag;
pub use self::allocation::allocate_oldest_first;
pub use self::promise::promises_kept;

/// Most allocations one payment (or one application of unapplied cash) may carry.
pub const ALLOCATIONS_PER_PAYMENT_MAX: usize = 1_000;
/// Most invoices one contact, promise or escalation may name.
pub const INVOICES_PER_CONTACT_MAX: usize = 1_000;
/// Most installments in one payment plan.
pub const PLAN_INSTALLMENTS_MAX: usize = 120;
/// Longest free text (names, reasons, notes), in bytes.
pub const TEXT_LEN_MAX: usize = 2_000;
/// Most e-mail addresses or phone numbers on an account.
pub const CONTACT_ENTRIES_MAX: usize = 32;
/// Longest net or discount period, in days.
pub const TERMS_DAYS_MAX: u32 = 3_650;
/// How far in the future a contact may be recorded (SPEC §4).
pub const CONTACT_FUTURE_HOURS_MAX: i64 = 24;

/// The reason recorded on holds and cash-only status caused by a broken promise.
pub const BROKEN_PROMISE: &str = "broken_promise";

/// Decides a command against the account's state (`None`: no such account yet).
///
/// The dates the command gives are checked against the bounds of SPEC §2 first
/// ([`crate::bounds`]); every amount of the events decided is written at the currency's minor
/// units ([`crate::scale`]), so `"3000"` is recorded as `3000.00`.
pub fn decide(
    state: Option<&Account>,
    command: &Command,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    check_dates(command, ctx)?;
    let events = decide_command(state, command, ctx)?;
    let currency = match (state, events.first()) {
        (Some(account), _) => account.currency.clone(),
        (None, Some(Event::AccountOpened(opened))) => opened.currency.clone(),
        (None, _) => return Ok(events),
    };
    Ok(events
        .into_iter()
        .map(|event| at_scale(&currency, event))
        .collect())
}

/// One call per command; the rules live in the concept's file.
fn decide_command(
    state: Option<&Account>,
    command: &Command,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    if let Command::OpenAccount(c) = command {
        if state.is_some() {
            return Err(DomainError::duplicate("customer_id", &c.customer_id));
        }
        return account::open_account(c);
    }
    let account =
        state.ok_or_else(|| DomainError::not_found("customer_id", command.customer_id()))?;
    match command {
        Command::OpenAccount(_) => Ok(Vec::new()),
        Command::ChangeCreditLimit(c) => account::change_credit_limit(account, c),
        Command::ChangeTerms(c) => account::change_terms(c),
        Command::UpdateContactDetails(c) => account::update_contact_details(c),
        Command::VerifyContactDetails(c) => account::verify_contact_details(c, ctx),
        Command::AssignSalesRep(c) => account::assign_sales_rep(c),
        Command::IssueInvoice(c) => invoice::issue_invoice(account, c),
        Command::ConfirmDelivery(c) => invoice::confirm_delivery(account, c, ctx),
        Command::RaiseDispute(c) => invoice::raise_dispute(account, c, ctx),
        Command::ResolveDispute(c) => invoice::resolve_dispute(account, c, ctx),
        Command::IssueCreditNote(c) => invoice::issue_credit_note(account, c, ctx),
        Command::WriteOffInvoice(c) => invoice::write_off_invoice(account, c, ctx),
        Command::RecordPayment(c) => payment::record_payment(account, c, ctx),
        Command::ReversePayment(c) => payment::reverse_payment(account, c, ctx),
        Command::ApplyUnappliedCash(c) => payment::apply_unapplied_cash(account, c, ctx),
        Command::RecordReminder(c) => contact::record_reminder(account, c, ctx),
        Command::RecordReminderFailure(c) => contact::record_reminder_failure(account, c, ctx),
        Command::LogCall(c) => contact::log_call(account, c, ctx),
        Command::NotifySalesRep(c) => contact::notify_sales_rep(account, c, ctx),
        Command::RecordPromise(c) => promise::record_promise(account, c, ctx),
        Command::AgreePaymentPlan(c) => promise::agree_payment_plan(account, c, ctx),
        Command::HoldAccount(c) => hold::hold_account(account, c, ctx),
        Command::ReleaseAccount(c) => hold::release_account(account, c, ctx),
        Command::Escalate(c) => hold::escalate(account, c, ctx),
    }
}

/// Adds what follows from a command that moves money or promises: promises it keeps, and the
/// end of cash-only status (and of a broken-promise hold) once the account is paid in full.
fn with_follow_ups(
    account: &Account,
    mut events: Vec<Event>,
    business_date: NaiveDate,
    ctx: &Context,
) -> Vec<Event> {
    let mut after = Some(account.clone());
    for e in &events {
        evolve(&mut after, e);
    }
    let Some(after) = after else {
        return events;
    };

    events.extend(promises_kept(&after, ctx.policy, business_date));
    // The end of cash-only status and of a broken-promise hold once nothing is owed is the
    // clock's (SPEC §5 reconciliation): `crate::reconcile::execute` adds it with the command.
    events
}

// ---- Checks every concept shares -------------------------------------------------------------

fn find_invoice<'a>(
    account: &'a Account,
    id: &InvoiceId,
) -> Result<&'a crate::invoice::Invoice, DomainError> {
    account
        .invoice(id)
        .ok_or_else(|| DomainError::not_found("invoice_id", id))
}

fn check_invoice_ids(account: &Account, ids: &[InvoiceId]) -> Result<(), DomainError> {
    if ids.len() > INVOICES_PER_CONTACT_MAX {
        return Err(DomainError::invalid(
            "invoice_ids",
            ids.len(),
            &format!("at most {INVOICES_PER_CONTACT_MAX} invoices"),
        ));
    }
    for id in ids {
        if account.invoice(id).is_none() {
            return Err(DomainError::not_found("invoice_ids", id));
        }
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, required: bool) -> Result<(), DomainError> {
    if required && value.trim().is_empty() {
        return Err(DomainError::invalid(field, value, "must not be empty"));
    }
    if value.len() > TEXT_LEN_MAX {
        return Err(DomainError::invalid(
            field,
            format!("{}…", value.chars().take(40).collect::<String>()),
            &format!("is longer than {TEXT_LEN_MAX} bytes"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(DomainError::invalid(
            field,
            value.escape_debug(),
            "contains control characters",
        ));
    }
    Ok(())
}

fn check_optional_text(field: &'static str, value: &Option<String>) -> Result<(), DomainError> {
    match value {
        Some(v) => check_text(field, v, false),
        None => Ok(()),
    }
}

fn not_before(
    field: &'static str,
    date: NaiveDate,
    other: &str,
    other_date: NaiveDate,
) -> Result<(), DomainError> {
    if date < other_date {
        return Err(DomainError::invalid(
            field,
            date,
            &format!("must not be before {other} ({other_date})"),
        ));
    }
    Ok(())
}
