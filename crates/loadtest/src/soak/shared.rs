//! What the soak's client tasks share: the server handle, the interval window and totals, and
//! one request sent again under the same body until it is answered.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::Rng;
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde_json::Value;

use super::*;
use crate::loopback::ServeChild;

/// What the clients of one interval did, taken and reset by the sampler.
#[derive(Default)]
pub(super) struct Window {
    pub(super) requests: u64,
    pub(super) latencies_ms: BTreeMap<&'static str, Vec<f64>>,
    pub(super) errors: BTreeMap<String, u64>,
}

/// What every client task shares.
pub(super) struct Shared {
    pub(super) server: ServeChild,
    pub(super) window: Mutex<Window>,
    pub(super) totals: Mutex<Totals>,
    /// Accounts in the ledger (seeded, or opened by writers so far), for readers to ask about.
    pub(super) accounts: Mutex<Vec<String>>,
    pub(super) events_acknowledged: AtomicU64,
    pub(super) stop: AtomicBool,
    pub(super) deadline: Instant,
    pub(super) today: NaiveDate,
    pub(super) think: Duration,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A client that panicked leaves counts that are still counts.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(super) fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    pub(super) fn fail(&self, what: String) {
        let mut t = lock(&self.totals);
        t.failures += 1;
        if t.failure_examples.len() < FAILURES_KEPT_MAX {
            t.failure_examples.push(what);
        }
    }

    pub(super) fn answered(&self, op: &'static str, write: bool, ms: f64, code: Option<&str>) {
        {
            let mut w = lock(&self.window);
            w.requests += 1;
            w.latencies_ms.entry(op).or_default().push(ms);
            if write {
                w.latencies_ms.entry(WRITES).or_default().push(ms);
            }
            if let Some(code) = code {
                *w.errors.entry(code.to_owned()).or_default() += 1;
            }
        }
        let mut t = lock(&self.totals);
        t.requests += 1;
        if let Some(code) = code {
            *t.errors_by_code.entry(code.to_owned()).or_default() += 1;
        }
    }
}

/// One event of an acknowledged command.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Ack {
    pub(super) position: u64,
    pub(super) kind: String,
    pub(super) payload: Value,
}

pub(super) enum Answer {
    Acked(Vec<Ack>),
    Rejected {
        code: String,
        message: String,
    },
    /// Counted as a failure already.
    Failed,
}

/// Sends one GraphQL request, again under the same body while no answer comes, and sorts the
/// answer. `INTERNAL`, unknown codes and unreadable answers are failures.
pub(super) async fn send(
    shared: &Shared,
    op: &'static str,
    write: bool,
    query: &str,
    vars: &Value,
) -> Answer {
    let mut attempts = 0;
    let answer = loop {
        let started = Instant::now();
        match shared.server.graphql(query, vars.clone()).await {
            Ok(answer) => break (answer, started.elapsed().as_secs_f64() * 1000.0),
            Err(e) => {
                attempts += 1;
                if attempts > TRANSPORT_RETRIES_MAX {
                    shared.fail(format!("{op}: no answer after {attempts} attempts: {e:#}"));
                    return Answer::Failed;
                }
                lock(&shared.totals).transport_retries += 1;
                tokio::time::sleep(TRANSPORT_RETRY_PAUSE).await;
            }
        }
    };
    let (answer, ms) = answer;
    if let Some(error) = answer["errors"].as_array().and_then(|e| e.first()) {
        let code = error["extensions"]["code"]
            .as_str()
            .unwrap_or("(no code)")
            .to_owned();
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        shared.answered(op, write, ms, Some(&code));
        if !BUSINESS_CODES.contains(&code.as_str()) {
            shared.fail(format!("{op}: {code}: {message}"));
            return Answer::Failed;
        }
        return Answer::Rejected { code, message };
    }
    shared.answered(op, write, ms, None);
    if !write {
        if answer["data"].is_object() {
            return Answer::Acked(Vec::new());
        }
        shared.fail(format!("{op}: an answer without data: {answer}"));
        return Answer::Failed;
    }
    match events_of(&answer) {
        Some(events) if !events.is_empty() => Answer::Acked(events),
        _ => {
            shared.fail(format!("{op}: acknowledged without events: {answer}"));
            Answer::Failed
        }
    }
}

pub(super) fn events_of(answer: &Value) -> Option<Vec<Ack>> {
    let (_, result) = answer["data"].as_object()?.iter().next()?;
    result["events"]
        .as_array()?
        .iter()
        .map(|e| {
            Some(Ack {
                position: e["position"].as_str()?.parse().ok()?,
                kind: e["type"].as_str()?.to_owned(),
                payload: e["payload"].clone(),
            })
        })
        .collect()
}

/// Cents of a decimal in a payload (a string, or a number).
pub(super) fn cents_of(v: &Value) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .ok()?
        .checked_mul(Decimal::ONE_HUNDRED)?
        .round()
        .to_i64()
}

pub(super) fn money(cents: i64) -> String {
    Decimal::new(cents, 2).to_string()
}

/// What a writer believes about one invoice of its account.
pub(super) struct Invoice {
    pub(super) id: String,
    pub(super) open_cents: i64,
    pub(super) disputed: bool,
    pub(super) delivered: bool,
}

/// The account a writer is working on.
pub(super) struct Account {
    pub(super) id: String,
    pub(super) day: NaiveDate,
    pub(super) invoices: Vec<Invoice>,
    pub(super) serial: u32,
    pub(super) commands: u32,
}

impl Account {
    pub(super) fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}", self.serial)
    }

    /// A random invoice of the account that `which` accepts.
    pub(super) fn pick(
        &mut self,
        rng: &mut StdRng,
        which: impl Fn(&Invoice) -> bool,
    ) -> Option<&mut Invoice> {
        let candidates: Vec<usize> = (0..self.invoices.len())
            .filter(|&i| self.invoices.get(i).is_some_and(&which))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = candidates[rng.gen_range(0..candidates.len())];
        self.invoices.get_mut(i)
    }

    pub(super) fn payable(i: &Invoice) -> bool {
        i.open_cents > 0 && !i.disputed
    }
}

/// An acknowledged command, remembered to be sent again.
pub(super) struct Sent {
    pub(super) key: String,
    pub(super) op: &'static str,
    pub(super) query: &'static str,
    pub(super) vars: Value,
    pub(super) events: Vec<Ack>,
}

/// `mutation($i: Input!) { field(input: $i) { events { … } } }` as a constant.
macro_rules! mutation {
    ($field:literal, $input:literal) => {
        concat!(
            "mutation($i: ",
            $input,
            "!) { ",
            $field,
            "(input: $i) { events { position type payload } } }"
        )
    };
}

/// The mutation a writer operation sends.
pub(super) fn mutation_query(op: &str) -> &'static str {
    match op {
        "openAccount" => mutation!("openAccount", "OpenAccountInput"),
        "issueInvoice" => mutation!("issueInvoice", "IssueInvoiceInput"),
        "recordPayment" => mutation!("recordPayment", "RecordPaymentInput"),
        "recordReminder" => mutation!("recordReminder", "RecordReminderInput"),
        "logCall" => mutation!("logCall", "LogCallInput"),
        "recordPromise" => mutation!("recordPromise", "RecordPromiseInput"),
        "raiseDispute" => mutation!("raiseDispute", "RaiseDisputeInput"),
        "resolveDispute" => mutation!("resolveDispute", "ResolveDisputeInput"),
        "issueCreditNote" => mutation!("issueCreditNote", "IssueCreditNoteInput"),
        "confirmDelivery" => mutation!("confirmDelivery", "ConfirmDeliveryInput"),
        _ => "",
    }
}
