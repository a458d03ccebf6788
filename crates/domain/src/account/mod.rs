//! The account aggregate: here its state, lookups by id, and what it owes or holds as of a date;
//! `evolve.rs` how recorded facts change it. Nothing here decides: that is `decide` and the clock.

use std::collections::HashSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::*;
use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use crate::id_index::IdIndex;
use crate::invoice::{Invoice, Released};
use crate::money::Currency;
use crate::one_or_many::OneOrMany;
use crate::packed_amount::PackedAmount;
use crate::policy::Policy;
use crate::promise::{CashIn, Promise};

/// A payment as the account keeps it. What it put on each invoice is in that invoice's entries
/// (`EntryKind::Payment`); the payment keeps only which invoices, in the order allocated. Amounts
/// are packed (decision 0052).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub amount: PackedAmount,
    #[serde(with = "crate::binary_form::date")]
    pub received_on: NaiveDate,
    #[serde(with = "crate::binary_form::optional_date")]
    pub reversed_on: Option<NaiveDate>,
    pub unapplied: PackedAmount,
    /// Positions in `Account::invoices` of the invoices it was allocated to (an allocation to an
    /// invoice the account does not hold, which only a damaged log could carry, is left out as
    /// its entry is); read through [`Account::invoices_paid_by`].
    pub invoices: OneOrMany<u32>,
}

impl Payment {
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.received_on <= date && self.reversed_on.is_none_or(|r| r > date)
    }

    /// The money received.
    pub fn amount(&self) -> Decimal {
        self.amount.get()
    }

    /// What was left unallocated, as recorded.
    pub fn unapplied(&self) -> Decimal {
        self.unapplied.get()
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

/// A reminder that could not be delivered: for the worklist's "last attempt failed".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailure {
    pub step: Option<String>,
    pub invoice_ids: Vec<InvoiceId>,
    pub failed_at: DateTime<Utc>,
    pub reason: String,
}

/// (The id indexes are `pub(crate)` for `crate::snapshot_form`, which builds a decoded account.)
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
    pub(crate) invoice_index: IdIndex,
    pub payments: Vec<Payment>,
    #[serde(skip)]
    pub(crate) payment_index: IdIndex,
    pub credit_notes: HashSet<CreditNoteId>,
    /// Unapplied cash put on invoices: (applied_on, total).
    pub applications: Vec<(NaiveDate, Decimal)>,
    pub promises: Vec<Promise>,
    #[serde(skip)]
    pub(crate) promise_index: IdIndex,
    pub plans: HashSet<PlanId>,
    pub holds: Vec<StatusChange<Hold>>,
    pub cash_only: Vec<StatusChange<String>>,
    pub contacts_made: Vec<ContactMade>,
    /// Ladder steps fulfilled by contacts about the whole account (no invoice ids).
    pub steps_fulfilled: Vec<(String, NaiveDate)>,
    /// Reminders dunlog could not deliver (SPEC §12), in the order recorded.
    pub delivery_failures: Vec<DeliveryFailure>,
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

mod evolve;

pub use self::evolve::evolve;

impl Account {
    /// The last failed delivery of `step` that named `invoice` (or the whole account). A step
    /// that a contact fulfilled later is off the worklist anyway, so this is "why it is still
    /// there" for the steps that are.
    pub fn last_delivery_failure(
        &self,
        step: &str,
        invoice: &InvoiceId,
    ) -> Option<&DeliveryFailure> {
        self.delivery_failures.iter().rev().find(|f| {
            f.step.as_deref() == Some(step)
                && (f.invoice_ids.is_empty() || f.invoice_ids.contains(invoice))
        })
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

    /// The invoices `payment` was allocated to, in the order allocated.
    pub fn invoices_paid_by<'a>(
        &'a self,
        payment: &'a Payment,
    ) -> impl Iterator<Item = &'a Invoice> + 'a {
        payment
            .invoices
            .iter()
            .filter_map(|&i| self.invoices.get(usize::try_from(i).ok()?))
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

    /// Forgets the lookups by id, which a snapshot does not hold: the next lookup builds them
    /// from the vectors (call after deserializing or after changing a vector by hand).
    pub fn restore_indexes(&mut self) {
        self.invoice_index.reset();
        self.payment_index.reset();
        self.promise_index.reset();
    }

    /// Whether any lookup by id has been built (they are built on the first lookup).
    pub fn indexes_built(&self) -> bool {
        self.invoice_index.is_built()
            || self.payment_index.is_built()
            || self.promise_index.is_built()
    }

    /// Gives back the room vectors keep for growth (after a replay, most of an invoice's entry
    /// list would be spare capacity). Changes no value.
    pub fn shrink_to_fit(&mut self) {
        for invoice in &mut self.invoices {
            invoice.shrink_to_fit();
        }
        self.invoices.shrink_to_fit();
        for payment in &mut self.payments {
            payment.invoices.shrink_to_fit();
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
                .map(Payment::unapplied),
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
            .flat_map(|i| i.extras().fees.iter())
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
                amount: p.amount(),
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
