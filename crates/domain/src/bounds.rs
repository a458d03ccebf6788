//! The dates a command may carry (SPEC §2 "dates the ledger accepts"): no fact after the
//! ledger's today, an invoice at most 31 days ahead, due and promise dates within ten years, and
//! every date within the years 0001–9999 so that no answer ever shows another year.
//!
//! Checked before the command's own rules, on the dates the client gave (a date left out
//! defaults to today, which is always in bounds). Each rejection is `VALIDATION` naming the field
//! and the bound, and appends nothing. Today comes from the context: the domain reads no clock.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use crate::command::Command;
use crate::context::Context;
use crate::error::DomainError;

/// How far ahead of today an invoice may be issued (SPEC §2).
pub const INVOICE_AHEAD_DAYS_MAX: u64 = 31;
/// How far ahead of today an account may be opened: as far as its first invoice may be issued.
pub const OPENING_AHEAD_DAYS_MAX: u64 = INVOICE_AHEAD_DAYS_MAX;
/// Longest span from `issued_on` to `due_on` (SPEC §2).
pub const DUE_AFTER_ISSUE_DAYS_MAX: u64 = 3_660;
/// Longest span from the day a promise is made to the day it promises (SPEC §2).
pub const PROMISE_AHEAD_DAYS_MAX: u64 = 3_660;
/// The years a date may have (SPEC §2: no answer shows a year outside 0001–9999).
pub const YEAR_MIN: i32 = 1;
pub const YEAR_MAX: i32 = 9_999;

/// Checks every date the command gives against the bounds of SPEC §2.
pub fn check_dates(command: &Command, ctx: &Context) -> Result<(), DomainError> {
    let today = ctx.today;
    let past = |field: &'static str, date: Option<NaiveDate>| match date {
        Some(date) => not_after_today(field, date, today),
        None => Ok(()),
    };
    match command {
        Command::OpenAccount(c) => not_after(
            "opened_on",
            c.opened_on,
            today,
            OPENING_AHEAD_DAYS_MAX,
            "today",
        ),
        Command::VerifyContactDetails(c) => past("verified_on", c.verified_on),
        Command::IssueInvoice(c) => {
            not_after(
                "issued_on",
                c.issued_on,
                today,
                INVOICE_AHEAD_DAYS_MAX,
                "today",
            )?;
            match c.due_on {
                Some(due_on) => not_after(
                    "due_on",
                    due_on,
                    c.issued_on,
                    DUE_AFTER_ISSUE_DAYS_MAX,
                    "issued_on",
                ),
                None => Ok(()),
            }
        }
        Command::ConfirmDelivery(c) => past("confirmed_on", c.confirmed_on),
        Command::RaiseDispute(c) => past("disputed_on", c.disputed_on),
        Command::ResolveDispute(c) => past("resolved_on", c.resolved_on),
        Command::IssueCreditNote(c) => past("issued_on", Some(c.issued_on)),
        Command::WriteOffInvoice(c) => past("written_off_on", c.written_off_on),
        Command::RecordPayment(c) => past("received_on", Some(c.received_on)),
        Command::ReversePayment(c) => past("reversed_on", c.reversed_on),
        Command::ApplyUnappliedCash(c) => past("applied_on", c.applied_on),
        Command::RecordReminder(c) => instant_not_after_today("sent_at", c.sent_at, today),
        Command::LogCall(c) => instant_not_after_today("called_at", c.called_at, today),
        Command::NotifySalesRep(c) => instant_not_after_today("notified_at", c.notified_at, today),
        Command::RecordPromise(c) => {
            past("made_on", c.made_on)?;
            instant_not_after_today("made_at", c.made_at, today)?;
            not_after(
                "promised_on",
                c.promised_on,
                c.made_on
                    .or(c.made_at.map(|at| at.date_naive()))
                    .unwrap_or(today),
                PROMISE_AHEAD_DAYS_MAX,
                "made_on",
            )
        }
        Command::AgreePaymentPlan(c) => {
            past("agreed_on", c.agreed_on)?;
            let agreed_on = c.agreed_on.unwrap_or(today);
            for i in &c.installments {
                not_after(
                    "installments.promised_on",
                    i.promised_on,
                    agreed_on,
                    PROMISE_AHEAD_DAYS_MAX,
                    "agreed_on",
                )?;
            }
            Ok(())
        }
        Command::HoldAccount(c) => past("effective_on", c.effective_on),
        Command::ReleaseAccount(c) => past("effective_on", c.effective_on),
        Command::Escalate(c) => past("escalated_on", c.escalated_on),
        Command::ChangeCreditLimit(_)
        | Command::ChangeTerms(_)
        | Command::UpdateContactDetails(_)
        | Command::AssignSalesRep(_) => Ok(()),
    }
}

/// The date is within the years 0001–9999.
pub fn check_year(field: &'static str, date: NaiveDate) -> Result<(), DomainError> {
    if date.year() < YEAR_MIN || date.year() > YEAR_MAX {
        return Err(DomainError::invalid(
            field,
            date,
            &format!("must be in the years {YEAR_MIN:04} to {YEAR_MAX}"),
        ));
    }
    Ok(())
}

/// A fact happened on or before today (SPEC §2).
fn not_after_today(
    field: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    check_year(field, date)?;
    if date > today {
        return Err(DomainError::invalid(
            field,
            date,
            &format!("must not be after today ({today})"),
        ));
    }
    Ok(())
}

/// A contact's instant falls on or before today. The domain knows no time zone, so the instant's
/// date is its UTC date (decision 0015).
fn instant_not_after_today(
    field: &'static str,
    at: Option<DateTime<Utc>>,
    today: NaiveDate,
) -> Result<(), DomainError> {
    let Some(at) = at else { return Ok(()) };
    if at.date_naive() > today {
        return Err(DomainError::invalid(
            field,
            at.to_rfc3339(),
            &format!("must not be after today ({today})"),
        ));
    }
    check_year(field, at.date_naive())
}

/// `date ≤ base + days_max`, within the years 0001–9999.
fn not_after(
    field: &'static str,
    date: NaiveDate,
    base: NaiveDate,
    days_max: u64,
    base_name: &str,
) -> Result<(), DomainError> {
    check_year(field, date)?;
    let last = base
        .checked_add_days(Days::new(days_max))
        .unwrap_or(NaiveDate::MAX);
    if date > last {
        return Err(DomainError::invalid(
            field,
            date,
            &format!(
                "must be at most {days_max} days after {base_name} ({base}), on or before {last}"
            ),
        ));
    }
    Ok(())
}
