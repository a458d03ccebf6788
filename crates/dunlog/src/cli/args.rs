//! What can be typed after `dunlog` for a command that reads or changes a ledger: the clap
//! definitions, serialised as they are over the local channel (paths made absolute first). What
//! each command does is in `commands.rs`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::cli::report::Format;

/// The commands of SPEC §9 that read or change a ledger. They are serialised as they are sent
/// over the local channel, with every file path made absolute by the client first.
#[derive(Subcommand, Serialize, Deserialize, Debug, Clone)]
pub enum LedgerCommand {
    /// Generate a realistic, reproducible history into an empty ledger; print its figures.
    Demo {
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Import accounts, invoices and payments from CSV: all or nothing, accounts first.
    ///
    /// accounts columns: customer_id, name, currency, credit_limit [, net_days, discount_percent,
    /// discount_days, opened_on, email, phone, sales_rep];
    /// invoices columns: customer_id, invoice_id, amount, issued_on [, due_on, reference,
    /// override_reason];
    /// payments columns: customer_id, payment_id, amount, received_on [, method, invoice_id]
    /// (with invoice_id the money goes to that invoice and what it does not need stays as the
    /// customer's unapplied cash).
    Import {
        #[arg(long)]
        accounts: Option<PathBuf>,
        #[arg(long)]
        invoices: Option<PathBuf>,
        #[arg(long)]
        payments: Option<PathBuf>,
    },
    /// Open or inspect customer accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Run the clock through a date (default today; never after today): late fees, broken
    /// promises, holds.
    Tick {
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Fix the ledger's today (tests and scenarios only). Default: today in UTC.
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Walk the hash chain and the indexes; report the first bad position. Warns (still ok)
    /// about recorded amounts beyond 10^15 and automatic events dated after today.
    Verify {
        /// Fix the ledger's today (tests and scenarios only). Default: today in UTC.
        #[arg(long)]
        today: Option<NaiveDate>,
    },
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
    /// A customer's statement of account for a period (SPEC §7): opening balance, every dated
    /// movement with its running balance, closing balance.
    Statement {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Rebuild every projection from position 1 and report events/s. With --policy, also print
    /// aging totals, worklist size and statuses under that policy beside the adopted one;
    /// nothing changes unless --adopt (which records PolicyAdopted).
    Rebuild {
        /// A policy TOML file to read the log under beside the adopted one.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Adopt the --policy document as the next policy version.
        #[arg(long, requires = "policy")]
        adopt: bool,
        /// The date the figures are as of (default today).
        #[arg(long)]
        as_of: Option<NaiveDate>,
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
    /// Preview or send the reminder for a ladder step (SPEC §12). Beside a running server the
    /// server composes and sends it, with its own transports unless --smtp or --letters-dir are
    /// given here.
    Remind {
        #[arg(long)]
        customer: String,
        /// The ladder step (e.g. overdue_reminder).
        #[arg(long)]
        step: String,
        /// An invoice to name (repeatable); default: those due for the step on the date.
        #[arg(long = "invoice")]
        invoices: Vec<String>,
        /// Preview in this language instead of the customer's (BCP 47).
        #[arg(long)]
        language: Option<String>,
        /// The business date (default: the ledger's today).
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Print the reminder without sending it.
        #[arg(long, conflicts_with = "send", required_unless_present = "send")]
        preview: bool,
        /// Send it now by the step's channel and record it.
        #[arg(long)]
        send: bool,
        #[command(flatten)]
        delivery: DeliveryArgs,
    },
    /// Manage API tokens (effective at once, also while `dunlog serve` runs).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// Where reminders go (SPEC §12): `serve`'s transports, and `remind`'s when given there.
#[derive(clap::Args, Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeliveryArgs {
    /// SMTP relay for e-mail reminders: smtp://host:25, smtp://user:pass@host:587?tls=required
    /// (STARTTLS), smtps://host:465 (TLS).
    #[arg(long, env = "DUNLOG_SMTP")]
    pub smtp: Option<String>,
    /// The sender of e-mail reminders (From, and the domain of their Message-IDs).
    #[arg(long, env = "DUNLOG_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Directory letters are written to, one file each, for a print service to pick up.
    #[arg(long)]
    pub letters_dir: Option<PathBuf>,
}

impl DeliveryArgs {
    pub fn options(&self) -> crate::reminders::DeliveryOptions {
        crate::reminders::DeliveryOptions {
            smtp_url: self.smtp.clone(),
            smtp_from: self.smtp_from.clone(),
            letters_dir: self.letters_dir.clone(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.smtp.is_none() && self.smtp_from.is_none() && self.letters_dir.is_none()
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, Serialize, Deserialize)]
pub enum ExportFormat {
    Jsonl,
}

#[derive(Subcommand, Serialize, Deserialize, Debug, Clone)]
pub enum TokenCommand {
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

#[derive(Subcommand, Serialize, Deserialize, Debug, Clone)]
pub enum AccountCommand {
    /// Open a customer account (the first thing a new ledger needs).
    Open {
        /// The customer id (letters, digits, '-', '_', '.').
        #[arg(long)]
        customer: String,
        #[arg(long)]
        name: String,
        /// ISO 4217 code, e.g. EUR.
        #[arg(long)]
        currency: String,
        /// The credit limit in the account's currency, e.g. 10000.00.
        #[arg(long)]
        credit_limit: String,
        /// Payment terms: days from issue to due.
        #[arg(long, default_value_t = 30)]
        net_days: u32,
        /// Early-payment discount, percent (with --discount-days).
        #[arg(long, requires = "discount_days")]
        discount_percent: Option<String>,
        /// Days after issue the discount is granted.
        #[arg(long, requires = "discount_percent")]
        discount_days: Option<u32>,
        /// The day the account was opened (default today).
        #[arg(long)]
        opened_on: Option<NaiveDate>,
        /// Billing email (repeatable).
        #[arg(long)]
        email: Vec<String>,
        /// Phone number (repeatable).
        #[arg(long)]
        phone: Vec<String>,
        #[arg(long)]
        sales_rep: Option<String>,
    },
}

fn absolute(path: &mut PathBuf) -> Result<()> {
    *path = std::path::absolute(&*path)
        .with_context(|| format!("cannot resolve the path {}", path.display()))?;
    Ok(())
}

impl LedgerCommand {
    /// Whether the command only reads a ledger that must already exist (the others create one).
    pub fn needs_existing_ledger(&self) -> bool {
        matches!(
            self,
            LedgerCommand::Verify { .. }
                | LedgerCommand::Export { .. }
                | LedgerCommand::Aging { .. }
                | LedgerCommand::Exposure { .. }
                | LedgerCommand::Worklist { .. }
                | LedgerCommand::Statement { .. }
                | LedgerCommand::Rebuild { .. }
                | LedgerCommand::Whatif { .. }
                | LedgerCommand::Remind { .. }
        )
    }

    /// Makes every file path absolute, so the server reads the files the user named from
    /// wherever the user is.
    pub fn make_paths_absolute(&mut self) -> Result<()> {
        match self {
            LedgerCommand::Import {
                accounts,
                invoices,
                payments,
            } => {
                for path in [accounts, invoices, payments].into_iter().flatten() {
                    absolute(path)?;
                }
            }
            LedgerCommand::Rebuild {
                policy: Some(path), ..
            }
            | LedgerCommand::Whatif { policy: path, .. }
            | LedgerCommand::Remind {
                delivery:
                    DeliveryArgs {
                        letters_dir: Some(path),
                        ..
                    },
                ..
            } => absolute(path)?,
            _ => {}
        }
        Ok(())
    }
}
