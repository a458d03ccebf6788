//! The `events(after)` subscription: live envelopes for dashboards, caught up from a position.

use std::time::Duration;

use async_graphql::{Context, Subscription};
use domain::ErrorKind;
use futures::Stream;

use super::scalars::Position;
use super::types::EventRecord;
use super::{coded_error, internal_error, require, service, ApiResult};
use crate::app::auth::Role;

/// How often a quiet subscription checks that its token still stands: a revoked token's
/// subscription ends within this long even when no event comes (issue 15).
pub const TOKEN_RECHECK: Duration = Duration::from_secs(1);

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every event after `after` (default: from now on), then each new one as it is appended.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = ApiResult<EventRecord>>, async_graphql::Error> {
        let principal = require(ctx, Role::Auditor)?.clone();
        let service = service(ctx)?;
        let tokens = service.tokens.clone();
        let store = service.store.clone();
        let after = after.map(|p| p.0).unwrap_or_else(|| store.head());
        let subscription = store.subscribe(after);
        // The token is checked before every event and every `TOKEN_RECHECK` while none comes:
        // once it is revoked the subscription answers one UNAUTHENTICATED error and ends.
        Ok(futures::stream::unfold(Some(subscription), move |state| {
            let (tokens, principal) = (tokens.clone(), principal.clone());
            async move {
                let mut sub = state?;
                loop {
                    if !tokens.still_stands(&principal) {
                        let error = coded_error(
                            ErrorKind::Unauthenticated,
                            format!(
                                "authorization: the token {:?} was revoked; the subscription ends",
                                principal.name
                            ),
                        );
                        return Some((Err(error), None));
                    }
                    // `Subscription::next` is cancel-safe: a time-out loses no event.
                    match tokio::time::timeout(TOKEN_RECHECK, sub.next()).await {
                        Err(_) => continue,
                        Ok(Some(Ok(event))) => {
                            if !tokens.still_stands(&principal) {
                                continue;
                            }
                            return Some((Ok(EventRecord::from(&event)), Some(sub)));
                        }
                        Ok(Some(Err(e))) => return Some((Err(internal_error(e)), Some(sub))),
                        Ok(None) => return None,
                    }
                }
            }
        }))
    }
}
