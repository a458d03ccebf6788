//! The collection policy (SPEC §5): here the validated rules and what they answer; `parse.rs`
//! reads the TOML document into them. Never a decision about an account: the clock applies these.
//!
//! Errors carry the line and the field. A missing section turns its rule off (see docs/policy.md).

mod parse;

use rust_decimal::Decimal;

use self::parse::{syntax_error, Doc, Validator};
use crate::error::DomainError;
use crate::event::PolicyAdopted;

/// The policy shipped as `policies/default.toml` (seeds 000/001/002/004).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../../policies/default.toml");
/// Seed 003: one reminder 15 days after the invoice date, no calls, no fees.
pub const SINGLE_REMINDER_POLICY_TOML: &str =
    include_str!("../../../../policies/single-reminder.toml");

/// Longest policy document accepted, in bytes.
pub const POLICY_DOCUMENT_LEN_MAX: usize = 64 * 1024;
/// Most ladder steps a policy may have.
pub const LADDER_STEPS_MAX: usize = 64;
/// Most aging buckets a policy may have.
pub const AGING_BUCKETS_MAX: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgingBasis {
    /// Days counted from the due date.
    Due,
    /// Days counted from the issue date.
    Issue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingRules {
    pub basis: AgingBasis,
    /// Upper bounds of the aged buckets, strictly increasing and > 0.
    pub buckets: Vec<u32>,
}

impl AgingRules {
    /// Bucket labels, Current first: `Current, 1-30, 31-60, …, 121+`.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = vec!["Current".to_owned()];
        let mut low = 0u32;
        for &high in &self.buckets {
            labels.push(format!("{}-{}", low + 1, high));
            low = high;
        }
        labels.push(format!("{}+", low + 1));
        labels
    }

    /// The bucket index for an age in days (0 = Current).
    pub fn bucket_of(&self, days: i64) -> usize {
        if days <= 0 {
            return 0;
        }
        for (i, &high) in self.buckets.iter().enumerate() {
            if days <= i64::from(high) {
                return i + 1;
            }
        }
        self.buckets.len() + 1
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probation {
    pub days: u32,
    pub limit_ratio: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldRules {
    pub days_past_due: Option<u32>,
    pub over_limit: bool,
    pub auto_release: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnBroken {
    CashOnly,
    Hold,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromiseRules {
    pub grace_days: u32,
    pub on_broken: OnBroken,
    /// An invoice covered by an active promise does not count for the `days_past_due` hold
    /// (SPEC §5 "a new understanding"; default true).
    pub suspend_holds: bool,
    /// An invoice covered by an active promise accrues no late fee (default true).
    pub suspend_late_fees: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateFees {
    pub percent: Decimal,
    pub after_days: u32,
    /// `None`: a single fee.
    pub every_days: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Issue,
    Due,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderStep {
    pub step: String,
    pub from: Anchor,
    pub days: i32,
    pub channel: String,
    /// Whether dunlog sends this step by itself when it falls due (SPEC §12). Only `email` and
    /// `letter` steps can be sent; every other channel is `Manual`.
    pub send: SendMode,
    /// The least open amount an invoice must have for this step to be offered (`None`: any).
    /// A smaller balance stays at the step before: tiny balances are written off or chased,
    /// not sent to an agency.
    pub min_open_amount: Option<MinOpenAmount>,
}

/// Who sends a reminder step: dunlog on its own (`auto`) or a person pressing send (`manual`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SendMode {
    Auto,
    #[default]
    Manual,
}

/// A ladder step's `min_open_amount`: one amount in every account's currency, or one per
/// currency (a currency the table does not name has no minimum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MinOpenAmount {
    Any(Decimal),
    PerCurrency(std::collections::BTreeMap<String, Decimal>),
}

impl LadderStep {
    /// True when dunlog can deliver this step itself (an e-mail or a letter).
    pub fn is_deliverable(&self) -> bool {
        matches!(self.channel.as_str(), "email" | "letter")
    }

    /// Whether an invoice with `open` left in `currency` (ISO code) may be given this step.
    pub fn offered_for(&self, open: Decimal, currency: &str) -> bool {
        let min = match &self.min_open_amount {
            None => return true,
            Some(MinOpenAmount::Any(min)) => Some(*min),
            Some(MinOpenAmount::PerCurrency(table)) => table.get(currency).copied(),
        };
        min.is_none_or(|min| open >= min)
    }
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub aging: AgingRules,
    pub probation: Probation,
    pub holds: HoldRules,
    pub promises: PromiseRules,
    pub late_fees: Option<LateFees>,
    pub ladder: Vec<LadderStep>,
}

impl Policy {
    /// The policy of `policies/default.toml`.
    pub fn default_policy() -> Policy {
        // The shipped document is checked by a test; parsing it cannot fail at run time.
        Policy::parse(DEFAULT_POLICY_TOML).unwrap_or_else(|e| unreachable!("default policy: {e}"))
    }

    /// Parses and validates a policy document.
    pub fn parse(document: &str) -> Result<Policy, DomainError> {
        if document.len() > POLICY_DOCUMENT_LEN_MAX {
            return Err(DomainError::InvalidPolicy {
                line: 1,
                field: "document".to_owned(),
                message: format!("longer than {POLICY_DOCUMENT_LEN_MAX} bytes"),
            });
        }
        let doc: Doc = toml::from_str(document).map_err(|e| syntax_error(document, &e))?;
        Validator { document }.validate(doc)
    }

    pub fn step(&self, name: &str) -> Option<&LadderStep> {
        self.ladder.iter().find(|s| s.step == name)
    }
}

/// Decides `AdoptPolicy`: the document must parse and validate; versions count 1, 2, 3, ….
pub fn decide_adopt(document: &str, current_version: u32) -> Result<PolicyAdopted, DomainError> {
    let policy = Policy::parse(document)?;
    Ok(PolicyAdopted {
        version: current_version + 1,
        name: policy.name,
        document: document.to_owned(),
    })
}
