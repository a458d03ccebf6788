//! Lean serde forms for the account state's busiest fields (dates, amounts) in binary serde
//! formats, while human-readable formats (JSON) keep the usual text
//! forms, so nothing a person or a client sees changes. Never used on events: their stored bytes
//! are fixed forever.
//!
//! The projection snapshot held the state in these forms up to its format 11; it now writes the
//! state with bincode's own encoder (`crate::snapshot_form`), with the same forms of dates (day
//! numbers from 1970-01-01) and amounts (magnitude and flags). Decoding the text forms had been
//! most of a snapshot's load time (a date parsed from `"2026-03-01"` costs about 1,700
//! instructions; from a day number, a few).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `NaiveDate::from_num_days_from_ce(UNIX_EPOCH_DAYS_FROM_CE)` is 1970-01-01: day numbers
/// counted from there stay small (about 20,000), so they take 3 bytes as varints.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A date as its day number from 1970-01-01 (also `crate::snapshot_form`'s and the store's binary
/// payloads' form).
pub fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// The date of a day number from 1970-01-01 (also the store's binary payloads' form); `None`
/// when out of chrono's range.
pub fn date_from_day(day: i32) -> Option<NaiveDate> {
    day.checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

fn date_of<E: serde::de::Error>(day: i32) -> Result<NaiveDate, E> {
    date_from_day(day).ok_or_else(|| E::custom(format!("day number {day} is not a date")))
}

/// A decimal as its 96-bit magnitude and its scale-and-sign bits (exact, `-0` included; also
/// `crate::snapshot_form`'s form).
pub(crate) fn decimal_parts(value: &Decimal) -> (u128, u16) {
    let bytes = value.serialize();
    let mut magnitude = [0u8; 16];
    magnitude[..12].copy_from_slice(&bytes[4..]);
    let flags = u16::from_le_bytes([bytes[2], bytes[3]]);
    (u128::from_le_bytes(magnitude), flags)
}

/// The decimal of [`decimal_parts`]; `None` when the magnitude is wider than 96 bits.
/// `Decimal::deserialize` keeps only the scale's and the sign's bits and caps the scale: no panic.
pub(crate) fn decimal_from_parts(magnitude: u128, flags: u16) -> Option<Decimal> {
    let magnitude = magnitude.to_le_bytes();
    if magnitude[12..].iter().any(|&b| b != 0) {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[2..4].copy_from_slice(&flags.to_le_bytes());
    bytes[4..].copy_from_slice(&magnitude[..12]);
    Some(Decimal::deserialize(bytes))
}

fn decimal_of<E: serde::de::Error>((magnitude, flags): (u128, u16)) -> Result<Decimal, E> {
    decimal_from_parts(magnitude, flags)
        .ok_or_else(|| E::custom("decimal magnitude wider than 96 bits"))
}

/// `#[serde(with = "crate::binary_form::date")]`
pub mod date {
    use super::*;

    pub fn serialize<S: Serializer>(value: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            value.serialize(s)
        } else {
            day_number(*value).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        if d.is_human_readable() {
            NaiveDate::deserialize(d)
        } else {
            date_of(i32::deserialize(d)?)
        }
    }
}

/// `#[serde(with = "crate::binary_form::optional_date")]`
pub mod optional_date {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            value.serialize(s)
        } else {
            value.map(day_number).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        if d.is_human_readable() {
            Option::<NaiveDate>::deserialize(d)
        } else {
            Option::<i32>::deserialize(d)?.map(date_of).transpose()
        }
    }
}

/// `#[serde(with = "crate::binary_form::decimal")]`
pub mod decimal {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            Serialize::serialize(value, s)
        } else {
            decimal_parts(value).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        if d.is_human_readable() {
            <Decimal as Deserialize>::deserialize(d)
        } else {
            decimal_of(<(u128, u16)>::deserialize(d)?)
        }
    }
}
