//! Payload shapes of older schemas, kept to decode the bytes written with them.

use chrono::{DateTime, NaiveDate, Utc};
use domain::event::*;
use domain::id::{CustomerId, InvoiceId, PromiseId};
use domain::money::Currency;
use rust_decimal::Decimal;
use serde::Deserialize;

/// `Contacts` before `billing_email` and `language`.
#[derive(Deserialize)]
pub struct ContactsV1 {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub postal_address: Option<String>,
    pub billing_contact: Option<String>,
}

impl From<ContactsV1> for Contacts {
    fn from(c: ContactsV1) -> Contacts {
        Contacts {
            emails: c.emails,
            phones: c.phones,
            postal_address: c.postal_address,
            billing_contact: c.billing_contact,
            billing_email: None,
            language: None,
        }
    }
}

#[derive(Deserialize)]
pub struct AccountOpenedV1 {
    pub customer_id: CustomerId,
    pub name: String,
    pub currency: Currency,
    pub credit_limit: Decimal,
    pub terms: Terms,
    pub opened_on: NaiveDate,
    pub contacts: ContactsV1,
    pub sales_rep: Option<String>,
}

impl From<AccountOpenedV1> for AccountOpened {
    fn from(e: AccountOpenedV1) -> AccountOpened {
        AccountOpened {
            customer_id: e.customer_id,
            name: e.name,
            currency: e.currency,
            credit_limit: e.credit_limit,
            terms: e.terms,
            opened_on: e.opened_on,
            contacts: e.contacts.into(),
            sales_rep: e.sales_rep,
        }
    }
}

#[derive(Deserialize)]
pub struct ContactDetailsUpdatedV1 {
    pub contacts: ContactsV1,
}

impl From<ContactDetailsUpdatedV1> for ContactDetailsUpdated {
    fn from(e: ContactDetailsUpdatedV1) -> ContactDetailsUpdated {
        ContactDetailsUpdated {
            contacts: e.contacts.into(),
        }
    }
}

#[derive(Deserialize)]
pub struct ReminderSentV1 {
    pub invoice_ids: Vec<InvoiceId>,
    pub channel: ReminderChannel,
    pub step: Option<String>,
    pub template: Option<String>,
    pub sent_at: DateTime<Utc>,
}

impl From<ReminderSentV1> for ReminderSent {
    fn from(e: ReminderSentV1) -> ReminderSent {
        ReminderSent {
            invoice_ids: e.invoice_ids,
            channel: e.channel,
            step: e.step,
            template: e.template,
            sent_at: e.sent_at,
            message_id: None,
            to: None,
            language: None,
            content_sha256: None,
        }
    }
}

/// `PaymentPromised` before `made_at`.
#[derive(Deserialize)]
pub struct PaymentPromisedV1 {
    pub promise_id: PromiseId,
    pub amount: Decimal,
    pub promised_on: NaiveDate,
    pub invoice_ids: Vec<InvoiceId>,
    pub made_on: NaiveDate,
    pub via: String,
}

impl From<PaymentPromisedV1> for PaymentPromised {
    fn from(p: PaymentPromisedV1) -> PaymentPromised {
        PaymentPromised {
            promise_id: p.promise_id,
            amount: p.amount,
            promised_on: p.promised_on,
            invoice_ids: p.invoice_ids,
            made_on: p.made_on,
            via: p.via,
            // The instant was not recorded: the timeline places the promise by its envelope.
            made_at: None,
        }
    }
}
