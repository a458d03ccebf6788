//! The CLI beside a live server (SPEC §9, issue 15): with `dunlog serve` holding the data
//! directory, CLI commands run through its local channel with the same output as without it;
//! a token made there works at once over HTTP; a stale socket does not get in the way; a
//! restarted `serve --demo` keeps its tokens; `dunlog … | head` exits quietly.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::{binary, cli, Client, Server};

fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary())
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run dunlog");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The read commands whose output must not depend on whether a server runs.
fn reads(today: &str) -> Vec<Vec<String>> {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        args(&["aging", "--as-of", today]),
        args(&["aging", "--as-of", today, "--format", "csv"]),
        args(&["exposure", "--as-of", today, "--format", "json"]),
        args(&["worklist", "--as-of", today]),
        args(&["export", "--format", "jsonl"]),
        args(&["verify"]),
        args(&["token", "list"]),
    ]
}

fn outputs(data: &Path, today: &str) -> Vec<(bool, String, String)> {
    reads(today)
        .iter()
        .map(|a| run(data, &a.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect()
}

#[tokio::test]
async fn every_command_works_beside_a_live_server_with_the_same_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "12", "--seed", "5"]);
    let admin = cli(
        &data,
        &["token", "create", "--name", "admin", "--role", "admin"],
    )
    .trim()
    .to_owned();
    let today = chrono::Utc::now().date_naive().to_string();
    let alone = outputs(&data, &today);
    for (ok, _, stderr) in &alone {
        assert!(ok, "{stderr}");
    }

    let server = Server::start(&data);
    let socket = data.join("dunlog.sock");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&socket)
            .expect("serve creates dunlog.sock")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may open the channel");
    }
    let beside = outputs(&data, &today);
    for ((args, a), b) in reads(&today).iter().zip(&alone).zip(&beside) {
        assert_eq!(a, b, "dunlog {args:?} differs beside the server");
    }
    assert!(beside[4].1.lines().count() > 12, "the export has the log");

    // A token made through the server works at once over HTTP, and a revoked one stops.
    let secret = cli(
        &data,
        &["token", "create", "--name", "bob", "--role", "viewer"],
    )
    .trim()
    .to_owned();
    assert!(secret.starts_with("dlk_"), "{secret}");
    let bob = Client::new(&server, Some(&secret));
    let answer = bob.query("{ policies { version } }", json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert!(cli(&data, &["token", "list"]).contains("bob\tviewer"));
    cli(&data, &["token", "revoke", "--name", "bob"]);
    let refused = bob.query("{ policies { version } }", json!({})).await;
    assert!(refused.get("errors").is_some(), "{refused}");

    // Writes go through the server too, and its read model sees them at once.
    let accounts = dir.path().join("accounts.csv");
    std::fs::write(
        &accounts,
        format!("customer_id,name,currency,credit_limit,opened_on\nNEW1,New One AS,NOK,5000.00,{today}\n"),
    )
    .expect("write csv");
    let imported = cli(
        &data,
        &["import", "--accounts", accounts.to_str().expect("utf-8")],
    );
    assert_eq!(imported.trim(), "imported 1 rows");
    let admin_client = Client::new(&server, Some(&admin));
    let seen = admin_client
        .query(
            "{ exposure(customerId: \"NEW1\") { creditLimit } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["data"]["exposure"]["creditLimit"], "5000.00", "{seen}");
    // An error is one line and a non-zero exit, as without a server.
    let (ok, _, stderr) = run(&data, &["token", "create", "--name", "x", "--role", "root"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: role"), "{stderr}");
    let (ok, _, stderr) = run(&data, &["serve", "--addr", "127.0.0.1:0"]);
    assert!(!ok && stderr.contains("already serves"), "{stderr}");

    // A clean stop removes the socket; the CLI then opens the directory itself.
    server.terminate();
    assert!(!socket.exists(), "a clean stop removes dunlog.sock");
    let after = run(&data, &["exposure", "--as-of", &today]);
    assert!(after.0, "{}", after.2);
    assert!(after.1.contains("NEW1"), "{}", after.1);
}

#[test]
fn a_stale_socket_is_not_a_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "4", "--seed", "2"]);
    let server = Server::start(&data);
    let socket = data.join("dunlog.sock");
    assert!(socket.exists());
    // SIGKILL: no clean shutdown, the socket file stays with nobody behind it.
    server.stop();
    assert!(socket.exists(), "a killed server leaves its socket");
    assert!(cli(&data, &["verify"]).starts_with("ok"));
    let restarted = Server::start(&data);
    assert!(cli(&data, &["verify"]).starts_with("ok"));
    restarted.terminate();
    assert!(!socket.exists());
}

#[tokio::test]
async fn a_restarted_serve_demo_keeps_its_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = Server::start_with(&data, &["--demo", "--demo-customers", "4"]);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    let token = log
        .split_whitespace()
        .find(|w| w.starts_with("dlk_"))
        .expect("the first start prints an admin token")
        .to_owned();
    first.terminate();

    let second = Server::start_with(&data, &["--demo", "--demo-customers", "4"]);
    let log = std::fs::read_to_string(data.with_extension("log")).expect("server log");
    assert!(
        !log.contains("dlk_"),
        "a restart prints no new secret: {log}"
    );
    assert!(
        log.contains("token create"),
        "says how to make another: {log}"
    );
    let client = Client::new(&second, Some(&token));
    let answer = client.query("{ policies { version } }", json!({})).await;
    assert!(
        answer.get("errors").is_none(),
        "the first token still works: {answer}"
    );
}

/// `dunlog export | head -1`: the reader goes away after one line; dunlog says nothing and
/// exits 0, with and without a server (it printed `error: Broken pipe` before).
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "40", "--seed", "9"]);
    let check = |what: &str| {
        for args in [
            vec!["export", "--format", "jsonl"],
            vec!["worklist", "--format", "csv"],
        ] {
            let mut child = Command::new(binary())
                .arg("--data")
                .arg(&data)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run dunlog");
            let stdout = child.stdout.take().expect("stdout");
            let mut first = String::new();
            BufReader::new(stdout)
                .read_line(&mut first)
                .expect("one line");
            // The reader is dropped here: the pipe closes with most of the output unread.
            let output = child.wait_with_output().expect("wait");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stderr.contains("Broken pipe") && !stderr.contains("error"),
                "{what} {args:?}: {stderr}"
            );
            assert!(
                output.status.success(),
                "{what} {args:?}: {}",
                output.status
            );
        }
    };
    check("without a server");
    let server = Server::start(&data);
    check("beside the server");
    server.terminate();
}

/// Issue 15: `dunlog statement` beside a running `serve` on the same --data answers as it does
/// alone, in every format, and its JSON equals the GraphQL `statement` query.
#[tokio::test]
async fn statement_beside_a_live_server_equals_the_graphql_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli(&data, &["demo", "--customers", "12", "--seed", "5"]);
    let viewer = cli(
        &data,
        &["token", "create", "--name", "viewer", "--role", "viewer"],
    )
    .trim()
    .to_owned();
    let today = chrono::Utc::now().date_naive();
    let to = today.to_string();
    let from = (today - chrono::Days::new(400)).to_string();
    let customers = ["C0001", "C0002", "C0003"];
    let formats = ["table", "csv", "json"];
    let args = |customer: &'static str, format: &'static str| {
        vec![
            "statement".to_owned(),
            "--customer".to_owned(),
            customer.to_owned(),
            "--from".to_owned(),
            from.clone(),
            "--to".to_owned(),
            to.clone(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let each = |data: &Path| {
        let mut outputs = Vec::new();
        for customer in customers {
            for format in formats {
                let a = args(customer, format);
                let out = run(data, &a.iter().map(String::as_str).collect::<Vec<_>>());
                assert!(out.0, "{a:?}: {}", out.2);
                outputs.push(out.1);
            }
        }
        outputs
    };
    let alone = each(&data);
    let server = Server::start(&data);
    let beside = each(&data);
    assert_eq!(alone, beside, "the same output with and without the server");
    let client = Client::new(&server, Some(&viewer));
    for (i, customer) in customers.iter().enumerate() {
        let json_out = &beside[i * formats.len() + 2];
        let cli_statement: serde_json::Value = serde_json::from_str(json_out).expect("json");
        let answer = client
            .query(
                "query($c: ID!, $f: Date!, $t: Date!) { statement(customerId: $c, from: $f, to: $t) { customerId currency from to openingBalance closingBalance lines { date kind reference invoiceId debit credit balance position } } }",
                json!({"c": customer, "f": from, "t": to}),
            )
            .await;
        let graphql = &answer["data"]["statement"];
        assert!(
            graphql["lines"].as_array().is_some_and(|l| !l.is_empty()),
            "{customer}: {answer}"
        );
        assert_eq!(&cli_statement, graphql, "{customer}");
        // The CSV's rows are the same movements.
        let csv_rows = beside[i * formats.len() + 1].lines().count() - 1;
        assert_eq!(
            csv_rows,
            graphql["lines"].as_array().map_or(0, Vec::len),
            "{customer}"
        );
    }
    server.terminate();
}

/// Issue 15, SPEC §9 ("a bad row appends nothing"): an import through a running server used to
/// be checked, then appended row by row, so a write landing in between (here a collector's
/// invoice with the id of the file's last row) made the last row fail after the rows before it
/// were imported. The import now holds the ledger's writes from its check to its last append:
/// the other write waits, the import goes through whole, and the other write is refused.
#[tokio::test]
async fn an_import_beside_a_server_is_all_or_nothing_when_another_write_comes_in_between() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let admin = cli(
        &data,
        &["token", "create", "--name", "admin", "--role", "admin"],
    )
    .trim()
    .to_owned();
    let today = chrono::Utc::now().date_naive();
    let opened = (today - chrono::Days::new(60)).to_string();
    let issued = (today - chrono::Days::new(10)).to_string();
    cli(
        &data,
        &[
            "account",
            "open",
            "--customer",
            "ACME",
            "--name",
            "Acme Ltd",
            "--currency",
            "EUR",
            "--credit-limit",
            "100000.00",
            "--opened-on",
            &opened,
        ],
    );
    let invoices = dir.path().join("invoices.csv");
    std::fs::write(
        &invoices,
        format!(
            "customer_id,invoice_id,amount,issued_on\n\
             ACME,I-1,100.00,{issued}\nACME,I-2,200.00,{issued}\nACME,I-3,300.00,{issued}\n"
        ),
    )
    .expect("write csv");
    let server = Server::start_full(
        &data,
        &["--no-auto-tick"],
        &[("DUNLOG_TEST_PAUSE_AFTER_IMPORT_CHECK_MS", "1500")],
    );
    let import = {
        let data = data.clone();
        let invoices = invoices.clone();
        std::thread::spawn(move || {
            run(
                &data,
                &["import", "--invoices", invoices.to_str().expect("utf-8")],
            )
        })
    };
    // The server says when the import has checked its rows and not yet appended them.
    let log = data.with_extension("log");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("import checked")
    {
        assert!(
            std::time::Instant::now() < until,
            "the import never checked"
        );
        std::thread::yield_now();
    }
    let client = Client::new(&server, Some(&admin));
    let other = client
        .query(
            "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { type } } }",
            json!({"i": {"customerId": "ACME", "invoiceId": "I-3", "amount": "999.00", "issuedOn": issued}}),
        )
        .await;
    let (ok, stdout, stderr) = import.join().expect("import thread");
    let answer = client
        .query(
            "{ account(id: \"ACME\") { invoices { invoiceId amount } } }",
            json!({}),
        )
        .await;
    let invoices: Vec<(String, String)> = answer["data"]["account"]["invoices"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|i| {
            (
                i["invoiceId"].as_str().unwrap_or("").to_owned(),
                i["amount"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // The file's rows in the ledger: I-1, I-2, and I-3 with the file's amount.
    let imported = invoices
        .iter()
        .filter(|(id, amount)| id == "I-1" || id == "I-2" || (id == "I-3" && amount == "300.00"))
        .count();
    assert!(
        imported == 0 || imported == 3,
        "all or nothing: {invoices:?}; import said {stdout}{stderr}"
    );
    assert!(ok, "the import goes through whole: {stderr}");
    assert_eq!(stdout.trim(), "imported 3 rows");
    let i3: Vec<&String> = invoices
        .iter()
        .filter(|(id, _)| id == "I-3")
        .map(|(_, amount)| amount)
        .collect();
    assert_eq!(i3, ["300.00"], "the file's I-3: {invoices:?}");
    assert!(
        other.get("errors").is_some(),
        "the write that came in between is refused: {other}"
    );
    server.terminate();
}
