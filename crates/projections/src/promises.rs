//! Promises to pay as of a date (SPEC §7): open, kept and broken, per account. A payment-plan
//! installment is a promise of its own and names its plan.

use chrono::NaiveDate;
use domain::promise::{Promise, PromiseStatus};
use domain::{Account, CustomerId, InvoiceId, PlanId, PromiseId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromiseView {
    pub customer_id: CustomerId,
    pub promise_id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
    pub made_on: NaiveDate,
    /// Empty: the promise covers the whole account.
    pub invoice_ids: Vec<InvoiceId>,
    pub plan_id: Option<PlanId>,
    /// `OPEN`, `KEPT` or `BROKEN` as of the date asked.
    pub status: String,
    pub kept_on: Option<NaiveDate>,
    pub broken_on: Option<NaiveDate>,
    pub shortfall: Option<Decimal>,
}

pub fn status_name(status: PromiseStatus) -> &'static str {
    match status {
        PromiseStatus::Open => "OPEN",
        PromiseStatus::Kept => "KEPT",
        PromiseStatus::Broken => "BROKEN",
    }
}

/// A promise as of `as_of`, or `None` before it was made. Only what was so by `as_of` shows: a
/// promise kept later is still `OPEN`.
pub fn promise_view(account: &Account, p: &Promise, as_of: NaiveDate) -> Option<PromiseView> {
    let status = p.status_on(as_of)?;
    let broken_on = p.broken_on.filter(|b| *b <= as_of);
    Some(PromiseView {
        customer_id: account.customer_id.clone(),
        promise_id: p.id.clone(),
        amount: account.currency.display(p.amount),
        promised_on: p.promised_on,
        made_on: p.made_on,
        invoice_ids: p.invoice_ids.clone(),
        plan_id: p.plan_id.clone(),
        status: status_name(status).to_owned(),
        kept_on: p.kept_on.filter(|k| *k <= as_of),
        broken_on,
        shortfall: broken_on
            .and(p.shortfall)
            .map(|s| account.currency.display(s)),
    })
}

impl Ledger {
    /// Promises made on or before `as_of`, of one account or all, ordered by customer id, then
    /// as the account recorded them.
    pub fn promises(&self, customer_id: Option<&CustomerId>, as_of: NaiveDate) -> Vec<PromiseView> {
        let accounts: Box<dyn Iterator<Item = &Account>> = match customer_id {
            Some(id) => Box::new(self.account(id).into_iter()),
            None => Box::new(self.accounts.values()),
        };
        accounts
            .flat_map(|a| {
                a.promises
                    .iter()
                    .filter_map(move |p| promise_view(a, p, as_of))
            })
            .collect()
    }
}
