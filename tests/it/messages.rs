//! Messages that help (issue 15): each bad input a new user met is refused with its kind, the
//! field (camelCase, as the client wrote it) and the value named, and appends nothing.

use serde_json::{json, Value};

use crate::support::{error_code, open_acme, Client, Ledger, Server};

/// The first error's message.
fn message(answer: &Value) -> &str {
    answer["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Asserts `answer` is a `code` error whose message contains every one of `parts`.
fn assert_refused(answer: &Value, code: &str, parts: &[&str]) {
    assert_eq!(error_code(answer).as_deref(), Some(code), "{answer}");
    for part in parts {
        assert!(message(answer).contains(part), "{part:?} missing: {answer}");
    }
}

struct Setup {
    _ledger: Ledger,
    server: Server,
    admin: Client,
}

async fn setup() -> Setup {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&admin).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    Setup {
        _ledger: ledger,
        server,
        admin,
    }
}

async fn head(client: &Client) -> String {
    let answer = client.query("{ verifyLog { checked } }", json!({})).await;
    answer["data"]["verifyLog"]["checked"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

const CHANGE_TERMS: &str =
    "mutation($i: ChangeTermsInput!) { changeTerms(input: $i) { events { position } } }";
const ISSUE: &str =
    "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }";

#[tokio::test]
async fn negative_net_days_names_the_field_and_the_value() {
    let s = setup().await;
    let before = head(&s.admin).await;
    let answer = s
        .admin
        .query(
            CHANGE_TERMS,
            json!({"i": {"customerId": "ACME", "terms": {"netDays": -5}}}),
        )
        .await;
    assert_refused(&answer, "VALIDATION", &["terms.netDays", "-5", "0 or more"]);
    // Inline, too.
    let answer = s
        .admin
        .query(
            "mutation { changeTerms(input: {customerId: \"ACME\", terms: {netDays: -5}}) { events { position } } }",
            json!({}),
        )
        .await;
    assert_refused(&answer, "VALIDATION", &["terms.netDays", "-5"]);
    // Beyond 32 bits is named the same way.
    let answer = s
        .admin
        .query(
            CHANGE_TERMS,
            json!({"i": {"customerId": "ACME", "terms": {"netDays": 5_000_000_000u64}}}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["input.terms.netDays", "5000000000"],
    );
    assert_eq!(head(&s.admin).await, before);
}

#[tokio::test]
async fn a_month_that_does_not_exist_names_the_field_and_the_month() {
    let s = setup().await;
    let answer = s
        .admin
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": "I-1", "amount": "10.00", "issuedOn": "2026-13-01"}}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["input.issuedOn", "2026-13-01", "month 13"],
    );
}

#[tokio::test]
async fn a_29_digit_amount_names_the_field_and_the_digits() {
    let s = setup().await;
    let digits = "12345678901234567890123456789";
    let answer = s
        .admin
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": "I-1", "amount": digits, "issuedOn": "2026-02-01"}}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["input.amount", digits, "29 significant digits"],
    );
}

#[tokio::test]
async fn an_unknown_or_revoked_token_is_called_that() {
    let s = setup().await;
    let stranger = Client::new(&s.server, Some("dlk_not-a-token-anyone-made"));
    let answer = stranger.query("{ aging { asOf } }", json!({})).await;
    assert_refused(&answer, "UNAUTHENTICATED", &["unknown or revoked"]);
    let nobody = Client::new(&s.server, None);
    let answer = nobody.query("{ aging { asOf } }", json!({})).await;
    assert_refused(&answer, "UNAUTHENTICATED", &["send a bearer token"]);
}

#[tokio::test]
async fn a_policy_that_is_not_toml_says_so() {
    let s = setup().await;
    let answer = s
        .admin
        .query(
            "mutation($i: AdoptPolicyInput!) { adoptPolicy(input: $i) { events { position } } }",
            json!({"i": {"document": "not toml ["}}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["policy document", "line 1", "TOML"],
    );
    assert!(!message(&answer).contains("field t:"), "{answer}");
}

#[tokio::test]
async fn field_names_are_camel_case_over_graphql() {
    let s = setup().await;
    let answer = s
        .admin
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": "I-2", "amount": "5.00", "issuedOn": "2026-05-20", "dueOn": "2026-05-17"}}),
        )
        .await;
    assert_refused(&answer, "VALIDATION", &["dueOn", "2026-05-17"]);
    assert!(!message(&answer).contains("due_on"), "{answer}");
    assert!(!message(&answer).contains("issued_on"), "{answer}");
}

#[tokio::test]
async fn a_currency_in_lowercase_is_refused_not_an_empty_report() {
    let s = setup().await;
    let answer = s
        .admin
        .query("{ aging(currency: \"eur\") { asOf } }", json!({}))
        .await;
    assert_refused(&answer, "VALIDATION", &["currency", "\"eur\"", "EUR"]);
}

#[tokio::test]
async fn a_timeline_from_after_to_is_refused_not_empty() {
    let s = setup().await;
    let answer = s
        .admin
        .query(
            "{ timeline(customerId: \"ACME\", from: \"2026-03-02T00:00:00Z\", to: \"2026-03-01T00:00:00Z\") { occurredAt } }",
            json!({}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["from", "2026-03-02", "to", "2026-03-01"],
    );
}

#[tokio::test]
async fn an_empty_idempotency_key_is_refused() {
    let s = setup().await;
    let before = head(&s.admin).await;
    let answer = s
        .admin
        .query(
            "mutation($i: TickInput!) { tick(input: $i) { events { position } } }",
            json!({"i": {"date": "2026-01-02", "idempotencyKey": ""}}),
        )
        .await;
    assert_refused(
        &answer,
        "VALIDATION",
        &["idempotencyKey", "\"\"", "1 to 128"],
    );
    let long = "k".repeat(129);
    let answer = s
        .admin
        .query(
            "mutation($i: TickInput!) { tick(input: $i) { events { position } } }",
            json!({"i": {"date": "2026-01-02", "idempotencyKey": long}}),
        )
        .await;
    assert_refused(&answer, "VALIDATION", &["idempotencyKey", "1 to 128"]);
    assert_eq!(head(&s.admin).await, before);
}
