//! Import's tests: rows, line numbers, CRLF, and nothing appended when a row is bad.

use std::path::Path;

use super::{import, Files};
use crate::app::service::Service;
use crate::cli::commands::Output;

struct Ledger {
    dir: tempfile::TempDir,
    service: Service,
}

async fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::open(&dir.path().join("data")).await.unwrap();
    Ledger { dir, service }
}

impl Ledger {
    fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn import(&self, files: Files<'_>) -> Result<usize, String> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Output {
            out: &mut out,
            err: &mut err,
            progress: false,
        };
        import(&self.service, files, &mut io)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    async fn accounts(&self, text: &str) -> Result<usize, String> {
        let path = self.file("accounts.csv", text);
        self.import(Files {
            accounts: Some(&path),
            ..Files::default()
        })
        .await
    }

    async fn invoices(&self, text: &str) -> Result<usize, String> {
        let path = self.file("invoices.csv", text);
        self.import(Files {
            invoices: Some(&path),
            ..Files::default()
        })
        .await
    }

    async fn payments(&self, text: &str) -> Result<usize, String> {
        let path = self.file("payments.csv", text);
        self.import(Files {
            payments: Some(Path::new(&path)),
            ..Files::default()
        })
        .await
    }

    async fn acme(&self) {
        self.accounts(
            "customer_id,name,currency,credit_limit,net_days,opened_on\n\
             ACME,Acme AS,EUR,10000.00,30,2026-01-01\n",
        )
        .await
        .unwrap();
    }
}

fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

/// Reported in issue 15: with CRLF line endings every line number was off by one.
#[tokio::test]
async fn crlf_files_keep_their_line_numbers() {
    let l = ledger().await;
    l.acme().await;
    let bad = l
        .invoices(
            "customer_id,invoice_id,amount,issued_on\r\n\
             ACME,I-1,100.00,2026-02-01\r\n\
             ACME,I-2,12.345,2026-02-03\r\n",
        )
        .await
        .unwrap_err();
    assert_names(&bad, &["invoices.csv: line 3:", "nothing imported"]);
    let bad = l
        .invoices(
            "customer_id,invoice_id,amount,issued_on\r\n\
             ACME,I-1,100.00,2026-02-01\r\n\
             \r\n\
             ACME,I-2,1O0.00,2026-02-03\r\n",
        )
        .await
        .unwrap_err();
    assert_names(&bad, &["line 4:", "column amount = \"1O0.00\""]);
    assert_eq!(l.service.live.read().accounts["ACME"].invoices.len(), 0);
}

/// Reported in issue 15: `line 2: input = "issue_invoice": input is out of range`.
#[tokio::test]
async fn a_bad_date_names_its_column_and_value() {
    let l = ledger().await;
    l.acme().await;
    let bad = l
        .invoices("customer_id,invoice_id,amount,issued_on\nACME,I-1,100.00,2026-13-01\n")
        .await
        .unwrap_err();
    assert_names(
        &bad,
        &["line 2:", "column issued_on = \"2026-13-01\"", "YYYY-MM-DD"],
    );
    let bad = l
        .payments("customer_id,payment_id,amount,received_on\nACME,P-1,10.00,2026-02-30\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["column received_on = \"2026-02-30\""]);
    let bad = l
        .accounts("customer_id,name,currency,credit_limit,opened_on\nB,B AS,EUR,1.00,01/02/2026\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["column opened_on = \"01/02/2026\""]);
}

#[tokio::test]
async fn a_bad_decimal_names_its_column_and_value() {
    let l = ledger().await;
    l.acme().await;
    let huge = "99999999999999999999999999999";
    let bad = l
        .invoices(&format!(
            "customer_id,invoice_id,amount,issued_on\nACME,I-1,{huge},2026-02-01\n"
        ))
        .await
        .unwrap_err();
    assert_names(
        &bad,
        &[
            &format!("column amount = \"{huge}\""),
            "below 79228162514264337593543950335",
        ],
    );
    let bad = l
        .payments("customer_id,payment_id,amount,received_on\nACME,P-1,\"1,000.00\",2026-02-03\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["column amount = \"1,000.00\"", "e.g. 1234.50"]);
    let bad = l
        .accounts("customer_id,name,currency,credit_limit\nB,B AS,EUR,ten\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["column credit_limit = \"ten\""]);
    let bad = l
        .accounts("customer_id,name,currency,credit_limit,net_days\nB,B AS,EUR,10.00,-5\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["column net_days = \"-5\"", "whole number of days"]);
    let bad = l
        .accounts("customer_id,name,currency,credit_limit,colour\nB,B AS,EUR,10.00,red\n")
        .await
        .unwrap_err();
    assert_names(&bad, &["line 1: unknown column \"colour\""]);
}

#[tokio::test]
async fn an_invoice_for_a_held_account_needs_an_override_reason() {
    let l = ledger().await;
    l.acme().await;
    let hold: domain::Command = serde_json::from_value(serde_json::json!({
        "command": "hold_account", "customer_id": "ACME", "reason": "credit check",
        "effective_on": "2026-01-10"}))
    .unwrap();
    l.service.execute("test", hold, None).await.unwrap();
    let refused = l
        .invoices("customer_id,invoice_id,amount,issued_on\nACME,I-1,100.00,2026-02-01\n")
        .await
        .unwrap_err();
    assert_names(&refused, &["line 2:", "nothing imported"]);
    let imported = l
        .invoices(
            "customer_id,invoice_id,amount,issued_on,override_reason\n\
             ACME,I-1,100.00,2026-02-01,approved by the CFO\n",
        )
        .await
        .unwrap();
    assert_eq!(imported, 1);
    assert_eq!(l.service.live.read().accounts["ACME"].invoices.len(), 1);
}

#[tokio::test]
async fn an_overpayment_of_a_named_invoice_leaves_the_surplus_unapplied() {
    let l = ledger().await;
    l.acme().await;
    l.invoices("customer_id,invoice_id,amount,issued_on\nACME,I-1,100.00,2026-02-01\n")
        .await
        .unwrap();
    l.payments(
        "customer_id,payment_id,amount,received_on,invoice_id\nACME,P-1,150.00,2026-02-10,I-1\n",
    )
    .await
    .unwrap();
    let ledger = l.service.live.read();
    let acme = &ledger.accounts["ACME"];
    let day: chrono::NaiveDate = "2026-02-10".parse().unwrap();
    assert_eq!(acme.invoices[0].open_on(day).to_string(), "0.00");
    assert_eq!(acme.unapplied_on(day).to_string(), "50.00");
}

#[tokio::test]
async fn accounts_invoices_and_payments_start_a_ledger_all_or_nothing() {
    let l = ledger().await;
    let accounts = l.file(
        "accounts.csv",
        "customer_id,name,currency,credit_limit,net_days,opened_on,email,sales_rep\n\
         A1,Alpha AS,NOK,5000.00,14,2026-01-01,ap@alpha.example.com,ana\n\
         B2,Beta SRL,RON,8000.00,,2026-01-01,,\n",
    );
    let invoices = l.file(
        "invoices.csv",
        "customer_id,invoice_id,amount,issued_on\nA1,I-1,100.00,2026-02-01\nB2,I-1,50.00,2026-02-01\n",
    );
    let bad_payments = l.file(
        "payments.csv",
        "customer_id,payment_id,amount,received_on\nA1,P-1,10.00,2026-02-10\nZZ,P-1,1.00,2026-02-10\n",
    );
    let refused = l
        .import(Files {
            accounts: Some(&accounts),
            invoices: Some(&invoices),
            payments: Some(&bad_payments),
        })
        .await
        .unwrap_err();
    assert_names(&refused, &["payments.csv: line 3:", "nothing imported"]);
    assert!(l.service.live.read().accounts.is_empty(), "all or nothing");
    let payments = l.file(
        "payments.csv",
        "customer_id,payment_id,amount,received_on\nA1,P-1,10.00,2026-02-10\n",
    );
    let imported = l
        .import(Files {
            accounts: Some(&accounts),
            invoices: Some(&invoices),
            payments: Some(&payments),
        })
        .await
        .unwrap();
    assert_eq!(imported, 5);
    let ledger = l.service.live.read();
    assert_eq!(
        ledger.accounts["B2"].terms.net_days, 30,
        "net_days defaults to 30"
    );
    assert_eq!(
        ledger.accounts["A1"].contacts.emails,
        ["ap@alpha.example.com"]
    );
}
