//! Every event of SPEC §3: facts in the past tense, stored forever.
//!
//! Field names are part of the stored format and of the export: never rename one; add a new
//! schema version (and an upcaster in the store's codec) instead. Payload structs avoid serde
//! features that binary formats cannot decode (`skip_serializing_if`, untagged or internally
//! tagged enums), because the store encodes each payload with bincode.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use crate::money::Currency;

/// Payment terms: net days, and optionally an early-payment discount ("2% if paid within 10 days").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub net_days: u32,
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
    #[serde(default)]
    pub discount_days: Option<u32>,
}

/// How to reach a customer (seed 003: keep these checked and current).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub postal_address: Option<String>,
    #[serde(default)]
    pub billing_contact: Option<String>,
    /// Where reminders go (SPEC §12); when absent, the first of `emails`. Schema 2.
    #[serde(default)]
    pub billing_email: Option<String>,
    /// The language reminders are written in, BCP 47 (`pt`, `fr-CA`, `nb`); `en` when absent.
    /// Schema 2.
    #[serde(default)]
    pub language: Option<String>,
}

impl Contacts {
    /// The address reminders are sent to: the billing email, else the first email on file.
    pub fn reminder_email(&self) -> Option<&str> {
        self.billing_email
            .as_deref()
            .or_else(|| self.emails.first().map(String::as_str))
            .filter(|e| !e.trim().is_empty())
    }
}

/// Money a payment puts on one invoice; `discount` is the early-payment discount granted with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub discount: Decimal,
}

/// Unapplied cash put on one invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
}

/// One installment of a payment plan; each is a promise of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    pub promise_id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderChannel {
    Email,
    Letter,
    Sms,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTarget {
    CollectionAgency,
    Legal,
}

// ---- Account -------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOpened {
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: Currency,
    pub credit_limit: Decimal,
    pub terms: Terms,
    pub opened_on: NaiveDate,
    pub contacts: Contacts,
    pub sales_rep: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLimitChanged {
    pub new_limit: Decimal,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsChanged {
    pub terms: Terms,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetailsUpdated {
    pub contacts: Contacts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetailsVerified {
    pub verified_on: NaiveDate,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRepAssigned {
    pub sales_rep: String,
}

// ---- Invoices ------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceIssued {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub terms: Terms,
    pub reference: Option<String>,
    pub override_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDelivered {
    pub invoice_id: InvoiceId,
    pub channel: String,
    pub confirmed_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDisputed {
    pub invoice_id: InvoiceId,
    pub reason: String,
    pub disputed_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeResolved {
    pub invoice_id: InvoiceId,
    pub outcome: String,
    pub resolved_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteIssued {
    pub credit_note_id: CreditNoteId,
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub reason: String,
    pub issued_on: NaiveDate,
}

/// Emitted by the clock; `charged_on` is its effective date, `period` counts fees from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFeeCharged {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub charged_on: NaiveDate,
    pub period: u32,
}

/// Emitted by reconciliation (SPEC §5): the facts as now known no longer justify the fee at
/// position `reverses` (or justify another amount: it is then charged again). Effective from the
/// fee's `charged_on`. `unapplied` is the part of the fee that money had already covered: it
/// becomes the customer's unapplied cash from `unapplied_on`, the date of the payment (or other
/// money) that first covered it, so no invoice is ever negative on any date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateFeeReversed {
    pub invoice_id: InvoiceId,
    pub period: u32,
    pub amount: Decimal,
    pub unapplied: Decimal,
    pub unapplied_on: Option<NaiveDate>,
    pub reason: String,
    pub reverses: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceWrittenOff {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub written_off_on: NaiveDate,
    pub reason: String,
}

// ---- Cash ----------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    pub payment_id: PaymentId,
    pub amount: Decimal,
    pub received_on: NaiveDate,
    pub method: String,
    pub allocations: Vec<Allocation>,
    pub unapplied: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReversed {
    pub payment_id: PaymentId,
    pub reversed_on: NaiveDate,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnappliedCashApplied {
    pub allocations: Vec<Application>,
    pub applied_on: NaiveDate,
}

// ---- Contacts ------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSent {
    pub invoice_ids: Vec<InvoiceId>,
    pub channel: ReminderChannel,
    pub step: Option<String>,
    pub template: Option<String>,
    pub sent_at: DateTime<Utc>,
    /// The four below are set when dunlog delivered the reminder itself (SPEC §12, schema 2):
    /// the message's `Message-ID`, the address or letter file it went to, the language it was
    /// written in, and the SHA-256 (hex) of the body the mail server accepted.
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub content_sha256: Option<String>,
}

/// A reminder dunlog could not deliver for good (SPEC §12): the mail server refused it (5xx) or
/// the account has no address on file. Temporary failures are retried and never recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderFailed {
    pub invoice_ids: Vec<InvoiceId>,
    pub channel: ReminderChannel,
    pub step: Option<String>,
    pub to: Option<String>,
    pub reason: String,
    pub permanent: bool,
    pub failed_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogged {
    pub invoice_ids: Vec<InvoiceId>,
    pub outcome: String,
    pub step: Option<String>,
    pub called_at: DateTime<Utc>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRepNotified {
    pub invoice_ids: Vec<InvoiceId>,
    pub sales_rep: String,
    pub step: Option<String>,
    pub notified_at: DateTime<Utc>,
}

// ---- Promises ------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPromised {
    pub promise_id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
    pub invoice_ids: Vec<InvoiceId>,
    pub made_on: NaiveDate,
    pub via: String,
    /// The instant the promise was made (on a call at 14:02, 14:02), so the timeline shows it
    /// where it happened. Schema 2; `None` in promises recorded before (the store's upcaster)
    /// and in back-dated ones whose instant the client did not give. Defaulted in JSON so that
    /// exports of schema 1 read.
    #[serde(default)]
    pub made_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPlanAgreed {
    pub plan_id: PlanId,
    pub installments: Vec<Installment>,
    pub agreed_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseKept {
    pub promise_id: PromiseId,
    pub kept_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseBroken {
    pub promise_id: PromiseId,
    pub shortfall: Decimal,
    pub effective_on: NaiveDate,
}

/// Emitted by reconciliation (SPEC §5): payments as now known kept the promise whose
/// `PromiseBroken` is at position `reverses`; `effective_on` is that break's effective date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseReinstated {
    pub promise_id: PromiseId,
    pub reason: String,
    pub reverses: u64,
    pub effective_on: NaiveDate,
}

// ---- Enforcement ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHeld {
    pub reason: String,
    pub rule: Option<String>,
    pub manual: bool,
    pub effective_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReleased {
    pub reason: String,
    pub manual: bool,
    pub effective_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashOnlyImposed {
    pub reason: String,
    pub effective_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashOnlyLifted {
    pub effective_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    pub invoice_ids: Vec<InvoiceId>,
    pub to: EscalationTarget,
    pub escalated_on: NaiveDate,
    pub notes: Option<String>,
}

// ---- Policy --------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAdopted {
    pub version: u32,
    pub name: String,
    pub document: String,
}

macro_rules! events {
    ($($name:ident),* $(,)?) => {
        /// Any event of the ledger. Serialized externally tagged (`{"InvoiceIssued": {...}}`);
        /// the store keeps the name and the payload apart (see `store::codec`).
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub enum Event {
            $($name($name),)*
        }

        impl Event {
            /// The event's name as stored in envelopes and exports (SPEC §3).
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)*
                }
            }
        }

        /// Every event name, in the order of SPEC §3.
        pub const EVENT_TYPES: &[&str] = &[$(stringify!($name)),*];

        $(impl From<$name> for Event {
            fn from(e: $name) -> Self {
                Event::$name(e)
            }
        })*
    };
}

/// Calls `$callback!(AccountOpened, CreditLimitChanged, …)` with every event name, in the
/// order of SPEC §3. The one list of events: the enum here and the store's codec are both
/// generated from it, so a new event cannot be added to one and forgotten in the other.
#[macro_export]
macro_rules! for_each_event {
    ($callback:ident) => {
        $callback!(
            AccountOpened,
            CreditLimitChanged,
            TermsChanged,
            ContactDetailsUpdated,
            ContactDetailsVerified,
            SalesRepAssigned,
            InvoiceIssued,
            InvoiceDelivered,
            InvoiceDisputed,
            DisputeResolved,
            CreditNoteIssued,
            LateFeeCharged,
            InvoiceWrittenOff,
            PaymentReceived,
            PaymentReversed,
            UnappliedCashApplied,
            ReminderSent,
            ReminderFailed,
            CallLogged,
            SalesRepNotified,
            PaymentPromised,
            PaymentPlanAgreed,
            PromiseKept,
            PromiseBroken,
            AccountHeld,
            AccountReleased,
            CashOnlyImposed,
            CashOnlyLifted,
            Escalated,
            PolicyAdopted,
            // Appended after the first schema: the store's codec and golden vectors list
            // events in this order, so new ones go last.
            LateFeeReversed,
            PromiseReinstated,
        );
    };
}

for_each_event!(events);

impl Event {
    /// Every amount the event records (limits, invoices, payments and their allocations, fees,
    /// credit notes, write-offs, promises): what `dunlog verify` checks against the bounds of
    /// SPEC §2.
    pub fn amounts(&self) -> Vec<Decimal> {
        match self {
            Event::AccountOpened(e) => vec![e.credit_limit],
            Event::CreditLimitChanged(e) => vec![e.new_limit],
            Event::InvoiceIssued(e) => vec![e.amount],
            Event::CreditNoteIssued(e) => vec![e.amount],
            Event::LateFeeCharged(e) => vec![e.amount],
            Event::InvoiceWrittenOff(e) => vec![e.amount],
            Event::PaymentReceived(e) => [e.amount, e.unapplied]
                .into_iter()
                .chain(e.allocations.iter().flat_map(|a| [a.amount, a.discount]))
                .collect(),
            Event::UnappliedCashApplied(e) => e.allocations.iter().map(|a| a.amount).collect(),
            Event::PaymentPromised(e) => vec![e.amount],
            Event::PaymentPlanAgreed(e) => e.installments.iter().map(|i| i.amount).collect(),
            Event::PromiseBroken(e) => vec![e.shortfall],
            Event::LateFeeReversed(e) => vec![e.amount, e.unapplied],
            _ => Vec::new(),
        }
    }

    /// True for the events the clock emits on its own (SPEC §3 `→auto`).
    pub fn is_automatic(&self) -> bool {
        match self {
            Event::LateFeeCharged(_)
            | Event::LateFeeReversed(_)
            | Event::PromiseBroken(_)
            | Event::PromiseReinstated(_)
            | Event::CashOnlyImposed(_)
            | Event::CashOnlyLifted(_) => true,
            Event::AccountHeld(e) => !e.manual,
            Event::AccountReleased(e) => !e.manual,
            _ => false,
        }
    }

    /// The date an automatic event carries as its own (a fee's `charged_on`, the others'
    /// `effective_on`); `None` for facts people record, and for a fee reversal, which takes
    /// effect on its fee's date.
    pub fn automatic_on(&self) -> Option<NaiveDate> {
        match self {
            Event::LateFeeCharged(e) => Some(e.charged_on),
            Event::PromiseBroken(e) => Some(e.effective_on),
            Event::PromiseReinstated(e) => Some(e.effective_on),
            Event::CashOnlyImposed(e) => Some(e.effective_on),
            Event::CashOnlyLifted(e) => Some(e.effective_on),
            Event::AccountHeld(e) if !e.manual => Some(e.effective_on),
            Event::AccountReleased(e) if !e.manual => Some(e.effective_on),
            _ => None,
        }
    }

    /// The business date a fact takes effect on, for facts the clock's decisions depend on;
    /// `None` for facts that change no decision of the clock (contacts, names) or have no date.
    pub fn business_date(&self) -> Option<NaiveDate> {
        match self {
            Event::InvoiceIssued(e) => Some(e.issued_on),
            Event::InvoiceDisputed(e) => Some(e.disputed_on),
            Event::DisputeResolved(e) => Some(e.resolved_on),
            Event::CreditNoteIssued(e) => Some(e.issued_on),
            Event::InvoiceWrittenOff(e) => Some(e.written_off_on),
            Event::PaymentReceived(e) => Some(e.received_on),
            Event::PaymentReversed(e) => Some(e.reversed_on),
            Event::UnappliedCashApplied(e) => Some(e.applied_on),
            Event::PaymentPromised(e) => Some(e.made_on),
            Event::PaymentPlanAgreed(e) => Some(e.agreed_on),
            Event::PromiseKept(e) => Some(e.kept_on),
            Event::AccountHeld(e) if e.manual => Some(e.effective_on),
            Event::AccountReleased(e) if e.manual => Some(e.effective_on),
            _ => None,
        }
    }
}
