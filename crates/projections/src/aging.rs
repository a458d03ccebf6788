//! Aging as of a date (SPEC §7): open amounts per bucket, unapplied cash, disputed part, and
//! totals per currency — never summed across currencies.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::policy::{AgingBasis, AgingRules};
use domain::{Account, Currency, CustomerId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingRow {
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: Currency,
    /// One per bucket, Current first.
    pub amounts: Vec<Decimal>,
    pub unapplied: Decimal,
    pub total: Decimal,
    pub disputed: Decimal,
    pub oldest_days_past_due: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingTotal {
    pub currency: Currency,
    pub amounts: Vec<Decimal>,
    pub unapplied: Decimal,
    pub total: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingReport {
    pub as_of: NaiveDate,
    pub buckets: Vec<String>,
    pub rows: Vec<AgingRow>,
    pub totals: Vec<AgingTotal>,
}

/// One account's aging row, or `None` when nothing is open and no cash is unapplied.
pub fn aging_row(account: &Account, rules: &AgingRules, as_of: NaiveDate) -> Option<AgingRow> {
    let currency = &account.currency;
    let mut amounts = vec![Decimal::ZERO; rules.buckets.len() + 2];
    let mut disputed = Decimal::ZERO;
    let mut oldest: Option<i64> = None;
    for invoice in &account.invoices {
        let open = invoice.open_on(as_of);
        if open == Decimal::ZERO {
            continue;
        }
        let anchor = match rules.basis {
            AgingBasis::Due => invoice.due_on,
            AgingBasis::Issue => invoice.issued_on,
        };
        let days = (as_of - anchor).num_days();
        if let Some(slot) = amounts.get_mut(rules.bucket_of(days)) {
            *slot += open;
        }
        if invoice.disputed_on(as_of) {
            disputed += open;
        }
        let past_due = (as_of - invoice.due_on).num_days().max(0);
        oldest = Some(oldest.map_or(past_due, |o| o.max(past_due)));
    }
    let unapplied = account.unapplied_on(as_of);
    if amounts.iter().all(|a| a.is_zero()) && unapplied.is_zero() {
        return None;
    }
    let total = amounts.iter().copied().sum::<Decimal>() - unapplied;
    Some(AgingRow {
        customer_id: account.customer_id.clone(),
        name: account.name.clone(),
        currency: currency.clone(),
        amounts: amounts.into_iter().map(|a| currency.display(a)).collect(),
        unapplied: currency.display(unapplied),
        total: currency.display(total),
        disputed: currency.display(disputed),
        oldest_days_past_due: oldest,
    })
}

impl Ledger {
    /// Aging of every account (optionally one currency's) as of `as_of`, ordered by customer id.
    pub fn aging(&self, as_of: NaiveDate, currency: Option<&str>) -> AgingReport {
        let rules = self.policy().aging;
        let rows: Vec<AgingRow> = self.map_accounts(|a| {
            if currency.is_some_and(|c| a.currency.as_str() != c) {
                return Vec::new();
            }
            aging_row(a, &rules, as_of).into_iter().collect()
        });
        let totals = totals(&rows, rules.buckets.len() + 2);
        AgingReport {
            as_of,
            buckets: rules.labels(),
            rows,
            totals,
        }
    }
}

fn totals(rows: &[AgingRow], width: usize) -> Vec<AgingTotal> {
    let mut by_currency: BTreeMap<&Currency, AgingTotal> = BTreeMap::new();
    for row in rows {
        let t = by_currency
            .entry(&row.currency)
            .or_insert_with(|| AgingTotal {
                currency: row.currency.clone(),
                amounts: vec![Decimal::ZERO; width],
                unapplied: Decimal::ZERO,
                total: Decimal::ZERO,
            });
        for (sum, a) in t.amounts.iter_mut().zip(&row.amounts) {
            *sum += *a;
        }
        t.unapplied += row.unapplied;
        t.total += row.total;
    }
    by_currency
        .into_values()
        .map(|mut t| {
            t.amounts = t.amounts.iter().map(|a| t.currency.display(*a)).collect();
            t.unapplied = t.currency.display(t.unapplied);
            t.total = t.currency.display(t.total);
            t
        })
        .collect()
}
