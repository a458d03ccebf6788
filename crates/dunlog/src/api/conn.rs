//! Connection-level limits that `axum::serve` does not give: every request head must arrive
//! within [`HEADER_READ_TIMEOUT`] of its first byte (of the connection's accept, for the first
//! request) — slowloris on the first or any later request of a kept-alive connection; a kept-alive
//! connection idle for longer than its idle timeout is closed; and one client (IP address) may
//! hold at most so many connections at once. hyper's own `header_read_timeout` needs a timer that
//! `axum::serve` does not set, so the listener does it.
//!
//! The connection follows HTTP/1.1 from the bytes it carries: a head ends at `\r\n\r\n`; the
//! server writing means the request is being answered, so the next bytes read start the next
//! head; a `101` status line means the connection became a WebSocket, which lives as long as it
//! likes.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

pub use crate::api::limits::{CONNECTIONS_PER_CLIENT, HEADER_READ_TIMEOUT, IDLE_TIMEOUT};

/// The limits a [`LimitedListener`] enforces.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub connections_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            connections_per_client: CONNECTIONS_PER_CLIENT,
        }
    }
}

/// Open connections per client address, shared by the listener and its connections.
type OpenPerClient = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// [`TcpListener`] handing out [`Limited`] connections; a client over its connection cap has
/// its new connection closed at once (the ones it holds keep working).
pub struct LimitedListener {
    listener: TcpListener,
    limits: ConnectionLimits,
    open: OpenPerClient,
}

impl LimitedListener {
    pub fn new(listener: TcpListener, limits: ConnectionLimits) -> LimitedListener {
        LimitedListener {
            listener,
            limits,
            open: Arc::default(),
        }
    }

    /// Counts a new connection from `ip`, or `None` when `ip` is at its cap.
    fn admit(&self, ip: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limits.connections_per_client {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            ip,
            open: self.open.clone(),
        })
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = Limited;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Limited, SocketAddr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
            match self.admit(addr.ip()) {
                Some(slot) => return (Limited::new(stream, self.limits, slot), addr),
                None => {
                    tracing::warn!(client = %addr.ip(), "connection refused: client at its connection cap");
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// One counted connection of a client; uncounted when dropped.
struct ClientSlot {
    ip: IpAddr,
    open: OpenPerClient,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Where a connection is in its HTTP/1.1 exchange.
enum Phase {
    /// Reading a request head: fails with `TimedOut` at the deadline. `matched` is how many bytes
    /// of `\r\n\r\n` the bytes so far end with.
    Head {
        deadline: Pin<Box<Sleep>>,
        matched: usize,
    },
    /// The head is in; the body and the answer are bounded by the server's own timeouts.
    Request,
    /// Answered (or answering); the next byte read starts the next head. Fails with `TimedOut`
    /// when nothing has been read or written for the idle timeout.
    Idle { deadline: Pin<Box<Sleep>> },
    /// Switched protocols (WebSocket): no timeouts of ours.
    Upgraded,
}

/// A connection that enforces [`ConnectionLimits`] on its reads.
pub struct Limited {
    stream: TcpStream,
    limits: ConnectionLimits,
    phase: Phase,
    _slot: ClientSlot,
}

const HEAD_END: &[u8; 4] = b"\r\n\r\n";

/// Follows `bytes` through the end-of-head marker; returns the new match length, or `None` once
/// the marker is complete.
fn scan_head(mut matched: usize, bytes: &[u8]) -> Option<usize> {
    for &b in bytes {
        matched = if HEAD_END.get(matched) == Some(&b) {
            matched + 1
        } else if b == b'\r' {
            1
        } else {
            0
        };
        if matched == HEAD_END.len() {
            return None;
        }
    }
    Some(matched)
}

impl Limited {
    fn new(stream: TcpStream, limits: ConnectionLimits, slot: ClientSlot) -> Limited {
        Limited {
            stream,
            limits,
            phase: Phase::Head {
                deadline: Box::pin(tokio::time::sleep(limits.header_read_timeout)),
                matched: 0,
            },
            _slot: slot,
        }
    }

    /// Moves the phase along after `bytes` were read; a new deadline is armed with `cx`.
    fn after_read(&mut self, bytes: &[u8], cx: &mut Context<'_>) {
        if bytes.is_empty() {
            return;
        }
        if matches!(self.phase, Phase::Idle { .. }) {
            self.phase = Phase::Head {
                deadline: armed(self.limits.header_read_timeout, cx),
                matched: 0,
            };
        }
        if let Phase::Head { matched, .. } = &mut self.phase {
            match scan_head(*matched, bytes) {
                Some(m) => *matched = m,
                None => self.phase = Phase::Request,
            }
        }
    }

    /// Moves the phase along as the server writes `first` (the start of what it writes); a new
    /// deadline is armed with `cx`.
    fn before_write(&mut self, first: &[u8], cx: &mut Context<'_>) {
        match &mut self.phase {
            Phase::Upgraded | Phase::Head { .. } => {}
            Phase::Request if first.starts_with(b"HTTP/1.1 101 ") => self.phase = Phase::Upgraded,
            Phase::Request => {
                self.phase = Phase::Idle {
                    deadline: armed(self.limits.idle_timeout, cx),
                }
            }
            Phase::Idle { deadline } => {
                deadline
                    .as_mut()
                    .reset(Instant::now() + self.limits.idle_timeout);
                let _ = deadline.as_mut().poll(cx);
            }
        }
    }
}

/// A deadline `after` from now, already polled once so that it wakes the connection's task when
/// it passes: hyper reads an idle connection again only when woken.
fn armed(after: Duration, cx: &mut Context<'_>) -> Pin<Box<Sleep>> {
    let mut deadline = Box::pin(tokio::time::sleep(after));
    let _ = deadline.as_mut().poll(cx);
    deadline
}

fn timed_out(why: &'static str) -> Poll<io::Result<()>> {
    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match &mut this.phase {
            Phase::Head { deadline, .. } => {
                if deadline.as_mut().poll(cx).is_ready() {
                    return timed_out("request headers not received in time");
                }
            }
            Phase::Idle { deadline } => {
                if deadline.as_mut().poll(cx).is_ready() {
                    return timed_out("kept-alive connection idle for too long");
                }
            }
            Phase::Request | Phase::Upgraded => {}
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if !matches!(this.phase, Phase::Request | Phase::Upgraded) {
                let fresh = buf.filled().get(before..).unwrap_or_default();
                this.after_read(fresh, cx);
            }
        }
        polled
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.before_write(buf, cx);
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        self.before_write(first, cx);
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;

    #[test]
    fn the_end_of_the_head_is_found_across_reads() {
        let m = scan_head(0, b"GET / HTTP/1.1\r\nHost: x\r").unwrap();
        let m = scan_head(m, b"\n\r\r").unwrap();
        let m = scan_head(m, b"\n").unwrap();
        assert_eq!(scan_head(m, b"\r\n"), None);
        assert_eq!(scan_head(0, b"\r\n\r\n{\"query\""), None);
    }

    async fn pair(listener: &mut LimitedListener) -> (TcpStream, Limited) {
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (conn, _) = axum::serve::Listener::accept(listener).await;
        (client, conn)
    }

    #[tokio::test]
    async fn the_phase_follows_requests_answers_and_upgrades() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut listener = LimitedListener::new(tcp, ConnectionLimits::default());
        let (_client, mut conn) = pair(&mut listener).await;
        let waker = futures::task::noop_waker();
        let cx = &mut Context::from_waker(&waker);
        assert!(matches!(conn.phase, Phase::Head { .. }));
        conn.after_read(b"GET /health HTTP/1.1\r\n\r\n", cx);
        assert!(matches!(conn.phase, Phase::Request));
        conn.before_write(b"HTTP/1.1 200 OK\r\n", cx);
        assert!(matches!(conn.phase, Phase::Idle { .. }));
        conn.after_read(b"POST /graphql HTTP/1.1\r\n", cx);
        assert!(matches!(conn.phase, Phase::Head { matched: 2, .. }));
        conn.after_read(b"Upgrade: websocket\r\n\r\n", cx);
        conn.before_write(b"HTTP/1.1 101 Switching Protocols\r\n", cx);
        assert!(matches!(conn.phase, Phase::Upgraded));
        conn.after_read(b"\x81\x05hello", cx);
        conn.before_write(b"\x81\x02ok", cx);
        assert!(matches!(conn.phase, Phase::Upgraded));
    }

    #[tokio::test]
    async fn an_idle_connection_wakes_its_reader_and_times_out() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let limits = ConnectionLimits {
            idle_timeout: Duration::from_millis(200),
            ..ConnectionLimits::default()
        };
        let mut listener = LimitedListener::new(tcp, limits);
        let (_client, mut conn) = pair(&mut listener).await;
        let waker = futures::task::noop_waker();
        let cx = &mut Context::from_waker(&waker);
        conn.after_read(b"GET / HTTP/1.1\r\n\r\n", cx);
        conn.before_write(b"HTTP/1.1 200 OK\r\n", cx);
        let mut buf = [0u8; 16];
        let read = tokio::io::AsyncReadExt::read(&mut conn, &mut buf).await;
        assert_eq!(read.map_err(|e| e.kind()), Err(io::ErrorKind::TimedOut));
    }

    #[tokio::test]
    async fn a_client_over_its_cap_is_refused_and_admitted_again_when_one_closes() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let limits = ConnectionLimits {
            connections_per_client: 2,
            ..ConnectionLimits::default()
        };
        let listener = LimitedListener::new(tcp, limits);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let first = listener.admit(ip).unwrap();
        let _second = listener.admit(ip).unwrap();
        assert!(listener.admit(ip).is_none());
        assert!(listener.admit("127.0.0.2".parse().unwrap()).is_some());
        drop(first);
        assert!(listener.admit(ip).is_some());
    }
}
