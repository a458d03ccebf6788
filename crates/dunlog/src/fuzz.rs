//! Entry points for fuzzing, shared by the proptests (run in CI) and the cargo-fuzz targets in
//! `fuzz/`: each takes untrusted input, runs the code a user's input reaches, and panics only
//! when a promise of SPEC §8 is broken. Not part of the product's API.
//!
//! [`GraphqlHarness`] drives the real router (body limits, JSON parsing, auth, the schema and
//! its limits, the error codes the HTTP layer adds) in-process on a scratch ledger, and checks
//! every answer: no `5xx`, no `INTERNAL`, every error has a message and a documented
//! `extensions.code`, a refused mutation appends nothing, and an accepted one appends events
//! that follow the head and keep the hash chain verifying.

use std::sync::Mutex;

use anyhow::{anyhow, Context as _};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::api::server::{self, AppState};
use crate::app::auth::Role;
use crate::app::service::Service;

/// The codes of docs/graphql.md a refused request may carry (`INTERNAL` is a bug).
pub const ERROR_CODES: [&str; 7] = [
    "VALIDATION",
    "NOT_FOUND",
    "CONFLICT",
    "INVALID_STATE",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "LIMIT",
];

/// The events and accounts the harness starts with, so ids in fuzzed requests can hit.
const SEED: &[&str] = &[
    r#"mutation { openAccount(input: {customerId: "ACME", name: "Acme", currency: "EUR", creditLimit: "10000.00", terms: {netDays: 30, discountPercent: "2", discountDays: 10}, openedOn: "2026-01-01"}) { events { position } } }"#,
    r#"mutation { openAccount(input: {customerId: "YEN", name: "Yen Co", currency: "JPY", creditLimit: "500000", terms: {netDays: 14}, openedOn: "2026-01-01"}) { events { position } } }"#,
    r#"mutation { issueInvoice(input: {customerId: "ACME", invoiceId: "INV-1", amount: "1200.00", issuedOn: "2026-01-05"}) { events { position } } }"#,
    r#"mutation { issueInvoice(input: {customerId: "ACME", invoiceId: "INV-2", amount: "300.50", issuedOn: "2026-02-01"}) { events { position } } }"#,
    r#"mutation { recordPayment(input: {customerId: "ACME", paymentId: "PAY-1", amount: "100.00", receivedOn: "2026-02-10"}) { events { position } } }"#,
    r#"mutation { recordPromise(input: {customerId: "ACME", promiseId: "P-1", amount: "200.00", promisedOn: "2026-03-01", madeOn: "2026-02-15"}) { events { position } } }"#,
];

/// What one request did.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub body: Value,
    /// Events appended to the log by this request.
    pub appended: u64,
}

impl Outcome {
    /// The `extensions.code` of every error.
    pub fn codes(&self) -> Vec<String> {
        errors(&self.body)
            .iter()
            .filter_map(|e| e.pointer("/extensions/code").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    pub fn is_error(&self) -> bool {
        !errors(&self.body).is_empty()
    }
}

fn errors(body: &Value) -> &[Value] {
    body.get("errors")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A scratch ledger behind the real router, with a token for every role.
pub struct GraphqlHarness {
    runtime: tokio::runtime::Runtime,
    app: Router,
    service: Service,
    tokens: Vec<(Role, String)>,
    /// Requests run one at a time, so the head before and after is this request's doing.
    lock: Mutex<()>,
    _dir: tempfile::TempDir,
}

impl GraphqlHarness {
    /// Opens a fresh ledger in a temporary directory and seeds it with a few accounts.
    pub fn new() -> anyhow::Result<GraphqlHarness> {
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting tokio")?;
        let service = runtime.block_on(Service::open(dir.path()))?;
        let mut tokens = Vec::new();
        for (name, role) in [
            ("fuzz-admin", Role::Admin),
            ("fuzz-collector", Role::Collector),
            ("fuzz-auditor", Role::Auditor),
            ("fuzz-viewer", Role::Viewer),
        ] {
            tokens.push((role, service.tokens.create(name, role)?));
        }
        let app = server::app(AppState::new(service.clone(), false));
        let harness = GraphqlHarness {
            runtime,
            app,
            service,
            tokens,
            lock: Mutex::new(()),
            _dir: dir,
        };
        for query in SEED {
            let body = serde_json::json!({ "query": query }).to_string();
            let outcome = harness.post(body.as_bytes(), Some(Role::Admin));
            if outcome.is_error() || outcome.appended == 0 {
                return Err(anyhow!("seeding failed: {}", outcome.body));
            }
        }
        Ok(harness)
    }

    /// The log's head.
    pub fn head(&self) -> u64 {
        self.service.store.head()
    }

    /// Posts `body` to `/graphql` as `role` (no token when `None`), checks the answer against
    /// the promises above, and panics if one is broken.
    pub fn post(&self, body: &[u8], role: Option<Role>) -> Outcome {
        let _serial = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let token = role.and_then(|r| self.tokens.iter().find(|(t, _)| *t == r));
        let mut request = Request::builder()
            .method("POST")
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some((_, secret)) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {secret}"));
        }
        let request = match request.body(Body::from(body.to_vec())) {
            Ok(r) => r,
            Err(e) => panic!("building the request: {e}"),
        };
        let before = self.head();
        let (status, bytes) = self.runtime.block_on(async {
            let response = match self.app.clone().oneshot(request).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            let status = response.status().as_u16();
            match axum::body::to_bytes(response.into_body(), usize::MAX).await {
                Ok(bytes) => (status, bytes),
                Err(e) => panic!("reading the response: {e}"),
            }
        });
        let after = self.head();
        let answer: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => panic!(
                "status {status}: the answer is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        };
        let outcome = Outcome {
            status,
            body: answer,
            appended: after.saturating_sub(before),
        };
        check(body, &outcome, before, after);
        if outcome.appended > 0 {
            match self.service.store.verify(0) {
                Ok(v) if v.ok => {}
                other => panic!(
                    "the log does not verify after {:?}: {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
        outcome
    }
}

/// The one top-level field of a mutation document, if it is one mutation with exactly one
/// field and no fragments: then an error means that field was refused.
fn single_mutation(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Some(query) = json.get("query").and_then(Value::as_str) else {
        return false;
    };
    let Ok(document): Result<ExecutableDocument, _> = async_graphql::parser::parse_query(query)
    else {
        return false;
    };
    let operations: Vec<_> = document.operations.iter().collect();
    match operations.as_slice() {
        [(_, op)] => {
            op.node.ty == OperationType::Mutation
                && op.node.selection_set.node.items.len() == 1
                && op
                    .node
                    .selection_set
                    .node
                    .items
                    .iter()
                    .all(|s| matches!(s.node, Selection::Field(_)))
        }
        _ => false,
    }
}

/// The promises every answer keeps; panics (the fuzzer's signal) when one is broken.
fn check(request: &[u8], outcome: &Outcome, before: u64, after: u64) {
    let shown = || shorten(&String::from_utf8_lossy(request));
    assert!(
        outcome.status < 500,
        "status {} for {:?}: {}",
        outcome.status,
        shown(),
        outcome.body
    );
    assert!(
        after >= before,
        "the head went back from {before} to {after}"
    );
    for error in errors(&outcome.body) {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        let code = error
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .unwrap_or("");
        assert!(
            !message.trim().is_empty(),
            "an error without a message for {:?}: {error}",
            shown()
        );
        assert!(
            ERROR_CODES.contains(&code),
            "code {code:?} is not a documented one, for {:?}: {error}",
            shown()
        );
    }
    if outcome.is_error() && single_mutation(request) {
        assert_eq!(
            outcome.appended,
            0,
            "a refused mutation appended {} events: {:?} -> {}",
            outcome.appended,
            shown(),
            outcome.body
        );
    }
    if !outcome.is_error() && outcome.appended > 0 {
        // Every event the answer lists that is new lies between the old and the new head.
        let mut positions = Vec::new();
        collect_positions(&outcome.body, &mut positions);
        for p in positions.into_iter().filter(|&p| p > before) {
            assert!(p <= after, "position {p} beyond the head {after}");
        }
    }
}

/// The text, cut to a readable length for a failure message.
fn shorten(text: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 600;
    if text.chars().count() <= SHOWN_CHARS_MAX {
        return text.to_owned();
    }
    let head: String = text.chars().take(SHOWN_CHARS_MAX).collect();
    format!("{head}… ({} bytes)", text.len())
}

/// Every `position` of an event the answer lists.
fn collect_positions(value: &Value, out: &mut Vec<u64>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str().and_then(|s| s.parse::<u64>().ok())) {
                    ("position", Some(p)) => out.push(p),
                    _ => collect_positions(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_positions(v, out)),
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests;
