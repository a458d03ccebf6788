//! The collector's worklist for a date (SPEC §7): for each open, undisputed invoice that no
//! active promise covers, the dunning-ladder step that is due and that no contact has fulfilled.
//!
//! Rules (docs/worklist.md):
//! - a step's trigger date is its anchor (`issued_on` or `due_on`) plus its `days`;
//! - only the latest step due on D (trigger ≤ D) can be on the list: a step is superseded once a
//!   later step is due, so an overdue reminder nobody sent disappears when the call is due;
//! - that step is fulfilled by a contact (ReminderSent, CallLogged, SalesRepNotified) naming it
//!   as `step`, about the invoice or about the whole account, made on or before D;
//!   `confirm_receipt` is also fulfilled by `InvoiceDelivered`. A fulfilled latest step means
//!   nothing is due until the next step triggers;
//! - `skipped_steps` counts the earlier steps that were due and never fulfilled;
//! - an invoice escalated (to an agency or legal) on or before D is no longer the collector's;
//! - a step whose `min_open_amount` is above the invoice's open amount on D is not offered for
//!   it (the latest step that is offered is the one due).
//! - a step before the due date (`from = "due"`, `days < 0`) expires on the due date: never
//!   offered once the invoice is past due.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use domain::policy::{Anchor, LadderStep, Policy};
use domain::{Account, Currency, CustomerId, InvoiceId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;
use crate::memo::Memo;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkItem {
    pub customer_id: CustomerId,
    pub name: String,
    pub invoice_id: InvoiceId,
    pub step: String,
    pub channel: String,
    pub trigger_on: NaiveDate,
    pub open_amount: Decimal,
    pub currency: Currency,
    /// Days past the due date on D (0 before it).
    pub days_past_due: i64,
    pub sales_rep: Option<String>,
    /// Earlier steps that were due and never fulfilled.
    pub skipped_steps: u32,
    /// Why the last attempt to deliver this step failed (SPEC §12), if it did.
    pub last_attempt_failed: Option<String>,
}

/// The date a ladder step triggers for an invoice.
pub fn trigger_on(step: &LadderStep, issued_on: NaiveDate, due_on: NaiveDate) -> Option<NaiveDate> {
    let anchor = match step.from {
        Anchor::Issue => issued_on,
        Anchor::Due => due_on,
    };
    let days = u64::from(step.days.unsigned_abs());
    if step.days >= 0 {
        anchor.checked_add_days(Days::new(days))
    } else {
        anchor.checked_sub_days(Days::new(days))
    }
}

/// One account's work items for `date` under `policy`, ordered by (trigger date, invoice id).
pub fn account_worklist(account: &Account, policy: &Policy, date: NaiveDate) -> Vec<WorkItem> {
    let grace = policy.promises.grace_days;
    let mut items = Vec::new();
    // Steps in trigger order for each invoice; ladder order breaks ties.
    let mut due: Vec<(NaiveDate, usize)> = Vec::with_capacity(policy.ladder.len());
    for invoice in &account.invoices {
        if invoice.issued_on > date || invoice.disputed_on(date) {
            continue;
        }
        if invoice.extras().escalated_on.is_some_and(|e| e <= date) {
            continue;
        }
        let open = invoice.open_on(date);
        if open <= Decimal::ZERO {
            continue;
        }
        if account
            .promises
            .iter()
            .any(|p| p.covers_on(&invoice.id, date, grace))
        {
            continue;
        }
        due.clear();
        for (i, step) in policy.ladder.iter().enumerate() {
            // A step with a `min_open_amount` above what is open is not this invoice's: it
            // stays at the step before (no agency for a tiny balance).
            if !step.offered_for(open, account.currency.as_str()) {
                continue;
            }
            if let Some(t) = trigger_on(step, invoice.issued_on, invoice.due_on) {
                if t <= date {
                    due.push((t, i));
                }
            }
        }
        due.sort_unstable();
        // A step before the due date ("due soon") expires on the due date (SPEC §5): it is
        // never offered for an invoice already past due (though it counts as skipped).
        let expired = |i: usize| {
            policy
                .ladder
                .get(i)
                .is_some_and(|s| s.from == Anchor::Due && s.days < 0 && date > invoice.due_on)
        };
        let Some(chosen) = due.iter().rposition(|&(_, i)| !expired(i)) else {
            continue;
        };
        let (trigger, latest) = due.remove(chosen);
        due.push((trigger, latest));
        let Some(step) = policy.ladder.get(latest) else {
            continue;
        };
        let fulfilled = |name: &str| {
            invoice.step_fulfilled_by(name, date) || account.account_step_fulfilled_by(name, date)
        };
        if fulfilled(&step.step) {
            continue;
        }
        let skipped = due
            .iter()
            .take(due.len() - 1)
            .filter_map(|&(_, i)| policy.ladder.get(i))
            .filter(|s| !fulfilled(&s.step))
            .count();
        items.push(WorkItem {
            customer_id: account.customer_id.clone(),
            name: account.name.clone(),
            invoice_id: invoice.id.clone(),
            step: step.step.clone(),
            channel: step.channel.clone(),
            trigger_on: trigger,
            open_amount: account.currency.display(open),
            currency: account.currency.clone(),
            days_past_due: (date - invoice.due_on).num_days().max(0),
            sales_rep: account.sales_rep.clone(),
            skipped_steps: u32::try_from(skipped).unwrap_or(u32::MAX),
            last_attempt_failed: account
                .last_delivery_failure(&step.step, &invoice.id)
                .filter(|f| f.failed_at.date_naive() <= date)
                .map(|f| f.reason.clone()),
        });
    }
    items.sort_by(|a, b| (a.trigger_on, &a.invoice_id).cmp(&(b.trigger_on, &b.invoice_id)));
    items
}

impl Ledger {
    /// Every account's work items for `date`, ordered by (trigger date, customer id, invoice id).
    ///
    /// Served from the ledger's [`WorklistMemo`]: a list asked for before is shared as it is,
    /// after recomputing the items of only the accounts an event touched since.
    pub fn worklist(&self, date: NaiveDate) -> Arc<Vec<WorkItem>> {
        let key = WorklistKey {
            date,
            policy: self.policy_in_use().into_owned(),
        };
        self.worklist_memo.serve(
            key,
            |key| Arc::new(self.worklist_uncached(key.date, &key.policy)),
            |key, items, touched| self.refresh_worklist(key, items, touched),
            Arc::clone,
        )
    }

    /// The worklist computed from every account, bypassing the memo.
    pub fn worklist_uncached(&self, date: NaiveDate, policy: &Policy) -> Vec<WorkItem> {
        let mut items: Vec<WorkItem> = self.map_accounts(|a| account_worklist(a, policy, date));
        items.sort_by(worklist_order);
        items
    }

    /// Replaces the items of the touched accounts. The list is copied first only if a caller
    /// still holds the old one.
    fn refresh_worklist(
        &self,
        key: &WorklistKey,
        items: &mut Arc<Vec<WorkItem>>,
        touched: &mut HashSet<String>,
    ) {
        let items = Arc::make_mut(items);
        items.retain(|item| !touched.contains(item.customer_id.as_str()));
        for customer in touched.drain() {
            if let Some(account) = self.accounts.get(customer.as_str()) {
                items.extend(account_worklist(account, &key.policy, key.date));
            }
        }
        // Sorted runs plus a short tail: the stable sort merges them in about linear time.
        items.sort_by(worklist_order);
    }
}

fn worklist_order(a: &WorkItem, b: &WorkItem) -> std::cmp::Ordering {
    (a.trigger_on, &a.customer_id, &a.invoice_id).cmp(&(
        b.trigger_on,
        &b.customer_id,
        &b.invoice_id,
    ))
}

/// What a worklist depends on besides the accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorklistKey {
    date: NaiveDate,
    policy: Policy,
}

/// Worklists already computed, per (date, policy in use). An account's items depend only on the
/// account, the date and the policy, so [`Ledger::worklist`] recomputes the items of just the
/// accounts touched since.
pub type WorklistMemo = Memo<WorklistKey, Arc<Vec<WorkItem>>>;
