//! Starting and stopping the server under test, tokens, and a small GraphQL client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long the server may take to start answering.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

pub fn binary() -> PathBuf {
    std::env::var_os("DUNLOG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dunlog-e2e")))
}

/// Runs a CLI command against a data directory; returns stdout, panics with stderr on failure.
pub fn cli(data: &Path, args: &[&str]) -> String {
    let output = Command::new(binary())
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run dunlog");
    assert!(
        output.status.success(),
        "dunlog {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// Creates a token and returns its secret.
pub fn token(data: &Path, name: &str, role: &str) -> String {
    cli(data, &["token", "create", "--name", name, "--role", role])
        .trim()
        .to_owned()
}

/// A running `dunlog serve`; killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the server on a free port and waits (with a deadline) until `/health` answers.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts the server with extra `serve` arguments.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--no-auto-tick"];
        args.extend_from_slice(extra);
        Server::start_full(data, &args, &[])
    }

    /// Starts the server with exactly these `serve` arguments (the clock runs unless they say
    /// `--no-auto-tick`) and extra environment variables.
    pub fn start_full(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = std::fs::File::create(data.with_extension("log")).expect("server log file");
        let mut child = Command::new(binary())
            .arg("--data")
            .arg(data)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start dunlog serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
                panic!("server did not start: {line:?}\n{log}")
            })
            .to_owned();
        let base = url.trim_end_matches("/graphql").to_owned();
        let server = Server { child, base };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        let addr = self.base.trim_start_matches("http://").to_owned();
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
                use std::io::{Read, Write};
                let request =
                    format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut response = String::new();
                    let _ = stream.read_to_string(&mut response);
                    if response.starts_with("HTTP/1.1 200") {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "server at {addr} never became healthy"
            );
            std::thread::yield_now();
        }
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/graphql/ws", self.base.replace("http://", "ws://"))
    }

    /// Asks the server to stop (SIGTERM: finish, save a projection snapshot, exit) and waits,
    /// with a deadline, for it to exit successfully.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "server exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::yield_now();
        }
    }

    /// Kills the server (like a crash) and waits for it to exit.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GraphQL client bound to one server and token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &Server, token: Option<&str>) -> Client {
        Client {
            http: reqwest::Client::new(),
            url: server.graphql_url(),
            token: token.map(str::to_owned),
        }
    }

    /// Posts a raw body; returns the status and the JSON answer.
    pub async fn post_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Runs a query with variables, or says why no answer came (the server died, say).
    pub async fn try_query(&self, query: &str, variables: Value) -> Result<Value, reqwest::Error> {
        let body = json!({"query": query, "variables": variables});
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).expect("json"));
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let text = request.send().await?.text().await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Runs the operation `name` of a document; returns the whole JSON answer.
    pub async fn query_named(&self, query: &str, name: &str, variables: Value) -> Value {
        let body = json!({"query": query, "operationName": name, "variables": variables});
        self.post_raw(serde_json::to_vec(&body).expect("json"))
            .await
            .1
    }

    /// Runs a query with variables; returns the whole JSON answer (`data` and `errors`).
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        self.post_raw(serde_json::to_vec(&body).expect("json"))
            .await
            .1
    }
}

/// The first error's `extensions.code`, if any.
pub fn error_code(answer: &Value) -> Option<String> {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// A fresh data directory with an admin token.
pub struct Ledger {
    pub dir: tempfile::TempDir,
    pub admin: String,
}

impl Ledger {
    pub fn new() -> Ledger {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = token(&dir.path().join("data"), "admin", "admin");
        Ledger { dir, admin }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Opens ACME through GraphQL (admin).
pub async fn open_acme(client: &Client) -> Value {
    client
        .query(
            "mutation($i: OpenAccountInput!) { openAccount(input: $i) { events { position type } } }",
            json!({"i": {"customerId": "ACME", "name": "Acme Ltd", "currency": "EUR",
                         "creditLimit": "10000.00", "terms": {"netDays": 30}, "openedOn": "2026-01-01"}}),
        )
        .await
}
