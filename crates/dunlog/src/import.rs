//! `dunlog import --invoices FILE.csv --payments FILE.csv`: invoices and payments from CSV.
//!
//! Columns (a header row is required; order free; empty optional cells are absent):
//! - invoices: `customer_id, invoice_id, amount, issued_on` and optionally `due_on`, `reference`;
//! - payments: `customer_id, payment_id, amount, received_on` and optionally `method`,
//!   `invoice_id` (put the whole amount on that invoice; otherwise oldest first).
//!
//! All or nothing: every row is parsed and decided against a scratch copy of the ledger first;
//! the first bad row is reported with its file and line, and nothing is appended.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::Utc;
use domain::{Command, Context};
use projections::{EventMeta, Ledger};
use serde_json::{json, Map, Value};

use crate::service::{Service, ServiceError};

/// The actor recorded on imported events.
const IMPORT_ACTOR: &str = "import";

/// One command with where it came from.
struct Row {
    file: PathBuf,
    line: u64,
    command: Command,
}

fn read_rows(
    path: &Path,
    source: impl Read,
    name: &str,
    required: &[&str],
    optional: &[&str],
    build: impl Fn(&HashMap<&str, String>) -> Value,
) -> Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(source);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: line 1: no header row", path.display()))?
        .clone();
    for column in required {
        if !headers.iter().any(|h| h == *column) {
            bail!("{}: line 1: missing column {column:?}", path.display());
        }
    }
    for h in headers.iter() {
        if !required.contains(&h) && !optional.contains(&h) {
            bail!("{}: line 1: unknown column {h:?}", path.display());
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}: malformed CSV", path.display()))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cells: HashMap<&str, String> = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| (h, v.to_owned()))
            .collect();
        for column in required {
            if !cells.contains_key(column) {
                bail!("{}: line {line}: {column} is empty", path.display());
            }
        }
        let mut step = match build(&cells) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        step.insert("command".to_owned(), Value::String(name.to_owned()));
        let command = projections::scenario::parse_command(&step)
            .map_err(|e| anyhow!("{}: line {line}: {e}", path.display()))?;
        rows.push(Row {
            file: path.to_owned(),
            line,
            command,
        });
    }
    Ok(rows)
}

fn cell(cells: &HashMap<&str, String>, key: &str) -> Value {
    cells
        .get(key)
        .map(|v| Value::String(v.clone()))
        .unwrap_or(Value::Null)
}

/// Parses both files into commands, invoices first.
fn parse(invoices: Option<&Path>, payments: Option<&Path>) -> Result<Vec<Row>> {
    let open = |path: &Path| {
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let invoices = invoices.map(|p| open(p).map(|f| (p, f))).transpose()?;
    let payments = payments.map(|p| open(p).map(|f| (p, f))).transpose()?;
    parse_from(invoices, payments)
}

/// Parses both sources (named by their paths in messages) into commands, invoices first.
fn parse_from(
    invoices: Option<(&Path, impl Read)>,
    payments: Option<(&Path, impl Read)>,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    if let Some((path, source)) = invoices {
        rows.extend(read_rows(
            path,
            source,
            "issue_invoice",
            &["customer_id", "invoice_id", "amount", "issued_on"],
            &["due_on", "reference"],
            |c| {
                let mut v = json!({
                    "customer_id": cell(c, "customer_id"), "invoice_id": cell(c, "invoice_id"),
                    "amount": cell(c, "amount"), "issued_on": cell(c, "issued_on"),
                });
                for k in ["due_on", "reference"] {
                    if c.contains_key(k) {
                        v[k] = cell(c, k);
                    }
                }
                v
            },
        )?);
    }
    if let Some((path, source)) = payments {
        rows.extend(read_rows(
            path,
            source,
            "record_payment",
            &["customer_id", "payment_id", "amount", "received_on"],
            &["method", "invoice_id"],
            |c| {
                let mut v = json!({
                    "customer_id": cell(c, "customer_id"), "payment_id": cell(c, "payment_id"),
                    "amount": cell(c, "amount"), "received_on": cell(c, "received_on"),
                });
                if c.contains_key("method") {
                    v["method"] = cell(c, "method");
                }
                if c.contains_key("invoice_id") {
                    v["allocations"] =
                        json!([{"invoice_id": cell(c, "invoice_id"), "amount": cell(c, "amount")}]);
                }
                v
            },
        )?);
    }
    Ok(rows)
}

/// Decides every row against a scratch copy of the ledger; the first refusal names its line.
fn dry_run(ledger: &Ledger, rows: &[Row]) -> Result<()> {
    let mut scratch = ledger.clone();
    scratch.restore_derived();
    let policy = scratch.policy();
    let now = Utc::now();
    for row in rows {
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
    let open = json!({"command": "open_account", "customer_id": "ACME", "name": "Acme",
        "currency": "EUR", "credit_limit": "10000.00", "terms": {"net_days": 30},
        "opened_on": "2026-01-01"});
    let command = match open {
        Value::Object(step) => projections::scenario::parse_command(&step)
            .map_err(|e| anyhow!("the fuzz seed account: {e}"))?,
        _ => bail!("the fuzz seed account is not an object"),
    };
    let mut rows = vec![Row {
        file: PathBuf::from("seed"),
        line: 0,
        command,
    }];
    rows.extend(parse_from(
        Some((Path::new("invoices.csv"), invoices)),
        Some((Path::new("payments.csv"), payments)),
    )?);
    dry_run(&Ledger::new(), &rows)
}

/// Imports the files; returns the number of commands appended.
pub async fn import(
    service: &Service,
    invoices: Option<&Path>,
    payments: Option<&Path>,
) -> Result<usize> {
    if invoices.is_none() && payments.is_none() {
        bail!("nothing to import: give --invoices FILE and/or --payments FILE");
    }
    let rows = parse(invoices, payments)?;
    {
        let ledger = service.live.read();
        dry_run(&ledger, &rows)?;
    }
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    for row in &rows {
        match service
            .execute(IMPORT_ACTOR, row.command.clone(), None)
            .await
        {
            Ok(_) => bar.inc(1),
            Err(ServiceError::Rejected { kind, message }) => {
                // Only possible if the ledger changed since the dry run (it is opened
                // exclusively, so it should not).
                bail!(
                    "{}: line {}: {message} ({kind}); rows before it were imported",
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
mod fuzz {
    use proptest::prelude::*;

    use super::{dry_run, parse};
    use crate::fuzz::tests::mutated;
    use projections::Ledger;

    const GOOD_INVOICES: &str = "customer_id,invoice_id,amount,issued_on,due_on,reference\n\
        ACME,INV-1,100.00,2026-01-05,2026-02-04,PO 7\n\
        ACME,INV-2,2500.50,2026-02-10,,\n";

    fn run(invoices: &str, payments: &str) {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("invoices.csv");
        let pay = dir.path().join("payments.csv");
        std::fs::write(&inv, invoices).unwrap();
        std::fs::write(&pay, payments).unwrap();
        if let Ok(rows) = parse(Some(&inv), Some(&pay)) {
            // Accounts do not exist in an empty ledger: every row must be refused cleanly.
            let _ = dry_run(&Ledger::new(), &rows);
        } else if let Err(e) = parse(Some(&inv), Some(&pay)) {
            let message = format!("{e:#}");
            assert!(message.contains(".csv"), "error names no file: {message}");
        }
        // The same bytes against a ledger where the account exists, so rows get decided.
        if let Err(e) = super::fuzz_parse_and_decide(invoices.as_bytes(), payments.as_bytes()) {
            let message = format!("{e:#}");
            assert!(message.contains(".csv"), "error names no file: {message}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn mutated_invoice_files_never_panic(invoices in mutated(GOOD_INVOICES)) {
            run(&invoices, "customer_id,payment_id,amount,received_on\n");
        }

        #[test]
        fn hostile_cells_never_panic(
            amount in prop_oneof![Just("1e400".to_owned()), Just("NaN".to_owned()), Just("-0".to_owned()), "[0-9.,-]{0,40}"],
            date in prop_oneof![Just("2026-02-30".to_owned()), Just("99999-01-01".to_owned()), "[0-9/-]{0,12}"],
            id in "[ -~]{0,80}",
        ) {
            let quoted = id.replace('"', "\"\"");
            let payments = format!(
                "customer_id,payment_id,amount,received_on,invoice_id,method\n\"{quoted}\",\"{quoted}\",{amount},{date},\"{quoted}\",cash\n"
            );
            run(GOOD_INVOICES, &payments);
        }

        #[test]
        fn arbitrary_text_never_panics(invoices in ".{0,300}", payments in ".{0,300}") {
            run(&invoices, &payments);
        }
    }
}
