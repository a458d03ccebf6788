//! The binary payload schemas: schema 2 of every event type, 3 of the four whose serde form had
//! already reached 2 (decision 0048). The bytes are bincode (the frozen `standard()`
//! configuration of [`super::config`]) of each payload's fields in the order listed below, each
//! in a binary form of its own, written and read with bincode's own encoder and decoder rather
//! than through serde. That order is the stored format.
//!
//! The forms: integers as bincode varints (signed ones zigzagged); dates as their day number
//! from 1970-01-01 (an `i32`, 3 bytes today); instants as seconds since the epoch (`i64`) and
//! nanoseconds (`u32`); a `Decimal` as its 96-bit magnitude (`u128` varint) and one byte of scale
//! (low 5 bits) and sign (top bit), the same parts as `domain::binary_form`;
//! strings and ids as a length and UTF-8 bytes; options and booleans as one byte 0 or 1; enums as
//! the variant's index (`u32`, as the serde form wrote it); sequences as a length and the items.
//! The serde forms (schema 1, or 2 for the four) hold dates, amounts and instants as text, whose
//! parsing was most of a rebuild's decode time (docs/performance.md, "Rebuild").
//!
//! Decoding never panics, and never reserves more than the configured limit allows: a length is
//! claimed against it before anything is reserved, and bytes are taken only if they are there.

use bincode::de::BorrowDecoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{BorrowDecode, Decode, Encode};
use chrono::{DateTime, NaiveDate, Utc};
use domain::event::*;
use domain::{CreditNoteId, Currency, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use rust_decimal::Decimal;

use super::{config, within_limit, CodecError, ENCODED_BYTES_MAX};

/// A payload struct in its binary schema: the local type bincode's traits are implemented for
/// (the orphan rule keeps them off `domain`'s structs).
struct Payload<T>(T);

impl<T: Wire> Encode for Payload<&T> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.0.put(e)
    }
}

impl<'de, T: Wire, Context> BorrowDecode<'de, Context> for Payload<T> {
    fn borrow_decode<D: BorrowDecoder<'de, Context = Context>>(
        d: &mut D,
    ) -> Result<Self, DecodeError> {
        T::get(d).map(Payload)
    }
}

/// Encodes a payload in its binary schema.
pub(super) fn encode<T: Wire>(value: &T) -> Result<Vec<u8>, CodecError> {
    let out = bincode::encode_to_vec(Payload(value), config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    within_limit("payload", out)
}

/// Decodes a payload of its binary schema; every byte must be used.
pub(super) fn decode<T: Wire>(bytes: &[u8]) -> Result<T, CodecError> {
    let (Payload(value), read) =
        bincode::borrow_decode_from_slice::<Payload<T>, _>(bytes, config())
            .map_err(|e| CodecError::Decode(reason(e)))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - read));
    }
    Ok(value)
}

/// What went wrong, in words (bincode's `Display` of its errors is their `Debug`).
fn reason(e: DecodeError) -> String {
    match e {
        DecodeError::OtherString(reason) => reason,
        DecodeError::UnexpectedEnd { .. } => "payload ends early".to_owned(),
        DecodeError::LimitExceeded => {
            format!("a length beyond the {ENCODED_BYTES_MAX}-byte limit")
        }
        DecodeError::Utf8 { inner } => format!("text is not UTF-8 ({inner})"),
        DecodeError::InvalidBooleanValue(b) => format!("boolean byte {b}"),
        other => other.to_string(),
    }
}

fn bad(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::OtherString(what.to_string())
}

/// A value with a binary form in the payload schemas.
pub(super) trait Wire: Sized {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError>;
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError>;
}

/// Types whose bincode form is their binary form.
macro_rules! wire_as_bincode {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                self.encode(e)
            }
            fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
                <$t>::decode(d)
            }
        }
    )*};
}

wire_as_bincode!(u32, u64, bool);

/// Text straight from the payload's bytes, checked for UTF-8, not copied.
fn text<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<&'de str, DecodeError> {
    <&str>::borrow_decode(d)
}

impl Wire for String {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.as_str().encode(e)
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        text(d).map(str::to_owned)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        match self {
            None => 0u8.encode(e),
            Some(v) => {
                1u8.encode(e)?;
                v.put(e)
            }
        }
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        match u8::decode(d)? {
            0 => Ok(None),
            1 => T::get(d).map(Some),
            b => Err(bad(format!("option tag {b}"))),
        }
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        (self.len() as u64).encode(e)?;
        self.iter().try_for_each(|item| item.put(e))
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        let len = usize::try_from(u64::decode(d)?).map_err(bad)?;
        // As bincode's own `Vec`: the room is claimed against the limit before it is reserved,
        // and given back item by item as the items claim their own bytes.
        d.claim_container_read::<T>(len)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            d.unclaim_bytes_read(std::mem::size_of::<T>());
            items.push(T::get(d)?);
        }
        Ok(items)
    }
}

/// Dates are day numbers from 1970-01-01 (`domain::binary_form`): today's take 3 bytes.
impl Wire for NaiveDate {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        domain::binary_form::day_number(*self).encode(e)
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        let day = i32::decode(d)?;
        domain::binary_form::date_from_day(day)
            .ok_or_else(|| bad(format!("day number {day} is not a date")))
    }
}

impl Wire for DateTime<Utc> {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.timestamp().encode(e)?;
        self.timestamp_subsec_nanos().encode(e)
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        let secs = i64::decode(d)?;
        let nanos = u32::decode(d)?;
        DateTime::from_timestamp(secs, nanos)
            .ok_or_else(|| bad(format!("{secs} s {nanos} ns is not an instant")))
    }
}

/// `Decimal`'s largest scale.
const DECIMAL_SCALE_MAX: u8 = 28;
const SIGN_BIT: u8 = 0x80;

impl Wire for Decimal {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        // `serialize`: flags (scale in byte 2, sign in the top bit of byte 3), then the 96-bit
        // magnitude little endian. Exact, `-0` and trailing zeros (`1.50`) included.
        let bytes = self.serialize();
        let mut magnitude = [0u8; 16];
        magnitude[..12].copy_from_slice(&bytes[4..]);
        u128::from_le_bytes(magnitude).encode(e)?;
        (bytes[2] | (bytes[3] & SIGN_BIT)).encode(e)
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        let magnitude = u128::decode(d)?;
        let flags = u8::decode(d)?;
        if magnitude >> 96 != 0 {
            return Err(bad("decimal magnitude wider than 96 bits"));
        }
        let scale = flags & !SIGN_BIT;
        if scale > DECIMAL_SCALE_MAX {
            return Err(bad(format!(
                "decimal scale {scale} above {DECIMAL_SCALE_MAX}"
            )));
        }
        let mut bytes = [0u8; 16];
        bytes[2] = scale;
        bytes[3] = flags & SIGN_BIT;
        bytes[4..].copy_from_slice(&magnitude.to_le_bytes()[..12]);
        Ok(Decimal::deserialize(bytes))
    }
}

impl Wire for Currency {
    fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.as_str().encode(e)
    }
    fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
        Currency::parse(text(d)?).map_err(bad)
    }
}

/// Ids are checked as on every other way in (SPEC §2), straight from the payload's bytes.
macro_rules! wire_id {
    ($($id:ident),*) => {$(
        impl Wire for $id {
            fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                self.as_str().encode(e)
            }
            fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
                $id::parse(text(d)?).map_err(bad)
            }
        }
    )*};
}

wire_id!(
    CustomerId,
    InvoiceId,
    PaymentId,
    PlanId,
    PromiseId,
    CreditNoteId
);

/// Enums as the index of their variant, as the serde form stored them (pinned by the golden
/// tests).
macro_rules! wire_enum {
    ($($enum:ident { $($variant:ident = $tag:literal),* })*) => {$(
        impl Wire for $enum {
            fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                let tag: u32 = match self {
                    $($enum::$variant => $tag,)*
                };
                tag.encode(e)
            }
            fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
                match u32::decode(d)? {
                    $($tag => Ok($enum::$variant),)*
                    b => Err(bad(format!("{} tag {b}", stringify!($enum)))),
                }
            }
        }
    )*};
}

wire_enum! {
    ReminderChannel { Email = 0, Letter = 1, Sms = 2 }
    EscalationTarget { CollectionAgency = 0, Legal = 1 }
}

/// Structs as their fields in the order listed, which is the stored order: listing every field
/// is checked by the compiler on both sides (the pattern and the struct literal, which Rust
/// evaluates in the order written).
macro_rules! wire_struct {
    ($($name:ident { $($field:ident),* $(,)? })*) => {$(
        impl Wire for $name {
            fn put<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                let $name { $($field),* } = self;
                $($field.put(e)?;)*
                Ok(())
            }
            fn get<'de, D: BorrowDecoder<'de>>(d: &mut D) -> Result<Self, DecodeError> {
                Ok($name {
                    $($field: Wire::get(d).map_err(|e| in_field(stringify!($name), stringify!($field), e))?,)*
                })
            }
        }
    )*};
}

/// Names the field a decoding error happened in (the innermost one).
fn in_field(name: &str, field: &str, e: DecodeError) -> DecodeError {
    match e {
        DecodeError::OtherString(reason) if reason.contains(" in field ") => {
            DecodeError::OtherString(reason)
        }
        other => DecodeError::OtherString(format!("{} in field {name}.{field}", reason(other))),
    }
}

wire_struct! {
    Terms { net_days, discount_percent, discount_days }
    Contacts { emails, phones, postal_address, billing_contact, billing_email, language }
    Allocation { invoice_id, amount, discount }
    Application { invoice_id, amount }
    Installment { promise_id, amount, promised_on }

    AccountOpened { customer_id, name, currency, credit_limit, terms, opened_on, contacts, sales_rep }
    CreditLimitChanged { new_limit, reason }
    TermsChanged { terms }
    ContactDetailsUpdated { contacts }
    ContactDetailsVerified { verified_on, by }
    SalesRepAssigned { sales_rep }
    InvoiceIssued { invoice_id, amount, issued_on, due_on, terms, reference, override_reason }
    InvoiceDelivered { invoice_id, channel, confirmed_on }
    InvoiceDisputed { invoice_id, reason, disputed_on }
    DisputeResolved { invoice_id, outcome, resolved_on }
    CreditNoteIssued { credit_note_id, invoice_id, amount, reason, issued_on }
    LateFeeCharged { invoice_id, amount, charged_on, period }
    LateFeeReversed { invoice_id, period, amount, unapplied, unapplied_on, reason, reverses }
    InvoiceWrittenOff { invoice_id, amount, written_off_on, reason }
    PaymentReceived { payment_id, amount, received_on, method, allocations, unapplied }
    PaymentReversed { payment_id, reversed_on, reason }
    UnappliedCashApplied { allocations, applied_on }
    ReminderSent { invoice_ids, channel, step, template, sent_at, message_id, to, language, content_sha256 }
    ReminderFailed { invoice_ids, channel, step, to, reason, permanent, failed_at }
    CallLogged { invoice_ids, outcome, step, called_at, notes }
    SalesRepNotified { invoice_ids, sales_rep, step, notified_at }
    PaymentPromised { promise_id, amount, promised_on, invoice_ids, made_on, via, made_at }
    PaymentPlanAgreed { plan_id, installments, agreed_on }
    PromiseKept { promise_id, kept_on }
    PromiseBroken { promise_id, shortfall, effective_on }
    PromiseReinstated { promise_id, reason, reverses, effective_on }
    AccountHeld { reason, rule, manual, effective_on }
    AccountReleased { reason, manual, effective_on }
    CashOnlyImposed { reason, effective_on }
    CashOnlyLifted { effective_on }
    Escalated { invoice_ids, to, escalated_on, notes }
    PolicyAdopted { version, name, document }
}
