//! `dunlog bench`: measures the targets of SPEC §10 on this machine and prints them (a table, or
//! one JSON object with `--json`). Benchmarks report; tests never assert on time.
//!
//! The history is synthetic but consistent: accounts open, invoices are issued over a year, and
//! payments settle older invoices in full, so projections have real work and about a tenth of
//! the invoices stay open. Appends go through the real store (durable, chained); the HTTP figures
//! come from the real `dunlog serve` process over loopback.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::{Days, NaiveDate, Utc};
use domain::CustomerId;
use projections::synthetic;
use serde::Serialize;
use store::{AppendRequest, ExpectedVersion, NewEvent, Store};

use crate::loopback;

/// How long each throughput measurement runs.
const MEASURE_APPEND_S: u64 = 3;
/// How long the raw fdatasync rate is measured.
const MEASURE_FSYNC_S: u64 = 2;
/// Requests per HTTP latency measurement.
const HTTP_REQUESTS: usize = 2_000;
/// Concurrent HTTP clients.
const HTTP_CLIENTS: usize = 8;
/// Events per append while generating the history.
const GENERATE_BATCH: usize = 500;
/// Accounts in the generated history unless `--accounts` says otherwise (the aging target is
/// for 10,000 accounts).
const ACCOUNTS_DEFAULT_MAX: u64 = 10_000;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub events: u64,
    pub accounts: u64,
    pub append_1_events_per_s: f64,
    pub append_64_events_per_s: f64,
    pub fdatasync_per_s: f64,
    pub replay_events_per_s: f64,
    pub rebuild_events_per_s: f64,
    pub restart_s: f64,
    pub exposure_p50_ms: f64,
    pub exposure_p99_ms: f64,
    pub exposure_rps: f64,
    pub aging_10k_p50_ms: f64,
    pub aging_10k_p99_ms: f64,
    pub aging_rps: f64,
    pub rss_mib: f64,
    /// This process's resident memory right after generating the history: what a bulk load
    /// leaves held by the store (docs/decisions/0008).
    pub load_rss_mib: f64,
    pub disk_bytes_per_event: f64,
}

/// Runs every measurement in `data` (which must be empty or absent) and returns the figures.
/// The history has `events` events over `accounts` accounts (default `events / 40`, at most
/// 10,000; never more accounts than half the events). With `clock_on` the reads are measured
/// while the server's clock catches up the history's days (as after a restart following days
/// without ticks); otherwise with the clock off (see `measure_http`).
pub async fn run(
    data: &Path,
    events: u64,
    accounts: Option<u64>,
    progress: bool,
    clock_on: bool,
) -> anyhow::Result<BenchReport> {
    fresh_dir(data)?;
    let say = |what: &str| {
        if progress {
            eprintln!("bench: {what}");
        }
    };

    let AppendReport {
        fdatasync_per_s,
        append_1_events_per_s: append_1,
        append_64_events_per_s: append_64,
    } = appends(data, progress).await?;

    let ledger_dir = data.join("ledger");
    let accounts = accounts
        .unwrap_or_else(|| accounts_for(events))
        .clamp(1, (events / 2).max(1));
    say(&format!(
        "generating {events} events over {accounts} accounts"
    ));
    let store = Store::open(&ledger_dir)?;
    let generated = generate(&store, events, accounts).await?;
    let load_rss_mib = crate::loopback::rss_mib(std::process::id()).unwrap_or(0.0);

    say("replay (decode only)");
    let started = Instant::now();
    let mut replayed = 0u64;
    for e in store.iter_from(0) {
        e?;
        replayed += 1;
    }
    let replay_events_per_s = replayed as f64 / started.elapsed().as_secs_f64();

    say("rebuild of all projections");
    let (_, stats) = projections::rebuild::rebuild(&store, None, &mut |_, _| {})?;

    say("restart from a snapshot");
    let projector = projections::runtime::Projector::start(store.clone()).await?;
    projector.save_snapshot()?;
    // The old ledger is freed before the clock starts: dropped while following, its aborted
    // follower would free it on a worker thread during the measured start, which a restarted
    // process never sees.
    projector.shutdown().await;
    drop(projector);
    let started = Instant::now();
    let projector = projections::runtime::Projector::start(store.clone()).await?;
    let restart_s = started.elapsed().as_secs_f64();
    projector.shutdown().await;
    drop(projector);

    let disk_bytes_per_event = store.disk_bytes()? as f64 / generated.max(1) as f64;
    drop(store);

    say("GraphQL over HTTP on loopback");
    let http = measure_http(&ledger_dir, clock_on).await?;

    Ok(BenchReport {
        events: generated,
        accounts,
        append_1_events_per_s: append_1,
        append_64_events_per_s: append_64,
        fdatasync_per_s,
        replay_events_per_s,
        rebuild_events_per_s: stats.events_per_s,
        restart_s,
        exposure_p50_ms: http.exposure.p50_ms,
        exposure_p99_ms: http.exposure.p99_ms,
        exposure_rps: http.exposure.rps,
        aging_10k_p50_ms: http.aging.p50_ms,
        aging_10k_p99_ms: http.aging.p99_ms,
        aging_rps: http.aging.rps,
        rss_mib: http.rss_mib,
        load_rss_mib,
        disk_bytes_per_event,
    })
}

/// Prints the report as a table with the SPEC §10 target beside each figure.
pub fn print_table(r: &BenchReport) {
    let rows: [(&str, String, &str); 16] = [
        ("events", r.events.to_string(), ""),
        ("accounts", r.accounts.to_string(), ""),
        (
            "durable appends/s, 1 writer",
            format!("{:.0}", r.append_1_events_per_s),
            "",
        ),
        (
            "durable appends/s, 64 writers",
            format!("{:.0}", r.append_64_events_per_s),
            "≥ 50,000",
        ),
        (
            "raw fdatasync/s",
            format!("{:.0}", r.fdatasync_per_s),
            "(batching factor = appends ÷ this)",
        ),
        (
            "replay (decode) events/s",
            format!("{:.0}", r.replay_events_per_s),
            "",
        ),
        (
            "rebuild events/s",
            format!("{:.0}", r.rebuild_events_per_s),
            "≥ 1,000,000",
        ),
        (
            "restart to serving, s",
            format!("{:.3}", r.restart_s),
            "≤ 2 s at 10M events",
        ),
        (
            "exposure p50 / p99, ms",
            format!("{:.2} / {:.2}", r.exposure_p50_ms, r.exposure_p99_ms),
            "p99 ≤ 2 ms",
        ),
        ("exposure requests/s", format!("{:.0}", r.exposure_rps), ""),
        (
            "aging (all accounts) p50 / p99, ms",
            format!("{:.2} / {:.2}", r.aging_10k_p50_ms, r.aging_10k_p99_ms),
            "p99 ≤ 50 ms at 10k accounts",
        ),
        ("aging requests/s", format!("{:.0}", r.aging_rps), ""),
        (
            "server resident memory, MiB",
            format!("{:.0}", r.rss_mib),
            "≤ 1024 at 10M events",
        ),
        (
            "bench resident memory after the load, MiB",
            format!("{:.0}", r.load_rss_mib),
            "",
        ),
        (
            "disk bytes/event",
            format!("{:.0}", r.disk_bytes_per_event),
            "",
        ),
        (
            "batching factor (64 writers)",
            format!(
                "{:.1}",
                r.append_64_events_per_s / r.fdatasync_per_s.max(1.0)
            ),
            "",
        ),
    ];
    let mut out = std::io::stdout().lock();
    for (name, value, target) in rows {
        let _ = writeln!(out, "{name:<38} {value:>18}  {target}");
    }
}

fn fdatasync_rate(path: &Path) -> anyhow::Result<f64> {
    let mut file = std::fs::File::create(path)?;
    let block = vec![0xA5u8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(MEASURE_FSYNC_S) {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(path)?;
    Ok(rate)
}

/// Creates `data`, which must be absent or empty: bench writes fresh stores there.
pub fn fresh_dir(data: &Path) -> anyhow::Result<()> {
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "--data {} must be empty: bench writes fresh stores",
            data.display()
        );
    }
    std::fs::create_dir_all(data)?;
    Ok(())
}

/// The append figures alone (`dunlog bench --appends-only`).
#[derive(Debug, Serialize)]
pub struct AppendReport {
    pub fdatasync_per_s: f64,
    pub append_1_events_per_s: f64,
    pub append_64_events_per_s: f64,
}

/// The raw fdatasync rate, then durable appends from 1 and 64 writers, each in its own store
/// under `data` (see [`fresh_dir`]).
pub async fn appends(data: &Path, progress: bool) -> anyhow::Result<AppendReport> {
    let say = |what: &str| {
        if progress {
            eprintln!("bench: {what}");
        }
    };
    say("raw fdatasync rate");
    let fdatasync_per_s = fdatasync_rate(&data.join("fsync-probe"))?;
    say("durable appends, 1 writer");
    let append_1_events_per_s = append_rate(&data.join("append-1"), 1).await?;
    say("durable appends, 64 writers");
    let append_64_events_per_s = append_rate(&data.join("append-64"), 64).await?;
    Ok(AppendReport {
        fdatasync_per_s,
        append_1_events_per_s,
        append_64_events_per_s,
    })
}

/// Durable appends of one event each from `writers` concurrent writers, each on its own stream.
async fn append_rate(dir: &Path, writers: usize) -> anyhow::Result<f64> {
    let store = Store::open(dir)?;
    let deadline = Instant::now() + Duration::from_secs(MEASURE_APPEND_S);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let customer = CustomerId::parse(&format!("W{w}-{n}"))?;
                let event = synthetic::account_opened(
                    &customer,
                    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
                )?;
                store
                    .append(AppendRequest {
                        stream: customer.stream(),
                        expected: ExpectedVersion::NoStream,
                        events: vec![NewEvent {
                            event,
                            occurred_at: Utc::now(),
                        }],
                        actor: "bench".to_owned(),
                        correlation_id: None,
                        causation_id: None,
                        policy_version: None,
                        idempotency: None,
                    })
                    .await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0u64;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Accounts in the synthetic history of `events` events.
pub fn accounts_for(events: u64) -> u64 {
    (events / 40).clamp(1, ACCOUNTS_DEFAULT_MAX)
}

/// The first business day of the synthetic history.
pub fn history_start() -> NaiveDate {
    Utc::now().date_naive() - Days::new(400)
}

/// Appends a synthetic history of about `events` events over `accounts` accounts.
async fn generate(store: &Store, events: u64, accounts: u64) -> anyhow::Result<u64> {
    let per_account = (events / accounts).max(2);
    let start = history_start();
    let mut appended = 0u64;
    let mut pending = Vec::new();
    for a in 0..accounts {
        let customer = synthetic::customer(a)?;
        let history = synthetic::account_history(a, per_account, start)?;
        let mut requests = Vec::new();
        let mut version = 0u64;
        for chunk in history.chunks(GENERATE_BATCH) {
            let expected = if version == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(version)
            };
            requests.push(AppendRequest {
                stream: customer.stream(),
                expected,
                events: chunk
                    .iter()
                    .map(|e| NewEvent {
                        event: e.clone(),
                        occurred_at: Utc::now(),
                    })
                    .collect(),
                actor: "bench".to_owned(),
                correlation_id: None,
                causation_id: None,
                policy_version: None,
                idempotency: None,
            });
            version += chunk.len() as u64;
            appended += chunk.len() as u64;
        }
        // One task per account appends its chunks in order (each expects the version the one
        // before left); accounts run side by side.
        pending.push(tokio::spawn({
            let store = store.clone();
            async move {
                for request in requests {
                    store.append(request).await?;
                }
                anyhow::Ok(())
            }
        }));
        // Keep a bounded number of accounts in flight.
        if pending.len() >= 64 {
            for p in pending.drain(..) {
                p.await??;
            }
        }
    }
    for p in pending {
        p.await??;
    }
    Ok(appended)
}

struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    rps: f64,
}

struct HttpFigures {
    exposure: Latency,
    aging: Latency,
    rss_mib: f64,
}

async fn measure_http(data: &Path, clock_on: bool) -> anyhow::Result<HttpFigures> {
    let token = loopback::create_token(data, "bench", "admin")?;
    // The synthetic history records no ticks, so a server's clock would start by catching up
    // every account over its 400 days while the reads are measured (a profile showed its walk
    // beside the requests). A running ledger's clock has caught up; its daily tick is not a
    // read. So the reads are measured with the clock off, unless asked for with it on.
    let args: &[&str] = if clock_on { &[] } else { &["--no-auto-tick"] };
    let server =
        loopback::ServeChild::start(data, &token, args, None, Duration::from_secs(300)).await?;
    let today = Utc::now().date_naive();
    let exposure = load(&server, |i| {
        format!(
            "{{ exposure(customerId: \"C{:06}\", asOf: \"{today}\") {{ exposure effectiveLimit status }} }}",
            i % 100
        )
    })
    .await?;
    let aging = load(&server, |_| {
        format!("{{ aging(asOf: \"{today}\", first: 50) {{ totals {{ currency total }} rows {{ nodes {{ customerId total }} }} }} }}")
    })
    .await?;
    let rss_mib = server.rss_mib().unwrap_or(0.0);
    drop(server);
    Ok(HttpFigures {
        exposure,
        aging,
        rss_mib,
    })
}

async fn load(
    server: &loopback::ServeChild,
    query: impl Fn(usize) -> String,
) -> anyhow::Result<Latency> {
    let queries: Vec<String> = (0..HTTP_REQUESTS).map(query).collect();
    // One warm-up request, checked for errors so a broken query does not measure error paths.
    let warm = server
        .graphql(
            &queries.first().cloned().unwrap_or_default(),
            serde_json::Value::Null,
        )
        .await?;
    if warm.get("errors").is_some() {
        return Err(anyhow!("the benchmark query failed: {warm}"));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..HTTP_CLIENTS {
        let mine: Vec<String> = queries
            .iter()
            .skip(c)
            .step_by(HTTP_CLIENTS)
            .cloned()
            .collect();
        let client = server.http.clone();
        let url = format!("{}/graphql", server.base);
        let token = server.token.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(mine.len());
            for q in mine {
                let t = Instant::now();
                let _ = client
                    .post_json(&url, &token, &serde_json::json!({ "query": q }))
                    .await?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(samples)
        }));
    }
    let mut samples = Vec::with_capacity(HTTP_REQUESTS);
    for t in tasks {
        samples.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort_by(f64::total_cmp);
    Ok(Latency {
        p50_ms: loopback::quantile(&samples, 0.50),
        p99_ms: loopback::quantile(&samples, 0.99),
        rps: samples.len() as f64 / elapsed,
    })
}
