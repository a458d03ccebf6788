//! The policy parser (SPEC §5) on arbitrary text: never a panic; a refusal is a `VALIDATION`
//! error with a message.
#![no_main]

use domain::policy::{decide_adopt, Policy};
use domain::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Policy::parse(&text) {
        Ok(_) => {
            let adopted = decide_adopt(&text, 1).expect("a policy that parses is adopted");
            assert_eq!(adopted.version, 2);
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Validation, "{e}");
            assert!(!e.to_string().trim().is_empty());
        }
    }
});
