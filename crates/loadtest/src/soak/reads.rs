//! The soak's readers and samplers: aging, exposure, worklist and timeline queries, the
//! interval sample, and the aging compared between the server and the CLI's replay.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::anyhow;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::shared::*;
use super::*;
use crate::loopback::ServeChild;

pub(super) const AGING_QUERY: &str = "query($d: Date) { aging(asOf: $d, first: 50) { totals { currency total } rows { nodes { customerId total } } } }";
pub(super) const EXPOSURE_QUERY: &str = "query($c: ID!, $d: Date) { exposure(customerId: $c, asOf: $d) { exposure available status openPromises } }";
pub(super) const WORKLIST_QUERY: &str = "query($d: Date) { worklist(date: $d, first: 50) { nodes { customerId invoiceId step openAmount daysPastDue } } }";
pub(super) const TIMELINE_QUERY: &str =
    "query($c: ID!) { timeline(customerId: $c) { type position occurredAt summary } }";

pub(super) async fn read_loop(shared: Arc<Shared>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let today = shared.today.to_string();
    while shared.running() {
        let customer = {
            let accounts = lock(&shared.accounts);
            if accounts.is_empty() {
                None
            } else {
                accounts.get(rng.gen_range(0..accounts.len())).cloned()
            }
        };
        let (op, query, vars) = match (rng.gen_range(0..4), customer) {
            (1, Some(c)) => ("exposure", EXPOSURE_QUERY, json!({"c": c, "d": today})),
            (2, _) => ("worklist", WORKLIST_QUERY, json!({"d": today})),
            (3, Some(c)) => ("timeline", TIMELINE_QUERY, json!({"c": c})),
            _ => ("aging", AGING_QUERY, json!({"d": today})),
        };
        if let Answer::Rejected { code, message } = send(&shared, op, false, query, &vars).await {
            shared.fail(format!("{op} refused: {code}: {message}"));
        }
        if !shared.think.is_zero() {
            tokio::time::sleep(shared.think).await;
        }
    }
}

/// Ends one interval: takes the window and samples the server.
/// Where the previous interval ended.
pub(super) struct Mark {
    pub(super) at: Instant,
    pub(super) events: u64,
    pub(super) server_cpu_s: f64,
}

pub(super) async fn sample(shared: &Shared, started: Instant, last: &mut Mark) -> Interval {
    let window = std::mem::take(&mut *lock(&shared.window));
    let now = Instant::now();
    let seconds = now.duration_since(last.at).as_secs_f64().max(1e-9);
    let server_cpu_s = loopback::cpu_s(shared.server.pid()).unwrap_or(last.server_cpu_s);
    let rss_mib = shared.server.rss_mib().unwrap_or(0.0);
    let (events, applied) = match shared.server.health().await {
        Ok(h) => h,
        Err(e) => {
            shared.fail(format!("/health did not answer: {e:#}"));
            (last.events, last.events)
        }
    };
    let ops = window
        .latencies_ms
        .into_iter()
        .map(|(op, mut samples)| {
            samples.sort_by(f64::total_cmp);
            (
                op.to_owned(),
                OpFigures {
                    requests: samples.len() as u64,
                    p50_ms: loopback::quantile(&samples, 0.50),
                    p99_ms: loopback::quantile(&samples, 0.99),
                },
            )
        })
        .collect();
    let interval = Interval {
        end_s: now.duration_since(started).as_secs_f64(),
        seconds,
        rss_mib,
        events,
        projection_lag: events.saturating_sub(applied),
        requests: window.requests,
        requests_per_s: window.requests as f64 / seconds,
        events_per_s: events.saturating_sub(last.events) as f64 / seconds,
        server_cpu_ms_per_request: (server_cpu_s - last.server_cpu_s) * 1000.0
            / window.requests.max(1) as f64,
        load_1m: loopback::load_average_1m().unwrap_or(0.0),
        errors: window.errors,
        ops,
    };
    *last = Mark {
        at: now,
        events,
        server_cpu_s,
    };
    interval
}

/// The customer ids already in the ledger (a demo seed), for readers to ask about.
pub(super) async fn existing_accounts(server: &ServeChild) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let answer = server
            .graphql(
                "query($a: String, $n: Int) { accounts(first: $n, after: $a) {
                    nodes { customerId } pageInfo { hasNextPage endCursor } } }",
                json!({"a": after, "n": AGING_PAGE}),
            )
            .await?;
        let accounts = &answer["data"]["accounts"];
        let nodes = accounts["nodes"]
            .as_array()
            .ok_or_else(|| anyhow!("accounts: {answer}"))?;
        ids.extend(
            nodes
                .iter()
                .filter_map(|n| n["customerId"].as_str().map(str::to_owned)),
        );
        if accounts["pageInfo"]["hasNextPage"] != true {
            return Ok(ids);
        }
        after = accounts["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
}

/// Every row of the server's aging as of `as_of`, in the CLI's JSON shape.
pub(super) async fn server_aging(server: &ServeChild, as_of: NaiveDate) -> anyhow::Result<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let totals = loop {
        let answer = server
            .graphql(
                "query($d: Date, $a: String, $n: Int) { aging(asOf: $d, first: $n, after: $a) {
                    totals { currency amounts unapplied total }
                    rows { nodes { customerId currency amounts unapplied total disputed }
                           pageInfo { hasNextPage endCursor } } } }",
                json!({"d": as_of.to_string(), "a": after, "n": AGING_PAGE}),
            )
            .await?;
        let aging = &answer["data"]["aging"];
        let nodes = aging["rows"]["nodes"]
            .as_array()
            .ok_or_else(|| anyhow!("aging: {answer}"))?;
        for r in nodes {
            rows.push(
                json!({"customer_id": r["customerId"], "currency": r["currency"],
                "buckets": r["amounts"], "unapplied": r["unapplied"], "total": r["total"],
                "disputed": r["disputed"]}),
            );
        }
        if aging["rows"]["pageInfo"]["hasNextPage"] != true {
            break aging["totals"].clone();
        }
        after = aging["rows"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    };
    Ok(json!({"rows": rows, "totals": totals}))
}

/// The aging as of `as_of` replayed from the log by `dunlog aging` (server stopped), in the
/// same shape.
pub(super) fn cli_aging(data: &Path, as_of: NaiveDate) -> anyhow::Result<Value> {
    let out = loopback::run_cli(
        data,
        &["aging", "--as-of", &as_of.to_string(), "--format", "json"],
    )?;
    let report: Value = serde_json::from_str(&out)?;
    let rows: Vec<Value> = report["rows"]
        .as_array()
        .ok_or_else(|| anyhow!("dunlog aging printed no rows"))?
        .iter()
        .map(|r| {
            json!({"customer_id": r["customer_id"], "currency": r["currency"],
                "buckets": r["buckets"], "unapplied": r["unapplied"], "total": r["total"],
                "disputed": r["disputed"]})
        })
        .collect();
    Ok(json!({"rows": rows, "totals": report["totals"]}))
}
