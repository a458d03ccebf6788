//! Rebuild (SPEC §7, `dunlog rebuild [--policy FILE]`): every read model from position 1, under
//! the adopted policies or one the analyst names, with progress and a throughput figure.

use std::time::Instant;

use store::Store;

use crate::error::ProjectionError;
use crate::ledger::Ledger;
use crate::replay::replay;

/// What a rebuild did and how fast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RebuildStats {
    pub events: u64,
    pub seconds: f64,
    pub events_per_s: f64,
}

/// Rebuilds a fresh ledger from the whole log. With `policy`, the ledger reads everything under
/// it instead of the adopted policy (the facts recorded are the same; automatic events already
/// recorded stay recorded — `whatif` is the tool that asks what the clock would have done).
/// `progress(done, total)` is called as it goes.
pub fn rebuild(
    store: &Store,
    policy: Option<domain::Policy>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Ledger, RebuildStats), ProjectionError> {
    let started = Instant::now();
    let mut ledger = Ledger::new();
    ledger.set_policy_override(policy);
    let replayed = replay(store, &mut ledger, None, progress)?;
    let seconds = started.elapsed().as_secs_f64();
    let events_per_s = if seconds > 0.0 {
        replayed.events as f64 / seconds
    } else {
        0.0
    };
    Ok((
        ledger,
        RebuildStats {
            events: replayed.events,
            seconds,
            events_per_s,
        },
    ))
}
