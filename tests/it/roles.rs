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
        ("tokens", "admin", "{ tokens { name } }", json!({})),
        (
            "whatif",
            "auditor",
            "query($p: String!) { whatif(policyDocument: $p) { accountsCompared } }",
            json!({"p": include_str!("../../policies/default.toml")}),
        ),
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

/// Mutations that are not commands (they append nothing): (field, least role, document,
/// variables). `{R}` becomes the role's name.
fn administration() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "createToken",
            "admin",
            "mutation($n: String!) { createToken(name: $n, role: VIEWER) { name } }",
            json!({"n": "made-by-{R}"}),
        ),
        (
            "revokeToken",
            "admin",
            "mutation($n: String!) { revokeToken(name: $n) { revoked } }",
            json!({"n": "made-by-{R}"}),
        ),
    ]
}

fn with_role(variables: &Value, role: &str) -> Value {
    serde_json::from_str(&variables.to_string().replace("{R}", role)).expect("json")
}

/// A server with a token per role (named after it) and account ACME holding invoice INV-1
/// (500.00, issued by the admin token): (ledger, (role, secret) in `ROLES` order, server, admin).
async fn ledger_with_a_token_per_role() -> (Ledger, Vec<(String, String)>, Server, Client) {
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
    (ledger, secrets, server, admin)
}

#[tokio::test]
async fn each_role_is_allowed_and_refused_as_the_spec_says() {
    let (_ledger, secrets, server, _admin) = ledger_with_a_token_per_role().await;

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

/// Every mutation of the schema: (field, input type, least role allowed, input). `{R}` becomes
/// the role's name, so each allowed role works on ids of its own.
fn every_mutation() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let acme = |extra: Value| {
        let mut input = json!({"customerId": "ACME"});
        if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        input
    };
    vec![
        (
            "openAccount",
            "OpenAccountInput",
            "admin",
            json!({"customerId": "NEW-{R}", "name": "New",
            "currency": "EUR", "creditLimit": "100.00", "terms": {"netDays": 30}, "openedOn": "2026-01-01"}),
        ),
        (
            "changeCreditLimit",
            "ChangeCreditLimitInput",
            "admin",
            acme(json!({"newLimit": "900.00"})),
        ),
        (
            "changeTerms",
            "ChangeTermsInput",
            "admin",
            acme(json!({"terms": {"netDays": 45}})),
        ),
        (
            "updateContactDetails",
            "UpdateContactDetailsInput",
            "collector",
            acme(json!({"contacts": {"emails": ["ap@acme.example"]}})),
        ),
        (
            "verifyContactDetails",
            "VerifyContactDetailsInput",
            "collector",
            acme(json!({})),
        ),
        (
            "assignSalesRep",
            "AssignSalesRepInput",
            "admin",
            acme(json!({"salesRep": "rep-{R}"})),
        ),
        (
            "issueInvoice",
            "IssueInvoiceInput",
            "admin",
            acme(json!({"invoiceId": "X-{R}", "amount": "10.00", "issuedOn": "2026-01-10"})),
        ),
        (
            "confirmDelivery",
            "ConfirmDeliveryInput",
            "admin",
            acme(json!({"invoiceId": "INV-1"})),
        ),
        (
            "raiseDispute",
            "RaiseDisputeInput",
            "admin",
            acme(json!({"invoiceId": "INV-1"})),
        ),
        (
            "resolveDispute",
            "ResolveDisputeInput",
            "admin",
            acme(json!({"invoiceId": "INV-1"})),
        ),
        (
            "issueCreditNote",
            "IssueCreditNoteInput",
            "admin",
            acme(json!({"creditNoteId": "CN-{R}",
            "invoiceId": "INV-1", "amount": "1.00", "issuedOn": "2026-01-11"})),
        ),
        (
            "writeOffInvoice",
            "WriteOffInvoiceInput",
            "admin",
            acme(json!({"invoiceId": "INV-2"})),
        ),
        (
            "recordPayment",
            "RecordPaymentInput",
            "admin",
            acme(json!({"paymentId": "PAY-{R}", "amount": "1.00", "receivedOn": "2026-01-20"})),
        ),
        (
            "reversePayment",
            "ReversePaymentInput",
            "admin",
            acme(json!({"paymentId": "PAY-0"})),
        ),
        (
            "applyUnappliedCash",
            "ApplyUnappliedCashInput",
            "admin",
            acme(json!({"allocations": [{"invoiceId": "INV-1", "amount": "0.01"}]})),
        ),
        (
            "recordReminder",
            "RecordReminderInput",
            "collector",
            acme(json!({"invoiceIds": ["INV-1"], "channel": "email"})),
        ),
        (
            // SPEC §12: collectors send reminders (here no relay is configured, so an allowed
            // role is answered INVALID_STATE, never FORBIDDEN).
            "sendReminder",
            "SendReminderInput",
            "collector",
            acme(json!({"step": "overdue_reminder", "invoiceIds": ["INV-1"]})),
        ),
        (
            "logCall",
            "LogCallInput",
            "collector",
            acme(json!({"invoiceIds": ["INV-1"], "outcome": "no answer"})),
        ),
        (
            "notifySalesRep",
            "NotifySalesRepInput",
            "collector",
            acme(json!({"invoiceIds": ["INV-1"]})),
        ),
        (
            "recordPromise",
            "RecordPromiseInput",
            "collector",
            acme(json!({"promiseId": "P-{R}",
            "amount": "10.00", "promisedOn": "2026-12-31", "invoiceIds": ["INV-1"]})),
        ),
        (
            "agreePaymentPlan",
            "AgreePaymentPlanInput",
            "collector",
            acme(json!({"planId": "PLAN-{R}",
            "installments": [{"promiseId": "PI-{R}", "amount": "5.00", "promisedOn": "2026-12-31"}]})),
        ),
        (
            "holdAccount",
            "HoldAccountInput",
            "admin",
            acme(json!({"reason": "test"})),
        ),
        (
            "releaseAccount",
            "ReleaseAccountInput",
            "admin",
            acme(json!({"reason": "test"})),
        ),
        (
            "escalate",
            "EscalateInput",
            "admin",
            acme(json!({"invoiceIds": ["INV-1"], "to": "legal"})),
        ),
        (
            "adoptPolicy",
            "AdoptPolicyInput",
            "admin",
            json!({"document": include_str!("../../policies/default.toml")}),
        ),
        ("tick", "TickInput", "admin", json!({"date": "2026-01-05"})),
    ]
}

/// The log's head, from `/health`.
async fn head(server: &Server) -> u64 {
    let health: Value = reqwest::get(format!("http://{}/health", server.addr()))
        .await
        .expect("health")
        .json()
        .await
        .expect("health json");
    health["head"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .or_else(|| health["head"].as_u64())
        .expect("head")
}

/// The table test of every mutation × every role (and no token): below its role a mutation is
/// `FORBIDDEN` and appends nothing; at or above it, it gets past authorization (it may still be
/// refused by a business rule) and what it records carries the token's name as actor. The table
/// must name every mutation the schema has, so a new mutation cannot go untested.
#[tokio::test]
async fn every_mutation_by_every_role() {
    let (_ledger, secrets, server, admin) = ledger_with_a_token_per_role().await;
    let issued = admin
        .query(
            "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { type } } }",
            json!({"i": {"customerId": "ACME", "invoiceId": "INV-2", "amount": "50.00", "issuedOn": "2026-01-05"}}),
        )
        .await;
    assert!(issued.get("errors").is_none(), "{issued}");
    let paid = admin
        .query(
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { type } } }",
            json!({"i": {"customerId": "ACME", "paymentId": "PAY-0", "amount": "5.00", "receivedOn": "2026-01-06"}}),
        )
        .await;
    assert!(paid.get("errors").is_none(), "{paid}");

    let schema = admin
        .query(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut in_schema: Vec<String> = schema["data"]["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("mutation fields")
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    in_schema.sort();
    let table = every_mutation();
    let mut in_table: Vec<String> = table
        .iter()
        .map(|(m, ..)| m.to_string())
        .chain(administration().iter().map(|(m, ..)| m.to_string()))
        .collect();
    in_table.sort();
    assert_eq!(in_table, in_schema, "the table must list every mutation");

    let mut wrong = Vec::new();
    let mut answers = 0;
    for (mutation, input_type, least, input) in table {
        let query = format!(
            "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ events {{ actor }} }} }}"
        );
        let variables = json!({ "i": input });
        let before = head(&server).await;
        let anonymous = Client::new(&server, None)
            .query(&query, with_role(&variables, "anonymous"))
            .await;
        if error_code(&anonymous).as_deref() != Some("UNAUTHENTICATED") {
            wrong.push(format!("{mutation} without a token: {anonymous}"));
        }
        for (role, secret) in &secrets {
            let allowed = rank(role) >= rank(least);
            let before_role = head(&server).await;
            let answer = Client::new(&server, Some(secret))
                .query(&query, with_role(&variables, role))
                .await;
            answers += 1;
            let code = error_code(&answer);
            if allowed {
                if matches!(code.as_deref(), Some("FORBIDDEN" | "UNAUTHENTICATED")) {
                    wrong.push(format!("{mutation} as {role} was refused: {answer}"));
                }
                // The clock's events carry the actor `clock`, whoever runs it.
                let actor = if mutation == "tick" {
                    "clock"
                } else {
                    role.as_str()
                };
                for event in answer["data"][mutation]["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if event["actor"].as_str() != Some(actor) {
                        wrong.push(format!("{mutation} as {role} recorded {event}"));
                    }
                }
            } else {
                if code.as_deref() != Some("FORBIDDEN") {
                    wrong.push(format!("{mutation} as {role} was not FORBIDDEN: {answer}"));
                }
                if head(&server).await != before_role {
                    wrong.push(format!("{mutation} as {role} appended while FORBIDDEN"));
                }
            }
        }
        assert!(head(&server).await >= before);
    }
    assert_eq!(answers, 26 * ROLES.len());
    for (mutation, least, query, variables) in administration() {
        let anonymous = Client::new(&server, None)
            .query(query, with_role(&variables, "anonymous"))
            .await;
        if error_code(&anonymous).as_deref() != Some("UNAUTHENTICATED") {
            wrong.push(format!("{mutation} without a token: {anonymous}"));
        }
        for (role, secret) in &secrets {
            let allowed = rank(role) >= rank(least);
            let answer = Client::new(&server, Some(secret))
                .query(query, with_role(&variables, role))
                .await;
            let code = error_code(&answer);
            if allowed && matches!(code.as_deref(), Some("FORBIDDEN" | "UNAUTHENTICATED")) {
                wrong.push(format!("{mutation} as {role} was refused: {answer}"));
            }
            if !allowed && code.as_deref() != Some("FORBIDDEN") {
                wrong.push(format!("{mutation} as {role} was not FORBIDDEN: {answer}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
