//! `dunlog`: the event-sourced receivables ledger as a user runs it — the server (GraphQL over
//! axum), the CLI of SPEC §9, tokens and the demo generator. The only crate that knows clap,
//! axum, async-graphql and anyhow. A library so the end-to-end tests can build the same program
//! under their own binary name; `main.rs` only calls [`main`].

pub mod auth;
pub mod bench;
pub mod cli;
pub mod conn;
pub mod dashboard;
pub mod demo;
#[doc(hidden)]
pub mod fuzz;
pub mod graphiql;
pub mod graphql;
pub mod import;
pub mod limits;
pub mod live;
pub mod loopback;
pub mod report;
pub mod scenario;
pub mod server;
pub mod service;
pub mod soak;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs it, and turns any error into one line on stderr.
pub fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DUNLOG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
