//! The `events` subscription delivers live envelopes over WebSocket (graphql-transport-ws).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{open_acme, Client, Ledger, Server};

/// Longest to wait for one message before the test fails.
const MESSAGE_DEADLINE: Duration = Duration::from_secs(30);

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(MESSAGE_DEADLINE, ws.next())
            .await
            .expect("a message before the deadline")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("JSON message");
        }
    }
}

#[tokio::test]
async fn subscription_receives_live_events() {
    let ledger = Ledger::new();
    let auditor = crate::support::token(&ledger.data(), "dashboard", "auditor");
    let server = Server::start(&ledger.data());

    let mut request = server.ws_url().into_client_request().expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {auditor}")}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .expect("send init");
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");

    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { events(after: \"0\") { position stream type actor hash } }"}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("send subscribe");

    // The first event of every ledger: the default policy adopted at creation.
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(first["payload"]["data"]["events"]["type"], "PolicyAdopted");

    // Now a live append by someone else arrives on the socket.
    let admin = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&admin).await;
    assert!(opened.get("errors").is_none(), "{opened}");
    let live = next_json(&mut ws).await;
    let event = &live["payload"]["data"]["events"];
    assert_eq!(event["type"], "AccountOpened", "{live}");
    assert_eq!(event["stream"], "account-ACME");
    assert_eq!(event["actor"], "admin");
    assert_eq!(event["position"], "2");
}

#[tokio::test]
async fn subscription_without_a_token_is_refused() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let mut request = server.ws_url().into_client_request().expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connects");
    ws.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .expect("init");
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { events { position } }"}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    let answer = next_json(&mut ws).await;
    let code = answer["payload"][0]["extensions"]["code"]
        .as_str()
        .or_else(|| answer["payload"]["errors"][0]["extensions"]["code"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(code, "UNAUTHENTICATED", "{answer}");
}

/// Issue 15: a subscription opened with a token that is revoked afterwards ends (one
/// UNAUTHENTICATED error, then `complete`) and delivers nothing appended after the revocation;
/// before, it went on streaming every new event to the holder of the revoked token.
#[tokio::test]
async fn a_subscription_ends_when_its_token_is_revoked() {
    let ledger = Ledger::new();
    let auditor = crate::support::token(&ledger.data(), "dashboard", "auditor");
    let server = Server::start(&ledger.data());
    let mut request = server.ws_url().into_client_request().expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket connects");
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {auditor}")}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .expect("send init");
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { events(after: \"0\") { position type } }"}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("send subscribe");
    let first = next_json(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["events"]["type"], "PolicyAdopted",
        "{first}"
    );

    // Revoked beside the running server, then a new event is appended.
    crate::support::cli(&ledger.data(), &["token", "revoke", "--name", "dashboard"]);
    let admin = Client::new(&server, Some(&ledger.admin));
    let opened = open_acme(&admin).await;
    assert!(opened.get("errors").is_none(), "{opened}");

    let mut messages = Vec::new();
    loop {
        let message = next_json(&mut ws).await;
        let done = message["type"] == "complete" || message["type"] == "error";
        messages.push(message);
        if done {
            break;
        }
    }
    assert!(
        !messages
            .iter()
            .any(|m| m["payload"]["data"]["events"]["type"] == "AccountOpened"),
        "nothing after the revocation: {messages:?}"
    );
    let code = messages
        .iter()
        .find_map(|m| {
            m["payload"]["errors"][0]["extensions"]["code"]
                .as_str()
                .or_else(|| m["payload"][0]["extensions"]["code"].as_str())
        })
        .unwrap_or_default();
    assert_eq!(code, "UNAUTHENTICATED", "{messages:?}");
}
