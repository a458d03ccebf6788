//! The CSV importer on arbitrary bytes: everything before the first NUL byte is `invoices.csv`,
//! the rest `payments.csv`; every row is decided against a ledger with one account. Never a
//! panic; a refusal names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (invoices, payments) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    if let Err(e) = dunlog::ops::import::fuzz_parse_and_decide(invoices, payments) {
        let message = format!("{e:#}");
        assert!(
            message.contains(".csv"),
            "the error names no file: {message}"
        );
    }
});
