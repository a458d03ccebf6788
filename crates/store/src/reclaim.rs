//! Freeing the pages sled replaced. sled 0.34 hands every replaced page to crossbeam-epoch's
//! global collector, which frees at most 8 bags (of up to 64 objects) per 128 pins of a thread.
//! A sustained load of big appends replaces pages faster than that: a bulk load of 500-event
//! appends kept ~5.6 KB per event resident until reads, which pin often, drained it
//! (docs/performance.md, "Scaling"). So the store's sync thread, after each group it made
//! durable, asks the collector to free a share proportional to what the group wrote.

/// Events written per extra collection step (each frees up to 8 bags of expired garbage).
const EVENTS_PER_COLLECT: u64 = 16;

/// Moves this thread's garbage to the global queue and frees expired garbage, once per
/// [`EVENTS_PER_COLLECT`] events written (at least once).
pub(crate) fn collect_replaced_pages(events: u64) {
    for _ in 0..=events / EVENTS_PER_COLLECT {
        crossbeam_epoch::pin().flush();
    }
}
