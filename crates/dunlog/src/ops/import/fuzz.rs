//! Import under mutated files and hostile cells (proptest): every error names the file and
//! nothing panics.

use proptest::prelude::*;

use super::{dry_run, parse, Files};
use crate::fuzz::tests::mutated;
use projections::Ledger;

const GOOD_INVOICES: &str = "customer_id,invoice_id,amount,issued_on,due_on,reference\n\
    ACME,INV-1,100.00,2026-01-05,2026-02-04,PO 7\n\
    ACME,INV-2,2500.50,2026-02-10,,\n";

fn run(invoices: &str, payments: &str) {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("invoices.csv");
    let pay = dir.path().join("payments.csv");
    std::fs::write(&inv, invoices).unwrap();
    std::fs::write(&pay, payments).unwrap();
    let files = Files {
        accounts: None,
        invoices: Some(&inv),
        payments: Some(&pay),
    };
    let today = chrono::Utc::now().date_naive();
    if let Ok(mut rows) = parse(files, today) {
        // Accounts do not exist in an empty ledger: every row must be refused cleanly.
        let _ = dry_run(&Ledger::new(), &mut rows);
    } else if let Err(e) = parse(files, today) {
        let message = format!("{e:#}");
        assert!(message.contains(".csv"), "error names no file: {message}");
    }
    // The same bytes against a ledger where the account exists, so rows get decided.
    if let Err(e) = super::fuzz_parse_and_decide(invoices.as_bytes(), payments.as_bytes()) {
        let message = format!("{e:#}");
        assert!(message.contains(".csv"), "error names no file: {message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_invoice_files_never_panic(invoices in mutated(GOOD_INVOICES)) {
        run(&invoices, "customer_id,payment_id,amount,received_on\n");
    }

    #[test]
    fn hostile_cells_never_panic(
        amount in prop_oneof![Just("1e400".to_owned()), Just("NaN".to_owned()), Just("-0".to_owned()), "[0-9.,-]{0,40}"],
        date in prop_oneof![Just("2026-02-30".to_owned()), Just("99999-01-01".to_owned()), "[0-9/-]{0,12}"],
        id in "[ -~]{0,80}",
    ) {
        let quoted = id.replace('"', "\"\"");
        let payments = format!(
            "customer_id,payment_id,amount,received_on,invoice_id,method\n\"{quoted}\",\"{quoted}\",{amount},{date},\"{quoted}\",cash\n"
        );
        run(GOOD_INVOICES, &payments);
    }

    #[test]
    fn arbitrary_text_never_panics(invoices in ".{0,300}", payments in ".{0,300}") {
        run(&invoices, &payments);
    }
}
