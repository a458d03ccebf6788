//! Every `../shared/scenarios/*.json` played through the domain alone: each command must be
//! accepted or rejected with the expected kind, and each query's figures must follow from the
//! account's as-of functions (open amounts, unapplied cash, exposure, effective limit). The
//! projections and the GraphQL API run the same files on their side; new files are picked up
//! without code changes.

use std::collections::HashMap;
use std::path::PathBuf;

use domain::{decide, evolve, Account, Command, Policy};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::support::*;

fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn dec(v: &Value) -> Decimal {
    m(v.as_str().unwrap())
}

/// The aging row of SPEC §7 for one account, from the domain's as-of functions.
fn aging_row(
    account: &Account,
    policy: &Policy,
    on: chrono::NaiveDate,
) -> (Vec<Decimal>, Decimal, Decimal) {
    let mut buckets = vec![Decimal::ZERO; policy.aging.buckets.len() + 2];
    let mut disputed = Decimal::ZERO;
    for invoice in &account.invoices {
        let open = invoice.open_on(on);
        if open == Decimal::ZERO {
            continue;
        }
        let since = match policy.aging.basis {
            domain::policy::AgingBasis::Due => invoice.due_on,
            domain::policy::AgingBasis::Issue => invoice.issued_on,
        };
        buckets[policy.aging.bucket_of((on - since).num_days())] += open;
        if invoice.disputed_on(on) {
            disputed += open;
        }
    }
    (buckets, account.unapplied_on(on), disputed)
}

#[test]
fn every_scenario_runs_through_the_domain() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenario files found");
    for file in files {
        let name = file.display().to_string();
        let scenario: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let policy = match scenario["policy"].as_str() {
            Some("default") | None => default_policy().clone(),
            Some("single-reminder") => {
                Policy::parse(domain::policy::SINGLE_REMINDER_POLICY_TOML).unwrap()
            }
            Some(other) => panic!("{name}: unknown policy {other}"),
        };
        // The file's today, or the machine's date (../shared/scenarios/README.md).
        let today = scenario["today"]
            .as_str()
            .map(d)
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let now = today
            .and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default();
        let mut accounts: HashMap<String, Option<Account>> = HashMap::new();
        for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name} step {i}");
            let mut step = step.clone();
            let obj = step.as_object_mut().unwrap();
            if obj.contains_key("command") {
                let expect_error = obj.remove("expect_error");
                let command: Command = serde_json::from_value(Value::Object(obj.clone()))
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                let state = accounts
                    .entry(command.customer_id().to_string())
                    .or_default();
                let ctx = domain::Context {
                    today,
                    now,
                    ..ctx(&policy)
                };
                let outcome = decide(state.as_ref(), &command, &ctx);
                match (outcome, expect_error) {
                    (Ok(events), None) => {
                        for e in &events {
                            evolve(state, e);
                        }
                    }
                    (Err(e), Some(kind)) => {
                        assert_eq!(e.kind().code(), kind.as_str().unwrap(), "{at}: {e}")
                    }
                    (Ok(events), Some(kind)) => panic!("{at}: expected {kind}, got {events:?}"),
                    (Err(e), None) => panic!("{at}: rejected: {e}"),
                }
            } else if obj.get("query").and_then(Value::as_str) == Some("aging") {
                let on = d(obj["as_of"].as_str().unwrap());
                for row in obj["rows"].as_array().unwrap() {
                    let account = accounts[row["customer_id"].as_str().unwrap()]
                        .as_ref()
                        .unwrap();
                    let (buckets, unapplied, disputed) = aging_row(account, &policy, on);
                    let expected: Vec<Decimal> =
                        row["buckets"].as_array().unwrap().iter().map(dec).collect();
                    assert_eq!(buckets, expected, "{at}: buckets");
                    assert_eq!(unapplied, dec(&row["unapplied"]), "{at}: unapplied");
                    assert_eq!(disputed, dec(&row["disputed"]), "{at}: disputed");
                    assert_eq!(account.exposure_on(on), dec(&row["total"]), "{at}: total");
                }
            } else if obj.get("query").and_then(Value::as_str) == Some("exposure") {
                let on = d(obj["as_of"].as_str().unwrap());
                let account = accounts[obj["customer_id"].as_str().unwrap()]
                    .as_ref()
                    .unwrap();
                let result = &obj["result"];
                let exposure = account.exposure_on(on);
                let limit = account.effective_limit_on(on, &policy);
                assert_eq!(exposure, dec(&result["exposure"]), "{at}: exposure");
                assert_eq!(
                    limit,
                    dec(&result["effective_limit"]),
                    "{at}: effective_limit"
                );
                assert_eq!(
                    limit - exposure,
                    dec(&result["available"]),
                    "{at}: available"
                );
            } else if !obj.contains_key("query") {
                panic!("{at}: neither a command nor a query: {obj:?}");
            }
            // Other queries (worklist, metrics, …) are read models: the projections' runner
            // checks them.
        }
    }
}
