//! The native form of an invoice and what it holds: entries, fees, disputes, its extras.

use chrono::NaiveDate;

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use super::*;
use crate::id::InvoiceId;
use crate::invoice::{Discount, Dispute, Entry, EntryKind, Fee, Invoice, InvoiceExtras, Released};

// ---- Invoices ----------------------------------------------------------------------------------

impl Encode for EntryKind {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        match self {
            EntryKind::LateFee => 0u8.encode(e),
            EntryKind::Payment(index) => {
                1u8.encode(e)?;
                index.encode(e)
            }
            EntryKind::CreditNote => 2u8.encode(e),
            EntryKind::WriteOff => 3u8.encode(e),
            EntryKind::UnappliedCash => 4u8.encode(e),
            EntryKind::FeeReleased => 5u8.encode(e),
        }
    }
}

impl<C> Decode<C> for EntryKind {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(match u8::decode(d)? {
            0 => EntryKind::LateFee,
            1 => EntryKind::Payment(u32::decode(d)?),
            2 => EntryKind::CreditNote,
            3 => EntryKind::WriteOff,
            4 => EntryKind::UnappliedCash,
            5 => EntryKind::FeeReleased,
            found => {
                return Err(DecodeError::UnexpectedVariant {
                    type_name: "EntryKind",
                    allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 5 },
                    found: u32::from(found),
                })
            }
        })
    }
}

impl Encode for Entry {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_date(e, &self.on)?;
        encode_opt_date(e, self.until.as_ref())?;
        encode_amount(e, self.change)?;
        self.kind.encode(e)
    }
}

impl<C> Decode<C> for Entry {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Entry {
            on: decode_date(d)?,
            until: decode_opt_date(d)?,
            change: decode_amount(d)?,
            kind: EntryKind::decode(d)?,
        })
    }
}

impl Encode for Released {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_decimal(e, &self.amount)?;
        encode_opt_date(e, self.on.as_ref())
    }
}

impl<C> Decode<C> for Released {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Released {
            amount: decode_decimal(d)?,
            on: decode_opt_date(d)?,
        })
    }
}

impl Encode for Fee {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.period.encode(e)?;
        encode_decimal(e, &self.amount)?;
        encode_date(e, &self.charged_on)?;
        self.position.encode(e)?;
        encode_option(e, self.reversed.as_ref(), |e, r| r.encode(e))
    }
}

impl<C> Decode<C> for Fee {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Fee {
            period: u32::decode(d)?,
            amount: decode_decimal(d)?,
            charged_on: decode_date(d)?,
            position: u64::decode(d)?,
            reversed: decode_option(d, Released::decode)?,
        })
    }
}

impl Encode for Dispute {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_date(e, &self.from)?;
        encode_opt_date(e, self.until.as_ref())?;
        encode_str(e, &self.reason)
    }
}

impl<C> Decode<C> for Dispute {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Dispute {
            from: decode_date(d)?,
            until: decode_opt_date(d)?,
            reason: decode_string(d)?,
        })
    }
}

pub(super) fn encode_step<E: Encoder>(
    e: &mut E,
    (step, on): &(String, NaiveDate),
) -> Result<(), EncodeError> {
    encode_str(e, step)?;
    encode_date(e, on)
}

pub(super) fn decode_step<D: Decoder>(d: &mut D) -> Result<(String, NaiveDate), DecodeError> {
    Ok((decode_string(d)?, decode_date(d)?))
}

impl Encode for InvoiceExtras {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_opt_str(e, self.reference.as_ref())?;
        encode_items(e, &self.disputes)?;
        encode_opt_date(e, self.delivered_on.as_ref())?;
        encode_items(e, &self.fee_periods)?;
        encode_items(e, &self.fees)?;
        encode_list(e, &self.steps_fulfilled, encode_step)?;
        encode_opt_date(e, self.escalated_on.as_ref())?;
        encode_option(e, self.discount.as_ref(), |e, t| {
            encode_decimal(e, &t.percent)?;
            t.days.encode(e)
        })
    }
}

impl<C> Decode<C> for InvoiceExtras {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(InvoiceExtras {
            reference: decode_opt_string(d)?,
            disputes: decode_items(d)?,
            delivered_on: decode_opt_date(d)?,
            fee_periods: decode_items(d)?,
            fees: decode_items(d)?,
            steps_fulfilled: decode_list(d, decode_step)?,
            escalated_on: decode_opt_date(d)?,
            discount: decode_option(d, |d| {
                Ok(Discount {
                    percent: decode_decimal(d)?,
                    days: u32::decode(d)?,
                })
            })?,
        })
    }
}

impl Encode for Invoice {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.id.encode(e)?;
        encode_amount(e, self.amount)?;
        encode_date(e, &self.issued_on)?;
        encode_date(e, &self.due_on)?;
        encode_items(e, &self.entries)?;
        encode_option(e, self.extras.as_deref(), |e, x| x.encode(e))
    }
}

impl<C> Decode<C> for Invoice {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Invoice {
            id: InvoiceId::decode(d)?,
            amount: decode_amount(d)?,
            issued_on: decode_date(d)?,
            due_on: decode_date(d)?,
            entries: decode_one_or_many(d, Entry::decode)?,
            extras: decode_option(d, |d| InvoiceExtras::decode(d).map(Box::new))?,
        })
    }
}
