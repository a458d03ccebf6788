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
