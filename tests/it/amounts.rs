//! Amounts and SPEC §2's bound of 10^15 (issue 12): clients cannot give more, on any field or
//! CSV column that takes an amount, and a ledger that already holds such amounts (written
//! before the bound existed) keeps serving every read.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{binary, cli, error_code, open_acme, token, Client, Ledger, Server};

/// The largest `Decimal`, the amount that panicked the server before the bound.
const DECIMAL_MAX: &str = "79228162514264337593543950335";
/// One more than the bound.
const BEYOND: &str = "1000000000000000.01";

/// A log written by dunlog at d42ff96 (before the bound): accounts C0001 and C0002, an invoice
/// `BIG-1` of `Decimal::MAX` (position 6), a payment of 10^16 (7) and a credit limit of
/// `Decimal::MAX` (8). Made with `serve`, GraphQL mutations and `dunlog export`.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/amounts-beyond-bounds.jsonl")
}

fn restored() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = std::fs::File::open(fixture()).expect("fixture");
    store::Store::import_jsonl(&data, &mut BufReader::new(file)).expect("restore the fixture");
    (dir, data)
}

#[tokio::test]
async fn a_ledger_holding_amounts_beyond_the_bound_keeps_serving() {
    let (_dir, data) = restored();

    // `dunlog verify` passes the chain and names each position holding such an amount.
    let verified = cli(&data, &["verify"]);
    assert!(verified.starts_with("ok: 8 events verified"), "{verified}");
    for position in [6, 7, 8] {
        assert!(
            verified.contains(&format!("warning: position {position} ")),
            "position {position} not named:\n{verified}"
        );
    }
    // The CLI's own replay (it panicked with `Addition overflowed` before).
    cli(
        &data,
        &["aging", "--as-of", "2026-04-30", "--format", "json"],
    );
    cli(
        &data,
        &["exposure", "--as-of", "2026-04-30", "--format", "json"],
    );

    let admin = token(&data, "admin", "admin");
    let server = Server::start(&data);
    let client = Client::new(&server, Some(&admin));

    // Every read answers (sums saturate at the largest Decimal: decision 0009).
    let reads = [
        r#"{ aging(asOf: "2026-04-30") { totals { currency amounts unapplied total } rows { nodes { customerId total } } } }"#,
        r#"{ exposure(customerId: "C0001", asOf: "2026-04-30") { exposure available utilization status } }"#,
        r#"{ exposure(customerId: "C0002", asOf: "2026-04-30") { exposure available utilization status } }"#,
        r#"{ exposures(first: 10) { nodes { customerId exposure status } } }"#,
        r#"{ creditCheck(customerId: "C0002", amount: "100.00") { approved reasons } }"#,
        r#"{ metrics(asOf: "2026-04-30") { currency dso cei openReceivables } }"#,
        r#"{ worklist(date: "2026-04-30", first: 50) { nodes { customerId invoiceId openAmount } } }"#,
        r#"{ timeline(customerId: "C0001") { type summary } }"#,
        r#"{ account(id: "C0001") { invoices { invoiceId amount open } } }"#,
    ];
    for query in reads {
        let answer = client.query(query, json!({})).await;
        assert!(answer.get("errors").is_none(), "{query}\n{answer}");
    }

    // A credit note and a write-off still bring the invoice down.
    let credit = client
        .query(
            "mutation($i: IssueCreditNoteInput!) { issueCreditNote(input: $i) { events { type } } }",
            json!({"i": {"customerId": "C0001", "creditNoteId": "CN-1", "invoiceId": "BIG-1",
                         "amount": "1000.00", "reason": "correction", "issuedOn": "2026-04-01"}}),
        )
        .await;
    assert!(credit.get("errors").is_none(), "{credit}");
    let written_off = client
        .query(
            "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { events { type } } }",
            json!({"i": {"customerId": "C0001", "invoiceId": "BIG-1",
                         "writtenOffOn": "2026-04-02", "reason": "entered in error"}}),
        )
        .await;
    assert!(written_off.get("errors").is_none(), "{written_off}");
    let exposure = client
        .query(
            r#"{ exposure(customerId: "C0001", asOf: "2026-04-30") { exposure } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        exposure["data"]["exposure"]["exposure"], "500.00",
        "{exposure}"
    );
    server.stop();
}

async fn head(client: &Client) -> String {
    let answer = client
        .query("{ verifyLog { ok checked } }", json!({}))
        .await;
    answer["data"]["verifyLog"]["checked"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no head: {answer}"))
}

/// Issue 12: `creditCheck` for `Decimal::MAX` panicked the server (an empty reply, even for a
/// viewer), and the same amount on `issueInvoice` was recorded and then panicked every read.
#[tokio::test]
async fn every_amount_a_client_gives_is_at_most_ten_to_the_fifteen() {
    let ledger = Ledger::new();
    let data = ledger.data();
    let viewer = token(&data, "viewer", "viewer");
    let server = Server::start(&data);
    let client = Client::new(&server, Some(&ledger.admin));
    let answer = open_acme(&client).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let setup = [
        r#"mutation { issueInvoice(input: {customerId: "ACME", invoiceId: "INV-1", amount: "100.00", issuedOn: "2026-01-05"}) { events { type } } }"#,
        r#"mutation { recordPayment(input: {customerId: "ACME", paymentId: "PAY-0", amount: "50.00", receivedOn: "2026-01-06", allocations: []}) { events { type } } }"#,
    ];
    for m in setup {
        let answer = client.query(m, json!({})).await;
        assert!(answer.get("errors").is_none(), "{m}\n{answer}");
    }

    let viewer_client = Client::new(&server, Some(&viewer));
    let answer = viewer_client
        .query(
            &format!(
                r#"{{ creditCheck(customerId: "ACME", amount: "{DECIMAL_MAX}") {{ approved }} }}"#
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("VALIDATION"),
        "{answer}"
    );
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("amount"),
        "{answer}"
    );

    // (mutation, input type, input, the field the message must name)
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "openAccount",
            "OpenAccountInput",
            json!({"customerId": "BIG", "name": "Big", "currency": "EUR",
            "creditLimit": BEYOND, "terms": {"netDays": 30}, "openedOn": "2026-01-01"}),
            "credit",
        ),
        (
            "changeCreditLimit",
            "ChangeCreditLimitInput",
            json!({"customerId": "ACME", "newLimit": DECIMAL_MAX,
            "reason": "x"}),
            "limit",
        ),
        (
            "issueInvoice",
            "IssueInvoiceInput",
            json!({"customerId": "ACME", "invoiceId": "BIG-1",
            "amount": DECIMAL_MAX, "issuedOn": "2026-01-05", "dueOn": "2026-02-04"}),
            "amount",
        ),
        (
            "issueInvoice",
            "IssueInvoiceInput",
            json!({"customerId": "ACME", "invoiceId": "BIG-2",
            "amount": BEYOND, "issuedOn": "2026-01-05"}),
            "amount",
        ),
        (
            "issueCreditNote",
            "IssueCreditNoteInput",
            json!({"customerId": "ACME", "creditNoteId": "CN-1",
            "invoiceId": "INV-1", "amount": BEYOND, "reason": "x", "issuedOn": "2026-01-07"}),
            "amount",
        ),
        (
            "recordPayment",
            "RecordPaymentInput",
            json!({"customerId": "ACME", "paymentId": "PAY-1",
            "amount": "10000000000000000", "receivedOn": "2026-01-07"}),
            "amount",
        ),
        (
            "recordPayment",
            "RecordPaymentInput",
            json!({"customerId": "ACME", "paymentId": "PAY-2",
            "amount": "10.00", "receivedOn": "2026-01-07",
            "allocations": [{"invoiceId": "INV-1", "amount": BEYOND}]}),
            "allocations",
        ),
        (
            "applyUnappliedCash",
            "ApplyUnappliedCashInput",
            json!({"customerId": "ACME",
            "allocations": [{"invoiceId": "INV-1", "amount": BEYOND}], "appliedOn": "2026-01-08"}),
            "allocations",
        ),
        (
            "recordPromise",
            "RecordPromiseInput",
            json!({"customerId": "ACME", "promiseId": "PR-1",
            "amount": BEYOND, "promisedOn": "2026-02-20", "madeOn": "2026-01-08"}),
            "amount",
        ),
        (
            "agreePaymentPlan",
            "AgreePaymentPlanInput",
            json!({"customerId": "ACME", "planId": "PL-1",
            "installments": [{"promiseId": "I-1", "amount": BEYOND, "promisedOn": "2026-02-20"}],
            "agreedOn": "2026-01-08"}),
            "installments",
        ),
    ];
    for (mutation, input_type, input, field) in cases {
        let before = head(&client).await;
        let query = format!(
            "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ events {{ type }} }} }}"
        );
        let answer = client.query(&query, json!({ "i": input })).await;
        assert_eq!(
            error_code(&answer).as_deref(),
            Some("VALIDATION"),
            "{mutation}: {answer}"
        );
        let message = answer["errors"][0]["message"].as_str().unwrap_or("");
        assert!(
            message.to_ascii_lowercase().contains(field) && message.contains("10^15"),
            "{mutation}: the message names neither {field} nor the bound: {message}"
        );
        assert_eq!(head(&client).await, before, "{mutation} appended");
    }
    server.stop();

    // The same bound on every CSV column that takes an amount; nothing is imported.
    let dir = ledger.dir.path();
    let invoices = dir.join("invoices.csv");
    std::fs::write(
        &invoices,
        format!("customer_id,invoice_id,amount,issued_on\nACME,INV-9,{DECIMAL_MAX},2026-01-05\n"),
    )
    .expect("write csv");
    let payments = dir.join("payments.csv");
    std::fs::write(
        &payments,
        format!("customer_id,payment_id,amount,received_on\nACME,PAY-9,{BEYOND},2026-01-07\n"),
    )
    .expect("write csv");
    for (flag, file) in [("--invoices", &invoices), ("--payments", &payments)] {
        let before = cli(&data, &["verify"]);
        let output = Command::new(binary())
            .arg("--data")
            .arg(&data)
            .args(["import", flag, file.to_str().expect("utf-8")])
            .output()
            .expect("run dunlog import");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{flag}: imported a row beyond the bound"
        );
        assert!(
            stderr.contains("amount") && stderr.contains("10^15"),
            "{flag}: {stderr}"
        );
        assert_eq!(
            cli(&data, &["verify"]),
            before,
            "{flag}: something was appended"
        );
    }
}
