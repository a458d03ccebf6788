//! The contact timeline (SPEC §7): every contact, promise, plan, payment, reversal, delivery,
//! dispute and its resolution, fee, hold, release, cash-only, reconciliation and escalation of
//! an account in `occurred_at` order, with `recorded_at`, actor and position — the auditor's
//! view of exactly when each contact happened and who recorded it.
//!
//! The ledger keeps no timeline: it is read from the account's own stream in the log when
//! asked for (`Store::read_stream`, as the statement of account is), together with the
//! account the ledger holds, which gives what the events alone do not say (a promise's
//! invoices, a fee's `charged_on`, a payment's allocations). The account's `version` says how
//! much of the stream the ledger has applied, so the live ledger and a ledger known at an
//! instant (time travel) each show exactly the events they hold; later events of the stream are
//! left out. Keeping a copy of every timeline event in memory doubled what a payment cost the
//! read model and its snapshot (issue 18).
//!
//! Reconciliations (SPEC §5) are listed like the decisions they correct: a fee reversal on its
//! fee's `charged_on`, a reinstated promise on the day it had been broken, a hold, release or
//! cash-only change named `reconciled` on its `effective_on` — each with the position of what
//! it reverses.
//!
//! When it happened: a contact carries its own instant (`sent_at`, `called_at`, `notified_at`),
//! and so does a promise (`made_at`: one taken on a 14:02 call is listed at 14:02, not before it).
//! Every other fact carries a business date; its `occurred_at` is the envelope's
//! `occurred_at` when that falls on the business date (the instant the collector recorded it
//! that day), and the business date at 00:00 UTC otherwise (a back-dated fact, or one the clock
//! emitted days later for the day its rule first held). Entries on the same instant keep log
//! order.

use chrono::{DateTime, NaiveDate, Utc};
use domain::event::{EscalationTarget, ReminderChannel};
use domain::{Account, CustomerId, Event, InvoiceId};
use serde::Serialize;
use store::RecordedEvent;

use crate::ledger::{EventMeta, Ledger};

/// One recorded event of an account's stream as the timeline reads it: the envelope fields it
/// shows and the event, borrowed from wherever the caller holds them.
#[derive(Clone, Copy, Debug)]
pub struct StreamEvent<'a> {
    /// The event's version in its stream (1 for `AccountOpened`).
    pub version: u64,
    pub position: u64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: &'a str,
    pub event: &'a Event,
}

impl<'a> From<&'a RecordedEvent> for StreamEvent<'a> {
    fn from(e: &'a RecordedEvent) -> Self {
        StreamEvent {
            version: e.version,
            position: e.position,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            actor: &e.actor,
            event: &e.event,
        }
    }
}

impl<'a> From<(&'a EventMeta, &'a Event)> for StreamEvent<'a> {
    fn from((meta, event): (&'a EventMeta, &'a Event)) -> Self {
        StreamEvent {
            version: meta.version,
            position: meta.position,
            occurred_at: meta.occurred_at,
            recorded_at: meta.recorded_at,
            actor: &meta.actor,
            event,
        }
    }
}

/// Whether `events`, read from the account's stream, reach as far as the ledger's `account`
/// has applied (its `version`). A read made just before the ledger applied more of the stream
/// falls short; read again.
pub fn stream_covers(account: &Account, last_version_read: u64) -> bool {
    last_version_read >= account.version
}

/// One line of an account's timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub customer_id: CustomerId,
    /// The event's name (`ReminderSent`, `PaymentPromised`, …).
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub position: u64,
    /// The invoices it names; empty for something about the whole account.
    pub invoice_ids: Vec<InvoiceId>,
    /// One line for a person.
    pub summary: String,
    /// For a reconciliation: the position of the event it reverses (the fee charged, the
    /// promise broken, the hold, release or cash-only change it undoes).
    pub reverses: Option<u64>,
    /// The event's fields as named in SPEC §3.
    pub payload: serde_json::Value,
}

/// Whether the timeline shows this event (SPEC §7): contacts, promises and plans, payments and
/// their reversals, deliveries, disputes and their resolution, fees and their reversals, holds
/// and releases, cash-only, reinstated promises, escalations. Facts that only change the account's settings (limit, terms,
/// contacts) and the ledger's bookkeeping (credit notes, write-offs, cash applied) are on the
/// statement of account instead.
pub fn is_timeline_event(event: &Event) -> bool {
    matches!(
        event,
        Event::ReminderSent(_)
            | Event::ReminderFailed(_)
            | Event::CallLogged(_)
            | Event::SalesRepNotified(_)
            | Event::PaymentPromised(_)
            | Event::PaymentPlanAgreed(_)
            | Event::PromiseKept(_)
            | Event::PromiseBroken(_)
            | Event::PaymentReceived(_)
            | Event::PaymentReversed(_)
            | Event::InvoiceDelivered(_)
            | Event::InvoiceDisputed(_)
            | Event::DisputeResolved(_)
            | Event::LateFeeCharged(_)
            | Event::LateFeeReversed(_)
            | Event::PromiseReinstated(_)
            | Event::AccountHeld(_)
            | Event::AccountReleased(_)
            | Event::CashOnlyImposed(_)
            | Event::CashOnlyLifted(_)
            | Event::Escalated(_)
    )
}

/// Contacts, promises and escalations are about invoices (or, with no invoice ids, every
/// invoice); holds, cash-only and plans are about the account; payments, fees, deliveries and
/// disputes name their invoices.
fn is_about_invoices(event: &Event) -> bool {
    !matches!(
        event,
        Event::AccountHeld(_)
            | Event::AccountReleased(_)
            | Event::CashOnlyImposed(_)
            | Event::CashOnlyLifted(_)
            | Event::PaymentReceived(_)
            | Event::PaymentReversed(_)
    )
}

/// When the fact happened (see the module documentation). `account` gives a fee reversal its
/// fee's `charged_on`.
pub fn occurred_at(record: &StreamEvent<'_>, account: Option<&Account>) -> DateTime<Utc> {
    let on_date = |date: NaiveDate| {
        if record.occurred_at.date_naive() == date {
            record.occurred_at
        } else {
            date.and_time(chrono::NaiveTime::MIN).and_utc()
        }
    };
    match record.event {
        Event::ReminderSent(e) => e.sent_at,
        Event::ReminderFailed(e) => e.failed_at,
        Event::CallLogged(e) => e.called_at,
        Event::SalesRepNotified(e) => e.notified_at,
        Event::PaymentPromised(e) => e.made_at.unwrap_or_else(|| on_date(e.made_on)),
        Event::PaymentPlanAgreed(e) => on_date(e.agreed_on),
        Event::PromiseKept(e) => on_date(e.kept_on),
        Event::PromiseBroken(e) => on_date(e.effective_on),
        Event::AccountHeld(e) => on_date(e.effective_on),
        Event::AccountReleased(e) => on_date(e.effective_on),
        Event::CashOnlyImposed(e) => on_date(e.effective_on),
        Event::CashOnlyLifted(e) => on_date(e.effective_on),
        Event::Escalated(e) => on_date(e.escalated_on),
        Event::PaymentReceived(e) => on_date(e.received_on),
        Event::PaymentReversed(e) => on_date(e.reversed_on),
        Event::InvoiceDelivered(e) => on_date(e.confirmed_on),
        Event::InvoiceDisputed(e) => on_date(e.disputed_on),
        Event::DisputeResolved(e) => on_date(e.resolved_on),
        Event::LateFeeCharged(e) => on_date(e.charged_on),
        Event::LateFeeReversed(e) => account
            .and_then(|a| a.invoice(&e.invoice_id))
            .and_then(|i| i.extras().fees.iter().find(|f| f.position == e.reverses))
            .map_or(record.occurred_at, |f| on_date(f.charged_on)),
        Event::PromiseReinstated(e) => on_date(e.effective_on),
        _ => record.occurred_at,
    }
}

fn invoice_ids(account: Option<&Account>, event: &Event) -> Vec<InvoiceId> {
    let of_promise = |id| {
        account
            .and_then(|a| a.promise(id))
            .map(|p| p.invoice_ids.clone())
            .unwrap_or_default()
    };
    match event {
        Event::ReminderSent(e) => e.invoice_ids.clone(),
        Event::ReminderFailed(e) => e.invoice_ids.clone(),
        Event::CallLogged(e) => e.invoice_ids.clone(),
        Event::SalesRepNotified(e) => e.invoice_ids.clone(),
        Event::PaymentPromised(e) => e.invoice_ids.clone(),
        Event::PromiseKept(e) => of_promise(&e.promise_id),
        Event::PromiseBroken(e) => of_promise(&e.promise_id),
        Event::PromiseReinstated(e) => of_promise(&e.promise_id),
        Event::Escalated(e) => e.invoice_ids.clone(),
        Event::PaymentReceived(e) => e.allocations.iter().map(|a| a.invoice_id.clone()).collect(),
        Event::PaymentReversed(e) => account
            .and_then(|a| {
                let paid = a.payment(&e.payment_id)?;
                Some(a.invoices_paid_by(paid).map(|i| i.id.clone()).collect())
            })
            .unwrap_or_default(),
        Event::InvoiceDelivered(e) => vec![e.invoice_id.clone()],
        Event::InvoiceDisputed(e) => vec![e.invoice_id.clone()],
        Event::DisputeResolved(e) => vec![e.invoice_id.clone()],
        Event::LateFeeCharged(e) => vec![e.invoice_id.clone()],
        Event::LateFeeReversed(e) => vec![e.invoice_id.clone()],
        _ => Vec::new(),
    }
}

fn step_note(step: &Option<String>) -> String {
    step.as_ref()
        .map(|s| format!(" (step {s})"))
        .unwrap_or_default()
}

fn invoices_note(ids: &[InvoiceId]) -> String {
    if ids.is_empty() {
        " about the account".to_owned()
    } else {
        let names: Vec<&str> = ids.iter().map(InvoiceId::as_str).collect();
        format!(" about {}", names.join(", "))
    }
}

fn channel_name(channel: ReminderChannel) -> &'static str {
    match channel {
        ReminderChannel::Email => "email",
        ReminderChannel::Letter => "letter",
        ReminderChannel::Sms => "sms",
    }
}

// Long: one line of text per event type, side by side so they read alike.
/// One line for a person.
pub fn summary(event: &Event) -> String {
    match event {
        Event::ReminderSent(e) => {
            let channel = channel_name(e.channel);
            let to =
                e.to.as_ref()
                    .map(|to| format!(" to {to}"))
                    .unwrap_or_default();
            format!(
                "Reminder sent by {channel}{to}{}{}",
                invoices_note(&e.invoice_ids),
                step_note(&e.step)
            )
        }
        Event::ReminderFailed(e) => format!(
            "Reminder by {} not delivered{}{}: {}",
            channel_name(e.channel),
            invoices_note(&e.invoice_ids),
            step_note(&e.step),
            e.reason
        ),
        Event::CallLogged(e) => format!(
            "Call logged, outcome {}{}{}",
            e.outcome,
            invoices_note(&e.invoice_ids),
            step_note(&e.step)
        ),
        Event::SalesRepNotified(e) => format!(
            "Sales rep {} notified{}{}",
            e.sales_rep,
            invoices_note(&e.invoice_ids),
            step_note(&e.step)
        ),
        Event::PaymentPromised(e) => format!(
            "Promise {} to pay {} by {} (via {}){}",
            e.promise_id,
            e.amount,
            e.promised_on,
            e.via,
            invoices_note(&e.invoice_ids)
        ),
        Event::PaymentPlanAgreed(e) => {
            let total = domain::money::sum(e.installments.iter().map(|i| i.amount));
            format!(
                "Payment plan {} agreed: {} installments totalling {}",
                e.plan_id,
                e.installments.len(),
                total
            )
        }
        Event::PromiseKept(e) => format!("Promise {} kept on {}", e.promise_id, e.kept_on),
        Event::PromiseBroken(e) => format!(
            "Promise {} broken on {}, shortfall {}",
            e.promise_id, e.effective_on, e.shortfall
        ),
        Event::AccountHeld(e) => format!(
            "Account held from {} ({}, {})",
            e.effective_on,
            e.reason,
            if e.manual { "manual" } else { "rule" }
        ),
        Event::AccountReleased(e) => format!(
            "Account released from {} ({}, {})",
            e.effective_on,
            e.reason,
            if e.manual { "manual" } else { "automatic" }
        ),
        Event::CashOnlyImposed(e) => {
            format!("Cash only from {} ({})", e.effective_on, e.reason)
        }
        Event::CashOnlyLifted(e) => format!("Cash only lifted from {}", e.effective_on),
        Event::Escalated(e) => {
            let to = match e.to {
                EscalationTarget::CollectionAgency => "the collection agency",
                EscalationTarget::Legal => "legal",
            };
            format!(
                "Escalated to {to} on {}{}",
                e.escalated_on,
                invoices_note(&e.invoice_ids)
            )
        }
        Event::PaymentReceived(e) => {
            let allocated: Vec<String> = e
                .allocations
                .iter()
                .map(|a| {
                    if a.discount.is_zero() {
                        format!("{} {}", a.invoice_id, a.amount)
                    } else {
                        format!("{} {} (discount {})", a.invoice_id, a.amount, a.discount)
                    }
                })
                .collect();
            let mut line = format!(
                "Payment {} of {} received on {} ({})",
                e.payment_id, e.amount, e.received_on, e.method
            );
            if !allocated.is_empty() {
                line.push_str(&format!(": {}", allocated.join(", ")));
            }
            if !e.unapplied.is_zero() {
                line.push_str(&format!("; unapplied {}", e.unapplied));
            }
            line
        }
        Event::PaymentReversed(e) => format!(
            "Payment {} reversed on {} ({})",
            e.payment_id, e.reversed_on, e.reason
        ),
        Event::InvoiceDelivered(e) => format!(
            "Delivery of {} confirmed on {} ({})",
            e.invoice_id, e.confirmed_on, e.channel
        ),
        Event::InvoiceDisputed(e) => format!(
            "Invoice {} disputed on {} ({})",
            e.invoice_id, e.disputed_on, e.reason
        ),
        Event::DisputeResolved(e) => format!(
            "Dispute on {} resolved on {} ({})",
            e.invoice_id, e.resolved_on, e.outcome
        ),
        Event::LateFeeCharged(e) => format!(
            "Late fee {} charged on {} for {} (period {})",
            e.amount, e.charged_on, e.invoice_id, e.period
        ),
        Event::LateFeeReversed(e) => {
            let mut line = format!(
                "Late fee {} for {} (period {}) reversed, the fee at position {}: {}",
                e.amount, e.invoice_id, e.period, e.reverses, e.reason
            );
            if !e.unapplied.is_zero() {
                if let Some(on) = e.unapplied_on {
                    line.push_str(&format!("; {} to unapplied cash from {on}", e.unapplied));
                }
            }
            line
        }
        Event::PromiseReinstated(e) => format!(
            "Promise {} reinstated from {}, the break at position {}: {}",
            e.promise_id, e.effective_on, e.reverses, e.reason
        ),
        other => other.event_type().to_owned(),
    }
}

/// The position of what a reconciliation reverses: named on a fee reversal and a reinstated
/// promise; for a hold, release or cash-only imposition named `reconciled`, the latest earlier
/// change of the opposite kind in force on its day (what it undoes). `None` for other events.
fn reverses(earlier: &[StreamEvent<'_>], event: &Event) -> Option<u64> {
    let undone = |on: NaiveDate, opposite: fn(&Event) -> Option<NaiveDate>| {
        earlier
            .iter()
            .rev()
            .find(|r| opposite(r.event).is_some_and(|d| d <= on))
            .map(|r| r.position)
    };
    match event {
        Event::LateFeeReversed(e) => Some(e.reverses),
        Event::PromiseReinstated(e) => Some(e.reverses),
        Event::AccountReleased(e) if e.reason == domain::reconcile::RECONCILED => {
            undone(e.effective_on, |r| match r {
                Event::AccountHeld(h) => Some(h.effective_on),
                _ => None,
            })
        }
        Event::AccountHeld(e) if e.reason == domain::reconcile::RECONCILED => {
            undone(e.effective_on, |r| match r {
                Event::AccountReleased(h) => Some(h.effective_on),
                _ => None,
            })
        }
        Event::CashOnlyImposed(e) if e.reason == domain::reconcile::RECONCILED => {
            undone(e.effective_on, |r| match r {
                Event::CashOnlyLifted(h) => Some(h.effective_on),
                _ => None,
            })
        }
        _ => None,
    }
}

/// The event's fields as a JSON object (the inside of serde's `{"Name": {...}}`).
pub fn payload_json(event: &Event) -> serde_json::Value {
    match serde_json::to_value(event) {
        Ok(serde_json::Value::Object(map)) if map.len() == 1 => {
            map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
        }
        Ok(other) => other,
        Err(_) => serde_json::Value::Null,
    }
}

/// The timeline of `account` from its stream's recorded events in version order (what
/// `Store::read_stream` gives, or more: events after the account's `version` are ones this
/// account has not applied, and are left out), optionally only what concerns one invoice
/// (entries naming it, and contacts and promises about the whole account) and only
/// `from ≤ occurred_at ≤ to`. Ordered by `occurred_at`, then position.
pub fn timeline<'a>(
    account: &Account,
    stream: impl IntoIterator<Item = StreamEvent<'a>>,
    invoice_id: Option<&InvoiceId>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Vec<TimelineEntry> {
    let records: Vec<StreamEvent<'a>> = stream
        .into_iter()
        .filter(|e| e.version <= account.version && is_timeline_event(e.event))
        .collect();
    let mut out: Vec<TimelineEntry> = records
        .iter()
        .enumerate()
        .filter_map(|(index, record)| {
            let at = occurred_at(record, Some(account));
            if from.is_some_and(|f| at < f) || to.is_some_and(|t| at > t) {
                return None;
            }
            let ids = invoice_ids(Some(account), record.event);
            if let Some(wanted) = invoice_id {
                let concerns = if ids.is_empty() {
                    is_about_invoices(record.event)
                } else {
                    ids.contains(wanted)
                };
                if !concerns {
                    return None;
                }
            }
            let reverses = reverses(records.get(..index).unwrap_or_default(), record.event);
            let mut line = summary(record.event);
            if let (Some(position), false) = (
                reverses,
                matches!(
                    record.event,
                    Event::LateFeeReversed(_) | Event::PromiseReinstated(_)
                ),
            ) {
                line.push_str(&format!(", undoing position {position}"));
            }
            Some(TimelineEntry {
                customer_id: account.customer_id.clone(),
                event_type: record.event.event_type().to_owned(),
                occurred_at: at,
                recorded_at: record.recorded_at,
                actor: record.actor.to_owned(),
                position: record.position,
                invoice_ids: ids,
                summary: line,
                reverses,
                payload: payload_json(record.event),
            })
        })
        .collect();
    out.sort_by_key(|e| (e.occurred_at, e.position));
    out
}

impl Ledger {
    /// The timeline of the account `customer_id` as this ledger holds it (see [`timeline`]),
    /// from its stream's recorded events; empty when the ledger has no such account.
    pub fn timeline<'a>(
        &self,
        customer_id: &CustomerId,
        stream: impl IntoIterator<Item = StreamEvent<'a>>,
        invoice_id: Option<&InvoiceId>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Vec<TimelineEntry> {
        match self.account(customer_id) {
            Some(account) => timeline(account, stream, invoice_id, from, to),
            None => Vec::new(),
        }
    }
}
