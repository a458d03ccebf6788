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

/// Issue 14: an omitted `asOf` meant the UTC date of now, not the service's today, so a server
/// started with `--today D` answered its own commands as of D and its reads as of another day.
/// Every read defaults to D — over GraphQL and through the CLI beside the server.
#[tokio::test]
async fn an_omitted_as_of_is_the_servers_today() {
    let ledger = Ledger::new();
    let data = ledger.data();
    // Far from any real date the test may run on (faketime included): an invoice due after D
    // is current on D and long overdue on the real date.
    let today = "2026-03-15";
    let server = Server::start_with(&data, &["--today", today]);
    let client = Client::new(&server, Some(&ledger.admin));
    let answer = crate::support::open_acme(&client).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let answer = client
        .query(
            r#"mutation { issueInvoice(input: {customerId: "ACME", invoiceId: "INV-1", amount: "1000.00", issuedOn: "2026-03-01"}) { events { type } } }"#,
            json!({}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");

    // (the query without asOf, the same with asOf D)
    let pairs = [
        (
            r#"{ aging { asOf rows { nodes { customerId amounts total oldestDaysPastDue } } } }"#,
            format!(
                r#"{{ aging(asOf: "{today}") {{ asOf rows {{ nodes {{ customerId amounts total oldestDaysPastDue }} }} }} }}"#
            ),
        ),
        (
            r#"{ worklist(first: 10) { nodes { invoiceId step triggerOn daysPastDue } } }"#,
            format!(
                r#"{{ worklist(date: "{today}", first: 10) {{ nodes {{ invoiceId step triggerOn daysPastDue }} }} }}"#
            ),
        ),
        (
            r#"{ exposures(first: 10) { nodes { customerId exposure status effectiveLimit } } }"#,
            format!(
                r#"{{ exposures(asOf: "{today}", first: 10) {{ nodes {{ customerId exposure status effectiveLimit }} }} }}"#
            ),
        ),
        (
            r#"{ account(id: "ACME") { invoices { invoiceId open } } }"#,
            format!(
                r#"{{ account(id: "ACME", asOf: "{today}") {{ invoices {{ invoiceId open }} }} }}"#
            ),
        ),
        (
            r#"{ metrics { currency asOf dso openReceivables } }"#,
            format!(r#"{{ metrics(asOf: "{today}") {{ currency asOf dso openReceivables }} }}"#),
        ),
    ];
    for (omitted, given) in &pairs {
        let a = client.query(omitted, json!({})).await;
        let b = client.query(given, json!({})).await;
        assert!(a.get("errors").is_none(), "{omitted}\n{a}");
        assert_eq!(a, b, "{omitted}");
    }
    let aging = client.query(pairs[0].0, json!({})).await;
    assert_eq!(aging["data"]["aging"]["asOf"], today, "{aging}");
    assert_eq!(
        aging["data"]["aging"]["rows"]["nodes"][0]["amounts"][0], "1000.00",
        "{aging}"
    );

    // The CLI beside the server runs its read commands in the server, with the server's today.
    let cli_aging = crate::support::cli(&data, &["aging", "--format", "json"]);
    let cli_given = crate::support::cli(&data, &["aging", "--as-of", today, "--format", "json"]);
    assert_eq!(cli_aging, cli_given);
    assert!(cli_aging.contains(today), "{cli_aging}");
    server.stop();
}
