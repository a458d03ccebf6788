//! The account aggregate: its state, how recorded facts change it (`evolve`), and what it owes
//! or holds as of a date. `evolve` holds no business rule: every decision was made in `decide`
//! or the clock and recorded in the event.

use std::collections::HashSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::*;
use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use crate::id_index::IdIndex;
use crate::invoice::{Dispute, Entry, EntryKind, Fee, Invoice, Released};
use crate::money::Currency;
use crate::policy::Policy;
use crate::promise::{CashIn, Promise};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    #[serde(with = "crate::binary_form::decimal")]
    pub amount: Decimal,
    #[serde(with = "crate::binary_form::date")]
    pub received_on: NaiveDate,
    pub method: String,
    #[serde(with = "crate::binary_form::allocations")]
    pub allocations: Vec<Allocation>,
    #[serde(with = "crate::binary_form::decimal")]
    pub unapplied: Decimal,
    #[serde(with = "crate::binary_form::optional_date")]
    pub reversed_on: Option<NaiveDate>,
}

impl Payment {
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.received_on <= date && self.reversed_on.is_none_or(|r| r > date)
    }
}

/// Why an account is held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub reason: String,
    pub rule: Option<String>,
    pub manual: bool,
}

/// Why a hold ended: the reason and whether a person released it (SPEC §3 `AccountReleased`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub reason: String,
    pub manual: bool,
}

/// A change of hold (or cash-only) status from `effective_on`; later changes win.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange<T> {
    pub effective_on: NaiveDate,
    pub state: Option<T>,
    /// Decided by the clock or reconciliation (not by a person): what reconciliation may
    /// re-decide.
    #[serde(default)]
    pub automatic: bool,
    /// For a hold's release: why, and whether by hand. `None` for every other change (and for
    /// a cash-only lift, which has no reason).
    pub released: Option<Release>,
}

/// A contact with the customer (reminder, call, sales rep notified), for "days since last contact".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMade {
    pub at: DateTime<Utc>,
    pub step: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: Currency,
    #[serde(with = "crate::binary_form::decimal")]
    pub credit_limit: Decimal,
    pub terms: Terms,
    #[serde(with = "crate::binary_form::date")]
    pub opened_on: NaiveDate,
    pub contacts: Contacts,
    pub contacts_verified_on: Option<NaiveDate>,
    pub sales_rep: Option<String>,
    pub invoices: Vec<Invoice>,
    #[serde(skip)]
    invoice_index: IdIndex,
    pub payments: Vec<Payment>,
    #[serde(skip)]
    payment_index: IdIndex,
    pub credit_notes: HashSet<CreditNoteId>,
    /// Unapplied cash put on invoices: (applied_on, total).
    pub applications: Vec<(NaiveDate, Decimal)>,
    pub promises: Vec<Promise>,
    #[serde(skip)]
    promise_index: IdIndex,
    pub plans: HashSet<PlanId>,
    pub holds: Vec<StatusChange<Hold>>,
    pub cash_only: Vec<StatusChange<String>>,
    pub contacts_made: Vec<ContactMade>,
    /// Ladder steps fulfilled by contacts about the whole account (no invoice ids).
    pub steps_fulfilled: Vec<(String, NaiveDate)>,
    /// Events applied: the stream version.
    pub version: u64,
}

fn invoice_key(invoice: &Invoice) -> &InvoiceId {
    &invoice.id
}

fn payment_key(payment: &Payment) -> &PaymentId {
    &payment.id
}

fn promise_key(promise: &Promise) -> &PromiseId {
    &promise.id
}

/// Applies a recorded fact to an account stream's state. `None` until `AccountOpened`.
pub fn evolve(state: &mut Option<Account>, event: &Event) {
    match (state.as_mut(), event) {
        (None, Event::AccountOpened(e)) => *state = Some(Account::opened(e)),
        (Some(account), event) => account.evolve(event),
        // Only AccountOpened can start a stream; the store never holds anything else first.
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
    pub fn evolve_at(&mut self, event: &Event, position: Option<u64>) {
        self.version += 1;
        let position = position.unwrap_or(self.version);
        match event {
            Event::AccountOpened(_) => {}
            Event::CreditLimitChanged(e) => self.credit_limit = e.new_limit,
            Event::TermsChanged(e) => self.terms = e.terms.clone(),
            Event::ContactDetailsUpdated(e) => self.contacts = e.contacts.clone(),
            Event::ContactDetailsVerified(e) => self.contacts_verified_on = Some(e.verified_on),
            Event::SalesRepAssigned(e) => self.sales_rep = Some(e.sales_rep.clone()),
            Event::InvoiceIssued(e) => {
                self.invoices.push(Invoice {
                    id: e.invoice_id.clone(),
                    amount: e.amount,
                    issued_on: e.issued_on,
                    due_on: e.due_on,
                    terms: e.terms.clone(),
                    reference: e.reference.clone(),
                    entries: Vec::new(),
                    disputes: Vec::new(),
                    delivered_on: None,
                    fee_periods: Vec::new(),
                    fees: Vec::new(),
                    steps_fulfilled: Vec::new(),
                    escalated_on: None,
                });
                let index = self.invoices.len() - 1;
                self.invoice_index
                    .insert(&self.invoices, index, invoice_key);
            }
            Event::InvoiceDelivered(e) => {
                if let Some(inv) = self.invoice_mut(&e.invoice_id) {
                    inv.delivered_on = Some(e.confirmed_on);
                }
            }
            Event::InvoiceDisputed(e) => {
                if let Some(inv) = self.invoice_mut(&e.invoice_id) {
                    inv.disputes.push(Dispute {
                        from: e.disputed_on,
                        until: None,
                        reason: e.reason.clone(),
                    });
                }
            }
            Event::DisputeResolved(e) => {
                if let Some(d) = self
                    .invoice_mut(&e.invoice_id)
                    .and_then(|inv| inv.disputes.last_mut())
                {
                    d.until = Some(e.resolved_on);
                }
            }
            Event::CreditNoteIssued(e) => {
                self.credit_notes.insert(e.credit_note_id.clone());
                self.push_entry(&e.invoice_id, e.issued_on, -e.amount, EntryKind::CreditNote);
            }
            Event::LateFeeCharged(e) => {
                if let Some(inv) = self.invoice_mut(&e.invoice_id) {
                    inv.fee_periods.push(e.period);
                    inv.fees.push(Fee {
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
                if let Some(inv) = self.invoice_mut(&e.invoice_id) {
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
                let index = self.payments.len();
                for a in &e.allocations {
                    self.push_entry(
                        &a.invoice_id,
                        e.received_on,
                        -a.amount.saturating_add(a.discount),
                        EntryKind::Payment(index),
                    );
                }
                self.payments.push(Payment {
                    id: e.payment_id.clone(),
                    amount: e.amount,
                    received_on: e.received_on,
                    method: e.method.clone(),
                    allocations: e.allocations.clone(),
                    unapplied: e.unapplied,
                    reversed_on: None,
                });
                self.payment_index
                    .insert(&self.payments, index, payment_key);
            }
            Event::PaymentReversed(e) => {
                if let Some(index) =
                    self.payment_index
                        .get(&self.payments, &e.payment_id, payment_key)
                {
                    if let Some(p) = self.payments.get_mut(index) {
                        p.reversed_on = Some(e.reversed_on);
                    }
                    for inv in &mut self.invoices {
                        for entry in &mut inv.entries {
                            if entry.kind == EntryKind::Payment(index) {
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
                if let Some(p) = self.promise_mut(&e.promise_id) {
                    p.kept_on = Some(e.kept_on);
                }
            }
            Event::PromiseBroken(e) => {
                if let Some(p) = self.promise_mut(&e.promise_id) {
                    p.broken_on = Some(e.effective_on);
                    p.shortfall = Some(e.shortfall);
                    p.broken_position = Some(position);
                }
            }
            Event::PromiseReinstated(e) => {
                if let Some(p) = self.promise_mut(&e.promise_id) {
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
                    if let Some(inv) = self.invoice_mut(id) {
                        inv.escalated_on.get_or_insert(e.escalated_on);
                    }
                }
            }
            Event::PolicyAdopted(_) => {}
        }
    }

    fn push_entry(
        &mut self,
        invoice_id: &InvoiceId,
        on: NaiveDate,
        change: Decimal,
        kind: EntryKind,
    ) {
        if let Some(inv) = self.invoice_mut(invoice_id) {
            inv.entries.push(Entry {
                on,
                until: None,
                change,
                kind,
            });
        }
    }

    fn push_promise(&mut self, promise: Promise) {
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
                if let Some(inv) = self.invoice_mut(id) {
                    inv.steps_fulfilled.push((step.clone(), on));
                }
            }
        }
    }

    // ---- Lookups -----------------------------------------------------------------------------

    pub fn invoice(&self, id: &InvoiceId) -> Option<&Invoice> {
        let i = self.invoice_index.get(&self.invoices, id, invoice_key)?;
        self.invoices.get(i)
    }

    fn invoice_mut(&mut self, id: &InvoiceId) -> Option<&mut Invoice> {
        let i = self.invoice_index.get(&self.invoices, id, invoice_key)?;
        self.invoices.get_mut(i)
    }

    pub fn payment(&self, id: &PaymentId) -> Option<&Payment> {
        let i = self.payment_index.get(&self.payments, id, payment_key)?;
        self.payments.get(i)
    }

    pub fn promise(&self, id: &PromiseId) -> Option<&Promise> {
        let i = self.promise_index.get(&self.promises, id, promise_key)?;
        self.promises.get(i)
    }

    fn promise_mut(&mut self, id: &PromiseId) -> Option<&mut Promise> {
        let i = self.promise_index.get(&self.promises, id, promise_key)?;
        self.promises.get_mut(i)
    }

    // ---- Memory ------------------------------------------------------------------------------

    /// Rebuilds the lookups by id, which a snapshot does not hold; call after deserializing.
    pub fn restore_indexes(&mut self) {
        self.invoice_index = IdIndex::rebuild(&self.invoices, invoice_key);
        self.payment_index = IdIndex::rebuild(&self.payments, payment_key);
        self.promise_index = IdIndex::rebuild(&self.promises, promise_key);
    }

    /// Gives back the room vectors keep for growth (after a replay, most of an invoice's entry
    /// list would be spare capacity). Changes no value.
    pub fn shrink_to_fit(&mut self) {
        for invoice in &mut self.invoices {
            invoice.shrink_to_fit();
        }
        self.invoices.shrink_to_fit();
        for payment in &mut self.payments {
            payment.allocations.shrink_to_fit();
        }
        self.payments.shrink_to_fit();
        for promise in &mut self.promises {
            promise.invoice_ids.shrink_to_fit();
        }
        self.promises.shrink_to_fit();
        self.invoice_index
            .shrink_to_fit(&self.invoices, invoice_key);
        self.payment_index
            .shrink_to_fit(&self.payments, payment_key);
        self.promise_index
            .shrink_to_fit(&self.promises, promise_key);
        self.credit_notes.shrink_to_fit();
        self.applications.shrink_to_fit();
        self.plans.shrink_to_fit();
        self.holds.shrink_to_fit();
        self.cash_only.shrink_to_fit();
        self.contacts_made.shrink_to_fit();
        self.steps_fulfilled.shrink_to_fit();
    }

    // ---- As of a date ------------------------------------------------------------------------

    /// Cash received on or before `date`, not reversed by then, and not yet put on invoices;
    /// with the money reversed late fees released from their `unapplied_on` (SPEC §7).
    pub fn unapplied_on(&self, date: NaiveDate) -> Decimal {
        let received = crate::money::sum(
            self.payments
                .iter()
                .filter(|p| p.in_force_on(date))
                .map(|p| p.unapplied),
        )
        .saturating_add(self.released_on(date));
        let applied = crate::money::sum(
            self.applications
                .iter()
                .filter(|(on, _)| *on <= date)
                .map(|(_, amount)| *amount),
        );
        received.saturating_sub(applied)
    }

    /// Money of reversed late fees released to unapplied cash on or before `date`.
    pub fn released_on(&self, date: NaiveDate) -> Decimal {
        self.releases()
            .filter(|r| r.on.is_some_and(|on| on <= date))
            .fold(Decimal::ZERO, |sum, r| sum.saturating_add(r.amount))
    }

    fn releases(&self) -> impl Iterator<Item = &Released> {
        self.invoices
            .iter()
            .flat_map(|i| i.fees.iter())
            .filter_map(|f| f.reversed.as_ref())
            .filter(|r| r.amount > Decimal::ZERO)
    }

    /// The least unapplied cash on `date` or any later date a recorded event touches: what may
    /// be applied on `date` without the balance going negative later.
    pub fn unapplied_available_on(&self, date: NaiveDate) -> Decimal {
        let mut lowest = self.unapplied_on(date);
        let later = self
            .payments
            .iter()
            .flat_map(|p| [Some(p.received_on), p.reversed_on])
            .chain(self.applications.iter().map(|(on, _)| Some(*on)))
            .chain(self.releases().map(|r| r.on))
            .flatten()
            .filter(|t| *t > date);
        for t in later {
            lowest = lowest.min(self.unapplied_on(t));
        }
        lowest
    }

    /// Sum of open invoices as of `date`.
    pub fn receivables_on(&self, date: NaiveDate) -> Decimal {
        crate::money::sum(self.invoices.iter().map(|i| i.open_on(date)))
    }

    /// Exposure as of `date` (SPEC §7): open receivables of every age − unapplied cash.
    pub fn exposure_on(&self, date: NaiveDate) -> Decimal {
        self.receivables_on(date)
            .saturating_sub(self.unapplied_on(date))
    }

    /// Exposure counting every recorded fact, whatever its date.
    pub fn exposure_now(&self) -> Decimal {
        self.exposure_on(NaiveDate::MAX)
    }

    pub fn on_probation(&self, date: NaiveDate, policy: &Policy) -> bool {
        let end = self
            .opened_on
            .checked_add_days(Days::new(u64::from(policy.probation.days)))
            .unwrap_or(NaiveDate::MAX);
        date < end
    }

    /// The credit limit in force on `date`: reduced by the probation ratio for new accounts.
    pub fn effective_limit_on(&self, date: NaiveDate, policy: &Policy) -> Decimal {
        if self.on_probation(date, policy) {
            self.currency.round(
                self.credit_limit
                    .saturating_mul(policy.probation.limit_ratio),
            )
        } else {
            self.credit_limit
        }
    }

    /// The hold in force on `date`, if any.
    pub fn hold_on(&self, date: NaiveDate) -> Option<&Hold> {
        latest_on(&self.holds, date)
    }

    /// The cash-only reason in force on `date`, if any.
    pub fn cash_only_on(&self, date: NaiveDate) -> Option<&String> {
        latest_on(&self.cash_only, date)
    }

    /// Payments as promise coverage counts them on `date`.
    pub fn cash_in_on(&self, date: NaiveDate) -> Vec<CashIn> {
        self.payments
            .iter()
            .filter(|p| p.in_force_on(date))
            .map(|p| CashIn {
                received_on: p.received_on,
                amount: p.amount,
            })
            .collect()
    }

    /// Date of the most recent contact on or before `date`.
    pub fn last_contact_on(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.contacts_made
            .iter()
            .map(|c| c.at.date_naive())
            .filter(|d| *d <= date)
            .max()
    }

    /// Whether a contact about the whole account fulfilled `step` on or before `date`.
    pub fn account_step_fulfilled_by(&self, step: &str, date: NaiveDate) -> bool {
        self.steps_fulfilled
            .iter()
            .any(|(s, on)| s == step && *on <= date)
    }
}

/// The state of the latest change effective on or before `date` (ties: the later recorded wins).
fn latest_on<T>(changes: &[StatusChange<T>], date: NaiveDate) -> Option<&T> {
    let mut best: Option<&StatusChange<T>> = None;
    for c in changes {
        if c.effective_on <= date && best.is_none_or(|b| c.effective_on >= b.effective_on) {
            best = Some(c);
        }
    }
    best.and_then(|c| c.state.as_ref())
}
