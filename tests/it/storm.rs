//! The idempotency storm: one `recordPayment` with one idempotency key, sent 1,000 times at once
//! over 50 connections, appends exactly one set of events and every caller gets the same answer;
//! the same key with a different command is a `CONFLICT` and appends nothing.

use serde_json::{json, Value};

use crate::support::{error_code, open_acme, Client, Ledger, Server};

const CONNECTIONS: usize = 50;
const PER_CONNECTION: usize = 20;

const PAY: &str =
    "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { position type hash } } }";

async fn head(client: &Client) -> u64 {
    let answer = client
        .query("{ verifyLog { ok checked } }", json!({}))
        .await;
    assert_eq!(answer["data"]["verifyLog"]["ok"], true, "{answer}");
    answer["data"]["verifyLog"]["checked"]
        .as_str()
        .expect("checked")
        .parse()
        .expect("u64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_retries_append_once_and_agree() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&admin).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let issued = admin
        .query(
            "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }",
            json!({"i": {"customerId": "ACME", "invoiceId": "INV-1", "amount": "1200.00",
                         "issuedOn": "2026-01-05"}}),
        )
        .await;
    assert!(issued.get("errors").is_none(), "{issued}");
    let before = head(&admin).await;

    let input = json!({"i": {"customerId": "ACME", "paymentId": "PAY-1", "amount": "500.00",
                             "receivedOn": "2026-01-20",
                             "allocations": [{"invoiceId": "INV-1", "amount": "500.00"}],
                             "idempotencyKey": "storm-pay-1"}});
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            // A client of its own: its own connection.
            let client = Client::new(&server, Some(&ledger.admin));
            let input = input.clone();
            tokio::spawn(async move {
                let mut answers = Vec::with_capacity(PER_CONNECTION);
                for _ in 0..PER_CONNECTION {
                    answers.push(client.query(PAY, input.clone()).await);
                }
                answers
            })
        })
        .collect();
    let mut answers: Vec<Value> = Vec::new();
    for t in tasks {
        answers.extend(t.await.expect("task"));
    }
    assert_eq!(answers.len(), CONNECTIONS * PER_CONNECTION);
    let first = &answers[0];
    assert!(first.get("errors").is_none(), "{first}");
    let events = first["data"]["recordPayment"]["events"]
        .as_array()
        .expect("events")
        .clone();
    assert!(!events.is_empty());
    let differing: Vec<&Value> = answers.iter().filter(|a| *a != first).collect();
    assert!(
        differing.is_empty(),
        "{} of {} callers got another answer than {first}, e.g. {}",
        differing.len(),
        answers.len(),
        differing[0]
    );
    let after = head(&admin).await;
    assert_eq!(
        after - before,
        events.len() as u64,
        "exactly one set of events was appended"
    );
    let positions: Vec<u64> = events
        .iter()
        .map(|e| {
            e["position"]
                .as_str()
                .expect("position")
                .parse()
                .expect("u64")
        })
        .collect();
    assert_eq!(positions, (before + 1..=after).collect::<Vec<_>>());

    // The same key with another command: CONFLICT, and nothing appended.
    let mut other = input;
    other["i"]["amount"] = json!("499.00");
    other["i"]["allocations"][0]["amount"] = json!("499.00");
    let conflict = admin.query(PAY, other).await;
    assert_eq!(
        error_code(&conflict).as_deref(),
        Some("CONFLICT"),
        "{conflict}"
    );
    assert_eq!(head(&admin).await, after);
    eprintln!(
        "idempotency storm: {} concurrent sends over {CONNECTIONS} connections, {} events appended once",
        answers.len(),
        events.len()
    );
}
