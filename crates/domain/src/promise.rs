//! Promises to pay, and which payments keep them (SPEC §5: "a promise is kept once payments
//! received on or after `made_on` (oldest promise first) cover its amount").

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{InvoiceId, PlanId, PromiseId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
    /// Empty: the promise covers the whole account.
    pub invoice_ids: Vec<InvoiceId>,
    pub made_on: NaiveDate,
    pub via: String,
    pub plan_id: Option<PlanId>,
    pub kept_on: Option<NaiveDate>,
    pub broken_on: Option<NaiveDate>,
    pub shortfall: Option<Decimal>,
    /// Position of the `PromiseBroken` in force, which a `PromiseReinstated` names.
    #[serde(default)]
    pub broken_position: Option<u64>,
}

/// Where a promise stands as of a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromiseStatus {
    Open,
    Kept,
    Broken,
}

impl Promise {
    /// The last day payments count for it: `promised_on + grace_days`.
    pub fn deadline(&self, grace_days: u32) -> NaiveDate {
        self.promised_on
            .checked_add_days(Days::new(u64::from(grace_days)))
            .unwrap_or(NaiveDate::MAX)
    }

    /// As of `date`, or `None` before it was made. A promise kept by a payment that bounced
    /// before its grace ended is broken afterwards: the later fact wins.
    pub fn status_on(&self, date: NaiveDate) -> Option<PromiseStatus> {
        if self.made_on > date {
            return None;
        }
        let kept = self.kept_on.filter(|k| *k <= date);
        let broken = self.broken_on.filter(|b| *b <= date);
        match (kept, broken) {
            (Some(k), Some(b)) if b > k => Some(PromiseStatus::Broken),
            (Some(_), _) => Some(PromiseStatus::Kept),
            (None, Some(_)) => Some(PromiseStatus::Broken),
            (None, None) => Some(PromiseStatus::Open),
        }
    }

    /// Covers an invoice against dunning on `date` (SPEC §7 worklist): made, not kept, and
    /// `date ≤ promised_on + grace`.
    pub fn covers_on(&self, invoice_id: &InvoiceId, date: NaiveDate, grace_days: u32) -> bool {
        self.made_on <= date
            && self.kept_on.is_none_or(|k| k > date)
            && date <= self.deadline(grace_days)
            && (self.invoice_ids.is_empty() || self.invoice_ids.contains(invoice_id))
    }
}

/// A payment as promise coverage sees it.
pub struct CashIn {
    pub received_on: NaiveDate,
    pub amount: Decimal,
}

/// How much of each promise the payments cover: payments in date order, each spread over the
/// promises made on or before it whose deadline it meets, oldest promise first.
pub fn coverage(promises: &[Promise], payments: &[CashIn], grace_days: u32) -> Vec<Decimal> {
    let mut order: Vec<usize> = (0..promises.len()).collect();
    order.sort_by_key(|&i| {
        let p = &promises[i];
        (p.made_on, p.promised_on, i)
    });
    let mut remaining: Vec<Decimal> = promises.iter().map(|p| p.amount).collect();
    let mut cash: Vec<&CashIn> = payments.iter().collect();
    cash.sort_by_key(|c| c.received_on);
    for payment in cash {
        let mut money = payment.amount;
        for &i in &order {
            if money <= Decimal::ZERO {
                break;
            }
            let p = &promises[i];
            if p.made_on <= payment.received_on
                && payment.received_on <= p.deadline(grace_days)
                && remaining[i] > Decimal::ZERO
            {
                let take = money.min(remaining[i]);
                remaining[i] = remaining[i].saturating_sub(take);
                money = money.saturating_sub(take);
            }
        }
    }
    promises
        .iter()
        .zip(remaining)
        .map(|(p, r)| p.amount.saturating_sub(r))
        .collect()
}
