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
