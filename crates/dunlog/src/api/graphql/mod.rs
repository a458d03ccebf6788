//! The GraphQL API of SPEC §8: schema, queries, mutations, the `events` subscription, error
//! codes and role checks.

pub mod admin;
pub mod document;
pub mod error;
pub mod input;
pub mod mutation;
pub mod page;
pub mod query;
pub mod reminders;
pub mod reports;
pub mod scalars;
pub mod subscription;
pub mod types;

use async_graphql::{Context, MergedObject, Schema};
use domain::ErrorKind;

use crate::api::limits::{QUERY_DIRECTIVES_MAX, QUERY_RECURSIVE_DEPTH_MAX};
use crate::app::auth::{Principal, Role};
use crate::app::service::Service;

pub use error::{
    coded_error, internal_error, limit_error, policy_error, service_error, validation_error,
};

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// Every query: the read models (`query.rs`), administration (`admin.rs`) and the reminder
/// previews (`reminders.rs`, SPEC §12).
#[derive(MergedObject, Default)]
#[graphql(name = "QueryRoot")]
pub struct Query(QueryRoot, admin::AdminQuery, reminders::ReminderQuery);

/// Every mutation: one per command (`mutation.rs`), administration (`admin.rs`) and
/// `sendReminder` (`reminders.rs`, SPEC §12).
#[derive(MergedObject, Default)]
#[graphql(name = "MutationRoot")]
pub struct Mutation(
    MutationRoot,
    admin::AdminMutation,
    reminders::ReminderMutation,
);

pub type DunlogSchema = Schema<Query, Mutation, SubscriptionRoot>;
pub type ApiResult<T> = async_graphql::Result<T>;

/// Who is asking: set by the HTTP layer from the bearer token (`None`: no or unknown token).
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// Set beside `Caller(None)` when a bearer token was sent but matches no token (unknown or
/// revoked), so the answer can say so rather than ask for a token.
#[derive(Clone, Copy, Debug)]
pub struct UnknownToken;

/// Builds the schema; `production` turns off introspection (refused with an error) and field
/// suggestions. Depth and complexity are checked by [`document::DocumentChecks`], which counts
/// introspection apart; async-graphql's own nesting and directive checks stay as a backstop
/// with the same bounds.
pub fn schema(service: Service, production: bool) -> DunlogSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
        .data(service)
        .extension(document::DocumentChecks { production })
        .limit_directives(QUERY_DIRECTIVES_MAX)
        .limit_recursive_depth(QUERY_RECURSIVE_DEPTH_MAX);
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema's SDL, as committed in `docs/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
        .finish()
        .sdl()
}

/// The caller, if their role is at least `min`: else `UNAUTHENTICATED` or `FORBIDDEN`.
pub fn require<'a>(ctx: &'a Context<'_>, min: Role) -> ApiResult<&'a Principal> {
    let caller = ctx.data_opt::<Caller>().and_then(|c| c.0.as_ref());
    match caller {
        None if ctx.data_opt::<UnknownToken>().is_some() => Err(coded_error(
            ErrorKind::Unauthenticated,
            "authorization: the bearer token is unknown or revoked; ask an admin for a new one \
             (createToken, or dunlog token create)",
        )),
        None => Err(coded_error(
            ErrorKind::Unauthenticated,
            "authorization: send a bearer token (Authorization: Bearer …)",
        )),
        Some(p) if p.role < min => Err(coded_error(
            ErrorKind::Forbidden,
            format!(
                "role = {:?}: this needs the {} role or higher",
                p.role.as_str(),
                min.as_str()
            ),
        )),
        Some(p) => Ok(p),
    }
}

pub fn service<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Service> {
    ctx.data::<Service>()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema.graphql")
    }

    /// `docs/schema.graphql` is the schema the server serves. Regenerate it with
    /// `DUNLOG_UPDATE_SCHEMA=1 cargo test -p dunlog schema_sdl_is_current`.
    #[test]
    fn schema_sdl_is_current() {
        let sdl = super::sdl();
        let path = committed_path();
        if std::env::var_os("DUNLOG_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &sdl).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == sdl,
            "docs/schema.graphql is stale: regenerate with DUNLOG_UPDATE_SCHEMA=1 cargo test -p dunlog schema_sdl_is_current"
        );
    }

    /// The core of SPEC §8 is a contract: its type and field declarations appear verbatim.
    #[test]
    fn core_schema_matches_the_spec() {
        let sdl = super::sdl();
        let squashed: String = sdl.split_whitespace().collect::<Vec<_>>().join(" ");
        let core = [
            "aging(asOf: Date, knownAt: DateTime, currency: String, first: Int, after: String): AgingReport!",
            "exposure(customerId: ID!, asOf: Date, knownAt: DateTime): Exposure!",
            "events(after: Position, stream: String, first: Int): EventConnection!",
            "verifyLog: Verification!",
            "asOf: Date!", "buckets: [String!]!", "rows: AgingRowConnection!", "totals: [AgingTotal!]!",
            "customerId: ID!", "name: String!", "currency: String!", "amounts: [Decimal!]!",
            "unapplied: Decimal!", "total: Decimal!", "disputed: Decimal!", "oldestDaysPastDue: Int",
            "creditLimit: Decimal!", "effectiveLimit: Decimal!", "exposure: Decimal!",
            "available: Decimal!", "utilization: Decimal", "status: ExposureStatus!",
            "openPromises: Int!", "promisesKept: Int!", "promisesBroken: Int!",
            "daysSinceLastContact: Int", "enum ExposureStatus { OK PROBATION OVER_LIMIT CASH_ONLY HELD }",
            "position: Position!", "stream: String!", "version: Position!", "eventId: ID!",
            "type: String!", "schema: Int!", "occurredAt: DateTime!", "recordedAt: DateTime!",
            "actor: String!", "policyVersion: Int", "payload: JSON!", "prevHash: String!",
            "hash: String!", "ok: Boolean!", "checked: Position!", "firstBadPosition: Position",
            "message: String", "events: [EventRecord!]!", "exposure: Exposure",
            "scalar Position", "scalar Decimal", "scalar Date", "scalar DateTime", "scalar JSON",
            "openAccount(input: OpenAccountInput!): CommandResult!",
            "tick(input: TickInput!): CommandResult!",
            "adoptPolicy(input: AdoptPolicyInput!): CommandResult!",
        ];
        let missing: Vec<&str> = core
            .iter()
            .copied()
            .filter(|c| !squashed.contains(c))
            .collect();
        assert!(missing.is_empty(), "missing from the schema: {missing:#?}");
    }
}
