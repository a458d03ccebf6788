//! `dunlog verify` on ledgers written by an older dunlog: it still prints ok, and warns in the
//! same pass about what the ledger holds that today's dunlog would refuse — amounts beyond
//! 10^15 (tests/it/amounts.rs) and automatic events dated after today (issue 14).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::{cli, token, Client, Server};

/// Account B (EUR) opened 2026-01-01, invoice J1 1,000.00 issued 2026-09-01 due 2026-10-01, and
/// the clock walked through 2026-11-15: fee 15.00 on 10-06 (position 4), held from 11-01 (5),
/// fee 15.00 on 11-05 (6). Made with `account open`, `import --invoices`, `tick --date
/// 2026-11-15 --today 2026-11-15` and `export`; as of 2026-10-20 it is a ledger whose older
/// dunlog ticked ahead of today.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/auto-events-after-today.jsonl")
}

fn restored() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = std::fs::File::open(fixture()).expect("fixture");
    store::Store::import_jsonl(&data, &mut BufReader::new(file)).expect("restore the fixture");
    (dir, data)
}

#[tokio::test]
async fn verify_warns_about_automatic_events_dated_after_today_and_a_late_fact_reconciles_them() {
    let (_dir, data) = restored();

    let verified = cli(&data, &["verify", "--today", "2026-10-20"]);
    let lines: Vec<&str> = verified.lines().collect();
    assert_eq!(
        lines,
        [
            "ok: 6 events verified",
            "warning: position 5 (AccountHeld in account-B): automatic event dated 2026-11-01, after today (2026-10-20)",
            "warning: position 6 (LateFeeCharged in account-B): automatic event dated 2026-11-05, after today (2026-10-20)",
        ],
        "{verified}"
    );
    // As of the day the clock walked to, nothing is ahead of today.
    assert_eq!(
        cli(&data, &["verify", "--today", "2026-11-15"]),
        "ok: 6 events verified\n"
    );

    // Served with that today, the next late fact reconciles them like any other: a payment
    // received 10-03 unjustifies both fees and the hold, the two dated after today included.
    let admin = token(&data, "admin", "admin");
    let server = Server::start_with(&data, &["--today", "2026-10-20"]);
    let client = Client::new(&server, Some(&admin));
    let ticked = client
        .query(
            r#"mutation { tick(input: {date: "2026-10-20"}) { events { type } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(ticked["data"]["tick"]["events"], json!([]), "{ticked}");
    let paid = client
        .query(
            r#"mutation { recordPayment(input: {customerId: "B", paymentId: "P2", amount: "1000.00",
                 receivedOn: "2026-10-03"}) { events { type position payload } exposure { exposure status } } }"#,
            json!({}),
        )
        .await;
    let events = paid["data"]["recordPayment"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{paid}"));
    let summary: Vec<String> = events
        .iter()
        .map(|e| {
            let p = &e["payload"];
            match e["type"].as_str().unwrap_or("") {
                "LateFeeReversed" => format!("LateFeeReversed of {}", p["reverses"]),
                "AccountReleased" => {
                    format!("AccountReleased {} {}", p["reason"], p["effective_on"])
                }
                other => other.to_owned(),
            }
        })
        .collect();
    assert_eq!(
        summary,
        [
            "PaymentReceived",
            "LateFeeReversed of 4",
            "AccountReleased \"reconciled\" \"2026-11-01\"",
            "LateFeeReversed of 6",
        ],
        "{paid}"
    );
    assert_eq!(
        paid["data"]["recordPayment"]["exposure"],
        json!({"exposure": "0.00", "status": "OK"}),
        "{paid}"
    );
    server.stop();
}
