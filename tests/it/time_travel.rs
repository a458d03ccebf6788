//! `knownAt` answers from only the events recorded at or before an instant; the live read model
//! is untouched.

use serde_json::json;

use crate::support::{open_acme, Client, Ledger, Server};

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

/// Issue 18: the timeline is read from the account's stream in the log, not kept in the read
/// model. `knownAt` still lists only what was recorded by then, and a restart (from the
/// snapshot, which holds no timeline now) lists the same.
#[tokio::test]
async fn the_timeline_known_at_an_instant_and_after_a_restart() {
    let ledger = Ledger::new();
    let data = ledger.data();
    let server = Server::start_with(&data, &["--today", "2026-03-15"]);
    let client = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&client).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let issued = client
        .query(
            "mutation { issueInvoice(input: {customerId: \"ACME\", invoiceId: \"I-1\", amount: \"400.00\", issuedOn: \"2026-01-10\"}) { events { position } } }",
            json!({}),
        )
        .await;
    assert!(issued.get("errors").is_none(), "{issued}");
    let reminded = client
        .query(
            "mutation { recordReminder(input: {customerId: \"ACME\", invoiceIds: [\"I-1\"], channel: \"email\", sentAt: \"2026-02-12T10:00:00Z\"}) { events { recordedAt } } }",
            json!({}),
        )
        .await;
    let reminded_at = reminded["data"]["recordReminder"]["events"][0]["recordedAt"]
        .as_str()
        .unwrap_or_else(|| panic!("recordedAt: {reminded}"))
        .to_owned();
    // The payment must be recorded strictly after the reminder: poll (never sleep) until the
    // clock has moved past it.
    let instant: chrono::DateTime<chrono::Utc> = reminded_at.parse().expect("an instant");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while chrono::Utc::now() <= instant {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        tokio::task::yield_now().await;
    }
    let paid = client
        .query(
            "mutation { recordPayment(input: {customerId: \"ACME\", paymentId: \"P-1\", amount: \"150.00\", receivedOn: \"2026-02-01\"}) { events { type recordedAt } } }",
            json!({}),
        )
        .await;
    assert!(paid.get("errors").is_none(), "{paid}");

    let query = "query($k: DateTime) { timeline(customerId: \"ACME\", knownAt: $k) { type position actor summary } }";
    let types = |answer: &serde_json::Value| -> Vec<String> {
        answer["data"]["timeline"]
            .as_array()
            .unwrap_or_else(|| panic!("a timeline: {answer}"))
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let now = client.query(query, json!({"k": null})).await;
    assert_eq!(types(&now), ["PaymentReceived", "ReminderSent"], "{now}");
    let then = client.query(query, json!({"k": reminded_at})).await;
    assert_eq!(types(&then), ["ReminderSent"], "{then}");
    assert_eq!(
        then["data"]["timeline"][0], now["data"]["timeline"][1],
        "the same entry, known then and now"
    );
    let before = client
        .query(query, json!({"k": "2000-01-01T00:00:00Z"}))
        .await;
    assert_eq!(
        crate::support::error_code(&before).as_deref(),
        Some("NOT_FOUND"),
        "{before}"
    );

    // A clean stop saves a projection snapshot; the next start loads it.
    server.terminate();
    let server = Server::start_with(&data, &["--today", "2026-03-15"]);
    let client = Client::new(&server, Some(&ledger.admin));
    assert_eq!(client.query(query, json!({"k": null})).await, now);
    assert_eq!(client.query(query, json!({"k": reminded_at})).await, then);
}
