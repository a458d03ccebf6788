//! Money: currencies, their minor units, and the one rounding rule of the ledger (SPEC §2).
//!
//! Amounts are `rust_decimal::Decimal` in the account's currency; an account has exactly one
//! currency, stated once in `AccountOpened`, so events carry bare amounts.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::iso4217;

/// An ISO 4217 code: three uppercase ASCII letters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(code.to_owned()))
        } else {
            Err(DomainError::invalid(
                "currency",
                code,
                "must be an ISO 4217 code of three uppercase letters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An active ISO 4217 code (SPEC §2: `XYZ` is refused), for opening an account. Decoding a
    /// recorded event only checks the form ([`Currency::parse`]), so a log written before the
    /// table existed still reads.
    pub fn parse_active(field: &'static str, code: &str) -> Result<Self, DomainError> {
        let currency = Currency::parse(code).map_err(|_| {
            DomainError::invalid(
                field,
                code,
                "must be an ISO 4217 code of three uppercase letters",
            )
        })?;
        if !iso4217::is_active(code) {
            return Err(DomainError::invalid(
                field,
                code,
                "is not an active ISO 4217 currency code",
            ));
        }
        Ok(currency)
    }

    /// Digits after the decimal point (SPEC §2: JPY 0, KWD/BHD/OMR/TND/JOD 3, others 2).
    pub fn minor_units(&self) -> u32 {
        iso4217::minor_units(&self.0)
    }

    /// The ledger's single rounding rule: to minor units, midpoint away from zero. The result is
    /// written at exactly the minor units (`45.0` → `45.00`, SPEC §2 "amounts as shown").
    pub fn round(&self, value: Decimal) -> Decimal {
        let mut v = value
            .round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero);
        v.rescale(self.minor_units());
        v
    }

    /// An amount written with the currency's minor units, for display (`50000` → `50000.00`).
    /// The edges (GraphQL, CLI tables, read models) show every amount through this, so amounts
    /// recorded before events were written at scale still show at scale.
    pub fn display(&self, value: Decimal) -> Decimal {
        self.round(value)
    }

    /// Rejects an amount written with more decimals than the currency has, or larger than
    /// [`AMOUNT_MAX`] either way (SPEC §2: no arithmetic on amounts may overflow). Every amount a
    /// client gives passes through here.
    pub fn check_scale(&self, field: &'static str, amount: Decimal) -> Result<(), DomainError> {
        if amount.abs() > AMOUNT_MAX {
            return Err(DomainError::invalid(
                field,
                amount,
                "must be at most 1000000000000000 (10^15)",
            ));
        }
        if amount.scale() > self.minor_units() {
            return Err(DomainError::invalid(
                field,
                amount,
                &format!("{} allows at most {} decimals", self.0, self.minor_units()),
            ));
        }
        Ok(())
    }
}

impl TryFrom<String> for Currency {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The largest amount a client may give (SPEC §2): 10^15. Sums of a billion such amounts still
/// fit a `Decimal` (about 7.9 × 10^28), so arithmetic on what clients gave cannot overflow;
/// amounts recorded before the bound existed are handled by the saturating helpers below.
pub const AMOUNT_MAX: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// An amount together with its currency, as read models present it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

/// Checks that an amount is strictly positive and written in the currency's minor units.
pub fn check_positive(
    currency: &Currency,
    field: &'static str,
    amount: Decimal,
) -> Result<(), DomainError> {
    if amount <= Decimal::ZERO {
        return Err(DomainError::invalid(
            field,
            amount,
            "must be greater than zero",
        ));
    }
    currency.check_scale(field, amount)
}

/// `percent` % of `base`, rounded by the currency's rule.
pub fn percent_of(currency: &Currency, percent: Decimal, base: Decimal) -> Decimal {
    // Dividing by a constant can neither overflow nor divide by zero.
    currency.round(base.saturating_mul(percent) / Decimal::ONE_HUNDRED)
}

/// The sum of amounts, saturating at `±Decimal::MAX` instead of overflowing.
///
/// Clients cannot give more than [`AMOUNT_MAX`], but a ledger written before that bound may hold
/// larger amounts; reads of such a ledger must still answer (docs/decisions/0009-amounts-never-overflow.md).
/// Every sum of amounts in the domain and the read models goes through here or
/// `Decimal::saturating_add/sub/mul`.
pub fn sum(amounts: impl IntoIterator<Item = Decimal>) -> Decimal {
    amounts
        .into_iter()
        .fold(Decimal::ZERO, Decimal::saturating_add)
}

/// Whether an amount recorded in the log is beyond what a client may give now (reported by
/// `dunlog verify`; such amounts were accepted before [`AMOUNT_MAX`] existed).
pub fn out_of_bounds(amount: Decimal) -> bool {
    amount.abs() > AMOUNT_MAX
}
