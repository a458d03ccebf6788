//! Mutations, one per command of SPEC §4: `name(input: NameInput!): CommandResult!`. Inputs are
//! the command's fields in camelCase plus `idempotencyKey`; they are turned into the domain's
//! own command (its snake_case JSON form) so the domain alone decides what is valid.

use async_graphql::{Context, InputObject, Object, ID};
use domain::Command;
use serde::Serialize;
use serde_json::Value;

use super::scalars::{Date, Decimal, Instant};
use super::types::{CommandResult, EventRecord, Exposure};
use super::{policy_error, require, service, service_error, validation_error, ApiResult};
use crate::api::limits::check_idempotency_key;
use crate::app::auth::Role;

/// Payment terms. Days are GraphQL `Int`s (32-bit, signed); a negative one is refused here,
/// naming the field, before the command is built.
#[derive(InputObject, Serialize)]
pub struct TermsInput {
    pub net_days: i32,
    pub discount_percent: Option<Decimal>,
    pub discount_days: Option<i32>,
}

impl TermsInput {
    /// Refuses negative days, naming `at` (`terms`) and the field.
    fn check(&self, at: &str) -> ApiResult<()> {
        let days = [
            ("netDays", Some(self.net_days)),
            ("discountDays", self.discount_days),
        ];
        for (field, value) in days {
            if let Some(v) = value.filter(|v| *v < 0) {
                return Err(validation_error(format!(
                    "{at}.{field} = {v}: must be 0 or more (days after the invoice date)"
                )));
            }
        }
        Ok(())
    }
}

/// Checks a mutation input makes before it becomes a command (most checks are the domain's).
trait CheckInput {
    fn check(&self) -> ApiResult<()> {
        Ok(())
    }
}

impl CheckInput for OpenAccountInput {
    fn check(&self) -> ApiResult<()> {
        self.terms.check("input.terms")
    }
}

impl CheckInput for ChangeTermsInput {
    fn check(&self) -> ApiResult<()> {
        self.terms.check("input.terms")
    }
}

impl CheckInput for IssueInvoiceInput {
    fn check(&self) -> ApiResult<()> {
        self.terms
            .as_ref()
            .map_or(Ok(()), |t| t.check("input.terms"))
    }
}

macro_rules! no_input_checks {
    ($($input:ty),* $(,)?) => { $(impl CheckInput for $input {})* };
}

no_input_checks!(
    ChangeCreditLimitInput,
    UpdateContactDetailsInput,
    VerifyContactDetailsInput,
    AssignSalesRepInput,
    ConfirmDeliveryInput,
    RaiseDisputeInput,
    ResolveDisputeInput,
    IssueCreditNoteInput,
    WriteOffInvoiceInput,
    RecordPaymentInput,
    ReversePaymentInput,
    ApplyUnappliedCashInput,
    RecordReminderInput,
    LogCallInput,
    NotifySalesRepInput,
    RecordPromiseInput,
    AgreePaymentPlanInput,
    HoldAccountInput,
    ReleaseAccountInput,
    EscalateInput,
);

#[derive(InputObject, Serialize)]
pub struct ContactsInput {
    pub emails: Option<Vec<String>>,
    pub phones: Option<Vec<String>>,
    pub postal_address: Option<String>,
    pub billing_contact: Option<String>,
    /// Where reminders are e-mailed; the first of `emails` when absent (SPEC §12).
    pub billing_email: Option<String>,
    /// The language reminders are written in, BCP 47 (`en`, `pt-BR`, `fr`, `nb`, `ro`, `id`).
    pub language: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AllocationInput {
    pub invoice_id: ID,
    pub amount: Decimal,
}

#[derive(InputObject, Serialize)]
pub struct InstallmentInput {
    pub promise_id: ID,
    pub amount: Decimal,
    pub promised_on: Date,
}

#[derive(InputObject, Serialize)]
pub struct OpenAccountInput {
    pub customer_id: ID,
    pub name: String,
    pub currency: String,
    pub credit_limit: Decimal,
    pub terms: TermsInput,
    pub opened_on: Date,
    pub contacts: Option<ContactsInput>,
    pub sales_rep: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ChangeCreditLimitInput {
    pub customer_id: ID,
    /// The new limit (≥ 0). `creditLimit` is accepted as another name for it.
    pub new_limit: Option<Decimal>,
    pub credit_limit: Option<Decimal>,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ChangeTermsInput {
    pub customer_id: ID,
    pub terms: TermsInput,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpdateContactDetailsInput {
    pub customer_id: ID,
    pub contacts: ContactsInput,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct VerifyContactDetailsInput {
    pub customer_id: ID,
    pub verified_on: Option<Date>,
    pub by: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AssignSalesRepInput {
    pub customer_id: ID,
    pub sales_rep: String,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct IssueInvoiceInput {
    pub customer_id: ID,
    pub invoice_id: ID,
    pub amount: Decimal,
    pub issued_on: Date,
    pub due_on: Option<Date>,
    pub terms: Option<TermsInput>,
    pub reference: Option<String>,
    pub override_reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ConfirmDeliveryInput {
    pub customer_id: ID,
    pub invoice_id: ID,
    pub channel: Option<String>,
    pub confirmed_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RaiseDisputeInput {
    pub customer_id: ID,
    pub invoice_id: ID,
    pub reason: Option<String>,
    pub disputed_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ResolveDisputeInput {
    pub customer_id: ID,
    pub invoice_id: ID,
    pub outcome: Option<String>,
    pub resolved_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct IssueCreditNoteInput {
    pub customer_id: ID,
    pub credit_note_id: ID,
    pub invoice_id: ID,
    pub amount: Decimal,
    pub reason: Option<String>,
    pub issued_on: Date,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct WriteOffInvoiceInput {
    pub customer_id: ID,
    pub invoice_id: ID,
    pub written_off_on: Option<Date>,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RecordPaymentInput {
    pub customer_id: ID,
    pub payment_id: ID,
    pub amount: Decimal,
    pub received_on: Date,
    pub method: Option<String>,
    /// Absent: allocated oldest first, with early-payment discounts (SPEC §4).
    pub allocations: Option<Vec<AllocationInput>>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ReversePaymentInput {
    pub customer_id: ID,
    pub payment_id: ID,
    pub reversed_on: Option<Date>,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ApplyUnappliedCashInput {
    pub customer_id: ID,
    pub allocations: Vec<AllocationInput>,
    pub applied_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RecordReminderInput {
    pub customer_id: ID,
    pub invoice_ids: Option<Vec<ID>>,
    /// `email`, `letter` or `sms`.
    pub channel: String,
    pub step: Option<String>,
    pub template: Option<String>,
    pub sent_at: Option<Instant>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct LogCallInput {
    pub customer_id: ID,
    pub invoice_ids: Option<Vec<ID>>,
    pub outcome: String,
    pub step: Option<String>,
    pub called_at: Option<Instant>,
    pub notes: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct NotifySalesRepInput {
    pub customer_id: ID,
    pub invoice_ids: Option<Vec<ID>>,
    pub sales_rep: Option<String>,
    pub step: Option<String>,
    pub notified_at: Option<Instant>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RecordPromiseInput {
    pub customer_id: ID,
    pub promise_id: ID,
    pub amount: Decimal,
    pub promised_on: Date,
    pub invoice_ids: Option<Vec<ID>>,
    pub made_on: Option<Date>,
    /// The instant the promise was made (the call's `calledAt`); defaults to now when made
    /// today.
    pub made_at: Option<Instant>,
    pub via: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AgreePaymentPlanInput {
    pub customer_id: ID,
    pub plan_id: ID,
    pub installments: Vec<InstallmentInput>,
    pub agreed_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct HoldAccountInput {
    pub customer_id: ID,
    pub reason: Option<String>,
    pub effective_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ReleaseAccountInput {
    pub customer_id: ID,
    pub reason: Option<String>,
    pub effective_on: Option<Date>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct EscalateInput {
    pub customer_id: ID,
    pub invoice_ids: Option<Vec<ID>>,
    /// `collection_agency` or `legal`.
    pub to: String,
    pub escalated_on: Option<Date>,
    pub notes: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AdoptPolicyInput {
    /// The policy as TOML (SPEC §5).
    pub document: String,
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct TickInput {
    /// Run the clock through this date (default today).
    pub date: Option<Date>,
    pub idempotency_key: Option<String>,
}

/// Drops `null`s so the domain's defaults apply to fields the client left out.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Turns a mutation input into the domain command and its idempotency key.
pub fn to_command(name: &str, input: &impl Serialize) -> ApiResult<(Command, Option<String>)> {
    let mut json = serde_json::to_value(input).map_err(super::internal_error)?;
    strip_nulls(&mut json);
    let Value::Object(mut map) = json else {
        return Err(validation_error("input: expected an object"));
    };
    let key = match map.remove("idempotency_key") {
        Some(Value::String(k)) => Some(k),
        _ => None,
    };
    map.insert("command".to_owned(), Value::String(name.to_owned()));
    let command = serde_json::from_value::<Command>(Value::Object(map))
        .map_err(|e| validation_error(format!("input: {e}")))?;
    Ok((command, key))
}

async fn run<I: Serialize + CheckInput>(
    ctx: &Context<'_>,
    min: Role,
    name: &str,
    input: &I,
) -> ApiResult<CommandResult> {
    let caller = require(ctx, min)?;
    input.check()?;
    let (command, key) = to_command(name, input)?;
    let output = service(ctx)?
        .execute(&caller.name, command, key)
        .await
        .map_err(service_error)?;
    Ok(CommandResult {
        events: output.events.iter().map(EventRecord::from).collect(),
        exposure: output.exposure.as_ref().map(Exposure::from),
    })
}

#[derive(Default)]
pub struct MutationRoot;

macro_rules! command_mutations {
    ($( $(#[$doc:meta])* $method:ident($input:ty) => $name:literal, $role:expr; )*) => {
        // Named apart from the merged `MutationRoot` (mod.rs) it is part of.
        #[Object(name = "CommandMutations")]
        impl MutationRoot {
            $(
                $(#[$doc])*
                async fn $method(&self, ctx: &Context<'_>, input: $input) -> ApiResult<CommandResult> {
                    run(ctx, $role, $name, &input).await
                }
            )*

            /// Adopts a policy document (TOML, SPEC §5) as the next version.
            async fn adopt_policy(
                &self,
                ctx: &Context<'_>,
                input: AdoptPolicyInput,
            ) -> ApiResult<CommandResult> {
                let caller = require(ctx, Role::Admin)?;
                let events = service(ctx)?
                    .adopt_policy(&caller.name, &input.document, input.idempotency_key.clone())
                    .await
                    .map_err(policy_error)?;
                Ok(CommandResult {
                    events: events.iter().map(EventRecord::from).collect(),
                    exposure: None,
                })
            }

            /// Runs the clock through `date` (default today): late fees, broken promises, holds.
            async fn tick(&self, ctx: &Context<'_>, input: TickInput) -> ApiResult<CommandResult> {
                require(ctx, Role::Admin)?;
                // The clock is idempotent by itself (ticking twice emits nothing the second time),
                // so `idempotencyKey` is accepted for uniformity and needs no record.
                let date = match input.date {
                    Some(d) => d.0,
                    None => service(ctx)?.today(),
                };
                if let Some(key) = input.idempotency_key.as_deref() {
                    check_idempotency_key(key).map_err(validation_error)?;
                }
                let events = service(ctx)?.tick(date).await.map_err(service_error)?;
                Ok(CommandResult {
                    events: events.iter().map(EventRecord::from).collect(),
                    exposure: None,
                })
            }
        }
    };
}

command_mutations! {
    /// Opens a customer account (stream `account-{customerId}`).
    open_account(OpenAccountInput) => "open_account", Role::Admin;
    change_credit_limit(ChangeCreditLimitInput) => "change_credit_limit", Role::Admin;
    change_terms(ChangeTermsInput) => "change_terms", Role::Admin;
    /// Contact details (seed 003: collectors check and correct them at every contact).
    update_contact_details(UpdateContactDetailsInput) => "update_contact_details", Role::Collector;
    verify_contact_details(VerifyContactDetailsInput) => "verify_contact_details", Role::Collector;
    assign_sales_rep(AssignSalesRepInput) => "assign_sales_rep", Role::Admin;
    issue_invoice(IssueInvoiceInput) => "issue_invoice", Role::Admin;
    confirm_delivery(ConfirmDeliveryInput) => "confirm_delivery", Role::Admin;
    raise_dispute(RaiseDisputeInput) => "raise_dispute", Role::Admin;
    resolve_dispute(ResolveDisputeInput) => "resolve_dispute", Role::Admin;
    issue_credit_note(IssueCreditNoteInput) => "issue_credit_note", Role::Admin;
    write_off_invoice(WriteOffInvoiceInput) => "write_off_invoice", Role::Admin;
    record_payment(RecordPaymentInput) => "record_payment", Role::Admin;
    reverse_payment(ReversePaymentInput) => "reverse_payment", Role::Admin;
    apply_unapplied_cash(ApplyUnappliedCashInput) => "apply_unapplied_cash", Role::Admin;
    /// A reminder sent (a contact: collectors may record it).
    record_reminder(RecordReminderInput) => "record_reminder", Role::Collector;
    log_call(LogCallInput) => "log_call", Role::Collector;
    notify_sales_rep(NotifySalesRepInput) => "notify_sales_rep", Role::Collector;
    record_promise(RecordPromiseInput) => "record_promise", Role::Collector;
    agree_payment_plan(AgreePaymentPlanInput) => "agree_payment_plan", Role::Collector;
    hold_account(HoldAccountInput) => "hold_account", Role::Admin;
    release_account(ReleaseAccountInput) => "release_account", Role::Admin;
    escalate(EscalateInput) => "escalate", Role::Admin;
}
