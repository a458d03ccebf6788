//! The command line as a user runs it: scenarios, an all-or-nothing import, tokens, export and
//! verify, and one-line errors with a non-zero exit.

use std::path::Path;
use std::process::Command;

use crate::support::{binary, cli};

fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary())
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run dunlog");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn scenario_command_runs_the_shared_scenarios() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenarios");
    let dir = std::env::var_os("DUNLOG_SCENARIOS")
        .map(std::path::PathBuf::from)
        .unwrap_or(dir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["scenario"];
    args.extend(files.iter().map(String::as_str));
    let (ok, stdout, stderr) = run(&scratch.path().join("unused"), &args);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len()
    );
}

#[test]
fn a_bad_import_row_is_reported_by_line_and_appends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "8", "--seed", "3"]);
    let before = cli(&data, &["export", "--format", "jsonl"]).lines().count();

    // The demo is generated relative to today, so the rows are too (a literal date here failed
    // once the calendar passed the demo's opening dates: issue 12).
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| {
        today
            .checked_sub_days(chrono::Days::new(n))
            .expect("a date")
    };
    let invoices = dir.path().join("invoices.csv");
    std::fs::write(
        &invoices,
        format!(
            "customer_id,invoice_id,amount,issued_on,due_on\n\
             C0001,IMP-1,100.00,{},\n\
             C0001,IMP-2,12.345,{},{}\n",
            day(12),
            day(10),
            day(1)
        ),
    )
    .expect("write csv");
    let (ok, _, stderr) = run(
        &data,
        &["import", "--invoices", invoices.to_str().expect("utf-8")],
    );
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("amount"),
        "{stderr}"
    );
    assert_eq!(
        cli(&data, &["export", "--format", "jsonl"]).lines().count(),
        before
    );

    std::fs::write(
        &invoices,
        format!(
            "customer_id,invoice_id,amount,issued_on\nC0001,IMP-1,100.00,{}\n",
            day(12)
        ),
    )
    .expect("write csv");
    cli(
        &data,
        &["import", "--invoices", invoices.to_str().expect("utf-8")],
    );
    let after = cli(&data, &["export", "--format", "jsonl"]);
    assert_eq!(after.lines().count(), before + 1);
    let last: serde_json::Value =
        serde_json::from_str(after.lines().last().expect("a line")).expect("json line");
    assert_eq!(last["event_type"], "InvoiceIssued");
    assert_eq!(last["actor"], "import");
    assert!(cli(&data, &["verify"]).starts_with("ok"));
}

#[test]
fn tokens_are_listed_and_revoked_and_errors_are_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let secret = crate::support::token(&data, "alice", "collector");
    assert!(secret.starts_with("dlk_") && !secret.contains('\n'));
    let list = cli(&data, &["token", "list"]);
    assert!(list.contains("alice\tcollector"), "{list}");
    assert!(!list.contains(&secret));
    cli(&data, &["token", "revoke", "--name", "alice"]);
    assert!(!cli(&data, &["token", "list"]).contains("alice"));

    let (ok, _, stderr) = run(
        &data,
        &["token", "create", "--name", "bob", "--role", "root"],
    );
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    let (ok, _, stderr) = run(&dir.path().join("missing"), &["verify"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
