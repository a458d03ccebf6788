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
    // The invoice, then whatever the clock (which the demo ran through today) decides with it in
    // the same append (SPEC §5: late facts reconcile, holds follow commands).
    let appended: Vec<serde_json::Value> = after
        .lines()
        .skip(before)
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(appended[0]["event_type"], "InvoiceIssued");
    assert!(appended.iter().all(|e| e["actor"] == "import"));
    assert!(appended[1..].iter().all(|e| matches!(
        e["event_type"].as_str(),
        Some("LateFeeCharged" | "AccountHeld" | "AccountReleased" | "CashOnlyLifted")
    )));
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

/// Issue 15: 126 of 200 demo accounts were HELD and the day's worklist had 1,018 items, 705 of
/// them `collection_agency`, many under 300 open. A book has a few percent on hold and a
/// worklist a team can finish in a day; `dunlog demo` prints those figures.
#[test]
fn the_demo_is_a_book_a_team_can_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let printed = cli(&data, &["demo", "--customers", "200"]);
    let held_percent: f64 = printed
        .lines()
        .find_map(|l| l.split_once(" held (")?.1.split_once(" %)")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no held figure in: {printed}"));
    let worklist: usize = printed
        .lines()
        .find_map(|l| {
            l.strip_prefix("worklist today: ")?
                .strip_suffix(" items")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no worklist figure in: {printed}"));
    assert!(held_percent <= 8.0, "{printed}");
    assert!((10..=100).contains(&worklist), "{printed}");
    let items = cli(&data, &["worklist", "--format", "json"]);
    let items: serde_json::Value = serde_json::from_str(&items).expect("json");
    let items = items.as_array().expect("items");
    assert_eq!(items.len(), worklist);
    for item in items {
        if item["step"] == "collection_agency" {
            let open: f64 = item["open_amount"]
                .as_str()
                .expect("amount")
                .parse()
                .expect("decimal");
            assert!(open >= 300.0, "a small balance sent to an agency: {item}");
        }
    }
}

/// `rebuild --policy FILE` shows the figures under that policy beside the adopted one's and
/// changes nothing; with `--adopt` it records `PolicyAdopted`. `whatif` totals per currency.
#[test]
fn rebuild_with_a_policy_compares_and_adopts_only_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "24", "--seed", "4"]);
    let policy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/single-reminder.toml");
    let policy = policy.to_str().expect("utf-8");
    let before = cli(&data, &["export", "--format", "jsonl"]).lines().count();
    let compared = cli(&data, &["rebuild", "--policy", policy]);
    assert!(compared.contains("worklist items"), "{compared}");
    assert!(compared.contains("aging total EUR"), "{compared}");
    assert!(compared.contains("accounts OK"), "{compared}");
    assert!(compared.contains("nothing changed"), "{compared}");
    assert_eq!(
        cli(&data, &["export", "--format", "jsonl"]).lines().count(),
        before
    );
    let adopted = cli(&data, &["rebuild", "--policy", policy, "--adopt"]);
    assert!(adopted.contains("adopted"), "{adopted}");
    let after = cli(&data, &["export", "--format", "jsonl"]);
    assert_eq!(after.lines().count(), before + 1);
    assert!(after
        .lines()
        .last()
        .expect("a line")
        .contains("PolicyAdopted"));

    let whatif = cli(&data, &["whatif", "--policy", policy]);
    let totals: Vec<&str> = whatif.lines().filter(|l| l.starts_with("TOTAL ")).collect();
    assert!(totals.len() >= 2, "one TOTAL line per currency: {whatif}");
    assert!(
        totals.iter().any(|l| l.starts_with("TOTAL EUR")),
        "{whatif}"
    );
}

/// SPEC §9: `account open` and `import` start a ledger from the CLI alone.
#[test]
fn a_ledger_starts_from_the_cli_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let opened = cli(
        &data,
        &[
            "account",
            "open",
            "--customer",
            "ACME",
            "--name",
            "Acme AS",
            "--currency",
            "EUR",
            "--credit-limit",
            "10000.00",
            "--opened-on",
            "2026-01-01",
            "--email",
            "billing@acme.example.com",
        ],
    );
    assert!(opened.starts_with("opened account ACME"), "{opened}");
    let (ok, _, stderr) = run(
        &data,
        &[
            "account",
            "open",
            "--customer",
            "B",
            "--name",
            "B",
            "--currency",
            "EUR",
            "--credit-limit",
            "1,000",
        ],
    );
    assert!(
        !ok && stderr.contains("--credit-limit = \"1,000\""),
        "{stderr}"
    );
    let invoices = dir.path().join("invoices.csv");
    std::fs::write(
        &invoices,
        "customer_id,invoice_id,amount,issued_on\r\nACME,I-1,400.00,2026-02-01\r\n",
    )
    .expect("write csv");
    let payments = dir.path().join("payments.csv");
    std::fs::write(
        &payments,
        "customer_id,payment_id,amount,received_on,invoice_id\r\nACME,P-1,500.00,2026-02-10,I-1\r\n",
    )
    .expect("write csv");
    let imported = cli(
        &data,
        &[
            "import",
            "--invoices",
            invoices.to_str().expect("utf-8"),
            "--payments",
            payments.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(imported.trim(), "imported 2 rows");
    let aging = cli(
        &data,
        &["aging", "--as-of", "2026-03-01", "--format", "csv"],
    );
    let row = aging
        .lines()
        .find(|l| l.starts_with("ACME,"))
        .expect("ACME row");
    // unapplied 100.00, total -100.00: the surplus of the overpayment is the customer's credit.
    assert!(row.ends_with(",100.00,-100.00,0.00"), "{aging}");
}
