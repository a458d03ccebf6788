//! The command line of SPEC §9, parsed in two steps: what was typed (clap) and what it means.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::{self, Role};
use crate::report::{self, Format};
use crate::server::{self, AppState};
use crate::service::Service;

#[derive(Parser)]
#[command(
    name = "dunlog",
    version,
    about = "An event-sourced receivables ledger for credit control"
)]
pub struct Cli {
    /// The ledger's data directory.
    #[arg(
        long,
        global = true,
        default_value = "./dunlog-data",
        env = "DUNLOG_DATA"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL on ADDR (GraphiQL at /graphql).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// On an empty ledger, generate demo data first; print an admin token to stderr.
        #[arg(long)]
        demo: bool,
        /// Customers the demo generates.
        #[arg(long, default_value_t = 200)]
        demo_customers: usize,
        /// Production mode: no GraphiQL, no introspection, no field suggestions.
        #[arg(long, env = "DUNLOG_PRODUCTION")]
        production: bool,
        /// Do not run the clock on start and daily (tests; run `tick` by hand instead).
        #[arg(long)]
        no_auto_tick: bool,
        /// Close a kept-alive connection that sends no request for this many seconds.
        #[arg(long, default_value_t = crate::conn::IDLE_TIMEOUT.as_secs())]
        idle_timeout_secs: u64,
        /// Connections one client address may hold open at once; more are closed at accept.
        #[arg(long, default_value_t = crate::conn::CONNECTIONS_PER_CLIENT)]
        max_connections_per_client: usize,
        /// Let browser pages of this origin (e.g. https://dash.example.com) call the API
        /// (CORS; repeatable; none by default; never a wildcard).
        #[arg(long = "cors-origin", value_name = "URL")]
        cors_origins: Vec<String>,
    },
    /// Generate a realistic, reproducible history into an empty ledger.
    Demo {
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Import invoices and payments from CSV (all or nothing; see docs in `dunlog import --help`).
    ///
    /// invoices columns: customer_id, invoice_id, amount, issued_on [, due_on, reference];
    /// payments columns: customer_id, payment_id, amount, received_on [, method, invoice_id].
    Import {
        #[arg(long)]
        invoices: Option<PathBuf>,
        #[arg(long)]
        payments: Option<PathBuf>,
    },
    /// Run the clock through a date (default today): late fees, broken promises, holds.
    Tick {
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Walk the hash chain and the indexes; report the first bad position.
    Verify,
    /// Write every envelope with its hashes, one JSON object per line, to stdout.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only events recorded at or before this instant (RFC 3339).
        #[arg(long)]
        known_at: Option<DateTime<Utc>>,
    },
    /// Aging by bucket as of a date.
    Aging {
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Credit exposure of every account as of a date.
    Exposure {
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The collectors' worklist for a date.
    Worklist {
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Rebuild every projection from position 1 (optionally under another policy) and report
    /// events/s.
    Rebuild {
        /// A policy TOML file to read the log under instead of the adopted one.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Replay history through the clock under another policy, in memory, and report what would
    /// differ (holds, broken promises, late fees, worklist items). Appends nothing.
    Whatif {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        as_of: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Run scenario files against a fresh temporary ledger; print the first step that differs.
    Scenario {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the GraphQL schema (SDL), as committed in docs/schema.graphql.
    Schema,
    /// Measure the SPEC §10 targets on a fresh ledger in --data (which must be empty); use a
    /// release build.
    Bench {
        /// Events in the generated history.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Accounts the events are spread over (default: events / 40, at most 10,000).
        #[arg(long)]
        accounts: Option<u64>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Measure only the fdatasync rate and durable appends (1 and 64 writers); prints JSON.
        #[arg(long)]
        appends_only: bool,
    },
    /// Run the real server on a fresh ledger in --data (which must be empty) under a sustained
    /// mixed read/write load over loopback; print memory, throughput and latency per interval,
    /// then check the ledger. Exits non-zero only when a correctness check fails, never on time.
    Soak {
        /// How long the load runs, in minutes (default 5).
        #[arg(long, conflicts_with = "seconds")]
        minutes: Option<u64>,
        /// How long the load runs, in seconds.
        #[arg(long)]
        seconds: Option<u64>,
        /// Clients sending mutations, each on its own accounts.
        #[arg(long, default_value_t = 4)]
        writers: usize,
        /// Clients asking for aging, exposure, worklist and timelines.
        #[arg(long, default_value_t = 4)]
        readers: usize,
        /// Seconds between samples.
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// Seed the ledger with this many `dunlog demo` customers first (0: start empty).
        #[arg(long, default_value_t = 0)]
        demo_customers: usize,
        /// Seed of the writers' and readers' choices.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Pause of each client between requests, ms (0: as fast as answers come).
        #[arg(long, default_value_t = 0)]
        think_ms: u64,
        /// Print one JSON object instead of tables (progress still goes to stderr).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Jsonl,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create (or replace) a token; prints the secret alone on stdout, once.
    Create {
        #[arg(long)]
        name: String,
        /// viewer, auditor, collector or admin.
        #[arg(long)]
        role: String,
    },
    /// List tokens (names and roles, never secrets).
    List,
    /// Revoke a token by name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

fn read_policy(path: &Path) -> Result<domain::Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    domain::Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn open_existing(dir: &Path) -> Result<store::Store> {
    if !dir.exists() {
        bail!("no ledger at {} (use --data DIR)", dir.display());
    }
    store::Store::open(dir).with_context(|| format!("cannot open the ledger in {}", dir.display()))
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let data = cli.data;
    match cli.command {
        Command::Serve {
            addr,
            demo,
            demo_customers,
            production,
            no_auto_tick,
            idle_timeout_secs,
            max_connections_per_client,
            cors_origins,
        } => runtime()?.block_on(serve(
            &data,
            addr,
            ServeOptions {
                demo,
                demo_customers,
                production,
                auto_tick: !no_auto_tick,
                limits: crate::conn::ConnectionLimits {
                    header_read_timeout: crate::conn::HEADER_READ_TIMEOUT,
                    idle_timeout: std::time::Duration::from_secs(idle_timeout_secs.max(1)),
                    connections_per_client: max_connections_per_client.max(1),
                },
                cors_origins,
            },
        ))?,
        Command::Demo { customers, seed } => {
            let rt = runtime()?;
            rt.block_on(async {
                let service = Service::open(&data).await?;
                if !service.live.read().accounts.is_empty() {
                    bail!("{} already holds accounts; demo needs an empty ledger", data.display());
                }
                let stats = crate::demo::generate(&service, customers, seed, true).await?;
                service.live.save_snapshot()?;
                eprintln!(
                    "demo: {} customers, {} events in {} ({} generated commands refused by the domain)",
                    customers,
                    stats.events,
                    data.display(),
                    stats.rejected
                );
                Ok(())
            })?;
        }
        Command::Import { invoices, payments } => {
            let rt = runtime()?;
            let count = rt.block_on(async {
                let service = Service::open(&data).await?;
                crate::import::import(&service, invoices.as_deref(), payments.as_deref()).await
            })?;
            println!("imported {count} rows");
        }
        Command::Tick { date } => {
            let date = date.unwrap_or_else(|| Utc::now().date_naive());
            let rt = runtime()?;
            let events = rt.block_on(async {
                let service = Service::open(&data).await?;
                service.tick(date).await.map_err(|e| anyhow::anyhow!("{e}"))
            })?;
            println!("tick through {date}: {} events appended", events.len());
        }
        Command::Verify => {
            let store = open_existing(&data)?;
            let v = store.verify(0)?;
            if v.ok {
                println!("ok: {} events verified", v.checked);
                for warning in amounts_out_of_bounds(&store)? {
                    println!("{warning}");
                }
            } else {
                bail!(
                    "log does not verify at position {}: {} ({} events checked before it)",
                    v.first_bad_position.unwrap_or(0),
                    v.message.unwrap_or_default(),
                    v.checked
                );
            }
        }
        Command::Export { format, known_at } => {
            let ExportFormat::Jsonl = format;
            let store = open_existing(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            store.export_jsonl(&mut out, known_at)?;
            out.flush()?;
        }
        Command::Aging { as_of, format } => {
            let store = open_existing(&data)?;
            let ledger = crate::live::replay(&store, |_| {})?;
            let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
            report::aging(
                &ledger.aging(as_of, None),
                format,
                &mut std::io::stdout().lock(),
            )?;
        }
        Command::Exposure { as_of, format } => {
            let store = open_existing(&data)?;
            let ledger = crate::live::replay(&store, |_| {})?;
            let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
            report::exposures(
                &ledger.exposures(as_of, None),
                format,
                &mut std::io::stdout().lock(),
            )?;
        }
        Command::Worklist { as_of, format } => {
            let store = open_existing(&data)?;
            let ledger = crate::live::replay(&store, |_| {})?;
            let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
            report::worklist(
                &ledger.worklist(as_of),
                format,
                &mut std::io::stdout().lock(),
            )?;
        }
        Command::Rebuild { policy } => {
            let store = open_existing(&data)?;
            let policy = policy.as_deref().map(read_policy).transpose()?;
            let bar = indicatif::ProgressBar::new(store.head());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "rebuild {bar:40} {pos}/{len} events ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let (ledger, stats) = projections::rebuild(&store, policy, &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            println!(
                "rebuilt {} events ({} accounts) in {:.3} s: {:.0} events/s",
                stats.events,
                ledger.accounts.len(),
                stats.seconds,
                stats.events_per_s
            );
        }
        Command::Whatif {
            policy,
            as_of,
            format,
        } => {
            let policy = read_policy(&policy)?;
            let store = open_existing(&data)?;
            let ledger = crate::live::replay(&store, |_| {})?;
            let as_of = as_of.unwrap_or_else(|| Utc::now().date_naive());
            let report = projections::whatif(&ledger, &policy, as_of);
            report::whatif(&report, format, &mut std::io::stdout().lock())?;
        }
        Command::Token { command } => {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("cannot create {}", data.display()))?;
            let store = store::Store::open(&data)
                .with_context(|| format!("cannot open the ledger in {}", data.display()))?;
            match command {
                TokenCommand::Create { name, role } => {
                    let role: Role = role.parse()?;
                    let secret = auth::create(&store, &name, role)?;
                    println!("{secret}");
                }
                TokenCommand::List => {
                    for t in auth::list(&store)? {
                        println!("{}\t{}\t{}", t.name, t.role, t.created_at.to_rfc3339());
                    }
                }
                TokenCommand::Revoke { name } => {
                    if !auth::revoke(&store, &name)? {
                        bail!("no token named {name:?}");
                    }
                    eprintln!("revoked {name}");
                }
            }
        }
        Command::Scenario { files } => return run_scenarios(&files),
        Command::Schema => print!("{}", crate::graphql::sdl()),
        Command::Bench {
            events,
            accounts,
            json,
            appends_only,
        } => {
            if appends_only {
                crate::bench::fresh_dir(&data)?;
                let report = runtime()?.block_on(crate::bench::appends(&data, !json))?;
                println!("{}", serde_json::to_string(&report)?);
            } else {
                let report =
                    runtime()?.block_on(crate::bench::run(&data, events, accounts, !json))?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    crate::bench::print_table(&report);
                }
            }
        }
        Command::Soak {
            minutes,
            seconds,
            writers,
            readers,
            interval,
            demo_customers,
            seed,
            think_ms,
            json,
        } => {
            let seconds = minutes.map_or(seconds.unwrap_or(SOAK_DEFAULT_S), |m| m * 60);
            if seconds == 0 || interval == 0 {
                bail!("--minutes/--seconds and --interval must be above 0");
            }
            let options = crate::soak::SoakOptions {
                duration: std::time::Duration::from_secs(seconds),
                writers,
                readers,
                interval: std::time::Duration::from_secs(interval),
                demo_customers,
                seed,
                think: std::time::Duration::from_millis(think_ms),
                progress: true,
            };
            let report = runtime()?.block_on(crate::soak::run(&data, options))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                crate::soak::print_report(&report);
            }
            if !report.ok() {
                eprintln!("soak: a correctness check failed");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_scenarios(files: &[PathBuf]) -> Result<ExitCode> {
    let rt = runtime()?;
    let mut failed = false;
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let scenario: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let mut target = crate::scenario::ServiceTarget::new(&rt);
        match projections::scenario::run(&scenario, &mut target) {
            Ok(steps) => println!("ok   {} ({steps} steps)", file.display()),
            Err(failure) => {
                println!("FAIL {}\n{failure}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// How long `dunlog soak` runs without --minutes or --seconds.
const SOAK_DEFAULT_S: u64 = 300;

/// How often the server considers saving a projection snapshot.
const SNAPSHOT_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Events applied since the last snapshot that make the server save a new one.
const SNAPSHOT_EVERY_EVENTS: u64 = 100_000;

struct ServeOptions {
    demo: bool,
    demo_customers: usize,
    production: bool,
    auto_tick: bool,
    limits: crate::conn::ConnectionLimits,
    cors_origins: Vec<String>,
}

async fn serve(data: &Path, addr: SocketAddr, options: ServeOptions) -> Result<()> {
    let ServeOptions {
        demo,
        demo_customers,
        production,
        auto_tick,
        limits,
        cors_origins,
    } = options;
    server::check_cors_origins(&cors_origins)?;
    let service = Service::open(data).await?;
    if demo {
        if service.live.read().accounts.is_empty() {
            eprintln!("demo: generating {demo_customers} customers…");
            crate::demo::generate(&service, demo_customers, 42, false).await?;
            service.live.save_snapshot()?;
        }
        let secret = auth::create(&service.store, "demo-admin", Role::Admin)?;
        eprintln!("demo admin token (send as 'Authorization: Bearer <token>'):\n{secret}");
    } else if auth::list(&service.store)?.is_empty() {
        eprintln!(
            "no API tokens yet: create one with `dunlog token create --name NAME --role admin --data {}` (with the server stopped)",
            data.display()
        );
    }
    // The server ticks on start and then once a day (SPEC §5).
    let ticker = service.clone();
    let clock = async move {
        let mut last: Option<NaiveDate> = None;
        loop {
            let today = Utc::now().date_naive();
            if last != Some(today) {
                match ticker.tick(today).await {
                    Ok(events) => {
                        tracing::info!(date = %today, events = events.len(), "daily tick");
                        last = Some(today);
                    }
                    Err(e) => tracing::error!(error = %e, "daily tick failed"),
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    };
    if auto_tick {
        tokio::spawn(clock);
    }
    // Snapshots as the log grows keep restarts short (only the tail is replayed).
    let snapshots = service.live.clone();
    tokio::spawn(async move {
        let mut saved_at = snapshots.checkpoint();
        loop {
            tokio::time::sleep(SNAPSHOT_CHECK_INTERVAL).await;
            let checkpoint = snapshots.checkpoint();
            if checkpoint.saturating_sub(saved_at) >= SNAPSHOT_EVERY_EVENTS {
                let live = snapshots.clone();
                match tokio::task::spawn_blocking(move || live.save_snapshot()).await {
                    Ok(Ok(())) => saved_at = checkpoint,
                    Ok(Err(e)) => tracing::error!(error = %e, "snapshot failed"),
                    Err(e) => tracing::error!(error = %e, "snapshot task failed"),
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}/graphql");
    eprintln!(
        "dunlog: serving {} on http://{local}/graphql",
        data.display()
    );
    let live = service.live.clone();
    let app = server::app(AppState::new(service, production).with_cors_origins(&cors_origins)?);
    // Request heads in time (slowloris), idle keep-alives closed, connections per client capped.
    let listener = crate::conn::LimitedListener::new(listener, limits);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    // A snapshot on the way out makes the next start replay only what comes after it.
    live.save_snapshot()?;
    eprintln!("dunlog: stopped; projection snapshot saved");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Warnings for every recorded amount beyond what a client may give (SPEC §2, 10^15): a ledger
/// written before the bound existed may hold them. The ledger still serves (sums saturate,
/// docs/decisions/0009-amounts-never-overflow.md); a credit note or write-off brings such an
/// invoice down.
fn amounts_out_of_bounds(store: &store::Store) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for recorded in store.iter_from(0) {
        let recorded = recorded?;
        if let Some(amount) = recorded
            .event
            .amounts()
            .into_iter()
            .find(|a| domain::money::out_of_bounds(*a))
        {
            warnings.push(format!(
                "warning: position {} ({} in {}): amount {amount} is beyond the bound of 10^15",
                recorded.position, recorded.event_type, recorded.stream
            ));
        }
    }
    Ok(warnings)
}
