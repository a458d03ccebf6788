//! Collection metrics as of a date, per currency, never summed across currencies (SPEC §7):
//! DSO, CEI, promise-kept rate, average days to pay. Definitions in docs/metrics.md.
//!
//! Open receivables come from the aging rows (`aging::aging_row`), so the metrics and the aging
//! report can never disagree on what is open.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use domain::invoice::{EntryKind, Invoice};
use domain::promise::PromiseStatus;
use domain::{money, Currency};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::aging::aging_row;
use crate::ledger::Ledger;

/// The window SPEC §7 names for DSO when none is given.
pub const WINDOW_DAYS_DEFAULT: u32 = 90;
/// Decimal places of DSO, CEI, the kept rate and average days.
pub const METRIC_DP: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub currency: Currency,
    pub as_of: NaiveDate,
    pub window_days: u32,
    /// Σ open invoices on `as_of` (every bucket, gross of unapplied cash).
    pub open_receivables: Decimal,
    /// Σ amounts of invoices issued in the window `(as_of − W, as_of]`.
    pub credit_sales: Decimal,
    /// `open_receivables ÷ credit_sales × W`; none without credit sales.
    pub dso: Option<Decimal>,
    /// Collection effectiveness index over the window, in percent.
    pub cei: Option<Decimal>,
    /// Kept ÷ (kept + broken) of promises due in the window, in percent.
    pub promise_kept_rate: Option<Decimal>,
    /// Mean days from issue to full payment, of invoices paid in full in the window.
    pub average_days_to_pay: Option<Decimal>,
}

#[derive(Default)]
struct Sums {
    open_end: Decimal,
    current_end: Decimal,
    open_start: Decimal,
    credit_sales: Decimal,
    kept: u32,
    broken: u32,
    paid_invoices: u32,
    paid_days: i64,
}

/// The day an invoice was paid in full by `as_of`, if money (not a write-off or credit alone)
/// closed it: the date of the last change in force that brought it to zero.
pub fn paid_in_full_on(invoice: &Invoice, as_of: NaiveDate) -> Option<NaiveDate> {
    if invoice.issued_on > as_of || !invoice.open_on(as_of).is_zero() {
        return None;
    }
    let mut paid = false;
    let mut last: Option<NaiveDate> = None;
    for e in invoice.entries.iter().filter(|e| e.in_force_on(as_of)) {
        match e.kind {
            EntryKind::WriteOff => return None,
            EntryKind::Payment(_) | EntryKind::UnappliedCash => paid = true,
            EntryKind::LateFee | EntryKind::CreditNote | EntryKind::FeeReleased => {}
        }
        last = Some(last.map_or(e.on, |l| l.max(e.on)));
    }
    if paid {
        last
    } else {
        None
    }
}

fn ratio(numerator: Decimal, denominator: Decimal, scale: Decimal) -> Option<Decimal> {
    (denominator > Decimal::ZERO)
        .then(|| {
            let mut value = numerator
                .checked_div(denominator)?
                .checked_mul(scale)?
                .round_dp(METRIC_DP);
            value.rescale(METRIC_DP);
            Some(value)
        })
        .flatten()
}

impl Ledger {
    /// Metrics as of `as_of` over the `window_days` days up to it, one per currency.
    pub fn metrics(&self, as_of: NaiveDate, window_days: u32) -> Vec<Metrics> {
        let rules = self.policy().aging;
        let start = as_of
            .checked_sub_days(Days::new(u64::from(window_days)))
            .unwrap_or(NaiveDate::MIN);
        let in_window = |d: NaiveDate| start < d && d <= as_of;
        let mut by_currency: BTreeMap<&Currency, Sums> = BTreeMap::new();
        for account in self.accounts.values() {
            let sums = by_currency.entry(&account.currency).or_default();
            if let Some(row) = aging_row(account, &rules, as_of) {
                sums.open_end = sums
                    .open_end
                    .saturating_add(money::sum(row.amounts.iter().copied()));
                sums.current_end = sums
                    .current_end
                    .saturating_add(row.amounts.first().copied().unwrap_or_default());
            }
            if let Some(row) = aging_row(account, &rules, start) {
                sums.open_start = sums
                    .open_start
                    .saturating_add(money::sum(row.amounts.iter().copied()));
            }
            for invoice in &account.invoices {
                if in_window(invoice.issued_on) {
                    sums.credit_sales = sums.credit_sales.saturating_add(invoice.amount());
                }
                if let Some(paid_on) = paid_in_full_on(invoice, as_of).filter(|d| in_window(*d)) {
                    sums.paid_invoices += 1;
                    sums.paid_days += (paid_on - invoice.issued_on).num_days();
                }
            }
            for p in &account.promises {
                if !in_window(p.promised_on) {
                    continue;
                }
                match p.status_on(as_of) {
                    Some(PromiseStatus::Kept) => sums.kept += 1,
                    Some(PromiseStatus::Broken) => sums.broken += 1,
                    _ => {}
                }
            }
        }
        let hundred = Decimal::ONE_HUNDRED;
        by_currency
            .into_iter()
            .map(|(currency, s)| {
                let collectible = s.open_start.saturating_add(s.credit_sales);
                Metrics {
                    currency: currency.clone(),
                    as_of,
                    window_days,
                    open_receivables: currency.display(s.open_end),
                    credit_sales: currency.display(s.credit_sales),
                    dso: ratio(s.open_end, s.credit_sales, Decimal::from(window_days)),
                    cei: ratio(
                        collectible.saturating_sub(s.open_end),
                        collectible.saturating_sub(s.current_end),
                        hundred,
                    ),
                    promise_kept_rate: ratio(
                        Decimal::from(s.kept),
                        Decimal::from(s.kept + s.broken),
                        hundred,
                    ),
                    average_days_to_pay: ratio(
                        Decimal::from(s.paid_days),
                        Decimal::from(s.paid_invoices),
                        Decimal::ONE,
                    ),
                }
            })
            .collect()
    }
}
