//! The live read model (a `projections::Projector`) with read-your-writes via
//! [`Live::wait_for`], and plain replays of the log for the CLI and time travel.

use std::sync::RwLockReadGuard;

use anyhow::{Context as _, Result};
use projections::{EventMeta, Ledger, Projector};
use store::{RecordedEvent, Store};

/// The ledger every query reads: `projections::Projector` (snapshot + catch-up at start, then a
/// follower task applying each appended event in position order).
#[derive(Clone)]
pub struct Live {
    projector: Projector,
}

/// The read side's envelope of a recorded event.
pub fn meta_of(event: &RecordedEvent) -> EventMeta {
    EventMeta {
        position: event.position,
        stream: event.stream.clone(),
        version: event.version,
        occurred_at: event.occurred_at,
        recorded_at: event.recorded_at,
        actor: event.actor.clone(),
    }
}

/// Replays the whole log into a fresh ledger (synchronously).
pub fn replay(store: &Store, mut progress: impl FnMut(u64)) -> Result<Ledger> {
    let mut ledger = Ledger::new();
    for event in store.iter_from(0) {
        let event = event.context("reading the log")?;
        ledger.apply(&meta_of(&event), &event.event);
        progress(event.position);
    }
    Ok(ledger)
}

impl Live {
    /// Loads the last snapshot, catches up, then follows the log. Must run inside a tokio
    /// runtime.
    pub async fn start(store: &Store) -> Result<Live> {
        let projector = Projector::start(store.clone())
            .await
            .context("starting the read model")?;
        Ok(Live { projector })
    }

    /// The ledger as applied so far. Hold it briefly: the follower waits while it is held.
    pub fn read(&self) -> RwLockReadGuard<'_, Ledger> {
        self.projector.read()
    }

    /// The last position applied.
    pub fn checkpoint(&self) -> u64 {
        self.projector.checkpoint()
    }

    /// Waits until the read model has applied `position`.
    pub async fn wait_for(&self, position: u64) -> Result<()> {
        self.projector.wait_for(position).await;
        if self.projector.checkpoint() < position {
            anyhow::bail!("the read model stopped before position {position}");
        }
        Ok(())
    }

    /// Stops following the log, so the store can be closed once every handle is dropped.
    pub async fn shutdown(&self) {
        self.projector.shutdown().await;
    }

    /// Saves a snapshot of the read model so the next start replays only the tail of the log.
    pub fn save_snapshot(&self) -> Result<()> {
        self.projector
            .save_snapshot()
            .context("saving the projection snapshot")
    }
}
