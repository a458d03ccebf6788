//! Terminal reports of the CLI (aging, exposure, worklist, what-if, policy comparison,
//! statement): tables, CSV or JSON.

use std::io::Write;

use anyhow::Result;
use clap::ValueEnum;
use projections::{AgingReport, Exposure};
use serde_json::json;

#[derive(Clone, Copy, Debug, ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum Format {
    Table,
    Csv,
    Json,
}

fn table(out: &mut dyn Write, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    table_aligned(out, header, rows, 2)
}

/// A table whose first `left` columns are aligned left (names), the rest right (figures).
fn table_aligned(
    out: &mut dyn Write,
    header: &[String],
    rows: &[Vec<String>],
    left: usize,
) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn csv_out(out: &mut dyn Write, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header)?;
    for row in rows {
        w.write_record(row)?;
    }
    w.flush()?;
    Ok(())
}

pub fn aging(report: &AgingReport, format: Format, out: &mut dyn Write) -> Result<()> {
    let mut header = vec!["customer".to_owned(), "currency".to_owned()];
    header.extend(report.buckets.iter().cloned());
    header.extend(["unapplied", "total", "disputed"].map(str::to_owned));
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.customer_id.to_string(), r.currency.as_str().to_owned()];
            row.extend(r.amounts.iter().map(ToString::to_string));
            row.extend([r.unapplied, r.total, r.disputed].map(|d| d.to_string()));
            row
        })
        .collect();
    match format {
        Format::Json => {
            let value = json!({
                "as_of": report.as_of.to_string(),
                "buckets": report.buckets,
                "rows": projections::scenario::aging_rows_json(report),
                "totals": report.totals.iter().map(|t| json!({
                    "currency": t.currency.as_str(),
                    "amounts": t.amounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "unapplied": t.unapplied.to_string(),
                    "total": t.total.to_string(),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Format::Csv => csv_out(out, &header, &rows)?,
        Format::Table => {
            for t in &report.totals {
                let mut row = vec!["TOTAL".to_owned(), t.currency.as_str().to_owned()];
                row.extend(t.amounts.iter().map(ToString::to_string));
                row.extend([t.unapplied.to_string(), t.total.to_string(), String::new()]);
                rows.push(row);
            }
            writeln!(out, "Aging as of {}", report.as_of)?;
            table(out, &header, &rows)?;
        }
    }
    Ok(())
}

pub fn exposures(items: &[Exposure], format: Format, out: &mut dyn Write) -> Result<()> {
    let header: Vec<String> = [
        "customer",
        "currency",
        "status",
        "credit_limit",
        "effective_limit",
        "exposure",
        "available",
        "utilization",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![
                e.customer_id.to_string(),
                e.currency.as_str().to_owned(),
                e.status.as_str().to_owned(),
                e.credit_limit.to_string(),
                e.effective_limit.to_string(),
                e.exposure.to_string(),
                e.available.to_string(),
                e.utilization
                    .map(|u| u.round_dp(4).to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    match format {
        Format::Json => {
            let value: Vec<_> = items
                .iter()
                .map(projections::scenario::exposure_json)
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Format::Csv => csv_out(out, &header, &rows)?,
        Format::Table => table(out, &header, &rows)?,
    }
    Ok(())
}

pub fn worklist(
    items: &[projections::WorkItem],
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    let header: Vec<String> = [
        "customer",
        "invoice",
        "step",
        "channel",
        "trigger_on",
        "open",
        "currency",
        "days_past_due",
        "sales_rep",
        "skipped",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|w| {
            vec![
                w.customer_id.to_string(),
                w.invoice_id.to_string(),
                w.step.clone(),
                w.channel.clone(),
                w.trigger_on.to_string(),
                w.open_amount.to_string(),
                w.currency.as_str().to_owned(),
                w.days_past_due.to_string(),
                w.sales_rep.clone().unwrap_or_default(),
                w.skipped_steps.to_string(),
            ]
        })
        .collect();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(items)?)?,
        Format::Csv => csv_out(out, &header, &rows)?,
        Format::Table => table(out, &header, &rows)?,
    }
    Ok(())
}

pub fn whatif(
    report: &projections::WhatIfReport,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    if let Format::Json = format {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
        return Ok(());
    }
    let header: Vec<String> = [
        "customer",
        "holds",
        "holds_would",
        "broken",
        "broken_would",
        "fees",
        "fees_would",
        "work",
        "work_would",
    ]
    .map(str::to_owned)
    .to_vec();
    let row = |a: &projections::WhatIfAccount| {
        vec![
            a.customer_id.to_string(),
            a.holds_recorded.to_string(),
            a.holds_would.to_string(),
            a.broken_promises_recorded.to_string(),
            a.broken_promises_would.to_string(),
            a.late_fees_recorded.to_string(),
            a.late_fees_would.to_string(),
            a.worklist_recorded.to_string(),
            a.worklist_would.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = report.accounts.iter().map(row).collect();
    // One TOTAL line per currency: fee amounts are never added across currencies.
    for (currency, totals) in &report.totals_by_currency {
        let mut line = row(totals);
        line[0] = format!("TOTAL {currency}");
        rows.push(line);
    }
    match format {
        Format::Csv => csv_out(out, &header, &rows)?,
        _ => {
            writeln!(
                out,
                "What if policy {:?} had been in force, as of {} ({} accounts compared, {} differ):",
                report.policy_name,
                report.as_of,
                report.accounts_compared,
                report.accounts.len()
            )?;
            table(out, &header, &rows)?;
            for a in &report.accounts {
                for d in &a.differences {
                    writeln!(out, "  {}: {d}", a.customer_id)?;
                }
            }
        }
    }
    Ok(())
}

/// The figures `rebuild --policy` compares: aging totals per currency, the worklist's size and
/// the accounts by status.
pub struct PolicyFigures {
    /// (currency, total open, past due) per currency.
    pub aging: Vec<(String, rust_decimal::Decimal, rust_decimal::Decimal)>,
    pub worklist: usize,
    /// (status, accounts) in the order of `ExposureStatus`.
    pub statuses: Vec<(&'static str, usize)>,
}

impl PolicyFigures {
    pub fn of(ledger: &projections::Ledger, as_of: chrono::NaiveDate) -> PolicyFigures {
        let report = ledger.aging(as_of, None);
        let aging = report
            .totals
            .iter()
            .map(|t| {
                // Every bucket after the first (Current) is past due.
                let past_due = t
                    .amounts
                    .iter()
                    .skip(1)
                    .fold(rust_decimal::Decimal::ZERO, |acc, a| acc.saturating_add(*a));
                (t.currency.as_str().to_owned(), t.total, past_due)
            })
            .collect();
        let mut statuses: Vec<(&'static str, usize)> = Vec::new();
        for e in ledger.exposures(as_of, None) {
            let name = e.status.as_str();
            match statuses.iter_mut().find(|(s, _)| *s == name) {
                Some((_, n)) => *n += 1,
                None => statuses.push((name, 1)),
            }
        }
        statuses.sort();
        PolicyFigures {
            aging,
            worklist: ledger.worklist(as_of).len(),
            statuses,
        }
    }
}

/// The adopted policy's figures beside another's, one line per figure.
pub fn policy_comparison(
    as_of: chrono::NaiveDate,
    adopted: (&str, &PolicyFigures),
    other: (&str, &PolicyFigures),
    out: &mut dyn Write,
) -> Result<()> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: String| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for f in [adopted.1, other.1] {
        for (c, _, _) in &f.aging {
            add(format!("aging total {c}"));
            add(format!("past due {c}"));
        }
    }
    add("worklist items".to_owned());
    for f in [adopted.1, other.1] {
        for (s, _) in &f.statuses {
            add(format!("accounts {s}"));
        }
    }
    let value = |f: &PolicyFigures, key: &str| -> String {
        if key == "worklist items" {
            return f.worklist.to_string();
        }
        if let Some(status) = key.strip_prefix("accounts ") {
            return f
                .statuses
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n)
                .to_string();
        }
        for (c, total, past_due) in &f.aging {
            if key == format!("aging total {c}") {
                return total.to_string();
            }
            if key == format!("past due {c}") {
                return past_due.to_string();
            }
        }
        "0".to_owned()
    };
    let header = vec![
        "figure".to_owned(),
        adopted.0.to_owned(),
        other.0.to_owned(),
    ];
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| vec![k.clone(), value(adopted.1, k), value(other.1, k)])
        .collect();
    writeln!(
        out,
        "As of {as_of}, under the adopted policy and under the other:"
    )?;
    table(out, &header, &rows)
}

/// A statement of account (SPEC §7): a head line with the customer, currency, period and
/// opening balance, one row per movement, and the closing balance; JSON is the GraphQL shape.
pub fn statement(s: &projections::Statement, format: Format, out: &mut dyn Write) -> Result<()> {
    let header: Vec<String> = [
        "date",
        "kind",
        "reference",
        "invoice",
        "debit",
        "credit",
        "balance",
        "position",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows: Vec<Vec<String>> = s
        .lines
        .iter()
        .map(|l| {
            vec![
                l.date.to_string(),
                l.kind.as_str().to_owned(),
                l.reference.clone(),
                l.invoice_id
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                l.debit.to_string(),
                l.credit.to_string(),
                l.balance.to_string(),
                l.position.to_string(),
            ]
        })
        .collect();
    match format {
        Format::Json => {
            let lines: Vec<_> = s
                .lines
                .iter()
                .map(|l| {
                    json!({
                        "date": l.date.to_string(),
                        "kind": l.kind.as_str(),
                        "reference": l.reference,
                        "invoiceId": l.invoice_id.as_ref().map(|i| i.to_string()),
                        "debit": l.debit.to_string(),
                        "credit": l.credit.to_string(),
                        "balance": l.balance.to_string(),
                        "position": l.position.to_string(),
                    })
                })
                .collect();
            let value = json!({
                "customerId": s.customer_id.to_string(),
                "currency": s.currency.as_str(),
                "from": s.from.to_string(),
                "to": s.to.to_string(),
                "openingBalance": s.opening_balance.to_string(),
                "closingBalance": s.closing_balance.to_string(),
                "lines": lines,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        // One row per movement, so that a spreadsheet sums the columns; the balances are in
        // the first and last rows' `balance` (opening: the balance before the first line).
        Format::Csv => csv_out(out, &header, &rows)?,
        Format::Table => {
            writeln!(
                out,
                "Statement of account {} ({}) from {} to {}",
                s.customer_id,
                s.currency.as_str(),
                s.from,
                s.to
            )?;
            writeln!(out, "Opening balance {}", s.opening_balance)?;
            table_aligned(out, &header, &rows, 4)?;
            writeln!(out, "Closing balance {}", s.closing_balance)?;
        }
    }
    Ok(())
}
