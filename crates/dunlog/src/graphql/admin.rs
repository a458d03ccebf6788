//! Administration over GraphQL while the server runs (SPEC §8): tokens — `createToken` (the
//! secret is shown once), `revokeToken`, `tokens` — for admins, effective for the very next
//! request through [`crate::auth::Tokens`], the same token store `dunlog token …` uses.

use async_graphql::{Context, Enum, Object, SimpleObject};
use domain::ErrorKind;

use super::scalars::Instant;
use super::{coded_error, internal_error, require, validation_error, ApiResult};
use crate::auth::{self, Role, TokenRecord, Tokens};

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

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every token, by name (admins; secrets are never shown again).
    async fn tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<Token>> {
        require(ctx, Role::Admin)?;
        Ok(ctx.data::<Tokens>()?.list().iter().map(Token::from).collect())
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
        let secret = ctx
            .data::<Tokens>()?
            .create(&name, role.into())
            .map_err(internal_error)?;
        Ok(CreatedToken { name, role, secret })
    }

    /// Revokes a token: requests with its secret are refused from the next one on. Revoking
    /// the token this request came with is allowed (it is the last request it makes).
    async fn revoke_token(&self, ctx: &Context<'_>, name: String) -> ApiResult<RevokedToken> {
        require(ctx, Role::Admin)?;
        auth::check_name(&name).map_err(validation_error)?;
        let revoked = ctx
            .data::<Tokens>()?
            .revoke(&name)
            .map_err(internal_error)?;
        if !revoked {
            return Err(coded_error(
                ErrorKind::NotFound,
                format!("name = {name:?}: no token by that name (see the tokens query)"),
            ));
        }
        Ok(RevokedToken { name, revoked })
    }
}
