//! Decides what a command means for an account (SPEC §4). Pure: time and policy come in the
//! context; the answer is the events to record, or a named rejection that changes nothing.

use std::collections::HashSet;

use chrono::{Days, Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::account::{evolve, Account};
use crate::bounds::check_dates;
use crate::command::*;
use crate::context::Context;
use crate::error::DomainError;
use crate::event::*;
use crate::id::InvoiceId;
use crate::money::{check_positive, percent_of, Currency};
use crate::promise::coverage;
use crate::scale::at_scale;

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

fn decide_command(
    state: Option<&Account>,
    command: &Command,
    ctx: &Context,
) -> Result<Vec<Event>, DomainError> {
    if let Command::OpenAccount(c) = command {
        if state.is_some() {
            return Err(DomainError::duplicate("customer_id", &c.customer_id));
        }
        return open_account(c);
    }
    let account =
        state.ok_or_else(|| DomainError::not_found("customer_id", command.customer_id()))?;
    let today = ctx.today;
    match command {
        Command::OpenAccount(_) => Ok(Vec::new()),
        Command::ChangeCreditLimit(c) => {
            check_limit(&account.currency, "new_limit", c.new_limit)?;
            check_text("reason", &c.reason, false)?;
            Ok(vec![CreditLimitChanged {
                new_limit: c.new_limit,
                reason: c.reason.clone(),
            }
            .into()])
        }
        Command::ChangeTerms(c) => {
            check_terms(&c.terms)?;
            Ok(vec![TermsChanged {
                terms: c.terms.clone(),
            }
            .into()])
        }
        Command::UpdateContactDetails(c) => {
            check_contacts(&c.contacts)?;
            Ok(vec![ContactDetailsUpdated {
                contacts: c.contacts.clone(),
            }
            .into()])
        }
        Command::VerifyContactDetails(c) => {
            let by = c.by.clone().unwrap_or_else(|| ctx.actor.to_owned());
            check_text("by", &by, true)?;
            Ok(vec![ContactDetailsVerified {
                verified_on: c.verified_on.unwrap_or(today),
                by,
            }
            .into()])
        }
        Command::AssignSalesRep(c) => {
            check_text("sales_rep", &c.sales_rep, true)?;
            Ok(vec![SalesRepAssigned {
                sales_rep: c.sales_rep.clone(),
            }
            .into()])
        }
        Command::IssueInvoice(c) => issue_invoice(account, c),
        Command::ConfirmDelivery(c) => {
            let invoice = find_invoice(account, &c.invoice_id)?;
            let confirmed_on = c.confirmed_on.unwrap_or(today);
            not_before("confirmed_on", confirmed_on, "issued_on", invoice.issued_on)?;
            check_text("channel", &c.channel, true)?;
            if invoice.delivered_on.is_some() {
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
        Command::RaiseDispute(c) => {
            let invoice = find_invoice(account, &c.invoice_id)?;
            let disputed_on = c.disputed_on.unwrap_or(today);
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
        Command::ResolveDispute(c) => {
            let invoice = find_invoice(account, &c.invoice_id)?;
            let resolved_on = c.resolved_on.unwrap_or(today);
            check_text("outcome", &c.outcome, false)?;
            let dispute = invoice
                .disputes
                .last()
                .filter(|d| d.until.is_none())
                .ok_or_else(|| {
                    DomainError::invalid_state(
                        "invoice_id",
                        &c.invoice_id,
                        "the invoice is not disputed",
                    )
                })?;
            not_before("resolved_on", resolved_on, "disputed_on", dispute.from)?;
            Ok(vec![DisputeResolved {
                invoice_id: c.invoice_id.clone(),
                outcome: c.outcome.clone(),
                resolved_on,
            }
            .into()])
        }
        Command::IssueCreditNote(c) => {
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
        Command::WriteOffInvoice(c) => {
            let invoice = find_invoice(account, &c.invoice_id)?;
            let written_off_on = c.written_off_on.unwrap_or(today);
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
        Command::RecordPayment(c) => record_payment(account, c, ctx),
        Command::ReversePayment(c) => {
            let payment = account
                .payment(&c.payment_id)
                .ok_or_else(|| DomainError::not_found("payment_id", &c.payment_id))?;
            let reversed_on = c.reversed_on.unwrap_or(today);
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
            if pool < payment.unapplied {
                return Err(DomainError::invalid_state(
                    "payment_id",
                    &c.payment_id,
                    &format!(
                        "its unapplied {} was already put on invoices ({} of unapplied cash \
                         remains); reverse those applications with credit notes first",
                        payment.unapplied, pool
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
        Command::ApplyUnappliedCash(c) => {
            let applied_on = c.applied_on.unwrap_or(today);
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
        Command::RecordReminder(c) => {
            let sent_at = contact_time("sent_at", c.sent_at, ctx)?;
            check_contact(account, &c.invoice_ids, &c.step, ctx)?;
            check_optional_text("template", &c.template)?;
            Ok(vec![ReminderSent {
                invoice_ids: c.invoice_ids.clone(),
                channel: c.channel,
                step: c.step.clone(),
                template: c.template.clone(),
                sent_at,
            }
            .into()])
        }
        Command::LogCall(c) => {
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
        Command::NotifySalesRep(c) => {
            let notified_at = contact_time("notified_at", c.notified_at, ctx)?;
            check_contact(account, &c.invoice_ids, &c.step, ctx)?;
            let sales_rep = c
                .sales_rep
                .clone()
                .or_else(|| account.sales_rep.clone())
                .ok_or_else(|| {
                    DomainError::invalid("sales_rep", "", "the account has no sales rep")
                })?;
            check_text("sales_rep", &sales_rep, true)?;
            Ok(vec![SalesRepNotified {
                invoice_ids: c.invoice_ids.clone(),
                sales_rep,
                step: c.step.clone(),
                notified_at,
            }
            .into()])
        }
        Command::RecordPromise(c) => {
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
        Command::AgreePaymentPlan(c) => {
            if account.plans.contains(&c.plan_id) {
                return Err(DomainError::duplicate("plan_id", &c.plan_id));
            }
            let agreed_on = c.agreed_on.unwrap_or(today);
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
        Command::HoldAccount(c) => {
            let effective_on = c.effective_on.unwrap_or(today);
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
        Command::ReleaseAccount(c) => {
            let effective_on = c.effective_on.unwrap_or(today);
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
        Command::Escalate(c) => {
            check_invoice_ids(account, &c.invoice_ids)?;
            check_optional_text("notes", &c.notes)?;
            Ok(vec![Escalated {
                invoice_ids: c.invoice_ids.clone(),
                to: c.to,
                escalated_on: c.escalated_on.unwrap_or(today),
                notes: c.notes.clone(),
            }
            .into()])
        }
    }
}

fn open_account(c: &OpenAccount) -> Result<Vec<Event>, DomainError> {
    check_text("name", &c.name, true)?;
    let currency = Currency::parse_active("currency", &c.currency)?;
    check_limit(&currency, "credit_limit", c.credit_limit)?;
    check_terms(&c.terms)?;
    check_contacts(&c.contacts)?;
    check_optional_text("sales_rep", &c.sales_rep)?;
    Ok(vec![AccountOpened {
        customer_id: c.customer_id.clone(),
        name: c.name.trim().to_owned(),
        currency,
        credit_limit: c.credit_limit,
        terms: c.terms.clone(),
        opened_on: c.opened_on,
        contacts: c.contacts.clone(),
        sales_rep: c.sales_rep.clone(),
    }
    .into()])
}

fn issue_invoice(account: &Account, c: &IssueInvoice) -> Result<Vec<Event>, DomainError> {
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

fn record_payment(
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
    let (Some(percent), Some(days)) = (invoice.terms.discount_percent, invoice.terms.discount_days)
    else {
        return Decimal::ZERO;
    };
    let last_day = invoice
        .issued_on
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    if received_on > last_day {
        return Decimal::ZERO;
    }
    percent_of(currency, percent, invoice.amount)
}

/// Checks explicit allocations: known invoices issued by `on`, positive, no invoice twice,
/// each within what is available on it.
fn check_allocations(
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

// ---- Checks ----------------------------------------------------------------------------------

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
    at: Option<chrono::DateTime<chrono::Utc>>,
    ctx: &Context,
) -> Result<chrono::DateTime<chrono::Utc>, DomainError> {
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

fn check_limit(
    currency: &Currency,
    field: &'static str,
    limit: Decimal,
) -> Result<(), DomainError> {
    if limit < Decimal::ZERO {
        return Err(DomainError::invalid(field, limit, "must not be negative"));
    }
    currency.check_scale(field, limit)
}

fn check_terms(terms: &Terms) -> Result<(), DomainError> {
    if terms.net_days > TERMS_DAYS_MAX {
        return Err(DomainError::invalid(
            "terms.net_days",
            terms.net_days,
            &format!("must be at most {TERMS_DAYS_MAX}"),
        ));
    }
    match (terms.discount_percent, terms.discount_days) {
        (None, None) => Ok(()),
        (Some(p), Some(d)) => {
            if p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    "terms.discount_percent",
                    p,
                    "must be between 0 and 100, exclusive",
                ));
            }
            if d > TERMS_DAYS_MAX {
                return Err(DomainError::invalid(
                    "terms.discount_days",
                    d,
                    &format!("must be at most {TERMS_DAYS_MAX}"),
                ));
            }
            Ok(())
        }
        (Some(p), None) => Err(DomainError::invalid(
            "terms.discount_days",
            format!("none (discount_percent = {p})"),
            "a discount needs both discount_percent and discount_days",
        )),
        (None, Some(d)) => Err(DomainError::invalid(
            "terms.discount_percent",
            format!("none (discount_days = {d})"),
            "a discount needs both discount_percent and discount_days",
        )),
    }
}

fn check_contacts(contacts: &Contacts) -> Result<(), DomainError> {
    if contacts.emails.len() > CONTACT_ENTRIES_MAX {
        return Err(DomainError::invalid(
            "contacts.emails",
            contacts.emails.len(),
            &format!("at most {CONTACT_ENTRIES_MAX}"),
        ));
    }
    if contacts.phones.len() > CONTACT_ENTRIES_MAX {
        return Err(DomainError::invalid(
            "contacts.phones",
            contacts.phones.len(),
            &format!("at most {CONTACT_ENTRIES_MAX}"),
        ));
    }
    for email in &contacts.emails {
        check_text("contacts.emails", email, true)?;
        if !email.contains('@') {
            return Err(DomainError::invalid(
                "contacts.emails",
                email,
                "is not an e-mail address",
            ));
        }
    }
    for phone in &contacts.phones {
        check_text("contacts.phones", phone, true)?;
    }
    check_optional_text("contacts.postal_address", &contacts.postal_address)?;
    check_optional_text("contacts.billing_contact", &contacts.billing_contact)
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

fn non_empty_or(value: &str, default: &str) -> String {
    if value.trim().is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}
