//! Queries (SPEC §8): read models as of a business date (`asOf`) and, for time travel, as known
//! at an instant (`knownAt`); raw events and log verification for auditors.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, ID};
use domain::{CustomerId, ErrorKind};
use projections::Ledger;

use super::scalars::{Date, Decimal, Instant, Position};
use super::types::{
    self, page_by_offset, page_size, AgingReport, CreditCheck, EventConnection, EventRecord,
    Exposure, ExposureStatus, Page, Verification,
};
use super::{coded_error, internal_error, require, service, validation_error, ApiResult};
use crate::app::auth::Role;

#[derive(Default)]
pub struct QueryRoot;

use crate::api::limits::{KNOWN_AT_COST, METRICS_WINDOW_DAYS_MAX};

fn customer_id(value: &str) -> ApiResult<CustomerId> {
    CustomerId::parse(value)
        .map_err(|e| validation_error(super::error::camel_case_fields(&e.to_string())))
}

/// The service's today (`serve --today D` when fixed, else the UTC date): what an omitted
/// `asOf` means, the same today the commands and the clock use.
fn today(ctx: &Context<'_>) -> ApiResult<chrono::NaiveDate> {
    Ok(service(ctx)?.today())
}

/// Reads of an account's stream the `timeline` query makes while the live ledger keeps
/// applying more of it; the last read is shown as it is.
const TIMELINE_READS_MAX: u32 = 3;

/// Runs `f` on the live ledger, or on the ledger as known at an instant.
async fn with_ledger<T>(
    ctx: &Context<'_>,
    known_at: Option<Instant>,
    f: impl FnOnce(&Ledger) -> ApiResult<T>,
) -> ApiResult<T> {
    let service = service(ctx)?;
    match known_at {
        None => {
            let ledger = service.live.read();
            f(&ledger)
        }
        Some(Instant(at)) => {
            let ledger: Arc<Ledger> = service.known_at(at).await.map_err(internal_error)?;
            f(&ledger)
        }
    }
}

/// The account's whole stream, read from the log off the async threads.
async fn stream_of(
    ctx: &Context<'_>,
    customer: &CustomerId,
) -> ApiResult<Vec<store::RecordedEvent>> {
    let store = service(ctx)?.store.clone();
    let stream = customer.stream();
    tokio::task::spawn_blocking(move || store.read_stream(&stream, 0))
        .await
        .map_err(internal_error)?
        .map_err(internal_error)
}

/// The `timeline` query's answer. The ledger keeps no timeline: it is the account's stream read
/// from the log, shown as far as the ledger's account has applied it. A read made just before
/// the live ledger applied more of the stream is short: read again (the log holds whatever the
/// ledger has applied), [`TIMELINE_READS_MAX`] times at most, then show what was read.
async fn timeline_of(
    ctx: &Context<'_>,
    known_at: Option<Instant>,
    customer: &CustomerId,
    customer_id: &str,
    invoice: Option<&domain::InvoiceId>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> ApiResult<Vec<types::TimelineEntry>> {
    let mut reads = 0;
    loop {
        reads += 1;
        let events = stream_of(ctx, customer).await?;
        let last_version = events.last().map_or(0, |e| e.version);
        let entries = with_ledger(ctx, known_at, |ledger| {
            let Some(account) = ledger.account(customer) else {
                return Err(not_found("customerId", customer_id));
            };
            if reads < TIMELINE_READS_MAX
                && !projections::timeline::stream_covers(account, last_version)
            {
                return Ok(None);
            }
            let entries = projections::timeline::timeline(
                account,
                events.iter().map(Into::into),
                invoice,
                from,
                to,
            );
            Ok(Some(entries.iter().map(Into::into).collect()))
        })
        .await?;
        if let Some(entries) = entries {
            return Ok(entries);
        }
    }
}

fn not_found(field: &str, value: &str) -> async_graphql::Error {
    coded_error(
        ErrorKind::NotFound,
        format!("{field} = {value:?}: not found"),
    )
}

// Named apart from the merged `QueryRoot` (mod.rs) it is part of.
#[Object(name = "ReadModelQueries")]
impl QueryRoot {
    #[graphql(complexity = "child_complexity + known_at.map_or(0, |_| KNOWN_AT_COST)")]
    /// Aging of every account as of a business date (default today), by bucket.
    async fn aging(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        known_at: Option<Instant>,
        currency: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AgingReport> {
        require(ctx, Role::Viewer)?;
        // A currency the ledger could never hold is a mistake, not an empty report.
        if let Some(code) = &currency {
            domain::Currency::parse(code).map_err(|_| {
                validation_error(format!(
                    "currency = {code:?}: not an ISO 4217 code; write three capitals, e.g. \"EUR\""
                ))
            })?;
        }
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        with_ledger(ctx, known_at, |ledger| {
            AgingReport::new(
                &ledger.aging(as_of, currency.as_deref()),
                first,
                after.as_deref(),
            )
        })
        .await
    }

    #[graphql(complexity = "child_complexity + known_at.map_or(0, |_| KNOWN_AT_COST)")]
    /// One account's credit exposure as of a business date (default today).
    async fn exposure(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        as_of: Option<Date>,
        known_at: Option<Instant>,
    ) -> ApiResult<Exposure> {
        require(ctx, Role::Viewer)?;
        let id = self::customer_id(&customer_id)?;
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        with_ledger(ctx, known_at, |ledger| {
            ledger
                .exposure(&id, as_of)
                .map(|e| Exposure::from(&e))
                .ok_or_else(|| not_found("customerId", &customer_id))
        })
        .await
    }

    /// Every account's exposure, optionally only those with one status.
    async fn exposures(
        &self,
        ctx: &Context<'_>,
        status: Option<ExposureStatus>,
        as_of: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Exposure>> {
        require(ctx, Role::Viewer)?;
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        let items: Vec<Exposure> = service(ctx)?
            .live
            .read()
            .exposures(as_of, status.map(Into::into))
            .iter()
            .map(Exposure::from)
            .collect();
        page_by_offset(items, first, after)
    }

    /// One account with its invoices, promises and holds (amounts as of `asOf`, default today).
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<Date>,
    ) -> ApiResult<Option<types::Account>> {
        require(ctx, Role::Viewer)?;
        let customer = customer_id(&id)?;
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        let ledger = service(ctx)?.live.read();
        Ok(ledger.account(&customer).and_then(|a| {
            ledger
                .exposure(&customer, as_of)
                .map(|e| types::Account::new(a, &e, as_of))
        }))
    }

    /// Accounts by customer id, optionally only those whose id or name contains `search`
    /// (case-insensitive).
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<types::Account>> {
        require(ctx, Role::Viewer)?;
        let size = page_size(first)?;
        let needle = search.map(|s| s.to_lowercase());
        let as_of = today(ctx)?;
        let ledger = service(ctx)?.live.read();
        let matching: Vec<&domain::Account> = ledger
            .accounts
            .values()
            .filter(|a| {
                needle.as_deref().is_none_or(|n| {
                    a.customer_id.as_str().to_lowercase().contains(n)
                        || a.name.to_lowercase().contains(n)
                })
            })
            .collect();
        // Build only the requested page: accounts carry their invoices.
        let start = match &after {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| validation_error(format!("after = {c:?}: not a cursor")))?
                .saturating_add(1),
        };
        let mut connection =
            Connection::new(start > 0, start.saturating_add(size) < matching.len());
        for (i, a) in matching.into_iter().enumerate().skip(start).take(size) {
            if let Some(e) = ledger.exposure(&a.customer_id, as_of) {
                connection
                    .edges
                    .push(Edge::new(i.to_string(), types::Account::new(a, &e, as_of)));
            }
        }
        Ok(connection)
    }

    /// Would selling `amount` more on credit be approved today (or on `on`)? Lists every reason
    /// it is not.
    async fn credit_check(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        amount: Decimal,
        on: Option<Date>,
    ) -> ApiResult<CreditCheck> {
        require(ctx, Role::Viewer)?;
        let id = self::customer_id(&customer_id)?;
        let on = on.map(|d| d.0).unwrap_or(today(ctx)?);
        let check = service(ctx)?
            .live
            .read()
            .credit_check(&id, amount.0, on)
            .map_err(|e| coded_error(e.kind(), e.to_string()))?;
        Ok(CreditCheck {
            customer_id: ID(check.customer_id.to_string()),
            amount: Decimal(check.amount),
            approved: check.approved,
            reasons: check.reasons,
            exposure: Decimal(check.exposure),
            effective_limit: Decimal(check.effective_limit),
            available: Decimal(check.available),
        })
    }

    /// Raw envelopes in position order (auditors), optionally of one stream.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<Position>,
        stream: Option<String>,
        first: Option<i32>,
    ) -> ApiResult<EventConnection> {
        require(ctx, Role::Auditor)?;
        let size = page_size(first)?;
        let after = after.map(|p| p.0).unwrap_or(0);
        let store = &service(ctx)?.store;
        let mut events = match &stream {
            None => store
                .read_from(after, size.saturating_add(1))
                .map_err(internal_error)?,
            Some(s) => store
                .read_stream(s, 0)
                .map_err(|e| match e {
                    // A stream name the log could never hold is the caller's mistake.
                    store::StoreError::Invalid(message) => {
                        validation_error(format!("stream: {message}"))
                    }
                    other => internal_error(other),
                })?
                .into_iter()
                .filter(|e| e.position > after)
                .take(size.saturating_add(1))
                .collect(),
        };
        let has_next = events.len() > size;
        events.truncate(size);
        let mut connection = Connection::new(after > 0, has_next);
        connection.edges = events
            .iter()
            .map(|e| Edge::new(e.position.to_string(), EventRecord::from(e)))
            .collect();
        Ok(connection)
    }

    /// Walks the hash chain and the indexes; reports the first bad position.
    async fn verify_log(&self, ctx: &Context<'_>) -> ApiResult<Verification> {
        require(ctx, Role::Auditor)?;
        let store = service(ctx)?.store.clone();
        let v = tokio::task::spawn_blocking(move || store.verify(0))
            .await
            .map_err(internal_error)?
            .map_err(internal_error)?;
        Ok(Verification {
            ok: v.ok,
            checked: Position(v.checked),
            first_bad_position: v.first_bad_position.map(Position),
            message: v.message,
        })
    }

    #[graphql(complexity = "child_complexity + known_at.map_or(0, |_| KNOWN_AT_COST)")]
    /// The collectors' worklist for a date (default today): the ladder step due on each open,
    /// undisputed invoice not covered by a promise.
    async fn worklist(
        &self,
        ctx: &Context<'_>,
        date: Option<Date>,
        known_at: Option<Instant>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<types::WorkItem>> {
        require(ctx, Role::Viewer)?;
        let date = date.map(|d| d.0).unwrap_or(today(ctx)?);
        let items: Vec<types::WorkItem> = with_ledger(ctx, known_at, |ledger| {
            Ok(ledger.worklist(date).iter().map(Into::into).collect())
        })
        .await?;
        page_by_offset(items, first, after)
    }

    #[graphql(complexity = "child_complexity + known_at.map_or(0, |_| KNOWN_AT_COST)")]
    /// Every contact, promise, plan, payment, reversal, delivery, dispute and its resolution, fee,
    /// hold, release, cash-only and escalation of an account in `occurredAt` order, with when it
    /// was recorded, by whom and its position; optionally one invoice and a time range.
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        invoice_id: Option<ID>,
        from: Option<Instant>,
        to: Option<Instant>,
        known_at: Option<Instant>,
    ) -> ApiResult<Vec<types::TimelineEntry>> {
        require(ctx, Role::Viewer)?;
        let customer = self::customer_id(&customer_id)?;
        let invoice = invoice_id
            .map(|i| {
                domain::InvoiceId::parse(&i)
                    .map_err(|e| validation_error(super::error::camel_case_fields(&e.to_string())))
            })
            .transpose()?;
        if let (Some(Instant(f)), Some(Instant(t))) = (from, to) {
            if f > t {
                return Err(validation_error(format!(
                    "from = \"{}\": after to = \"{}\"; give a range with from on or before to",
                    Instant(f)
                        .0
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    Instant(t)
                        .0
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                )));
            }
        }
        timeline_of(
            ctx,
            known_at,
            &customer,
            &customer_id,
            invoice.as_ref(),
            from.map(|t| t.0),
            to.map(|t| t.0),
        )
        .await
    }

    /// A customer's statement of account for `[from, to]` (SPEC §7): the opening balance, every
    /// dated movement in date order with its running balance, and the closing balance, which is
    /// the exposure as of `to`.
    async fn statement(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        from: Date,
        to: Date,
    ) -> ApiResult<types::Statement> {
        require(ctx, Role::Viewer)?;
        let customer = self::customer_id(&customer_id)?;
        let (from, to) = (from.0, to.0);
        let events = stream_of(ctx, &customer).await?;
        let statement = projections::statement::statement(
            events.iter().map(|e| (e.position, &e.event)),
            from,
            to,
        )
        .map_err(|e| validation_error(e.to_string()))?
        .ok_or_else(|| not_found("customerId", &customer_id))?;
        Ok((&statement).into())
    }

    /// Promises to pay (of one customer, or all) and their status as of a date.
    async fn promises(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<ID>,
        as_of: Option<Date>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<types::PromiseStatusView>> {
        require(ctx, Role::Viewer)?;
        let customer = customer_id.map(|c| self::customer_id(&c)).transpose()?;
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        let items: Vec<types::PromiseStatusView> = service(ctx)?
            .live
            .read()
            .promises(customer.as_ref(), as_of)
            .iter()
            .map(Into::into)
            .collect();
        page_by_offset(items, first, after)
    }

    #[graphql(complexity = "child_complexity + known_at.map_or(0, |_| KNOWN_AT_COST)")]
    /// DSO, CEI, promise-kept rate and average days to pay, per currency, as of a date over the
    /// `windowDays` (default 90) before it.
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        window_days: Option<i32>,
        known_at: Option<Instant>,
    ) -> ApiResult<Vec<types::MetricsView>> {
        require(ctx, Role::Viewer)?;
        let as_of = as_of.map(|d| d.0).unwrap_or(today(ctx)?);
        let window = match window_days {
            None => 90,
            Some(w) if (1..=METRICS_WINDOW_DAYS_MAX).contains(&w) => w.unsigned_abs(),
            Some(w) => {
                return Err(validation_error(format!(
                    "windowDays = {w}: must be 1 to {METRICS_WINDOW_DAYS_MAX}"
                )))
            }
        };
        with_ledger(ctx, known_at, |ledger| {
            Ok(ledger
                .metrics(as_of, window)
                .iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    /// One adopted policy by version (default: the one in force).
    async fn policy(&self, ctx: &Context<'_>, version: Option<i32>) -> ApiResult<types::Policy> {
        require(ctx, Role::Viewer)?;
        let ledger = service(ctx)?.live.read();
        let current = ledger.policy_version();
        let wanted = match version {
            Some(v) => u32::try_from(v).map_err(|_| not_found("version", &v.to_string()))?,
            None => current,
        };
        ledger
            .policies
            .iter()
            .find(|p| p.version == wanted)
            .map(|p| policy_of(p, current))
            .ok_or_else(|| not_found("version", &wanted.to_string()))
    }

    /// Every adopted policy, oldest first.
    async fn policies(&self, ctx: &Context<'_>) -> ApiResult<Vec<types::Policy>> {
        require(ctx, Role::Viewer)?;
        let ledger = service(ctx)?.live.read();
        let current = ledger.policy_version();
        Ok(ledger
            .policies
            .iter()
            .map(|p| policy_of(p, current))
            .collect())
    }
}

fn policy_of(p: &projections::ledger::AdoptedPolicy, current: u32) -> types::Policy {
    types::Policy {
        version: i32::try_from(p.version).unwrap_or(i32::MAX),
        name: p.name.clone(),
        document: p.document.clone(),
        adopted_at: Instant(p.adopted_at),
        position: Position(p.position),
        in_force: p.version == current,
    }
}
