//! `dunlog soak`: a sustained mixed read/write load on the real server over loopback for
//! minutes (issue #7). Writer clients send a realistic mix of mutations, each with an
//! idempotency key (invoices, payments with and without allocations, reminders, calls, promises,
//! disputes, credit notes, deliberate overpayments, resends of acknowledged commands and a reused
//! key on another command); reader clients ask for aging, exposure, worklist and timelines. Every
//! interval the server's resident memory, the requests done, the errors by code, p50/p99 latency
//! per operation and the log's head are sampled.
//!
//! Timing is reported, never judged. The exit status says only whether the ledger stayed
//! correct: no `INTERNAL` (or any unknown) error, no request left without an answer, every
//! resend answered with the same events, the log's head equal to its start plus every event the
//! writers were acknowledged, `verifyLog` and `dunlog verify` clean, and the server's aging equal
//! to the CLI's replay of the log (`dunlog aging`) after the server stopped.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use chrono::{Days, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use crate::loopback::{self, ServeChild};

/// How long the server may take to start (a demo-seeded ledger replays first).
const STARTUP_DEADLINE: Duration = Duration::from_secs(300);
/// How long the server may take to stop on SIGTERM (it saves a projection snapshot).
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(120);
/// Times a request that got no answer at all is sent again (under the same idempotency key).
const TRANSPORT_RETRIES_MAX: u32 = 5;
/// Pause before such a resend.
const TRANSPORT_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Commands a writer sends to one account before it opens the next.
const COMMANDS_PER_ACCOUNT_MAX: u32 = 60;
/// Acknowledged commands a writer remembers for resends.
const RESEND_MEMORY: usize = 64;
/// Failures kept word for word in the report (all are counted).
const FAILURES_KEPT_MAX: usize = 20;
/// Page size when reading the whole aging at the end.
const AGING_PAGE: usize = 500;
/// Business dates start this many days before today, so invoices age into every bucket.
const HISTORY_DAYS: u64 = 180;
/// Error codes that are business answers, not faults (SPEC §4).
const BUSINESS_CODES: [&str; 4] = ["VALIDATION", "NOT_FOUND", "CONFLICT", "INVALID_STATE"];
/// The latency group every writer operation also counts in.
const WRITES: &str = "(all writes)";

/// What `dunlog soak` was asked to do.
pub struct SoakOptions {
    pub duration: Duration,
    pub writers: usize,
    pub readers: usize,
    pub interval: Duration,
    /// Customers `dunlog demo` generates before the load starts (0: start from an empty log).
    pub demo_customers: usize,
    pub seed: u64,
    /// Pause of each client between requests (0: as fast as the server answers).
    pub think: Duration,
    /// Print each interval to stderr as it ends.
    pub progress: bool,
}

/// Latency of one kind of operation in one interval.
#[derive(Debug, Serialize)]
pub struct OpFigures {
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One sampling interval.
#[derive(Debug, Serialize)]
pub struct Interval {
    /// Seconds since the load started, at the end of the interval.
    pub end_s: f64,
    pub seconds: f64,
    pub rss_mib: f64,
    /// CPU the server used per request answered in the interval, ms: unlike latency, it does
    /// not grow when other processes crowd the CPUs.
    pub server_cpu_ms_per_request: f64,
    /// The machine's 1-minute load average at the end of the interval.
    pub load_1m: f64,
    /// The log's durable head at the end of the interval.
    pub events: u64,
    /// Events appended but not yet applied to the read model at the end of the interval.
    pub projection_lag: u64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub events_per_s: f64,
    pub errors: BTreeMap<String, u64>,
    pub ops: BTreeMap<String, OpFigures>,
}

/// A correctness check and what was found.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Counts over the whole run.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub mutations_acknowledged: u64,
    pub events_acknowledged: u64,
    /// Acknowledged commands sent again under their key and answered with the same events.
    pub resends_same_answer: u64,
    /// A used key sent with another command and refused with `CONFLICT`.
    pub key_reuse_refused: u64,
    /// Requests sent again because no answer came.
    pub transport_retries: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    /// Business rejections, by `operation CODE`; deliberate ones (overpayments, reused keys)
    /// are here too.
    pub rejections: BTreeMap<String, u64>,
    /// Business rejections of commands the writers' model of the accounts thought valid.
    pub rejections_unplanned: u64,
    /// Faults: `INTERNAL` or unknown codes, no answer after retries, a resend answered
    /// differently. Any one fails the run.
    pub failures: u64,
    pub failure_examples: Vec<String>,
    pub accounts_opened: u64,
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub seconds: f64,
    pub writers: usize,
    pub readers: usize,
    pub interval_s: f64,
    pub events_at_start: u64,
    pub events_at_end: u64,
    pub intervals: Vec<Interval>,
    pub totals: Totals,
    pub checks: Vec<Check>,
}

impl SoakReport {
    /// True when every correctness check passed (timing never enters into it).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// What the clients of one interval did, taken and reset by the sampler.
#[derive(Default)]
struct Window {
    requests: u64,
    latencies_ms: BTreeMap<&'static str, Vec<f64>>,
    errors: BTreeMap<String, u64>,
}

/// What every client task shares.
struct Shared {
    server: ServeChild,
    window: Mutex<Window>,
    totals: Mutex<Totals>,
    /// Accounts in the ledger (seeded, or opened by writers so far), for readers to ask about.
    accounts: Mutex<Vec<String>>,
    events_acknowledged: AtomicU64,
    stop: AtomicBool,
    deadline: Instant,
    today: NaiveDate,
    think: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A client that panicked leaves counts that are still counts.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    fn fail(&self, what: String) {
        let mut t = lock(&self.totals);
        t.failures += 1;
        if t.failure_examples.len() < FAILURES_KEPT_MAX {
            t.failure_examples.push(what);
        }
    }

    fn answered(&self, op: &'static str, write: bool, ms: f64, code: Option<&str>) {
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
struct Ack {
    position: u64,
    kind: String,
    payload: Value,
}

enum Answer {
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
async fn send(shared: &Shared, op: &'static str, write: bool, query: &str, vars: &Value) -> Answer {
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

fn events_of(answer: &Value) -> Option<Vec<Ack>> {
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
fn cents_of(v: &Value) -> Option<i64> {
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

fn money(cents: i64) -> String {
    Decimal::new(cents, 2).to_string()
}

/// What a writer believes about one invoice of its account.
struct Invoice {
    id: String,
    open_cents: i64,
    disputed: bool,
    delivered: bool,
}

/// The account a writer is working on.
struct Account {
    id: String,
    day: NaiveDate,
    invoices: Vec<Invoice>,
    serial: u32,
    commands: u32,
}

impl Account {
    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}", self.serial)
    }

    /// A random invoice of the account that `which` accepts.
    fn pick(&mut self, rng: &mut StdRng, which: impl Fn(&Invoice) -> bool) -> Option<&mut Invoice> {
        let candidates: Vec<usize> = (0..self.invoices.len())
            .filter(|&i| self.invoices.get(i).is_some_and(&which))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = candidates[rng.gen_range(0..candidates.len())];
        self.invoices.get_mut(i)
    }

    fn payable(i: &Invoice) -> bool {
        i.open_cents > 0 && !i.disputed
    }
}

/// An acknowledged command, remembered to be sent again.
struct Sent {
    key: String,
    op: &'static str,
    query: &'static str,
    vars: Value,
    events: Vec<Ack>,
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
fn mutation_query(op: &str) -> &'static str {
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

/// What a writer expects of a command it sends.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Valid as far as the writer's model of the account knows.
    Valid,
    /// Built to be refused with this code (an overpayment).
    Refused(&'static str),
}

/// What a writer does next; each kind has a weight out of the sum of those possible.
#[derive(Clone, Copy)]
enum Step {
    Issue,
    PayAllocated,
    PayOldestFirst,
    Overpay,
    Remind,
    Call,
    Promise,
    Dispute,
    Resolve,
    CreditNote,
    Deliver,
    Resend,
    ReuseKey,
}

const STEPS: [(Step, u32); 13] = [
    (Step::Issue, 28),
    (Step::PayAllocated, 14),
    (Step::PayOldestFirst, 8),
    (Step::Overpay, 2),
    (Step::Remind, 10),
    (Step::Call, 8),
    (Step::Promise, 6),
    (Step::Dispute, 3),
    (Step::Resolve, 3),
    (Step::CreditNote, 3),
    (Step::Deliver, 4),
    (Step::Resend, 5),
    (Step::ReuseKey, 1),
];

struct Writer {
    id: usize,
    shared: Arc<Shared>,
    rng: StdRng,
    account: Option<Account>,
    accounts_opened: u32,
    keys: u64,
    sent: VecDeque<Sent>,
}

impl Writer {
    async fn run(mut self) {
        while self.shared.running() {
            self.step().await;
            if !self.shared.think.is_zero() {
                tokio::time::sleep(self.shared.think).await;
            }
        }
    }

    fn next_key(&mut self) -> String {
        self.keys += 1;
        format!("soak-w{}-{}", self.id, self.keys)
    }

    async fn step(&mut self) {
        let today = self.shared.today;
        let worn = self
            .account
            .as_ref()
            .is_none_or(|a| a.commands >= COMMANDS_PER_ACCOUNT_MAX || a.day >= today);
        if worn {
            self.open_account().await;
            return;
        }
        let Some(mut account) = self.account.take() else {
            return;
        };
        account.commands += 1;
        // About three days a command: an account's commands spread over the whole history, so
        // its invoices age into every bucket.
        account.day = (account.day + Days::new(self.rng.gen_range(0..=6))).min(today);
        self.command(&mut account).await;
        self.account = Some(account);
    }

    async fn open_account(&mut self) {
        self.accounts_opened += 1;
        let id = format!("W{}-C{}", self.id, self.accounts_opened);
        let opened_on = self.shared.today - Days::new(HISTORY_DAYS);
        let input = json!({"customerId": id, "name": format!("Soak customer {id}"),
            "currency": "EUR", "creditLimit": "10000000.00", "terms": {"netDays": 30},
            "openedOn": opened_on.to_string(), "salesRep": "rep-soak",
            "contacts": {"emails": [format!("ap@{}.example", id.to_lowercase())]}});
        if self
            .submit("openAccount", input, Plan::Valid)
            .await
            .is_some()
        {
            lock(&self.shared.accounts).push(id.clone());
            lock(&self.shared.totals).accounts_opened += 1;
            self.account = Some(Account {
                id,
                day: opened_on,
                invoices: Vec::new(),
                serial: 0,
                commands: 0,
            });
        }
    }

    /// Sends a mutation under a new key; returns its events when acknowledged.
    async fn submit(&mut self, op: &'static str, mut input: Value, plan: Plan) -> Option<Vec<Ack>> {
        let key = self.next_key();
        input["idempotencyKey"] = json!(key);
        let query = mutation_query(op);
        let vars = json!({ "i": input });
        match send(&self.shared, op, true, query, &vars).await {
            Answer::Acked(events) => {
                if let Plan::Refused(code) = plan {
                    self.shared.fail(format!(
                        "{op}: built to be refused with {code}, acknowledged instead: {vars}"
                    ));
                }
                let n = events.len() as u64;
                self.shared
                    .events_acknowledged
                    .fetch_add(n, Ordering::Relaxed);
                {
                    let mut t = lock(&self.shared.totals);
                    t.mutations_acknowledged += 1;
                    t.events_acknowledged += n;
                }
                if self.sent.len() >= RESEND_MEMORY {
                    self.sent.pop_front();
                }
                self.sent.push_back(Sent {
                    key,
                    op,
                    query,
                    vars,
                    events: events.clone(),
                });
                Some(events)
            }
            Answer::Rejected { code, message } => {
                let mut t = lock(&self.shared.totals);
                *t.rejections.entry(format!("{op} {code}")).or_default() += 1;
                let planned = matches!(plan, Plan::Refused(c) if c == code);
                if !planned {
                    t.rejections_unplanned += 1;
                    if t.failure_examples.len() < FAILURES_KEPT_MAX {
                        t.failure_examples
                            .push(format!("(not a failure) {op}: {code}: {message}"));
                    }
                }
                None
            }
            Answer::Failed => None,
        }
    }

    fn choose(&mut self, account: &Account) -> Step {
        let payable = account.invoices.iter().any(Account::payable);
        let open = account.invoices.iter().any(|i| i.open_cents > 0);
        let disputed = account.invoices.iter().any(|i| i.disputed);
        let undelivered = account.invoices.iter().any(|i| !i.delivered);
        let possible: Vec<(Step, u32)> = STEPS
            .iter()
            .copied()
            .filter(|(step, _)| match step {
                Step::Issue => true,
                Step::PayAllocated
                | Step::Overpay
                | Step::Promise
                | Step::Dispute
                | Step::CreditNote => payable,
                Step::PayOldestFirst | Step::Remind | Step::Call => open,
                Step::Deliver => undelivered,
                Step::Resolve => disputed,
                Step::Resend | Step::ReuseKey => !self.sent.is_empty(),
            })
            .collect();
        let total: u32 = possible.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total.max(1));
        for (step, weight) in possible {
            if roll < weight {
                return step;
            }
            roll -= weight;
        }
        Step::Issue
    }

    async fn command(&mut self, a: &mut Account) {
        let day = a.day.to_string();
        let at = format!("{day}T09:30:00Z");
        let customer = a.id.clone();
        match self.choose(a) {
            Step::Issue => {
                let id = a.next_id("I");
                let cents = self.rng.gen_range(5_000..=500_000);
                let input = json!({"customerId": customer, "invoiceId": id,
                    "amount": money(cents), "issuedOn": day,
                    "reference": format!("PO-{}", self.rng.gen_range(1000..9999))});
                if self
                    .submit("issueInvoice", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    a.invoices.push(Invoice {
                        id,
                        open_cents: cents,
                        disputed: false,
                        delivered: false,
                    });
                }
            }
            Step::PayAllocated => {
                let payment = a.next_id("P");
                let full = self.rng.gen_bool(0.5);
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, Account::payable) else {
                    return;
                };
                let cents = if full {
                    inv.open_cents
                } else {
                    rng.gen_range(1..=inv.open_cents)
                };
                let input = json!({"customerId": customer, "paymentId": payment,
                    "amount": money(cents), "receivedOn": day, "method": "transfer",
                    "allocations": [{"invoiceId": inv.id, "amount": money(cents)}]});
                let invoice_id = inv.id.clone();
                if self
                    .submit("recordPayment", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == invoice_id) {
                        inv.open_cents -= cents;
                    }
                }
            }
            Step::PayOldestFirst => {
                let payment = a.next_id("P");
                let open: i64 = a.invoices.iter().map(|i| i.open_cents).sum();
                // Now and then more than is open: the rest stays as unapplied cash.
                let cents = self.rng.gen_range(1..=open.max(1)) + self.rng.gen_range(0..=2_000);
                let input = json!({"customerId": customer, "paymentId": payment,
                    "amount": money(cents), "receivedOn": day, "method": "card"});
                if let Some(events) = self.submit("recordPayment", input, Plan::Valid).await {
                    apply_allocations(a, &events);
                }
            }
            Step::Overpay => {
                let payment = a.next_id("P");
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, Account::payable) else {
                    return;
                };
                let cents = inv.open_cents + 100;
                let input = json!({"customerId": customer, "paymentId": payment,
                    "amount": money(cents), "receivedOn": day, "method": "transfer",
                    "allocations": [{"invoiceId": inv.id, "amount": money(cents)}]});
                self.submit("recordPayment", input, Plan::Refused("VALIDATION"))
                    .await;
            }
            Step::Remind => {
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, |i| i.open_cents > 0) else {
                    return;
                };
                let channel = ["email", "letter", "sms"][rng.gen_range(0..3)];
                let input = json!({"customerId": customer, "invoiceIds": [inv.id],
                    "channel": channel, "sentAt": at});
                self.submit("recordReminder", input, Plan::Valid).await;
            }
            Step::Call => {
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, |i| i.open_cents > 0) else {
                    return;
                };
                let outcome =
                    ["reached", "no_answer", "voicemail", "wrong_number"][rng.gen_range(0..4)];
                let input = json!({"customerId": customer, "invoiceIds": [inv.id],
                    "outcome": outcome, "calledAt": at, "notes": "soak"});
                self.submit("logCall", input, Plan::Valid).await;
            }
            Step::Promise => {
                let promise = a.next_id("PR");
                let promised_on = a.day + Days::new(self.rng.gen_range(1..=21));
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, Account::payable) else {
                    return;
                };
                let cents = rng.gen_range(1..=inv.open_cents);
                let input = json!({"customerId": customer, "promiseId": promise,
                    "amount": money(cents), "promisedOn": promised_on.to_string(),
                    "invoiceIds": [inv.id], "madeOn": day, "via": "phone"});
                self.submit("recordPromise", input, Plan::Valid).await;
            }
            Step::Dispute => {
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, Account::payable) else {
                    return;
                };
                let input = json!({"customerId": customer, "invoiceId": inv.id,
                    "reason": "goods damaged", "disputedOn": day});
                let invoice_id = inv.id.clone();
                if self
                    .submit("raiseDispute", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == invoice_id) {
                        inv.disputed = true;
                    }
                }
            }
            Step::Resolve => {
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, |i| i.disputed) else {
                    return;
                };
                let input = json!({"customerId": customer, "invoiceId": inv.id,
                    "outcome": "customer accepted", "resolvedOn": day});
                let invoice_id = inv.id.clone();
                if self
                    .submit("resolveDispute", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == invoice_id) {
                        inv.disputed = false;
                    }
                }
            }
            Step::CreditNote => {
                let note = a.next_id("CN");
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, Account::payable) else {
                    return;
                };
                let cents = rng.gen_range(1..=inv.open_cents.min(10_000));
                let input = json!({"customerId": customer, "creditNoteId": note,
                    "invoiceId": inv.id, "amount": money(cents), "reason": "price adjustment",
                    "issuedOn": day});
                let invoice_id = inv.id.clone();
                if self
                    .submit("issueCreditNote", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == invoice_id) {
                        inv.open_cents -= cents;
                    }
                }
            }
            Step::Deliver => {
                let rng = &mut self.rng;
                let Some(inv) = a.pick(rng, |i| !i.delivered) else {
                    return;
                };
                let input = json!({"customerId": customer, "invoiceId": inv.id,
                    "channel": "email", "confirmedOn": day});
                let invoice_id = inv.id.clone();
                if self
                    .submit("confirmDelivery", input, Plan::Valid)
                    .await
                    .is_some()
                {
                    if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == invoice_id) {
                        inv.delivered = true;
                    }
                }
            }
            Step::Resend => self.resend().await,
            Step::ReuseKey => self.reuse_key(&customer, &at).await,
        }
    }

    /// Sends an acknowledged command again under its key: the same events must come back and
    /// nothing is appended.
    async fn resend(&mut self) {
        let i = self.rng.gen_range(0..self.sent.len().max(1));
        let Some(sent) = self.sent.get(i) else {
            return;
        };
        match send(&self.shared, "(resend)", true, sent.query, &sent.vars).await {
            Answer::Acked(events) if events == sent.events => {
                lock(&self.shared.totals).resends_same_answer += 1;
            }
            Answer::Acked(events) => self.shared.fail(format!(
                "{} resent under {}: other events came back ({:?} first, now {:?})",
                sent.op,
                sent.key,
                positions(&sent.events),
                positions(&events)
            )),
            Answer::Rejected { code, message } => self.shared.fail(format!(
                "{} resent under {}: refused with {code}: {message}",
                sent.op, sent.key
            )),
            Answer::Failed => {}
        }
    }

    /// Sends another command under a key already used: `CONFLICT`, and nothing appended.
    async fn reuse_key(&mut self, customer: &str, at: &str) {
        let i = self.rng.gen_range(0..self.sent.len().max(1));
        let Some(key) = self.sent.get(i).map(|s| s.key.clone()) else {
            return;
        };
        let vars = json!({"i": {"customerId": customer, "outcome": "reached", "calledAt": at,
            "notes": format!("reusing {key}"), "idempotencyKey": key}});
        let query = mutation_query("logCall");
        match send(&self.shared, "(reused key)", true, query, &vars).await {
            Answer::Rejected { code, .. } if code == "CONFLICT" => {
                lock(&self.shared.totals).key_reuse_refused += 1;
            }
            Answer::Rejected { code, message } => self.shared.fail(format!(
                "a reused key {key} on another command: {code} instead of CONFLICT: {message}"
            )),
            Answer::Acked(events) => self.shared.fail(format!(
                "a reused key {key} on another command was acknowledged: {:?}",
                positions(&events)
            )),
            Answer::Failed => {}
        }
    }
}

fn positions(events: &[Ack]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

/// Takes the allocations the server chose (oldest first) off the model's invoices.
fn apply_allocations(a: &mut Account, events: &[Ack]) {
    for e in events.iter().filter(|e| e.kind == "PaymentReceived") {
        let Some(allocations) = e.payload["allocations"].as_array() else {
            continue;
        };
        for alloc in allocations {
            let (Some(id), Some(cents)) =
                (alloc["invoice_id"].as_str(), cents_of(&alloc["amount"]))
            else {
                continue;
            };
            let discount = cents_of(&alloc["discount"]).unwrap_or(0);
            if let Some(inv) = a.invoices.iter_mut().find(|i| i.id == id) {
                inv.open_cents -= cents + discount;
            }
        }
    }
}

const AGING_QUERY: &str = "query($d: Date) { aging(asOf: $d, first: 50) { totals { currency total } rows { nodes { customerId total } } } }";
const EXPOSURE_QUERY: &str = "query($c: ID!, $d: Date) { exposure(customerId: $c, asOf: $d) { exposure available status openPromises } }";
const WORKLIST_QUERY: &str = "query($d: Date) { worklist(date: $d, first: 50) { nodes { customerId invoiceId step openAmount daysPastDue } } }";
const TIMELINE_QUERY: &str =
    "query($c: ID!) { timeline(customerId: $c) { type position occurredAt summary } }";

async fn read_loop(shared: Arc<Shared>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let today = shared.today.to_string();
    while shared.running() {
        let customer = {
            let accounts = lock(&shared.accounts);
            if accounts.is_empty() {
                None
            } else {
                accounts.get(rng.gen_range(0..accounts.len())).cloned()
            }
        };
        let (op, query, vars) = match (rng.gen_range(0..4), customer) {
            (1, Some(c)) => ("exposure", EXPOSURE_QUERY, json!({"c": c, "d": today})),
            (2, _) => ("worklist", WORKLIST_QUERY, json!({"d": today})),
            (3, Some(c)) => ("timeline", TIMELINE_QUERY, json!({"c": c})),
            _ => ("aging", AGING_QUERY, json!({"d": today})),
        };
        if let Answer::Rejected { code, message } = send(&shared, op, false, query, &vars).await {
            shared.fail(format!("{op} refused: {code}: {message}"));
        }
        if !shared.think.is_zero() {
            tokio::time::sleep(shared.think).await;
        }
    }
}

/// Ends one interval: takes the window and samples the server.
/// Where the previous interval ended.
struct Mark {
    at: Instant,
    events: u64,
    server_cpu_s: f64,
}

async fn sample(shared: &Shared, started: Instant, last: &mut Mark) -> Interval {
    let window = std::mem::take(&mut *lock(&shared.window));
    let now = Instant::now();
    let seconds = now.duration_since(last.at).as_secs_f64().max(1e-9);
    let server_cpu_s = loopback::cpu_s(shared.server.pid()).unwrap_or(last.server_cpu_s);
    let rss_mib = shared.server.rss_mib().unwrap_or(0.0);
    let (events, applied) = match shared.server.health().await {
        Ok(h) => h,
        Err(e) => {
            shared.fail(format!("/health did not answer: {e:#}"));
            (last.events, last.events)
        }
    };
    let ops = window
        .latencies_ms
        .into_iter()
        .map(|(op, mut samples)| {
            samples.sort_by(f64::total_cmp);
            (
                op.to_owned(),
                OpFigures {
                    requests: samples.len() as u64,
                    p50_ms: loopback::quantile(&samples, 0.50),
                    p99_ms: loopback::quantile(&samples, 0.99),
                },
            )
        })
        .collect();
    let interval = Interval {
        end_s: now.duration_since(started).as_secs_f64(),
        seconds,
        rss_mib,
        events,
        projection_lag: events.saturating_sub(applied),
        requests: window.requests,
        requests_per_s: window.requests as f64 / seconds,
        events_per_s: events.saturating_sub(last.events) as f64 / seconds,
        server_cpu_ms_per_request: (server_cpu_s - last.server_cpu_s) * 1000.0
            / window.requests.max(1) as f64,
        load_1m: loopback::load_average_1m().unwrap_or(0.0),
        errors: window.errors,
        ops,
    };
    *last = Mark {
        at: now,
        events,
        server_cpu_s,
    };
    interval
}

/// The customer ids already in the ledger (a demo seed), for readers to ask about.
async fn existing_accounts(server: &ServeChild) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let answer = server
            .graphql(
                "query($a: String, $n: Int) { accounts(first: $n, after: $a) {
                    nodes { customerId } pageInfo { hasNextPage endCursor } } }",
                json!({"a": after, "n": AGING_PAGE}),
            )
            .await?;
        let accounts = &answer["data"]["accounts"];
        let nodes = accounts["nodes"]
            .as_array()
            .ok_or_else(|| anyhow!("accounts: {answer}"))?;
        ids.extend(
            nodes
                .iter()
                .filter_map(|n| n["customerId"].as_str().map(str::to_owned)),
        );
        if accounts["pageInfo"]["hasNextPage"] != true {
            return Ok(ids);
        }
        after = accounts["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
}

/// Every row of the server's aging as of `as_of`, in the CLI's JSON shape.
async fn server_aging(server: &ServeChild, as_of: NaiveDate) -> anyhow::Result<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    let totals = loop {
        let answer = server
            .graphql(
                "query($d: Date, $a: String, $n: Int) { aging(asOf: $d, first: $n, after: $a) {
                    totals { currency amounts unapplied total }
                    rows { nodes { customerId currency amounts unapplied total disputed }
                           pageInfo { hasNextPage endCursor } } } }",
                json!({"d": as_of.to_string(), "a": after, "n": AGING_PAGE}),
            )
            .await?;
        let aging = &answer["data"]["aging"];
        let nodes = aging["rows"]["nodes"]
            .as_array()
            .ok_or_else(|| anyhow!("aging: {answer}"))?;
        for r in nodes {
            rows.push(
                json!({"customer_id": r["customerId"], "currency": r["currency"],
                "buckets": r["amounts"], "unapplied": r["unapplied"], "total": r["total"],
                "disputed": r["disputed"]}),
            );
        }
        if aging["rows"]["pageInfo"]["hasNextPage"] != true {
            break aging["totals"].clone();
        }
        after = aging["rows"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    };
    Ok(json!({"rows": rows, "totals": totals}))
}

/// The aging as of `as_of` replayed from the log by `dunlog aging` (server stopped), in the
/// same shape.
fn cli_aging(data: &Path, as_of: NaiveDate) -> anyhow::Result<Value> {
    let out = loopback::run_cli(
        data,
        &["aging", "--as-of", &as_of.to_string(), "--format", "json"],
    )?;
    let report: Value = serde_json::from_str(&out)?;
    let rows: Vec<Value> = report["rows"]
        .as_array()
        .ok_or_else(|| anyhow!("dunlog aging printed no rows"))?
        .iter()
        .map(|r| {
            json!({"customer_id": r["customer_id"], "currency": r["currency"],
                "buckets": r["buckets"], "unapplied": r["unapplied"], "total": r["total"],
                "disputed": r["disputed"]})
        })
        .collect();
    Ok(json!({"rows": rows, "totals": report["totals"]}))
}

fn check(checks: &mut Vec<Check>, name: &str, ok: bool, detail: String) {
    checks.push(Check {
        name: name.to_owned(),
        ok,
        detail,
    });
}

/// Runs the soak in `data` (empty or absent) and returns the figures and the checks.
pub async fn run(data: &Path, options: SoakOptions) -> anyhow::Result<SoakReport> {
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "--data {} must be empty: soak writes a fresh ledger",
            data.display()
        );
    }
    if options.writers == 0 && options.readers == 0 {
        bail!("--writers and --readers are both 0: nothing to do");
    }
    std::fs::create_dir_all(data)?;
    let say = |what: &str| {
        if options.progress {
            eprintln!("soak: {what}");
        }
    };
    if options.demo_customers > 0 {
        say(&format!(
            "seeding {} demo customers",
            options.demo_customers
        ));
        loopback::run_cli(
            data,
            &["demo", "--customers", &options.demo_customers.to_string()],
        )?;
    }
    let token = loopback::create_token(data, "soak", "admin")?;
    let log = loopback::log_path_beside(data);
    // No automatic clock: every event in the log then comes from an acknowledged command.
    let server = ServeChild::start(
        data,
        &token,
        &["--no-auto-tick"],
        Some(&log),
        STARTUP_DEADLINE,
    )
    .await?;
    let (events_at_start, _) = server.health().await?;
    let seeded = existing_accounts(&server).await?;
    let today = Utc::now().date_naive();
    say(&format!(
        "server pid {} on {} (stderr in {}), {} events at start; {} writers, {} readers for {} s",
        server.pid(),
        server.base,
        log.display(),
        events_at_start,
        options.writers,
        options.readers,
        options.duration.as_secs()
    ));
    let started = Instant::now();
    let shared = Arc::new(Shared {
        server,
        window: Mutex::default(),
        totals: Mutex::default(),
        accounts: Mutex::new(seeded),
        events_acknowledged: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        deadline: started + options.duration,
        today,
        think: options.think,
    });
    let mut clients = Vec::new();
    for w in 0..options.writers {
        let writer = Writer {
            id: w,
            shared: shared.clone(),
            rng: StdRng::seed_from_u64(options.seed ^ (w as u64 + 1).wrapping_mul(0x9E37_79B9)),
            account: None,
            accounts_opened: 0,
            keys: 0,
            sent: VecDeque::new(),
        };
        clients.push(tokio::spawn(writer.run()));
    }
    for r in 0..options.readers {
        let seed = options.seed ^ (r as u64 + 1).wrapping_mul(0x85EB_CA6B) ^ 0xFFFF;
        clients.push(tokio::spawn(read_loop(shared.clone(), seed)));
    }

    let mut intervals = Vec::new();
    let mut last = Mark {
        at: started,
        events: events_at_start,
        server_cpu_s: loopback::cpu_s(shared.server.pid()).unwrap_or(0.0),
    };
    if options.progress {
        eprintln!("{}", interval_header());
    }
    let mut k = 1u32;
    while shared.running() {
        let next = started + options.interval * k;
        k += 1;
        let end = next.min(shared.deadline);
        tokio::time::sleep_until(end.into()).await;
        let sampled = Instant::now();
        if clients.iter().all(|c| c.is_finished()) && sampled < shared.deadline {
            shared.fail("every client stopped before the end".to_owned());
            shared.stop.store(true, Ordering::Relaxed);
        }
        // The last interval closes once the clients have finished their last requests.
        if sampled >= shared.deadline {
            break;
        }
        let row = sample(&shared, started, &mut last).await;
        if options.progress {
            eprintln!("{}", interval_line(&row));
        }
        intervals.push(row);
        // A server that died is not coming back: stop early and report it.
        if shared.server.rss_mib().is_none() {
            shared.fail("the server process is gone".to_owned());
            shared.stop.store(true, Ordering::Relaxed);
        }
    }
    for c in clients {
        if let Err(e) = c.await {
            shared.fail(format!("a client task failed: {e}"));
        }
    }
    let row = sample(&shared, started, &mut last).await;
    if row.requests > 0 {
        if options.progress {
            eprintln!("{}", interval_line(&row));
        }
        intervals.push(row);
    }
    let seconds = started.elapsed().as_secs_f64();

    say("checking the ledger");
    let mut checks = Vec::new();
    let acknowledged = shared.events_acknowledged.load(Ordering::Relaxed);
    let (head, applied) = shared.server.health().await?;
    check(
        &mut checks,
        "events in the log = events at start + events acknowledged",
        head == events_at_start + acknowledged,
        format!("{head} = {events_at_start} + {acknowledged} (read model applied {applied})"),
    );
    let verified = shared
        .server
        .graphql(
            "{ verifyLog { ok checked firstBadPosition message } }",
            Value::Null,
        )
        .await?;
    let v = &verified["data"]["verifyLog"];
    check(
        &mut checks,
        "verifyLog",
        v["ok"] == true && v["checked"].as_str() == Some(head.to_string().as_str()),
        format!(
            "ok {}, {} events checked, first bad position {}, {}",
            v["ok"], v["checked"], v["firstBadPosition"], v["message"]
        ),
    );
    let served_aging = server_aging(&shared.server, today).await?;
    let mut totals = std::mem::take(&mut *lock(&shared.totals));
    check(
        &mut checks,
        "no INTERNAL or unknown error, every request answered, every resend the same",
        totals.failures == 0,
        format!(
            "{} faults; {} requests, {} business rejections ({} not planned by the writers' \
             model), {} resends answered the same, {} reused keys refused",
            totals.failures,
            totals.requests,
            totals.rejections.values().sum::<u64>(),
            totals.rejections_unplanned,
            totals.resends_same_answer,
            totals.key_reuse_refused
        ),
    );
    let Ok(shared) = Arc::try_unwrap(shared) else {
        bail!("a client still holds the server");
    };
    let status = shared.server.terminate(SHUTDOWN_DEADLINE).await?;
    check(
        &mut checks,
        "the server stops cleanly on SIGTERM",
        status.success(),
        status.to_string(),
    );
    // Faults found after the clients stopped (the last /health) belong in the totals too.
    totals.failures += std::mem::take(&mut *lock(&shared.totals)).failures;

    say("replaying the log with the CLI");
    match loopback::run_cli(data, &["verify"]) {
        Ok(out) => check(
            &mut checks,
            "dunlog verify (server stopped)",
            out.trim() == format!("ok: {head} events verified"),
            out.trim().to_owned(),
        ),
        Err(e) => check(
            &mut checks,
            "dunlog verify (server stopped)",
            false,
            format!("{e:#}"),
        ),
    }
    match cli_aging(data, today) {
        Ok(replayed) => {
            let rows = replayed["rows"].as_array().map_or(0, Vec::len);
            check(
                &mut checks,
                "the server's aging = dunlog aging replayed from the log",
                replayed == served_aging,
                format!(
                    "as of {today}: {rows} rows; totals served {} replayed {}",
                    served_aging["totals"], replayed["totals"]
                ),
            );
        }
        Err(e) => check(
            &mut checks,
            "the server's aging = dunlog aging replayed from the log",
            false,
            format!("{e:#}"),
        ),
    }
    Ok(SoakReport {
        seconds,
        writers: options.writers,
        readers: options.readers,
        interval_s: options.interval.as_secs_f64(),
        events_at_start,
        events_at_end: head,
        intervals,
        totals,
        checks,
    })
}

fn interval_header() -> String {
    format!(
        "{:>5} {:>7} {:>8} {:>5} {:>6} {:>4} {:>6} {:>5}  {:>15} {:>15} {:>15} {:>15} {:>15}  errors",
        "t s",
        "RSS MiB",
        "events",
        "ev/s",
        "req/s",
        "lag",
        "cpu ms",
        "load",
        "writes p50/p99",
        "aging",
        "exposure",
        "worklist",
        "timeline"
    )
}

fn interval_line(r: &Interval) -> String {
    let op = |name: &str| {
        r.ops.get(name).map_or_else(
            || "-".to_owned(),
            |o| format!("{:.1}/{:.1}", o.p50_ms, o.p99_ms),
        )
    };
    let errors = r
        .errors
        .iter()
        .map(|(c, n)| format!("{c}:{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{:>5.0} {:>7.1} {:>8} {:>5.0} {:>6.0} {:>4} {:>6.2} {:>5.1}  {:>15} {:>15} {:>15} {:>15} {:>15}  {}",
        r.end_s,
        r.rss_mib,
        r.events,
        r.events_per_s,
        r.requests_per_s,
        r.projection_lag,
        r.server_cpu_ms_per_request,
        r.load_1m,
        op(WRITES),
        op("aging"),
        op("exposure"),
        op("worklist"),
        op("timeline"),
        errors
    )
}

/// Prints the intervals, the latency of every operation in the first and last interval, the
/// counts and the checks.
pub fn print_report(r: &SoakReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "soak: {:.0} s, {} writers, {} readers, a row every {:.0} s (latency in ms, p50/p99; \
         lag: events not yet in the read model; cpu ms: server CPU per request; load: the \
         machine's 1-minute load average)",
        r.seconds, r.writers, r.readers, r.interval_s
    );
    let _ = writeln!(out, "{}", interval_header());
    for row in &r.intervals {
        let _ = writeln!(out, "{}", interval_line(row));
    }
    // The first interval includes warm-up; flatness is judged on the second against the last.
    let (first, steady, last) = (
        r.intervals.first(),
        r.intervals.get(1).or(r.intervals.first()),
        r.intervals.last(),
    );
    if let (Some(first), Some(steady), Some(last)) = (first, steady, last) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>18} {:>18} {:>18}",
            "operation", "requests", "first p50/p99", "second p50/p99", "last p50/p99"
        );
        let mut names: Vec<&String> = last.ops.keys().collect();
        for name in first.ops.keys().chain(steady.ops.keys()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.sort();
        let fig = |i: &Interval, name: &str| {
            i.ops.get(name).map_or_else(
                || "-".to_owned(),
                |o| format!("{:.1}/{:.1}", o.p50_ms, o.p99_ms),
            )
        };
        for name in names {
            let requests: u64 = r
                .intervals
                .iter()
                .filter_map(|i| i.ops.get(name.as_str()))
                .map(|o| o.requests)
                .sum();
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>18} {:>18} {:>18}",
                name,
                requests,
                fig(first, name),
                fig(steady, name),
                fig(last, name)
            );
        }
        let grown = (last.rss_mib - steady.rss_mib).max(0.0);
        let added = last.events.saturating_sub(steady.events);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "RSS: {:.1} MiB after the first interval, {:.1} after the second, {:.1} at the end \
             ({:.0} bytes per event added since the second); events {} → {}",
            first.rss_mib,
            steady.rss_mib,
            last.rss_mib,
            if added > 0 {
                grown * 1024.0 * 1024.0 / added as f64
            } else {
                0.0
            },
            r.events_at_start,
            r.events_at_end
        );
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "requests {} ({:.0}/s), mutations acknowledged {} ({} events, {} accounts), resends \
         answered the same {}, reused keys refused {}, retries after no answer {}",
        t.requests,
        t.requests as f64 / r.seconds.max(1e-9),
        t.mutations_acknowledged,
        t.events_acknowledged,
        t.accounts_opened,
        t.resends_same_answer,
        t.key_reuse_refused,
        t.transport_retries
    );
    if !t.rejections.is_empty() {
        let list = t
            .rejections
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "business rejections: {list} ({} not planned by the writers' model)",
            t.rejections_unplanned
        );
    }
    for f in &t.failure_examples {
        let _ = writeln!(out, "  {f}");
    }
    let _ = writeln!(out);
    for c in &r.checks {
        let _ = writeln!(
            out,
            "{} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
}
