//! Blocks and runs (format 2 of the log, see `keys.rs`): writing a group's events as a few
//! blocks of consecutive envelopes and a stream run per append ([`LogBatch`]), and reading them
//! back by position ([`event_at`]) or in order ([`LogIter`]).
//!
//! Each sled insert costs the single writer about as much CPU as an `fdatasync` saves it by
//! grouping, so a group of 64 one-event appends writes one block and 64 runs instead of 128
//! keys. Blocks are small enough that a whole leaf stays below sled's blob threshold (a quarter
//! of its 512 KiB segment): sled splits a leaf only past 16 items, so 17 blocks of 4 KiB stay
//! under 128 KiB. A larger page goes to a separate file each — with 16 KiB blocks a 10M-event
//! log kept 3,696 blob files (623 MB), written with a file create and sync, read back whole
//! with a fresh allocation every time the leaf left the cache.

use std::ops::Range;

use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, Run};
use crate::recorded::RecordedEvent;

/// Most events in one block.
pub(crate) const BLOCK_EVENTS_MAX: usize = 64;
/// Most envelope bytes in one block; a larger single envelope gets a block of its own.
pub(crate) const BLOCK_BYTES_MAX: usize = 4 * 1024;

/// A run being built: `count` events of `stream` ending at `last_version`.
struct OpenRun {
    stream: String,
    last_version: u64,
    run: Run,
}

/// One write of a batch: the value to insert under the key, or `None` to remove it.
pub(crate) type Write = (Vec<u8>, Option<Vec<u8>>);

/// The blocks and runs of consecutive events, collected as the writes of one group commit.
/// Pushing never fails, so a caller can encode everything first and then stage it whole.
#[derive(Default)]
pub(crate) struct LogBatch {
    /// The writes so far; callers add their own keys with [`LogBatch::insert`] and
    /// [`LogBatch::remove`].
    writes: Vec<Write>,
    block_first: u64,
    block: Vec<Vec<u8>>,
    block_bytes: usize,
    run: Option<OpenRun>,
    events: usize,
}

impl LogBatch {
    /// Adds the encoded envelope of `stream` `version` at `position`. Positions pushed to one
    /// batch must be consecutive for blocks to fill; a jump starts a new block.
    pub(crate) fn push(&mut self, position: u64, stream: &str, version: u64, envelope: Vec<u8>) {
        let follows = self.block_first + self.block.len() as u64 == position;
        let full = self.block.len() >= BLOCK_EVENTS_MAX
            || self.block_bytes + envelope.len() > BLOCK_BYTES_MAX;
        if !self.block.is_empty() && (!follows || full) {
            self.close_block();
        }
        if self.block.is_empty() {
            self.block_first = position;
        }
        self.block_bytes += envelope.len();
        self.block.push(envelope);

        let extends = self.run.as_ref().is_some_and(|r| {
            r.stream == stream
                && r.last_version.checked_add(1) == Some(version)
                && r.run.last_position().checked_add(1) == Some(position)
                && r.run.count < u32::MAX
        });
        match &mut self.run {
            Some(r) if extends => {
                r.last_version = version;
                r.run.count += 1;
            }
            _ => {
                self.close_run();
                self.run = Some(OpenRun {
                    stream: stream.to_owned(),
                    last_version: version,
                    run: Run {
                        first_position: position,
                        count: 1,
                    },
                });
            }
        }
        self.events += 1;
    }

    /// Events pushed so far.
    pub(crate) fn events(&self) -> usize {
        self.events
    }

    pub(crate) fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), Some(value.into())));
    }

    pub(crate) fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), None));
    }

    fn close_block(&mut self) {
        if self.block.is_empty() {
            return;
        }
        let bytes = codec::encode_block(&self.block);
        self.insert(keys::block(self.block_first), bytes);
        self.block.clear();
        self.block_bytes = 0;
    }

    fn close_run(&mut self) {
        if let Some(r) = self.run.take() {
            self.insert(keys::run(&r.stream, r.last_version), r.run.encode());
        }
    }

    /// The writes, with every block and run closed.
    pub(crate) fn finish_writes(mut self) -> Vec<Write> {
        self.close_block();
        self.close_run();
        self.writes
    }

    /// The writes as one sled batch, with every block and run closed.
    pub(crate) fn finish(self) -> sled::Batch {
        sled_batch(self.finish_writes())
    }
}

/// `writes` as one sled batch.
pub(crate) fn sled_batch(writes: Vec<Write>) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (key, value) in writes {
        match value {
            Some(value) => batch.insert(key, value),
            None => batch.remove(key),
        }
    }
    batch
}

/// One stored block, split into its envelopes.
pub(crate) struct Block {
    first: u64,
    bytes: sled::IVec,
    entries: Vec<Range<usize>>,
    error: Option<codec::CodecError>,
}

impl Block {
    fn new(first: u64, bytes: sled::IVec) -> Block {
        let split = codec::split_block(&bytes);
        Block {
            first,
            bytes,
            entries: split.entries,
            error: split.error,
        }
    }

    /// One past the last position the block holds, or whose damage it reports.
    fn end(&self) -> u64 {
        let claimed = self.entries.len() as u64 + u64::from(self.error.is_some());
        self.first.saturating_add(claimed)
    }

    /// The envelope bytes at `position`: `None` if the block does not hold it, `Corrupt` where
    /// the block is damaged.
    fn envelope(&self, position: u64) -> Option<Result<&[u8], StoreError>> {
        let index = usize::try_from(position.checked_sub(self.first)?).ok()?;
        match self.entries.get(index) {
            Some(range) => Some(
                self.bytes
                    .get(range.clone())
                    .ok_or_else(|| StoreError::Corrupt {
                        position,
                        reason: "block entry out of range".to_owned(),
                    }),
            ),
            None if index == self.entries.len() => self.error.as_ref().map(|e| {
                Err(StoreError::Corrupt {
                    position,
                    reason: format!("block at position {}: {e}", self.first),
                })
            }),
            None => None,
        }
    }

    /// The event at `position`, which the block must hold (see [`Block::envelope`]).
    fn event(&self, position: u64) -> Option<Result<RecordedEvent, StoreError>> {
        self.envelope(position)
            .map(|bytes| RecordedEvent::from_stored(position, bytes?))
    }

    /// The event at `position` decoded into `into` (see [`RecordedEvent::read_into`]).
    fn event_into(
        &self,
        position: u64,
        into: &mut RecordedEvent,
    ) -> Option<Result<(), StoreError>> {
        self.envelope(position)
            .map(|bytes| into.read_into(position, bytes?))
    }
}

fn malformed_block_key(position: u64) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: "malformed block key".to_owned(),
    }
}

/// The block that starts at or before `position` and is nearest to it.
fn block_before(tree: &sled::Tree, position: u64) -> Result<Option<Block>, StoreError> {
    match tree.range(..=keys::block(position)).next_back() {
        None => Ok(None),
        Some(item) => {
            let (k, v) = item?;
            if !k.starts_with(keys::BLOCK_PREFIX) {
                return Ok(None);
            }
            let first = keys::block_first(&k).ok_or_else(|| malformed_block_key(position))?;
            Ok(Some(Block::new(first, v)))
        }
    }
}

/// The event stored at `position`, whether or not it is durable yet (callers bound it by the
/// head). `None` if no block holds it.
pub(crate) fn event_at(
    tree: &sled::Tree,
    position: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    match block_before(tree, position)? {
        None => Ok(None),
        Some(block) => block.event(position).transpose(),
    }
}

/// The last position the last block claims to hold (0 = no blocks).
pub(crate) fn last_stored(tree: &sled::Tree) -> Result<u64, StoreError> {
    match tree.scan_prefix(keys::BLOCK_PREFIX).next_back() {
        None => Ok(0),
        Some(item) => {
            let (k, v) = item?;
            let first = keys::block_first(&k).ok_or_else(|| malformed_block_key(0))?;
            // The count the header claims, so that damage inside the block is left for the walk
            // to name at its position.
            let count = codec::block_count(&v).unwrap_or(0);
            Ok(first.saturating_add(u64::from(count)).saturating_sub(1))
        }
    }
}

/// Streams the log in position order over `after + 1 ..= end`, walking blocks; a position no
/// block holds is `Corrupt` (missing). Stops after the first error. Besides iterating (a fresh
/// event each), [`LogIter::next_into`] decodes into an event the caller already holds.
pub struct LogIter {
    tree: sled::Tree,
    blocks: Option<sled::Iter>,
    block: Option<Block>,
    expected: u64,
    end: u64,
    done: bool,
}

impl LogIter {
    pub(crate) fn new(tree: &sled::Tree, after: u64, end: u64) -> LogIter {
        LogIter {
            tree: tree.clone(),
            blocks: None,
            block: None,
            expected: after.saturating_add(1),
            end,
            done: after >= end,
        }
    }

    fn missing(&self) -> StoreError {
        StoreError::Corrupt {
            position: self.expected,
            reason: "missing from the log".to_owned(),
        }
    }

    /// Makes `self.block` the block holding `self.expected`, or says why there is none.
    fn advance(&mut self) -> Result<(), StoreError> {
        let expected = self.expected;
        if self.blocks.is_none() {
            // The first position may sit inside a block that starts before it.
            let mut from = expected;
            if let Some(block) = block_before(&self.tree, expected)? {
                if block.end() > expected {
                    from = block.first.saturating_add(1);
                    self.block = Some(block);
                }
            }
            self.blocks = Some(self.tree.range(keys::block(from)..=keys::block(self.end)));
            if self.block.is_some() {
                return Ok(());
            }
        }
        let Some(blocks) = self.blocks.as_mut() else {
            return Err(self.missing());
        };
        let Some(item) = blocks.next() else {
            return Err(self.missing());
        };
        let (k, v) = item?;
        let first = keys::block_first(&k).ok_or_else(|| malformed_block_key(expected))?;
        if first > expected {
            return Err(self.missing());
        }
        if first < expected {
            return Err(StoreError::Corrupt {
                position: first,
                reason: format!("stored twice: the block at {first} overlaps the one before"),
            });
        }
        self.block = Some(Block::new(first, v));
        Ok(())
    }

    fn next_event(&mut self) -> Result<RecordedEvent, StoreError> {
        if let Some(event) = self.block.as_ref().and_then(|b| b.event(self.expected)) {
            return event;
        }
        self.advance()?;
        self.block
            .as_ref()
            .and_then(|b| b.event(self.expected))
            .unwrap_or_else(|| Err(self.missing()))
    }
}

impl LogIter {
    /// The next event decoded into `into`, reusing its buffers (replay's path: see
    /// [`RecordedEvent::read_into`]). `None` at the end; after an error, `into` is not an event
    /// of the log and the iteration is over.
    pub fn next_into(&mut self, into: &mut RecordedEvent) -> Option<Result<(), StoreError>> {
        if self.done || self.expected > self.end {
            return None;
        }
        let result = self.next_event_into(into);
        match &result {
            Ok(()) => self.expected += 1,
            Err(_) => self.done = true,
        }
        Some(result)
    }

    fn next_event_into(&mut self, into: &mut RecordedEvent) -> Result<(), StoreError> {
        if let Some(done) = self
            .block
            .as_ref()
            .and_then(|b| b.event_into(self.expected, into))
        {
            return done;
        }
        self.advance()?;
        self.block
            .as_ref()
            .and_then(|b| b.event_into(self.expected, into))
            .unwrap_or_else(|| Err(self.missing()))
    }
}

impl Iterator for LogIter {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.expected > self.end {
            return None;
        }
        let result = self.next_event();
        match &result {
            Ok(_) => self.expected += 1,
            Err(_) => self.done = true,
        }
        Some(result)
    }
}
