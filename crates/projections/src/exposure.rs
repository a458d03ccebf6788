//! Credit exposure of an account as of a date (SPEC §7): what it owes against the limit in
//! force, its status, and its promise and contact record.

use chrono::NaiveDate;
use domain::promise::PromiseStatus;
use domain::{Account, Currency, CustomerId, Policy};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::Ledger;

/// Decimal places of `utilization`.
pub const UTILIZATION_DP: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExposureStatus {
    Ok,
    Probation,
    OverLimit,
    CashOnly,
    Held,
}

impl ExposureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureStatus::Ok => "OK",
            ExposureStatus::Probation => "PROBATION",
            ExposureStatus::OverLimit => "OVER_LIMIT",
            ExposureStatus::CashOnly => "CASH_ONLY",
            ExposureStatus::Held => "HELD",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub customer_id: CustomerId,
    pub currency: Currency,
    pub credit_limit: Decimal,
    pub effective_limit: Decimal,
    pub exposure: Decimal,
    pub available: Decimal,
    /// `exposure / effective_limit`; none when the limit is 0.
    pub utilization: Option<Decimal>,
    pub status: ExposureStatus,
    pub open_promises: u32,
    pub promises_kept: u32,
    pub promises_broken: u32,
    pub days_since_last_contact: Option<i64>,
}

/// An account's exposure as of `as_of` under `policy`, walking its facts.
pub fn exposure_of(account: &Account, policy: &Policy, as_of: NaiveDate) -> Exposure {
    exposure_with(account, account.exposure_on(as_of), policy, as_of)
}

/// An account's exposure as of `as_of` under `policy`, given the amount it owes on that date
/// (`Account::exposure_on`, or the same number from its exposure index).
pub fn exposure_with(
    account: &Account,
    exposure: Decimal,
    policy: &Policy,
    as_of: NaiveDate,
) -> Exposure {
    let currency = &account.currency;
    let effective_limit = account.effective_limit_on(as_of, policy);
    // The quotient of the exposure as shown: a Decimal quotient's scale follows the
    // dividend's, and the walk and the index give the same number at scales that may differ
    // (docs/decisions/0044-exposure-index.md). A quotient too large for a Decimal (only with
    // amounts recorded before the 10^15 bound) shows as no utilization rather than a panic.
    let utilization = currency
        .display(exposure)
        .checked_div(effective_limit)
        .map(|u| u.round_dp(UTILIZATION_DP));
    let status = if account.hold_on(as_of).is_some() {
        ExposureStatus::Held
    } else if account.cash_only_on(as_of).is_some() {
        ExposureStatus::CashOnly
    } else if exposure > effective_limit {
        ExposureStatus::OverLimit
    } else if account.on_probation(as_of, policy) {
        ExposureStatus::Probation
    } else {
        ExposureStatus::Ok
    };
    let (mut open, mut kept, mut broken) = (0, 0, 0);
    for p in &account.promises {
        match p.status_on(as_of) {
            Some(PromiseStatus::Open) => open += 1,
            Some(PromiseStatus::Kept) => kept += 1,
            Some(PromiseStatus::Broken) => broken += 1,
            None => {}
        }
    }
    Exposure {
        customer_id: account.customer_id.clone(),
        currency: currency.clone(),
        credit_limit: currency.display(account.credit_limit),
        effective_limit: currency.display(effective_limit),
        exposure: currency.display(exposure),
        available: currency.display(effective_limit.saturating_sub(exposure)),
        utilization,
        status,
        open_promises: open,
        promises_kept: kept,
        promises_broken: broken,
        days_since_last_contact: account
            .last_contact_on(as_of)
            .map(|d| (as_of - d).num_days()),
    }
}

impl Ledger {
    pub fn exposure(&self, customer_id: &CustomerId, as_of: NaiveDate) -> Option<Exposure> {
        let policy = self.policy_in_use();
        self.account(customer_id).map(|a| {
            let exposure = self.exposure_index.exposure_on(a, as_of);
            exposure_with(a, exposure, &policy, as_of)
        })
    }

    /// Every account's exposure, optionally only those with `status`, ordered by customer id.
    pub fn exposures(&self, as_of: NaiveDate, status: Option<ExposureStatus>) -> Vec<Exposure> {
        let policy = self.policy_in_use();
        let policy: &Policy = &policy;
        self.map_accounts(|a| {
            let e = exposure_of(a, policy, as_of);
            if status.is_none_or(|s| e.status == s) {
                vec![e]
            } else {
                Vec::new()
            }
        })
    }
}
