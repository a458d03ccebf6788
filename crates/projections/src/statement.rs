//! The statement of account (SPEC §7): what a credit controller sends a customer for a period —
//! the opening balance, every dated movement in the period in date order with a running
//! balance, and the closing balance.
//!
//! It is computed on demand from the account's own stream (each movement needs its position and
//! its document's id, which the live account state does not keep), replayed through
//! `domain::evolve` so that the opening balance is the exposure as of the day before `from` by
//! the same as-of function every other read model uses. Each movement is dated on the business
//! date on which it moves the exposure, so the closing balance is the opening balance plus the
//! period's debits less its credits, and equals the exposure as of `to` (a test holds it for
//! every account of the demo).

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::event::Allocation;
use domain::{evolve, Account, Currency, CustomerId, Event, InvoiceId, PaymentId};
use rust_decimal::Decimal;
use serde::Serialize;

/// Most days one statement may span (a century): a bound on the work one query asks for.
pub const STATEMENT_DAYS_MAX: i64 = 36_600;

/// What moved the balance (SPEC §8 `StatementLine.kind`; the names are a contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatementKind {
    /// An invoice issued: a debit of its amount.
    Invoice,
    /// A late fee charged: a debit.
    LateFee,
    /// A late fee reversed by reconciliation: a credit on the fee's own date.
    FeeReversal,
    /// A credit note: a credit.
    CreditNote,
    /// Money received: a credit per invoice it was put on, and one for its unapplied part.
    Payment,
    /// The early-payment discount granted with a payment: a credit.
    Discount,
    /// A bounced payment: a debit for each credit the payment gave.
    Reversal,
    /// Unapplied cash put on an invoice: a debit taking it off the customer's credit, then a
    /// credit putting it on the invoice; the balance is the same after the pair.
    UnappliedApplied,
    /// An invoice written off: a credit.
    WriteOff,
}

impl StatementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementKind::Invoice => "INVOICE",
            StatementKind::LateFee => "LATE_FEE",
            StatementKind::FeeReversal => "FEE_REVERSAL",
            StatementKind::CreditNote => "CREDIT_NOTE",
            StatementKind::Payment => "PAYMENT",
            StatementKind::Discount => "DISCOUNT",
            StatementKind::Reversal => "REVERSAL",
            StatementKind::UnappliedApplied => "UNAPPLIED_APPLIED",
            StatementKind::WriteOff => "WRITE_OFF",
        }
    }
}

/// One movement; exactly one of `debit` and `credit` is non-zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub date: NaiveDate,
    pub kind: StatementKind,
    /// The document: invoice, credit note or payment id (`fee 2` for a late fee's period).
    pub reference: String,
    /// The invoice the movement is on; none for money not on an invoice (unapplied cash).
    pub invoice_id: Option<InvoiceId>,
    pub debit: Decimal,
    pub credit: Decimal,
    /// The balance after this line.
    pub balance: Decimal,
    /// The log position of the event that recorded the movement.
    pub position: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub customer_id: CustomerId,
    pub currency: Currency,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The exposure as of the day before `from`.
    pub opening_balance: Decimal,
    /// The exposure as of `to`.
    pub closing_balance: Decimal,
    pub lines: Vec<StatementLine>,
}

/// Why a statement cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("to = {to:?}: must not be before from ({from})")]
    ToBeforeFrom { from: NaiveDate, to: NaiveDate },
    #[error("to = {to:?}: a statement spans at most {STATEMENT_DAYS_MAX} days (from {from})")]
    TooLong { from: NaiveDate, to: NaiveDate },
    #[error("from = {from:?}: must be after 0001-01-01")]
    FromTooEarly { from: NaiveDate },
}

/// A movement before its running balance is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub date: NaiveDate,
    pub kind: StatementKind,
    pub reference: String,
    pub invoice_id: Option<InvoiceId>,
    /// Positive: a debit (the customer owes more); negative: a credit.
    pub change: Decimal,
    pub position: u64,
}

/// The statement for `[from, to]` of the account whose stream is `events` (position, event),
/// in stream order. `None` when the stream opens no account.
pub fn statement<'a>(
    events: impl IntoIterator<Item = (u64, &'a Event)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<Statement>, StatementError> {
    if to < from {
        return Err(StatementError::ToBeforeFrom { from, to });
    }
    if (to - from).num_days() > STATEMENT_DAYS_MAX {
        return Err(StatementError::TooLong { from, to });
    }
    let day_before = from
        .pred_opt()
        .ok_or(StatementError::FromTooEarly { from })?;
    let mut state: Option<Account> = None;
    let mut movements = Vec::new();
    let mut payments: HashMap<PaymentId, (Vec<Allocation>, Decimal)> = HashMap::new();
    let mut fees: HashMap<u64, NaiveDate> = HashMap::new();
    for (position, event) in events {
        movements_of(position, event, &mut payments, &mut fees, &mut movements);
        evolve(&mut state, event);
    }
    let Some(account) = state else {
        return Ok(None);
    };
    let currency = &account.currency;
    movements.retain(|m| m.date >= from && m.date <= to);
    // Date order; on one date, log order; within one event, the order it lists its movements.
    movements.sort_by_key(|m| (m.date, m.position));
    let opening_balance = account.exposure_on(day_before);
    let mut balance = opening_balance;
    let lines = movements
        .into_iter()
        .map(|m| {
            balance = balance.saturating_add(m.change);
            let (debit, credit) = if m.change >= Decimal::ZERO {
                (m.change, Decimal::ZERO)
            } else {
                (
                    Decimal::ZERO,
                    m.change.saturating_mul(Decimal::NEGATIVE_ONE),
                )
            };
            StatementLine {
                date: m.date,
                kind: m.kind,
                reference: m.reference,
                invoice_id: m.invoice_id,
                debit: currency.display(debit),
                credit: currency.display(credit),
                balance: currency.display(balance),
                position: m.position,
            }
        })
        .collect();
    Ok(Some(Statement {
        customer_id: account.customer_id.clone(),
        currency: currency.clone(),
        from,
        to,
        opening_balance: currency.display(opening_balance),
        closing_balance: currency.display(account.exposure_on(to)),
        lines,
    }))
}

/// The movements one event makes, dated on the day each moves the exposure (SPEC §7 "open
/// amount" and "unapplied cash").
// Long: one arm per event that moves money, so the statement's rules read as one table beside
// docs/events.md.
fn movements_of(
    position: u64,
    event: &Event,
    payments: &mut HashMap<PaymentId, (Vec<Allocation>, Decimal)>,
    fees: &mut HashMap<u64, NaiveDate>,
    out: &mut Vec<Movement>,
) {
    let mut push = |date, kind, reference: String, invoice_id: Option<&InvoiceId>, change| {
        if change != Decimal::ZERO {
            out.push(Movement {
                date,
                kind,
                reference,
                invoice_id: invoice_id.cloned(),
                change,
                position,
            });
        }
    };
    let neg = |v: Decimal| v.saturating_mul(Decimal::NEGATIVE_ONE);
    match event {
        Event::InvoiceIssued(e) => push(
            e.issued_on,
            StatementKind::Invoice,
            e.invoice_id.to_string(),
            Some(&e.invoice_id),
            e.amount,
        ),
        Event::LateFeeCharged(e) => {
            fees.insert(position, e.charged_on);
            push(
                e.charged_on,
                StatementKind::LateFee,
                format!("fee {}", e.period),
                Some(&e.invoice_id),
                e.amount,
            )
        }
        Event::CreditNoteIssued(e) => push(
            e.issued_on,
            StatementKind::CreditNote,
            e.credit_note_id.to_string(),
            Some(&e.invoice_id),
            neg(e.amount),
        ),
        Event::InvoiceWrittenOff(e) => push(
            e.written_off_on,
            StatementKind::WriteOff,
            e.invoice_id.to_string(),
            Some(&e.invoice_id),
            neg(e.amount),
        ),
        Event::PaymentReceived(e) => {
            let reference = e.payment_id.to_string();
            for a in &e.allocations {
                push(
                    e.received_on,
                    StatementKind::Payment,
                    reference.clone(),
                    Some(&a.invoice_id),
                    neg(a.amount),
                );
                push(
                    e.received_on,
                    StatementKind::Discount,
                    reference.clone(),
                    Some(&a.invoice_id),
                    neg(a.discount),
                );
            }
            push(
                e.received_on,
                StatementKind::Payment,
                reference,
                None,
                neg(e.unapplied),
            );
            payments.insert(e.payment_id.clone(), (e.allocations.clone(), e.unapplied));
        }
        Event::PaymentReversed(e) => {
            // Undoes each credit the payment gave, as of the reversal's date.
            let Some((allocations, unapplied)) = payments.get(&e.payment_id) else {
                return;
            };
            let reference = e.payment_id.to_string();
            for a in allocations {
                push(
                    e.reversed_on,
                    StatementKind::Reversal,
                    reference.clone(),
                    Some(&a.invoice_id),
                    a.amount.saturating_add(a.discount),
                );
            }
            push(
                e.reversed_on,
                StatementKind::Reversal,
                reference,
                None,
                *unapplied,
            );
        }
        Event::UnappliedCashApplied(e) => {
            for a in &e.allocations {
                push(
                    e.applied_on,
                    StatementKind::UnappliedApplied,
                    "unapplied cash".to_owned(),
                    None,
                    a.amount,
                );
                push(
                    e.applied_on,
                    StatementKind::UnappliedApplied,
                    "unapplied cash".to_owned(),
                    Some(&a.invoice_id),
                    neg(a.amount),
                );
            }
        }
        // A credit of the fee's amount on the reversed fee's own `charged_on`. The `unapplied`
        // part of a reversed fee moves money from the invoice to unapplied cash on
        // `unapplied_on`, which leaves the exposure as it was: it makes no line.
        Event::LateFeeReversed(e) => {
            if let Some(m) = fee_reversal(
                fees,
                position,
                e.reverses,
                &e.invoice_id,
                e.period,
                e.amount,
            ) {
                push(m.date, m.kind, m.reference, m.invoice_id.as_ref(), m.change);
            }
        }
        Event::PromiseReinstated(_)
        | Event::AccountOpened(_)
        | Event::CreditLimitChanged(_)
        | Event::TermsChanged(_)
        | Event::ContactDetailsUpdated(_)
        | Event::ContactDetailsVerified(_)
        | Event::SalesRepAssigned(_)
        | Event::InvoiceDelivered(_)
        | Event::InvoiceDisputed(_)
        | Event::DisputeResolved(_)
        | Event::ReminderSent(_)
        | Event::ReminderFailed(_)
        | Event::CallLogged(_)
        | Event::SalesRepNotified(_)
        | Event::PaymentPromised(_)
        | Event::PaymentPlanAgreed(_)
        | Event::PromiseKept(_)
        | Event::PromiseBroken(_)
        | Event::AccountHeld(_)
        | Event::AccountReleased(_)
        | Event::CashOnlyImposed(_)
        | Event::CashOnlyLifted(_)
        | Event::Escalated(_)
        | Event::PolicyAdopted(_) => {}
    }
}

/// The movement of a reversed late fee: a credit of `amount` on the reversed fee's `charged_on`
/// (SPEC §7: a `LateFeeReversed` takes its fee off from the fee's `charged_on`). `fees` maps the
/// position of each `LateFeeCharged` seen so far to its `charged_on`; a reversal always follows
/// its fee in the stream.
pub fn fee_reversal(
    fees: &HashMap<u64, NaiveDate>,
    position: u64,
    reverses: u64,
    invoice_id: &InvoiceId,
    period: u32,
    amount: Decimal,
) -> Option<Movement> {
    let charged_on = fees.get(&reverses)?;
    Some(Movement {
        date: *charged_on,
        kind: StatementKind::FeeReversal,
        reference: format!("fee {period}"),
        invoice_id: Some(invoice_id.clone()),
        change: amount.saturating_mul(Decimal::NEGATIVE_ONE),
        position,
    })
}
