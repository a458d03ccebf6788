//! A restart keeps everything: accounts, events, hashes, tokens and idempotency keys.

use serde_json::json;

use crate::support::{open_acme, Client, Ledger, Server};

const ISSUE: &str =
    "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position hash } } }";

#[tokio::test]
async fn restart_keeps_everything() {
    let ledger = Ledger::new();
    let input = json!({"i": {"customerId": "ACME", "invoiceId": "INV-1", "amount": "1200.00",
                              "issuedOn": "2026-01-05", "idempotencyKey": "issue-inv-1"}});
    let (first_issue, events_before, aging_before) = {
        let server = Server::start(&ledger.data());
        let client = Client::new(&server, Some(&ledger.admin));
        let opened = open_acme(&client).await;
        assert!(opened.get("errors").is_none(), "{opened}");
        let issued = client.query(ISSUE, input.clone()).await;
        assert!(issued.get("errors").is_none(), "{issued}");
        let events = client
            .query(
                "{ events(first: 100) { nodes { position type hash actor } } }",
                json!({}),
            )
            .await;
        let aging = client
            .query(
                "{ aging(asOf: \"2026-03-31\") { rows { nodes { customerId amounts total } } } }",
                json!({}),
            )
            .await;
        // A clean stop saves a projection snapshot; the next start loads it.
        server.terminate();
        (issued, events, aging)
    };

    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    let events_after = client
        .query(
            "{ events(first: 100) { nodes { position type hash actor } } }",
            json!({}),
        )
        .await;
    assert_eq!(events_after, events_before);
    let aging_after = client
        .query(
            "{ aging(asOf: \"2026-03-31\") { rows { nodes { customerId amounts total } } } }",
            json!({}),
        )
        .await;
    assert_eq!(aging_after, aging_before);
    assert_eq!(
        aging_after["data"]["aging"]["rows"]["nodes"][0]["total"],
        "1200.00"
    );

    // The same idempotency key after the restart returns the first result and appends nothing.
    let again = client.query(ISSUE, input.clone()).await;
    assert_eq!(again, first_issue);
    // The same key with a different command is a conflict, and appends nothing.
    let mut other = input;
    other["i"]["amount"] = json!("999.00");
    let conflict = client.query(ISSUE, other).await;
    assert_eq!(
        crate::support::error_code(&conflict).as_deref(),
        Some("CONFLICT"),
        "{conflict}"
    );
    let verified = client
        .query("{ verifyLog { ok checked } }", json!({}))
        .await;
    assert_eq!(verified["data"]["verifyLog"]["ok"], true);
    assert_eq!(verified["data"]["verifyLog"]["checked"], "3");
}
