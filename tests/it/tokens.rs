//! Tokens over GraphQL while the server runs (SPEC §8): an admin creates a token and it works
//! at the very next request; revoked, it is refused at once; only admins see or change tokens.

use serde_json::{json, Value};

use crate::support::{error_code, Client, Ledger, Server};

const CREATE: &str =
    "mutation($n: String!, $r: TokenRole!) { createToken(name: $n, role: $r) { name role secret } }";
const REVOKE: &str = "mutation($n: String!) { revokeToken(name: $n) { name revoked } }";

fn names(answer: &Value) -> Vec<String> {
    answer["data"]["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_token_made_over_graphql_works_at_once_and_revoked_stops_at_once() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));

    let created = admin
        .query(CREATE, json!({"n": "carol", "r": "COLLECTOR"}))
        .await;
    assert!(created.get("errors").is_none(), "{created}");
    assert_eq!(created["data"]["createToken"]["role"], "COLLECTOR");
    let secret = created["data"]["createToken"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let carol = Client::new(&server, Some(&secret));
    let answer = carol.query("{ aging { asOf } }", json!({})).await;
    assert!(
        answer.get("errors").is_none(),
        "the new token must work at once: {answer}"
    );
    // A collector is not an admin.
    let answer = carol.query("{ tokens { name } }", json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );
    let answer = carol
        .query(CREATE, json!({"n": "mallory", "r": "ADMIN"}))
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );

    let listed = admin
        .query("{ tokens { name role createdAt } }", json!({}))
        .await;
    assert_eq!(names(&listed), ["admin", "carol"], "{listed}");
    assert!(
        !listed.to_string().contains(&secret),
        "a secret is shown once only"
    );

    let revoked = admin.query(REVOKE, json!({"n": "carol"})).await;
    assert_eq!(revoked["data"]["revokeToken"]["revoked"], true, "{revoked}");
    let answer = carol.query("{ aging { asOf } }", json!({})).await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("UNAUTHENTICATED"),
        "{answer}"
    );
    assert!(
        answer.to_string().contains("unknown or revoked"),
        "{answer}"
    );
    let again = admin.query(REVOKE, json!({"n": "carol"})).await;
    assert_eq!(error_code(&again).as_deref(), Some("NOT_FOUND"), "{again}");
    let bad = admin
        .query(CREATE, json!({"n": "no spaces", "r": "VIEWER"}))
        .await;
    assert_eq!(error_code(&bad).as_deref(), Some("VALIDATION"), "{bad}");
    assert!(bad.to_string().contains("no spaces"), "{bad}");

    // What the server made is in the store: after a restart the admin still sees it.
    server.terminate();
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    let listed = admin.query("{ tokens { name } }", json!({})).await;
    assert_eq!(names(&listed), ["admin"], "{listed}");
}
