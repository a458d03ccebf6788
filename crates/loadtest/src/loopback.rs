//! The real `dunlog serve` as a child process on loopback, with a token and a GraphQL client:
//! what `dunlog bench` and `dunlog soak` measure against, so their figures include HTTP,
//! JSON and the server's own scheduling, as a user's would.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::Value;

pub use crate::http::HttpClient;

/// How often start-up and shutdown are polled.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Runs `dunlog <args> --data DIR` (this same executable) and returns its stdout; an error
/// carries its stderr.
pub fn run_cli(data: &Path, args: &[&str]) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let output = Command::new(&exe)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .with_context(|| format!("running dunlog {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "dunlog {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Creates (or replaces) a token with the server stopped; returns its secret.
pub fn create_token(data: &Path, name: &str, role: &str) -> anyhow::Result<String> {
    let out = run_cli(data, &["token", "create", "--name", name, "--role", role])?;
    Ok(out.trim().to_owned())
}

/// A running `dunlog serve`, killed when dropped however the caller ends.
pub struct ServeChild {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bearer token every request carries.
    pub token: String,
    pub http: HttpClient,
}

impl ServeChild {
    /// Starts `dunlog serve` on a free loopback port with `extra` arguments, its stderr going to
    /// `log` (or nowhere), and waits until `/health` answers or `startup` has passed.
    pub async fn start(
        data: &Path,
        token: &str,
        extra: &[&str],
        log: Option<&Path>,
        startup: Duration,
    ) -> anyhow::Result<ServeChild> {
        let exe = std::env::current_exe()?;
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        // Port 0: the kernel picks a free port and the server says which on its first line of
        // stdout, so no other process can take the port between choosing and binding it.
        let mut child = Command::new(&exe)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .arg("--data")
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("starting dunlog serve")?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("dunlog serve has no stdout"))?;
        let (addr_tx, mut addr_rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut addr_tx = Some(addr_tx);
            // Keeps reading to the end so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    if let Some(tx) = addr_tx.take() {
                        let _ = tx.send(rest.trim_end_matches("/graphql").to_owned());
                    }
                }
            }
        });
        let mut server = ServeChild {
            child,
            base: String::new(),
            token: token.to_owned(),
            http: HttpClient::default(),
        };
        let deadline = Instant::now() + startup;
        loop {
            match addr_rx.try_recv() {
                Ok(addr) => {
                    server.base = format!("http://{addr}");
                    break;
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    bail!("dunlog serve closed its output before saying where it listens")
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("dunlog serve exited during start-up with {status}");
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not say where it listens within {} s",
                    startup.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let deadline = Instant::now() + startup;
        loop {
            if server.health().await.is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("dunlog serve exited during start-up with {status}");
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not become healthy within {} s",
                    startup.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now, MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        rss_mib(self.pid())
    }

    /// The exit status if the server has exited.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// `/health`: the log's durable head and the read model's applied position.
    pub async fn health(&self) -> anyhow::Result<(u64, u64)> {
        let answer = self.http.get_json(&format!("{}/health", self.base)).await?;
        let position = |field: &str| {
            answer[field]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| anyhow!("/health has no {field}: {answer}"))
        };
        Ok((position("head")?, position("applied")?))
    }

    /// Posts one GraphQL request; `Err` only when no JSON answer came back.
    pub async fn graphql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        graphql(&self.http, &self.base, &self.token, query, variables).await
    }

    /// Asks the server to stop (SIGTERM: finish, save a projection snapshot, close the log
    /// cleanly) and waits up to `deadline` for it to exit.
    pub async fn terminate(mut self, deadline: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.pid().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("running kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM {pid} failed");
        }
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > until {
                bail!(
                    "the server did not stop within {} s of SIGTERM",
                    deadline.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Posts one GraphQL request with a bearer token; `Err` only when no JSON answer came back.
pub async fn graphql(
    http: &HttpClient,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut body = serde_json::json!({ "query": query });
    if !variables.is_null() {
        body["variables"] = variables;
    }
    let (status, answer) = http
        .post_json(&format!("{base}/graphql"), token, &body)
        .await?;
    serde_json::from_slice(&answer)
        .with_context(|| format!("POST {base}/graphql: HTTP {status}, the answer is not JSON"))
}

/// The `q` quantile (0..=1) of ascending `sorted` samples, nearest rank; 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// Resident memory of a process (`VmRSS` in `/proc/PID/status`), MiB; `None` off Linux or
/// once it has exited.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// `DIR.serve.log`: where a measured server's stderr goes, beside (not inside) its data
/// directory.
pub fn log_path_beside(data: &Path) -> PathBuf {
    let mut name = OsString::from(data.as_os_str());
    name.push(".serve.log");
    PathBuf::from(name)
}

/// CPU time (user + system) a process has used so far, seconds; `None` off Linux or once it has
/// exited. Assumes the usual 100 clock ticks per second.
pub fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis,
    // where field 3 (state) comes first, so utime (14) and stime (15) are the 12th and 13th.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The machine's 1-minute load average (`/proc/loadavg`): how crowded the CPUs were.
pub fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
