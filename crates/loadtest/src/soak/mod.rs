//! `dunlog soak`: a sustained mixed read/write load on the real server over loopback for
//! minutes (issue #7). Writer clients send a realistic mix of mutations, each with an
//! idempotency key (invoices, payments with and without allocations, reminders, calls, promises,
//! disputes, credit notes, deliberate overpayments, resends of acknowledged commands and a reused
//! key on another command); reader clients ask for aging, exposure, worklist and timelines. Every
//! interval the server's resident memory, the requests done, the errors by code, p50/p99 latency
//! per operation and the log's head are sampled.
//!
//! Timing is reported, never judged. The exit status says only whether the ledger stayed
//! correct: no `INTERNAL` (or any unknown) error, no request left without an answer, every
//! resend answered with the same events, the log's head equal to its start plus every event the
//! writers were acknowledged, `verifyLog` and `dunlog verify` clean, and the server's aging equal
//! to the CLI's replay of the log (`dunlog aging`) after the server stopped.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;
use serde_json::Value;

use crate::loopback::{self, ServeChild};

mod reads;
mod shared;
mod writer;

use reads::*;
use shared::*;
use writer::*;

/// How long the server may take to start (a demo-seeded ledger replays first).
const STARTUP_DEADLINE: Duration = Duration::from_secs(300);
/// How long the server may take to stop on SIGTERM (it saves a projection snapshot).
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(120);
/// Times a request that got no answer at all is sent again (under the same idempotency key).
const TRANSPORT_RETRIES_MAX: u32 = 5;
/// Pause before such a resend.
const TRANSPORT_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Commands a writer sends to one account before it opens the next.
const COMMANDS_PER_ACCOUNT_MAX: u32 = 60;
/// Acknowledged commands a writer remembers for resends.
const RESEND_MEMORY: usize = 64;
/// Failures kept word for word in the report (all are counted).
const FAILURES_KEPT_MAX: usize = 20;
/// Page size when reading the whole aging at the end.
const AGING_PAGE: usize = 500;
/// Business dates start this many days before today, so invoices age into every bucket.
const HISTORY_DAYS: u64 = 180;
/// Error codes that are business answers, not faults (SPEC §4).
const BUSINESS_CODES: [&str; 4] = ["VALIDATION", "NOT_FOUND", "CONFLICT", "INVALID_STATE"];
/// The latency group every writer operation also counts in.
const WRITES: &str = "(all writes)";

/// What `dunlog soak` was asked to do.
pub struct SoakOptions {
    pub duration: Duration,
    pub writers: usize,
    pub readers: usize,
    pub interval: Duration,
    /// Customers `dunlog demo` generates before the load starts (0: start from an empty log).
    pub demo_customers: usize,
    pub seed: u64,
    /// Pause of each client between requests (0: as fast as the server answers).
    pub think: Duration,
    /// Print each interval to stderr as it ends.
    pub progress: bool,
}

/// Latency of one kind of operation in one interval.
#[derive(Debug, Serialize)]
pub struct OpFigures {
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One sampling interval.
#[derive(Debug, Serialize)]
pub struct Interval {
    /// Seconds since the load started, at the end of the interval.
    pub end_s: f64,
    pub seconds: f64,
    pub rss_mib: f64,
    /// CPU the server used per request answered in the interval, ms: unlike latency, it does
    /// not grow when other processes crowd the CPUs.
    pub server_cpu_ms_per_request: f64,
    /// The machine's 1-minute load average at the end of the interval.
    pub load_1m: f64,
    /// The log's durable head at the end of the interval.
    pub events: u64,
    /// Events appended but not yet applied to the read model at the end of the interval.
    pub projection_lag: u64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub events_per_s: f64,
    pub errors: BTreeMap<String, u64>,
    pub ops: BTreeMap<String, OpFigures>,
}

/// A correctness check and what was found.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Counts over the whole run.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub mutations_acknowledged: u64,
    pub events_acknowledged: u64,
    /// Acknowledged commands sent again under their key and answered with the same events.
    pub resends_same_answer: u64,
    /// A used key sent with another command and refused with `CONFLICT`.
    pub key_reuse_refused: u64,
    /// Requests sent again because no answer came.
    pub transport_retries: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    /// Business rejections, by `operation CODE`; deliberate ones (overpayments, reused keys)
    /// are here too.
    pub rejections: BTreeMap<String, u64>,
    /// Business rejections of commands the writers' model of the accounts thought valid.
    pub rejections_unplanned: u64,
    /// Faults: `INTERNAL` or unknown codes, no answer after retries, a resend answered
    /// differently. Any one fails the run.
    pub failures: u64,
    pub failure_examples: Vec<String>,
    pub accounts_opened: u64,
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub seconds: f64,
    pub writers: usize,
    pub readers: usize,
    pub interval_s: f64,
    pub events_at_start: u64,
    pub events_at_end: u64,
    pub intervals: Vec<Interval>,
    pub totals: Totals,
    pub checks: Vec<Check>,
}

impl SoakReport {
    /// True when every correctness check passed (timing never enters into it).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

fn check(checks: &mut Vec<Check>, name: &str, ok: bool, detail: String) {
    checks.push(Check {
        name: name.to_owned(),
        ok,
        detail,
    });
}

/// Runs the soak in `data` (empty or absent) and returns the figures and the checks.
// Long: the soak's phases in order (seed, start, load with restarts, drain, the checks after),
// each of which shares the same server handle and figures.
pub async fn run(data: &Path, options: SoakOptions) -> anyhow::Result<SoakReport> {
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "--data {} must be empty: soak writes a fresh ledger",
            data.display()
        );
    }
    if options.writers == 0 && options.readers == 0 {
        bail!("--writers and --readers are both 0: nothing to do");
    }
    std::fs::create_dir_all(data)?;
    let say = |what: &str| {
        if options.progress {
            eprintln!("soak: {what}");
        }
    };
    if options.demo_customers > 0 {
        say(&format!(
            "seeding {} demo customers",
            options.demo_customers
        ));
        loopback::run_cli(
            data,
            &["demo", "--customers", &options.demo_customers.to_string()],
        )?;
    }
    let token = loopback::create_token(data, "soak", "admin")?;
    let log = loopback::log_path_beside(data);
    // No automatic clock: every event in the log then comes from an acknowledged command.
    let server = ServeChild::start(
        data,
        &token,
        &["--no-auto-tick"],
        Some(&log),
        STARTUP_DEADLINE,
    )
    .await?;
    let (events_at_start, _) = server.health().await?;
    let seeded = existing_accounts(&server).await?;
    let today = Utc::now().date_naive();
    say(&format!(
        "server pid {} on {} (stderr in {}), {} events at start; {} writers, {} readers for {} s",
        server.pid(),
        server.base,
        log.display(),
        events_at_start,
        options.writers,
        options.readers,
        options.duration.as_secs()
    ));
    let started = Instant::now();
    let shared = Arc::new(Shared {
        server,
        window: Mutex::default(),
        totals: Mutex::default(),
        accounts: Mutex::new(seeded),
        events_acknowledged: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        deadline: started + options.duration,
        today,
        think: options.think,
    });
    let mut clients = Vec::new();
    for w in 0..options.writers {
        let writer = Writer {
            id: w,
            shared: shared.clone(),
            rng: StdRng::seed_from_u64(options.seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9)),
            account: None,
            accounts_opened: 0,
            keys: 0,
            sent: VecDeque::new(),
        };
        clients.push(tokio::spawn(writer.run()));
    }
    for r in 0..options.readers {
        let seed = options.seed ^ (r as u64 + 1).wrapping_mul(0x85EB_CA6B) ^ 0xFFFF;
        clients.push(tokio::spawn(read_loop(shared.clone(), seed)));
    }

    let mut intervals = Vec::new();
    let mut last = Mark {
        at: started,
        events: events_at_start,
        server_cpu_s: loopback::cpu_s(shared.server.pid()).unwrap_or(0.0),
    };
    if options.progress {
        eprintln!("{}", interval_header());
    }
    let mut k = 1u32;
    while shared.running() {
        let next = started + options.interval * k;
        k += 1;
        let end = next.min(shared.deadline);
        tokio::time::sleep_until(end.into()).await;
        let sampled = Instant::now();
        if clients.iter().all(|c| c.is_finished()) && sampled < shared.deadline {
            shared.fail("every client stopped before the end".to_owned());
            shared.stop.store(true, Ordering::Relaxed);
        }
        // The last interval closes once the clients have finished their last requests.
        if sampled >= shared.deadline {
            break;
        }
        let row = sample(&shared, started, &mut last).await;
        if options.progress {
            eprintln!("{}", interval_line(&row));
        }
        intervals.push(row);
        // A server that died is not coming back: stop early and report it.
        if shared.server.rss_mib().is_none() {
            shared.fail("the server process is gone".to_owned());
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
    for c in clients {
        if let Err(e) = c.await {
            shared.fail(format!("a client task failed: {e}"));
        }
    }
    let row = sample(&shared, started, &mut last).await;
    if row.requests > 0 {
        if options.progress {
            eprintln!("{}", interval_line(&row));
        }
        intervals.push(row);
    }
    let seconds = started.elapsed().as_secs_f64();

    say("checking the ledger");
    let mut checks = Vec::new();
    let acknowledged = shared.events_acknowledged.load(Ordering::Relaxed);
    let (head, applied) = shared.server.health().await?;
    check(
        &mut checks,
        "events in the log = events at start + events acknowledged",
        head == events_at_start + acknowledged,
        format!("{head} = {events_at_start} + {acknowledged} (read model applied {applied})"),
    );
    let verified = shared
        .server
        .graphql(
            "{ verifyLog { ok checked firstBadPosition message } }",
            Value::Null,
        )
        .await?;
    let v = &verified["data"]["verifyLog"];
    check(
        &mut checks,
        "verifyLog",
        v["ok"] == true && v["checked"].as_str() == Some(head.to_string().as_str()),
        format!(
            "ok {}, {} events checked, first bad position {}, {}",
            v["ok"], v["checked"], v["firstBadPosition"], v["message"]
        ),
    );
    let served_aging = server_aging(&shared.server, today).await?;
    let mut totals = std::mem::take(&mut *lock(&shared.totals));
    check(
        &mut checks,
        "no INTERNAL or unknown error, every request answered, every resend the same",
        totals.failures == 0,
        format!(
            "{} faults; {} requests, {} business rejections ({} not planned by the writers' \
             model), {} resends answered the same, {} reused keys refused",
            totals.failures,
            totals.requests,
            totals.rejections.values().sum::<u64>(),
            totals.rejections_unplanned,
            totals.resends_same_answer,
            totals.key_reuse_refused
        ),
    );
    let Ok(shared) = Arc::try_unwrap(shared) else {
        bail!("a client still holds the server");
    };
    let status = shared.server.terminate(SHUTDOWN_DEADLINE).await?;
    check(
        &mut checks,
        "the server stops cleanly on SIGTERM",
        status.success(),
        status.to_string(),
    );
    // Faults found after the clients stopped (the last /health) belong in the totals too.
    totals.failures += std::mem::take(&mut *lock(&shared.totals)).failures;

    say("replaying the log with the CLI");
    match loopback::run_cli(data, &["verify"]) {
        Ok(out) => check(
            &mut checks,
            "dunlog verify (server stopped)",
            out.trim() == format!("ok: {head} events verified"),
            out.trim().to_owned(),
        ),
        Err(e) => check(
            &mut checks,
            "dunlog verify (server stopped)",
            false,
            format!("{e:#}"),
        ),
    }
    match cli_aging(data, today) {
        Ok(replayed) => {
            let rows = replayed["rows"].as_array().map_or(0, Vec::len);
            check(
                &mut checks,
                "the server's aging = dunlog aging replayed from the log",
                replayed == served_aging,
                format!(
                    "as of {today}: {rows} rows; totals served {} replayed {}",
                    served_aging["totals"], replayed["totals"]
                ),
            );
        }
        Err(e) => check(
            &mut checks,
            "the server's aging = dunlog aging replayed from the log",
            false,
            format!("{e:#}"),
        ),
    }
    Ok(SoakReport {
        seconds,
        writers: options.writers,
        readers: options.readers,
        interval_s: options.interval.as_secs_f64(),
        events_at_start,
        events_at_end: head,
        intervals,
        totals,
        checks,
    })
}

fn interval_header() -> String {
    format!(
        "{:>5} {:>7} {:>8} {:>5} {:>6} {:>4} {:>6} {:>5}  {:>15} {:>15} {:>15} {:>15} {:>15}  errors",
        "t s",
        "RSS MiB",
        "events",
        "ev/s",
        "req/s",
        "lag",
        "cpu ms",
        "load",
        "writes p50/p99",
        "aging",
        "exposure",
        "worklist",
        "timeline"
    )
}

fn interval_line(r: &Interval) -> String {
    let op = |name: &str| {
        r.ops.get(name).map_or_else(
            || "-".to_owned(),
            |o| format!("{:.1}/{:.1}", o.p50_ms, o.p99_ms),
        )
    };
    let errors = r
        .errors
        .iter()
        .map(|(c, n)| format!("{c}:{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{:>5.0} {:>7.1} {:>8} {:>5.0} {:>6.0} {:>4} {:>6.2} {:>5.1}  {:>15} {:>15} {:>15} {:>15} {:>15}  {}",
        r.end_s,
        r.rss_mib,
        r.events,
        r.events_per_s,
        r.requests_per_s,
        r.projection_lag,
        r.server_cpu_ms_per_request,
        r.load_1m,
        op(WRITES),
        op("aging"),
        op("exposure"),
        op("worklist"),
        op("timeline"),
        errors
    )
}

/// Prints the intervals, the latency of every operation in the first and last interval, the
/// counts and the checks.
pub fn print_report(r: &SoakReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "soak: {:.0} s, {} writers, {} readers, a row every {:.0} s (latency in ms, p50/p99; \
         lag: events not yet in the read model; cpu ms: server CPU per request; load: the \
         machine's 1-minute load average)",
        r.seconds, r.writers, r.readers, r.interval_s
    );
    let _ = writeln!(out, "{}", interval_header());
    for row in &r.intervals {
        let _ = writeln!(out, "{}", interval_line(row));
    }
    // The first interval includes warm-up; flatness is judged on the second against the last.
    let (first, steady, last) = (
        r.intervals.first(),
        r.intervals.get(1).or(r.intervals.first()),
        r.intervals.last(),
    );
    if let (Some(first), Some(steady), Some(last)) = (first, steady, last) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>18} {:>18} {:>18}",
            "operation", "requests", "first p50/p99", "second p50/p99", "last p50/p99"
        );
        let mut names: Vec<&String> = last.ops.keys().collect();
        for name in first.ops.keys().chain(steady.ops.keys()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.sort();
        let fig = |i: &Interval, name: &str| {
            i.ops.get(name).map_or_else(
                || "-".to_owned(),
                |o| format!("{:.1}/{:.1}", o.p50_ms, o.p99_ms),
            )
        };
        for name in names {
            let requests: u64 = r
                .intervals
                .iter()
                .filter_map(|i| i.ops.get(name.as_str()))
                .map(|o| o.requests)
                .sum();
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>18} {:>18} {:>18}",
                name,
                requests,
                fig(first, name),
                fig(steady, name),
                fig(last, name)
            );
        }
        let grown = (last.rss_mib - steady.rss_mib).max(0.0);
        let added = last.events.saturating_sub(steady.events);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "RSS: {:.1} MiB after the first interval, {:.1} after the second, {:.1} at the end \
             ({:.0} bytes per event added since the second); events {} → {}",
            first.rss_mib,
            steady.rss_mib,
            last.rss_mib,
            if added > 0 {
                grown * 1024.0 * 1024.0 / added as f64
            } else {
                0.0
            },
            r.events_at_start,
            r.events_at_end
        );
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "requests {} ({:.0}/s), mutations acknowledged {} ({} events, {} accounts), resends \
         answered the same {}, reused keys refused {}, retries after no answer {}",
        t.requests,
        t.requests as f64 / r.seconds.max(1e-9),
        t.mutations_acknowledged,
        t.events_acknowledged,
        t.accounts_opened,
        t.resends_same_answer,
        t.key_reuse_refused,
        t.transport_retries
    );
    if !t.rejections.is_empty() {
        let list = t
            .rejections
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "business rejections: {list} ({} not planned by the writers' model)",
            t.rejections_unplanned
        );
    }
    for f in &t.failure_examples {
        let _ = writeln!(out, "  {f}");
    }
    let _ = writeln!(out);
    for c in &r.checks {
        let _ = writeln!(
            out,
            "{} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
}
