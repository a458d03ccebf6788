//! The account state in bincode's own (native, not serde) form, for the projection snapshot:
//! `bincode::Encode` and `bincode::Decode` for `Account` and everything inside it.
//!
//! Serde's visitors decoded every struct and tuple through a sequence access, and every id was
//! read into a `String` and checked again (`InvoiceId::parse`): most of a 10M-event restart
//! (docs/performance.md, "The gaps"). Here each field is read straight from the slice:
//!
//! - integers are bincode varints; dates are day numbers from 1970-01-01 (zigzag varints, 3
//!   bytes today); the state's packed amounts (`crate::packed_amount`) are their 64 bits (zigzag
//!   varint); other amounts are the decimal's 96-bit magnitude (varint) and its scale-and-sign
//!   bits (varint), exact, `-0` included — the forms of `crate::binary_form`; instants are
//!   seconds (varint) and nanoseconds (varint) since the Unix epoch; an option is a tag byte
//!   (0 or 1) then the value; a list is its count (varint) then its items;
//! - ids are copied from the bytes into their inline form without being checked against the id
//!   rule again: the snapshot uses nothing it decoded unless the file's CRC matched, so the ids
//!   it keeps are the bytes this build wrote from ids checked when they came in (`from_snapshot`
//!   in `id.rs`, crate-private; ids from the API and the log are always parsed). An id whose
//!   bytes are not UTF-8 (damage the CRC catches) reads as empty text: nothing panics on it;
//! - any bytes decode to a value or an error, never a panic (the snapshot decodes its chunks
//!   while the file is still being read, before the CRC is known); nothing is allocated from a
//!   count or a length before the bytes it promises are known to be there (each item takes at least one byte), so a corrupt count is an error, and the largest
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
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::binary_form;
use crate::id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
use crate::money::Currency;
use crate::one_or_many::OneOrMany;
use crate::packed_amount::PackedAmount;

mod account;
mod invoice;

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
    item: impl FnMut(&mut D) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let len = decode_len(d)?;
    decode_n(d, len, item)
}

/// Reads `len` items (a count [`decode_len`] checked) into a vector of exactly that length.
fn decode_n<D: Decoder, T>(
    d: &mut D,
    len: usize,
    mut item: impl FnMut(&mut D) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut items = Vec::with_capacity(len);
    for _ in 0..len {
        items.push(item(d)?);
    }
    Ok(items)
}

/// Reads a list written by [`encode_list`] into a [`OneOrMany`]: a lone item without a `Vec`.
fn decode_one_or_many<D: Decoder, T>(
    d: &mut D,
    mut item: impl FnMut(&mut D) -> Result<T, DecodeError>,
) -> Result<OneOrMany<T>, DecodeError> {
    match decode_len(d)? {
        0 => Ok(OneOrMany::Empty),
        1 => item(d).map(OneOrMany::One),
        len => decode_n(d, len, item).map(|items| OneOrMany::Many(Box::new(items))),
    }
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
    binary_form::day_number(*date).encode(e)
}

fn decode_date<D: Decoder>(d: &mut D) -> Result<NaiveDate, DecodeError> {
    binary_form::date_from_day(i32::decode(d)?)
        .ok_or(DecodeError::Other("a day number that is not a date"))
}

fn encode_opt_date<E: Encoder>(e: &mut E, date: Option<&NaiveDate>) -> Result<(), EncodeError> {
    encode_option(e, date, encode_date)
}

fn decode_opt_date<D: Decoder>(d: &mut D) -> Result<Option<NaiveDate>, DecodeError> {
    decode_option(d, decode_date)
}

fn encode_decimal<E: Encoder>(e: &mut E, value: &Decimal) -> Result<(), EncodeError> {
    let (magnitude, flags) = binary_form::decimal_parts(value);
    magnitude.encode(e)?;
    flags.encode(e)
}

fn decode_decimal<D: Decoder>(d: &mut D) -> Result<Decimal, DecodeError> {
    let magnitude = u128::decode(d)?;
    let flags = u16::decode(d)?;
    binary_form::decimal_from_parts(magnitude, flags)
        .ok_or(DecodeError::Other("a decimal magnitude wider than 96 bits"))
}

/// A packed amount: its bits (a zigzag varint); a wide one, the bits that mark it and then the
/// decimal (decision 0052).
fn encode_amount<E: Encoder>(e: &mut E, value: PackedAmount) -> Result<(), EncodeError> {
    match value.in_place_bits() {
        Some(bits) => bits.encode(e),
        None => {
            WIDE_AMOUNT.encode(e)?;
            encode_decimal(e, &value.get())
        }
    }
}

/// What [`encode_amount`] writes before a wide amount (bits that pack nothing in place).
const WIDE_AMOUNT: i64 = 7;

fn decode_amount<D: Decoder>(d: &mut D) -> Result<PackedAmount, DecodeError> {
    let bits = i64::decode(d)?;
    match PackedAmount::from_in_place_bits(bits) {
        Some(packed) => Ok(packed),
        None => decode_decimal(d).map(PackedAmount::new),
    }
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
