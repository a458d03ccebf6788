//! Reminders over GraphQL (SPEC §12): `previewReminder` renders what would be sent,
//! `sendReminder` sends it now by the step's channel and returns the `ReminderSent` or
//! `ReminderFailed` event. Both for collectors.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use domain::{CustomerId, ErrorKind, InvoiceId};

use super::types::{CommandResult, EventRecord, Exposure};
use super::{coded_error, require, service, service_error, validation_error, ApiResult};
use crate::api::limits::check_idempotency_key;
use crate::app::auth::Role;
use crate::reminders::{Delivered, Request};

/// A reminder as it would be sent: recipient, subject, body, the language of the template used,
/// and the invoices it covers.
#[derive(SimpleObject)]
pub struct ReminderPreview {
    /// The e-mail address (email steps) or postal address (letters); null when none is on file.
    pub to: Option<String>,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub invoice_ids: Vec<ID>,
    pub channel: String,
    pub message_id: String,
}

#[derive(InputObject)]
pub struct SendReminderInput {
    pub customer_id: ID,
    pub step: String,
    /// The invoices to name; default: those the worklist has due for this step today.
    pub invoice_ids: Option<Vec<ID>>,
    pub idempotency_key: Option<String>,
}

fn customer_id(value: &str) -> ApiResult<CustomerId> {
    CustomerId::parse(value).map_err(|e| validation_error(format!("customerId: {e}")))
}

fn invoice_ids(ids: &Option<Vec<ID>>) -> ApiResult<Option<Vec<InvoiceId>>> {
    ids.as_ref()
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    InvoiceId::parse(id.as_str())
                        .map_err(|e| validation_error(format!("invoiceIds: {e}")))
                })
                .collect()
        })
        .transpose()
}

#[derive(Default)]
pub struct ReminderQuery;

#[Object]
impl ReminderQuery {
    /// The reminder for a ladder step as it would be sent today, in `language` (default: the
    /// customer's). Covers the invoices due for the step, or every open invoice if none is.
    async fn preview_reminder(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        step: String,
        language: Option<String>,
    ) -> ApiResult<ReminderPreview> {
        require(ctx, Role::Collector)?;
        let customer = self::customer_id(customer_id.as_str())?;
        if let Some(l) = &language {
            if !domain::decide::is_language_tag(l) {
                return Err(validation_error(format!(
                    "language = {l:?}: not a BCP 47 language tag (e.g. \"en\", \"pt-BR\")"
                )));
            }
        }
        let service = service(ctx)?;
        let req = Request {
            customer_id: &customer,
            step: &step,
            date: service.today(),
            invoice_ids: None,
            language: language.as_deref(),
            open_when_nothing_due: true,
        };
        let draft = service
            .reminders
            .compose(service, &req)
            .map_err(service_error)?;
        Ok(ReminderPreview {
            to: draft.to.clone(),
            subject: draft.rendered.subject.clone(),
            body: draft.rendered.body.clone(),
            language: draft.rendered.language.clone(),
            invoice_ids: draft
                .invoice_ids
                .iter()
                .map(|i| ID(i.to_string()))
                .collect(),
            channel: format!("{:?}", draft.channel).to_lowercase(),
            message_id: draft.message_id.clone(),
        })
    }
}

#[derive(Default)]
pub struct ReminderMutation;

#[Object]
impl ReminderMutation {
    /// Sends the reminder for a ladder step now, by the step's channel (email or letter), and
    /// returns the `ReminderSent` (accepted) or `ReminderFailed` (refused for good) event. A
    /// temporary failure is retried a few times, then answered `INVALID_STATE` while the server
    /// keeps retrying it in the background; it is recorded once when accepted.
    async fn send_reminder(
        &self,
        ctx: &Context<'_>,
        input: SendReminderInput,
    ) -> ApiResult<CommandResult> {
        let caller = require(ctx, Role::Collector)?;
        let customer = customer_id(input.customer_id.as_str())?;
        let invoices = invoice_ids(&input.invoice_ids)?;
        if let Some(key) = &input.idempotency_key {
            check_idempotency_key(key).map_err(validation_error)?;
        }
        let service = service(ctx)?;
        let req = Request {
            customer_id: &customer,
            step: &input.step,
            date: service.today(),
            invoice_ids: invoices.as_deref(),
            language: None,
            open_when_nothing_due: false,
        };
        let reminders = &service.reminders;
        let draft = reminders.compose(service, &req).map_err(service_error)?;
        let delivered = reminders
            .deliver(
                service,
                &draft,
                &caller.name,
                crate::reminders::outbox::INTERACTIVE_ATTEMPTS_MAX,
            )
            .await
            .map_err(service_error)?;
        let events = match delivered {
            Delivered::Sent(events) | Delivered::Failed(events) => events,
            Delivered::Deferred(reason) => {
                return Err(coded_error(
                    ErrorKind::InvalidState,
                    format!(
                        "step = {:?}: not delivered yet ({reason}); the server retries it and records it once accepted",
                        input.step
                    ),
                ))
            }
        };
        let exposure = service.live.read().exposure(&customer, service.today());
        Ok(CommandResult {
            events: events.iter().map(EventRecord::from).collect(),
            exposure: exposure.as_ref().map(Exposure::from),
        })
    }
}
