//! An amount kept in account state in 8 bytes instead of `Decimal`'s 16: a ledger of 10 million
//! events holds about 15 million of them (docs/decisions/0052-compact-account-state.md).
//!
//! Read and written as `Decimal`, exactly, scale included; nothing computes on the packed form.
//! Every amount the ledger accepts or computes (at most 10^15, at most three decimals, SPEC §2)
//! is packed in place. What only a ledger written before that bound can hold — a wider mantissa,
//! more decimals — is kept once in a table of such amounts shared by the process, and the packed
//! form holds its place there. The table never shrinks; it holds each distinct wide amount once.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bits of the packed value that hold the scale, or mark a wide amount.
const SCALE_BITS: u32 = 3;
const LOW_MASK: i64 = (1 << SCALE_BITS) - 1;
/// The low bits of a wide amount: the bits above are its place in [`wide`].
const WIDE: i64 = LOW_MASK;
/// The most decimals packed in place.
const SCALE_MAX: u32 = 6;
/// Mantissas packed in place lie strictly inside ±2^60 ≈ 1.15 × 10^18: 10^15 at three decimals
/// fits.
const MANTISSA_END: i128 = 1 << 60;

/// Amounts too wide to pack in place, each once.
#[derive(Default)]
struct WideAmounts {
    values: Vec<Decimal>,
    /// By their 16 bytes, so that `5` and `5.00` keep their own scales.
    places: HashMap<[u8; 16], i64>,
}

fn wide() -> std::sync::MutexGuard<'static, WideAmounts> {
    static TABLE: OnceLock<Mutex<WideAmounts>> = OnceLock::new();
    // The table is only ever appended to whole, so a panic elsewhere cannot leave it half done.
    TABLE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `Decimal` amount packed as `mantissa << 3 | scale`, or a place in the table of wide amounts.
/// Compares as `Decimal` does: `5` equals `5.00`.
#[derive(Clone, Copy, Default)]
pub struct PackedAmount(i64);

impl PartialEq for PackedAmount {
    fn eq(&self, other: &PackedAmount) -> bool {
        self.0 == other.0 || self.get() == other.get()
    }
}

impl Eq for PackedAmount {}

impl PackedAmount {
    pub fn new(value: Decimal) -> PackedAmount {
        Self::in_place(value).unwrap_or_else(|| Self::widened(value))
    }

    fn in_place(value: Decimal) -> Option<PackedAmount> {
        let scale = value.scale();
        let mantissa = value.mantissa();
        if scale > SCALE_MAX || mantissa <= -MANTISSA_END || mantissa >= MANTISSA_END {
            return None;
        }
        let mantissa = i64::try_from(mantissa).ok()?;
        Some(PackedAmount((mantissa << SCALE_BITS) | i64::from(scale)))
    }

    fn widened(value: Decimal) -> PackedAmount {
        let mut table = wide();
        let key = value.serialize();
        let place = match table.places.get(&key) {
            Some(place) => *place,
            None => {
                // Fewer than 2^60 distinct amounts fit in memory.
                let place = i64::try_from(table.values.len()).unwrap_or(i64::MAX >> SCALE_BITS);
                table.values.push(value);
                table.places.insert(key, place);
                place
            }
        };
        PackedAmount((place << SCALE_BITS) | WIDE)
    }

    /// The amount, as it was packed.
    pub fn get(self) -> Decimal {
        let low = self.0 & LOW_MASK;
        if low == WIDE {
            let place = usize::try_from(self.0 >> SCALE_BITS).ok();
            return place
                .and_then(|place| wide().values.get(place).copied())
                .unwrap_or(Decimal::ZERO);
        }
        // `low` is at most `SCALE_MAX`, and `Decimal` takes up to 28 decimals.
        Decimal::try_new(self.0 >> SCALE_BITS, low as u32).unwrap_or(Decimal::ZERO)
    }

    /// The packed bits of an amount packed in place (the snapshot writes these); `None` for a
    /// wide one, whose place in this process's table means nothing to another.
    pub fn in_place_bits(self) -> Option<i64> {
        (self.0 & LOW_MASK != WIDE).then_some(self.0)
    }

    /// Bits written by [`PackedAmount::in_place_bits`]; `None` for bits that mark a wide amount.
    pub fn from_in_place_bits(bits: i64) -> Option<PackedAmount> {
        (bits & LOW_MASK != WIDE).then_some(PackedAmount(bits))
    }
}

impl From<Decimal> for PackedAmount {
    fn from(value: Decimal) -> PackedAmount {
        PackedAmount::new(value)
    }
}

impl From<PackedAmount> for Decimal {
    fn from(value: PackedAmount) -> Decimal {
        value.get()
    }
}

impl fmt::Debug for PackedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl Serialize for PackedAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::binary_form::decimal::serialize(&self.get(), s)
    }
}

impl<'de> Deserialize<'de> for PackedAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PackedAmount, D::Error> {
        crate::binary_form::decimal::deserialize(d).map(PackedAmount::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn round_trip(text: &str) -> Decimal {
        let value = Decimal::from_str(text).unwrap_or_default();
        PackedAmount::new(value).get()
    }

    #[test]
    fn amounts_the_ledger_accepts_keep_their_value_and_scale() {
        for text in [
            "0",
            "0.00",
            "12.34",
            "-12.34",
            "50000",
            "50000.00",
            "1000000000000000",
            "-1000000000000000.000",
            "999999999999999.999",
            "0.001",
            "1.234567",
        ] {
            let value = Decimal::from_str(text).unwrap_or_default();
            assert!(PackedAmount::new(value).in_place_bits().is_some(), "{text}");
            let back = round_trip(text);
            assert_eq!(back.to_string(), text.trim_start_matches('+'), "{text}");
        }
    }

    #[test]
    fn wider_amounts_come_back_exactly_too() {
        for text in [
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "2000000000000000000",
            "1.500000000000",
            "0.123456789",
            "1152921504606846976",
        ] {
            let value = Decimal::from_str(text).unwrap_or_default();
            let packed = PackedAmount::new(value);
            assert_eq!(packed.in_place_bits(), None, "{text}");
            assert_eq!(packed.get().to_string(), text, "{text}");
            assert_eq!(
                PackedAmount::new(value).to_bits_for_test(),
                packed.to_bits_for_test()
            );
        }
    }

    #[test]
    fn bits_marking_a_wide_amount_are_refused_from_outside() {
        assert_eq!(PackedAmount::from_in_place_bits(WIDE), None);
        for bits in [i64::MIN, -1 << SCALE_BITS, 0, 1, 6, i64::MAX - 1] {
            let packed = PackedAmount::from_in_place_bits(bits);
            assert!(packed.is_some(), "{bits}");
            let _ = packed.map(PackedAmount::get);
        }
    }

    impl PackedAmount {
        fn to_bits_for_test(self) -> i64 {
            self.0
        }
    }
}
