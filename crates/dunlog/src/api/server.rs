//! The HTTP server: `POST /graphql`, GraphiQL on `GET /graphql` (its assets embedded, under
//! `/graphiql/`), subscriptions on `/graphql/ws`, `/health` and `/metrics`, with the limits of
//! `crate::api::limits` on body size, batches and time, and CORS for the origins `serve
//! --cors-origin` names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::api::graphql::error::{code_uncoded, error_body};
use crate::api::graphql::{self, Caller, DunlogSchema, UnknownToken};
use crate::api::limits::{
    REQUEST_BODY_BYTES_MAX, REQUEST_BODY_HARD_BYTES_MAX, REQUEST_BODY_TIMEOUT, REQUEST_TIMEOUT,
};
use crate::app::auth::{Principal, TokenTable};
use crate::app::service::Service;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BUCKETS_S: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Request counters for `/metrics`.
#[derive(Default)]
pub struct HttpMetrics {
    requests: AtomicU64,
    errors: AtomicU64,
    limited: AtomicU64,
    latency_us_sum: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
}

impl HttpMetrics {
    fn observe(&self, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_us_sum.fetch_add(us, Ordering::Relaxed);
        let s = elapsed.as_secs_f64();
        for (bound, count) in LATENCY_BUCKETS_S.iter().zip(&self.latency_buckets) {
            if s <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub schema: DunlogSchema,
    pub service: Service,
    pub metrics: Arc<HttpMetrics>,
    /// Production: no GraphiQL, no introspection, no suggestions.
    pub production: bool,
    /// Origins whose pages may call the API from a browser (`serve --cors-origin`); none by
    /// default.
    pub cors_origins: Vec<HeaderValue>,
}

impl AppState {
    /// Requests are authenticated against the service's token table (`Service::tokens`), which
    /// `createToken`/`revokeToken` and `dunlog token` on the local channel update while the
    /// server runs.
    pub fn new(service: Service, production: bool) -> AppState {
        AppState {
            schema: graphql::schema(service.clone(), production),
            service,
            metrics: Arc::default(),
            production,
            cors_origins: Vec::new(),
        }
    }

    /// Allows browser pages of these origins (`https://dash.example.com`, scheme, host and
    /// port only) to call the API; an origin that is not one is refused with the reason.
    pub fn with_cors_origins(mut self, origins: &[String]) -> anyhow::Result<AppState> {
        self.cors_origins = origins
            .iter()
            .map(|o| cors_origin(o))
            .collect::<anyhow::Result<_>>()?;
        Ok(self)
    }
}

/// Refuses any `--cors-origin` that is not an origin, before the server starts.
pub fn check_cors_origins(origins: &[String]) -> anyhow::Result<()> {
    origins.iter().try_for_each(|o| cors_origin(o).map(drop))
}

/// One `--cors-origin`: `scheme://host[:port]`, no path, never `*` (a wildcard would let any
/// page on the web use a token a browser holds).
fn cors_origin(origin: &str) -> anyhow::Result<HeaderValue> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let valid = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    });
    if !valid {
        anyhow::bail!(
            "--cors-origin {origin:?}: expected an origin like https://dash.example.com \
             (scheme, host and port; no path, no wildcard)"
        );
    }
    Ok(HeaderValue::from_str(origin)?)
}

/// The router.
pub fn app(state: AppState) -> Router {
    with_edge_layers(routes(), state)
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/graphiql/{file}", get(graphiql_asset))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(crate::api::dashboard::routes())
}

/// The layers every route sits behind: the body limit, and the panic guard outermost so that
/// even a panic in a layer is answered.
fn with_edge_layers(routes: Router<AppState>, state: AppState) -> Router {
    let router = routes
        // The body limit answers a bare 413 itself; the outer layer turns it into `LIMIT`.
        .layer(RequestBodyLimitLayer::new(REQUEST_BODY_HARD_BYTES_MAX))
        .layer(axum::middleware::map_response(limit_as_graphql_error))
        .layer(CatchPanicLayer::custom(internal_error_from_panic))
        .with_state(state.clone());
    // Outside the panic guard, so that its answer carries the CORS headers too. Bearer tokens
    // travel in the Authorization header, never in cookies, so credentials are not allowed;
    // preflight requests are answered for the listed origins only.
    if state.cors_origins.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(state.cors_origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

/// A panic while answering a request is a bug: the client gets `INTERNAL` with a correlation id
/// (never an empty reply), and the log gets the panic under the same id. Locks are not left
/// poisoned for the next request: request paths take only read guards of the live ledger, and
/// the memo mutexes recover (and clear) on poison (`projections::memo`).
fn internal_error_from_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let id = uuid::Uuid::now_v7();
    tracing::error!(correlation_id = %id, panic = detail, "request panicked");
    let body = json!({
        "data": null,
        "errors": [{
            "message": format!("internal error (correlation id {id})"),
            "extensions": {"code": "INTERNAL", "correlationId": id.to_string()},
        }],
    });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Turns the body limit's bare 413 into a GraphQL error with code `LIMIT`.
async fn limit_as_graphql_error(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let body = error_body(
            "LIMIT",
            &format!("request body: larger than {REQUEST_BODY_BYTES_MAX} bytes"),
        );
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response();
    }
    response
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

/// Who the request acts as, and whether a token was sent that matches none.
fn principal(tokens: &TokenTable, secret: Option<&str>) -> (Option<Principal>, bool) {
    match secret {
        None => (None, false),
        Some(secret) => {
            let found = tokens.authenticate(secret);
            let unknown = found.is_none();
            (found, unknown)
        }
    }
}

/// The request data of a caller: who they are, and the mark of an unknown token.
fn caller_data(tokens: &TokenTable, secret: Option<&str>) -> Data {
    let (caller, unknown) = principal(tokens, secret);
    let mut data = Data::default();
    data.insert(Caller(caller));
    if unknown {
        data.insert(UnknownToken);
    }
    data
}

/// Reads the whole body within [`REQUEST_BODY_TIMEOUT`], or answers why not.
async fn read_body(state: &AppState, body: axum::body::Body) -> Result<Bytes, Response> {
    let read = axum::body::to_bytes(body, REQUEST_BODY_HARD_BYTES_MAX);
    match tokio::time::timeout(REQUEST_BODY_TIMEOUT, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large =
                std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                state.metrics.limited.fetch_add(1, Ordering::Relaxed);
                Err(limit_as_graphql_error(StatusCode::PAYLOAD_TOO_LARGE.into_response()).await)
            } else {
                state.metrics.errors.fetch_add(1, Ordering::Relaxed);
                let body = error_body("VALIDATION", &format!("request body: cannot be read ({e})"));
                Err((StatusCode::BAD_REQUEST, Json(body)).into_response())
            }
        }
        Err(_) => {
            state.metrics.limited.fetch_add(1, Ordering::Relaxed);
            let body = error_body(
                "LIMIT",
                &format!(
                    "request body: not received within {} s",
                    REQUEST_BODY_TIMEOUT.as_secs()
                ),
            );
            Err((
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                Json(body),
            )
                .into_response())
        }
    }
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = Instant::now();
    let body = match read_body(&state, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if body.len() > REQUEST_BODY_BYTES_MAX {
        state.metrics.limited.fetch_add(1, Ordering::Relaxed);
        return limit_as_graphql_error(StatusCode::PAYLOAD_TOO_LARGE.into_response()).await;
    }
    let response = execute(&state, &headers, &body).await;
    state.metrics.observe(started.elapsed());
    response
}

async fn execute(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        (status, Json(error_body(code, message))).into_response()
    };
    let json: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            state.metrics.errors.fetch_add(1, Ordering::Relaxed);
            return refuse(
                StatusCode::BAD_REQUEST,
                "VALIDATION",
                &format!("request body: not JSON ({e})"),
            );
        }
    };
    if json.is_array() {
        state.metrics.limited.fetch_add(1, Ordering::Relaxed);
        return refuse(
            StatusCode::BAD_REQUEST,
            "LIMIT",
            "request body: batched requests are not accepted; send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "VALIDATION",
                &format!("request body: not a GraphQL request ({e})"),
            )
        }
    };
    let mut request = request;
    request.data = caller_data(&state.service.tokens, bearer(headers).as_deref());
    let mut response =
        match tokio::time::timeout(REQUEST_TIMEOUT, state.schema.execute(request)).await {
            Ok(r) => r,
            Err(_) => {
                state.metrics.limited.fetch_add(1, Ordering::Relaxed);
                return refuse(
                    StatusCode::OK,
                    "LIMIT",
                    &format!("request: took longer than {} s", REQUEST_TIMEOUT.as_secs()),
                );
            }
        };
    if !response.errors.is_empty() {
        state.metrics.errors.fetch_add(1, Ordering::Relaxed);
        code_uncoded(&mut response.errors);
    }
    Json(response).into_response()
}

async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_secret = bearer(&headers);
    let schema = state.schema.clone();
    let tokens = state.service.tokens.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload: Value| async move {
                    // The token comes in the connection_init payload (browsers cannot set
                    // headers on a WebSocket), or in the upgrade request's header.
                    let from_payload = ["Authorization", "authorization"]
                        .iter()
                        .find_map(|k| payload.get(*k).and_then(Value::as_str))
                        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
                        .or_else(|| {
                            payload
                                .get("token")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        });
                    let secret = from_payload.or(header_secret);
                    Ok(caller_data(&tokens, secret.as_deref()))
                })
                .serve()
        })
}

async fn graphiql(State(state): State<AppState>) -> Response {
    if state.production {
        return (StatusCode::NOT_FOUND, "GraphiQL is off in production").into_response();
    }
    Html(crate::api::graphiql::PAGE).into_response()
}

/// GraphiQL's scripts and styles, from the binary (it works without internet).
async fn graphiql_asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match crate::api::graphiql::asset(&file) {
        Some(asset) if !state.production => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            asset.bytes,
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "no such GraphiQL asset").into_response(),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let head = state.service.store.head();
    let applied = state.service.live.checkpoint();
    Json(json!({"status": "ok", "head": head.to_string(), "applied": applied.to_string()}))
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    use std::fmt::Write as _;
    let m = &state.metrics;
    let s = &state.service.stats;
    let head = state.service.store.head();
    let applied = state.service.live.checkpoint();
    let mut out = String::new();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP dunlog_http_requests_total GraphQL HTTP requests served."
    );
    let _ = writeln!(out, "# TYPE dunlog_http_requests_total counter");
    let _ = writeln!(out, "dunlog_http_requests_total {}", load(&m.requests));
    let _ = writeln!(out, "# HELP dunlog_http_request_errors_total GraphQL HTTP requests answered with at least one error.");
    let _ = writeln!(out, "# TYPE dunlog_http_request_errors_total counter");
    let _ = writeln!(out, "dunlog_http_request_errors_total {}", load(&m.errors));
    let _ = writeln!(out, "# HELP dunlog_http_requests_limited_total GraphQL HTTP requests refused by a limit (LIMIT).");
    let _ = writeln!(out, "# TYPE dunlog_http_requests_limited_total counter");
    let _ = writeln!(
        out,
        "dunlog_http_requests_limited_total {}",
        load(&m.limited)
    );
    let _ = writeln!(
        out,
        "# HELP dunlog_http_request_duration_seconds GraphQL request latency."
    );
    let _ = writeln!(out, "# TYPE dunlog_http_request_duration_seconds histogram");
    for (bound, count) in LATENCY_BUCKETS_S.iter().zip(&m.latency_buckets) {
        let _ = writeln!(
            out,
            "dunlog_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
            load(count)
        );
    }
    let _ = writeln!(
        out,
        "dunlog_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        load(&m.requests)
    );
    let _ = writeln!(
        out,
        "dunlog_http_request_duration_seconds_sum {}",
        load(&m.latency_us_sum) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "dunlog_http_request_duration_seconds_count {}",
        load(&m.requests)
    );
    let _ = writeln!(
        out,
        "# HELP dunlog_appends_total Appends to the log (each one durable batch of one command)."
    );
    let _ = writeln!(out, "# TYPE dunlog_appends_total counter");
    let _ = writeln!(out, "dunlog_appends_total {}", load(&s.appends));
    let _ = writeln!(
        out,
        "# HELP dunlog_events_appended_total Events appended to the log."
    );
    let _ = writeln!(out, "# TYPE dunlog_events_appended_total counter");
    let _ = writeln!(out, "dunlog_events_appended_total {}", load(&s.events));
    let _ = writeln!(out, "# HELP dunlog_append_conflicts_total Appends that met a version conflict and were retried.");
    let _ = writeln!(out, "# TYPE dunlog_append_conflicts_total counter");
    let _ = writeln!(out, "dunlog_append_conflicts_total {}", load(&s.conflicts));
    let _ = writeln!(
        out,
        "# HELP dunlog_tick_failures_total Accounts the clock failed for (each retried at the next tick)."
    );
    let _ = writeln!(out, "# TYPE dunlog_tick_failures_total counter");
    let _ = writeln!(out, "dunlog_tick_failures_total {}", load(&s.tick_failures));
    let failing = s.tick_failing.lock().map(|f| f.clone()).unwrap_or_default();
    let _ = writeln!(
        out,
        "# HELP dunlog_tick_failing_account Accounts the last tick failed for."
    );
    let _ = writeln!(out, "# TYPE dunlog_tick_failing_account gauge");
    for (customer, _) in &failing {
        let _ = writeln!(
            out,
            "dunlog_tick_failing_account{{customer_id=\"{customer}\"}} 1"
        );
    }
    let _ = writeln!(
        out,
        "# HELP dunlog_log_head_position Last durable position of the log."
    );
    let _ = writeln!(out, "# TYPE dunlog_log_head_position gauge");
    let _ = writeln!(out, "dunlog_log_head_position {head}");
    let _ = writeln!(out, "# HELP dunlog_projection_lag_events Events appended but not yet applied to the read model.");
    let _ = writeln!(out, "# TYPE dunlog_projection_lag_events gauge");
    let _ = writeln!(
        out,
        "dunlog_projection_lag_events {}",
        head.saturating_sub(applied)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use tower::ServiceExt as _;

    use super::*;
    use crate::app::auth::Role;

    async fn answer(app: &Router, uri: &str, token: &str, query: &str) -> (StatusCode, Value) {
        let request = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "query": query }).to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Issue 12: a panic in a request was an empty reply (the connection dropped). The route
    /// here panics while holding a read guard of the live ledger, as a resolver would.
    #[tokio::test]
    async fn a_request_that_panics_gets_internal_and_the_next_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let service = Service::open(dir.path()).await.unwrap();
        let token = service.tokens.create("viewer", Role::Viewer).unwrap();
        let state = AppState::new(service, false);
        let panicking = routes().route(
            "/panics",
            post(|State(state): State<AppState>| async move {
                let _ledger = state.service.live.read();
                panic!("deliberate panic for the test");
                #[allow(unreachable_code)]
                ()
            }),
        );
        let app = with_edge_layers(panicking, state);

        let (status, body) = answer(&app, "/panics", &token, "{ verifyLog { ok } }").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        let id = body["errors"][0]["extensions"]["correlationId"]
            .as_str()
            .unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(id));

        let query = r#"{ exposures(first: 1) { nodes { customerId } } }"#;
        let (status, body) = answer(&app, "/graphql", &token, query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
    }
}
