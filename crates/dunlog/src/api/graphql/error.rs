//! The one place where a failure becomes what a client sees (SPEC §4: `extensions.code` is the
//! error kind; messages name the field and the value). Every error leaving the API goes through
//! here: our own rejections (domain, service, limits, auth) carry their kind from the typed error
//! that made them; the GraphQL parser's errors are told apart by their variant; internal
//! failures are logged with a correlation id and the client sees `INTERNAL` only. No code is ever
//! chosen by reading a library's message text.

use async_graphql::parser::Error as ParseError;
use async_graphql::{ErrorExtensions, Pos, ServerError};
use domain::ErrorKind;
use serde_json::{json, Value};

use crate::app::service::ServiceError;

/// Code of the errors nobody expected (SPEC §4's kinds are for rejections).
pub const INTERNAL: &str = "INTERNAL";

/// A rejection of `kind` with a message naming the field and the value.
pub fn coded_error(kind: ErrorKind, message: impl Into<String>) -> async_graphql::Error {
    let code = kind.code();
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

pub fn validation_error(message: impl Into<String>) -> async_graphql::Error {
    coded_error(ErrorKind::Validation, message)
}

pub fn limit_error(message: impl Into<String>) -> async_graphql::Error {
    coded_error(ErrorKind::Limit, message)
}

/// A failure the client cannot fix: logged with a correlation id the message repeats.
pub fn internal_error(e: impl std::fmt::Display) -> async_graphql::Error {
    let id = uuid::Uuid::now_v7();
    tracing::error!(correlation_id = %id, error = %e, "internal error");
    async_graphql::Error::new(format!("internal error (correlation id {id})"))
        .extend_with(|_, ext| ext.set("code", INTERNAL))
}

/// A service failure as GraphQL clients see it, its field names in camelCase.
pub fn service_error(e: ServiceError) -> async_graphql::Error {
    match e {
        ServiceError::Rejected { kind, message } => coded_error(kind, camel_case_fields(&message)),
        ServiceError::Internal(e) => internal_error(format!("{e:#}")),
    }
}

/// A service failure whose message quotes a policy document: its TOML keys are snake_case and
/// stay as the author wrote them.
pub fn policy_error(e: ServiceError) -> async_graphql::Error {
    match e {
        ServiceError::Rejected { kind, message } => coded_error(kind, message),
        ServiceError::Internal(e) => internal_error(format!("{e:#}")),
    }
}

/// An error found before execution (limits, input values, parsing), at a position of the query.
pub fn request_error(kind: ErrorKind, message: impl Into<String>, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message.into(), pos);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", kind.code());
    error
}

/// The parser's refusal: nesting beyond its own bound is `LIMIT`, anything else `VALIDATION`.
pub fn parse_error(e: &ParseError) -> ServerError {
    let kind = match e {
        ParseError::RecursionLimitExceeded => ErrorKind::Limit,
        _ => ErrorKind::Validation,
    };
    let pos = e.positions().next();
    request_error(kind, format!("query: {e}"), pos)
}

/// Codes the errors that carry none. Every error our resolvers, checks and limits make has its
/// code; what is left comes from async-graphql's own validation rules and input coercion (an
/// unknown field, a missing argument, a variable of the wrong type): the request is malformed,
/// which is `VALIDATION`.
pub fn code_uncoded(errors: &mut [ServerError]) {
    for error in errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorKind::Validation.code());
        }
    }
}

/// The body of an answer refused before GraphQL runs (body too large, not JSON, a timeout).
pub fn error_body(code: &str, message: &str) -> Value {
    json!({"data": null, "errors": [{"message": message, "extensions": {"code": code}}]})
}

/// `issued_on` → `issuedOn`.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The domain names fields as its commands do (`terms.net_days`, `due_on ≥ issued_on`); over
/// GraphQL the same fields are camelCase. Rewrites every snake_case identifier of the message
/// (lowercase words joined by `_`) outside double-quoted values, which are the client's own
/// text and stay as given.
pub fn camel_case_fields(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let mut quoted = false;
    let mut escaped = false;
    let flush = |word: &mut String, out: &mut String| {
        let snake = word.contains('_')
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if snake {
            out.push_str(&camel_case(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars() {
        if quoted {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        out.push(c);
        if c == '"' {
            quoted = true;
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_fields_become_camel_case_outside_quoted_values() {
        assert_eq!(
            camel_case_fields(r#"due_on = "2026-05-17": must be on or after issued_on"#),
            r#"dueOn = "2026-05-17": must be on or after issuedOn"#
        );
        assert_eq!(
            camel_case_fields(r#"terms.net_days = "9999": must be at most 3660"#),
            r#"terms.netDays = "9999": must be at most 3660"#
        );
        // The client's own values are left alone, escaped quotes included.
        assert_eq!(
            camel_case_fields(r#"invoice_id = "inv_a \"x_y\" b_c": not found"#),
            r#"invoiceId = "inv_a \"x_y\" b_c": not found"#
        );
        assert_eq!(camel_case_fields("INV_A and Abc_def"), "INV_A and Abc_def");
    }
}
