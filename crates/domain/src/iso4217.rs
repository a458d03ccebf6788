//! The currencies an account may be opened in: the active ISO 4217 codes (SPEC §2), and the
//! minor units the ledger gives each.
//!
//! The table is fixed in the code on purpose: a ledger must not change what an amount means
//! because a file on the server changed. Codes that are not money a customer can owe (funds
//! codes such as `BOV`, precious metals `XAU`…, the SDR `XDR`, the test code `XTS` and "no
//! currency" `XXX`) are left out, and so are withdrawn codes (`HRK`, `SLL`, `ZWL`, …).
//!
//! Minor units follow SPEC §2 — JPY 0, KWD/BHD/OMR/TND/JOD 3, every other code 2 — not ISO's
//! own column (which gives, say, KRW 0 and IQD 3): the spec names this table and every amount
//! already recorded was checked against it (decision 0015).

/// Every active ISO 4217 code an account may use, in alphabetical order (binary-searched).
pub const ACTIVE_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

/// Codes with no minor unit (SPEC §2).
const ZERO_DECIMALS: &[&str] = &["JPY"];
/// Codes with three decimals (SPEC §2).
const THREE_DECIMALS: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// Whether `code` is an active ISO 4217 code an account may be opened in.
pub fn is_active(code: &str) -> bool {
    ACTIVE_CODES.binary_search(&code).is_ok()
}

/// Digits after the decimal point for `code` (SPEC §2: JPY 0, KWD/BHD/OMR/TND/JOD 3, others 2).
pub fn minor_units(code: &str) -> u32 {
    if ZERO_DECIMALS.contains(&code) {
        0
    } else if THREE_DECIMALS.contains(&code) {
        3
    } else {
        2
    }
}
