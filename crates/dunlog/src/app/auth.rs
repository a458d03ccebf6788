//! Bearer tokens with roles (SPEC §8): a 32-byte random secret shown once, stored as its SHA-256
//! in the store's meta tree, compared in constant time.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context as _, Result};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::Store;

use crate::api::limits::{TOKENS_MAX, TOKEN_NAME_LEN_MAX};

/// Meta key prefix of stored tokens.
const TOKEN_PREFIX: &str = "token/";
/// Prefix of every secret, so a leaked one is recognisable.
const SECRET_PREFIX: &str = "dlk_";

/// What a token may do; each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads read models.
    Viewer,
    /// Also reads raw events and `verifyLog`.
    Auditor,
    /// Also records contacts and promises.
    Collector,
    /// Everything: accounts, invoices, payments, policy, tick.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Collector => "collector",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Role> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "auditor" => Ok(Role::Auditor),
            "collector" => Ok(Role::Collector),
            "admin" => Ok(Role::Admin),
            other => bail!("role {other:?}: expected viewer, auditor, collector or admin"),
        }
    }
}

/// A stored token (never the secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret, lowercase hex.
    pub secret_sha256: String,
    pub created_at: DateTime<Utc>,
}

/// Who a request acts as.
#[derive(Clone, Debug)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// The hash of the token it authenticated with: a long-lived connection (a WebSocket
    /// subscription) checks that the token still stands, so a revoked one stops at once.
    pub secret_sha256: String,
}

fn hash_hex(secret: &str) -> String {
    store::chain::to_hex(&Sha256::digest(secret.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `name` can name a token; the message says what would be right.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= TOKEN_NAME_LEN_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if !ok {
        return Err(format!(
            "name = {name:?}: use 1 to {TOKEN_NAME_LEN_MAX} letters, digits, '-', '_', '.', '@'"
        ));
    }
    Ok(())
}

/// Creates (or replaces) the token `name` and returns its secret.
pub fn create(store: &Store, name: &str, role: Role) -> Result<String> {
    check_name(name).map_err(anyhow::Error::msg)?;
    let existing = list(store)?;
    if existing.len() >= TOKENS_MAX && !existing.iter().any(|t| t.name == name) {
        bail!("name = {name:?}: this ledger already holds {TOKENS_MAX} tokens; revoke one first");
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let record = TokenRecord {
        name: name.to_owned(),
        role,
        secret_sha256: hash_hex(&secret),
        created_at: Utc::now(),
    };
    store.meta_put(
        &format!("{TOKEN_PREFIX}{name}"),
        &serde_json::to_vec(&record).context("encoding the token")?,
    )?;
    Ok(secret)
}

/// Every stored token, by name.
pub fn list(store: &Store) -> Result<Vec<TokenRecord>> {
    store
        .meta_scan(TOKEN_PREFIX)?
        .into_iter()
        .map(|(key, value)| {
            serde_json::from_slice(&value)
                .with_context(|| format!("meta entry {key} is unreadable"))
        })
        .collect()
}

/// Removes a token; false if there was none by that name.
pub fn revoke(store: &Store, name: &str) -> Result<bool> {
    let key = format!("{TOKEN_PREFIX}{name}");
    if store.meta_get(&key)?.is_none() {
        return Ok(false);
    }
    store.meta_delete(&key)?;
    Ok(true)
}

/// The token whose secret this is, if any.
pub fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>> {
    Ok(authenticate_among(&list(store)?, secret))
}

/// The token among `tokens` whose secret this is, if any.
pub fn authenticate_among(tokens: &[TokenRecord], secret: &str) -> Option<Principal> {
    let presented = hash_hex(secret);
    let mut found = None;
    // Compare against every token so the time taken does not reveal which one matched.
    for token in tokens {
        if constant_time_eq(presented.as_bytes(), token.secret_sha256.as_bytes()) {
            found = Some(Principal {
                name: token.name.clone(),
                role: token.role,
                secret_sha256: token.secret_sha256.clone(),
            });
        }
    }
    found
}

/// The token table a running ledger serves requests from: the stored tokens, kept in memory so a
/// request costs one SHA-256 and no store read, and changed only through [`TokenTable::create`]
/// and [`TokenTable::revoke`], which write the store first and then swap the table, so a token
/// made or revoked while the server runs (over GraphQL or `dunlog token` on the local channel)
/// takes effect with the next request.
#[derive(Clone)]
pub struct TokenTable {
    store: Store,
    table: std::sync::Arc<std::sync::RwLock<std::sync::Arc<Vec<TokenRecord>>>>,
}

impl TokenTable {
    /// Reads the stored tokens. A table that cannot be read leaves every request
    /// unauthenticated (and says why in the log) rather than failing the start.
    pub fn load(store: &Store) -> TokenTable {
        let tokens = list(store).unwrap_or_else(|e| {
            tracing::error!(error = %e, "token table unreadable; every request is unauthenticated");
            Vec::new()
        });
        TokenTable {
            store: store.clone(),
            table: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(tokens))),
        }
    }

    fn current(&self) -> std::sync::Arc<Vec<TokenRecord>> {
        match self.table.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn reload(&self) -> Result<()> {
        let fresh = std::sync::Arc::new(list(&self.store)?);
        match self.table.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// Creates (or replaces) the token `name`, effective at once; returns its secret.
    pub fn create(&self, name: &str, role: Role) -> Result<String> {
        let secret = create(&self.store, name, role)?;
        self.reload()?;
        Ok(secret)
    }

    /// Revokes the token `name`, effective at once; false if there was none by that name.
    pub fn revoke(&self, name: &str) -> Result<bool> {
        let revoked = revoke(&self.store, name)?;
        self.reload()?;
        Ok(revoked)
    }

    /// Every token, by name (never a secret).
    pub fn list(&self) -> Vec<TokenRecord> {
        self.current().as_ref().clone()
    }

    /// The token whose secret this is, if any.
    pub fn authenticate(&self, secret: &str) -> Option<Principal> {
        authenticate_among(&self.current(), secret)
    }

    /// Whether the token a principal authenticated with is still in the table (not revoked,
    /// not replaced by a new secret under its name) with the same role.
    pub fn still_stands(&self, p: &Principal) -> bool {
        self.current().iter().any(|t| {
            t.role == p.role
                && constant_time_eq(t.secret_sha256.as_bytes(), p.secret_sha256.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_from_their_names() {
        assert!(Role::Viewer < Role::Auditor);
        assert!(Role::Auditor < Role::Collector);
        assert!(Role::Collector < Role::Admin);
        for role in [Role::Viewer, Role::Auditor, Role::Collector, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let secret = create(&store, "alice", Role::Collector).unwrap();
        let p = authenticate(&store, &secret).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.role), ("alice", Role::Collector));
        assert!(authenticate(&store, "dlk_wrong").unwrap().is_none());
        let stored = store.meta_get("token/alice").unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains(&secret));
        // Creating again under the same name rotates the secret.
        let rotated = create(&store, "alice", Role::Viewer).unwrap();
        assert!(authenticate(&store, &secret).unwrap().is_none());
        assert_eq!(
            authenticate(&store, &rotated).unwrap().unwrap().role,
            Role::Viewer
        );
        assert!(revoke(&store, "alice").unwrap());
        assert!(!revoke(&store, "alice").unwrap());
        assert!(authenticate(&store, &rotated).unwrap().is_none());
        assert!(create(&store, "bad name", Role::Admin).is_err());
    }

    #[test]
    fn the_table_sees_a_created_or_revoked_token_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let table = TokenTable::load(&store);
        assert!(table.list().is_empty());
        let secret = table.create("carol", Role::Admin).unwrap();
        assert_eq!(table.authenticate(&secret).unwrap().role, Role::Admin);
        assert_eq!(table.list().len(), 1);
        assert!(table.revoke("carol").unwrap());
        assert!(table.authenticate(&secret).is_none());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
