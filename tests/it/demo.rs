//! `serve --demo` serves a living ledger: the README's first query returns data, every read
//! model has something to show, and every customer's statement closes at its exposure.

use serde_json::json;

use crate::support::{Client, Server};

/// The README's first query, verbatim.
const README_QUERY: &str = r#"{
  aging(first: 5) {
    asOf
    buckets
    totals { currency amounts unapplied total }
    rows { nodes { customerId name currency amounts total oldestDaysPastDue } pageInfo { hasNextPage endCursor } }
  }
  worklist(first: 5) { nodes { customerId invoiceId step channel triggerOn openAmount daysPastDue } }
}"#;

#[tokio::test]
async fn serve_demo_shows_a_living_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo", "--demo-customers", "24"]);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    let token = log
        .split_whitespace()
        .find(|w| w.starts_with("dlk_"))
        .expect("the demo prints an admin token")
        .to_owned();
    let client = Client::new(&server, Some(&token));

    let readme = client.query(README_QUERY, json!({})).await;
    assert!(readme.get("errors").is_none(), "{readme}");
    assert_eq!(
        readme["data"]["aging"]["rows"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert!(readme["data"]["aging"]["rows"]["pageInfo"]["hasNextPage"] == true);
    assert!(!readme["data"]["worklist"]["nodes"]
        .as_array()
        .expect("worklist")
        .is_empty());

    let all = client
        .query(
            "{ exposures(first: 500) { nodes { customerId status } }
               promises(first: 500) { nodes { status } }
               metrics { currency dso }
               events(first: 1) { nodes { position } }
               policies { version } }",
            json!({}),
        )
        .await;
    assert!(all.get("errors").is_none(), "{all}");
    let statuses: Vec<&str> = all["data"]["exposures"]["nodes"]
        .as_array()
        .expect("exposures")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses.len(), 24);
    for status in ["OK", "HELD", "PROBATION"] {
        assert!(
            statuses.contains(&status),
            "no {status} account: {statuses:?}"
        );
    }
    let promises: Vec<&str> = all["data"]["promises"]["nodes"]
        .as_array()
        .expect("promises")
        .iter()
        .filter_map(|p| p["status"].as_str())
        .collect();
    assert!(
        promises.contains(&"KEPT") && promises.contains(&"BROKEN"),
        "{promises:?}"
    );
    assert!(!all["data"]["metrics"]
        .as_array()
        .expect("metrics")
        .is_empty());

    let timeline = client
        .query(
            "{ timeline(customerId: \"C0004\") { type actor } }",
            json!({}),
        )
        .await;
    assert!(
        !timeline["data"]["timeline"]
            .as_array()
            .expect("timeline")
            .is_empty(),
        "{timeline}"
    );

    // Issue 15: the statement's closing balance equals `exposure(asOf: to)` for every demo
    // customer, over the last year and over a period that ends in the past.
    let as_of: chrono::NaiveDate = readme["data"]["aging"]["asOf"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("aging asOf");
    let customers: Vec<&str> = all["data"]["exposures"]["nodes"]
        .as_array()
        .expect("exposures")
        .iter()
        .filter_map(|e| e["customerId"].as_str())
        .collect();
    let mut lines = 0;
    for customer in customers {
        for (from_days, to_days) in [(365, 0), (400, 45)] {
            let from = as_of - chrono::Days::new(from_days);
            let to = as_of - chrono::Days::new(to_days);
            let answer = client
                .query(
                    "query($c: ID!, $from: Date!, $to: Date!) {
                       statement(customerId: $c, from: $from, to: $to) {
                         openingBalance closingBalance lines { balance } }
                       exposure(customerId: $c, asOf: $to) { exposure } }",
                    json!({"c": customer, "from": from.to_string(), "to": to.to_string()}),
                )
                .await;
            assert!(answer.get("errors").is_none(), "{answer}");
            let statement = &answer["data"]["statement"];
            assert_eq!(
                statement["closingBalance"], answer["data"]["exposure"]["exposure"],
                "{customer} {from}..{to}"
            );
            let balances = statement["lines"].as_array().expect("lines");
            lines += balances.len();
            let last = balances
                .last()
                .map_or(&statement["openingBalance"], |l| &l["balance"]);
            assert_eq!(
                last, &statement["closingBalance"],
                "{customer} {from}..{to}"
            );
        }
    }
    assert!(lines > 0, "the demo has movements");
}
