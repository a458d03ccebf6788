//! An invoice's dated history and what is open on it as of a date (SPEC §7 "open amount") or
//! available to take off it (SPEC §4 "available on date r").

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::Terms;
use crate::id::InvoiceId;
use crate::one_or_many::OneOrMany;
use crate::packed_amount::PackedAmount;

/// What changed an invoice's open amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    LateFee,
    /// Money (and its discount) from the payment at this index of `Account::payments`.
    Payment(u32),
    CreditNote,
    WriteOff,
    UnappliedCash,
    /// Money that had covered a late fee later reversed, moved off the invoice into the
    /// customer's unapplied cash (a `LateFeeReversed`'s `unapplied`, from its `unapplied_on`).
    FeeReleased,
}

/// A late fee as recorded: the clock's identity for it is (invoice, period); reconciliation
/// names it by the position of its `LateFeeCharged`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub period: u32,
    #[serde(with = "crate::binary_form::decimal")]
    pub amount: Decimal,
    #[serde(with = "crate::binary_form::date")]
    pub charged_on: NaiveDate,
    /// Position of its `LateFeeCharged` in the log.
    pub position: u64,
    /// Set once a `LateFeeReversed` took it off: the money it released and from when.
    pub reversed: Option<Released>,
}

/// What a fee reversal moved to unapplied cash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    #[serde(with = "crate::binary_form::decimal")]
    pub amount: Decimal,
    #[serde(with = "crate::binary_form::optional_date")]
    pub on: Option<NaiveDate>,
}

/// One dated change to the open amount, in force on `[on, until)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "crate::binary_form::date")]
    pub on: NaiveDate,
    /// Set when the change is undone (a reversed payment) from that date on.
    #[serde(with = "crate::binary_form::optional_date")]
    pub until: Option<NaiveDate>,
    /// Signed effect on the open amount: `+` for fees, `−` for money and corrections. Read
    /// through [`Entry::change`].
    pub change: PackedAmount,
    pub kind: EntryKind,
}

impl Entry {
    pub fn new(on: NaiveDate, change: Decimal, kind: EntryKind) -> Entry {
        Entry {
            on,
            until: None,
            change: PackedAmount::new(change),
            kind,
        }
    }

    /// Signed effect on the open amount.
    pub fn change(&self) -> Decimal {
        self.change.get()
    }

    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.on <= date && self.until.is_none_or(|u| u > date)
    }
}

/// A period `[from, until)` during which an invoice was disputed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    #[serde(with = "crate::binary_form::date")]
    pub from: NaiveDate,
    #[serde(with = "crate::binary_form::optional_date")]
    pub until: Option<NaiveDate>,
    pub reason: String,
}

/// What few invoices have — a reference, disputes, a delivery, fees, contacts, an escalation —
/// kept behind one pointer: an invoice with none of them (most: issued and paid) spends 8
/// bytes on all of them instead of 136 (docs/performance.md, "Memory").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceExtras {
    pub reference: Option<String>,
    pub disputes: Vec<Dispute>,
    #[serde(with = "crate::binary_form::optional_date")]
    pub delivered_on: Option<NaiveDate>,
    /// Periods of the late fees charged and not reversed (the clock's identity for a fee).
    pub fee_periods: Vec<u32>,
    /// Every late fee charged, reversed ones included, in the order recorded.
    pub fees: Vec<Fee>,
    /// Ladder steps fulfilled by a contact about this invoice, with the contact's date.
    pub steps_fulfilled: Vec<(String, NaiveDate)>,
    #[serde(with = "crate::binary_form::optional_date")]
    pub escalated_on: Option<NaiveDate>,
    /// The early-payment discount of its terms. (The rest of the terms, the net days, is in
    /// `due_on`: nothing else reads them.)
    pub discount: Option<Discount>,
}

/// An early-payment discount: `percent` off when paid within `days` of issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub percent: Decimal,
    pub days: u32,
}

/// The extras of an invoice that has none.
static NO_EXTRAS: InvoiceExtras = InvoiceExtras {
    reference: None,
    disputes: Vec::new(),
    delivered_on: None,
    fee_periods: Vec::new(),
    fees: Vec::new(),
    steps_fulfilled: Vec::new(),
    escalated_on: None,
    discount: None,
};

/// (The amount is packed; rare fields are in the extras, read through [`Invoice::extras`] and
/// [`Invoice::discount`]: decision 0052.)
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Invoice {
    pub id: InvoiceId,
    pub amount: PackedAmount,
    #[serde(with = "crate::binary_form::date")]
    pub issued_on: NaiveDate,
    #[serde(with = "crate::binary_form::date")]
    pub due_on: NaiveDate,
    pub entries: OneOrMany<Entry>,
    /// `None` while it has no extras; read through [`Invoice::extras`] (`pub(crate)` for
    /// `crate::snapshot_form`).
    pub(crate) extras: Option<Box<InvoiceExtras>>,
}

/// Equal when every value is: an invoice whose extras were made and left empty equals one that
/// never had any.
impl PartialEq for Invoice {
    fn eq(&self, other: &Invoice) -> bool {
        self.id == other.id
            && self.amount == other.amount
            && self.issued_on == other.issued_on
            && self.due_on == other.due_on
            && self.entries == other.entries
            && self.extras() == other.extras()
    }
}

impl Eq for Invoice {}

impl Invoice {
    /// An invoice as issued: nothing taken off, no extras but its reference.
    pub fn issued(
        id: InvoiceId,
        amount: Decimal,
        issued_on: NaiveDate,
        due_on: NaiveDate,
        terms: Terms,
        reference: Option<String>,
    ) -> Invoice {
        let mut invoice = Invoice {
            id,
            amount: PackedAmount::new(amount),
            issued_on,
            due_on,
            entries: OneOrMany::new(),
            extras: None,
        };
        if reference.is_some() {
            invoice.extras_mut().reference = reference;
        }
        if let (Some(percent), Some(days)) = (terms.discount_percent, terms.discount_days) {
            invoice.extras_mut().discount = Some(Discount { percent, days });
        }
        invoice
    }

    /// The amount invoiced.
    pub fn amount(&self) -> Decimal {
        self.amount.get()
    }

    /// The early-payment discount its terms offer, if they offer one.
    pub fn discount(&self) -> Option<Discount> {
        self.extras().discount
    }

    /// Its reference, disputes, delivery, fees, fulfilled steps and escalation.
    pub fn extras(&self) -> &InvoiceExtras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// Whether it keeps room for extras (for memory accounting).
    pub fn has_extras(&self) -> bool {
        self.extras.is_some()
    }

    /// Its extras, to change them (made on first use).
    pub fn extras_mut(&mut self) -> &mut InvoiceExtras {
        self.extras.get_or_insert_with(Default::default)
    }

    /// Gives back the room its lists keep for growth. Changes no value.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        if self.extras.as_deref().is_some_and(|e| *e == NO_EXTRAS) {
            self.extras = None;
        }
        if let Some(extras) = self.extras.as_deref_mut() {
            extras.disputes.shrink_to_fit();
            extras.fee_periods.shrink_to_fit();
            extras.fees.shrink_to_fit();
            extras.steps_fulfilled.shrink_to_fit();
        }
    }

    /// Takes the fee recorded at `position` off from its `charged_on`, and moves `unapplied` of
    /// the money that had covered it off the invoice from `unapplied_on`.
    pub fn reverse_fee(
        &mut self,
        position: u64,
        unapplied: Decimal,
        unapplied_on: Option<NaiveDate>,
    ) {
        let Some(extras) = self.extras.as_deref_mut() else {
            return;
        };
        let Some(fee) = extras
            .fees
            .iter_mut()
            .find(|f| f.position == position && f.reversed.is_none())
        else {
            return;
        };
        fee.reversed = Some(Released {
            amount: unapplied,
            on: unapplied_on,
        });
        let (period, amount, charged_on) = (fee.period, fee.amount, fee.charged_on);
        if let Some(entry) = self.entries.iter_mut().find(|e| {
            e.kind == EntryKind::LateFee
                && e.on == charged_on
                && e.change() == amount
                && e.until.is_none()
        }) {
            // In force on no date: `[on, on)` is empty.
            entry.until = Some(entry.on);
        }
        if let Some(i) = extras.fee_periods.iter().position(|p| *p == period) {
            extras.fee_periods.remove(i);
        }
        if let (Some(on), true) = (unapplied_on, unapplied > Decimal::ZERO) {
            self.entries
                .push(Entry::new(on, unapplied, EntryKind::FeeReleased));
        }
    }

    /// Open amount as of `date` (SPEC §7); zero before the invoice is issued.
    pub fn open_on(&self, date: NaiveDate) -> Decimal {
        if self.issued_on > date {
            return Decimal::ZERO;
        }
        self.entries
            .iter()
            .filter(|e| e.in_force_on(date))
            .fold(self.amount(), |open, e| open.saturating_add(e.change()))
    }

    /// Late fees charged on or before `date` and not reversed.
    pub fn fees_on(&self, date: NaiveDate) -> Decimal {
        crate::money::sum(
            self.entries
                .iter()
                .filter(|e| e.kind == EntryKind::LateFee && e.in_force_on(date))
                .map(Entry::change),
        )
    }

    /// The open principal: the open amount less the fees charged (SPEC §5 "fees excluded: no
    /// compounding"). Money settles principal first, so paying the invoiced amount stops fees
    /// even while a fee itself is still open (docs/decisions/0003-late-fee-base.md).
    pub fn principal_open_on(&self, date: NaiveDate) -> Decimal {
        (self.open_on(date).saturating_sub(self.fees_on(date)))
            .min(self.amount())
            .max(Decimal::ZERO)
    }

    /// The most that may be taken off on `date`: the smallest open amount on that date or on any
    /// later date some recorded event touches, so that back-dated facts never drive the invoice
    /// negative on any date (SPEC §4).
    pub fn available_on(&self, date: NaiveDate) -> Decimal {
        if self.issued_on > date {
            return Decimal::ZERO;
        }
        let mut lowest = self.open_on(date);
        for e in &self.entries {
            for t in [Some(e.on), e.until].into_iter().flatten() {
                if t > date {
                    lowest = lowest.min(self.open_on(t));
                }
            }
        }
        lowest.max(Decimal::ZERO)
    }

    pub fn disputed_on(&self, date: NaiveDate) -> bool {
        self.extras()
            .disputes
            .iter()
            .any(|d| d.from <= date && d.until.is_none_or(|u| u > date))
    }

    /// Disputed now, by the latest recorded facts.
    pub fn in_dispute(&self) -> bool {
        self.extras()
            .disputes
            .last()
            .is_some_and(|d| d.until.is_none())
    }

    /// Whether a contact about this invoice fulfilled `step` on or before `date`.
    pub fn step_fulfilled_by(&self, step: &str, date: NaiveDate) -> bool {
        let extras = self.extras();
        extras
            .steps_fulfilled
            .iter()
            .any(|(s, on)| s == step && *on <= date)
            || (step == "confirm_receipt" && extras.delivered_on.is_some_and(|d| d <= date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(reference: Option<String>) -> Invoice {
        let on = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let id = InvoiceId::parse("INV-1").unwrap_or_else(|_| unreachable!());
        let terms = Terms {
            net_days: 30,
            discount_percent: None,
            discount_days: None,
        };
        Invoice::issued(id, Decimal::ONE_HUNDRED, on, on, terms, reference)
    }

    #[test]
    fn an_invoice_keeps_room_for_extras_only_once_it_has_some() {
        assert!(!invoice(None).has_extras());
        assert!(invoice(Some("PO 7".to_owned())).has_extras());
        assert_eq!(invoice(None).extras(), &InvoiceExtras::default());
    }

    #[test]
    fn extras_made_and_left_empty_compare_equal_and_are_given_back() {
        let mut touched = invoice(None);
        let _ = touched.extras_mut().disputes.last_mut();
        assert!(touched.has_extras());
        assert_eq!(touched, invoice(None));
        touched.extras_mut().fee_periods.push(1);
        assert_ne!(touched, invoice(None));
        touched.extras_mut().fee_periods.clear();
        touched.shrink_to_fit();
        assert!(!touched.has_extras());
    }
}
