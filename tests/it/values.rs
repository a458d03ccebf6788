//! Values over the real binary (SPEC §2, §7): amounts at the currency's scale in answers, events
//! and the export; hold releases with their reason; the statement of account through GraphQL
//! and the CLI. Dates are computed from the server's today (the machine's date), so the tests
//! pass on any day.

use chrono::{Days, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::support::{cli, error_code, Client, Ledger, Server};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

async fn run(client: &Client, mutation: &str, input: Value) -> Value {
    let name = mutation;
    let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let answer = client
        .query(
            &format!(
                "mutation($i: {input_type}!) {{ {name}(input: $i) {{ events {{ position type payload }} }} }}"
            ),
            json!({ "i": input }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{name}: {answer}");
    answer["data"][name]["events"].clone()
}

/// Issue 14: a RON invoice given as "3000" showed "3000", its fee "45.0"; `account.creditLimit`
/// and `exposure.creditLimit` disagreed.
#[tokio::test]
async fn ron_amounts_are_shown_at_two_decimals_in_answers_events_and_the_export() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    run(
        &client,
        "openAccount",
        json!({"customerId": "MICA", "name": "Mica SRL", "currency": "RON", "creditLimit": "8000",
               "terms": {"netDays": 15}, "openedOn": days_ago(200)}),
    )
    .await;
    let issued = run(
        &client,
        "issueInvoice",
        json!({"customerId": "MICA", "invoiceId": "F-1", "amount": "3000",
               "issuedOn": days_ago(100)}),
    )
    .await;
    assert_eq!(issued[0]["payload"]["amount"], "3000.00");
    let ticked = client
        .query(
            "mutation($d: Date) { tick(input: {date: $d}) { events { type payload } } }",
            json!({"d": days_ago(60)}),
        )
        .await;
    let fees: Vec<&Value> = ticked["data"]["tick"]["events"]
        .as_array()
        .expect("tick events")
        .iter()
        .filter(|e| e["type"] == "LateFeeCharged")
        .collect();
    assert!(!fees.is_empty(), "{ticked}");
    assert_eq!(fees[0]["payload"]["amount"], "45.00");

    let answer = client
        .query(
            r#"{ account(id: "MICA") { creditLimit invoices { amount open }
                 exposure { creditLimit } }
                 exposure(customerId: "MICA") { creditLimit exposure } }"#,
            json!({}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let account = &answer["data"]["account"];
    assert_eq!(account["creditLimit"], "8000.00");
    assert_eq!(account["exposure"]["creditLimit"], "8000.00");
    assert_eq!(answer["data"]["exposure"]["creditLimit"], "8000.00");
    assert_eq!(account["invoices"][0]["amount"], "3000.00");
    server.stop();

    let export = cli(&ledger.data(), &["export"]);
    let amounts: Vec<String> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| {
            let p = &e["payload"];
            p.get("amount")
                .or_else(|| p.get("credit_limit"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    assert!(amounts.len() >= 3, "{export}");
    assert!(
        amounts
            .iter()
            .all(|a| a.split('.').nth(1).map(str::len) == Some(2)),
        "{amounts:?}"
    );
}

/// Issue 14: `Account.holds` had `reason: null, manual: null` on releases.
#[tokio::test]
async fn a_release_shows_its_reason_and_who_released() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    run(
        &client,
        "openAccount",
        json!({"customerId": "H", "name": "Held Ltd", "currency": "EUR", "creditLimit": "100.00",
               "terms": {"netDays": 30}, "openedOn": days_ago(30)}),
    )
    .await;
    run(
        &client,
        "holdAccount",
        json!({"customerId": "H", "reason": "audit", "effectiveOn": days_ago(10)}),
    )
    .await;
    run(
        &client,
        "releaseAccount",
        json!({"customerId": "H", "reason": "audit done", "effectiveOn": days_ago(5)}),
    )
    .await;
    let answer = client
        .query(
            r#"{ account(id: "H") { holds { effectiveOn held reason manual } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        answer["data"]["account"]["holds"],
        json!([
            {"effectiveOn": days_ago(10), "held": true, "reason": "audit", "manual": true},
            {"effectiveOn": days_ago(5), "held": false, "reason": "audit done", "manual": true},
        ]),
        "{answer}"
    );
}

const STATEMENT: &str = r#"query($c: ID!, $from: Date!, $to: Date!) {
  statement(customerId: $c, from: $from, to: $to) {
    customerId currency from to openingBalance closingBalance
    lines { date kind reference invoiceId debit credit balance position }
  }
  exposure(customerId: $c, asOf: $to) { exposure }
}"#;

/// The statement through GraphQL, and `dunlog statement` with the same figures; a period that
/// ends before it starts is VALIDATION naming `to`.
#[tokio::test]
async fn statement_through_graphql_and_the_cli() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    run(
        &client,
        "openAccount",
        json!({"customerId": "S", "name": "Stmt AS", "currency": "NOK", "creditLimit": "50000",
               "terms": {"netDays": 30, "discountPercent": "2", "discountDays": 10},
               "openedOn": days_ago(120)}),
    )
    .await;
    run(
        &client,
        "issueInvoice",
        json!({"customerId": "S", "invoiceId": "A", "amount": "10000", "issuedOn": days_ago(100)}),
    )
    .await;
    run(
        &client,
        "recordPayment",
        json!({"customerId": "S", "paymentId": "P1", "amount": "9800", "receivedOn": days_ago(95)}),
    )
    .await;
    run(
        &client,
        "issueInvoice",
        json!({"customerId": "S", "invoiceId": "B", "amount": "500", "issuedOn": days_ago(20)}),
    )
    .await;
    let answer = client
        .query(
            STATEMENT,
            json!({"c": "S", "from": days_ago(100), "to": days_ago(0)}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let s = &answer["data"]["statement"];
    let kinds: Vec<&str> = s["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["INVOICE", "PAYMENT", "DISCOUNT", "INVOICE"]);
    assert_eq!(s["openingBalance"], "0.00");
    assert_eq!(s["lines"][2]["credit"], "200.00");
    assert_eq!(s["lines"][3]["balance"], "500.00");
    assert_eq!(s["closingBalance"], "500.00");
    assert_eq!(s["closingBalance"], answer["data"]["exposure"]["exposure"]);

    let backwards = client
        .query(
            STATEMENT,
            json!({"c": "S", "from": days_ago(1), "to": days_ago(2)}),
        )
        .await;
    assert_eq!(error_code(&backwards).as_deref(), Some("VALIDATION"));
    assert!(
        backwards
            .to_string()
            .contains(&format!("to = {}", days_ago(2))),
        "{backwards}"
    );
    server.stop();

    let json_out = cli(
        &ledger.data(),
        &[
            "statement",
            "--customer",
            "S",
            "--from",
            &days_ago(100),
            "--to",
            &days_ago(0),
            "--format",
            "json",
        ],
    );
    let from_cli: Value = serde_json::from_str(&json_out).expect("statement JSON");
    assert_eq!(&from_cli, s, "the CLI's JSON is the GraphQL shape");
    let table = cli(
        &ledger.data(),
        &[
            "statement",
            "--customer",
            "S",
            "--from",
            &days_ago(100),
            "--to",
            &days_ago(0),
        ],
    );
    assert!(table.contains("Closing balance 500.00"), "{table}");
    let csv = cli(
        &ledger.data(),
        &[
            "statement",
            "--customer",
            "S",
            "--from",
            &days_ago(100),
            "--to",
            &days_ago(0),
            "--format",
            "csv",
        ],
    );
    assert_eq!(csv.lines().count(), 5, "{csv}");
}
