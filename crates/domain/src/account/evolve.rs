//! How a recorded fact changes the account (`evolve`): one arm per event, no business rule.
//! Never decides or rejects: an event that cannot apply is a bug, asserted in debug builds.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{
    invoice_key, payment_key, promise_key, Account, ContactMade, DeliveryFailure, Hold, Payment,
    Release, StatusChange,
};
use crate::event::*;
use crate::id::InvoiceId;
use crate::id_index::IdIndex;
use crate::invoice::{Dispute, Entry, EntryKind, Fee, Invoice};
use crate::one_or_many::OneOrMany;
use crate::promise::Promise;

/// Applies a recorded fact to an account stream's state. `None` until `AccountOpened`.
pub fn evolve(state: &mut Option<Account>, event: &Event) {
    match (state.as_mut(), event) {
        (None, Event::AccountOpened(e)) => *state = Some(Account::opened(e)),
        (Some(account), event) => account.evolve(event),
        // Only AccountOpened can start a stream; the store never holds anything else first. Not
        // asserted: callers hand a stream's events here to learn whether an account starts, and
        // the ledger keeps the timeline of a stream that did not (projections' test
        // `a_timeline_without_an_account_round_trips`).
        (None, _) => {}
    }
}

impl Account {
    fn opened(e: &AccountOpened) -> Account {
        Account {
            customer_id: e.customer_id.clone(),
            name: e.name.clone(),
            currency: e.currency.clone(),
            credit_limit: e.credit_limit,
            terms: e.terms.clone(),
            opened_on: e.opened_on,
            contacts: e.contacts.clone(),
            contacts_verified_on: None,
            sales_rep: e.sales_rep.clone(),
            invoices: Vec::new(),
            invoice_index: IdIndex::default(),
            payments: Vec::new(),
            payment_index: IdIndex::default(),
            credit_notes: HashSet::new(),
            applications: Vec::new(),
            promises: Vec::new(),
            promise_index: IdIndex::default(),
            plans: HashSet::new(),
            holds: Vec::new(),
            cash_only: Vec::new(),
            contacts_made: Vec::new(),
            steps_fulfilled: Vec::new(),
            delivery_failures: Vec::new(),
            version: 1,
        }
    }

    /// Applies a recorded fact to an opened account (see [`evolve`]). Without its log position,
    /// the event's stream version stands in for it (simulations and tests, where every event of
    /// the account goes through here).
    pub fn evolve(&mut self, event: &Event) {
        self.evolve_at(event, None);
    }

    /// Applies a recorded fact at its position in the log: reconciliation names the automatic
    /// events it reverses by position.
    ///
    /// Long on purpose: one arm per event in one match, so the compiler checks that every event
    /// is handled and a reader sees every change of state in one place. Each arm only copies
    /// what the event recorded; none holds a rule.
    pub fn evolve_at(&mut self, event: &Event, position: Option<u64>) {
        self.version += 1;
        let position = position.unwrap_or(self.version);
        match event {
            Event::AccountOpened(e) => debug_assert!(
                false,
                "AccountOpened for {} on an account already opened",
                e.customer_id
            ),
            Event::CreditLimitChanged(e) => self.credit_limit = e.new_limit,
            Event::TermsChanged(e) => self.terms = e.terms.clone(),
            Event::ContactDetailsUpdated(e) => self.contacts = e.contacts.clone(),
            Event::ContactDetailsVerified(e) => self.contacts_verified_on = Some(e.verified_on),
            Event::SalesRepAssigned(e) => self.sales_rep = Some(e.sales_rep.clone()),
            Event::InvoiceIssued(e) => {
                debug_assert!(
                    self.invoice(&e.invoice_id).is_none(),
                    "InvoiceIssued repeats invoice {}",
                    e.invoice_id
                );
                self.invoices.push(Invoice::issued(
                    e.invoice_id.clone(),
                    e.amount,
                    e.issued_on,
                    e.due_on,
                    e.terms.clone(),
                    e.reference.clone(),
                ));
                let index = self.invoices.len() - 1;
                self.invoice_index
                    .insert(&self.invoices, index, invoice_key);
            }
            Event::InvoiceDelivered(e) => {
                if let Some(inv) = known(self.invoice_mut(&e.invoice_id), "invoice", &e.invoice_id)
                {
                    inv.extras_mut().delivered_on = Some(e.confirmed_on);
                }
            }
            Event::InvoiceDisputed(e) => {
                if let Some(inv) = known(self.invoice_mut(&e.invoice_id), "invoice", &e.invoice_id)
                {
                    inv.extras_mut().disputes.push(Dispute {
                        from: e.disputed_on,
                        until: None,
                        reason: e.reason.clone(),
                    });
                }
            }
            Event::DisputeResolved(e) => {
                // `decide` resolves only the open dispute, which is always the last one.
                let dispute = known(self.invoice_mut(&e.invoice_id), "invoice", &e.invoice_id)
                    .and_then(|inv| inv.extras_mut().disputes.last_mut());
                debug_assert!(
                    dispute.as_ref().is_some_and(|d| d.until.is_none()),
                    "DisputeResolved for invoice {}, which is not disputed",
                    e.invoice_id
                );
                if let Some(d) = dispute {
                    d.until = Some(e.resolved_on);
                }
            }
            Event::CreditNoteIssued(e) => {
                self.credit_notes.insert(e.credit_note_id.clone());
                self.push_entry(&e.invoice_id, e.issued_on, -e.amount, EntryKind::CreditNote);
            }
            Event::LateFeeCharged(e) => {
                if let Some(inv) = known(self.invoice_mut(&e.invoice_id), "invoice", &e.invoice_id)
                {
                    inv.extras_mut().fee_periods.push(e.period);
                    inv.extras_mut().fees.push(Fee {
                        period: e.period,
                        amount: e.amount,
                        charged_on: e.charged_on,
                        position,
                        reversed: None,
                    });
                }
                self.push_entry(&e.invoice_id, e.charged_on, e.amount, EntryKind::LateFee);
            }
            Event::LateFeeReversed(e) => {
                if let Some(inv) = known(self.invoice_mut(&e.invoice_id), "invoice", &e.invoice_id)
                {
                    inv.reverse_fee(e.reverses, e.unapplied, e.unapplied_on);
                }
            }
            Event::InvoiceWrittenOff(e) => {
                self.push_entry(
                    &e.invoice_id,
                    e.written_off_on,
                    -e.amount,
                    EntryKind::WriteOff,
                );
            }
            Event::PaymentReceived(e) => {
                debug_assert!(
                    self.payment(&e.payment_id).is_none(),
                    "PaymentReceived repeats payment {}",
                    e.payment_id
                );
                let index = self.payments.len();
                // An account would need more than 4 billion payments (hundreds of GB of them)
                // to reach the saturated value.
                let entry_index = u32::try_from(index).unwrap_or(u32::MAX);
                let mut invoices = OneOrMany::new();
                for a in &e.allocations {
                    let paid = self.push_entry(
                        &a.invoice_id,
                        e.received_on,
                        -a.amount.saturating_add(a.discount),
                        EntryKind::Payment(entry_index),
                    );
                    if let Some(i) = paid.and_then(|i| u32::try_from(i).ok()) {
                        invoices.push(i);
                    }
                }
                self.payments.push(Payment {
                    id: e.payment_id.clone(),
                    amount: e.amount.into(),
                    received_on: e.received_on,
                    reversed_on: None,
                    unapplied: e.unapplied.into(),
                    invoices,
                });
                self.payment_index
                    .insert(&self.payments, index, payment_key);
            }
            Event::PaymentReversed(e) => {
                if let Some(index) = known(
                    self.payment_index
                        .get(&self.payments, &e.payment_id, payment_key),
                    "payment",
                    &e.payment_id,
                ) {
                    let Some(p) = self.payments.get_mut(index) else {
                        return;
                    };
                    debug_assert!(
                        p.reversed_on.is_none(),
                        "PaymentReversed for payment {}, reversed already",
                        e.payment_id
                    );
                    p.reversed_on = Some(e.reversed_on);
                    let entry_index = u32::try_from(index).unwrap_or(u32::MAX);
                    for &i in p.invoices.iter() {
                        let paid = usize::try_from(i)
                            .ok()
                            .and_then(|i| self.invoices.get_mut(i));
                        for entry in paid.into_iter().flat_map(|inv| inv.entries.iter_mut()) {
                            if entry.kind == EntryKind::Payment(entry_index) {
                                entry.until = Some(e.reversed_on);
                            }
                        }
                    }
                }
            }
            Event::UnappliedCashApplied(e) => {
                let total = crate::money::sum(e.allocations.iter().map(|a| a.amount));
                self.applications.push((e.applied_on, total));
                for a in &e.allocations {
                    self.push_entry(
                        &a.invoice_id,
                        e.applied_on,
                        -a.amount,
                        EntryKind::UnappliedCash,
                    );
                }
            }
            Event::ReminderSent(e) => self.contact(&e.invoice_ids, e.sent_at, &e.step),
            Event::ReminderFailed(e) => self.delivery_failures.push(DeliveryFailure {
                step: e.step.clone(),
                invoice_ids: e.invoice_ids.clone(),
                failed_at: e.failed_at,
                reason: e.reason.clone(),
            }),
            Event::CallLogged(e) => self.contact(&e.invoice_ids, e.called_at, &e.step),
            Event::SalesRepNotified(e) => self.contact(&e.invoice_ids, e.notified_at, &e.step),
            Event::PaymentPromised(e) => self.push_promise(Promise {
                id: e.promise_id.clone(),
                amount: e.amount,
                promised_on: e.promised_on,
                invoice_ids: e.invoice_ids.clone(),
                made_on: e.made_on,
                via: e.via.clone(),
                plan_id: None,
                kept_on: None,
                broken_on: None,
                shortfall: None,
                broken_position: None,
            }),
            Event::PaymentPlanAgreed(e) => {
                self.plans.insert(e.plan_id.clone());
                for i in &e.installments {
                    self.push_promise(Promise {
                        id: i.promise_id.clone(),
                        amount: i.amount,
                        promised_on: i.promised_on,
                        invoice_ids: Vec::new(),
                        made_on: e.agreed_on,
                        via: "payment_plan".to_owned(),
                        plan_id: Some(e.plan_id.clone()),
                        kept_on: None,
                        broken_on: None,
                        shortfall: None,
                        broken_position: None,
                    });
                }
            }
            Event::PromiseKept(e) => {
                if let Some(p) = known(self.promise_mut(&e.promise_id), "promise", &e.promise_id) {
                    p.kept_on = Some(e.kept_on);
                }
            }
            Event::PromiseBroken(e) => {
                if let Some(p) = known(self.promise_mut(&e.promise_id), "promise", &e.promise_id) {
                    p.broken_on = Some(e.effective_on);
                    p.shortfall = Some(e.shortfall);
                    p.broken_position = Some(position);
                }
            }
            Event::PromiseReinstated(e) => {
                if let Some(p) = known(self.promise_mut(&e.promise_id), "promise", &e.promise_id) {
                    if p.broken_position == Some(e.reverses) {
                        p.broken_on = None;
                        p.shortfall = None;
                        p.broken_position = None;
                    }
                }
            }
            Event::AccountHeld(e) => self.holds.push(StatusChange {
                effective_on: e.effective_on,
                state: Some(Hold {
                    reason: e.reason.clone(),
                    rule: e.rule.clone(),
                    manual: e.manual,
                }),
                automatic: !e.manual,
                released: None,
            }),
            Event::AccountReleased(e) => self.holds.push(StatusChange {
                effective_on: e.effective_on,
                state: None,
                automatic: !e.manual,
                released: Some(Release {
                    reason: e.reason.clone(),
                    manual: e.manual,
                }),
            }),
            Event::CashOnlyImposed(e) => self.cash_only.push(StatusChange {
                effective_on: e.effective_on,
                state: Some(e.reason.clone()),
                automatic: true,
                released: None,
            }),
            Event::CashOnlyLifted(e) => self.cash_only.push(StatusChange {
                effective_on: e.effective_on,
                state: None,
                automatic: true,
                released: None,
            }),
            Event::Escalated(e) => {
                for id in &e.invoice_ids {
                    if let Some(inv) = known(self.invoice_mut(id), "invoice", id) {
                        inv.extras_mut().escalated_on.get_or_insert(e.escalated_on);
                    }
                }
            }
            Event::PolicyAdopted(_) => {}
        }
    }

    /// Adds an entry to the invoice `invoice_id` and gives its position in `invoices`.
    fn push_entry(
        &mut self,
        invoice_id: &InvoiceId,
        on: NaiveDate,
        change: Decimal,
        kind: EntryKind,
    ) -> Option<usize> {
        let found = self
            .invoice_index
            .get(&self.invoices, invoice_id, invoice_key);
        let i = known(found, "invoice", invoice_id)?;
        self.invoices
            .get_mut(i)
            .map(|inv| inv.entries.push(Entry::new(on, change, kind)))
            .map(|()| i)
    }

    fn push_promise(&mut self, promise: Promise) {
        debug_assert!(
            self.promise(&promise.id).is_none(),
            "an event repeats promise {}",
            promise.id
        );
        self.promises.push(promise);
        let index = self.promises.len() - 1;
        self.promise_index
            .insert(&self.promises, index, promise_key);
    }

    fn contact(&mut self, invoice_ids: &[InvoiceId], at: DateTime<Utc>, step: &Option<String>) {
        self.contacts_made.push(ContactMade {
            at,
            step: step.clone(),
        });
        if let Some(step) = step {
            let on = at.date_naive();
            if invoice_ids.is_empty() {
                self.steps_fulfilled.push((step.clone(), on));
            }
            for id in invoice_ids {
                if let Some(inv) = known(self.invoice_mut(id), "invoice", id) {
                    inv.extras_mut().steps_fulfilled.push((step.clone(), on));
                }
            }
        }
    }
}

/// What an event names must be in the state: `decide`, the clock and reconciliation only name
/// what they found there, so a miss is a bug and a debug build stops on it. A release build
/// passes over the event as it always did, so a log written by an older version or a restored
/// export still replays.
fn known<T>(found: Option<T>, what: &str, id: &dyn std::fmt::Display) -> Option<T> {
    debug_assert!(
        found.is_some(),
        "an event names {what} {id}, which the account does not hold"
    );
    found
}
