//! A tiny real SMTP server on loopback for the reminder tests: it speaks enough RFC 5321 for
//! lettre (greeting, EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it accepted,
//! and can refuse for good (5xx), or be down and come back up on the same port.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// What the sink answers to a recipient.
pub const ACCEPT: u8 = 0;
pub const REJECT_5XX: u8 = 1;

/// A message the sink accepted (answered 250 to its data).
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// A header's value (unfolded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The body decoded from its transfer encoding (dunlog sends base64).
    pub fn body(&self) -> String {
        let raw = self
            .data
            .split_once("\r\n\r\n")
            .map(|x| x.1)
            .unwrap_or_default();
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or_default();
        if encoding.eq_ignore_ascii_case("base64") {
            let compact: String = raw.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64 body");
            String::from_utf8(bytes).expect("utf-8 body")
        } else {
            raw.to_owned()
        }
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    mode: AtomicU8,
    running: AtomicBool,
}

/// The sink; stops listening when dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().expect("addr"))
    }

    /// A port nothing listens on yet (the sink "down"); `start_on` it later to bring it up.
    pub fn free_port() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    }

    pub fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).expect("bind the SMTP sink");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            mode: AtomicU8::new(ACCEPT),
            running: AtomicBool::new(true),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            while s.running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || {
                            let _ = session(stream, &s);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        SmtpSink { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_mode(&self, mode: u8) {
        self.shared.mode.store(mode, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Waits (with a deadline) until at least `n` messages were accepted.
    pub fn wait_for(&self, n: usize, deadline: Duration) -> Vec<Received> {
        let until = Instant::now() + deadline;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < until,
                "the SMTP sink got {} of {n} messages",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.running.store(false, Ordering::SeqCst);
    }
}

fn session(stream: TcpStream, s: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 sink.test\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_owned();
            to.clear();
            out.write_all(b"250 2.1.0 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            if s.mode.load(Ordering::SeqCst) == REJECT_5XX {
                out.write_all(b"550 5.1.1 mailbox unavailable\r\n")?;
            } else {
                to.push(cmd[8..].trim().to_owned());
                out.write_all(b"250 2.1.5 ok\r\n")?;
            }
        } else if upper == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Dot-stuffing (RFC 5321 4.5.2).
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            s.received.lock().expect("lock").push(Received {
                from: from.clone(),
                to: to.clone(),
                data: data.trim_end_matches("\r\n").to_owned(),
            });
            out.write_all(b"250 2.0.0 accepted\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 2.0.0 ok\r\n")?;
        } else {
            out.write_all(b"502 5.5.2 not implemented\r\n")?;
        }
    }
}
