//! The credit check (SPEC §4 CheckCredit): may this customer take `amount` more on credit?

use chrono::NaiveDate;
use domain::{CustomerId, DomainError};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::exposure::exposure_with;
use crate::ledger::Ledger;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreditCheck {
    pub customer_id: CustomerId,
    pub amount: Decimal,
    pub approved: bool,
    /// Every reason it fails; empty when approved.
    pub reasons: Vec<String>,
    pub exposure: Decimal,
    pub effective_limit: Decimal,
    pub available: Decimal,
}

impl Ledger {
    /// Approved iff the account is neither held nor cash-only and `exposure + amount ≤
    /// effective_limit` on `on`.
    pub fn credit_check(
        &self,
        customer_id: &CustomerId,
        amount: Decimal,
        on: NaiveDate,
    ) -> Result<CreditCheck, DomainError> {
        let account = self
            .account(customer_id)
            .ok_or_else(|| DomainError::not_found("customer_id", customer_id))?;
        domain::money::check_positive(&account.currency, "amount", amount)?;
        let policy = self.policy();
        let exposure = self.exposure_index.exposure_on(account, on);
        let e = exposure_with(account, exposure, &policy, on);
        let mut reasons = Vec::new();
        if let Some(hold) = account.hold_on(on) {
            reasons.push(format!("HELD: the account is held ({})", hold.reason));
        }
        if let Some(reason) = account.cash_only_on(on) {
            reasons.push(format!("CASH_ONLY: the account is on cash only ({reason})"));
        }
        if e.exposure.saturating_add(amount) > e.effective_limit {
            reasons.push(format!(
                "OVER_LIMIT: exposure {} + amount {} exceeds the effective limit {}",
                e.exposure,
                account.currency.display(amount),
                e.effective_limit
            ));
        }
        Ok(CreditCheck {
            customer_id: customer_id.clone(),
            // Shown at the currency's scale, like every amount (SPEC §2).
            amount: account.currency.display(amount),
            approved: reasons.is_empty(),
            reasons,
            exposure: e.exposure,
            effective_limit: e.effective_limit,
            available: e.available,
        })
    }
}
