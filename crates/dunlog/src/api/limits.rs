//! Every limit of the API edge in one place, each with its unit (SPEC §8: "a hostile query gets
//! `LIMIT`, not a slow server"). The code that enforces a limit names it from here; README's
//! limits table and `docs/graphql.md` repeat these values.

use std::time::Duration;

// ---- HTTP requests (server.rs) ----

/// Largest GraphQL request body accepted, in bytes.
pub const REQUEST_BODY_BYTES_MAX: usize = 256 * 1024;
/// Largest body read at all, in bytes (the `RequestBodyLimitLayer` in front). Bodies between the
/// two limits are read to the end before the `LIMIT` answer, so the client sees the answer rather
/// than a reset connection; bodies beyond this one are refused at once.
pub const REQUEST_BODY_HARD_BYTES_MAX: usize = 1024 * 1024;
/// Longest a GraphQL request may run (seconds in the `Duration`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the whole request body may take to arrive (a slow or stalled body is answered with
/// `408` and `LIMIT`, and the connection closed).
pub const REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(10);

// ---- Connections (conn.rs) ----

/// Longest a request head may take, from its first byte (or the connection's accept).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for how long a kept-alive connection may wait for its next request
/// (`serve --idle-timeout-secs`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for the connections one client address may hold open at once
/// (`serve --connections-per-client`).
pub const CONNECTIONS_PER_CLIENT: usize = 256;

// ---- GraphQL documents (graphql/document.rs) ----

/// Deepest selection accepted outside introspection, in fields (fragments expanded).
pub const QUERY_DEPTH_MAX: usize = 12;
/// Deepest selection accepted under `__schema` or `__type`, in fields (fragments expanded).
/// The standard introspection queries of graphql-js 16/17 and graphql-core nest `ofType` nine
/// times under `__schema { types { fields { args { type` — depth 15; GraphiQL 3 sends seven.
/// A client's schema fetch is not a hostile query (SPEC §8); twenty `ofType`s still are.
pub const INTROSPECTION_DEPTH_MAX: usize = 16;
/// Most fields (counted with aliases, fragments expanded, plus each field's own cost) one query
/// may select.
pub const QUERY_COMPLEXITY_MAX: usize = 2_000;
/// Complexity charged for a `knownAt` field: each replays the log into a fresh ledger (cached),
/// so one query may ask for only a few.
pub const KNOWN_AT_COST: usize = 400;
/// Most directives on one field.
pub const QUERY_DIRECTIVES_MAX: usize = 8;
/// Deepest nesting of selection sets in the query text itself (fragments not expanded).
pub const QUERY_RECURSIVE_DEPTH_MAX: usize = 32;

// ---- Lists ----

/// Most items one page may hold.
pub const PAGE_SIZE_MAX: usize = 500;
/// Items per page when `first` is not given.
pub const PAGE_SIZE_DEFAULT: usize = 50;

// ---- Commands ----

/// Longest idempotency key accepted, in bytes (an empty key is refused too).
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 128;
/// Most days one tick may walk for one account (about ten years). The clock decides day by day
/// and each day looks at every entry of every invoice, so a date centuries ahead (`9999-12-31`)
/// would pin a core for hours; further ticks are made in steps.
pub const TICK_DAYS_MAX: i64 = 3_660;
/// Longest `windowDays` of the `metrics` query, in days.
pub const METRICS_WINDOW_DAYS_MAX: i32 = 3_660;

// ---- Tokens ----

/// Longest token name, in bytes.
pub const TOKEN_NAME_LEN_MAX: usize = 64;
/// Most tokens a ledger may hold (each request compares against all of them).
pub const TOKENS_MAX: usize = 1_000;

/// The idempotency key as given, if it is within [`IDEMPOTENCY_KEY_LEN_MAX`] and not empty;
/// otherwise the message naming it.
pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_LEN_MAX {
        return Err(format!(
            "idempotencyKey = {key:?}: must be 1 to {IDEMPOTENCY_KEY_LEN_MAX} bytes"
        ));
    }
    Ok(())
}
