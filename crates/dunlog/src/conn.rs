//! A TCP listener whose connections must send their first request head within
//! [`HEADER_READ_TIMEOUT`] of being accepted (slowloris): hyper's own `header_read_timeout` needs
//! a timer that `axum::serve` does not set. Once the first head is in (`\r\n\r\n` seen), the
//! connection is left alone: later requests are bounded by the body and execution timeouts only,
//! and a WebSocket upgraded from it lives as long as it likes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// Longest a new connection may take to send its first request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// [`TcpListener`] handing out [`HeadTimed`] connections.
pub struct HeadTimedListener {
    listener: TcpListener,
    timeout: Duration,
}

impl HeadTimedListener {
    pub fn new(listener: TcpListener, timeout: Duration) -> HeadTimedListener {
        HeadTimedListener { listener, timeout }
    }
}

impl axum::serve::Listener for HeadTimedListener {
    type Io = HeadTimed;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (HeadTimed, std::net::SocketAddr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        (HeadTimed::new(stream, self.timeout), addr)
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection that fails its reads with `TimedOut` if the first request head has not arrived
/// in time.
pub struct HeadTimed {
    stream: TcpStream,
    /// Running until the first `\r\n\r\n` is read; `None` afterwards.
    deadline: Option<Pin<Box<Sleep>>>,
    /// How many bytes of `\r\n\r\n` the bytes read so far end with.
    matched: usize,
}

impl HeadTimed {
    fn new(stream: TcpStream, timeout: Duration) -> HeadTimed {
        HeadTimed {
            stream,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            matched: 0,
        }
    }

    /// Follows the bytes read; true once they hold `\r\n\r\n`.
    fn head_complete(&mut self, bytes: &[u8]) -> bool {
        const END: &[u8; 4] = b"\r\n\r\n";
        for &b in bytes {
            self.matched = if b == END[self.matched] {
                self.matched + 1
            } else if b == b'\r' {
                1
            } else {
                0
            };
            if self.matched == END.len() {
                return true;
            }
        }
        false
    }
}

impl AsyncRead for HeadTimed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request headers not received in time",
                )));
            }
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.deadline.is_some() {
            if let Poll::Ready(Ok(())) = polled {
                let fresh = buf.filled()[before..].to_vec();
                if this.head_complete(&fresh) {
                    this.deadline = None;
                }
            }
        }
        polled
    }
}

impl AsyncWrite for HeadTimed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
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

    #[tokio::test]
    async fn the_end_of_the_head_is_found_across_reads() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut conn = HeadTimed::new(stream, HEADER_READ_TIMEOUT);
        assert!(!conn.head_complete(b"GET / HTTP/1.1\r\nHost: x\r"));
        assert!(!conn.head_complete(b"\n\r\r"));
        assert!(!conn.head_complete(b"\n"));
        assert!(conn.head_complete(b"\r\n"));
    }
}
