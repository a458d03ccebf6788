//! Every `../shared/scenarios/*.json` (or `$DUNLOG_SCENARIOS/*.json`) runs through GraphQL against
//! a fresh server, with `projections::scenario`'s runner: the same files, the same comparison as
//! the in-memory domain run.

use std::path::PathBuf;

use chrono::NaiveDate;
use projections::scenario::{self, CommandOutcome, Target};
use serde_json::{json, Map, Value};

use crate::support::{Client, Ledger, Server};

const DEFAULT_POLICY: &str = include_str!("../../policies/default.toml");
/// Most aging rows asked for per page.
const PAGE: i64 = 500;

fn scenario_dir() -> PathBuf {
    std::env::var_os("DUNLOG_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenarios"))
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn pascal(key: &str) -> String {
    let c = camel(key);
    let mut chars = c.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => c,
    }
}

/// snake_case keys → camelCase, recursively.
fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (camel(k), camel_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// camelCase keys → snake_case (for answers compared with the scenario's expectations).
fn snake_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut s = String::new();
                    for c in k.chars() {
                        if c.is_ascii_uppercase() {
                            s.push('_');
                            s.push(c.to_ascii_lowercase());
                        } else {
                            s.push(c);
                        }
                    }
                    (s, snake_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(snake_keys).collect()),
        other => other.clone(),
    }
}

struct GraphqlTarget {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl GraphqlTarget {
    fn run(&self, query: &str, variables: Value) -> Value {
        self.runtime.block_on(self.client.query(query, variables))
    }
}

impl Target for GraphqlTarget {
    // The server was started with the file's `"today"` (`--today D --no-auto-tick`).
    fn today(&mut self, _today: Option<NaiveDate>) {}

    fn start(&mut self, policy_document: &str) -> Result<(), String> {
        if policy_document == DEFAULT_POLICY {
            return Ok(());
        }
        let answer = self.run(
            "mutation($i: AdoptPolicyInput!) { adoptPolicy(input: $i) { events { position } } }",
            json!({"i": {"document": policy_document}}),
        );
        match answer.get("errors") {
            Some(e) => Err(format!("adoptPolicy: {e}")),
            None => Ok(()),
        }
    }

    fn command(&mut self, step: &Map<String, Value>) -> Result<CommandOutcome, String> {
        let name = step
            .get("command")
            .and_then(Value::as_str)
            .ok_or("step without a command")?
            .to_owned();
        let mut input = step.clone();
        input.remove("command");
        input.remove("expect_error");
        let mutation = camel(&name);
        let query = format!(
            "mutation($i: {}Input!) {{ {mutation}(input: $i) {{ events {{ position type }} }} }}",
            pascal(&name)
        );
        let answer = self.run(&query, json!({ "i": camel_keys(&Value::Object(input)) }));
        if let Some(error) = answer["errors"].get(0) {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or("NO_CODE")
                .to_owned();
            let message = error["message"].as_str().unwrap_or_default().to_owned();
            if code == "INTERNAL" || code == "NO_CODE" {
                return Err(format!("{name}: {message}"));
            }
            return Ok(Err((code, message)));
        }
        Ok(Ok(()))
    }

    fn aging(&mut self, as_of: NaiveDate) -> Result<Vec<Value>, String> {
        let mut rows = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let answer = self.run(
                "query($asOf: Date, $first: Int, $after: String) {
                   aging(asOf: $asOf, first: $first, after: $after) {
                     rows { nodes { customerId currency amounts unapplied total disputed oldestDaysPastDue }
                            pageInfo { hasNextPage endCursor } } } }",
                json!({"asOf": as_of.to_string(), "first": PAGE, "after": after}),
            );
            let page = &answer["data"]["aging"]["rows"];
            let nodes = page["nodes"]
                .as_array()
                .ok_or_else(|| format!("aging: {answer}"))?;
            for node in nodes {
                let mut row = snake_keys(node);
                if let Some(amounts) = row.get("amounts").cloned() {
                    row["buckets"] = amounts;
                }
                rows.push(row);
            }
            if page["pageInfo"]["hasNextPage"].as_bool() != Some(true) {
                return Ok(rows);
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
    }

    fn exposure(&mut self, customer_id: &str, as_of: NaiveDate) -> Result<Value, String> {
        let answer = self.run(
            "query($id: ID!, $asOf: Date) { exposure(customerId: $id, asOf: $asOf) {
               customerId currency creditLimit effectiveLimit exposure available utilization status
               openPromises promisesKept promisesBroken daysSinceLastContact } }",
            json!({"id": customer_id, "asOf": as_of.to_string()}),
        );
        match answer["data"]["exposure"].as_object() {
            Some(_) => Ok(snake_keys(&answer["data"]["exposure"])),
            None => Err(format!("exposure: {answer}")),
        }
    }
}

/// The project's own scenario files (`tests/scenarios/`), run beside the shared ones.
fn own_scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn json_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_scenario_passes_through_graphql() {
    let mut files = json_files(&scenario_dir());
    files.extend(json_files(&own_scenario_dir()));
    assert!(
        !files.is_empty(),
        "no scenarios in {}",
        scenario_dir().display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read scenario");
        let scenario: Value = serde_json::from_str(&text).expect("scenario JSON");
        let ledger = Ledger::new();
        // The file's today fixes the server's (`--today D`; the server runs with
        // `--no-auto-tick`).
        let today = scenario
            .get("today")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let server = match &today {
            Some(d) => Server::start_with(&ledger.data(), &["--today", d]),
            None => Server::start(&ledger.data()),
        };
        let mut target = GraphqlTarget {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            client: Client::new(&server, Some(&ledger.admin)),
        };
        if let Err(failure) = scenario::run(&scenario, &mut target) {
            failures.push(format!("{}: {failure}", file.display()));
        }
        server.stop();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
