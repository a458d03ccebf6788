//! Administration over GraphQL while the server runs (SPEC §8): tokens — `createToken` (the
//! secret is shown once), `revokeToken`, `tokens` — for admins, effective for the very next
//! request through `Service::tokens` ([`crate::app::auth::TokenTable`]), the same table `dunlog token …`
//! changes over the local channel; and
//! `whatif(policyDocument, asOf)` for auditors and admins, the comparison `dunlog whatif` prints.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use domain::ErrorKind;

use super::scalars::{Date, Decimal, Instant};
use super::{coded_error, internal_error, require, service, validation_error, ApiResult};
use crate::api::limits::TOKENS_MAX;
use crate::app::auth::{self, Role, TokenRecord};

/// A token's role (SPEC §8); each includes the ones before it.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    Viewer,
    Auditor,
    Collector,
    Admin,
}

impl From<TokenRole> for Role {
    fn from(r: TokenRole) -> Role {
        match r {
            TokenRole::Viewer => Role::Viewer,
            TokenRole::Auditor => Role::Auditor,
            TokenRole::Collector => Role::Collector,
            TokenRole::Admin => Role::Admin,
        }
    }
}

impl From<Role> for TokenRole {
    fn from(r: Role) -> TokenRole {
        match r {
            Role::Viewer => TokenRole::Viewer,
            Role::Auditor => TokenRole::Auditor,
            Role::Collector => TokenRole::Collector,
            Role::Admin => TokenRole::Admin,
        }
    }
}

/// A stored token: never its secret.
#[derive(SimpleObject)]
pub struct Token {
    pub name: String,
    pub role: TokenRole,
    pub created_at: Instant,
}

impl From<&TokenRecord> for Token {
    fn from(t: &TokenRecord) -> Token {
        Token {
            name: t.name.clone(),
            role: t.role.into(),
            created_at: Instant(t.created_at),
        }
    }
}

/// A token just made: `secret` is shown this once and stored only as its SHA-256.
#[derive(SimpleObject)]
pub struct CreatedToken {
    pub name: String,
    pub role: TokenRole,
    pub secret: String,
}

/// Whether `revokeToken` removed a token.
#[derive(SimpleObject)]
pub struct RevokedToken {
    pub name: String,
    pub revoked: bool,
}

/// What the clock did under the adopted policies and would have done under another, for one
/// account or a total. Counts and late-fee amounts up to `asOf`; work items on `asOf`.
#[derive(SimpleObject)]
pub struct WhatIfLine {
    /// The account, or `TOTAL` on a totals line.
    pub customer_id: ID,
    pub holds_recorded: i32,
    pub holds_would: i32,
    pub broken_promises_recorded: i32,
    pub broken_promises_would: i32,
    pub late_fee_count_recorded: i32,
    pub late_fee_count_would: i32,
    /// In the account's currency (on a totals line: the line's currency; absent on the overall
    /// line when the ledger holds several currencies, because money is never summed across them).
    pub late_fees_recorded: Option<Decimal>,
    pub late_fees_would: Option<Decimal>,
    pub worklist_recorded: i32,
    pub worklist_would: i32,
    /// One line per difference, for a person.
    pub differences: Vec<String>,
}

/// Totals of one currency.
#[derive(SimpleObject)]
pub struct WhatIfCurrencyTotal {
    pub currency: String,
    pub totals: WhatIfLine,
}

/// `whatif`: the same comparison as `dunlog whatif`. Appends nothing.
#[derive(SimpleObject)]
pub struct WhatIf {
    pub policy_name: String,
    pub as_of: Date,
    pub accounts_compared: i32,
    /// Only the accounts where something differs, by customer id.
    pub accounts: Vec<WhatIfLine>,
    /// Counts over every currency (fee amounts only when there is one currency).
    pub totals: WhatIfLine,
    /// One totals line per currency, by currency code.
    pub currency_totals: Vec<WhatIfCurrencyTotal>,
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn line(a: &projections::WhatIfAccount, with_fees: bool) -> WhatIfLine {
    WhatIfLine {
        customer_id: ID(a.customer_id.to_string()),
        holds_recorded: count(a.holds_recorded),
        holds_would: count(a.holds_would),
        broken_promises_recorded: count(a.broken_promises_recorded),
        broken_promises_would: count(a.broken_promises_would),
        late_fee_count_recorded: count(a.late_fee_count_recorded),
        late_fee_count_would: count(a.late_fee_count_would),
        late_fees_recorded: with_fees.then_some(Decimal(a.late_fees_recorded)),
        late_fees_would: with_fees.then_some(Decimal(a.late_fees_would)),
        worklist_recorded: count(a.worklist_recorded),
        worklist_would: count(a.worklist_would),
        differences: a.differences.clone(),
    }
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every token, by name (admins; secrets are never shown again).
    async fn tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<Token>> {
        require(ctx, Role::Admin)?;
        Ok(service(ctx)?
            .tokens
            .list()
            .iter()
            .map(Token::from)
            .collect())
    }

    /// What the clock would have done under `policyDocument` (TOML, SPEC §5) up to `asOf`
    /// (default today), beside what it did: holds, broken promises, late fees, work items.
    /// Auditors and admins; appends nothing.
    #[graphql(complexity = "child_complexity + crate::api::limits::KNOWN_AT_COST")]
    async fn whatif(
        &self,
        ctx: &Context<'_>,
        policy_document: String,
        as_of: Option<Date>,
    ) -> ApiResult<WhatIf> {
        require(ctx, Role::Auditor)?;
        let policy = domain::Policy::parse(&policy_document)
            .map_err(|e| coded_error(e.kind(), format!("policyDocument: {e}")))?;
        let as_of = as_of.map_or(service(ctx)?.today(), |d| d.0);
        let live = service(ctx)?.live.clone();
        // The replay walks every account through the clock: off the async workers.
        let report = tokio::task::spawn_blocking(move || {
            let ledger = live.read();
            projections::whatif(&ledger, &policy, as_of)
        })
        .await
        .map_err(internal_error)?;
        let one_currency = report.totals_by_currency.len() <= 1;
        Ok(WhatIf {
            policy_name: report.policy_name.clone(),
            as_of: Date(report.as_of),
            accounts_compared: count(report.accounts_compared),
            accounts: report.accounts.iter().map(|a| line(a, true)).collect(),
            totals: line(&report.totals, one_currency),
            currency_totals: report
                .totals_by_currency
                .iter()
                .map(|(currency, t)| WhatIfCurrencyTotal {
                    currency: currency.clone(),
                    totals: line(t, true),
                })
                .collect(),
        })
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates a token (or rotates the secret of the one by that name) and returns its secret
    /// once. Effective at once.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: TokenRole,
    ) -> ApiResult<CreatedToken> {
        require(ctx, Role::Admin)?;
        auth::check_name(&name).map_err(validation_error)?;
        let tokens = &service(ctx)?.tokens;
        let held = tokens.list();
        if held.len() >= TOKENS_MAX && !held.iter().any(|t| t.name == name) {
            return Err(coded_error(
                ErrorKind::Limit,
                format!(
                    "name = {name:?}: the ledger holds {TOKENS_MAX} tokens already; revoke one"
                ),
            ));
        }
        let secret = tokens.create(&name, role.into()).map_err(internal_error)?;
        Ok(CreatedToken { name, role, secret })
    }

    /// Revokes a token: requests with its secret are refused from the next one on. Revoking
    /// the token this request came with is allowed (it is the last request it makes).
    async fn revoke_token(&self, ctx: &Context<'_>, name: String) -> ApiResult<RevokedToken> {
        require(ctx, Role::Admin)?;
        auth::check_name(&name).map_err(validation_error)?;
        let revoked = service(ctx)?.tokens.revoke(&name).map_err(internal_error)?;
        if !revoked {
            return Err(coded_error(
                ErrorKind::NotFound,
                format!("name = {name:?}: no token by that name (see the tokens query)"),
            ));
        }
        Ok(RevokedToken { name, revoked })
    }
}
