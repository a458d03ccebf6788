//! The projection runtime: loads the last snapshot (if it still matches the log), catches up
//! from its checkpoint, then follows the store's live subscription, so the read models stay
//! current and a restart replays only the tail of the log.
//!
//! One writer (the follower task) applies events under a write lock, one at a time in position
//! order; readers take the read lock and see a state at a whole position. `wait_for` gives a
//! command its read-your-writes: it resolves once the checkpoint reaches the command's last
//! position.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ProjectionError;
use crate::ledger::Ledger;
use crate::replay;
use crate::snapshot::{self, LEGACY_SNAPSHOT_KEY};

/// Where the follower stands: the checkpoint, and whether it has stopped (store closed or a
/// read failed), so that nobody waits for a position that will never come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Progress {
    checkpoint: u64,
    stopped: bool,
}

struct Shared {
    ledger: RwLock<Ledger>,
    progress: watch::Sender<Progress>,
}

struct Inner {
    store: Store,
    shared: Arc<Shared>,
    replayed_on_start: u64,
    follower: Mutex<Option<JoinHandle<()>>>,
    /// Whether the snapshot older builds kept in sled's meta tree has been deleted.
    legacy_snapshot_deleted: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The follower holds a subscription (and so the store's files) open; stop it with the
        // last handle.
        let handle = self
            .follower
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            handle.abort();
        }
    }
}

/// The live read models of a store. Cheap to clone; clones share one ledger and one follower.
#[derive(Clone)]
pub struct Projector {
    inner: Arc<Inner>,
}

/// Why a snapshot cannot be used, or `None` when there is none.
fn load_snapshot(store: &Store) -> Result<Option<Ledger>, String> {
    // Read and decoded at once, a chunk at a time: the whole file is never held.
    let snap = match snapshot::load(store.dir()) {
        Ok(Some(snap)) => snap,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let head = store.head();
    if snap.checkpoint > head {
        return Err(format!(
            "its checkpoint {} is past the end of the log ({head})",
            snap.checkpoint
        ));
    }
    let hash = hash_at(store, snap.checkpoint).map_err(|e| e.to_string())?;
    if hash != snap.hash {
        return Err(format!(
            "the event at its checkpoint {} has another hash: the log is not the one it was built from",
            snap.checkpoint
        ));
    }
    Ok(Some(snap.ledger))
}

/// The hash of the event at `position` (zeros for position 0, the chain's start).
pub fn hash_at(store: &Store, position: u64) -> Result<[u8; 32], ProjectionError> {
    if position == 0 {
        return Ok([0; 32]);
    }
    let event = store
        .read_from(position - 1, 1)?
        .into_iter()
        .next()
        .filter(|e| e.position == position)
        .ok_or_else(|| {
            ProjectionError::Snapshot(format!("position {position} is not in the log"))
        })?;
    Ok(event.hash)
}

/// Loads the snapshot or starts empty, then applies every event after its checkpoint.
/// Returns the ledger and the number of events applied.
pub fn load_and_catch_up(store: &Store) -> Result<(Ledger, u64), ProjectionError> {
    let mut ledger = match load_snapshot(store) {
        Ok(Some(ledger)) => {
            tracing::info!(checkpoint = ledger.checkpoint, "projection snapshot loaded");
            ledger
        }
        Ok(None) => Ledger::new(),
        Err(why) => {
            tracing::warn!(reason = %why, "projection snapshot discarded; rebuilding from position 1");
            Ledger::new()
        }
    };
    let replayed = replay::replay(store, &mut ledger, None, &mut |_, _| {})?.events;
    if replayed > 0 {
        ledger.shrink_to_fit();
    }
    tracing::info!(
        checkpoint = ledger.checkpoint,
        replayed,
        "projections caught up"
    );
    Ok((ledger, replayed))
}

async fn follow(mut subscription: store::Subscription, shared: Arc<Shared>) {
    loop {
        match subscription.next().await {
            Some(Ok(event)) => {
                let position = event.position;
                shared
                    .ledger
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .apply_recorded(&event);
                shared.progress.send_modify(|p| p.checkpoint = position);
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "projections stopped following the log");
                break;
            }
            None => break,
        }
    }
    shared.progress.send_modify(|p| p.stopped = true);
}

impl Projector {
    /// Loads the snapshot if it decodes and matches the log (else rebuilds, saying why), catches
    /// up to the head, then follows live appends in a task of the current tokio runtime.
    pub async fn start(store: Store) -> Result<Projector, ProjectionError> {
        let loading = store.clone();
        let (ledger, replayed_on_start) =
            tokio::task::spawn_blocking(move || load_and_catch_up(&loading))
                .await
                .map_err(|e| {
                    ProjectionError::Snapshot(format!("catch-up did not finish: {e}"))
                })??;
        let checkpoint = ledger.checkpoint;
        let (progress, _) = watch::channel(Progress {
            checkpoint,
            stopped: false,
        });
        let shared = Arc::new(Shared {
            ledger: RwLock::new(ledger),
            progress,
        });
        let follower = tokio::spawn(follow(store.subscribe(checkpoint), shared.clone()));
        Ok(Projector {
            inner: Arc::new(Inner {
                store,
                shared,
                replayed_on_start,
                follower: Mutex::new(Some(follower)),
                legacy_snapshot_deleted: AtomicBool::new(false),
            }),
        })
    }

    /// The live ledger, read-locked. Hold it briefly: the follower waits while it is held.
    pub fn read(&self) -> RwLockReadGuard<'_, Ledger> {
        self.inner
            .shared
            .ledger
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves once the checkpoint is at or past `position` (or the follower has stopped).
    pub async fn wait_for(&self, position: u64) {
        let mut rx = self.inner.shared.progress.subscribe();
        let _ = rx.wait_for(|p| p.checkpoint >= position || p.stopped).await;
    }

    /// The last position applied.
    pub fn checkpoint(&self) -> u64 {
        self.inner.shared.progress.borrow().checkpoint
    }

    /// Events applied at start, after the snapshot.
    pub fn replayed_on_start(&self) -> u64 {
        self.inner.replayed_on_start
    }

    /// Whether the follower has stopped (the store closed, or reading the log failed).
    pub fn is_stopped(&self) -> bool {
        self.inner.shared.progress.borrow().stopped
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Saves the ledger, its checkpoint, the hash there and the policy version in the snapshot
    /// file of the store's directory ([`snapshot::SNAPSHOT_FILE`]). Durable on return.
    pub fn save_snapshot(&self) -> Result<(), ProjectionError> {
        let bytes = {
            let ledger = self.read();
            let hash = hash_at(&self.inner.store, ledger.checkpoint)?;
            snapshot::encode(&ledger, hash)?
        };
        snapshot::write_file(self.inner.store.dir(), &bytes)?;
        tracing::info!(bytes = bytes.len(), "projection snapshot saved");
        drop(bytes);
        // Older builds kept the snapshot in sled, where it also left blob files behind; removing
        // the key lets sled drop it. Once per process: removing a missing key costs a sync.
        if !self
            .inner
            .legacy_snapshot_deleted
            .swap(true, Ordering::Relaxed)
        {
            if let Err(e) = self.inner.store.meta_delete(LEGACY_SNAPSHOT_KEY) {
                tracing::warn!(error = %e, "cannot remove the snapshot older builds kept in sled");
                self.inner
                    .legacy_snapshot_deleted
                    .store(false, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Stops following the log and waits until the follower has let go of the store (and of the
    /// ledger: dropping the last handle then frees it at once, where a follower merely aborted
    /// would free it later on a worker thread).
    pub async fn shutdown(&self) {
        let handle = self
            .inner
            .follower
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            handle.abort();
            let _ = handle.await;
        }
        self.inner.shared.progress.send_modify(|p| p.stopped = true);
    }
}
