//! The command line of SPEC §9, parsed in two steps: what was typed (clap) and what it means,
//! and where it runs (here on a stopped ledger, or in the live server over the local channel).
//! Never decides anything about a ledger itself: every change goes through the service.

pub mod args;
pub mod channel;
pub mod commands;
pub mod report;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::api::server::{self, AppState};
use crate::app::auth::Role;
use crate::app::service::Service;
use crate::cli::commands::{DeliveryArgs, LedgerCommand, Output};

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
        /// Fix the ledger's today (tests and scenarios only): no fact and no tick after it.
        /// Default: the server's clock, in UTC.
        #[arg(long)]
        today: Option<NaiveDate>,
        /// Close a kept-alive connection that sends no request for this many seconds.
        #[arg(long, default_value_t = crate::api::conn::IDLE_TIMEOUT.as_secs())]
        idle_timeout_secs: u64,
        /// Connections one client address may hold open at once; more are closed at accept.
        #[arg(long, default_value_t = crate::api::conn::CONNECTIONS_PER_CLIENT)]
        max_connections_per_client: usize,
        /// Let browser pages of this origin (e.g. https://dash.example.com) call the API
        /// (CORS; repeatable; none by default; never a wildcard).
        #[arg(long = "cors-origin", value_name = "URL")]
        cors_origins: Vec<String>,
        #[command(flatten)]
        delivery: DeliveryArgs,
    },
    #[command(flatten)]
    Ledger(LedgerCommand),
    /// Run scenario files against a fresh temporary ledger; print the first step that differs.
    Scenario {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The ledger's today for every file (a file's own `"today"` wins). Default: today in UTC.
        #[arg(long)]
        today: Option<NaiveDate>,
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
        /// Measure the reads while the server's clock catches up the history's days (as after a
        /// restart following days without ticks), not with the clock off.
        #[arg(long)]
        reads_beside_clock: bool,
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

// Long: one arm per subcommand of SPEC §9; each arm only picks where the command runs.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let data = cli.data;
    match cli.command {
        Command::Serve {
            addr,
            demo,
            demo_customers,
            production,
            no_auto_tick,
            today,
            idle_timeout_secs,
            max_connections_per_client,
            cors_origins,
            delivery,
        } => runtime()?.block_on(serve(
            &data,
            addr,
            ServeOptions {
                demo,
                demo_customers,
                production,
                auto_tick: !no_auto_tick,
                today,
                limits: crate::api::conn::ConnectionLimits {
                    header_read_timeout: crate::api::conn::HEADER_READ_TIMEOUT,
                    idle_timeout: std::time::Duration::from_secs(idle_timeout_secs.max(1)),
                    connections_per_client: max_connections_per_client.max(1),
                },
                cors_origins,
                delivery: delivery.options(),
            },
        ))?,
        Command::Ledger(command) => return run_ledger_command(&data, command),
        Command::Scenario { files, today } => return run_scenarios(&files, today),
        Command::Schema => {
            let mut out = std::io::stdout().lock();
            write!(out, "{}", crate::api::graphql::sdl())?;
            out.flush()?;
        }
        Command::Bench {
            events,
            accounts,
            json,
            appends_only,
            reads_beside_clock,
        } => {
            if appends_only {
                loadtest::bench::fresh_dir(&data)?;
                let report = runtime()?.block_on(loadtest::bench::appends(&data, !json))?;
                println!("{}", serde_json::to_string(&report)?);
            } else {
                let report = runtime()?.block_on(loadtest::bench::run(
                    &data,
                    events,
                    accounts,
                    !json,
                    reads_beside_clock,
                ))?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    loadtest::bench::print_table(&report);
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
            let options = loadtest::soak::SoakOptions {
                duration: std::time::Duration::from_secs(seconds),
                writers,
                readers,
                interval: std::time::Duration::from_secs(interval),
                demo_customers,
                seed,
                think: std::time::Duration::from_millis(think_ms),
                progress: true,
            };
            let report = runtime()?.block_on(loadtest::soak::run(&data, options))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                loadtest::soak::print_report(&report);
            }
            if !report.ok() {
                eprintln!("soak: a correctness check failed");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a command that touches the ledger: through the server when one answers on the data
/// directory's local channel, otherwise against the directory opened here; the same function
/// runs it either way (`crate::cli::commands::execute`).
fn run_ledger_command(data: &Path, command: LedgerCommand) -> Result<ExitCode> {
    if let Some(status) = crate::cli::channel::run_remote(data, &command)? {
        return Ok(ExitCode::from(status));
    }
    if command.needs_existing_ledger() && !data.exists() {
        bail!("no ledger at {} (use --data DIR)", data.display());
    }
    let rt = runtime()?;
    rt.block_on(async {
        let service = Service::open(data).await.map_err(|e| {
            if data.join(crate::cli::channel::SOCKET_NAME).exists() {
                e.context(format!(
                    "a server may be starting on {} (its local channel is not answering yet)",
                    data.display()
                ))
            } else {
                e
            }
        })?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut err = std::io::stderr();
        let mut io = Output {
            out: &mut out,
            err: &mut err,
            progress: true,
        };
        let result = crate::cli::commands::execute(&service, data, command, &mut io).await;
        // Dropped unflushed: a reader that went away must not get a second chance to fail.
        let flushed = if result.is_ok() { out.flush() } else { Ok(()) };
        service.close().await;
        let status = result?;
        flushed?;
        Ok(ExitCode::from(status))
    })
}

fn run_scenarios(files: &[PathBuf], today: Option<NaiveDate>) -> Result<ExitCode> {
    let rt = runtime()?;
    let mut failed = false;
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let scenario: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let mut target = crate::ops::scenario::ServiceTarget::new(&rt);
        target.today = today;
        match projections::scenario::run(&scenario, &mut target) {
            Ok(steps) => writeln!(std::io::stdout(), "ok   {} ({steps} steps)", file.display())?,
            Err(failure) => {
                writeln!(std::io::stdout(), "FAIL {}\n{failure}", file.display())?;
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

struct ServeOptions {
    demo: bool,
    demo_customers: usize,
    production: bool,
    auto_tick: bool,
    today: Option<NaiveDate>,
    limits: crate::api::conn::ConnectionLimits,
    cors_origins: Vec<String>,
    delivery: crate::reminders::DeliveryOptions,
}

async fn serve(data: &Path, addr: SocketAddr, options: ServeOptions) -> Result<()> {
    let ServeOptions {
        demo,
        demo_customers,
        production,
        auto_tick,
        today,
        limits,
        cors_origins,
        delivery,
    } = options;
    server::check_cors_origins(&cors_origins)?;
    if crate::cli::channel::run_remote_probe(data) {
        bail!(
            "a server already serves {}; stop it first (the CLI works beside it)",
            data.display()
        );
    }
    let mut service = Service::open(data).await?.with_today(today);
    service.reminders = std::sync::Arc::new(crate::reminders::Reminders::new(data, &delivery)?);
    let make_another = format!(
        "make another with `dunlog --data {} token create --name NAME --role admin` (also while this server runs)",
        data.display()
    );
    if demo && service.live.read().accounts.is_empty() {
        eprintln!("demo: generating {demo_customers} customers…");
        crate::ops::demo::generate(&service, demo_customers, 42, false).await?;
        service.live.save_snapshot()?;
    }
    let tokens = service.tokens.list();
    if demo && tokens.is_empty() {
        let secret = service.tokens.create("demo-admin", Role::Admin)?;
        eprintln!("demo admin token (send as 'Authorization: Bearer <token>'):\n{secret}");
    } else if tokens.is_empty() {
        eprintln!("no API tokens yet: {make_another}");
    } else if demo {
        // A restart keeps the tokens given out before: replacing the admin token silently would
        // lock out everyone who saved it.
        let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
        eprintln!(
            "demo: this ledger already has tokens ({}), kept as they are; {make_another}",
            names.join(", ")
        );
    }
    // The loops that run beside the requests: the outbox, the daily clock, snapshots.
    crate::app::background::spawn_courier(service.clone());
    if auto_tick {
        crate::app::background::spawn_daily_clock(service.clone());
    }
    crate::app::background::spawn_snapshots(service.live.clone());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}/graphql");
    eprintln!(
        "dunlog: serving {} on http://{local}/graphql",
        data.display()
    );
    // The CLI beside the server: commands on this directory run here, over the local channel.
    let channel = crate::cli::channel::listen(data, service.clone())?;
    let live = service.live.clone();
    let app = server::app(AppState::new(service, production).with_cors_origins(&cors_origins)?);
    // Request heads in time (slowloris), idle keep-alives closed, connections per client capped.
    let listener = crate::api::conn::LimitedListener::new(listener, limits);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    drop(channel);
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
