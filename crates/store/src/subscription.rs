//! Subscriptions: catch up from a position, then follow live appends.
//!
//! A subscription never holds events for the writer: it watches the durable head (a
//! `tokio::sync::watch`, one slot, never full) and reads the log itself, a bounded page at a
//! time. A slow subscriber simply falls behind and reads more later; writers never wait for it.

use std::collections::VecDeque;

use crate::error::StoreError;
use crate::reader::Reader;
use crate::recorded::RecordedEvent;

/// Events read from the log per page.
pub const SUBSCRIPTION_PAGE_EVENTS: usize = 256;

/// A live, ordered feed of the log from a position.
pub struct Subscription {
    reader: Reader,
    /// The last position handed out (or the starting point).
    after: u64,
    page: VecDeque<RecordedEvent>,
    failed: bool,
}

impl Subscription {
    pub(crate) fn new(reader: Reader, after: u64) -> Subscription {
        Subscription {
            reader,
            after,
            page: VecDeque::new(),
            failed: false,
        }
    }

    /// The next event after the last one returned; waits for it if needed. `None` once the store
    /// has closed and every durable event has been delivered, or after an error.
    pub async fn next(&mut self) -> Option<Result<RecordedEvent, StoreError>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.page.pop_front() {
                self.after = event.position;
                return Some(Ok(event));
            }
            // Mark the current head as seen before reading, so no append is missed in between.
            let head = *self.reader.head_rx.borrow_and_update();
            if head > self.after {
                match self.reader.read_from(self.after, SUBSCRIPTION_PAGE_EVENTS) {
                    Ok(events) if !events.is_empty() => self.page.extend(events),
                    Ok(_) => {
                        self.failed = true;
                        return Some(Err(StoreError::Corrupt {
                            position: self.after + 1,
                            reason: "missing from the log".to_owned(),
                        }));
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            if self.reader.head_rx.changed().await.is_err() {
                // The writer is gone; deliver what is durable, then end.
                if *self.reader.head_rx.borrow() > self.after {
                    continue;
                }
                return None;
            }
        }
    }
}
