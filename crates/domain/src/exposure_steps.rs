//! An account's exposure as a step function of the date (SPEC §7): every fact `exposure_on`
//! reads, as a change from the date it comes into force (and back out on the date it stops),
//! summed once in date order, so the exposure on any date is a binary search instead of a walk
//! over every invoice's entries and every payment.
//!
//! It answers the same number as [`Account::exposure_on`] on every date from `NaiveDate::MIN` to
//! `NaiveDate::MAX`, or it is not built at all ([`ExposureSteps::of`] gives `None` and the caller
//! walks): see [`ExposureSteps::of`] for why the sums are exact. The same number, not always
//! written at the same scale: the walk's scale depends on the order of its additions
//! (`rust_decimal` passes a zero operand through unchanged, so `0.01 − 0.01 + 5` is `5` while
//! `0.01 + 5 − 0.01` is `5.00`), so whoever shows an exposure shows it through
//! `Currency::display`, as every read model does.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::account::Account;

/// The exposure from `from` until the next step's `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    from: NaiveDate,
    exposure: Decimal,
}

/// One account's exposure on every date, as the steps where it changes. Before the first step
/// the exposure is zero (nothing is in force yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureSteps {
    /// Ordered by `from`, one per date on which a fact comes into or goes out of force (dates on
    /// which nothing visible changes are left out).
    steps: Vec<Step>,
}

/// A fact's contribution to the exposure while it is in force: `value` on `[from, until)`.
struct Term {
    from: NaiveDate,
    until: Option<NaiveDate>,
    value: Decimal,
}

/// One end of a term: `value` joins the sum on `on` (`enters`), or leaves it (negated).
struct Change {
    on: NaiveDate,
    value: Decimal,
    scale: u32,
    enters: bool,
}

impl ExposureSteps {
    /// The step function of `account`'s exposure, or `None` when its amounts are too large for
    /// the sums to be exact.
    ///
    /// Why the answer is the walk's: `exposure_on(d)` sums the terms in force on `d` (each
    /// invoice's amount from `issued_on`; each entry's change on `[on, until)`, from the
    /// invoice's issue at the earliest; minus each payment's unapplied cash while it is in
    /// force; minus fee money released from its date; plus applied cash from its date) with
    /// saturating additions in its own order. Here the same terms are added in date order, each
    /// once on entering and once (negated) on leaving. Decimal addition is exact, and so both
    /// orders give the same value, as long as no partial sum needs more than the 96 bits of a
    /// `Decimal`'s mantissa at the largest scale of the terms; no partial sum of either order
    /// exceeds twice the sum of the terms' magnitudes, so that bound is checked first and an
    /// account beyond it (only possible with amounts recorded before the 10^15 bound of SPEC §2,
    /// docs/decisions/0009-amounts-never-overflow.md) gets `None` and is walked, saturating as
    /// before.
    pub fn of(account: &Account) -> Option<ExposureSteps> {
        let terms = terms_of(account);
        let mut changes = Vec::with_capacity(terms.len() * 2);
        let mut scale_max = 0;
        for term in &terms {
            let from = term.from;
            if term.until.is_some_and(|until| until <= from) {
                // In force on no date (a reversed fee's entry, a payment reversed the day it
                // was received): the walk never counts it.
                continue;
            }
            let scale = term.value.scale();
            scale_max = scale_max.max(scale);
            changes.push(Change {
                on: from,
                value: term.value,
                scale,
                enters: true,
            });
            if let Some(until) = term.until {
                changes.push(Change {
                    on: until,
                    value: -term.value,
                    scale,
                    enters: false,
                });
            }
        }
        if !exact(&changes, scale_max) {
            return None;
        }
        changes.sort_by_key(|c| c.on);

        let mut steps: Vec<Step> = Vec::new();
        let mut sum = Decimal::ZERO;
        let mut i = 0;
        while let Some(first) = changes.get(i) {
            let on = first.on;
            while let Some(c) = changes.get(i).filter(|c| c.on == on) {
                sum = sum.checked_add(c.value)?;
                i += 1;
            }
            let mut exposure = sum;
            if exposure.is_zero() {
                // `−5 + 5` is a negative zero, shown as `-0.00`; the walk starts its sums from
                // `Decimal::ZERO` and adds the receivables first, so it answers a plain zero.
                exposure.set_sign_positive(true);
            }
            // A date whose changes cancel out is no step.
            if steps.last().map_or(Decimal::ZERO, |s| s.exposure) != exposure {
                steps.push(Step { from: on, exposure });
            }
        }
        steps.shrink_to_fit();
        Some(ExposureSteps { steps })
    }

    /// The exposure on `date`: what [`Account::exposure_on`] gives for it.
    pub fn on(&self, date: NaiveDate) -> Decimal {
        let after = self.steps.partition_point(|s| s.from <= date);
        after
            .checked_sub(1)
            .and_then(|i| self.steps.get(i))
            .map_or(Decimal::ZERO, |s| s.exposure)
    }

    /// Dates on which the exposure changes.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Bytes held on the heap (for memory accounting of a cache of these).
    pub fn heap_bytes(&self) -> usize {
        self.steps.capacity() * std::mem::size_of::<Step>()
    }
}

/// Whether every partial sum of the changes, in any order and any grouping, fits a `Decimal`
/// exactly at `scale`: twice the sum of the terms' magnitudes (each term is at most one change
/// in and one out) must fit the 96-bit mantissa.
fn exact(changes: &[Change], scale: u32) -> bool {
    let mut total: u128 = 0;
    for c in changes.iter().filter(|c| c.enters) {
        let Some(widen) = scale
            .checked_sub(c.scale)
            .and_then(|up| 10u128.checked_pow(up))
        else {
            return false;
        };
        let Some(next) = c
            .value
            .mantissa()
            .unsigned_abs()
            .checked_mul(widen)
            .and_then(|m| total.checked_add(m))
        else {
            return false;
        };
        total = next;
    }
    // The largest mantissa a Decimal holds: 2^96 − 1.
    const MANTISSA_MAX: u128 = (1 << 96) - 1;
    total.checked_mul(2).is_some_and(|t| t <= MANTISSA_MAX)
}

/// Every term `Account::exposure_on` adds or subtracts, with the dates it is in force.
fn terms_of(account: &Account) -> Vec<Term> {
    let mut terms = Vec::new();
    for invoice in &account.invoices {
        // `Invoice::open_on`: zero before the issue date, else the amount and every entry in
        // force.
        terms.push(Term {
            from: invoice.issued_on,
            until: None,
            value: invoice.amount(),
        });
        for entry in &invoice.entries {
            terms.push(Term {
                from: entry.on.max(invoice.issued_on),
                until: entry.until,
                value: entry.change(),
            });
        }
        // `Account::released_on`: money of reversed fees, from its date, subtracted through
        // unapplied cash.
        for released in invoice
            .extras()
            .fees
            .iter()
            .filter_map(|f| f.reversed.as_ref())
        {
            if let (Some(on), true) = (released.on, released.amount > Decimal::ZERO) {
                terms.push(Term {
                    from: on,
                    until: None,
                    value: -released.amount,
                });
            }
        }
    }
    // `Account::unapplied_on`: payments' unapplied cash while in force, less what was applied.
    for payment in &account.payments {
        terms.push(Term {
            from: payment.received_on,
            until: payment.reversed_on,
            value: -payment.unapplied(),
        });
    }
    for (on, amount) in &account.applications {
        terms.push(Term {
            from: *on,
            until: None,
            value: *amount,
        });
    }
    terms
}

impl Account {
    /// This account's exposure as a step function of the date, or `None` when its amounts are
    /// too large for exact sums (then [`Account::exposure_on`] is the answer): see
    /// [`ExposureSteps::of`].
    pub fn exposure_steps(&self) -> Option<ExposureSteps> {
        ExposureSteps::of(self)
    }
}
