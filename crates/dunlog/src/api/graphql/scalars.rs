//! The custom scalars of SPEC §8: `Position` and `Decimal` as strings, `Date` as `YYYY-MM-DD`,
//! `DateTime` as RFC 3339. Each also serializes to the JSON the domain's commands read. The
//! `parse_*` functions say what is wrong with a value and what would be right; the input check
//! (`input.rs`) puts the argument's path and the value in front.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// A log position or stream version (u64; GraphQL `Int` is only 32 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position(pub u64);

#[Scalar(name = "Position")]
impl ScalarType for Position {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_position(&value).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Money and ratios: a decimal written as a string (`"1200.50"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_decimal(&value).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// A business date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_date(&value).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, RFC 3339 (UTC on output, microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for Instant {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_instant(&value).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

/// Most significant digits a `Decimal` holds (rust_decimal's 96-bit mantissa).
const DECIMAL_DIGITS_MAX: usize = 28;

/// A position: digits, as a string (or a small integer).
pub fn parse_position(value: &Value) -> Result<Position, String> {
    match value {
        Value::String(s) => s
            .parse::<u64>()
            .map(Position)
            .map_err(|_| "not a position: expected digits as a string, e.g. \"42\"".to_owned()),
        Value::Number(n) => n
            .as_u64()
            .map(Position)
            .ok_or_else(|| "not a position: expected a whole number of 0 or more".to_owned()),
        _ => Err("not a position: expected digits as a string, e.g. \"42\"".to_owned()),
    }
}

/// A decimal written as a string: digits with an optional sign and point, no exponent.
pub fn parse_decimal(value: &Value) -> Result<Decimal, String> {
    const HOW: &str = "write digits with an optional point, as a string, e.g. \"1200.50\"";
    match value {
        Value::String(s) => {
            let t = s.trim();
            let plain = !t.is_empty()
                && t.trim_start_matches(['-', '+'])
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
                && t.matches('.').count() <= 1
                && t.chars().any(|c| c.is_ascii_digit());
            if !plain {
                return Err(format!("not a decimal number: {HOW}"));
            }
            let digits = t
                .trim_start_matches(['-', '+'])
                .trim_start_matches(['0', '.'])
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            if digits > DECIMAL_DIGITS_MAX {
                return Err(format!(
                    "{digits} significant digits; a decimal holds at most {DECIMAL_DIGITS_MAX} \
                     (and amounts are at most 10^15)"
                ));
            }
            t.parse::<rust_decimal::Decimal>()
                .map(Decimal)
                .map_err(|_| format!("not a decimal number: {HOW}"))
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => n
            .to_string()
            .parse::<rust_decimal::Decimal>()
            .map(Decimal)
            .map_err(|_| format!("out of range: {HOW}")),
        Value::Number(n) => Err(format!(
            "a fractional JSON number loses cents; write it as a string, e.g. \"{n}\""
        )),
        _ => Err(format!("not a decimal number: {HOW}")),
    }
}

/// A business date, `YYYY-MM-DD`, that exists in the calendar.
pub fn parse_date(value: &Value) -> Result<Date, String> {
    const HOW: &str = "expected a date as YYYY-MM-DD, e.g. \"2026-03-01\"";
    let Value::String(s) = value else {
        return Err(format!("not a date: {HOW}"));
    };
    if let Some(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
    {
        return Ok(Date(date));
    }
    // Say which part is wrong when the shape is right.
    let parts: Vec<&str> = s.split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        let all_digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
        if y.len() == 4 && m.len() == 2 && d.len() == 2 && [*y, *m, *d].into_iter().all(all_digits)
        {
            let month: u32 = m.parse().unwrap_or(0);
            if !(1..=12).contains(&month) {
                return Err(format!("month {m} does not exist: months are 01 to 12"));
            }
            return Err(format!("day {d} does not exist in {y}-{m}"));
        }
    }
    Err(format!("not a date: {HOW}"))
}

/// An instant, RFC 3339 with an offset.
pub fn parse_instant(value: &Value) -> Result<Instant, String> {
    const HOW: &str = "expected RFC 3339 with an offset, e.g. \"2026-03-01T09:30:00Z\"";
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Instant(t.with_timezone(&Utc)))
            .map_err(|_| format!("not an instant: {HOW}")),
        _ => Err(format!("not an instant: {HOW}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.to_owned())
    }

    #[test]
    fn a_date_that_does_not_exist_says_which_part() {
        assert!(parse_date(&s("2026-13-01"))
            .unwrap_err()
            .contains("month 13"));
        assert!(parse_date(&s("2026-02-30")).unwrap_err().contains("day 30"));
        assert!(parse_date(&s("yesterday"))
            .unwrap_err()
            .contains("YYYY-MM-DD"));
        assert_eq!(
            parse_date(&s("2026-02-28")).unwrap().0.to_string(),
            "2026-02-28"
        );
    }

    #[test]
    fn a_decimal_too_long_says_how_many_digits() {
        let long = "12345678901234567890123456789";
        assert!(parse_decimal(&s(long))
            .unwrap_err()
            .contains("29 significant digits"));
        assert!(parse_decimal(&s("1e5")).unwrap_err().contains("e.g."));
        assert!(parse_decimal(&s("ten")).unwrap_err().contains("e.g."));
        assert_eq!(
            parse_decimal(&s("0.000100")).unwrap().0.to_string(),
            "0.000100"
        );
        assert_eq!(parse_decimal(&s("-12.50")).unwrap().0.to_string(), "-12.50");
    }
}
