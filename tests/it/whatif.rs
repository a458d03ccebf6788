//! `whatif(policyDocument, asOf)` over GraphQL is the comparison `dunlog whatif` prints, with
//! totals per currency (money is never summed across currencies); auditors may ask, viewers not.

use serde_json::{json, Value};

use crate::support::{cli, error_code, open_acme, token, Client, Ledger, Server};

const WHATIF: &str = "query($p: String!, $d: Date) { whatif(policyDocument: $p, asOf: $d) {
    policyName asOf accountsCompared
    accounts { customerId lateFeesRecorded lateFeesWould worklistRecorded worklistWould differences }
    totals { holdsRecorded holdsWould lateFeeCountRecorded lateFeeCountWould lateFeesRecorded lateFeesWould worklistRecorded worklistWould }
    currencyTotals { currency totals { lateFeesRecorded lateFeesWould worklistRecorded worklistWould } } } }";

#[tokio::test]
async fn whatif_over_graphql_is_the_cli_comparison_with_totals_per_currency() {
    let ledger = Ledger::new();
    let auditor = token(&ledger.data(), "audit", "auditor");
    let viewer = token(&ledger.data(), "view", "viewer");
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    assert!(open_acme(&admin).await.get("errors").is_none());
    let yen = admin
        .query(
            "mutation($i: OpenAccountInput!) { openAccount(input: $i) { events { type } } }",
            json!({"i": {"customerId": "YEN", "name": "Yen KK", "currency": "JPY",
                         "creditLimit": "1000000", "terms": {"netDays": 30}, "openedOn": "2026-01-01"}}),
        )
        .await;
    assert!(yen.get("errors").is_none(), "{yen}");
    for (customer, invoice, amount) in [("ACME", "A-1", "1000.00"), ("YEN", "Y-1", "50000")] {
        let issued = admin
            .query(
                "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { type } } }",
                json!({"i": {"customerId": customer, "invoiceId": invoice, "amount": amount, "issuedOn": "2026-01-05"}}),
            )
            .await;
        assert!(issued.get("errors").is_none(), "{issued}");
    }
    let ticked = admin
        .query(
            "mutation { tick(input: {date: \"2026-04-30\"}) { events { type } } }",
            json!({}),
        )
        .await;
    assert!(ticked.get("errors").is_none(), "{ticked}");

    let other = include_str!("../../policies/single-reminder.toml");
    let vars = json!({"p": other, "d": "2026-04-30"});
    let refused = Client::new(&server, Some(&viewer))
        .query(WHATIF, vars.clone())
        .await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("FORBIDDEN"),
        "{refused}"
    );
    let answer = Client::new(&server, Some(&auditor))
        .query(WHATIF, vars)
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let w = &answer["data"]["whatif"];
    assert_eq!(w["accountsCompared"], 2, "{answer}");
    let currencies: Vec<&str> = w["currencyTotals"]
        .as_array()
        .expect("currencyTotals")
        .iter()
        .filter_map(|t| t["currency"].as_str())
        .collect();
    assert_eq!(currencies, ["EUR", "JPY"], "{answer}");
    // Two currencies: the overall line counts, but sums no money.
    assert!(w["totals"]["lateFeesRecorded"].is_null(), "{answer}");

    let bad = Client::new(&server, Some(&auditor))
        .query(WHATIF, json!({"p": "not toml [", "d": "2026-04-30"}))
        .await;
    assert_eq!(error_code(&bad).as_deref(), Some("VALIDATION"), "{bad}");
    assert!(bad.to_string().contains("policyDocument"), "{bad}");

    // The CLI's comparison of the same ledger says the same.
    server.terminate();
    let policy = ledger.dir.path().join("other.toml");
    std::fs::write(&policy, other).expect("policy file");
    let printed = cli(
        &ledger.data(),
        &[
            "whatif",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--as-of",
            "2026-04-30",
            "--format",
            "json",
        ],
    );
    let printed: Value = serde_json::from_str(&printed).expect("json");
    for (graphql, cli_key) in [
        ("holdsRecorded", "holds_recorded"),
        ("holdsWould", "holds_would"),
        ("lateFeeCountRecorded", "late_fee_count_recorded"),
        ("lateFeeCountWould", "late_fee_count_would"),
        ("worklistRecorded", "worklist_recorded"),
        ("worklistWould", "worklist_would"),
    ] {
        assert_eq!(
            w["totals"][graphql], printed["totals"][cli_key],
            "{graphql}: {printed}"
        );
    }
    let cli_accounts: Vec<&str> = printed["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["customer_id"].as_str())
        .collect();
    let graphql_accounts: Vec<&str> = w["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["customerId"].as_str())
        .collect();
    assert_eq!(graphql_accounts, cli_accounts);
}
