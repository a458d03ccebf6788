//! Aging as of a date (SPEC §7): open amounts per bucket, unapplied cash, disputed part, and
//! totals per currency — never summed across currencies. Reports are memoised per as-of date,
//! aging rules and currency filter, and patched for just the accounts an event touched
//! ([`AgingMemo`], [`crate::memo`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use domain::policy::{AgingBasis, AgingRules};
use domain::{Account, Currency, CustomerId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;
use crate::memo::Memo;

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
            *slot = slot.saturating_add(open);
        }
        if invoice.disputed_on(as_of) {
            disputed = disputed.saturating_add(open);
        }
        // Days past due follow the aging basis (SPEC §7: `issue` counts from issued_on), and an
        // invoice not yet past due contributes nothing: null, not 0, when none is.
        if days > 0 {
            oldest = Some(oldest.map_or(days, |o| o.max(days)));
        }
    }
    let unapplied = account.unapplied_on(as_of);
    if amounts.iter().all(|a| a.is_zero()) && unapplied.is_zero() {
        return None;
    }
    let total = domain::money::sum(amounts.iter().copied()).saturating_sub(unapplied);
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
    ///
    /// Served from the ledger's [`AgingMemo`]: a report asked for before is shared as it is,
    /// after recomputing the rows of only the accounts an event touched since.
    pub fn aging(&self, as_of: NaiveDate, currency: Option<&str>) -> Arc<AgingReport> {
        let policy = self.policy_in_use();
        let key = AgingKey {
            as_of,
            rules: policy.aging.clone(),
            currency: currency.map(str::to_owned),
        };
        self.aging_memo.serve(
            key,
            |key| self.memo_entry(key),
            |key, entry, touched| self.refresh_aging(key, entry, touched),
            |entry| entry.report.clone(),
        )
    }

    /// Aging computed from every account, bypassing the memo.
    pub fn aging_uncached(
        &self,
        as_of: NaiveDate,
        currency: Option<&str>,
        rules: &AgingRules,
    ) -> AgingReport {
        let rows: Vec<AgingRow> = self.map_accounts(|a| {
            if currency.is_some_and(|c| a.currency.as_str() != c) {
                return Vec::new();
            }
            aging_row(a, rules, as_of).into_iter().collect()
        });
        let totals = totals(&rows, rules.buckets.len() + 2);
        AgingReport {
            as_of,
            buckets: rules.labels(),
            rows,
            totals,
        }
    }

    /// A memo entry for `key`, every row computed.
    fn memo_entry(&self, key: &AgingKey) -> AgingMemoEntry {
        let report = self.aging_uncached(key.as_of, key.currency.as_deref(), &key.rules);
        let sums = Sums::of(&report.rows, key.rules.buckets.len() + 2);
        AgingMemoEntry {
            report: Arc::new(report),
            sums,
        }
    }

    /// Brings a memoised report up to date: recomputes the rows of the touched accounts and the
    /// totals. The report is copied first only if a caller still holds the old one.
    fn refresh_aging(
        &self,
        key: &AgingKey,
        entry: &mut AgingMemoEntry,
        touched: &mut HashSet<String>,
    ) {
        let mut updates: Vec<(String, Option<AgingRow>)> = touched
            .drain()
            .map(|customer| {
                let row = self
                    .accounts
                    .get(customer.as_str())
                    .filter(|a| {
                        key.currency
                            .as_deref()
                            .is_none_or(|c| a.currency.as_str() == c)
                    })
                    .and_then(|a| aging_row(a, &key.rules, key.as_of));
                (customer, row)
            })
            .collect();
        let report = Arc::make_mut(&mut entry.report);
        if updates.len() <= AGING_MEMO_POINT_UPDATES_MAX {
            for (customer, update) in updates {
                if let Some(row) = &update {
                    entry.sums.add(row);
                }
                if let Some(old) = update_row(&mut report.rows, &customer, update) {
                    entry.sums.remove(&old);
                }
            }
        } else {
            updates.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            report.rows = merge_rows(std::mem::take(&mut report.rows), updates);
            entry.sums = Sums::of(&report.rows, key.rules.buckets.len() + 2);
        }
        if entry.sums.saturated {
            // A saturated sum cannot be patched back down: sum the rows afresh.
            entry.sums = Sums::of(&report.rows, key.rules.buckets.len() + 2);
        }
        report.totals = entry.sums.totals();
    }
}

/// Replaces, adds or (`None`) removes the row of `customer` in `rows` (ordered by customer id).
/// Returns the row replaced or removed.
fn update_row(
    rows: &mut Vec<AgingRow>,
    customer: &str,
    update: Option<AgingRow>,
) -> Option<AgingRow> {
    match (
        rows.binary_search_by(|r| r.customer_id.as_str().cmp(customer)),
        update,
    ) {
        (Ok(i), Some(row)) => Some(std::mem::replace(&mut rows[i], row)),
        (Ok(i), None) => Some(rows.remove(i)),
        (Err(i), Some(row)) => {
            rows.insert(i, row);
            None
        }
        (Err(_), None) => None,
    }
}

/// `rows` (ordered by customer id) with each update applied: a row replaced, added or (`None`)
/// removed. `updates` are ordered by customer id, one per customer.
fn merge_rows(rows: Vec<AgingRow>, updates: Vec<(String, Option<AgingRow>)>) -> Vec<AgingRow> {
    let mut merged = Vec::with_capacity(rows.len() + updates.len());
    let mut updates = updates.into_iter().peekable();
    for row in rows {
        let mut replaced = false;
        while let Some((customer, _)) = updates.peek() {
            let order = customer.as_str().cmp(row.customer_id.as_str());
            if order == Ordering::Greater {
                break;
            }
            if let Some((_, update)) = updates.next() {
                merged.extend(update);
            }
            if order == Ordering::Equal {
                replaced = true;
                break;
            }
        }
        if !replaced {
            merged.push(row);
        }
    }
    merged.extend(updates.flat_map(|(_, update)| update));
    merged
}

fn totals(rows: &[AgingRow], width: usize) -> Vec<AgingTotal> {
    Sums::of(rows, width).totals()
}

/// Per currency, the sums of the rows' figures and how many rows there are. Rows are already in
/// the currency's minor units, so sums kept by adding and taking off rows are exact and equal
/// the sums of the rows afresh.
#[derive(Clone, Debug, Default)]
struct Sums {
    width: usize,
    by_currency: BTreeMap<Currency, (usize, AgingTotal)>,
    /// Some sum reached `Decimal::MAX` (only with amounts recorded before the 10^15 bound):
    /// the sums are then no longer exact under patching and are recomputed from the rows.
    saturated: bool,
}

impl Sums {
    fn of(rows: &[AgingRow], width: usize) -> Sums {
        let mut sums = Sums {
            width,
            by_currency: BTreeMap::new(),
            saturated: false,
        };
        for row in rows {
            sums.add(row);
        }
        sums
    }

    fn add(&mut self, row: &AgingRow) {
        let width = self.width;
        let (count, t) = self
            .by_currency
            .entry(row.currency.clone())
            .or_insert_with(|| {
                (
                    0,
                    AgingTotal {
                        currency: row.currency.clone(),
                        amounts: vec![Decimal::ZERO; width],
                        unapplied: Decimal::ZERO,
                        total: Decimal::ZERO,
                    },
                )
            });
        *count += 1;
        let mut exact = true;
        let mut add = |sum: &mut Decimal, a: Decimal| match sum.checked_add(a) {
            Some(s) => *sum = s,
            None => {
                *sum = sum.saturating_add(a);
                exact = false;
            }
        };
        for (sum, a) in t.amounts.iter_mut().zip(&row.amounts) {
            add(sum, *a);
        }
        add(&mut t.unapplied, row.unapplied);
        add(&mut t.total, row.total);
        self.saturated |= !exact;
    }

    fn remove(&mut self, row: &AgingRow) {
        let Some((count, t)) = self.by_currency.get_mut(&row.currency) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.by_currency.remove(&row.currency);
            return;
        }
        for (sum, a) in t.amounts.iter_mut().zip(&row.amounts) {
            *sum = sum.saturating_sub(*a);
        }
        t.unapplied = t.unapplied.saturating_sub(row.unapplied);
        t.total = t.total.saturating_sub(row.total);
    }

    /// One total per currency, in currency order, written in its minor units.
    fn totals(&self) -> Vec<AgingTotal> {
        self.by_currency
            .values()
            .map(|(_, t)| AgingTotal {
                currency: t.currency.clone(),
                amounts: t.amounts.iter().map(|a| t.currency.display(*a)).collect(),
                unapplied: t.currency.display(t.unapplied),
                total: t.currency.display(t.total),
            })
            .collect()
    }
}

/// Touched accounts up to which a memoised report is patched row by row; beyond, in one merge.
pub const AGING_MEMO_POINT_UPDATES_MAX: usize = 16;

/// What an aging report depends on besides the accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingKey {
    as_of: NaiveDate,
    rules: AgingRules,
    currency: Option<String>,
}

pub struct AgingMemoEntry {
    report: Arc<AgingReport>,
    /// What `report.totals` are made from, kept so a patch adjusts them instead of summing
    /// every row again.
    sums: Sums,
}

/// Aging reports already computed, per (as-of date, aging rules, currency filter). A row depends
/// only on its account, the as-of date and the aging rules, so [`Ledger::aging`] recomputes the
/// rows of just the accounts touched since.
pub type AgingMemo = Memo<AgingKey, AgingMemoEntry>;
