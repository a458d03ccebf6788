//! `dunlog`: the event-sourced receivables ledger as a user runs it — the server (GraphQL over
//! axum), the CLI of SPEC §9, tokens and the demo generator. The only crate that knows clap,
//! axum, async-graphql and anyhow. A library so the end-to-end tests can build the same program
//! under their own binary name; `main.rs` only calls [`main`].

pub mod api;
pub mod app;
pub mod cli;
// Fuzzing entry points: compiled for the crate's own tests and for `fuzz/` (feature `fuzzing`),
// never into the product.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod ops;
pub mod reminders;

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
        // `dunlog … | head`: the reader closed the pipe because it has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error as the CLI prints it: `error: ` and the whole chain on one line.
pub fn error_line(e: &anyhow::Error) -> String {
    format!("error: {}", format!("{e:#}").replace('\n', " "))
}

/// Whether the error is a write to a pipe whose reader has gone (EPIPE).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
