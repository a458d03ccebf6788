//! Slow requests (slowloris): a client that drips its headers, or its body, a byte at a time does
//! not stop other clients being served; a new connection whose headers take longer than the
//! server's header timeout is closed, and a body that takes longer than the body timeout is
//! answered `408` with `LIMIT` and the connection closed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::support::{Client, Ledger, Server};

/// Writes `bytes` one at a time, `gap` apart, until done, stopped or the server closes.
fn drip(mut stream: TcpStream, bytes: Vec<u8>, gap: Duration, stop: Arc<AtomicBool>) {
    for b in bytes {
        if stop.load(Ordering::Relaxed) || stream.write_all(&[b]).is_err() {
            return;
        }
        std::thread::sleep(gap);
    }
}

async fn others_are_served(server: &Server, admin: &str) {
    let client = Client::new(server, Some(admin));
    for _ in 0..5 {
        let answer = client.query("{ verifyLog { ok } }", json!({})).await;
        assert_eq!(answer["data"]["verifyLog"]["ok"], true, "{answer}");
    }
}

#[tokio::test]
async fn slow_clients_do_not_stop_others_and_are_cut_off() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let addr = server.addr();
    let stop = Arc::new(AtomicBool::new(false));

    // Headers dripped a byte every 100 ms (the whole head would take 100 s).
    let headers = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{}\r\n",
        "X-Padding: slow\r\n".repeat(60)
    );
    let slow_headers = TcpStream::connect(&addr).expect("connect");
    let header_drip = {
        let (s, stop) = (slow_headers.try_clone().expect("clone"), stop.clone());
        std::thread::spawn(move || drip(s, headers.into_bytes(), Duration::from_millis(100), stop))
    };

    // Complete headers, then a body of 2,000 bytes dripped a byte every 50 ms (100 s in all).
    let body = format!(
        "{{\"query\": \"{{ verifyLog {{ ok }} }}\"{}}}",
        " ".repeat(1970)
    );
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        ledger.admin,
        body.len()
    );
    let mut slow_body = TcpStream::connect(&addr).expect("connect");
    slow_body.write_all(head.as_bytes()).expect("headers");
    let body_drip = {
        let (s, stop) = (slow_body.try_clone().expect("clone"), stop.clone());
        std::thread::spawn(move || drip(s, body.into_bytes(), Duration::from_millis(50), stop))
    };

    // Meanwhile everyone else is served.
    others_are_served(&server, &ledger.admin).await;

    // The slow body is cut off by the server's body timeout: 408, LIMIT, connection closed.
    // (The read timeout only keeps a broken server from hanging the test.)
    let response = tokio::task::spawn_blocking(move || {
        slow_body
            .set_read_timeout(Some(Duration::from_secs(90)))
            .expect("read timeout");
        let mut response = String::new();
        let _ = slow_body.read_to_string(&mut response);
        response
    })
    .await
    .expect("reader");
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "a slow body is answered 408: {response:?}"
    );
    assert!(response.contains("\"LIMIT\""), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );

    // The header drip is cut off by the server's header timeout: the connection is closed
    // (end of stream or reset; a read timing out would mean it is still open).
    let closed = tokio::task::spawn_blocking(move || {
        let mut reader = slow_headers;
        reader
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        let mut buf = [0u8; 512];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => continue, // an error answer before the close
                Err(e) => return Err(e.kind()),
            }
        }
    })
    .await
    .expect("reader");
    assert!(
        matches!(
            closed,
            Ok(()) | Err(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
        ),
        "the slow-header connection was not closed: {closed:?}"
    );
    others_are_served(&server, &ledger.admin).await;
    stop.store(true, Ordering::Relaxed);
    header_drip.join().expect("header drip");
    body_drip.join().expect("body drip");
}

/// Reads until the server closes the connection (end of stream or reset); `Err` if it is still
/// open when `bound` passes (the bound only keeps a broken server from hanging the test).
fn wait_closed(mut stream: TcpStream, bound: Duration) -> Result<(), std::io::ErrorKind> {
    stream.set_read_timeout(Some(bound)).expect("read timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e.kind()),
        }
    }
}

/// Sends one whole `GET /health` on a kept-alive connection; its answer's first line.
fn try_request(stream: &mut TcpStream, addr: &str) -> String {
    if write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").is_err() {
        return String::new();
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn one_request(stream: &mut TcpStream, addr: &str) {
    let answer = try_request(stream, addr);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

/// A connection from `127.0.0.2`, so the client cap below does not touch the test's own
/// client on `127.0.0.1`.
async fn connect_from_second_address(addr: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.2:0".parse().expect("address"))
        .expect("bind 127.0.0.2");
    let stream = socket
        .connect(addr.parse().expect("server address"))
        .await
        .expect("connect");
    stream
        .into_std()
        .and_then(|s| {
            s.set_nonblocking(false)?;
            Ok(s)
        })
        .expect("std stream")
}

#[tokio::test]
async fn kept_alive_connections_are_bounded_and_clients_capped() {
    let ledger = Ledger::new();
    let server = Server::start_with(
        &ledger.data(),
        &[
            "--idle-timeout-secs",
            "2",
            "--max-connections-per-client",
            "4",
        ],
    );
    let addr = server.addr();
    let stop = Arc::new(AtomicBool::new(false));

    // A second request whose head is dripped a byte per 100 ms on a kept-alive connection is
    // cut off by the header timeout, like a first one.
    let mut second_slow = TcpStream::connect(&addr).expect("connect");
    one_request(&mut second_slow, &addr);
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\n{}\r\n",
        "X-Padding: slow\r\n".repeat(60)
    );
    let second_drip = {
        let (s, stop) = (second_slow.try_clone().expect("clone"), stop.clone());
        std::thread::spawn(move || drip(s, head.into_bytes(), Duration::from_millis(100), stop))
    };

    // A kept-alive connection that sends nothing after its first answer is closed once idle.
    let mut idle = TcpStream::connect(&addr).expect("connect");
    one_request(&mut idle, &addr);
    let idle_closed =
        tokio::task::spawn_blocking(move || wait_closed(idle, Duration::from_secs(60)));

    // One client address holds at most 4 connections: a fifth is closed at once, and other
    // clients are served meanwhile.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = connect_from_second_address(&addr).await;
        one_request(&mut c, &addr);
        held.push(c);
    }
    let fifth = connect_from_second_address(&addr).await;
    let fifth_closed =
        tokio::task::spawn_blocking(move || wait_closed(fifth, Duration::from_secs(60)));
    assert_eq!(
        fifth_closed.await.expect("reader"),
        Ok(()),
        "the fifth connection was served"
    );
    others_are_served(&server, &ledger.admin).await;
    // Once it closes its connections, the client is admitted again (as soon as the server has
    // seen them close).
    drop(held);
    let mut admitted = false;
    for _ in 0..100 {
        let mut again = connect_from_second_address(&addr).await;
        if try_request(&mut again, &addr).starts_with("HTTP/1.1 200") {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        admitted,
        "the client was not admitted again after closing its connections"
    );

    assert_eq!(
        idle_closed.await.expect("reader"),
        Ok(()),
        "the idle connection stayed open"
    );
    let second_closed =
        tokio::task::spawn_blocking(move || wait_closed(second_slow, Duration::from_secs(60)));
    assert_eq!(
        second_closed.await.expect("reader"),
        Ok(()),
        "the slow second head was not cut off"
    );
    others_are_served(&server, &ledger.admin).await;
    stop.store(true, Ordering::Relaxed);
    second_drip.join().expect("second drip");
}
