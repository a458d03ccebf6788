//! Test helpers: commands (as scenario JSON) through `domain::decide` into an in-memory ledger,
//! or into a real store; the clock ticked by hand.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{Command, Context, CustomerId, Event, InvoiceId, Policy};
use projections::{EventMeta, Ledger, TimelineEntry};
use serde_json::Value;
use store::{AppendRequest, ExpectedVersion, NewEvent, Store};

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Far enough ahead that no contact instant in a test is "more than 24 h in the future".
/// Polls (never sleeps) until the wall clock is past `instant`, so the next append is recorded
/// strictly later. Fails after 5 s.
pub fn wait_until_past(instant: DateTime<Utc>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while Utc::now() <= instant {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        std::thread::yield_now();
    }
}

pub fn decision_instant() -> DateTime<Utc> {
    t("2030-01-01T00:00:00Z")
}

pub fn command(json: Value) -> Command {
    serde_json::from_value(json).unwrap()
}

/// Where recorded events go: the ledger alone, or a store too.
pub struct History {
    pub ledger: Ledger,
    /// Every event recorded, with its envelope, in position order.
    pub log: Vec<(EventMeta, Event)>,
    pub store: Option<Store>,
    /// The `occurred_at` given to the next events.
    pub occurred_at: DateTime<Utc>,
    /// The ledger's today for the next commands: no fact may be dated after it (SPEC §2). Far
    /// ahead of every date in these tests, unless a test sets it.
    pub today: NaiveDate,
    pub actor: String,
}

impl History {
    pub fn new() -> History {
        History {
            ledger: Ledger::new(),
            log: Vec::new(),
            store: None,
            occurred_at: t("2026-01-01T09:00:00Z"),
            today: decision_instant().date_naive(),
            actor: "alice".to_owned(),
        }
    }

    /// Also appends every event to `store` (events come back from the store with its envelope).
    pub fn with_store(store: Store) -> History {
        History {
            store: Some(store),
            ..History::new()
        }
    }

    pub fn policy(&self) -> Policy {
        self.ledger.policy()
    }

    /// Decides a command against the ledger and records its events; panics if refused.
    pub fn run(&mut self, json: Value) -> Vec<Event> {
        let cmd = command(json.clone());
        self.try_run(&cmd)
            .unwrap_or_else(|e| panic!("{json} refused: {e}"))
    }

    pub fn try_run(&mut self, cmd: &Command) -> Result<Vec<Event>, domain::DomainError> {
        let policy = self.policy();
        let ctx = Context {
            today: self.today,
            now: decision_instant(),
            actor: &self.actor,
            policy: &policy,
        };
        let customer = cmd.customer_id().clone();
        let events = domain::decide(self.ledger.account(&customer), cmd, &ctx)?;
        self.record(&customer.stream(), events.clone());
        Ok(events)
    }

    pub fn adopt(&mut self, document: &str) {
        let adopted = domain::policy::decide_adopt(document, self.ledger.policy_version()).unwrap();
        self.record("policy", vec![Event::PolicyAdopted(adopted)]);
    }

    /// The clock for every account from its opening through `through` (emits only what is new).
    pub fn tick(&mut self, through: NaiveDate) -> usize {
        let policy = self.policy();
        let accounts: Vec<_> = self.ledger.accounts.values().cloned().collect();
        let mut n = 0;
        for account in accounts {
            let events = domain::tick(&account, &policy, account.opened_on, through);
            n += events.len();
            let saved = std::mem::replace(&mut self.actor, "clock".to_owned());
            self.record(&account.customer_id.stream(), events);
            self.actor = saved;
        }
        n
    }

    pub fn record(&mut self, stream: &str, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        if let Some(store) = &self.store {
            let outcome = store
                .append_blocking(AppendRequest {
                    stream: stream.to_owned(),
                    expected: ExpectedVersion::Any,
                    events: events
                        .into_iter()
                        .map(|event| NewEvent {
                            event,
                            occurred_at: self.occurred_at,
                        })
                        .collect(),
                    actor: self.actor.clone(),
                    correlation_id: None,
                    causation_id: None,
                    policy_version: None,
                    idempotency: None,
                })
                .unwrap();
            for e in outcome.events {
                let meta = EventMeta {
                    position: e.position,
                    stream: e.stream.clone(),
                    version: e.version,
                    occurred_at: e.occurred_at,
                    recorded_at: e.recorded_at,
                    actor: e.actor.clone(),
                };
                self.ledger.apply(&meta, &e.event);
                self.log.push((meta, e.event));
            }
            return;
        }
        for event in events {
            let version = self.log.iter().filter(|(m, _)| m.stream == stream).count() as u64 + 1;
            let meta = EventMeta {
                position: self.ledger.checkpoint + 1,
                stream: stream.to_owned(),
                version,
                occurred_at: self.occurred_at,
                recorded_at: self.occurred_at,
                actor: self.actor.clone(),
            };
            self.ledger.apply(&meta, &event);
            self.log.push((meta, event));
        }
    }

    /// The timeline of `customer` as `ledger` holds the account, read from the account's stream
    /// in the log (as the server reads it from the store).
    pub fn timeline_in(
        &self,
        ledger: &Ledger,
        customer: &CustomerId,
        invoice: Option<&InvoiceId>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Vec<TimelineEntry> {
        let stream = customer.stream();
        let events = self
            .log
            .iter()
            .filter(|(meta, _)| meta.stream == stream)
            .map(|(meta, event)| (meta, event).into());
        ledger.timeline(customer, events, invoice, from, to)
    }

    /// The timeline of `customer` as the ledger built so far holds it.
    pub fn timeline(
        &self,
        customer: &CustomerId,
        invoice: Option<&InvoiceId>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Vec<TimelineEntry> {
        self.timeline_in(&self.ledger, customer, invoice, from, to)
    }

    /// A fresh ledger from the whole log (what a rebuild from position 1 gives).
    pub fn rebuilt(&self) -> Ledger {
        let mut ledger = Ledger::new();
        for (meta, event) in &self.log {
            ledger.apply(meta, event);
        }
        ledger
    }
}

/// Opens an account with net-30 terms.
pub fn open(h: &mut History, id: &str, opened_on: &str, limit: &str) {
    h.run(serde_json::json!({"command": "open_account", "customer_id": id, "name": format!("{id} Ltd"),
        "currency": "EUR", "credit_limit": limit, "opened_on": opened_on, "terms": {"net_days": 30},
        "sales_rep": "rita"}));
}

pub fn issue(h: &mut History, id: &str, invoice: &str, amount: &str, issued_on: &str) {
    h.run(
        serde_json::json!({"command": "issue_invoice", "customer_id": id, "invoice_id": invoice,
        "amount": amount, "issued_on": issued_on, "override_reason": "agreed with the customer"}),
    );
}

pub fn pay(h: &mut History, id: &str, payment: &str, amount: &str, received_on: &str) {
    h.run(
        serde_json::json!({"command": "record_payment", "customer_id": id, "payment_id": payment,
        "amount": amount, "received_on": received_on}),
    );
}
