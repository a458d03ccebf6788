//! `knownAt` answers from only the events recorded at or before an instant; the live read model
//! is untouched.

use serde_json::json;

use crate::support::{Client, Ledger, Server};

#[tokio::test]
async fn known_at_sees_only_what_was_recorded_by_then() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    let opened = client
        .query(
            "mutation { openAccount(input: {customerId: \"ACME\", name: \"Acme\", currency: \"EUR\", creditLimit: \"1000.00\", terms: {netDays: 30}, openedOn: \"2026-01-01\"}) { events { recordedAt } } }",
            json!({}),
        )
        .await;
    let opened_at = opened["data"]["openAccount"]["events"][0]["recordedAt"]
        .as_str()
        .expect("recordedAt")
        .to_owned();
    let issued = client
        .query(
            "mutation { issueInvoice(input: {customerId: \"ACME\", invoiceId: \"I-1\", amount: \"400.00\", issuedOn: \"2026-01-10\"}) { events { position } } }",
            json!({}),
        )
        .await;
    assert!(issued.get("errors").is_none(), "{issued}");

    let query = "query($k: DateTime) { exposure(customerId: \"ACME\", asOf: \"2026-01-31\", knownAt: $k) { exposure } }";
    let then = client.query(query, json!({"k": opened_at})).await;
    assert_eq!(then["data"]["exposure"]["exposure"], "0.00", "{then}");
    let now = client.query(query, json!({"k": null})).await;
    assert_eq!(now["data"]["exposure"]["exposure"], "400.00", "{now}");

    let before_everything = client
        .query(
            "{ aging(asOf: \"2026-01-31\", knownAt: \"2000-01-01T00:00:00Z\") { rows { nodes { customerId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        before_everything["data"]["aging"]["rows"]["nodes"],
        json!([])
    );
}
