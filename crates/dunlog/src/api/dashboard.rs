//! The dashboard (SPEC §11): static ES modules and one stylesheet, embedded in the binary and
//! served at `/`. The page is a GraphQL client like any other: it talks only to the public
//! `/graphql` and `/graphql/ws`; nothing here reads the ledger (docs/decisions/0030).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: the name it is served under (below `/dashboard/`), its media type, its text.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the page. `cargo build` embeds them; there is no other build step.
const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        media_type: "text/css; charset=utf-8",
        body: include_str!("../../dashboard/app.css"),
    },
    Asset {
        name: "app.js",
        media_type: JS,
        body: include_str!("../../dashboard/app.js"),
    },
    Asset {
        name: "api.js",
        media_type: JS,
        body: include_str!("../../dashboard/api.js"),
    },
    Asset {
        name: "format.js",
        media_type: JS,
        body: include_str!("../../dashboard/format.js"),
    },
    Asset {
        name: "ui.js",
        media_type: JS,
        body: include_str!("../../dashboard/ui.js"),
    },
    Asset {
        name: "charts.js",
        media_type: JS,
        body: include_str!("../../dashboard/charts.js"),
    },
    Asset {
        name: "overview.js",
        media_type: JS,
        body: include_str!("../../dashboard/overview.js"),
    },
    Asset {
        name: "lists.js",
        media_type: JS,
        body: include_str!("../../dashboard/lists.js"),
    },
    Asset {
        name: "worklist.js",
        media_type: JS,
        body: include_str!("../../dashboard/worklist.js"),
    },
    Asset {
        name: "customer.js",
        media_type: JS,
        body: include_str!("../../dashboard/customer.js"),
    },
    Asset {
        name: "audit.js",
        media_type: JS,
        body: include_str!("../../dashboard/audit.js"),
    },
    Asset {
        name: "whatif.js",
        media_type: JS,
        body: include_str!("../../dashboard/whatif.js"),
    },
];

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");

/// What the page may load and where it may connect: only this server (the GraphQL endpoint and
/// its WebSocket), no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// The dashboard's routes: `GET /` and `GET /dashboard/{file}`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard/{name}", get(asset))
}

async fn index() -> Response {
    serve("text/html; charset=utf-8", INDEX_HTML)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => serve(a.media_type, a.body),
        None => (StatusCode::NOT_FOUND, "no such dashboard file").into_response(),
    }
}

fn serve(media_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The assets are part of the binary: a new binary may change them, so the browser revalidates.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(path: &str) -> Response {
        routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_and_its_modules_are_served_with_their_types_and_policy() {
        let page = get("/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        let module = get("/dashboard/app.js").await;
        assert_eq!(module.status(), StatusCode::OK);
        assert_eq!(module.headers()[header::CONTENT_TYPE], JS);
        assert_eq!(
            get("/dashboard/secrets.txt").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get("/dashboard/..%2Fmain.rs").await.status(),
            StatusCode::NOT_FOUND
        );
    }

    /// Every module the page imports is in the table (a missing one would be a blank page).
    #[test]
    fn every_imported_module_is_served() {
        let mut sources: Vec<&str> = ASSETS.iter().map(|a| a.body).collect();
        sources.push(INDEX_HTML);
        for source in sources {
            let relative = source.match_indices("./").map(|(at, m)| at + m.len());
            let absolute = source
                .match_indices("/dashboard/")
                .map(|(at, m)| at + m.len());
            for start in relative.chain(absolute) {
                let rest = &source[start..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
                    .collect();
                if name.ends_with(".js") || name.ends_with(".css") {
                    assert!(
                        ASSETS.iter().any(|a| a.name == name),
                        "{name} is imported but not in ASSETS"
                    );
                }
            }
        }
    }
}
