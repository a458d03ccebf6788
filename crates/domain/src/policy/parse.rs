//! The policy document as written (TOML with spans) and its validation into a [`Policy`], with
//! errors naming the line and the field. Never a rule's meaning: the values are in `policy`.

use std::collections::HashSet;
use std::ops::Range;

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::{
    AgingBasis, AgingRules, Anchor, HoldRules, LadderStep, LateFees, MinOpenAmount, OnBroken,
    Policy, Probation, PromiseRules, SendMode, AGING_BUCKETS_MAX, LADDER_STEPS_MAX,
};
use crate::error::DomainError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Doc {
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

pub(super) struct Validator<'a> {
    pub(super) document: &'a str,
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

    /// Validates the document section by section, in the order docs/policy.md describes them;
    /// the first error found is the one reported.
    pub(super) fn validate(&self, doc: Doc) -> Result<Policy, DomainError> {
        let name = doc.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.err(doc.name.span(), "name", "must not be empty"));
        }
        Ok(Policy {
            name,
            aging: self.aging(doc.aging)?,
            probation: self.probation(doc.probation)?,
            holds: self.holds(doc.holds)?,
            promises: self.promises(doc.promises)?,
            late_fees: self.late_fees(doc.late_fees)?,
            ladder: self.ladder(doc.ladder)?,
        })
    }

    fn aging(&self, doc: Option<AgingDoc>) -> Result<AgingRules, DomainError> {
        let mut aging = AgingRules {
            basis: AgingBasis::Due,
            buckets: vec![30, 60, 90, 120],
        };
        if let Some(a) = doc {
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
        Ok(aging)
    }

    fn probation(&self, doc: Option<ProbationDoc>) -> Result<Probation, DomainError> {
        let mut probation = Probation {
            days: 0,
            limit_ratio: Decimal::ONE,
        };
        if let Some(p) = doc {
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
        Ok(probation)
    }

    fn holds(&self, doc: Option<HoldsDoc>) -> Result<HoldRules, DomainError> {
        let mut holds = HoldRules {
            days_past_due: None,
            over_limit: false,
            auto_release: true,
        };
        if let Some(h) = doc {
            if let Some(d) = &h.days_past_due {
                holds.days_past_due = Some(self.days(d, "holds.days_past_due", 0)?);
            }
            holds.over_limit = h.over_limit.unwrap_or(false);
            holds.auto_release = h.auto_release.unwrap_or(true);
        }
        Ok(holds)
    }

    fn promises(&self, doc: Option<PromisesDoc>) -> Result<PromiseRules, DomainError> {
        let mut promises = PromiseRules {
            grace_days: 0,
            on_broken: OnBroken::None,
            suspend_holds: true,
            suspend_late_fees: true,
        };
        if let Some(p) = doc {
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
        Ok(promises)
    }

    fn late_fees(&self, doc: Option<LateFeesDoc>) -> Result<Option<LateFees>, DomainError> {
        let late_fees = match doc {
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
        Ok(late_fees)
    }

    fn ladder(&self, steps: Vec<LadderDoc>) -> Result<Vec<LadderStep>, DomainError> {
        if steps.len() > LADDER_STEPS_MAX {
            return Err(DomainError::InvalidPolicy {
                line: 1,
                field: "ladder".to_owned(),
                message: format!("at most {LADDER_STEPS_MAX} steps"),
            });
        }
        let mut seen = HashSet::new();
        let mut ladder = Vec::with_capacity(steps.len());
        for s in steps {
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
        Ok(ladder)
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
pub(super) fn syntax_error(document: &str, error: &toml::de::Error) -> DomainError {
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
