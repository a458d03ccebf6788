//! Replaying the log into a ledger: the one loop behind catch-up, rebuild and time travel.
//!
//! Reading and decoding (sled, bincode, the envelope) costs more than applying, so it runs on
//! reading threads, one per core, each decoding whole ranges of positions; the calling thread
//! applies the ranges strictly in position order.

use std::sync::mpsc;

use chrono::{DateTime, Utc};
use store::{RecordedEvent, Store, StoreError};

use crate::error::ProjectionError;
use crate::ledger::Ledger;

/// Events per range: each reading thread reads and decodes whole ranges of positions.
pub const REPLAY_RANGE_EVENTS: u64 = 1024;
/// Decoded ranges each reading thread may hold ready ahead of the applying thread.
const REPLAY_RANGES_QUEUED: usize = 4;
/// Reading threads at most; reading and decoding costs more than applying.
const REPLAY_READERS_MAX: usize = 4;
/// How often (in events) progress is reported.
pub const PROGRESS_EVERY_EVENTS: u64 = 65_536;

/// What a replay did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replayed {
    /// Events applied.
    pub events: u64,
    /// True when it stopped at an event recorded after `known_at`: the result is final for that
    /// instant, whatever is appended later.
    pub reached_known_at: bool,
}

/// One range of the log, decoded: its events, then whether it ended early.
struct Range {
    /// The range's events are the first `len`; those after are spare, kept from an earlier
    /// range so that decoding into them reuses their buffers.
    events: Vec<RecordedEvent>,
    len: usize,
    end: RangeEnd,
}

enum RangeEnd {
    /// Every position of the range was read.
    Whole,
    /// An event recorded after `known_at` ends the replay.
    RecordedLater,
    Failed(StoreError),
}

/// Applies every event after `ledger.checkpoint` up to the head (as it stands when called),
/// stopping before the first event recorded after `known_at` if one is given.
/// `progress(done, total)` is called every [`PROGRESS_EVERY_EVENTS`] events and at the end.
///
/// The positions to read are cut into ranges of [`REPLAY_RANGE_EVENTS`]; range `r` is read and
/// decoded by reading thread `r mod n`, and the calling thread applies the ranges in order,
/// taking range `r` from thread `r mod n`'s queue — so events are applied in position order
/// while decoding runs on every core.
pub fn replay(
    store: &Store,
    ledger: &mut Ledger,
    known_at: Option<DateTime<Utc>>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Replayed, ProjectionError> {
    let after = ledger.checkpoint;
    let head = store.head();
    let total = head.saturating_sub(after);
    let ranges = total.div_ceil(REPLAY_RANGE_EVENTS);
    let readers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, REPLAY_READERS_MAX);
    let readers = readers
        .min(usize::try_from(ranges).unwrap_or(usize::MAX))
        .max(1);
    let mut done = 0u64;
    let mut reached_known_at = false;
    let mut failure = None;
    progress(0, total);
    std::thread::scope(|scope| {
        let mut queues = Vec::with_capacity(readers);
        let mut freed = Vec::with_capacity(readers);
        for reader in 0..readers {
            let (tx, rx) = mpsc::sync_channel::<Range>(REPLAY_RANGES_QUEUED);
            // Applied ranges go back to their reading thread, which decodes the next range
            // into the same events: their strings and payload buffers are reused rather than
            // freed and allocated again for every event (a tenth of a rebuild was malloc and
            // free). A fresh vector each time was worse still: a large allocation the allocator
            // gives back to the system when freed, and faulting its pages in again (zeroed by
            // the kernel) took a third of a rebuild's time.
            let (done_tx, done_rx) = mpsc::channel::<Vec<RecordedEvent>>();
            let first = reader as u64;
            let step = readers as u64;
            scope.spawn(move || {
                read_ranges(store, after, head, first, step, known_at, &tx, &done_rx)
            });
            queues.push(rx);
            freed.push(done_tx);
        }
        let mut reported = 0u64;
        'ranges: for r in 0..ranges {
            let i = usize::try_from(r % readers as u64).unwrap_or(0);
            let Some(range) = queues.get(i).and_then(|q| q.recv().ok()) else {
                break;
            };
            for event in range.events.iter().take(range.len) {
                ledger.apply_recorded(event);
            }
            done += range.len as u64;
            if done - reported >= PROGRESS_EVERY_EVENTS {
                progress(done, total);
                reported = done;
            }
            if let Some(back) = freed.get(i) {
                let _ = back.send(range.events);
            }
            match range.end {
                RangeEnd::Whole => {}
                RangeEnd::RecordedLater => {
                    reached_known_at = true;
                    break 'ranges;
                }
                RangeEnd::Failed(e) => {
                    failure = Some(e);
                    break 'ranges;
                }
            }
        }
        // Dropping the queues stops readers still working ahead.
        drop(queues);
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    progress(done, total.max(done));
    Ok(Replayed {
        events: done,
        reached_known_at,
    })
}

/// Reads ranges `first, first + step, …` of the positions `after + 1 ..= head`.
#[allow(clippy::too_many_arguments)]
fn read_ranges(
    store: &Store,
    after: u64,
    head: u64,
    first: u64,
    step: u64,
    known_at: Option<DateTime<Utc>>,
    tx: &mpsc::SyncSender<Range>,
    freed: &mpsc::Receiver<Vec<RecordedEvent>>,
) {
    let mut r = first;
    let mut spare: Vec<Vec<RecordedEvent>> = Vec::new();
    loop {
        let start = after + r * REPLAY_RANGE_EVENTS;
        if start >= head {
            return;
        }
        while let Ok(applied) = freed.try_recv() {
            spare.push(applied);
        }
        let len = (head - start).min(REPLAY_RANGE_EVENTS);
        let len = usize::try_from(len).unwrap_or(0);
        let mut events = spare.pop().unwrap_or_else(|| Vec::with_capacity(len));
        let mut filled = 0usize;
        let mut end = RangeEnd::Whole;
        let mut log = store.log_from(start);
        while filled < len {
            let read = match events.get_mut(filled) {
                Some(slot) => log.next_into(slot),
                None => log.next().map(|item| item.map(|event| events.push(event))),
            };
            match read {
                None => break,
                Some(Err(e)) => {
                    end = RangeEnd::Failed(e);
                    break;
                }
                Some(Ok(())) => {}
            }
            // recorded_at never decreases along the log: the first later event ends it.
            let later = events
                .get(filled)
                .is_some_and(|event| known_at.is_some_and(|t| event.recorded_at > t));
            if later {
                end = RangeEnd::RecordedLater;
                break;
            }
            filled += 1;
        }
        let stop = !matches!(end, RangeEnd::Whole);
        if tx
            .send(Range {
                events,
                len: filled,
                end,
            })
            .is_err()
            || stop
        {
            return;
        }
        r += step;
    }
}
