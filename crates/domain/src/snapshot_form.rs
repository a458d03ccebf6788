//! The account state in bincode's own (native, not serde) form, for the projection snapshot:
//! `bincode::Encode` and `bincode::Decode` for `Account` and everything inside it.
//!
//! Serde's visitors decoded every struct and tuple through a sequence access, and every id was
//! read into a `String` and checked again (`InvoiceId::parse`): most of a 10M-event restart
//! (docs/performance.md, "The gaps"). Here each field is read straight from the slice:
//!
//! - integers are bincode varints; dates are day numbers from 1970-01-01 (zigzag varints, 3
//!   bytes today); amounts are the decimal's 96-bit magnitude (varint) and its scale-and-sign
//!   bits (varint), exact, `-0` included — the forms of `crate::binary_form`; instants are
//!   seconds (varint) and nanoseconds (varint) since the Unix epoch; an option is a tag byte
//!   (0 or 1) then the value; a list is its count (varint) then its items;
//! - ids are copied from the bytes into their inline form without being checked against the id
//!   rule again: only a snapshot whose CRC matched is decoded, so the bytes are those this
//!   build wrote from ids that were checked when they came in (`from_snapshot` in `id.rs`,
//!   crate-private; ids from the API and the log are always parsed). An id whose bytes are not
//!   UTF-8 (which the CRC rules out) reads as empty text: nothing panics on it;
//! - nothing is allocated from a count or a length before the bytes it promises are known to be
//!   there (each item takes at least one byte), so a corrupt count is an error, and the largest
//!   reservation is bounded by the frame's size. Decode from a slice (`decode_from_slice`):
//!   a reader that cannot peek refuses every non-empty list.
//!
//! Never used on events: their stored bytes are fixed forever (`store::codec`).

use std::collections::HashSet;
use std::hash::Hash;

use bincode::de::read::Reader;
use bincode::de::Decoder;
use bincode::enc::write::Writer;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::account::{Account, ContactMade, DeliveryFailure, Hold, Payment, Release, StatusChange};
use crate::event::{Allocation, Contacts, Terms};
use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use crate::id_index::IdIndex;
use crate::invoice::{Dispute, Entry, EntryKind, Fee, Invoice, InvoiceExtras, Released};
use crate::money::Currency;
use crate::promise::Promise;

/// `NaiveDate::from_num_days_from_ce(UNIX_EPOCH_DAYS_FROM_CE)` is 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

// ---- Counts, text, options, lists --------------------------------------------------------------

/// Writes a list's count or a text's length.
pub fn encode_len<E: Encoder>(e: &mut E, len: usize) -> Result<(), EncodeError> {
    (len as u64).encode(e)
}

/// Reads a count (of items of at least one byte each) or a length in bytes, and checks that
/// at least that many bytes remain: what bounds every allocation made from it.
pub fn decode_len<D: Decoder>(d: &mut D) -> Result<usize, DecodeError> {
    let len = u64::decode(d)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::OutsideUsizeRange(len))?;
    if d.reader().peek_read(len).is_none() {
        return Err(DecodeError::Other(
            "a count or length is larger than the bytes that remain",
        ));
    }
    Ok(len)
}

/// Writes `items`, each with `item`.
pub fn encode_list<E: Encoder, T>(
    e: &mut E,
    items: &[T],
    mut item: impl FnMut(&mut E, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    encode_len(e, items.len())?;
    items.iter().try_for_each(|t| item(e, t))
}

/// Reads a list written by [`encode_list`], each item with `item`, into a vector of exactly its
/// length.
pub fn decode_list<D: Decoder, T>(
    d: &mut D,
    mut item: impl FnMut(&mut D) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let len = decode_len(d)?;
    let mut items = Vec::with_capacity(len);
    for _ in 0..len {
        items.push(item(d)?);
    }
    Ok(items)
}

fn encode_items<E: Encoder, T: Encode>(e: &mut E, items: &[T]) -> Result<(), EncodeError> {
    encode_list(e, items, |e, t| t.encode(e))
}

fn decode_items<D: Decoder, T: Decode<D::Context>>(d: &mut D) -> Result<Vec<T>, DecodeError> {
    decode_list(d, T::decode)
}

fn encode_set<E: Encoder, T: Encode>(e: &mut E, set: &HashSet<T>) -> Result<(), EncodeError> {
    encode_len(e, set.len())?;
    set.iter().try_for_each(|t| t.encode(e))
}

fn decode_set<D: Decoder, T: Decode<D::Context> + Hash + Eq>(
    d: &mut D,
) -> Result<HashSet<T>, DecodeError> {
    let len = decode_len(d)?;
    let mut set = HashSet::with_capacity(len);
    for _ in 0..len {
        set.insert(T::decode(d)?);
    }
    Ok(set)
}

fn encode_option<E: Encoder, T>(
    e: &mut E,
    value: Option<&T>,
    some: impl FnOnce(&mut E, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match value {
        None => 0u8.encode(e),
        Some(v) => {
            1u8.encode(e)?;
            some(e, v)
        }
    }
}

fn decode_option<D: Decoder, T>(
    d: &mut D,
    some: impl FnOnce(&mut D) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match u8::decode(d)? {
        0 => Ok(None),
        1 => some(d).map(Some),
        found => Err(DecodeError::UnexpectedVariant {
            type_name: "Option",
            allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 1 },
            found: u32::from(found),
        }),
    }
}

fn encode_str<E: Encoder>(e: &mut E, text: &str) -> Result<(), EncodeError> {
    encode_len(e, text.len())?;
    e.writer().write(text.as_bytes())
}

/// The next `len`-prefixed bytes, given to `f` without a copy.
fn with_bytes<D: Decoder, T>(
    d: &mut D,
    f: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let len = decode_len(d)?;
    let value = match d.reader().peek_read(len) {
        Some(bytes) => f(bytes)?,
        None => return Err(DecodeError::Other("text cut short")),
    };
    d.reader().consume(len);
    Ok(value)
}

fn decode_string<D: Decoder>(d: &mut D) -> Result<String, DecodeError> {
    with_bytes(d, |bytes| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|inner| DecodeError::Utf8 { inner })
    })
}

fn encode_opt_str<E: Encoder>(e: &mut E, text: Option<&String>) -> Result<(), EncodeError> {
    encode_option(e, text, |e, t| encode_str(e, t))
}

fn decode_opt_string<D: Decoder>(d: &mut D) -> Result<Option<String>, DecodeError> {
    decode_option(d, decode_string)
}

// ---- Dates, amounts, instants ------------------------------------------------------------------

fn encode_date<E: Encoder>(e: &mut E, date: &NaiveDate) -> Result<(), EncodeError> {
    (date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE).encode(e)
}

fn decode_date<D: Decoder>(d: &mut D) -> Result<NaiveDate, DecodeError> {
    i32::decode(d)?
        .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or(DecodeError::Other("a day number that is not a date"))
}

fn encode_opt_date<E: Encoder>(e: &mut E, date: Option<&NaiveDate>) -> Result<(), EncodeError> {
    encode_option(e, date, encode_date)
}

fn decode_opt_date<D: Decoder>(d: &mut D) -> Result<Option<NaiveDate>, DecodeError> {
    decode_option(d, decode_date)
}

fn encode_decimal<E: Encoder>(e: &mut E, value: &Decimal) -> Result<(), EncodeError> {
    let bytes = value.serialize();
    let mut magnitude = [0u8; 16];
    magnitude[..12].copy_from_slice(&bytes[4..]);
    u128::from_le_bytes(magnitude).encode(e)?;
    u16::from_le_bytes([bytes[2], bytes[3]]).encode(e)
}

fn decode_decimal<D: Decoder>(d: &mut D) -> Result<Decimal, DecodeError> {
    let magnitude = u128::decode(d)?.to_le_bytes();
    let flags = u16::decode(d)?;
    if magnitude[12..].iter().any(|&b| b != 0) {
        return Err(DecodeError::Other("a decimal magnitude wider than 96 bits"));
    }
    let mut bytes = [0u8; 16];
    bytes[2..4].copy_from_slice(&flags.to_le_bytes());
    bytes[4..].copy_from_slice(&magnitude[..12]);
    // `deserialize` keeps only the scale's and the sign's bits and caps the scale: no panic.
    Ok(Decimal::deserialize(bytes))
}

fn encode_opt_decimal<E: Encoder>(e: &mut E, value: Option<&Decimal>) -> Result<(), EncodeError> {
    encode_option(e, value, encode_decimal)
}

fn decode_opt_decimal<D: Decoder>(d: &mut D) -> Result<Option<Decimal>, DecodeError> {
    decode_option(d, decode_decimal)
}

fn encode_instant<E: Encoder>(e: &mut E, at: &DateTime<Utc>) -> Result<(), EncodeError> {
    at.timestamp().encode(e)?;
    at.timestamp_subsec_nanos().encode(e)
}

fn decode_instant<D: Decoder>(d: &mut D) -> Result<DateTime<Utc>, DecodeError> {
    let seconds = i64::decode(d)?;
    let nanos = u32::decode(d)?;
    DateTime::from_timestamp(seconds, nanos).ok_or(DecodeError::Other("an instant out of range"))
}

// ---- Ids and currency --------------------------------------------------------------------------

macro_rules! id_form {
    ($($name:ident),*) => {$(
        impl Encode for $name {
            fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                encode_str(e, self.as_str())
            }
        }
        impl<C> Decode<C> for $name {
            fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
                with_bytes(d, |bytes| {
                    $name::from_snapshot(bytes)
                        .ok_or(DecodeError::Other(concat!("a ", stringify!($name), " that is too long or not UTF-8")))
                })
            }
        }
    )*};
}

id_form!(
    CustomerId,
    InvoiceId,
    PaymentId,
    PromiseId,
    CreditNoteId,
    PlanId
);

impl Encode for Currency {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_str(e, self.as_str())
    }
}

impl<C> Decode<C> for Currency {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        // Three letters, once per account: checking them costs nothing worth saving.
        with_bytes(d, |bytes| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|code| Currency::parse(code).ok())
                .ok_or(DecodeError::Other(
                    "a currency that is not three uppercase letters",
                ))
        })
    }
}

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

// ---- Invoices ----------------------------------------------------------------------------------

impl Encode for EntryKind {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        match self {
            EntryKind::LateFee => 0u8.encode(e),
            EntryKind::Payment(index) => {
                1u8.encode(e)?;
                (*index as u64).encode(e)
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
            1 => {
                let index = u64::decode(d)?;
                EntryKind::Payment(
                    usize::try_from(index).map_err(|_| DecodeError::OutsideUsizeRange(index))?,
                )
            }
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
        encode_decimal(e, &self.change)?;
        self.kind.encode(e)
    }
}

impl<C> Decode<C> for Entry {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Entry {
            on: decode_date(d)?,
            until: decode_opt_date(d)?,
            change: decode_decimal(d)?,
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

fn encode_step<E: Encoder>(e: &mut E, (step, on): &(String, NaiveDate)) -> Result<(), EncodeError> {
    encode_str(e, step)?;
    encode_date(e, on)
}

fn decode_step<D: Decoder>(d: &mut D) -> Result<(String, NaiveDate), DecodeError> {
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
        encode_opt_date(e, self.escalated_on.as_ref())
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
        })
    }
}

impl Encode for Invoice {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.id.encode(e)?;
        encode_decimal(e, &self.amount)?;
        encode_date(e, &self.issued_on)?;
        encode_date(e, &self.due_on)?;
        self.terms.encode(e)?;
        encode_items(e, &self.entries)?;
        encode_option(e, self.extras.as_deref(), |e, x| x.encode(e))
    }
}

impl<C> Decode<C> for Invoice {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Invoice {
            id: InvoiceId::decode(d)?,
            amount: decode_decimal(d)?,
            issued_on: decode_date(d)?,
            due_on: decode_date(d)?,
            terms: Terms::decode(d)?,
            entries: decode_items(d)?,
            extras: decode_option(d, |d| InvoiceExtras::decode(d).map(Box::new))?,
        })
    }
}

// ---- Payments, promises, holds, contacts -------------------------------------------------------

impl Encode for Allocation {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.invoice_id.encode(e)?;
        encode_decimal(e, &self.amount)?;
        encode_decimal(e, &self.discount)
    }
}

impl<C> Decode<C> for Allocation {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Allocation {
            invoice_id: InvoiceId::decode(d)?,
            amount: decode_decimal(d)?,
            discount: decode_decimal(d)?,
        })
    }
}

impl Encode for Payment {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.id.encode(e)?;
        encode_decimal(e, &self.amount)?;
        encode_date(e, &self.received_on)?;
        encode_str(e, &self.method)?;
        encode_items(e, &self.allocations)?;
        encode_decimal(e, &self.unapplied)?;
        encode_opt_date(e, self.reversed_on.as_ref())
    }
}

impl<C> Decode<C> for Payment {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(Payment {
            id: PaymentId::decode(d)?,
            amount: decode_decimal(d)?,
            received_on: decode_date(d)?,
            method: decode_string(d)?,
            allocations: decode_items(d)?,
            unapplied: decode_decimal(d)?,
            reversed_on: decode_opt_date(d)?,
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
        let mut account = Account {
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
        };
        account.restore_indexes();
        Ok(account)
    }
}
