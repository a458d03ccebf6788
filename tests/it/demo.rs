//! `serve --demo` serves a living ledger: the README's first query returns data, and every read
//! model has something to show.

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
}
