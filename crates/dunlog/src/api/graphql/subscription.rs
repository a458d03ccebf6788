//! The `events(after)` subscription: live envelopes for dashboards, caught up from a position.

use async_graphql::{Context, Subscription};
use futures::Stream;

use super::scalars::Position;
use super::types::EventRecord;
use super::{internal_error, require, service, ApiResult};
use crate::app::auth::Role;

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every event after `after` (default: from now on), then each new one as it is appended.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = ApiResult<EventRecord>>, async_graphql::Error> {
        require(ctx, Role::Auditor)?;
        let store = service(ctx)?.store.clone();
        let after = after.map(|p| p.0).unwrap_or_else(|| store.head());
        let subscription = store.subscribe(after);
        Ok(futures::stream::unfold(
            subscription,
            |mut sub| async move {
                match sub.next().await {
                    Some(Ok(event)) => Some((Ok(EventRecord::from(&event)), sub)),
                    Some(Err(e)) => Some((Err(internal_error(e)), sub)),
                    None => None,
                }
            },
        ))
    }
}
