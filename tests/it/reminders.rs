//! Reminders delivered by the real server to a real SMTP server on loopback (SPEC §12): the text
//! in each language, the accepted message recorded once with its hash, a server that is down,
//! one that refuses (5xx), an account without an address, `kill -9` between acceptance and the
//! append, and automatic sending on the demo ledger over two days.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::smtp_sink::{SmtpSink, REJECT_5XX};
use crate::support::{cli, error_code, token, Client, Ledger, Server};

const OPEN: &str =
    "mutation($i: OpenAccountInput!) { openAccount(input: $i) { events { position } } }";
const ISSUE: &str =
    "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { events { position } } }";
const SEND: &str =
    "mutation($i: SendReminderInput!) { sendReminder(input: $i) { events { type payload } } }";
const PREVIEW: &str = "query($c: ID!, $s: String!, $l: String) { previewReminder(customerId: $c, step: $s, language: $l) { to subject body language invoiceIds } }";
const TIMELINE: &str = "query($c: ID!) { timeline(customerId: $c) { type payload } }";
const DEADLINE: Duration = Duration::from_secs(90);

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).expect("date")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens an account whose invoice `{id}-1` (1,234.50 EUR, 2 % within 10 days, net 30) is six
/// days past due today: the default ladder's `overdue_reminder` is due.
async fn open_overdue(admin: &Client, id: &str, language: &str, email: Option<&str>) {
    let contacts = match email {
        Some(e) => json!({"billingEmail": e, "language": language, "billingContact": "Maria Silva",
                          "postalAddress": "Rua Augusta 1\n1100-048 Lisboa"}),
        None => json!({"language": language}),
    };
    let answer = admin
        .query(
            OPEN,
            json!({"i": {"customerId": id, "name": format!("{id} Lda"), "currency": "EUR",
                         "creditLimit": "50000.00",
                         "terms": {"netDays": 30, "discountPercent": "2", "discountDays": 10},
                         "openedOn": days_ago(200).to_string(), "contacts": contacts}}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let answer = admin
        .query(
            ISSUE,
            json!({"i": {"customerId": id, "invoiceId": format!("{id}-1"), "amount": "1234.50",
                         "issuedOn": days_ago(36).to_string()}}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
}

async fn timeline_of(client: &Client, id: &str, kind: &str) -> Vec<Value> {
    let answer = client.query(TIMELINE, json!({"c": id})).await;
    answer["data"]["timeline"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["payload"].clone())
        .collect()
}

/// Polls (with a deadline) until the account's timeline holds `n` events of `kind`.
async fn wait_for_events(client: &Client, id: &str, kind: &str, n: usize) -> Vec<Value> {
    let until = Instant::now() + DEADLINE;
    loop {
        let got = timeline_of(client, id, kind).await;
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < until, "{id}: {} of {n} {kind}", got.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn collector(ledger: &Ledger) -> String {
    token(&ledger.data(), "collector", "collector")
}

#[tokio::test]
async fn each_language_renders_the_invoice_table_and_the_policys_consequences() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let viewer = token(&ledger.data(), "viewer", "viewer");
    let server = Server::start(&ledger.data());
    let admin = Client::new(&server, Some(&ledger.admin));
    let client = Client::new(&server, Some(&collector));
    // What each language must say about the default policy: the late fee (1.5 %) after 5 days,
    // the hold after 30 days, the lost 2 % discount, the amount as that language writes it.
    let expect: &[(&str, &str, &[&str])] = &[
        (
            "en",
            "Overdue",
            &[
                "1,234.50",
                "1.5 %",
                "5 days",
                "30 days",
                "discount of 2 %",
                "Total open: 1,234.50 EUR",
            ],
        ),
        (
            "pt",
            "atraso",
            &[
                "1.234,50",
                "1,5 %",
                "5 dias",
                "30 dias",
                "desconto de 2 %",
                "Total em aberto: 1.234,50 EUR",
            ],
        ),
        (
            "fr",
            "échue",
            &[
                "1 234,50",
                "1,5 %",
                "5 jours",
                "30 jours",
                "escompte de 2 %",
                "Total restant dû : 1 234,50 EUR",
            ],
        ),
        (
            "nb",
            "Forfalt",
            &[
                "1 234,50",
                "1,5 %",
                "5 dager",
                "30 dager",
                "Kontantrabatten på 2 %",
                "Totalt utestående: 1 234,50 EUR",
            ],
        ),
        (
            "ro",
            "restantă",
            &[
                "1.234,50",
                "1,5 %",
                "5 zile",
                "30 de zile",
                "Reducerea de 2 %",
                "Total restant: 1.234,50 EUR",
            ],
        ),
        (
            "id",
            "jatuh tempo",
            &[
                "1.234,50",
                "1,5 %",
                "5 hari",
                "30 hari",
                "Diskon pembayaran awal sebesar 2 %",
                "Total terutang: 1.234,50 EUR",
            ],
        ),
    ];
    for (lang, subject_word, phrases) in expect {
        let id = format!("L{}", lang.to_uppercase());
        open_overdue(&admin, &id, lang, Some("ap@example.com")).await;
        let answer = client
            .query(PREVIEW, json!({"c": id, "s": "overdue_reminder"}))
            .await;
        let p = &answer["data"]["previewReminder"];
        assert_eq!(p["language"], *lang, "{answer}");
        assert_eq!(p["to"], "ap@example.com");
        assert_eq!(p["invoiceIds"], json!([format!("{id}-1")]));
        let subject = p["subject"].as_str().expect("subject");
        assert!(subject.contains(subject_word), "{lang}: {subject}");
        let body = p["body"].as_str().expect("body");
        // The invoice table: number, amount, due date, days overdue (6), open amount.
        let row = body
            .lines()
            .find(|l| l.starts_with(&format!("{id}-1")))
            .unwrap_or_else(|| panic!("{lang}: no invoice row in\n{body}"));
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells.len(), 5, "{lang}: {row}");
        assert_eq!(cells[3], "6", "{lang}: days overdue in {row}");
        assert!(
            body.contains("Maria Silva"),
            "{lang}: addressed to the billing contact"
        );
        for phrase in *phrases {
            assert!(
                body.contains(phrase),
                "{lang}: {phrase:?} missing from\n{body}"
            );
        }
    }
    // The letter (final notice) encloses the statement of account; `en` is the fallback for a
    // language without templates.
    let answer = client
        .query(
            PREVIEW,
            json!({"c": "LEN", "s": "final_notice", "l": "de-AT"}),
        )
        .await;
    let p = &answer["data"]["previewReminder"];
    assert_eq!(p["language"], "en", "{answer}");
    let body = p["body"].as_str().expect("body");
    assert!(body.contains("Statement of account"), "{body}");
    assert!(body.contains("collection agency 90 days"), "{body}");
    assert_eq!(p["to"], "Rua Augusta 1\n1100-048 Lisboa");
    // Previews need a collector; a viewer may not.
    let answer = Client::new(&server, Some(&viewer))
        .query(PREVIEW, json!({"c": "LEN", "s": "overdue_reminder"}))
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("FORBIDDEN"),
        "{answer}"
    );
    server.terminate();
}

#[tokio::test]
async fn an_accepted_reminder_is_recorded_once_with_the_hash_of_what_the_server_received() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let sink = SmtpSink::start();
    let url = sink.url();
    let server = Server::start_with(
        &ledger.data(),
        &["--smtp", &url, "--smtp-from", "credit@dunlog.test"],
    );
    let admin = Client::new(&server, Some(&ledger.admin));
    let client = Client::new(&server, Some(&collector));
    open_overdue(&admin, "ACME", "fr", Some("compta@acme.example.com")).await;
    let answer = client
        .query(
            SEND,
            json!({"i": {"customerId": "ACME", "step": "overdue_reminder"}}),
        )
        .await;
    let event = &answer["data"]["sendReminder"]["events"][0];
    assert_eq!(event["type"], "ReminderSent", "{answer}");
    let payload = &event["payload"];
    let got = sink.wait_for(1, DEADLINE);
    assert_eq!(got.len(), 1);
    let message = &got[0];
    assert_eq!(message.to, ["<compta@acme.example.com>"]);
    assert_eq!(
        message.header("Message-ID").as_deref(),
        payload["message_id"].as_str()
    );
    assert_eq!(payload["content_sha256"], sha256_hex(&message.body()));
    assert_eq!(payload["to"], "compta@acme.example.com");
    assert_eq!(payload["language"], "fr");
    assert_eq!(payload["step"], "overdue_reminder");
    assert_eq!(payload["invoice_ids"], json!(["ACME-1"]));
    assert!(message.body().contains("ACME-1"));
    // Sent once: the step is fulfilled, so a second press has nothing due and sends nothing.
    let again = client
        .query(
            SEND,
            json!({"i": {"customerId": "ACME", "step": "overdue_reminder"}}),
        )
        .await;
    assert_eq!(
        error_code(&again).as_deref(),
        Some("INVALID_STATE"),
        "{again}"
    );
    assert_eq!(sink.received().len(), 1);
    assert_eq!(timeline_of(&client, "ACME", "ReminderSent").await.len(), 1);
    assert_eq!(message.from, "<credit@dunlog.test>");
    server.terminate();
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_and_the_reminder_recorded_once_when_it_is_up() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let port = SmtpSink::free_port();
    let url = format!("smtp://{port}");
    let server = Server::start_with(
        &ledger.data(),
        &["--smtp", &url, "--smtp-from", "credit@dunlog.test"],
    );
    let admin = Client::new(&server, Some(&ledger.admin));
    let client = Client::new(&server, Some(&collector));
    open_overdue(&admin, "ACME", "nb", Some("ap@acme.example.org")).await;
    let answer = client
        .query(
            SEND,
            json!({"i": {"customerId": "ACME", "step": "overdue_reminder"}}),
        )
        .await;
    assert_eq!(
        error_code(&answer).as_deref(),
        Some("INVALID_STATE"),
        "{answer}"
    );
    assert!(timeline_of(&client, "ACME", "ReminderSent")
        .await
        .is_empty());
    assert!(timeline_of(&client, "ACME", "ReminderFailed")
        .await
        .is_empty());
    // The relay comes up: the server's outbox retries and delivers, and records it once.
    let sink = SmtpSink::start_on(port);
    let sent = wait_for_events(&client, "ACME", "ReminderSent", 1).await;
    let got = sink.wait_for(1, DEADLINE);
    assert_eq!(
        got[0].header("Message-ID").as_deref(),
        sent[0]["message_id"].as_str()
    );
    assert_eq!(sent[0]["content_sha256"], sha256_hex(&got[0].body()));
    // Nothing more is sent or recorded afterwards.
    server.terminate();
    let server = Server::start_with(
        &ledger.data(),
        &["--smtp", &sink.url(), "--smtp-from", "credit@dunlog.test"],
    );
    let client = Client::new(&server, Some(&collector));
    assert_eq!(timeline_of(&client, "ACME", "ReminderSent").await.len(), 1);
    assert_eq!(sink.received().len(), 1);
    assert!(
        !ledger
            .data()
            .join("outbox")
            .read_dir()
            .map(|mut d| d
                .any(|e| { e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json")) }))
            .unwrap_or(false),
        "the outbox is empty"
    );
    server.terminate();
}

#[tokio::test]
async fn a_refusal_records_reminder_failed_and_nothing_as_sent() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let sink = SmtpSink::start();
    sink.set_mode(REJECT_5XX);
    let url = sink.url();
    let server = Server::start_with(
        &ledger.data(),
        &["--smtp", &url, "--smtp-from", "credit@dunlog.test"],
    );
    let admin = Client::new(&server, Some(&ledger.admin));
    let client = Client::new(&server, Some(&collector));
    open_overdue(&admin, "ACME", "ro", Some("nobody@acme.example.com")).await;
    open_overdue(&admin, "MUTE", "id", None).await;
    for (id, reason) in [("ACME", "550"), ("MUTE", "no e-mail address on file")] {
        let answer = client
            .query(
                SEND,
                json!({"i": {"customerId": id, "step": "overdue_reminder"}}),
            )
            .await;
        let event = &answer["data"]["sendReminder"]["events"][0];
        assert_eq!(event["type"], "ReminderFailed", "{answer}");
        assert_eq!(event["payload"]["permanent"], true);
        let why = event["payload"]["reason"].as_str().expect("reason");
        assert!(why.contains(reason), "{id}: {why}");
        assert!(
            timeline_of(&client, id, "ReminderSent").await.is_empty(),
            "{id}"
        );
        assert_eq!(
            timeline_of(&client, id, "ReminderFailed").await.len(),
            1,
            "{id}"
        );
    }
    assert!(sink.received().is_empty());
    // The worklist shows the items whose last attempt failed, and why.
    let answer = client
        .query(
            "query($d: Date) { worklist(date: $d, first: 500) { nodes { customerId step lastAttemptFailed } } }",
            json!({"d": today().to_string()}),
        )
        .await;
    let items = answer["data"]["worklist"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let failed: BTreeMap<String, String> = items
        .iter()
        .filter_map(|i| {
            Some((
                i["customerId"].as_str()?.to_owned(),
                i["lastAttemptFailed"].as_str()?.to_owned(),
            ))
        })
        .collect();
    assert!(
        failed.get("ACME").is_some_and(|r| r.contains("550")),
        "{answer}"
    );
    assert_eq!(
        failed.get("MUTE").map(String::as_str),
        Some("no e-mail address on file")
    );
    server.terminate();
}

/// `kill -9` between the relay's acceptance and the append, at random points, many times
/// (`DUNLOG_REMINDER_CRASH_CYCLES`, default 3): after each restart every accepted message is
/// recorded exactly once and every re-send carries the same Message-ID.
#[tokio::test]
async fn kill_9_between_acceptance_and_append_records_each_message_once() {
    let cycles: usize = std::env::var("DUNLOG_REMINDER_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let sink = SmtpSink::start();
    let url = sink.url();
    let smtp = [
        "--smtp",
        url.as_str(),
        "--smtp-from",
        "credit@dunlog.test",
        "--no-auto-tick",
    ];
    {
        let server = Server::start_with(&ledger.data(), &[]);
        let admin = Client::new(&server, Some(&ledger.admin));
        for i in 0..cycles {
            open_overdue(
                &admin,
                &format!("K{i}"),
                "en",
                Some(&format!("ap{i}@example.com")),
            )
            .await;
        }
        server.terminate();
    }
    let mut rng = rand::thread_rng();
    for i in 0..cycles {
        let id = format!("K{i}");
        let pause = rng.gen_range(0..400u32).to_string();
        let server = Server::start_full(
            &ledger.data(),
            &smtp,
            &[("DUNLOG_TEST_PAUSE_AFTER_ACCEPT_MS", pause.as_str())],
        );
        let client = Client::new(&server, Some(&collector));
        let before = sink.received().len();
        let c = client.clone();
        let request = id.clone();
        let pending = tokio::spawn(async move {
            c.try_query(
                SEND,
                json!({"i": {"customerId": request, "step": "overdue_reminder"}}),
            )
            .await
        });
        // Kill the moment the relay has accepted: inside the pause, or (pause near 0) anywhere
        // around the append.
        let until = Instant::now() + DEADLINE;
        while sink.received().len() <= before {
            assert!(Instant::now() < until, "cycle {i}: the relay got nothing");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.stop();
        let _ = pending.await;
        // Restart without the pause: the outbox re-sends if the record is missing, and records it.
        let server = Server::start_with(&ledger.data(), &smtp[..4]);
        let client = Client::new(&server, Some(&collector));
        let sent = wait_for_events(&client, &id, "ReminderSent", 1).await;
        assert_eq!(sent.len(), 1, "cycle {i} (pause {pause} ms): recorded once");
        let ids: BTreeSet<String> = sink
            .received()
            .iter()
            .filter(|m| m.to == [format!("<ap{i}@example.com>")])
            .filter_map(|m| m.header("Message-ID"))
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "cycle {i}: every (re-)send carries one Message-ID: {ids:?}"
        );
        assert_eq!(
            sent[0]["message_id"].as_str(),
            ids.iter().next().map(String::as_str)
        );
        server.terminate();
    }
    // Every message the relay accepted is recorded exactly once.
    let server = Server::start_with(&ledger.data(), &[]);
    let client = Client::new(&server, Some(&collector));
    let mut recorded = BTreeMap::new();
    for i in 0..cycles {
        for e in timeline_of(&client, &format!("K{i}"), "ReminderSent").await {
            *recorded
                .entry(e["message_id"].as_str().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
    }
    for m in sink.received() {
        let id = m.header("Message-ID").expect("Message-ID");
        assert_eq!(recorded.get(&id), Some(&1), "{id} recorded once");
    }
    assert_eq!(recorded.len(), cycles);
    // How often the kill landed before the append (the message was re-sent after restart).
    eprintln!(
        "{} of {cycles} cycles re-sent the accepted message after kill -9",
        sink.received().len() - cycles
    );
    server.terminate();
}

/// What the worklist has due on `date` for the default policy's automatic (email) steps.
async fn due_auto_email(client: &Client, date: NaiveDate) -> BTreeSet<(String, String)> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let answer = client
            .query(
                "query($d: Date, $a: String) { worklist(date: $d, first: 500, after: $a) { pageInfo { hasNextPage endCursor } nodes { customerId step channel } } }",
                json!({"d": date.to_string(), "a": after}),
            )
            .await;
        let page = &answer["data"]["worklist"];
        items.extend(
            page["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{answer}"))
                .iter()
                .cloned(),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    items
        .iter()
        .filter(|i| i["channel"] == "email")
        .filter(|i| {
            ["confirm_receipt", "pre_due_reminder", "overdue_reminder"]
                .contains(&i["step"].as_str().unwrap_or(""))
        })
        .map(|i| {
            (
                i["customerId"].as_str().unwrap_or("").to_owned(),
                i["step"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn customer_of(address: &str) -> String {
    // billing@c0001.example.com → C0001 (the demo's billing addresses).
    address
        .trim_matches(|c| c == '<' || c == '>')
        .split_once('@')
        .and_then(|(_, host)| host.split('.').next())
        .unwrap_or_default()
        .to_uppercase()
}

#[tokio::test]
async fn automatic_sending_on_the_demo_ledger_sends_what_is_due_once_per_account_and_step() {
    let ledger = Ledger::new();
    let data = ledger.data();
    let viewer = token(&data, "viewer", "viewer");
    cli(&data, &["demo", "--customers", "40"]);
    let day1 = today();
    let day2 = day1.checked_add_days(Days::new(1)).expect("date");
    let sink = SmtpSink::start();
    let url = sink.url();
    let mut sent_pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (n, day) in [day1, day2].into_iter().enumerate() {
        // The clock for the day first (a server fixed on that day, no relay: it ticks and sends
        // nothing), then what the worklist says is due.
        let day_text = day.to_string();
        let expected = {
            let server = Server::start_full(&data, &["--today", &day_text], &[]);
            let client = Client::new(&server, Some(&viewer));
            let until = Instant::now() + DEADLINE;
            let mut due = due_auto_email(&client, day).await;
            // The start-up tick runs beside the first requests: ask until two answers agree.
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let again = due_auto_email(&client, day).await;
                if again == due {
                    break;
                }
                assert!(Instant::now() < until, "the worklist kept changing");
                due = again;
            }
            server.terminate();
            due
        };
        let before = sink.received().len();
        let server = Server::start_full(
            &data,
            &[
                "--smtp",
                &url,
                "--smtp-from",
                "credit@dunlog.test",
                "--today",
                &day_text,
            ],
            &[],
        );
        let client = Client::new(&server, Some(&viewer));
        let got = sink.wait_for(before + expected.len(), DEADLINE);
        // Everything due was sent, and the worklist has no automatic email step left.
        let until = Instant::now() + DEADLINE;
        while !due_auto_email(&client, day).await.is_empty() {
            assert!(Instant::now() < until, "day {n}: automatic steps still due");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let today_sent: Vec<_> = got[before..].to_vec();
        assert_eq!(
            today_sent.len(),
            expected.len(),
            "day {n}: one message per account and step"
        );
        let customers: BTreeSet<String> =
            today_sent.iter().map(|m| customer_of(&m.to[0])).collect();
        let expected_customers: BTreeSet<String> =
            expected.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(customers, expected_customers, "day {n}");
        for (customer, step) in &expected {
            *sent_pairs
                .entry((customer.clone(), step.clone()))
                .or_insert(0) += 1;
        }
        server.terminate();
        if n == 0 {
            assert!(
                !expected.is_empty(),
                "the demo ledger has automatic reminders due today"
            );
        }
    }
    assert!(
        sent_pairs.values().all(|&n| n == 1),
        "nothing sent twice: {sent_pairs:?}"
    );
    let ids: Vec<String> = sink
        .received()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no message sent twice");
}

const STATEMENT: &str = "query($c: ID!, $f: Date!, $t: Date!) { statement(customerId: $c, from: $f, to: $t) { openingBalance closingBalance lines { date kind reference debit credit balance } } }";

/// The value after `label: ` on the line that starts with it, in an English reminder.
fn labelled<'a>(body: &'a str, label: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{body}"))
}

/// `1,000.00 EUR` → `1000.00`.
fn plain_amount(text: &str) -> String {
    text.trim_end_matches(" EUR").replace(',', "")
}

/// Issue 17: a reminder encloses the statement of account from the read model `dunlog
/// statement` and the GraphQL `statement` answer with, so the letter's figures are theirs (it
/// enclosed a list of open items of its own before, and only in letters).
#[tokio::test]
async fn a_reminder_encloses_the_statement_dunlog_statement_gives() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let sink = SmtpSink::start();
    let url = sink.url();
    let letters = ledger.dir.path().join("letters");
    let letters_arg = letters.to_str().expect("utf-8").to_owned();
    let server = Server::start_with(
        &ledger.data(),
        &[
            "--smtp",
            &url,
            "--smtp-from",
            "credit@dunlog.test",
            "--letters-dir",
            &letters_arg,
        ],
    );
    let admin = Client::new(&server, Some(&ledger.admin));
    let client = Client::new(&server, Some(&collector));
    open_overdue(&admin, "ACME", "en", Some("ap@acme.example.com")).await;
    // A second, later invoice and a part payment: the statement has movements of each kind.
    let answer = admin
        .query(
            ISSUE,
            json!({"i": {"customerId": "ACME", "invoiceId": "ACME-2", "amount": "400.00",
                         "issuedOn": days_ago(10).to_string()}}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let answer = admin
        .query(
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { position } } }",
            json!({"i": {"customerId": "ACME", "paymentId": "P-1", "amount": "234.50",
                         "receivedOn": days_ago(2).to_string()}}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");

    // The e-mail reminder (overdue) and the letter (final notice, named invoices).
    let answer = client
        .query(
            SEND,
            json!({"i": {"customerId": "ACME", "step": "overdue_reminder"}}),
        )
        .await;
    assert_eq!(
        answer["data"]["sendReminder"]["events"][0]["type"], "ReminderSent",
        "{answer}"
    );
    let email = sink.wait_for(1, DEADLINE)[0].body();
    let answer = client
        .query(
            SEND,
            json!({"i": {"customerId": "ACME", "step": "final_notice", "invoiceIds": ["ACME-1"]}}),
        )
        .await;
    assert_eq!(
        answer["data"]["sendReminder"]["events"][0]["type"], "ReminderSent",
        "{answer}"
    );
    let letter = std::fs::read_dir(&letters)
        .expect("letters dir")
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).expect("letter"))
        .next()
        .expect("one letter written");

    for (what, body) in [("e-mail", &email), ("letter", &letter)] {
        assert!(body.contains("Statement of account"), "{what}: {body}");
        // The period: from the oldest open invoice's issue date to today.
        let period = labelled(body, "Period");
        let (from, to) = period.split_once(" – ").expect("from – to");
        assert_eq!(from, days_ago(36).to_string(), "{what}");
        assert_eq!(to, today().to_string(), "{what}");
        let answer = client
            .query(STATEMENT, json!({"c": "ACME", "f": from, "t": to}))
            .await;
        let statement = &answer["data"]["statement"];
        assert_eq!(
            plain_amount(labelled(body, "Closing balance")),
            statement["closingBalance"].as_str().expect("closing"),
            "{what}: {answer}"
        );
        assert_eq!(
            plain_amount(labelled(body, "Opening balance")),
            statement["openingBalance"].as_str().expect("opening"),
            "{what}"
        );
        assert_eq!(statement["closingBalance"], "1400.00");
        // Every movement of the statement is a line of the enclosed one, with its balance.
        let lines = statement["lines"].as_array().expect("lines");
        assert_eq!(lines.len(), 3, "{answer}");
        for line in lines {
            let reference = line["reference"].as_str().expect("reference");
            let balance = line["balance"].as_str().expect("balance");
            assert!(
                body.lines()
                    .any(|l| l.starts_with(line["date"].as_str().unwrap_or("?"))
                        && l.contains(reference)
                        && plain_amount(l.rsplit("  ").next().unwrap_or("").trim()) == balance),
                "{what}: no line for {line} in\n{body}"
            );
        }
        // And `dunlog statement` beside the server says the same.
        let cli_json = cli(
            &ledger.data(),
            &[
                "statement",
                "--customer",
                "ACME",
                "--from",
                from,
                "--to",
                to,
                "--format",
                "json",
            ],
        );
        let cli_json: Value = serde_json::from_str(&cli_json).expect("json");
        assert_eq!(cli_json["closingBalance"], statement["closingBalance"]);
    }
    server.terminate();
}

/// Issue 17: `dunlog remind` works beside a running server, through its local channel (it
/// failed on sled's lock before): the preview, and a send by the server's own relay, recorded
/// once.
#[tokio::test]
async fn remind_works_beside_a_running_server() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let sink = SmtpSink::start();
    let url = sink.url();
    let data = ledger.data();
    let server = Server::start_with(
        &data,
        &["--smtp", &url, "--smtp-from", "credit@dunlog.test"],
    );
    let admin = Client::new(&server, Some(&ledger.admin));
    open_overdue(&admin, "ACME", "pt", Some("financeiro@acme.example.com")).await;
    let preview = cli(
        &data,
        &[
            "remind",
            "--customer",
            "ACME",
            "--step",
            "overdue_reminder",
            "--preview",
        ],
    );
    assert!(
        preview.contains("To: financeiro@acme.example.com"),
        "{preview}"
    );
    assert!(preview.contains("Language: pt"), "{preview}");
    assert!(preview.contains("ACME-1"), "{preview}");
    assert!(
        preview.contains("@dunlog.test>"),
        "the server's sender: {preview}"
    );
    let sent = cli(
        &data,
        &[
            "remind",
            "--customer",
            "ACME",
            "--step",
            "overdue_reminder",
            "--send",
        ],
    );
    assert!(sent.starts_with("sent <dunlog."), "{sent}");
    let got = sink.wait_for(1, DEADLINE);
    let client = Client::new(&server, Some(&collector));
    let recorded = timeline_of(&client, "ACME", "ReminderSent").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        got[0].header("Message-ID").as_deref(),
        recorded[0]["message_id"].as_str()
    );
    assert!(sent.contains(recorded[0]["message_id"].as_str().unwrap_or("?")));
    server.terminate();
    // Without a server the CLI opens the directory itself, as before.
    let preview = cli(
        &data,
        &[
            "remind",
            "--customer",
            "ACME",
            "--step",
            "overdue_reminder",
            "--preview",
        ],
    );
    assert!(preview.contains("ACME-1"), "{preview}");
}

/// Issue 17: automatic sending honours a step's `min_open_amount` as the worklist does: no
/// message for an invoice whose open amount is below it.
#[tokio::test]
async fn automatic_sending_honours_min_open_amount() {
    let ledger = Ledger::new();
    let data = ledger.data();
    let viewer = token(&data, "viewer", "viewer");
    {
        let server = Server::start_with(&data, &[]);
        let admin = Client::new(&server, Some(&ledger.admin));
        let policy = "name = \"small balances\"\n\
                      [[ladder]]\nstep = \"overdue_reminder\"\nfrom = \"due\"\ndays = 5\n\
                      channel = \"email\"\nsend = \"auto\"\nmin_open_amount = \"500.00\"\n\
                      [[ladder]]\nstep = \"call\"\nfrom = \"due\"\ndays = 7\nchannel = \"phone\"\n";
        let answer = admin
            .query(
                "mutation($i: AdoptPolicyInput!) { adoptPolicy(input: $i) { events { type } } }",
                json!({"i": {"document": policy}}),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        open_overdue(&admin, "BIG", "en", Some("ap@big.example.com")).await;
        // SMALL owes 1,234.50 less a payment of 900.00: 334.50 open, below the minimum.
        open_overdue(&admin, "SMALL", "en", Some("ap@small.example.com")).await;
        let answer = admin
            .query(
                "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { events { position } } }",
                json!({"i": {"customerId": "SMALL", "paymentId": "P-1", "amount": "900.00",
                             "receivedOn": days_ago(1).to_string()}}),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        server.terminate();
    }
    let sink = SmtpSink::start();
    let url = sink.url();
    let today_text = today().to_string();
    let server = Server::start_full(
        &data,
        &[
            "--smtp",
            &url,
            "--smtp-from",
            "credit@dunlog.test",
            "--today",
            &today_text,
        ],
        &[],
    );
    // The daily loop says when it is done.
    let log = data.with_extension("log");
    let until = Instant::now() + DEADLINE;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("automatic reminder(s)")
    {
        assert!(Instant::now() < until, "the daily loop did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = sink.received();
    let to: Vec<&str> = got.iter().map(|m| m.to[0].as_str()).collect();
    assert_eq!(
        to,
        ["<ap@big.example.com>"],
        "only the balance above the minimum"
    );
    let client = Client::new(&server, Some(&viewer));
    assert!(timeline_of(&client, "SMALL", "ReminderSent")
        .await
        .is_empty());
    assert!(timeline_of(&client, "SMALL", "ReminderFailed")
        .await
        .is_empty());
    // The worklist agrees: SMALL has no overdue_reminder due (the call comes later).
    let answer = client
        .query(
            "query($d: Date) { worklist(date: $d, first: 50) { nodes { customerId step } } }",
            json!({"d": today_text}),
        )
        .await;
    let nodes = answer["data"]["worklist"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        !nodes
            .iter()
            .any(|n| n["customerId"] == "SMALL" && n["step"] == "overdue_reminder"),
        "{answer}"
    );
    server.terminate();
}

/// Issue 17 / decision 0035: `kill -9` between the append of `ReminderSent` and the removal of
/// the outbox entry (a test-only pause holds the server there): after restart the entry is
/// dropped without sending, so each reminder is delivered exactly once and recorded once.
#[tokio::test]
async fn kill_9_between_the_record_and_the_outbox_removal_sends_nothing_twice() {
    let ledger = Ledger::new();
    let collector = collector(&ledger);
    let data = ledger.data();
    let sink = SmtpSink::start();
    let url = sink.url();
    let smtp = [
        "--smtp",
        url.as_str(),
        "--smtp-from",
        "credit@dunlog.test",
        "--no-auto-tick",
    ];
    let ids = ["R0", "R1"];
    {
        let server = Server::start_with(&data, &[]);
        let admin = Client::new(&server, Some(&ledger.admin));
        for (i, id) in ids.iter().enumerate() {
            open_overdue(&admin, id, "en", Some(&format!("ap{i}@example.com"))).await;
        }
        server.terminate();
    }
    let outbox_entries = || {
        std::fs::read_dir(data.join("outbox"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    };
    for (i, id) in ids.iter().enumerate() {
        let server = Server::start_full(
            &data,
            &smtp,
            &[("DUNLOG_TEST_PAUSE_AFTER_RECORD_MS", "600000")],
        );
        let client = Client::new(&server, Some(&collector));
        let c = client.clone();
        let request = (*id).to_owned();
        let pending = tokio::spawn(async move {
            c.try_query(
                SEND,
                json!({"i": {"customerId": request, "step": "overdue_reminder"}}),
            )
            .await
        });
        // The server says when it recorded the message and holds before removing the entry.
        let log = data.with_extension("log");
        let until = Instant::now() + DEADLINE;
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("(test pause)")
        {
            assert!(Instant::now() < until, "{id}: never recorded");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(timeline_of(&client, id, "ReminderSent").await.len(), 1);
        assert_eq!(outbox_entries(), 1, "{id}: the entry is still there");
        server.stop();
        let _ = pending.await;
        // Restart: the entry is found with its record, dropped, and nothing is sent again.
        let server = Server::start_with(&data, &smtp[..4]);
        let until = Instant::now() + DEADLINE;
        while outbox_entries() > 0 {
            assert!(
                Instant::now() < until,
                "{id}: the entry stays in the outbox"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let client = Client::new(&server, Some(&collector));
        let recorded = timeline_of(&client, id, "ReminderSent").await;
        assert_eq!(recorded.len(), 1, "{id}: recorded once");
        let delivered: Vec<String> = sink
            .received()
            .iter()
            .filter(|m| m.to == [format!("<ap{i}@example.com>")])
            .filter_map(|m| m.header("Message-ID"))
            .collect();
        assert_eq!(
            delivered,
            [recorded[0]["message_id"].as_str().unwrap_or("?").to_owned()],
            "{id}: delivered exactly once"
        );
        server.terminate();
    }
    assert_eq!(sink.received().len(), ids.len());
}

/// Issue 17, SPEC §12 "one message per account and step": with the relay down past midnight,
/// the next day's automatic sending used to compose the still-due step again — a second message
/// with a new Message-ID beside the one waiting in the outbox — and both went out once the relay
/// came back. The waiting message is the step's: one message, recorded once.
#[tokio::test]
async fn a_relay_down_past_midnight_still_sends_one_message_per_account_and_step() {
    let ledger = Ledger::new();
    let data = ledger.data();
    let viewer = token(&data, "viewer", "viewer");
    {
        let server = Server::start_with(&data, &[]);
        let admin = Client::new(&server, Some(&ledger.admin));
        let answer = admin
            .query(
                OPEN,
                json!({"i": {"customerId": "ACME", "name": "Acme Lda", "currency": "EUR",
                             "creditLimit": "50000.00", "terms": {"netDays": 30},
                             "openedOn": days_ago(200).to_string(),
                             "contacts": {"billingEmail": "ap@acme.example.com", "language": "en"}}}),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        // Due five days ago: `overdue_reminder` (due + 5) is due today and tomorrow (the call
        // comes at due + 7).
        let answer = admin
            .query(
                ISSUE,
                json!({"i": {"customerId": "ACME", "invoiceId": "ACME-1", "amount": "1234.50",
                             "issuedOn": days_ago(35).to_string()}}),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        server.terminate();
    }
    let port = SmtpSink::free_port();
    let url = format!("smtp://{port}");
    let log = data.with_extension("log");
    let outbox_entries = || {
        std::fs::read_dir(data.join("outbox"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    };
    let day1 = today();
    let day2 = day1.checked_add_days(Days::new(1)).expect("date");
    for day in [day1, day2] {
        let day_text = day.to_string();
        let server = Server::start_full(
            &data,
            &[
                "--smtp",
                &url,
                "--smtp-from",
                "credit@dunlog.test",
                "--today",
                &day_text,
            ],
            &[],
        );
        let until = Instant::now() + DEADLINE;
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&format!("automatic reminder(s) for {day_text}"))
        {
            assert!(Instant::now() < until, "{day}: the daily loop did not run");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            outbox_entries(),
            1,
            "{day}: one message waits for the relay"
        );
        server.terminate();
    }
    // The relay comes up on the second day: the waiting message goes out, once.
    let sink = SmtpSink::start_on(port);
    let day_text = day2.to_string();
    let server = Server::start_full(
        &data,
        &[
            "--smtp",
            &url,
            "--smtp-from",
            "credit@dunlog.test",
            "--today",
            &day_text,
        ],
        &[],
    );
    let client = Client::new(&server, Some(&viewer));
    let sent = wait_for_events(&client, "ACME", "ReminderSent", 1).await;
    let until = Instant::now() + DEADLINE;
    while outbox_entries() > 0 {
        assert!(Instant::now() < until, "the outbox does not empty");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(timeline_of(&client, "ACME", "ReminderSent").await.len(), 1);
    let got = sink.received();
    assert_eq!(got.len(), 1, "one message for the account and step");
    assert_eq!(
        got[0].header("Message-ID").as_deref(),
        sent[0]["message_id"].as_str()
    );
    // Its Message-ID is the first day's.
    assert!(
        sent[0]["message_id"]
            .as_str()
            .is_some_and(|id| id.contains(&day1.format(".%Y%m%d@").to_string())),
        "{}",
        sent[0]
    );
    server.terminate();
}
