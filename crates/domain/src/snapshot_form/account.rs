//! The native form of an account and the rest of what it holds: terms, contacts, payments,
//! promises, holds and cash-only changes, contacts made, delivery failures.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use super::invoice::{decode_step, encode_step};
use super::*;
use crate::account::{Account, ContactMade, DeliveryFailure, Hold, Payment, Release, StatusChange};
use crate::event::{Contacts, Terms};
use crate::id::{CreditNoteId, CustomerId, PaymentId, PlanId, PromiseId};
use crate::id_index::IdIndex;
use crate::money::Currency;
use crate::promise::Promise;

// ---- Terms and contacts ------------------------------------------------------------------------

impl Encode for Terms {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.net_days.encode(e)?;
        encode_opt_decimal(e, self.discount_percent.as_ref())?;
        self.discount_days.encode(e)
    }
}

impl<C> Decode<C> for Terms {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Terms {
            net_days: u32::decode(d)?,
            discount_percent: decode_opt_decimal(d)?,
            discount_days: Option::<u32>::decode(d)?,
        })
    }
}

impl Encode for Contacts {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_list(e, &self.emails, |e, s| encode_str(e, s))?;
        encode_list(e, &self.phones, |e, s| encode_str(e, s))?;
        encode_opt_str(e, self.postal_address.as_ref())?;
        encode_opt_str(e, self.billing_contact.as_ref())?;
        encode_opt_str(e, self.billing_email.as_ref())?;
        encode_opt_str(e, self.language.as_ref())
    }
}

impl<C> Decode<C> for Contacts {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Contacts {
            emails: decode_list(d, decode_string)?,
            phones: decode_list(d, decode_string)?,
            postal_address: decode_opt_string(d)?,
            billing_contact: decode_opt_string(d)?,
            billing_email: decode_opt_string(d)?,
            language: decode_opt_string(d)?,
        })
    }
}

// ---- Payments, promises, holds, contacts -------------------------------------------------------

impl Encode for Payment {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.id.encode(e)?;
        encode_amount(e, self.amount)?;
        encode_date(e, &self.received_on)?;
        encode_opt_date(e, self.reversed_on.as_ref())?;
        encode_amount(e, self.unapplied)?;
        encode_items(e, &self.invoices)
    }
}

impl<C> Decode<C> for Payment {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Payment {
            id: PaymentId::decode(d)?,
            amount: decode_amount(d)?,
            received_on: decode_date(d)?,
            reversed_on: decode_opt_date(d)?,
            unapplied: decode_amount(d)?,
            invoices: decode_one_or_many(d, u32::decode)?,
        })
    }
}

impl Encode for Promise {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.id.encode(e)?;
        encode_decimal(e, &self.amount)?;
        encode_date(e, &self.promised_on)?;
        encode_items(e, &self.invoice_ids)?;
        encode_date(e, &self.made_on)?;
        encode_str(e, &self.via)?;
        encode_option(e, self.plan_id.as_ref(), |e, p| p.encode(e))?;
        encode_opt_date(e, self.kept_on.as_ref())?;
        encode_opt_date(e, self.broken_on.as_ref())?;
        encode_opt_decimal(e, self.shortfall.as_ref())?;
        self.broken_position.encode(e)
    }
}

impl<C> Decode<C> for Promise {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Promise {
            id: PromiseId::decode(d)?,
            amount: decode_decimal(d)?,
            promised_on: decode_date(d)?,
            invoice_ids: decode_items(d)?,
            made_on: decode_date(d)?,
            via: decode_string(d)?,
            plan_id: decode_option(d, PlanId::decode)?,
            kept_on: decode_opt_date(d)?,
            broken_on: decode_opt_date(d)?,
            shortfall: decode_opt_decimal(d)?,
            broken_position: Option::<u64>::decode(d)?,
        })
    }
}

impl Encode for Hold {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_str(e, &self.reason)?;
        encode_opt_str(e, self.rule.as_ref())?;
        self.manual.encode(e)
    }
}

impl<C> Decode<C> for Hold {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Hold {
            reason: decode_string(d)?,
            rule: decode_opt_string(d)?,
            manual: bool::decode(d)?,
        })
    }
}

impl Encode for Release {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_str(e, &self.reason)?;
        self.manual.encode(e)
    }
}

impl<C> Decode<C> for Release {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Release {
            reason: decode_string(d)?,
            manual: bool::decode(d)?,
        })
    }
}

/// What a status change holds: a hold, or a cash-only reason.
trait StatusForm: Sized {
    fn encode_state<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError>;
    fn decode_state<D: Decoder>(d: &mut D) -> Result<Self, DecodeError>;
}

impl StatusForm for Hold {
    fn encode_state<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.encode(e)
    }
    fn decode_state<D: Decoder>(d: &mut D) -> Result<Self, DecodeError> {
        Hold::decode(d)
    }
}

impl StatusForm for String {
    fn encode_state<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_str(e, self)
    }
    fn decode_state<D: Decoder>(d: &mut D) -> Result<Self, DecodeError> {
        decode_string(d)
    }
}

impl<T: StatusForm> Encode for StatusChange<T> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_date(e, &self.effective_on)?;
        encode_option(e, self.state.as_ref(), |e, s| s.encode_state(e))?;
        self.automatic.encode(e)?;
        encode_option(e, self.released.as_ref(), |e, r| r.encode(e))
    }
}

impl<C, T: StatusForm> Decode<C> for StatusChange<T> {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(StatusChange {
            effective_on: decode_date(d)?,
            state: decode_option(d, T::decode_state)?,
            automatic: bool::decode(d)?,
            released: decode_option(d, Release::decode)?,
        })
    }
}

impl Encode for ContactMade {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_instant(e, &self.at)?;
        encode_opt_str(e, self.step.as_ref())
    }
}

impl<C> Decode<C> for ContactMade {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(ContactMade {
            at: decode_instant(d)?,
            step: decode_opt_string(d)?,
        })
    }
}

impl Encode for DeliveryFailure {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_opt_str(e, self.step.as_ref())?;
        encode_items(e, &self.invoice_ids)?;
        encode_instant(e, &self.failed_at)?;
        encode_str(e, &self.reason)
    }
}

impl<C> Decode<C> for DeliveryFailure {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(DeliveryFailure {
            step: decode_opt_string(d)?,
            invoice_ids: decode_items(d)?,
            failed_at: decode_instant(d)?,
            reason: decode_string(d)?,
        })
    }
}

// ---- The account -------------------------------------------------------------------------------

impl Encode for Account {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.customer_id.encode(e)?;
        encode_str(e, &self.name)?;
        self.currency.encode(e)?;
        encode_decimal(e, &self.credit_limit)?;
        self.terms.encode(e)?;
        encode_date(e, &self.opened_on)?;
        self.contacts.encode(e)?;
        encode_opt_date(e, self.contacts_verified_on.as_ref())?;
        encode_opt_str(e, self.sales_rep.as_ref())?;
        encode_items(e, &self.invoices)?;
        encode_items(e, &self.payments)?;
        encode_set(e, &self.credit_notes)?;
        encode_list(e, &self.applications, |e, (on, amount)| {
            encode_date(e, on)?;
            encode_decimal(e, amount)
        })?;
        encode_items(e, &self.promises)?;
        encode_set(e, &self.plans)?;
        encode_items(e, &self.holds)?;
        encode_items(e, &self.cash_only)?;
        encode_items(e, &self.contacts_made)?;
        encode_list(e, &self.steps_fulfilled, encode_step)?;
        encode_items(e, &self.delivery_failures)?;
        self.version.encode(e)
    }
}

/// Decodes the account with its lookups by id rebuilt: a decoded account is whole.
impl<C> Decode<C> for Account {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Account {
            customer_id: CustomerId::decode(d)?,
            name: decode_string(d)?,
            currency: Currency::decode(d)?,
            credit_limit: decode_decimal(d)?,
            terms: Terms::decode(d)?,
            opened_on: decode_date(d)?,
            contacts: Contacts::decode(d)?,
            contacts_verified_on: decode_opt_date(d)?,
            sales_rep: decode_opt_string(d)?,
            invoices: decode_items(d)?,
            invoice_index: IdIndex::default(),
            payments: decode_items(d)?,
            payment_index: IdIndex::default(),
            credit_notes: decode_set::<_, CreditNoteId>(d)?,
            applications: decode_list(d, |d| Ok((decode_date(d)?, decode_decimal(d)?)))?,
            promises: decode_items(d)?,
            promise_index: IdIndex::default(),
            plans: decode_set::<_, PlanId>(d)?,
            holds: decode_items(d)?,
            cash_only: decode_items(d)?,
            contacts_made: decode_items(d)?,
            steps_fulfilled: decode_list(d, decode_step)?,
            delivery_failures: decode_items(d)?,
            version: u64::decode(d)?,
        })
    }
}
