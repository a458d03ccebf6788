//! Scenario files (`../shared/scenarios/*.json`): worked examples with expected answers, run
//! step by step against a target — the in-memory domain here, the real ledger in the CLI, the
//! GraphQL API in end-to-end tests — stopping at the first step that differs.
//!
//! The runner only knows the file format and how to compare; a `Target` knows how to send a
//! command and answer a query, returning answers in the scenario's own JSON shape.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use domain::{Command, Context, CustomerId, DomainError, Event, Policy};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::aging::AgingReport;
use crate::exposure::Exposure;
use crate::ledger::{EventMeta, Ledger};

/// A command step's outcome: `Ok` or the error kind (`VALIDATION`, `NOT_FOUND`, …) and message.
pub type CommandOutcome = Result<(), (String, String)>;

/// Something a scenario can run against.
pub trait Target {
    /// Fixes the ledger's today for the run (the file's top-level `"today"`), before `start`;
    /// `None`: the machine's date.
    fn today(&mut self, today: Option<NaiveDate>);
    /// Starts a fresh ledger under the named policy (`default`, `single-reminder`, or a file).
    fn start(&mut self, policy_document: &str) -> Result<(), String>;
    /// Sends a command step (the step object without `expect_error`).
    fn command(&mut self, step: &Map<String, Value>) -> Result<CommandOutcome, String>;
    /// Answers `aging` as of a date: rows as `{customer_id, currency, buckets, unapplied, total, disputed}`.
    fn aging(&mut self, as_of: NaiveDate) -> Result<Vec<Value>, String>;
    /// Answers `exposure`: `{exposure, effective_limit, available, status, …}` in snake_case.
    fn exposure(&mut self, customer_id: &str, as_of: NaiveDate) -> Result<Value, String>;
}

/// Where and why a scenario stopped.
#[derive(Debug)]
pub struct Failure {
    pub scenario: String,
    pub step: usize,
    pub step_json: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: step {} differs\n  step:     {}\n  expected: {}\n  actual:   {}",
            self.scenario, self.step, self.step_json, self.expected, self.actual
        )
    }
}

/// The policy document a scenario names: a shipped policy by name, or inline TOML under
/// `policy_document`.
pub fn policy_document(scenario: &Value) -> Result<String, String> {
    if let Some(doc) = scenario.get("policy_document").and_then(Value::as_str) {
        return Ok(doc.to_owned());
    }
    match scenario
        .get("policy")
        .and_then(Value::as_str)
        .unwrap_or("default")
    {
        "default" => Ok(domain::policy::DEFAULT_POLICY_TOML.to_owned()),
        "single-reminder" | "single_reminder" => {
            Ok(domain::policy::SINGLE_REMINDER_POLICY_TOML.to_owned())
        }
        other => Err(format!("unknown policy {other:?}")),
    }
}

/// Runs every step of a scenario; returns the number of steps run.
// Long: one arm per step kind of the scenario format (../shared/scenarios/README.md), so the
// format reads in one place.
pub fn run(scenario: &Value, target: &mut dyn Target) -> Result<usize, Box<Failure>> {
    let name = scenario
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("scenario")
        .to_owned();
    let fail = |step: usize, json: &Value, expected: String, actual: String| {
        Box::new(Failure {
            scenario: name.clone(),
            step,
            step_json: json.to_string(),
            expected,
            actual,
        })
    };
    let document =
        policy_document(scenario).map_err(|e| fail(0, scenario, "a known policy".into(), e))?;
    let today = match scenario.get("today") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .ok_or_else(|| fail(0, scenario, "today as YYYY-MM-DD".into(), v.to_string()))?,
        ),
    };
    target.today(today);
    target
        .start(&document)
        .map_err(|e| fail(0, &Value::Null, "a fresh ledger".into(), e))?;
    let steps = scenario
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| fail(0, scenario, "a steps array".into(), "none".into()))?;
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let Some(obj) = step.as_object() else {
            return Err(fail(n, step, "an object".into(), step.to_string()));
        };
        if obj.contains_key("command") {
            let mut fields = obj.clone();
            // A note for people (../shared/scenarios/README.md): ignored by runners.
            fields.remove("why");
            let expect_error = fields
                .remove("expect_error")
                .and_then(|v| v.as_str().map(str::to_owned));
            let outcome = target
                .command(&fields)
                .map_err(|e| fail(n, step, "the command to be sent".into(), e))?;
            match (expect_error, outcome) {
                (None, Ok(())) => {}
                (Some(kind), Err((actual, _))) if kind == actual => {}
                (None, Err((kind, message))) => {
                    return Err(fail(
                        n,
                        step,
                        "success".into(),
                        format!("{kind}: {message}"),
                    ))
                }
                (Some(kind), Ok(())) => {
                    return Err(fail(n, step, format!("error {kind}"), "success".into()))
                }
                (Some(kind), Err((actual, message))) => {
                    return Err(fail(
                        n,
                        step,
                        format!("error {kind}"),
                        format!("{actual}: {message}"),
                    ))
                }
            }
        } else if let Some(query) = obj.get("query").and_then(Value::as_str) {
            let as_of = obj
                .get("as_of")
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .ok_or_else(|| fail(n, step, "as_of as YYYY-MM-DD".into(), "none".into()))?;
            match query {
                "aging" => {
                    let expected = obj.get("rows").cloned().unwrap_or(Value::Array(vec![]));
                    let actual = target
                        .aging(as_of)
                        .map_err(|e| fail(n, step, expected.to_string(), e))?;
                    compare_rows(&expected, &actual).map_err(|why| {
                        fail(
                            n,
                            step,
                            expected.to_string(),
                            format!("{} ({why})", Value::Array(actual.clone())),
                        )
                    })?;
                }
                "exposure" => {
                    let customer = obj
                        .get("customer_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let expected = obj.get("result").cloned().unwrap_or(Value::Null);
                    let actual = target
                        .exposure(customer, as_of)
                        .map_err(|e| fail(n, step, expected.to_string(), e))?;
                    compare(&expected, &actual, "result").map_err(|why| {
                        fail(n, step, expected.to_string(), format!("{actual} ({why})"))
                    })?;
                }
                other => {
                    return Err(fail(
                        n,
                        step,
                        "query aging or exposure".into(),
                        format!("unknown query {other:?}"),
                    ))
                }
            }
        } else {
            return Err(fail(
                n,
                step,
                "a command or a query".into(),
                step.to_string(),
            ));
        }
    }
    Ok(steps.len())
}

/// Compares expected aging rows with actual ones: matched by customer id; an expected row whose
/// amounts are all zero may be missing.
pub fn compare_rows(expected: &Value, actual: &[Value]) -> Result<(), String> {
    let expected = expected.as_array().cloned().unwrap_or_default();
    let key = |v: &Value| {
        v.get("customer_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    for e in &expected {
        let id = key(e);
        match actual.iter().find(|a| key(a) == id) {
            Some(a) => compare(e, a, &format!("row {id}"))?,
            None if all_zero(e) => {}
            None => return Err(format!("row {id} is missing")),
        }
    }
    for a in actual {
        let id = key(a);
        if !expected.iter().any(|e| key(e) == id) && !all_zero(a) {
            return Err(format!("unexpected row {id}"));
        }
    }
    Ok(())
}

fn all_zero(row: &Value) -> bool {
    let zero = |v: &Value| as_decimal(v).is_some_and(|d| d.is_zero());
    row.get("buckets")
        .and_then(Value::as_array)
        .is_none_or(|b| b.iter().all(zero))
        && row.get("unapplied").is_none_or(zero)
}

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Every key of `expected` must be in `actual` with an equal value; amounts compare as decimals.
pub fn compare(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                compare(ev, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: {} items, expected {}", a.len(), e.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ => {
            let equal = match (as_decimal(expected), as_decimal(actual)) {
                (Some(x), Some(y)) => x == y,
                _ => expected == actual,
            };
            if equal {
                Ok(())
            } else {
                Err(format!("{path}: {actual}, expected {expected}"))
            }
        }
    }
}

/// An aging report in the scenario's row shape.
pub fn aging_rows_json(report: &AgingReport) -> Vec<Value> {
    report
        .rows
        .iter()
        .map(|r| {
            json!({
                "customer_id": r.customer_id.as_str(),
                "currency": r.currency.as_str(),
                "buckets": r.amounts.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                "unapplied": r.unapplied.to_string(),
                "total": r.total.to_string(),
                "disputed": r.disputed.to_string(),
                "oldest_days_past_due": r.oldest_days_past_due,
            })
        })
        .collect()
}

/// An exposure in the scenario's shape.
pub fn exposure_json(e: &Exposure) -> Value {
    json!({
        "customer_id": e.customer_id.as_str(),
        "currency": e.currency.as_str(),
        "credit_limit": e.credit_limit.to_string(),
        "effective_limit": e.effective_limit.to_string(),
        "exposure": e.exposure.to_string(),
        "available": e.available.to_string(),
        "utilization": e.utilization.map(|u| u.to_string()),
        "status": e.status.as_str(),
        "open_promises": e.open_promises,
        "promises_kept": e.promises_kept,
        "promises_broken": e.promises_broken,
        "days_since_last_contact": e.days_since_last_contact,
    })
}

/// Turns a scenario command step into a domain command, or the error a user would get.
pub fn parse_command(step: &Map<String, Value>) -> Result<Command, DomainError> {
    serde_json::from_value::<Command>(Value::Object(step.clone()))
        .map_err(|e| DomainError::invalid("input", step_name(step), &e.to_string()))
}

fn step_name(step: &Map<String, Value>) -> String {
    step.get("command")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The in-memory target: commands through `domain::decide`, queries through the read model.
pub struct InMemory {
    pub ledger: Ledger,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    /// The last day the clock walked, per account (the service keeps it in the store's meta).
    pub clock: std::collections::HashMap<CustomerId, NaiveDate>,
}

impl InMemory {
    pub fn new(now: DateTime<Utc>) -> InMemory {
        InMemory {
            ledger: Ledger::new(),
            now,
            today: now.date_naive(),
            clock: std::collections::HashMap::new(),
        }
    }

    fn record(&mut self, stream: &str, events: Vec<Event>) {
        for event in events {
            let position = self.ledger.checkpoint + 1;
            let version = customer_version(&self.ledger, stream) + 1;
            let meta = EventMeta {
                position,
                stream: stream.to_owned(),
                version,
                occurred_at: self.now,
                recorded_at: self.now,
                actor: "scenario".to_owned(),
            };
            self.ledger.apply(&meta, &event);
        }
    }
}

fn customer_version(ledger: &Ledger, stream: &str) -> u64 {
    crate::ledger::customer_of_stream(stream)
        .and_then(|c| ledger.account(&c).map(|a| a.version))
        .unwrap_or(0)
}

impl Target for InMemory {
    fn today(&mut self, today: Option<NaiveDate>) {
        if let Some(today) = today {
            self.today = today;
        }
    }

    fn start(&mut self, policy_document: &str) -> Result<(), String> {
        self.ledger = Ledger::new();
        self.clock.clear();
        let adopted =
            domain::policy::decide_adopt(policy_document, 0).map_err(|e| e.to_string())?;
        self.record("policy", vec![Event::PolicyAdopted(adopted)]);
        Ok(())
    }

    fn command(&mut self, step: &Map<String, Value>) -> Result<CommandOutcome, String> {
        let refuse = |e: DomainError| Ok(Err((e.kind().code().to_owned(), e.to_string())));
        match step_name(step).as_str() {
            "tick" => {
                let date = step
                    .get("date")
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .unwrap_or(self.today);
                if let Err(e) = domain::reconcile::check_tick_date(date, self.today) {
                    return refuse(e);
                }
                let policy = self.ledger.policy();
                let accounts: Vec<_> = self.ledger.accounts.values().cloned().collect();
                for account in accounts {
                    let clock = self.clock.get(&account.customer_id).copied();
                    let events =
                        match domain::reconcile::tick(&account, &policy, clock, date, self.today) {
                            Ok(events) => events,
                            Err(e) => return refuse(e),
                        };
                    self.record(&account.customer_id.stream(), events);
                    if clock.is_none_or(|c| c < date) {
                        self.clock.insert(account.customer_id.clone(), date);
                    }
                }
                Ok(Ok(()))
            }
            "adopt_policy" => {
                let document = step
                    .get("document")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match domain::policy::decide_adopt(document, self.ledger.policy_version()) {
                    Ok(adopted) => {
                        self.record("policy", vec![Event::PolicyAdopted(adopted)]);
                        Ok(Ok(()))
                    }
                    Err(e) => refuse(e),
                }
            }
            _ => {
                let command = match parse_command(step) {
                    Ok(c) => c,
                    Err(e) => return refuse(e),
                };
                let policy: Policy = self.ledger.policy();
                let ctx = Context {
                    today: self.today,
                    now: self.now,
                    actor: "scenario",
                    policy: &policy,
                };
                let customer: &CustomerId = command.customer_id();
                let state = self.ledger.account(customer);
                let clock = self.clock.get(customer).copied();
                match domain::reconcile::execute(state, &command, &ctx, clock) {
                    Ok(events) => {
                        let stream = customer.stream();
                        self.record(&stream, events);
                        Ok(Ok(()))
                    }
                    Err(e) => refuse(e),
                }
            }
        }
    }

    fn aging(&mut self, as_of: NaiveDate) -> Result<Vec<Value>, String> {
        Ok(aging_rows_json(&self.ledger.aging(as_of, None)))
    }

    fn exposure(&mut self, customer_id: &str, as_of: NaiveDate) -> Result<Value, String> {
        let id = CustomerId::parse(customer_id).map_err(|e| e.to_string())?;
        self.ledger
            .exposure(&id, as_of)
            .map(|e| exposure_json(&e))
            .ok_or_else(|| format!("customer_id = {customer_id:?}: not found"))
    }
}
