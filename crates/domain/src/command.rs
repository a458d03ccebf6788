//! Every command of SPEC §4: what a user asks the ledger to record, imperative, not yet a fact.
//!
//! Commands deserialize from the scenario format (`{"command": "issue_invoice", ...}`), with the
//! field names of SPEC §3/§4 in snake_case. Dates marked optional default to the context's today.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::{Application, Contacts, EscalationTarget, Installment, ReminderChannel, Terms};
use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAccount {
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: String,
    pub credit_limit: Decimal,
    pub terms: Terms,
    pub opened_on: NaiveDate,
    #[serde(default)]
    pub contacts: Contacts,
    #[serde(default)]
    pub sales_rep: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCreditLimit {
    pub customer_id: CustomerId,
    #[serde(alias = "credit_limit", alias = "limit")]
    pub new_limit: Decimal,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTerms {
    pub customer_id: CustomerId,
    pub terms: Terms,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateContactDetails {
    pub customer_id: CustomerId,
    pub contacts: Contacts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyContactDetails {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub verified_on: Option<NaiveDate>,
    /// Who checked them; defaults to the actor.
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignSalesRep {
    pub customer_id: CustomerId,
    pub sales_rep: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueInvoice {
    pub customer_id: CustomerId,
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    pub issued_on: NaiveDate,
    /// Defaults to `issued_on + terms.net_days`.
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
    /// Defaults to the account's terms.
    #[serde(default)]
    pub terms: Option<Terms>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmDelivery {
    pub customer_id: CustomerId,
    pub invoice_id: InvoiceId,
    #[serde(default = "default_delivery_channel")]
    pub channel: String,
    #[serde(default)]
    pub confirmed_on: Option<NaiveDate>,
}

fn default_delivery_channel() -> String {
    "email".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaiseDispute {
    pub customer_id: CustomerId,
    pub invoice_id: InvoiceId,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub disputed_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveDispute {
    pub customer_id: CustomerId,
    pub invoice_id: InvoiceId,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub resolved_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueCreditNote {
    pub customer_id: CustomerId,
    pub credit_note_id: CreditNoteId,
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
    #[serde(default)]
    pub reason: String,
    pub issued_on: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffInvoice {
    pub customer_id: CustomerId,
    pub invoice_id: InvoiceId,
    #[serde(default)]
    pub written_off_on: Option<NaiveDate>,
    #[serde(default)]
    pub reason: String,
}

/// Money the payer asked to put on one invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationRequest {
    pub invoice_id: InvoiceId,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPayment {
    pub customer_id: CustomerId,
    pub payment_id: PaymentId,
    pub amount: Decimal,
    pub received_on: NaiveDate,
    #[serde(default = "default_payment_method")]
    pub method: String,
    /// Absent: the domain allocates oldest first (SPEC §4).
    #[serde(default)]
    pub allocations: Option<Vec<AllocationRequest>>,
}

fn default_payment_method() -> String {
    "transfer".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversePayment {
    pub customer_id: CustomerId,
    pub payment_id: PaymentId,
    #[serde(default)]
    pub reversed_on: Option<NaiveDate>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyUnappliedCash {
    pub customer_id: CustomerId,
    pub allocations: Vec<Application>,
    #[serde(default)]
    pub applied_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReminder {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub invoice_ids: Vec<InvoiceId>,
    pub channel: ReminderChannel,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCall {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub invoice_ids: Vec<InvoiceId>,
    pub outcome: String,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub called_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySalesRep {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub invoice_ids: Vec<InvoiceId>,
    /// Defaults to the account's sales rep.
    #[serde(default)]
    pub sales_rep: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub notified_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPromise {
    pub customer_id: CustomerId,
    pub promise_id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
    #[serde(default)]
    pub invoice_ids: Vec<InvoiceId>,
    #[serde(default)]
    pub made_on: Option<NaiveDate>,
    /// The instant the promise was made (a call's `called_at`). Defaults to the instant the
    /// command is decided when the promise is made today; its date is `made_on`.
    #[serde(default)]
    pub made_at: Option<DateTime<Utc>>,
    #[serde(default = "default_promise_via")]
    pub via: String,
}

fn default_promise_via() -> String {
    "call".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreePaymentPlan {
    pub customer_id: CustomerId,
    pub plan_id: PlanId,
    pub installments: Vec<Installment>,
    #[serde(default)]
    pub agreed_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldAccount {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub effective_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseAccount {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub effective_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalate {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub invoice_ids: Vec<InvoiceId>,
    pub to: EscalationTarget,
    #[serde(default)]
    pub escalated_on: Option<NaiveDate>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Any command against one account (AdoptPolicy and Tick are handled beside these: see
/// `policy::decide_adopt` and `clock::tick`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    OpenAccount(OpenAccount),
    ChangeCreditLimit(ChangeCreditLimit),
    ChangeTerms(ChangeTerms),
    UpdateContactDetails(UpdateContactDetails),
    VerifyContactDetails(VerifyContactDetails),
    AssignSalesRep(AssignSalesRep),
    IssueInvoice(IssueInvoice),
    ConfirmDelivery(ConfirmDelivery),
    RaiseDispute(RaiseDispute),
    ResolveDispute(ResolveDispute),
    IssueCreditNote(IssueCreditNote),
    WriteOffInvoice(WriteOffInvoice),
    RecordPayment(RecordPayment),
    ReversePayment(ReversePayment),
    ApplyUnappliedCash(ApplyUnappliedCash),
    RecordReminder(RecordReminder),
    LogCall(LogCall),
    NotifySalesRep(NotifySalesRep),
    RecordPromise(RecordPromise),
    AgreePaymentPlan(AgreePaymentPlan),
    HoldAccount(HoldAccount),
    ReleaseAccount(ReleaseAccount),
    Escalate(Escalate),
}

impl Command {
    /// The account the command is about.
    pub fn customer_id(&self) -> &CustomerId {
        match self {
            Command::OpenAccount(c) => &c.customer_id,
            Command::ChangeCreditLimit(c) => &c.customer_id,
            Command::ChangeTerms(c) => &c.customer_id,
            Command::UpdateContactDetails(c) => &c.customer_id,
            Command::VerifyContactDetails(c) => &c.customer_id,
            Command::AssignSalesRep(c) => &c.customer_id,
            Command::IssueInvoice(c) => &c.customer_id,
            Command::ConfirmDelivery(c) => &c.customer_id,
            Command::RaiseDispute(c) => &c.customer_id,
            Command::ResolveDispute(c) => &c.customer_id,
            Command::IssueCreditNote(c) => &c.customer_id,
            Command::WriteOffInvoice(c) => &c.customer_id,
            Command::RecordPayment(c) => &c.customer_id,
            Command::ReversePayment(c) => &c.customer_id,
            Command::ApplyUnappliedCash(c) => &c.customer_id,
            Command::RecordReminder(c) => &c.customer_id,
            Command::LogCall(c) => &c.customer_id,
            Command::NotifySalesRep(c) => &c.customer_id,
            Command::RecordPromise(c) => &c.customer_id,
            Command::AgreePaymentPlan(c) => &c.customer_id,
            Command::HoldAccount(c) => &c.customer_id,
            Command::ReleaseAccount(c) => &c.customer_id,
            Command::Escalate(c) => &c.customer_id,
        }
    }

    /// The command's name in snake_case, as in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            Command::OpenAccount(_) => "open_account",
            Command::ChangeCreditLimit(_) => "change_credit_limit",
            Command::ChangeTerms(_) => "change_terms",
            Command::UpdateContactDetails(_) => "update_contact_details",
            Command::VerifyContactDetails(_) => "verify_contact_details",
            Command::AssignSalesRep(_) => "assign_sales_rep",
            Command::IssueInvoice(_) => "issue_invoice",
            Command::ConfirmDelivery(_) => "confirm_delivery",
            Command::RaiseDispute(_) => "raise_dispute",
            Command::ResolveDispute(_) => "resolve_dispute",
            Command::IssueCreditNote(_) => "issue_credit_note",
            Command::WriteOffInvoice(_) => "write_off_invoice",
            Command::RecordPayment(_) => "record_payment",
            Command::ReversePayment(_) => "reverse_payment",
            Command::ApplyUnappliedCash(_) => "apply_unapplied_cash",
            Command::RecordReminder(_) => "record_reminder",
            Command::LogCall(_) => "log_call",
            Command::NotifySalesRep(_) => "notify_sales_rep",
            Command::RecordPromise(_) => "record_promise",
            Command::AgreePaymentPlan(_) => "agree_payment_plan",
            Command::HoldAccount(_) => "hold_account",
            Command::ReleaseAccount(_) => "release_account",
            Command::Escalate(_) => "escalate",
        }
    }
}
