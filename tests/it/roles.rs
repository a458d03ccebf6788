//! Each role is allowed and refused exactly as SPEC §8 says: viewer reads read models; auditor
//! also raw events and verifyLog; collector also records contacts and promises; admin everything.
//! No token is UNAUTHENTICATED, a wrong role FORBIDDEN; the actor in each envelope is the token's
//! name.

use serde_json::{json, Value};

use crate::support::{error_code, open_acme, token, Client, Ledger, Server};

const ROLES: [&str; 4] = ["viewer", "auditor", "collector", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).expect("known role")
}

/// (what, least role allowed, query, variables) — `{R}` in variables becomes the role name.
fn operations() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        ("aging", "viewer", "{ aging { asOf } }", json!({})),
        (
            "exposure",
            "viewer",
            "{ exposure(customerId: \"ACME\") { status } }",
            json!({}),
        ),
        (
            "exposures",
            "viewer",
            "{ exposures { nodes { customerId } } }",
            json!({}),
        ),
        (
            "accounts",
            "viewer",
            "{ accounts { nodes { customerId } } }",
            json!({}),
        ),
        (
            "creditCheck",
            "viewer",
            "{ creditCheck(customerId: \"ACME\", amount: \"10.00\") { approved } }",
            json!({}),
        ),
        ("policies", "viewer", "{ policies { version } }", json!({})),
        (
            "events",
            "auditor",
            "{ events(first: 1) { nodes { position } } }",
            json!({}),
        ),
        ("verifyLog", "auditor", "{ verifyLog { ok } }", json!({})),
        (
            "recordReminder",
            "collector",
            "mutation($i: RecordReminderInput!) { recordReminder(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "ACME", "invoiceIds": ["INV-1"], "channel": "email"}}),
        ),
        (
            "logCall",
            "collector",
            "mutation($i: LogCallInput!) { logCall(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "ACME", "invoiceIds": ["INV-1"], "outcome": "no answer"}}),
        ),
        (
            "recordPromise",
            "collector",
            "mutation($i: RecordPromiseInput!) { recordPromise(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "ACME", "promiseId": "P-{R}", "amount": "10.00",
                         "promisedOn": "2026-12-31", "invoiceIds": ["INV-1"], "madeOn": "2026-02-01"}}),
        ),
        (
            "openAccount",
            "admin",
            "mutation($i: OpenAccountInput!) { openAccount(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "NEW-{R}", "name": "New", "currency": "EUR",
                         "creditLimit": "100.00", "terms": {"netDays": 30}, "openedOn": "2026-01-01"}}),
        ),
        (
            "issueInvoice",
            "admin",
            "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "ACME", "invoiceId": "X-{R}", "amount": "10.00", "issuedOn": "2026-01-10"}}),
        ),
        (
            "recordPayment",
            "admin",
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { actor } } }",
            json!({"i": {"customerId": "ACME", "paymentId": "PAY-{R}", "amount": "1.00", "receivedOn": "2026-01-20"}}),
        ),
        (
            "adoptPolicy",
            "admin",
            "mutation($i: AdoptPolicyInput!) { adoptPolicy(input: $i) { events { type } } }",
            json!({"i": {"document": include_str!("../../policies/default.toml")}}),
        ),
        (
            "tick",
            "admin",
            "mutation { tick(input: {date: \"2026-01-05\"}) { events { type } } }",
            json!({}),
        ),
    ]
}

fn with_role(variables: &Value, role: &str) -> Value {
    serde_json::from_str(&variables.to_string().replace("{R}", role)).expect("json")
}

#[tokio::test]
async fn each_role_is_allowed_and_refused_as_the_spec_says() {
    let ledger = Ledger::new();
    let secrets: Vec<(String, String)> = ROLES
        .iter()
        .map(|r| (r.to_string(), token(&ledger.data(), r, r)))
        .collect();
    let server = Server::start(&ledger.data());
    // The token named "admin" was just replaced by the table's own admin token.
    let admin = Client::new(&server, Some(&secrets[3].1));
    let opened = open_acme(&admin).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let issued = admin
        .query(
            "mutation { issueInvoice(input: {customerId: \"ACME\", invoiceId: \"INV-1\", amount: \"500.00\", issuedOn: \"2026-01-05\"}) { events { actor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        issued["data"]["issueInvoice"]["events"][0]["actor"], "admin",
        "{issued}"
    );

    let mut wrong = Vec::new();
    for (what, least, query, variables) in operations() {
        // No token at all.
        let anonymous = Client::new(&server, None)
            .query(query, variables.clone())
            .await;
        if error_code(&anonymous).as_deref() != Some("UNAUTHENTICATED") {
            wrong.push(format!("{what} without a token: {anonymous}"));
        }
        let forged = Client::new(&server, Some("dlk_not-a-real-token"))
            .query(query, variables.clone())
            .await;
        if error_code(&forged).as_deref() != Some("UNAUTHENTICATED") {
            wrong.push(format!("{what} with a forged token: {forged}"));
        }
        for (role, secret) in &secrets {
            let answer = Client::new(&server, Some(secret))
                .query(query, with_role(&variables, role))
                .await;
            let code = error_code(&answer);
            let allowed = rank(role) >= rank(least);
            let ok = if allowed {
                code.is_none()
            } else {
                code.as_deref() == Some("FORBIDDEN")
            };
            if !ok {
                wrong.push(format!("{what} as {role} (allowed: {allowed}): {answer}"));
            }
            // The actor recorded is the token's name.
            if allowed {
                if let Some(actor) = answer["data"][what]["events"][0]["actor"].as_str() {
                    if actor != role.as_str() {
                        wrong.push(format!("{what} as {role} recorded actor {actor}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
