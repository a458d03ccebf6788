//! The binary payload schemas: schema 2 of every event type, 3 of the four whose serde form had
//! already reached 2 (decision 0048). Written and read by hand, field by field, in the order
//! listed below; that order is the stored format.
//!
//! Each value is written in the least work to read back: unsigned integers as LEB128 varints,
//! signed ones zigzagged first; dates as their day number from 1970-01-01; instants as seconds
//! since the epoch and nanoseconds; a `Decimal` as its 96-bit magnitude (varint) and one byte of
//! scale (low 5 bits) and sign (top bit), the same parts `domain::binary_form` keeps for the
//! snapshot; strings and ids as a varint length and UTF-8 bytes; options and booleans as one byte
//! 0 or 1; enums as one byte, the variant's index (the same index bincode wrote); sequences as a
//! varint count and the items. The serde forms (schema 1, or 2 for the four) read text dates and
//! amounts, which was most of a rebuild's decode time (docs/performance.md, "Rebuild").
//!
//! Decoding never panics and never allocates more than the bytes could hold: a length or count
//! is checked against the bytes left before anything is reserved.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::event::*;
use domain::{CreditNoteId, Currency, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use rust_decimal::Decimal;

use super::{CodecError, ENCODED_BYTES_MAX};

/// Encodes a payload in its binary schema.
pub(super) fn encode<T: Wire>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    value.put(&mut out);
    if out.len() > ENCODED_BYTES_MAX {
        return Err(CodecError::Encode(format!(
            "payload of {} bytes exceeds {ENCODED_BYTES_MAX}",
            out.len()
        )));
    }
    Ok(out)
}

/// Decodes a payload of its binary schema; every byte must be used.
pub(super) fn decode<T: Wire>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut r = Reader { bytes };
    let value = T::get(&mut r)?;
    if !r.bytes.is_empty() {
        return Err(CodecError::TrailingBytes(r.bytes.len()));
    }
    Ok(value)
}

fn bad(what: impl std::fmt::Display) -> CodecError {
    CodecError::Decode(what.to_string())
}

/// The bytes not read yet.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| bad("payload ends early"))?;
        self.bytes = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.bytes.len() {
            return Err(bad(format!(
                "{n} bytes claimed, {} left in the payload",
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// A LEB128 varint of at most `bits` bits.
    fn varint(&mut self, bits: u32) -> Result<u128, CodecError> {
        let mut value = 0u128;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            let low = u128::from(b & 0x7f);
            // `shift < bits` on entry: a byte may only carry bits the value can still hold.
            if shift >= bits || (bits - shift < 7 && low >> (bits - shift) != 0) {
                return Err(bad(format!("varint wider than {bits} bits")));
            }
            value |= low << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn u64(&mut self) -> Result<u64, CodecError> {
        u64::try_from(self.varint(64)?).map_err(bad)
    }

    /// A zigzagged signed integer.
    fn i64(&mut self) -> Result<i64, CodecError> {
        let z = self.u64()?;
        // Zigzag: 0, -1, 1, -2, … ↔ 0, 1, 2, 3, …
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count of items or bytes, each at least one byte, so never more than the bytes left.
    fn len(&mut self) -> Result<usize, CodecError> {
        let n = usize::try_from(self.u64()?).map_err(bad)?;
        if n > self.bytes.len() {
            return Err(bad(format!(
                "length {n} exceeds the {} bytes left in the payload",
                self.bytes.len()
            )));
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<&'a str, CodecError> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|e| bad(format!("text: {e}")))
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u128) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_i64(out: &mut Vec<u8>, value: i64) {
    put_varint(out, u128::from(((value << 1) ^ (value >> 63)) as u64));
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    put_varint(out, value.len() as u128);
    out.extend_from_slice(value.as_bytes());
}

/// A value with a binary form in the payload schemas.
pub(super) trait Wire: Sized {
    fn put(&self, out: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError>;
}

impl Wire for u32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u128::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        u32::try_from(r.varint(32)?).map_err(bad)
    }
}

impl Wire for u64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u128::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        r.u64()
    }
}

impl Wire for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(bad(format!("boolean byte {b}"))),
        }
    }
}

impl Wire for String {
    fn put(&self, out: &mut Vec<u8>) {
        put_str(out, self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        r.str().map(str::to_owned)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.put(out);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match r.byte()? {
            0 => Ok(None),
            1 => T::get(r).map(Some),
            b => Err(bad(format!("option tag {b}"))),
        }
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u128);
        for item in self {
            item.put(out);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let n = r.len()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(T::get(r)?);
        }
        Ok(items)
    }
}

/// Day numbers count from 1970-01-01, which is day 719,163 from the common era: today's dates
/// take 3 bytes.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl Wire for NaiveDate {
    fn put(&self, out: &mut Vec<u8>) {
        put_i64(
            out,
            i64::from(self.num_days_from_ce()) - i64::from(UNIX_EPOCH_DAYS_FROM_CE),
        );
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let day = r.i64()?;
        i32::try_from(day)
            .ok()
            .and_then(|d| d.checked_add(UNIX_EPOCH_DAYS_FROM_CE))
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| bad(format!("day number {day} is not a date")))
    }
}

impl Wire for DateTime<Utc> {
    fn put(&self, out: &mut Vec<u8>) {
        put_i64(out, self.timestamp());
        put_varint(out, u128::from(self.timestamp_subsec_nanos()));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let secs = r.i64()?;
        let nanos = u32::get(r)?;
        DateTime::from_timestamp(secs, nanos)
            .ok_or_else(|| bad(format!("{secs} s {nanos} ns is not an instant")))
    }
}

/// `Decimal`'s largest scale.
const DECIMAL_SCALE_MAX: u8 = 28;
const SIGN_BIT: u8 = 0x80;

impl Wire for Decimal {
    fn put(&self, out: &mut Vec<u8>) {
        // `serialize`: flags (scale in byte 2, sign in the top bit of byte 3), then the 96-bit
        // magnitude little endian. Exact, `-0` and trailing zeros (`1.50`) included.
        let bytes = self.serialize();
        let mut magnitude = [0u8; 16];
        magnitude[..12].copy_from_slice(&bytes[4..]);
        put_varint(out, u128::from_le_bytes(magnitude));
        out.push(bytes[2] | (bytes[3] & SIGN_BIT));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let magnitude = r.varint(96)?.to_le_bytes();
        let flags = r.byte()?;
        let scale = flags & !SIGN_BIT;
        if scale > DECIMAL_SCALE_MAX {
            return Err(bad(format!(
                "decimal scale {scale} above {DECIMAL_SCALE_MAX}"
            )));
        }
        let mut bytes = [0u8; 16];
        bytes[2] = scale;
        bytes[3] = flags & SIGN_BIT;
        bytes[4..].copy_from_slice(&magnitude[..12]);
        Ok(Decimal::deserialize(bytes))
    }
}

impl Wire for Currency {
    fn put(&self, out: &mut Vec<u8>) {
        put_str(out, self.as_str());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Currency::parse(r.str()?).map_err(bad)
    }
}

/// Ids are checked as on every other way in (SPEC §2), straight from the payload's bytes.
macro_rules! wire_id {
    ($($id:ident),*) => {$(
        impl Wire for $id {
            fn put(&self, out: &mut Vec<u8>) {
                put_str(out, self.as_str());
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
                $id::parse(r.str()?).map_err(bad)
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

/// Enums as the index of their variant, as bincode stored them (pinned by the golden tests).
macro_rules! wire_enum {
    ($($enum:ident { $($variant:ident = $tag:literal),* })*) => {$(
        impl Wire for $enum {
            fn put(&self, out: &mut Vec<u8>) {
                out.push(match self {
                    $($enum::$variant => $tag,)*
                });
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
                match r.byte()? {
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
            fn put(&self, out: &mut Vec<u8>) {
                let $name { $($field),* } = self;
                $($field.put(out);)*
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, CodecError> {
                Ok($name {
                    $($field: Wire::get(r).map_err(|e| in_field(stringify!($name), stringify!($field), e))?,)*
                })
            }
        }
    )*};
}

/// Names the field a decoding error happened in (the innermost one).
fn in_field(name: &str, field: &str, e: CodecError) -> CodecError {
    match e {
        CodecError::Decode(reason) if !reason.contains(" in field ") => {
            CodecError::Decode(format!("{reason} in field {name}.{field}"))
        }
        other => other,
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
