//! What a browser meets: GraphiQL loads from the server alone (no CDN: it works without
//! internet), and CORS lets only the origins `serve --cors-origin` names call the API.

use crate::support::{Ledger, Server};

/// Every `src="…"`/`href="…"` of an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    found
}

/// Hosts a page would load code, styles or fonts from if it were not self-contained.
const CDN_HOSTS: [&str; 7] = [
    "unpkg.com",
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "esm.sh",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.skypack.dev",
];

#[tokio::test]
async fn graphiql_loads_nothing_from_outside_the_server() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger.data());
    let http = reqwest::Client::new();
    let page = http
        .get(server.graphql_url())
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("GraphiQL"));
    let urls = links(&html);
    assert!(
        urls.len() >= 4,
        "the page names its scripts and styles: {urls:?}"
    );
    for url in &urls {
        assert!(
            url.starts_with('/') && !url.starts_with("//"),
            "{url}: every URL of the page is a path on this server"
        );
        let asset = http
            .get(format!("{}{url}", server.base))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(asset.status().as_u16(), 200, "{url}");
        let body = asset.text().await.expect("asset body");
        for host in CDN_HOSTS {
            assert!(!body.contains(host), "{url} names {host}");
        }
        if url.ends_with(".css") {
            assert!(
                !body.contains("@import"),
                "{url} imports another stylesheet"
            );
            for (i, _) in body.match_indices("url(") {
                let target = body[i + 4..].trim_start_matches(['"', '\'']);
                assert!(
                    target.starts_with("data:") || target.starts_with('#'),
                    "{url}: loads {}",
                    &target[..target.len().min(60)]
                );
            }
        }
    }
    for html_url in ["https://", "http://"] {
        assert!(!html.contains(html_url), "the page names {html_url}…");
    }
    let licence = http
        .get(format!("{}/graphiql/LICENSE-graphiql", server.base))
        .send()
        .await
        .expect("licence");
    assert!(licence.text().await.expect("text").contains("MIT"));
}

#[tokio::test]
async fn cors_answers_only_the_named_origins_and_never_allows_credentials() {
    let ledger = Ledger::new();
    let dash = "https://dash.example.com";
    let server = Server::start_with(&ledger.data(), &["--cors-origin", dash]);
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, server.graphql_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight(dash).await.expect("preflight");
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let h = allowed.headers();
    assert_eq!(
        h.get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(dash)
    );
    let methods = h
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let headers = h
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert!(h.get("access-control-allow-credentials").is_none());

    let other = preflight("https://evil.example.net")
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The answer itself carries the header for the named origin.
    let answer = http
        .post(server.graphql_url())
        .header("origin", dash)
        .header("content-type", "application/json")
        .body(r#"{"query": "{ __typename }"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(dash)
    );

    // None by default.
    let plain_ledger = Ledger::new();
    let plain = Server::start(&plain_ledger.data());
    let answer = http
        .request(reqwest::Method::OPTIONS, plain.graphql_url())
        .header("origin", dash)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(answer
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[test]
fn a_wildcard_or_a_path_is_not_an_origin() {
    let ledger = Ledger::new();
    for bad in ["*", "https://dash.example.com/app", "dash.example.com"] {
        let output = std::process::Command::new(crate::support::binary())
            .arg("--data")
            .arg(ledger.data())
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--no-auto-tick",
                "--cors-origin",
                bad,
            ])
            .output()
            .expect("run dunlog serve");
        assert!(!output.status.success(), "{bad} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--cors-origin") && stderr.contains(bad),
            "{stderr}"
        );
    }
}
