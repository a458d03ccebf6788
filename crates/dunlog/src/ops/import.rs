//! `dunlog import --accounts FILE --invoices FILE --payments FILE`: a ledger from CSV.
//!
//! Columns (a header row is required; order free; empty optional cells are absent):
//! - accounts: `customer_id, name, currency, credit_limit` and optionally `net_days` (default
//!   30), `discount_percent`, `discount_days`, `opened_on` (default today), `email`, `phone`,
//!   `sales_rep`;
//! - invoices: `customer_id, invoice_id, amount, issued_on` and optionally `due_on`,
//!   `reference`, `override_reason` (recorded on the event; lets an invoice be issued to a held
//!   or cash-only account, SPEC §4);
//! - payments: `customer_id, payment_id, amount, received_on` and optionally `method`,
//!   `invoice_id` (the money goes to that invoice up to what is available on it; the surplus
//!   stays as the customer's unapplied cash; without it, oldest first).
//!
//! All or nothing: every cell is parsed by its column's type (a bad one is reported with its
//! file, line, column and value), then every row is decided against a scratch copy of the
//! ledger, accounts first; the first refusal is reported with its line and nothing is appended.
//! Line numbers count physical lines, whatever the line endings (LF or CRLF).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{NaiveDate, Utc};
use domain::{Command, Context};
use projections::{EventMeta, Ledger};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::app::service::{Service, ServiceError};
use crate::cli::commands::Output;

/// Test hook: milliseconds to wait between the check of every row and the first append, so a
/// test can try to write to the ledger inside that window. Never set in production.
pub const PAUSE_AFTER_CHECK_ENV: &str = "DUNLOG_TEST_PAUSE_AFTER_IMPORT_CHECK_MS";

/// The actor recorded on imported events.
const IMPORT_ACTOR: &str = "import";

/// The files one import reads; any may be absent, not all.
#[derive(Clone, Copy, Default)]
pub struct Files<'a> {
    pub accounts: Option<&'a Path>,
    pub invoices: Option<&'a Path>,
    pub payments: Option<&'a Path>,
}

/// One command with where it came from.
struct Row {
    file: PathBuf,
    line: u64,
    command: Command,
    /// A payment's named invoice: the allocation is fitted to what is available on it when the
    /// row is decided, so an overpayment leaves its surplus unapplied.
    pay_invoice: Option<String>,
}

/// What a column holds, so a bad cell is named with what would be right.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Date,
    Amount,
    Days,
}

fn check_cell(kind: Kind, value: &str) -> Result<Value, String> {
    match kind {
        Kind::Text => Ok(Value::String(value.to_owned())),
        Kind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(|d| Value::String(d.to_string()))
            .map_err(|_| "expected a date YYYY-MM-DD, e.g. 2026-03-31".to_owned()),
        Kind::Amount if !plain_decimal(value) => Err(
            "expected a decimal amount with a dot and no thousands separator, e.g. 1234.50"
                .to_owned(),
        ),
        Kind::Amount => match Decimal::from_str(value) {
            Ok(d) => Ok(Value::String(d.to_string())),
            Err(_) if value.chars().filter(char::is_ascii_digit).count() > 27 => Err(
                "expected a decimal amount below 79228162514264337593543950335, e.g. 1234.50"
                    .to_owned(),
            ),
            Err(_) => Err(
                "expected a decimal amount with a dot and no thousands separator, e.g. 1234.50"
                    .to_owned(),
            ),
        },
        Kind::Days => value
            .parse::<u32>()
            .map(|n| json!(n))
            .map_err(|_| "expected a whole number of days, e.g. 30".to_owned()),
    }
}

/// `-`? digits (`.` digits)?: what an amount cell may hold. rust_decimal alone would take
/// `1,000.00` or `1_000` and read them as numbers a person did not mean.
fn plain_decimal(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// The line (from 1) of the record that starts at byte `offset` of `bytes`: LF ends a line, so
/// CRLF counts once. The csv reader may place a record's start on the line end before it (the
/// LF of a CRLF, blank lines): those bytes belong to the lines before.
fn line_of(bytes: &[u8], offset: u64) -> u64 {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    while bytes.get(end).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        end += 1;
    }
    bytes
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        + 1
}

/// A CSV file's columns: (name, kind, required).
type Columns = &'static [(&'static str, Kind, bool)];

const ACCOUNT_COLUMNS: Columns = &[
    ("customer_id", Kind::Text, true),
    ("name", Kind::Text, true),
    ("currency", Kind::Text, true),
    ("credit_limit", Kind::Amount, true),
    ("net_days", Kind::Days, false),
    ("discount_percent", Kind::Amount, false),
    ("discount_days", Kind::Days, false),
    ("opened_on", Kind::Date, false),
    ("email", Kind::Text, false),
    ("phone", Kind::Text, false),
    ("sales_rep", Kind::Text, false),
    // Hook: a `language` column (SPEC §12) once `Contacts` carries one.
];
const INVOICE_COLUMNS: Columns = &[
    ("customer_id", Kind::Text, true),
    ("invoice_id", Kind::Text, true),
    ("amount", Kind::Amount, true),
    ("issued_on", Kind::Date, true),
    ("due_on", Kind::Date, false),
    ("reference", Kind::Text, false),
    ("override_reason", Kind::Text, false),
];
const PAYMENT_COLUMNS: Columns = &[
    ("customer_id", Kind::Text, true),
    ("payment_id", Kind::Text, true),
    ("amount", Kind::Amount, true),
    ("received_on", Kind::Date, true),
    ("method", Kind::Text, false),
    ("invoice_id", Kind::Text, false),
];

/// A row's checked cells by column name.
type Cells = Map<String, Value>;

/// Reads one CSV source into commands: `build` turns a row's checked cells into a command's
/// JSON (and the invoice a payment names).
fn read_rows(
    path: &Path,
    mut source: impl Read,
    columns: Columns,
    build: impl Fn(&Cells) -> Result<(Value, Option<String>), String>,
) -> Result<Vec<Row>> {
    let mut bytes = Vec::new();
    source
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .with_context(|| format!("{}: line 1: no header row", path.display()))?
        .clone();
    for (column, _, required) in columns {
        if *required && !headers.iter().any(|h| h == *column) {
            bail!("{}: line 1: missing column {column:?}", path.display());
        }
    }
    let mut kinds = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        match columns.iter().find(|(c, _, _)| *c == h) {
            Some((_, kind, _)) => kinds.push(*kind),
            None => {
                let known: Vec<&str> = columns.iter().map(|(c, _, _)| *c).collect();
                bail!(
                    "{}: line 1: unknown column {h:?} (known: {})",
                    path.display(),
                    known.join(", ")
                );
            }
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let at = reader.position().byte();
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e
                .position()
                .map_or_else(|| line_of(&bytes, at), |p| line_of(&bytes, p.byte()));
            anyhow!("{}: line {line}: malformed CSV ({e})", path.display())
        })?;
        if !more {
            break;
        }
        let line = record
            .position()
            .map_or_else(|| line_of(&bytes, at), |p| line_of(&bytes, p.byte()));
        let at_line = |message: String| anyhow!("{}: line {line}: {message}", path.display());
        let mut cells = Cells::new();
        for ((header, kind), raw) in headers.iter().zip(&kinds).zip(record.iter()) {
            let text = std::str::from_utf8(raw)
                .map_err(|_| at_line(format!("column {header}: not UTF-8 text")))?;
            if text.is_empty() {
                continue;
            }
            let value = check_cell(*kind, text)
                .map_err(|why| at_line(format!("column {header} = {text:?}: {why}")))?;
            cells.insert(header.to_owned(), value);
        }
        for (column, _, required) in columns {
            if *required && !cells.contains_key(*column) {
                return Err(at_line(format!("column {column} is empty")));
            }
        }
        let (step, pay_invoice) = build(&cells).map_err(at_line)?;
        let command: Command = serde_json::from_value(step).map_err(|e| at_line(e.to_string()))?;
        rows.push(Row {
            file: path.to_owned(),
            line,
            command,
            pay_invoice,
        });
    }
    Ok(rows)
}

fn text(cells: &Cells, key: &str) -> Value {
    cells.get(key).cloned().unwrap_or(Value::Null)
}

/// The fields of an `open_account` command as the CLI takes them (`account open` or a row of
/// the accounts file).
pub struct AccountFields<'a> {
    pub customer_id: &'a str,
    pub name: &'a str,
    pub currency: &'a str,
    pub credit_limit: &'a str,
    pub net_days: Option<u32>,
    pub discount_percent: Option<&'a str>,
    pub discount_days: Option<u32>,
    pub opened_on: NaiveDate,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub sales_rep: Option<String>,
}

/// The `open_account` command's JSON; an amount that is not a decimal is named by its field.
pub fn open_account_json(f: AccountFields<'_>) -> Result<Value, String> {
    let credit_limit = check_cell(Kind::Amount, f.credit_limit)
        .map_err(|why| format!("credit_limit = {:?}: {why}", f.credit_limit))?;
    let mut terms = json!({ "net_days": f.net_days.unwrap_or(30) });
    if let Some(percent) = f.discount_percent {
        terms["discount_percent"] = check_cell(Kind::Amount, percent)
            .map_err(|why| format!("discount_percent = {percent:?}: {why}"))?;
    }
    if let Some(days) = f.discount_days {
        terms["discount_days"] = json!(days);
    }
    let mut step = json!({
        "command": "open_account", "customer_id": f.customer_id, "name": f.name,
        "currency": f.currency, "credit_limit": credit_limit, "terms": terms,
        "opened_on": f.opened_on.to_string(),
        "contacts": {"emails": f.emails, "phones": f.phones},
    });
    if let Some(rep) = f.sales_rep {
        step["sales_rep"] = Value::String(rep);
    }
    Ok(step)
}

fn str_of<'a>(cells: &'a Cells, key: &str) -> Option<&'a str> {
    cells.get(key).and_then(Value::as_str)
}

fn account_step(cells: &Cells, today: NaiveDate) -> Result<(Value, Option<String>), String> {
    let days = |key: &str| {
        cells
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let opened_on = match str_of(cells, "opened_on") {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("column opened_on = {d:?}: expected a date YYYY-MM-DD"))?,
        None => today,
    };
    let step = open_account_json(AccountFields {
        customer_id: str_of(cells, "customer_id").unwrap_or_default(),
        name: str_of(cells, "name").unwrap_or_default(),
        currency: str_of(cells, "currency").unwrap_or_default(),
        credit_limit: str_of(cells, "credit_limit").unwrap_or_default(),
        net_days: days("net_days"),
        discount_percent: str_of(cells, "discount_percent"),
        discount_days: days("discount_days"),
        opened_on,
        emails: str_of(cells, "email")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        phones: str_of(cells, "phone")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        sales_rep: str_of(cells, "sales_rep").map(str::to_owned),
    })
    .map_err(|e| format!("column {e}"))?;
    Ok((step, None))
}

fn invoice_step(cells: &Cells) -> Result<(Value, Option<String>), String> {
    let mut v = json!({"command": "issue_invoice"});
    for k in [
        "customer_id",
        "invoice_id",
        "amount",
        "issued_on",
        "due_on",
        "reference",
        "override_reason",
    ] {
        if cells.contains_key(k) {
            v[k] = text(cells, k);
        }
    }
    Ok((v, None))
}

fn payment_step(cells: &Cells) -> Result<(Value, Option<String>), String> {
    let mut v = json!({"command": "record_payment"});
    for k in [
        "customer_id",
        "payment_id",
        "amount",
        "received_on",
        "method",
    ] {
        if cells.contains_key(k) {
            v[k] = text(cells, k);
        }
    }
    let invoice = str_of(cells, "invoice_id").map(str::to_owned);
    if let Some(invoice) = &invoice {
        // Fitted to what is available on the invoice when the row is decided (`fit_allocation`).
        v["allocations"] = json!([{"invoice_id": invoice, "amount": text(cells, "amount")}]);
    }
    Ok((v, invoice))
}

/// Parses the sources (named by their paths in messages) into commands: accounts, then
/// invoices, then payments.
fn parse_from(
    accounts: Option<(&Path, impl Read)>,
    invoices: Option<(&Path, impl Read)>,
    payments: Option<(&Path, impl Read)>,
    today: NaiveDate,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    if let Some((path, source)) = accounts {
        rows.extend(read_rows(path, source, ACCOUNT_COLUMNS, |c| {
            account_step(c, today)
        })?);
    }
    if let Some((path, source)) = invoices {
        rows.extend(read_rows(path, source, INVOICE_COLUMNS, invoice_step)?);
    }
    if let Some((path, source)) = payments {
        rows.extend(read_rows(path, source, PAYMENT_COLUMNS, payment_step)?);
    }
    Ok(rows)
}

/// Parses the files into commands.
fn parse(files: Files<'_>, today: NaiveDate) -> Result<Vec<Row>> {
    let open = |path: Option<&Path>| -> Result<Option<(PathBuf, std::fs::File)>> {
        path.map(|p| {
            std::fs::File::open(p)
                .map(|f| (p.to_owned(), f))
                .with_context(|| format!("cannot read {}", p.display()))
        })
        .transpose()
    };
    let accounts = open(files.accounts)?;
    let invoices = open(files.invoices)?;
    let payments = open(files.payments)?;
    parse_from(
        accounts.as_ref().map(|(p, f)| (p.as_path(), f)),
        invoices.as_ref().map(|(p, f)| (p.as_path(), f)),
        payments.as_ref().map(|(p, f)| (p.as_path(), f)),
        today,
    )
}

/// A payment that names an invoice puts on it what is available on the day it was received, no
/// more: the surplus stays as the customer's unapplied cash (an overpayment is money the
/// customer has with us, not an error in the file). An invoice the account does not have is
/// left as named, so the domain refuses it by name.
fn fit_allocation(ledger: &Ledger, row: &mut Row) {
    let (Some(_), Command::RecordPayment(payment)) = (&row.pay_invoice, &mut row.command) else {
        return;
    };
    let Some(account) = ledger.account(&payment.customer_id) else {
        return;
    };
    let received_on = payment.received_on;
    let Some(allocations) = &mut payment.allocations else {
        return;
    };
    let Some(available) = allocations
        .first()
        .and_then(|a| account.invoice(&a.invoice_id))
        .map(|invoice| invoice.available_on(received_on))
    else {
        return;
    };
    if available <= Decimal::ZERO {
        allocations.clear();
    } else if let Some(first) = allocations.first_mut() {
        first.amount = first.amount.min(available);
    }
}

/// Decides every row against a scratch copy of the ledger (fitting payments' allocations as it
/// goes); the first refusal names its line.
fn dry_run(ledger: &Ledger, rows: &mut [Row]) -> Result<()> {
    let mut scratch = ledger.clone();
    scratch.restore_derived();
    let policy = scratch.policy();
    let now = Utc::now();
    for row in rows {
        fit_allocation(&scratch, row);
        let ctx = Context {
            today: now.date_naive(),
            now,
            actor: IMPORT_ACTOR,
            policy: &policy,
        };
        let customer = row.command.customer_id().clone();
        let events =
            domain::decide(scratch.account(&customer), &row.command, &ctx).map_err(|e| {
                anyhow!(
                    "{}: line {}: {} ({}); nothing imported",
                    row.file.display(),
                    row.line,
                    e,
                    e.kind().code()
                )
            })?;
        for event in events {
            let version = scratch.account(&customer).map(|a| a.version).unwrap_or(0) + 1;
            let meta = EventMeta {
                position: scratch.checkpoint + 1,
                stream: customer.stream(),
                version,
                occurred_at: now,
                recorded_at: now,
                actor: IMPORT_ACTOR.to_owned(),
            };
            scratch.apply(&meta, &event);
        }
    }
    Ok(())
}

/// Fuzzing entry point (see `crate::fuzz`): parses the bytes as `invoices.csv` and
/// `payments.csv` and decides every row against a ledger holding one account, `ACME` in EUR,
/// opened 2026-01-01. An error names the file, and the line once the header is read.
#[doc(hidden)]
pub fn fuzz_parse_and_decide(invoices: &[u8], payments: &[u8]) -> Result<()> {
    let accounts = "customer_id,name,currency,credit_limit,net_days,opened_on\n\
                    ACME,Acme,EUR,10000.00,30,2026-01-01\n";
    let today = Utc::now().date_naive();
    let mut rows = parse_from(
        Some((Path::new("seed"), accounts.as_bytes())),
        Some((Path::new("invoices.csv"), invoices)),
        Some((Path::new("payments.csv"), payments)),
        today,
    )?;
    dry_run(&Ledger::new(), &mut rows)
}

/// Imports the files; returns the number of commands appended.
pub async fn import(service: &Service, files: Files<'_>, io: &mut Output<'_>) -> Result<usize> {
    if files.accounts.is_none() && files.invoices.is_none() && files.payments.is_none() {
        bail!("nothing to import: give --accounts FILE, --invoices FILE and/or --payments FILE");
    }
    let mut rows = parse(files, Utc::now().date_naive())?;
    // No other write may land between the check and the last append (a collector through a
    // running server, the clock, a reminder): otherwise a row checked good could be refused
    // half-way and leave the rows before it imported.
    let exclusive = service.exclusive_writes().await?;
    let service = &exclusive.service;
    {
        let ledger = service.live.read();
        dry_run(&ledger, &mut rows)?;
    }
    if let Some(pause) = std::env::var(PAUSE_AFTER_CHECK_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        eprintln!("dunlog: import checked (test pause)");
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    let bar = io.bar(
        rows.len() as u64,
        "import {bar:40} {pos}/{len} rows ({per_sec}, eta {eta})",
    );
    for row in &rows {
        match service
            .execute(IMPORT_ACTOR, row.command.clone(), None)
            .await
        {
            Ok(_) => bar.inc(1),
            Err(ServiceError::Rejected { kind, message }) => {
                // Not expected: no one else could write since the dry run. Say exactly what
                // happened if it does (a rule the dry run and the service apply differently).
                bail!(
                    "{}: line {}: {message} ({kind}); the rows before it were imported",
                    row.file.display(),
                    row.line
                );
            }
            Err(ServiceError::Internal(e)) => return Err(e),
        }
    }
    bar.finish_and_clear();
    Ok(rows.len())
}

/// Fuzzing the importer with proptest (cargo-fuzz needs a nightly toolchain these machines
/// cannot fetch): hostile CSV files give a clear, line-numbered error or rows, never a panic.
#[cfg(test)]
mod fuzz;

/// The importer's messages and rules, against a real ledger in a temporary directory.
#[cfg(test)]
mod tests;
