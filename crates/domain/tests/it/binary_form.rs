//! The lean binary forms of the account state (`domain::binary_form`): exact round trips through
//! bincode, and JSON unchanged.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Lean {
    #[serde(with = "domain::binary_form::decimal")]
    amount: Decimal,
    #[serde(with = "domain::binary_form::date")]
    on: NaiveDate,
    #[serde(with = "domain::binary_form::optional_date")]
    until: Option<NaiveDate>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Plain {
    amount: Decimal,
    on: NaiveDate,
    until: Option<NaiveDate>,
}

fn lean(amount: &str, on: NaiveDate, until: Option<NaiveDate>) -> Lean {
    Lean {
        amount: amount.parse().unwrap(),
        on,
        until,
    }
}

fn round_trip(value: &Lean) -> Lean {
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(value, config).unwrap();
    let (back, read) = bincode::serde::decode_from_slice::<Lean, _>(&bytes, config).unwrap();
    assert_eq!(read, bytes.len());
    back
}

#[test]
fn amounts_keep_their_scale_and_sign_and_dates_their_day() {
    let days = [
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
        NaiveDate::MIN,
        NaiveDate::MAX,
    ];
    let amounts = [
        "0",
        "-0",
        "-0.00",
        "1000.10",
        "1000.1000",
        "-12.5",
        "79228162514264337593543950335",
        "-0.0000000000000000000000000001",
    ];
    for (i, amount) in amounts.iter().enumerate() {
        let value = lean(amount, days[i % days.len()], days.get(i % 3).copied());
        let back = round_trip(&value);
        assert_eq!(back, value);
        // Equal decimals may print differently (1.0 and 1.00); the text must survive too.
        assert_eq!(
            back.amount.to_string(),
            value.amount.to_string(),
            "{amount}"
        );
        assert_eq!(
            back.amount.is_sign_negative(),
            value.amount.is_sign_negative()
        );
    }
}

#[test]
fn a_day_number_out_of_range_is_an_error_not_a_panic() {
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec((0u128, 2u16, i32::MAX), config).unwrap();
    #[derive(Deserialize)]
    struct Day {
        #[serde(with = "domain::binary_form::decimal")]
        _amount: Decimal,
        #[serde(with = "domain::binary_form::date")]
        _on: NaiveDate,
    }
    assert!(bincode::serde::decode_from_slice::<Day, _>(&bytes, config).is_err());
}

#[test]
fn json_is_the_usual_text() {
    let value = lean(
        "1000.10",
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        None,
    );
    let plain = Plain {
        amount: value.amount,
        on: value.on,
        until: value.until,
    };
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(json, serde_json::to_string(&plain).unwrap());
    assert_eq!(serde_json::from_str::<Lean>(&json).unwrap(), value);
}

/// Day numbers (the snapshot's and the store's form of a date) give chrono's date, negative ones
/// and chrono's ends included.
#[test]
fn dates_from_day_numbers_are_chronos() {
    use domain::binary_form::{date_from_day, day_number};
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let days = [
        0, 1, 1024, -1024, 20_000, 21_024, 22_048, -1, -719_162, 2_932_896,
    ];
    for day in days {
        let expected = epoch.checked_add_signed(chrono::Duration::days(i64::from(day)));
        assert_eq!(date_from_day(day), expected, "day {day}");
        if let Some(date) = expected {
            assert_eq!(day_number(date), day);
        }
    }
    assert_eq!(date_from_day(i32::MIN), None);
    assert_eq!(date_from_day(i32::MAX), None);
}
