//! A writer client of the soak: a realistic mix of mutations per account, each with an
//! idempotency key, and what it expects the ledger to answer.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Days;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::shared::*;
use super::*;

/// What a writer expects of a command it sends.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Plan {
    /// Valid as far as the writer's model of the account knows.
    Valid,
    /// Built to be refused with this code (an overpayment).
    Refused(&'static str),
}

/// What a writer does next; each kind has a weight out of the sum of those possible.
#[derive(Clone, Copy)]
pub(super) enum Step {
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

pub(super) const STEPS: [(Step, u32); 13] = [
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

pub(super) struct Writer {
    pub(super) id: usize,
    pub(super) shared: Arc<Shared>,
    pub(super) rng: StdRng,
    pub(super) account: Option<Account>,
    pub(super) accounts_opened: u32,
    pub(super) keys: u64,
    pub(super) sent: VecDeque<Sent>,
}

impl Writer {
    pub(super) async fn run(mut self) {
        while self.shared.running() {
            self.step().await;
            if !self.shared.think.is_zero() {
                tokio::time::sleep(self.shared.think).await;
            }
        }
    }

    pub(super) fn next_key(&mut self) -> String {
        self.keys += 1;
        format!("soak-w{}-{}", self.id, self.keys)
    }

    pub(super) async fn step(&mut self) {
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

    pub(super) async fn open_account(&mut self) {
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
    pub(super) async fn submit(
        &mut self,
        op: &'static str,
        mut input: Value,
        plan: Plan,
    ) -> Option<Vec<Ack>> {
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

    pub(super) fn choose(&mut self, account: &Account) -> Step {
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

    // Long: one arm per kind of command the soak sends, each with the expectation it records.
    pub(super) async fn command(&mut self, a: &mut Account) {
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
    pub(super) async fn resend(&mut self) {
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
    pub(super) async fn reuse_key(&mut self, customer: &str, at: &str) {
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

pub(super) fn positions(events: &[Ack]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

/// Takes the allocations the server chose (oldest first) off the model's invoices.
pub(super) fn apply_allocations(a: &mut Account, events: &[Ack]) {
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
