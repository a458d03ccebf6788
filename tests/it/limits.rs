//! Hostile requests get `LIMIT`, not a slow server: deep queries, huge queries, oversized bodies,
//! batches, pages too large. Malformed input is `VALIDATION` and appends nothing.

use serde_json::{json, Value};

use crate::support::{error_code, open_acme, Client, Ledger, Server};

async fn head(client: &Client) -> String {
    let answer = client.query("{ verifyLog { checked } }", json!({})).await;
    answer["data"]["verifyLog"]["checked"]
        .as_str()
        .expect("checked")
        .to_owned()
}

#[tokio::test]
async fn hostile_requests_get_limit() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));

    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {}name{} }} }} }} }}",
        "{ ofType ".repeat(20),
        " }".repeat(20)
    );
    let answer = client.query(&deep, json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "deep: {answer}"
    );

    let huge: String = (0..3_000)
        .map(|i| format!("a{i}: verifyLog {{ ok }} "))
        .collect();
    let answer = client.query(&format!("{{ {huge} }}"), json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "huge: {answer}"
    );

    let directives = "@include(if: true) ".repeat(50);
    let answer = client
        .query(&format!("{{ verifyLog {directives} {{ ok }} }}"), json!({}))
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "directives: {answer}"
    );

    let nested = format!("{{ aging {}{}", "{ rows ".repeat(500), "}".repeat(501));
    let answer = client.query(&nested, json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "nested: {answer}"
    );

    // Each knownAt replays the log: a query may ask for only a few.
    let replays: String = (0..10)
        .map(|i| format!("k{i}: aging(knownAt: \"2026-01-01T00:00:0{i}Z\") {{ asOf }} "))
        .collect();
    let answer = client.query(&format!("{{ {replays} }}"), json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "replays: {answer}"
    );

    let padding = " ".repeat(400 * 1024);
    let body = format!("{{\"query\": \"{{ verifyLog {{ ok }} }}{padding}\"}}");
    let (status, answer) = client.post_raw(body.into_bytes()).await;
    assert_eq!(status, 413);
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "oversized: {answer}"
    );

    let batch: Value =
        json!([{"query": "{ verifyLog { ok } }"}, {"query": "{ verifyLog { ok } }"}]);
    let (_, answer) = client.post_raw(batch.to_string().into_bytes()).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "batch: {answer}"
    );

    let answer = client
        .query(
            "{ events(first: 100000) { nodes { position } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("LIMIT"),
        "page: {answer}"
    );

    // The server still answers normally afterwards.
    let answer = client.query("{ verifyLog { ok } }", json!({})).await;
    assert_eq!(answer["data"]["verifyLog"]["ok"], true, "{answer}");
}

#[tokio::test]
async fn malformed_input_is_validation_and_appends_nothing() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&client).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let before = head(&client).await;

    let issue =
        "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }";
    let bad_inputs = [
        json!({"customerId": "ACME", "invoiceId": "I-1", "amount": "10.00", "issuedOn": "2026-02-30"}),
        json!({"customerId": "ACME", "invoiceId": "I-1", "amount": "ten", "issuedOn": "2026-02-01"}),
        json!({"customerId": "ACME", "invoiceId": "I-1", "amount": "10.001", "issuedOn": "2026-02-01"}),
        json!({"customerId": "ACME", "invoiceId": "bad id!", "amount": "10.00", "issuedOn": "2026-02-01"}),
        json!({"customerId": "ACME", "invoiceId": "I-1", "amount": "10.00", "issuedOn": "2026-02-01", "colour": "red"}),
    ];
    for input in bad_inputs {
        let answer = client.query(issue, json!({ "i": input })).await;
        assert_eq!(
            error_code(&answer).as_deref(),
            Some("VALIDATION"),
            "{input}: {answer}"
        );
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{answer}");
    }
    // Inline literals are checked the same way.
    let answer = client
        .query(
            "mutation { issueInvoice(input: {customerId: \"ACME\", invoiceId: \"I-1\", amount: \"1.00\", issuedOn: \"yesterday\"}) { events { position } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("VALIDATION"),
        "{answer}"
    );
    assert_eq!(
        head(&client).await,
        before,
        "a rejected command appended something"
    );

    // A rejected command names the field at fault.
    let answer = client
        .query(
            issue,
            json!({"i": {"customerId": "ACME", "invoiceId": "I-2", "amount": "5.00", "issuedOn": "2026-05-20", "dueOn": "2026-05-17"}}),
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
            .unwrap_or_default()
            .contains("dueOn"),
        "{answer}"
    );
    assert_eq!(head(&client).await, before);
}

#[tokio::test]
async fn health_and_metrics_answer_without_a_token() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let client = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&client).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    // Every family has HELP and TYPE (Prometheus clients warn about, or drop, the rest).
    for line in metrics.lines().filter(|l| l.starts_with("# TYPE ")) {
        let family = line.split_whitespace().nth(2).unwrap_or_default();
        assert!(
            metrics.contains(&format!("# HELP {family} ")),
            "{family} has no HELP:\n{metrics}"
        );
    }
    for name in [
        "dunlog_http_requests_total 1",
        "dunlog_http_request_duration_seconds_count 1",
        // The account: the default policy was adopted when `dunlog token create` first opened
        // the ledger, before the server started.
        "dunlog_appends_total 1",
        "dunlog_events_appended_total 1",
        "dunlog_projection_lag_events",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
}

#[tokio::test]
async fn production_turns_off_graphiql_and_introspection() {
    let ledger = Ledger::new();
    let server = Server::start_with(&ledger.data(), &["--production"]);
    let http = reqwest::Client::new();
    let page = http
        .get(server.graphql_url())
        .send()
        .await
        .expect("get /graphql");
    assert_eq!(page.status().as_u16(), 404);
    let client = Client::new(&server, Some(&ledger.admin));
    let answer = client
        .query("{ __schema { types { name } } }", json!({}))
        .await;
    // Refused with an error, not answered with `{"__schema": null}`.
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );
    assert!(answer["data"]["__schema"].is_null(), "{answer}");
    let answer = client.query("{ verifyLog { ok } }", json!({})).await;
    assert_eq!(answer["data"]["verifyLog"]["ok"], true, "{answer}");

    let dev_ledger = Ledger::new();
    let dev = Server::start(&dev_ledger.data());
    let page = http
        .get(dev.graphql_url())
        .send()
        .await
        .expect("get /graphql");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("html").contains("GraphiQL"));
}
