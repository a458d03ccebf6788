//! GraphQL output types and Relay-style paging (SPEC §8). The core types' names and fields are a
//! contract: `AgingReport`, `AgingRow`, `AgingTotal`, `Exposure`, `EventRecord`, `Verification`,
//! `CommandResult`.

use async_graphql::connection::{
    Connection, ConnectionNameType, DefaultConnectionName, DefaultEdgeName, Edge, EdgeNameType,
    EmptyFields,
};
use async_graphql::{Enum, Json, OutputType, SimpleObject, ID};
use store::RecordedEvent;

use super::scalars::{Date, Decimal, Instant, Position};
use super::{limit_error, ApiResult};

use crate::api::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};

pub type Page<T, N = DefaultConnectionName, E = DefaultEdgeName> =
    Connection<String, T, EmptyFields, EmptyFields, N, E>;

/// The page size asked for, within the limit.
pub fn page_size(first: Option<i32>) -> ApiResult<usize> {
    match first {
        None => Ok(PAGE_SIZE_DEFAULT),
        Some(n) if n < 0 => Err(super::validation_error(format!(
            "first = {n}: must not be negative"
        ))),
        Some(n) if n as usize > PAGE_SIZE_MAX => Err(limit_error(format!(
            "first = {n}: at most {PAGE_SIZE_MAX} items per page"
        ))),
        Some(n) => Ok(n as usize),
    }
}

/// Pages a list by offset; cursors are offsets written as strings.
pub fn page_by_offset<T, N, E>(
    items: Vec<T>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Page<T, N, E>>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let (start, size, mut connection) = page_window(items.len(), first, after.as_deref())?;
    connection.edges = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(size)
        .map(|(i, node)| Edge::new(i.to_string(), node))
        .collect();
    Ok(connection)
}

/// Pages a borrowed list by offset like [`page_by_offset`], converting only the items on the
/// page (a report of 10,000 rows serves a page of 50 without copying the rest).
pub fn page_of_slice<S, T, N, E>(
    items: &[S],
    first: Option<i32>,
    after: Option<&str>,
    node: impl Fn(&S) -> T,
) -> ApiResult<Page<T, N, E>>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let (start, size, mut connection) = page_window(items.len(), first, after)?;
    connection.edges = items
        .iter()
        .enumerate()
        .skip(start)
        .take(size)
        .map(|(i, item)| Edge::new(i.to_string(), node(item)))
        .collect();
    Ok(connection)
}

/// The first offset and the size of the page of `total` items that `first` and `after` ask for,
/// with its connection (no edges yet) saying whether items come before and after it.
fn page_window<T, N, E>(
    total: usize,
    first: Option<i32>,
    after: Option<&str>,
) -> ApiResult<(usize, usize, Page<T, N, E>)>
where
    T: OutputType,
    N: ConnectionNameType,
    E: EdgeNameType,
{
    let size = page_size(first)?;
    let start = page_start(after)?;
    let connection = Connection::new(start > 0, start.saturating_add(size) < total);
    Ok((start, size, connection))
}

/// The offset of the first item after the cursor `after` (0 without one).
fn page_start(after: Option<&str>) -> ApiResult<usize> {
    match after {
        None => Ok(0),
        Some(cursor) => Ok(cursor
            .parse::<usize>()
            .map_err(|_| super::validation_error(format!("after = {cursor:?}: not a cursor")))?
            .saturating_add(1)),
    }
}

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

/// One envelope of the log, payload as JSON, hashes in lowercase hex.
#[derive(SimpleObject, Clone)]
pub struct EventRecord {
    pub position: Position,
    pub stream: String,
    pub version: Position,
    pub event_id: ID,
    #[graphql(name = "type")]
    pub event_type: String,
    pub schema: i32,
    pub occurred_at: Instant,
    pub recorded_at: Instant,
    pub actor: String,
    pub policy_version: Option<i32>,
    pub payload: Json<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&RecordedEvent> for EventRecord {
    fn from(e: &RecordedEvent) -> Self {
        EventRecord {
            position: Position(e.position),
            stream: e.stream.clone(),
            version: Position(e.version),
            event_id: ID(e.event_id.to_string()),
            event_type: e.event_type.clone(),
            schema: i32::from(e.schema),
            occurred_at: Instant(e.occurred_at),
            recorded_at: Instant(e.recorded_at),
            actor: e.actor.clone(),
            policy_version: e
                .policy_version
                .map(|v| i32::try_from(v).unwrap_or(i32::MAX)),
            payload: Json(e.payload_json()),
            prev_hash: store::chain::to_hex(&e.prev_hash),
            hash: store::chain::to_hex(&e.hash),
        }
    }
}

/// Names the events connection `EventConnection` (SPEC §8).
pub struct EventConnectionName;
impl ConnectionNameType for EventConnectionName {
    fn type_name<T: OutputType>() -> String {
        "EventConnection".to_owned()
    }
}

/// Names the events edge `EventEdge`.
pub struct EventEdgeName;
impl EdgeNameType for EventEdgeName {
    fn type_name<T: OutputType>() -> String {
        "EventEdge".to_owned()
    }
}

pub type EventConnection = Page<EventRecord, EventConnectionName, EventEdgeName>;

#[derive(SimpleObject)]
pub struct Verification {
    pub ok: bool,
    pub checked: Position,
    pub first_bad_position: Option<Position>,
    pub message: Option<String>,
}

#[derive(SimpleObject)]
pub struct CommandResult {
    pub events: Vec<EventRecord>,
    pub exposure: Option<Exposure>,
}

#[derive(SimpleObject)]
pub struct CreditCheck {
    pub customer_id: ID,
    pub amount: Decimal,
    pub approved: bool,
    /// Every reason the check fails; empty when approved.
    pub reasons: Vec<String>,
    pub exposure: Decimal,
    pub effective_limit: Decimal,
    pub available: Decimal,
}

#[derive(SimpleObject, Clone)]
pub struct Terms {
    pub net_days: i32,
    pub discount_percent: Option<Decimal>,
    pub discount_days: Option<i32>,
}

impl From<&domain::event::Terms> for Terms {
    fn from(t: &domain::event::Terms) -> Self {
        Terms {
            net_days: i32::try_from(t.net_days).unwrap_or(i32::MAX),
            discount_percent: t.discount_percent.map(Decimal),
            discount_days: t
                .discount_days
                .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Contacts {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub postal_address: Option<String>,
    pub billing_contact: Option<String>,
    pub billing_email: Option<String>,
    pub language: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Invoice {
    pub invoice_id: ID,
    pub amount: Decimal,
    pub issued_on: Date,
    pub due_on: Date,
    pub reference: Option<String>,
    /// Open amount as of the account query's date.
    pub open: Decimal,
    pub disputed: bool,
    pub delivered_on: Option<Date>,
    pub escalated_on: Option<Date>,
}

#[derive(SimpleObject, Clone)]
pub struct Promise {
    pub promise_id: ID,
    pub amount: Decimal,
    pub promised_on: Date,
    pub made_on: Date,
    pub invoice_ids: Vec<ID>,
    pub via: String,
    pub plan_id: Option<ID>,
    pub kept_on: Option<Date>,
    pub broken_on: Option<Date>,
    pub shortfall: Option<Decimal>,
}

#[derive(SimpleObject, Clone)]
pub struct HoldChange {
    pub effective_on: Date,
    /// False when this change released the account.
    pub held: bool,
    /// Why the account was held, or why it was released.
    pub reason: Option<String>,
    /// The policy rule of an automatic hold.
    pub rule: Option<String>,
    /// Whether a person held (or released) the account; false for the clock's.
    pub manual: Option<bool>,
}

#[derive(SimpleObject, Clone)]
pub struct Account {
    pub customer_id: ID,
    pub name: String,
    pub currency: String,
    pub credit_limit: Decimal,
    pub terms: Terms,
    pub opened_on: Date,
    pub contacts: Contacts,
    pub contacts_verified_on: Option<Date>,
    pub sales_rep: Option<String>,
    pub version: Position,
    pub invoices: Vec<Invoice>,
    pub promises: Vec<Promise>,
    pub holds: Vec<HoldChange>,
    pub exposure: Exposure,
}

impl Account {
    pub fn new(
        a: &domain::Account,
        exposure: &projections::Exposure,
        today: chrono::NaiveDate,
    ) -> Self {
        Account {
            customer_id: ID(a.customer_id.to_string()),
            name: a.name.clone(),
            currency: a.currency.as_str().to_owned(),
            credit_limit: Decimal(a.currency.display(a.credit_limit)),
            terms: (&a.terms).into(),
            opened_on: Date(a.opened_on),
            contacts: Contacts {
                emails: a.contacts.emails.clone(),
                phones: a.contacts.phones.clone(),
                postal_address: a.contacts.postal_address.clone(),
                billing_contact: a.contacts.billing_contact.clone(),
                billing_email: a.contacts.billing_email.clone(),
                language: a.contacts.language.clone(),
            },
            contacts_verified_on: a.contacts_verified_on.map(Date),
            sales_rep: a.sales_rep.clone(),
            version: Position(a.version),
            invoices: a
                .invoices
                .iter()
                .map(|i| Invoice {
                    invoice_id: ID(i.id.to_string()),
                    amount: Decimal(a.currency.display(i.amount)),
                    issued_on: Date(i.issued_on),
                    due_on: Date(i.due_on),
                    reference: i.reference.clone(),
                    open: Decimal(a.currency.display(i.open_on(today))),
                    disputed: i.disputed_on(today),
                    delivered_on: i.delivered_on.map(Date),
                    escalated_on: i.escalated_on.map(Date),
                })
                .collect(),
            promises: a
                .promises
                .iter()
                .map(|p| Promise {
                    promise_id: ID(p.id.to_string()),
                    amount: Decimal(a.currency.display(p.amount)),
                    promised_on: Date(p.promised_on),
                    made_on: Date(p.made_on),
                    invoice_ids: p.invoice_ids.iter().map(|i| ID(i.to_string())).collect(),
                    via: p.via.clone(),
                    plan_id: p.plan_id.as_ref().map(|i| ID(i.to_string())),
                    kept_on: p.kept_on.map(Date),
                    broken_on: p.broken_on.map(Date),
                    shortfall: p.shortfall.map(|v| Decimal(a.currency.display(v))),
                })
                .collect(),
            holds: a
                .holds
                .iter()
                .map(|h| HoldChange {
                    effective_on: Date(h.effective_on),
                    held: h.state.is_some(),
                    reason: h
                        .state
                        .as_ref()
                        .map(|s| s.reason.clone())
                        .or_else(|| h.released.as_ref().map(|r| r.reason.clone())),
                    rule: h.state.as_ref().and_then(|s| s.rule.clone()),
                    manual: h
                        .state
                        .as_ref()
                        .map(|s| s.manual)
                        .or_else(|| h.released.as_ref().map(|r| r.manual)),
                })
                .collect(),
            exposure: exposure.into(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Policy {
    pub version: i32,
    pub name: String,
    pub document: String,
    pub adopted_at: Instant,
    pub position: Position,
    /// True for the policy in force.
    pub in_force: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(page: &Page<i32>) -> Vec<(String, i32)> {
        page.edges
            .iter()
            .map(|e| (e.cursor.clone(), e.node))
            .collect()
    }

    #[test]
    fn a_page_of_a_slice_is_that_page_of_the_whole_list() {
        let items: Vec<i32> = (0..7).collect();
        for first in [None, Some(0), Some(1), Some(3), Some(7), Some(9)] {
            for after in [None, Some("0"), Some("2"), Some("5"), Some("6"), Some("40")] {
                let whole: Page<i32> =
                    page_by_offset(items.clone(), first, after.map(str::to_owned)).unwrap();
                let sliced: Page<i32> = page_of_slice(&items, first, after, |i| *i).unwrap();
                assert_eq!(
                    edges(&whole),
                    edges(&sliced),
                    "first {first:?} after {after:?}"
                );
                assert_eq!(
                    (whole.has_previous_page, whole.has_next_page),
                    (sliced.has_previous_page, sliced.has_next_page),
                    "first {first:?} after {after:?}"
                );
            }
        }
        let bad: ApiResult<Page<i32>> = page_of_slice(&items, None, Some("x"), |i| *i);
        assert!(bad.is_err());
        let too_many: ApiResult<Page<i32>> = page_of_slice(&items, Some(501), None, |i| *i);
        assert!(too_many.is_err());
    }
}
