//! The read models as GraphQL returns them (SPEC §7, §8): aging, exposure, the worklist, the
//! timeline, the statement of account, promises and metrics. Names and fields are a contract.

use async_graphql::{Enum, Json, SimpleObject, ID};

use super::scalars::{Date, Decimal, Instant, Position};
use super::ApiResult;

use super::types::*;

#[derive(SimpleObject, Clone)]
pub struct AgingRow {
    pub customer_id: ID,
    pub name: String,
    pub currency: String,
    /// One per bucket, Current first, aligned with `AgingReport.buckets`.
    pub amounts: Vec<Decimal>,
    pub unapplied: Decimal,
    pub total: Decimal,
    pub disputed: Decimal,
    pub oldest_days_past_due: Option<i32>,
}

#[derive(SimpleObject, Clone)]
pub struct AgingTotal {
    pub currency: String,
    pub amounts: Vec<Decimal>,
    pub unapplied: Decimal,
    pub total: Decimal,
}

#[derive(SimpleObject)]
pub struct AgingReport {
    pub as_of: Date,
    pub buckets: Vec<String>,
    pub rows: Page<AgingRow>,
    pub totals: Vec<AgingTotal>,
}

fn decimals(values: &[rust_decimal::Decimal]) -> Vec<Decimal> {
    values.iter().copied().map(Decimal).collect()
}

fn days(value: Option<i64>) -> Option<i32> {
    value.map(|d| d.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

impl AgingReport {
    /// The report with only the requested page of rows converted; `report` is shared with the
    /// read model's memo, never copied whole.
    pub fn new(
        report: &projections::AgingReport,
        first: Option<i32>,
        after: Option<&str>,
    ) -> ApiResult<AgingReport> {
        Ok(AgingReport {
            as_of: Date(report.as_of),
            buckets: report.buckets.clone(),
            rows: page_of_slice(&report.rows, first, after, |r| AgingRow {
                customer_id: ID(r.customer_id.to_string()),
                name: r.name.clone(),
                currency: r.currency.as_str().to_owned(),
                amounts: decimals(&r.amounts),
                unapplied: Decimal(r.unapplied),
                total: Decimal(r.total),
                disputed: Decimal(r.disputed),
                oldest_days_past_due: days(r.oldest_days_past_due),
            })?,
            totals: report
                .totals
                .iter()
                .map(|t| AgingTotal {
                    currency: t.currency.as_str().to_owned(),
                    amounts: decimals(&t.amounts),
                    unapplied: Decimal(t.unapplied),
                    total: Decimal(t.total),
                })
                .collect(),
        })
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ExposureStatus {
    Ok,
    Probation,
    OverLimit,
    CashOnly,
    Held,
}

impl From<projections::ExposureStatus> for ExposureStatus {
    fn from(s: projections::ExposureStatus) -> Self {
        match s {
            projections::ExposureStatus::Ok => ExposureStatus::Ok,
            projections::ExposureStatus::Probation => ExposureStatus::Probation,
            projections::ExposureStatus::OverLimit => ExposureStatus::OverLimit,
            projections::ExposureStatus::CashOnly => ExposureStatus::CashOnly,
            projections::ExposureStatus::Held => ExposureStatus::Held,
        }
    }
}

impl From<ExposureStatus> for projections::ExposureStatus {
    fn from(s: ExposureStatus) -> Self {
        match s {
            ExposureStatus::Ok => projections::ExposureStatus::Ok,
            ExposureStatus::Probation => projections::ExposureStatus::Probation,
            ExposureStatus::OverLimit => projections::ExposureStatus::OverLimit,
            ExposureStatus::CashOnly => projections::ExposureStatus::CashOnly,
            ExposureStatus::Held => projections::ExposureStatus::Held,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Exposure {
    pub customer_id: ID,
    pub currency: String,
    pub credit_limit: Decimal,
    pub effective_limit: Decimal,
    pub exposure: Decimal,
    pub available: Decimal,
    pub utilization: Option<Decimal>,
    pub status: ExposureStatus,
    pub open_promises: i32,
    pub promises_kept: i32,
    pub promises_broken: i32,
    pub days_since_last_contact: Option<i32>,
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<&projections::Exposure> for Exposure {
    fn from(e: &projections::Exposure) -> Self {
        Exposure {
            customer_id: ID(e.customer_id.to_string()),
            currency: e.currency.as_str().to_owned(),
            credit_limit: Decimal(e.credit_limit),
            effective_limit: Decimal(e.effective_limit),
            exposure: Decimal(e.exposure),
            available: Decimal(e.available),
            utilization: e.utilization.map(Decimal),
            status: e.status.into(),
            open_promises: count(e.open_promises),
            promises_kept: count(e.promises_kept),
            promises_broken: count(e.promises_broken),
            days_since_last_contact: days(e.days_since_last_contact),
        }
    }
}

/// One action due on the worklist (SPEC §7).
#[derive(SimpleObject, Clone)]
pub struct WorkItem {
    pub customer_id: ID,
    pub name: String,
    pub invoice_id: ID,
    pub step: String,
    pub channel: String,
    pub trigger_on: Date,
    pub open_amount: Decimal,
    pub currency: String,
    pub days_past_due: i32,
    pub sales_rep: Option<String>,
    /// Earlier ladder steps that were due and never fulfilled.
    pub skipped_steps: i32,
    /// Why the last attempt to deliver this step failed (SPEC §12), if it did.
    pub last_attempt_failed: Option<String>,
}

impl From<&projections::WorkItem> for WorkItem {
    fn from(w: &projections::WorkItem) -> Self {
        WorkItem {
            customer_id: ID(w.customer_id.to_string()),
            name: w.name.clone(),
            invoice_id: ID(w.invoice_id.to_string()),
            step: w.step.clone(),
            channel: w.channel.clone(),
            trigger_on: Date(w.trigger_on),
            open_amount: Decimal(w.open_amount),
            currency: w.currency.as_str().to_owned(),
            days_past_due: days(Some(w.days_past_due)).unwrap_or(0),
            sales_rep: w.sales_rep.clone(),
            skipped_steps: i32::try_from(w.skipped_steps).unwrap_or(i32::MAX),
            last_attempt_failed: w.last_attempt_failed.clone(),
        }
    }
}

/// One line of an account's timeline: when a contact, promise, payment, fee, hold or other fact happened, when
/// it was recorded, by whom, and where it is in the log.
#[derive(SimpleObject, Clone)]
pub struct TimelineEntry {
    pub customer_id: ID,
    #[graphql(name = "type")]
    pub event_type: String,
    pub occurred_at: Instant,
    pub recorded_at: Instant,
    pub actor: String,
    pub position: Position,
    pub invoice_ids: Vec<ID>,
    pub summary: String,
    /// For a reconciliation (a fee reversal, a reinstated promise, a hold, release or
    /// cash-only change named `reconciled`): the position of what it reverses.
    pub reverses: Option<Position>,
    pub payload: Json<serde_json::Value>,
}

impl From<&projections::TimelineEntry> for TimelineEntry {
    fn from(t: &projections::TimelineEntry) -> Self {
        TimelineEntry {
            customer_id: ID(t.customer_id.to_string()),
            event_type: t.event_type.clone(),
            occurred_at: Instant(t.occurred_at),
            recorded_at: Instant(t.recorded_at),
            actor: t.actor.clone(),
            position: Position(t.position),
            invoice_ids: t.invoice_ids.iter().map(|i| ID(i.to_string())).collect(),
            summary: t.summary.clone(),
            reverses: t.reverses.map(Position),
            payload: Json(t.payload.clone()),
        }
    }
}

/// What moved a statement's balance (SPEC §8; the names are a contract).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum StatementKind {
    Invoice,
    LateFee,
    FeeReversal,
    CreditNote,
    Payment,
    Discount,
    Reversal,
    UnappliedApplied,
    WriteOff,
}

impl From<projections::StatementKind> for StatementKind {
    fn from(k: projections::StatementKind) -> Self {
        use projections::StatementKind as K;
        match k {
            K::Invoice => StatementKind::Invoice,
            K::LateFee => StatementKind::LateFee,
            K::FeeReversal => StatementKind::FeeReversal,
            K::CreditNote => StatementKind::CreditNote,
            K::Payment => StatementKind::Payment,
            K::Discount => StatementKind::Discount,
            K::Reversal => StatementKind::Reversal,
            K::UnappliedApplied => StatementKind::UnappliedApplied,
            K::WriteOff => StatementKind::WriteOff,
        }
    }
}

/// One movement of a statement of account: a debit or a credit (the other is zero) and the
/// balance after it.
#[derive(SimpleObject, Clone)]
pub struct StatementLine {
    pub date: Date,
    pub kind: StatementKind,
    /// The document: invoice, credit note or payment id; `fee N` for a late fee's period.
    pub reference: String,
    /// The invoice moved; null for cash not on an invoice (unapplied).
    pub invoice_id: Option<ID>,
    pub debit: Decimal,
    pub credit: Decimal,
    /// The running balance after this line.
    pub balance: Decimal,
    /// The log position of the event that recorded the movement.
    pub position: Position,
}

/// A customer's statement of account for `[from, to]` (SPEC §7): the opening balance (exposure
/// the day before `from`), every dated movement in date order, the closing balance (exposure as
/// of `to`).
#[derive(SimpleObject, Clone)]
pub struct Statement {
    pub customer_id: ID,
    pub currency: String,
    pub from: Date,
    pub to: Date,
    pub opening_balance: Decimal,
    pub closing_balance: Decimal,
    pub lines: Vec<StatementLine>,
}

impl From<&projections::Statement> for Statement {
    fn from(s: &projections::Statement) -> Self {
        Statement {
            customer_id: ID(s.customer_id.to_string()),
            currency: s.currency.as_str().to_owned(),
            from: Date(s.from),
            to: Date(s.to),
            opening_balance: Decimal(s.opening_balance),
            closing_balance: Decimal(s.closing_balance),
            lines: s
                .lines
                .iter()
                .map(|l| StatementLine {
                    date: Date(l.date),
                    kind: l.kind.into(),
                    reference: l.reference.clone(),
                    invoice_id: l.invoice_id.as_ref().map(|i| ID(i.to_string())),
                    debit: Decimal(l.debit),
                    credit: Decimal(l.credit),
                    balance: Decimal(l.balance),
                    position: Position(l.position),
                })
                .collect(),
        }
    }
}

/// A promise to pay and where it stands as of the date asked.
#[derive(SimpleObject, Clone)]
pub struct PromiseStatusView {
    pub customer_id: ID,
    pub promise_id: ID,
    pub amount: Decimal,
    pub promised_on: Date,
    pub made_on: Date,
    pub invoice_ids: Vec<ID>,
    pub plan_id: Option<ID>,
    /// `OPEN`, `KEPT` or `BROKEN`.
    pub status: String,
    pub kept_on: Option<Date>,
    pub broken_on: Option<Date>,
    pub shortfall: Option<Decimal>,
}

impl From<&projections::PromiseView> for PromiseStatusView {
    fn from(p: &projections::PromiseView) -> Self {
        PromiseStatusView {
            customer_id: ID(p.customer_id.to_string()),
            promise_id: ID(p.promise_id.to_string()),
            amount: Decimal(p.amount),
            promised_on: Date(p.promised_on),
            made_on: Date(p.made_on),
            invoice_ids: p.invoice_ids.iter().map(|i| ID(i.to_string())).collect(),
            plan_id: p.plan_id.as_ref().map(|i| ID(i.to_string())),
            status: p.status.clone(),
            kept_on: p.kept_on.map(Date),
            broken_on: p.broken_on.map(Date),
            shortfall: p.shortfall.map(Decimal),
        }
    }
}

/// Collection metrics of one currency (SPEC §7).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Metrics")]
pub struct MetricsView {
    pub currency: String,
    pub as_of: Date,
    pub window_days: i32,
    pub open_receivables: Decimal,
    pub credit_sales: Decimal,
    /// Days sales outstanding.
    pub dso: Option<Decimal>,
    /// Collection effectiveness index, percent.
    pub cei: Option<Decimal>,
    /// Percent of promises due in the window that were kept.
    pub promise_kept_rate: Option<Decimal>,
    pub average_days_to_pay: Option<Decimal>,
}

impl From<&projections::Metrics> for MetricsView {
    fn from(m: &projections::Metrics) -> Self {
        MetricsView {
            currency: m.currency.as_str().to_owned(),
            as_of: Date(m.as_of),
            window_days: i32::try_from(m.window_days).unwrap_or(i32::MAX),
            open_receivables: Decimal(m.open_receivables),
            credit_sales: Decimal(m.credit_sales),
            dso: m.dso.map(Decimal),
            cei: m.cei.map(Decimal),
            promise_kept_rate: m.promise_kept_rate.map(Decimal),
            average_days_to_pay: m.average_days_to_pay.map(Decimal),
        }
    }
}
