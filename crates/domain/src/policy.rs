//! The collection policy (SPEC §5): a TOML document, parsed and validated into rules.
//!
//! Errors carry the line and the field. A missing section turns its rule off (see docs/policy.md).

use std::collections::HashSet;
use std::ops::Range;

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use crate::error::DomainError;
use crate::event::PolicyAdopted;

/// The policy shipped as `policies/default.toml` (seeds 000/001/002/004).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../policies/default.toml");
/// Seed 003: one reminder 15 days after the invoice date, no calls, no fees.
pub const SINGLE_REMINDER_POLICY_TOML: &str =
    include_str!("../../../policies/single-reminder.toml");

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

// ---- The document as written -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: Spanned<String>,
    aging: Option<AgingDoc>,
    probation: Option<ProbationDoc>,
    holds: Option<HoldsDoc>,
    promises: Option<PromisesDoc>,
    late_fees: Option<LateFeesDoc>,
    #[serde(default)]
    ladder: Vec<LadderDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgingDoc {
    basis: Option<Spanned<String>>,
    buckets: Option<Spanned<Vec<Spanned<i64>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbationDoc {
    days: Option<Spanned<i64>>,
    limit_ratio: Option<Spanned<DecimalDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldsDoc {
    days_past_due: Option<Spanned<i64>>,
    over_limit: Option<bool>,
    auto_release: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromisesDoc {
    grace_days: Option<Spanned<i64>>,
    on_broken: Option<Spanned<String>>,
    suspend_holds: Option<bool>,
    suspend_late_fees: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LateFeesDoc {
    percent: Spanned<DecimalDoc>,
    after_days: Option<Spanned<i64>>,
    every_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LadderDoc {
    step: Spanned<String>,
    from: Spanned<String>,
    days: Spanned<i64>,
    channel: Spanned<String>,
    send: Option<Spanned<String>>,
    min_open_amount: Option<Spanned<MinOpenDoc>>,
}

/// `min_open_amount` as written: a decimal, or a table of decimals by currency code.
#[derive(Deserialize)]
#[serde(untagged)]
enum MinOpenDoc {
    Table(std::collections::BTreeMap<String, DecimalDoc>),
    One(DecimalDoc),
}

/// A decimal as written: a string (`"0.25"`) or an integer. Floats are refused: money and
/// ratios are never binary floating point.
#[derive(Deserialize)]
#[serde(untagged)]
enum DecimalDoc {
    Text(String),
    Integer(i64),
    Float(f64),
}

struct Validator<'a> {
    document: &'a str,
}

impl Validator<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        line_of(self.document, span.start)
    }

    fn err(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> DomainError {
        DomainError::InvalidPolicy {
            line: self.line(span),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn days(&self, v: &Spanned<i64>, field: &str, min: i64) -> Result<u32, DomainError> {
        let n = *v.get_ref();
        if n < min || n > 36_500 {
            return Err(self.err(
                v.span(),
                field,
                format!("{n} is out of range ({min} to 36500)"),
            ));
        }
        u32::try_from(n).map_err(|_| self.err(v.span(), field, format!("{n} is out of range")))
    }

    fn decimal(&self, v: &Spanned<DecimalDoc>, field: &str) -> Result<Decimal, DomainError> {
        match v.get_ref() {
            DecimalDoc::Text(s) => s
                .trim()
                .parse::<Decimal>()
                .map_err(|_| self.err(v.span(), field, format!("{s:?} is not a decimal number"))),
            DecimalDoc::Integer(i) => Ok(Decimal::from(*i)),
            DecimalDoc::Float(f) => Err(self.err(
                v.span(),
                field,
                format!("write decimals as strings (\"{f}\"), never as floats"),
            )),
        }
    }

    fn min_open_amount(&self, m: &Spanned<MinOpenDoc>) -> Result<MinOpenAmount, DomainError> {
        const FIELD: &str = "ladder.min_open_amount";
        let amount = |d: &DecimalDoc, field: &str| -> Result<Decimal, DomainError> {
            let value = match d {
                DecimalDoc::Text(s) => s.trim().parse::<Decimal>().map_err(|_| {
                    self.err(m.span(), field, format!("{s:?} is not a decimal number"))
                })?,
                DecimalDoc::Integer(i) => Decimal::from(*i),
                DecimalDoc::Float(f) => {
                    return Err(self.err(
                        m.span(),
                        field,
                        format!("write decimals as strings (\"{f}\"), never as floats"),
                    ))
                }
            };
            if value < Decimal::ZERO {
                return Err(self.err(m.span(), field, format!("{value} must not be negative")));
            }
            Ok(value)
        };
        match m.get_ref() {
            MinOpenDoc::One(d) => Ok(MinOpenAmount::Any(amount(d, FIELD)?)),
            MinOpenDoc::Table(table) => {
                let mut out = std::collections::BTreeMap::new();
                for (currency, d) in table {
                    let valid =
                        currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
                    if !valid {
                        return Err(self.err(
                            m.span(),
                            FIELD,
                            format!("{currency:?} is not a currency code like \"EUR\""),
                        ));
                    }
                    out.insert(currency.clone(), amount(d, &format!("{FIELD}.{currency}"))?);
                }
                Ok(MinOpenAmount::PerCurrency(out))
            }
        }
    }

    fn validate(&self, doc: Doc) -> Result<Policy, DomainError> {
        let name = doc.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.err(doc.name.span(), "name", "must not be empty"));
        }

        let mut aging = AgingRules {
            basis: AgingBasis::Due,
            buckets: vec![30, 60, 90, 120],
        };
        if let Some(a) = doc.aging {
            if let Some(basis) = a.basis {
                aging.basis = match basis.get_ref().as_str() {
                    "due" => AgingBasis::Due,
                    "issue" => AgingBasis::Issue,
                    other => {
                        return Err(self.err(
                            basis.span(),
                            "aging.basis",
                            format!("{other:?} must be \"due\" or \"issue\""),
                        ))
                    }
                };
            }
            if let Some(buckets) = a.buckets {
                let list = buckets.get_ref();
                if list.is_empty() || list.len() > AGING_BUCKETS_MAX {
                    return Err(self.err(
                        buckets.span(),
                        "aging.buckets",
                        format!("must list 1 to {AGING_BUCKETS_MAX} boundaries"),
                    ));
                }
                let mut out = Vec::with_capacity(list.len());
                let mut previous = 0i64;
                for b in list {
                    let n = *b.get_ref();
                    if n <= 0 {
                        return Err(self.err(
                            b.span(),
                            "aging.buckets",
                            format!("{n} must be greater than 0"),
                        ));
                    }
                    if n <= previous {
                        return Err(self.err(
                            b.span(),
                            "aging.buckets",
                            format!(
                                "{n} must be greater than {previous}: boundaries strictly increase"
                            ),
                        ));
                    }
                    out.push(self.days(b, "aging.buckets", 1)?);
                    previous = n;
                }
                aging.buckets = out;
            }
        }

        let mut probation = Probation {
            days: 0,
            limit_ratio: Decimal::ONE,
        };
        if let Some(p) = doc.probation {
            if let Some(d) = &p.days {
                probation.days = self.days(d, "probation.days", 0)?;
            }
            if let Some(r) = &p.limit_ratio {
                let ratio = self.decimal(r, "probation.limit_ratio")?;
                if ratio < Decimal::ZERO || ratio > Decimal::ONE {
                    return Err(self.err(
                        r.span(),
                        "probation.limit_ratio",
                        format!("{ratio} must be between 0 and 1"),
                    ));
                }
                probation.limit_ratio = ratio;
            }
        }

        let mut holds = HoldRules {
            days_past_due: None,
            over_limit: false,
            auto_release: true,
        };
        if let Some(h) = doc.holds {
            if let Some(d) = &h.days_past_due {
                holds.days_past_due = Some(self.days(d, "holds.days_past_due", 0)?);
            }
            holds.over_limit = h.over_limit.unwrap_or(false);
            holds.auto_release = h.auto_release.unwrap_or(true);
        }

        let mut promises = PromiseRules {
            grace_days: 0,
            on_broken: OnBroken::None,
            suspend_holds: true,
            suspend_late_fees: true,
        };
        if let Some(p) = doc.promises {
            promises.suspend_holds = p.suspend_holds.unwrap_or(true);
            promises.suspend_late_fees = p.suspend_late_fees.unwrap_or(true);
            if let Some(g) = &p.grace_days {
                if *g.get_ref() < 0 {
                    return Err(self.err(
                        g.span(),
                        "promises.grace_days",
                        format!("{} must not be negative", g.get_ref()),
                    ));
                }
                promises.grace_days = self.days(g, "promises.grace_days", 0)?;
            }
            if let Some(o) = &p.on_broken {
                promises.on_broken = match o.get_ref().as_str() {
                    "cash_only" => OnBroken::CashOnly,
                    "hold" => OnBroken::Hold,
                    "none" => OnBroken::None,
                    other => {
                        return Err(self.err(
                            o.span(),
                            "promises.on_broken",
                            format!("{other:?} must be \"cash_only\", \"hold\" or \"none\""),
                        ))
                    }
                };
            }
        }

        let late_fees = match doc.late_fees {
            None => None,
            Some(f) => {
                let percent = self.decimal(&f.percent, "late_fees.percent")?;
                if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                    return Err(self.err(
                        f.percent.span(),
                        "late_fees.percent",
                        format!("{percent} must be greater than 0 and at most 100"),
                    ));
                }
                let after_days = match &f.after_days {
                    Some(d) => self.days(d, "late_fees.after_days", 0)?,
                    None => 0,
                };
                let every_days = match &f.every_days {
                    Some(d) => Some(self.days(d, "late_fees.every_days", 1)?),
                    None => None,
                };
                Some(LateFees {
                    percent,
                    after_days,
                    every_days,
                })
            }
        };

        if doc.ladder.len() > LADDER_STEPS_MAX {
            return Err(DomainError::InvalidPolicy {
                line: 1,
                field: "ladder".to_owned(),
                message: format!("at most {LADDER_STEPS_MAX} steps"),
            });
        }
        let mut seen = HashSet::new();
        let mut ladder = Vec::with_capacity(doc.ladder.len());
        for s in doc.ladder {
            let step = s.step.get_ref().trim().to_owned();
            if step.is_empty() {
                return Err(self.err(s.step.span(), "ladder.step", "must not be empty"));
            }
            if !seen.insert(step.clone()) {
                return Err(self.err(
                    s.step.span(),
                    "ladder.step",
                    format!("{step:?} is a duplicate step name"),
                ));
            }
            let from = match s.from.get_ref().as_str() {
                "issue" => Anchor::Issue,
                "due" => Anchor::Due,
                other => {
                    return Err(self.err(
                        s.from.span(),
                        "ladder.from",
                        format!("{other:?} must be \"issue\" or \"due\""),
                    ))
                }
            };
            let days = *s.days.get_ref();
            if !(-3650..=36_500).contains(&days) {
                return Err(self.err(
                    s.days.span(),
                    "ladder.days",
                    format!("{days} is out of range (-3650 to 36500)"),
                ));
            }
            let channel = s.channel.get_ref().trim().to_owned();
            if channel.is_empty() {
                return Err(self.err(s.channel.span(), "ladder.channel", "must not be empty"));
            }
            let send = match &s.send {
                None => SendMode::Manual,
                Some(send) => match send.get_ref().as_str() {
                    "manual" => SendMode::Manual,
                    "auto" if matches!(channel.as_str(), "email" | "letter") => SendMode::Auto,
                    "auto" => {
                        return Err(self.err(
                            send.span(),
                            "ladder.send",
                            format!(
                                "\"auto\" needs channel \"email\" or \"letter\", not {channel:?}"
                            ),
                        ))
                    }
                    other => {
                        return Err(self.err(
                            send.span(),
                            "ladder.send",
                            format!("{other:?} must be \"auto\" or \"manual\""),
                        ))
                    }
                },
            };
            let min_open_amount = s
                .min_open_amount
                .as_ref()
                .map(|m| self.min_open_amount(m))
                .transpose()?;
            ladder.push(LadderStep {
                step,
                from,
                days: i32::try_from(days).unwrap_or_default(),
                channel,
                send,
                min_open_amount,
            });
        }

        Ok(Policy {
            name,
            aging,
            probation,
            holds,
            promises,
            late_fees,
            ladder,
        })
    }
}

fn line_of(document: &str, offset: usize) -> usize {
    let end = offset.min(document.len());
    document
        .as_bytes()
        .iter()
        .take(end)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns a TOML error into one naming the line and, where the parser says it, the field.
fn syntax_error(document: &str, error: &toml::de::Error) -> DomainError {
    let line = error
        .span()
        .map(|s| line_of(document, s.start))
        .unwrap_or(1);
    let message = error.message().trim().to_owned();
    // Not TOML at all: there is no field to name, only the place and what the parser expected.
    if document.parse::<toml::Table>().is_err() {
        let near = error
            .span()
            .and_then(|s| document.get(s))
            .map(|t| format!(" near {t:?}"))
            .unwrap_or_default();
        return DomainError::InvalidPolicy {
            line,
            field: "document".to_owned(),
            message: format!("not valid TOML{near}: {message}"),
        };
    }
    let field = error
        .span()
        .and_then(|s| document.get(s))
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 64 && !t.contains('\n'))
        .map(str::to_owned)
        .or_else(|| between_backticks(&message))
        .unwrap_or_else(|| "document".to_owned());
    DomainError::InvalidPolicy {
        line,
        field,
        message,
    }
}

fn between_backticks(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message.get(start..)?.find('`')?;
    message.get(start..start + len).map(str::to_owned)
}
