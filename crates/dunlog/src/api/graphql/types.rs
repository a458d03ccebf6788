//! GraphQL output types and Relay-style paging (SPEC §8). The core types' names and fields are a
//! contract: `AgingReport`, `AgingRow`, `AgingTotal`, `Exposure`, `EventRecord`, `Verification`,
//! `CommandResult`.

use async_graphql::connection::{ConnectionNameType, EdgeNameType};
use async_graphql::{Json, OutputType, SimpleObject, ID};
use store::RecordedEvent;

use super::scalars::{Date, Decimal, Instant, Position};

pub use super::page::*;
pub use super::reports::*;

/// One envelope of the log, payload as JSON, hashes in lowercase hex.
#[derive(SimpleObject, Clone)]
pub struct EventRecord {
    pub position: Position,
    pub stream: String,
    pub version: Position,
    pub event_id: ID,
    #[graphql(name = "type")]
    pub event_type: String,
    pub schema: i32,
    pub occurred_at: Instant,
    pub recorded_at: Instant,
    pub actor: String,
    pub policy_version: Option<i32>,
    pub payload: Json<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&RecordedEvent> for EventRecord {
    fn from(e: &RecordedEvent) -> Self {
        EventRecord {
            position: Position(e.position),
            stream: e.stream.clone(),
            version: Position(e.version),
            event_id: ID(e.event_id.to_string()),
            event_type: e.event_type.clone(),
            schema: i32::from(e.schema),
            occurred_at: Instant(e.occurred_at),
            recorded_at: Instant(e.recorded_at),
            actor: e.actor.clone(),
            policy_version: e
                .policy_version
                .map(|v| i32::try_from(v).unwrap_or(i32::MAX)),
            payload: Json(e.payload_json()),
            prev_hash: store::chain::to_hex(&e.prev_hash),
            hash: store::chain::to_hex(&e.hash),
        }
    }
}

/// Names the events connection `EventConnection` (SPEC §8).
pub struct EventConnectionName;
impl ConnectionNameType for EventConnectionName {
    fn type_name<T: OutputType>() -> String {
        "EventConnection".to_owned()
    }
}

/// Names the events edge `EventEdge`.
pub struct EventEdgeName;
impl EdgeNameType for EventEdgeName {
    fn type_name<T: OutputType>() -> String {
        "EventEdge".to_owned()
    }
}

pub type EventConnection = Page<EventRecord, EventConnectionName, EventEdgeName>;

#[derive(SimpleObject)]
pub struct Verification {
    pub ok: bool,
    pub checked: Position,
    pub first_bad_position: Option<Position>,
    pub message: Option<String>,
}

#[derive(SimpleObject)]
pub struct CommandResult {
    pub events: Vec<EventRecord>,
    pub exposure: Option<Exposure>,
}

#[derive(SimpleObject)]
pub struct CreditCheck {
    pub customer_id: ID,
    pub amount: Decimal,
    pub approved: bool,
    /// Every reason the check fails; empty when approved.
    pub reasons: Vec<String>,
    pub exposure: Decimal,
    pub effective_limit: Decimal,
    pub available: Decimal,
}

#[derive(SimpleObject, Clone)]
pub struct Terms {
    pub net_days: i32,
    pub discount_percent: Option<Decimal>,
    pub discount_days: Option<i32>,
}

impl From<&domain::event::Terms> for Terms {
    fn from(t: &domain::event::Terms) -> Self {
        Terms {
            net_days: i32::try_from(t.net_days).unwrap_or(i32::MAX),
            discount_percent: t.discount_percent.map(Decimal),
            discount_days: t
                .discount_days
                .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Contacts {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub postal_address: Option<String>,
    pub billing_contact: Option<String>,
    pub billing_email: Option<String>,
    pub language: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Invoice {
    pub invoice_id: ID,
    pub amount: Decimal,
    pub issued_on: Date,
    pub due_on: Date,
    pub reference: Option<String>,
    /// Open amount as of the account query's date.
    pub open: Decimal,
    pub disputed: bool,
    pub delivered_on: Option<Date>,
    pub escalated_on: Option<Date>,
}

#[derive(SimpleObject, Clone)]
pub struct Promise {
    pub promise_id: ID,
    pub amount: Decimal,
    pub promised_on: Date,
    pub made_on: Date,
    pub invoice_ids: Vec<ID>,
    pub via: String,
    pub plan_id: Option<ID>,
    pub kept_on: Option<Date>,
    pub broken_on: Option<Date>,
    pub shortfall: Option<Decimal>,
}

#[derive(SimpleObject, Clone)]
pub struct HoldChange {
    pub effective_on: Date,
    /// False when this change released the account.
    pub held: bool,
    /// Why the account was held, or why it was released.
    pub reason: Option<String>,
    /// The policy rule of an automatic hold.
    pub rule: Option<String>,
    /// Whether a person held (or released) the account; false for the clock's.
    pub manual: Option<bool>,
}

#[derive(SimpleObject, Clone)]
pub struct Account {
    pub customer_id: ID,
    pub name: String,
    pub currency: String,
    pub credit_limit: Decimal,
    pub terms: Terms,
    pub opened_on: Date,
    pub contacts: Contacts,
    pub contacts_verified_on: Option<Date>,
    pub sales_rep: Option<String>,
    pub version: Position,
    pub invoices: Vec<Invoice>,
    pub promises: Vec<Promise>,
    pub holds: Vec<HoldChange>,
    pub exposure: Exposure,
}

impl Account {
    pub fn new(
        a: &domain::Account,
        exposure: &projections::Exposure,
        today: chrono::NaiveDate,
    ) -> Self {
        Account {
            customer_id: ID(a.customer_id.to_string()),
            name: a.name.clone(),
            currency: a.currency.as_str().to_owned(),
            credit_limit: Decimal(a.currency.display(a.credit_limit)),
            terms: (&a.terms).into(),
            opened_on: Date(a.opened_on),
            contacts: Contacts {
                emails: a.contacts.emails.clone(),
                phones: a.contacts.phones.clone(),
                postal_address: a.contacts.postal_address.clone(),
                billing_contact: a.contacts.billing_contact.clone(),
                billing_email: a.contacts.billing_email.clone(),
                language: a.contacts.language.clone(),
            },
            contacts_verified_on: a.contacts_verified_on.map(Date),
            sales_rep: a.sales_rep.clone(),
            version: Position(a.version),
            invoices: a
                .invoices
                .iter()
                .map(|i| Invoice {
                    invoice_id: ID(i.id.to_string()),
                    amount: Decimal(a.currency.display(i.amount())),
                    issued_on: Date(i.issued_on),
                    due_on: Date(i.due_on),
                    reference: i.extras().reference.clone(),
                    open: Decimal(a.currency.display(i.open_on(today))),
                    disputed: i.disputed_on(today),
                    delivered_on: i.extras().delivered_on.map(Date),
                    escalated_on: i.extras().escalated_on.map(Date),
                })
                .collect(),
            promises: a
                .promises
                .iter()
                .map(|p| Promise {
                    promise_id: ID(p.id.to_string()),
                    amount: Decimal(a.currency.display(p.amount)),
                    promised_on: Date(p.promised_on),
                    made_on: Date(p.made_on),
                    invoice_ids: p.invoice_ids.iter().map(|i| ID(i.to_string())).collect(),
                    via: p.via.clone(),
                    plan_id: p.plan_id.as_ref().map(|i| ID(i.to_string())),
                    kept_on: p.kept_on.map(Date),
                    broken_on: p.broken_on.map(Date),
                    shortfall: p.shortfall.map(|v| Decimal(a.currency.display(v))),
                })
                .collect(),
            holds: a
                .holds
                .iter()
                .map(|h| HoldChange {
                    effective_on: Date(h.effective_on),
                    held: h.state.is_some(),
                    reason: h
                        .state
                        .as_ref()
                        .map(|s| s.reason.clone())
                        .or_else(|| h.released.as_ref().map(|r| r.reason.clone())),
                    rule: h.state.as_ref().and_then(|s| s.rule.clone()),
                    manual: h
                        .state
                        .as_ref()
                        .map(|s| s.manual)
                        .or_else(|| h.released.as_ref().map(|r| r.manual)),
                })
                .collect(),
            exposure: exposure.into(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Policy {
    pub version: i32,
    pub name: String,
    pub document: String,
    pub adopted_at: Instant,
    pub position: Position,
    /// True for the policy in force.
    pub in_force: bool,
}
