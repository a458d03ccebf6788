//! The key layout of the `log` tree. Everything an append writes lives in this one tree, so one
//! `sled::Batch` makes an append (and a whole group commit) atomic.
//!
//! Format 2 (today):
//!
//! | key                                   | value                                        |
//! |---------------------------------------|----------------------------------------------|
//! | `b/` first position (u64 BE)          | block: the envelopes of consecutive positions (codec) |
//! | `r/` stream `/` last version (u64 BE) | run: first position (u64 BE) ‖ count (u32 BE) |
//! | `i/` idempotency key                  | fingerprint, first position, count (codec)   |
//! | `c`                                   | chain head: position BE ‖ hash ‖ recorded_at µs BE |
//! | `f`                                   | format version (u32 BE)                      |
//!
//! A group commit writes its events as blocks of at most [`crate::block::BLOCK_EVENTS_MAX`]
//! events and [`crate::block::BLOCK_BYTES_MAX`] bytes; a block never spans two groups, so a block
//! that starts at or before the durable head ends there too. A *run* indexes consecutive versions
//! of one stream at consecutive positions (an append, or more than one in a row); a stream's
//! version is the key of its last run. A one-event append costs one run and a share of a block,
//! instead of two keys per event.
//!
//! Format 1 (upgraded on open, see `migrate.rs`) stored `e/` position → one envelope and
//! `s/` stream `/` version → position, one of each per event.

pub(crate) const BLOCK_PREFIX: &[u8] = b"b/";
pub(crate) const RUN_PREFIX: &[u8] = b"r/";
pub(crate) const IDEMPOTENCY_PREFIX: &[u8] = b"i/";
pub(crate) const CHAIN_HEAD: &[u8] = b"c";
pub(crate) const FORMAT: &[u8] = b"f";
/// The keys of the group being written to sled, written before them (decision 0040): what a
/// crash may have left of a group past the chain head, which `Store::open` removes.
pub(crate) const PENDING_GROUP: &[u8] = b"p";
/// Format 1: one envelope per key.
pub(crate) const V1_EVENT_PREFIX: &[u8] = b"e/";
/// Format 1: one stream index entry per event.
pub(crate) const V1_STREAM_INDEX_PREFIX: &[u8] = b"s/";

fn position_key(prefix: &[u8], position: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..2].copy_from_slice(prefix);
    k[2..].copy_from_slice(&position.to_be_bytes());
    k
}

fn key_position(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The key of the block whose first position is `first`.
pub(crate) fn block(first: u64) -> [u8; 10] {
    position_key(BLOCK_PREFIX, first)
}

pub(crate) fn block_first(key: &[u8]) -> Option<u64> {
    key_position(BLOCK_PREFIX, key)
}

pub(crate) fn v1_event_position(key: &[u8]) -> Option<u64> {
    key_position(V1_EVENT_PREFIX, key)
}

fn stream_key(prefix: &[u8], stream: &str, version: Option<u64>) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + stream.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(stream.as_bytes());
    k.push(b'/');
    if let Some(version) = version {
        k.extend_from_slice(&version.to_be_bytes());
    }
    k
}

pub(crate) fn run_prefix(stream: &str) -> Vec<u8> {
    stream_key(RUN_PREFIX, stream, None)
}

/// The key of the run of `stream` whose last version is `last_version`.
pub(crate) fn run(stream: &str, last_version: u64) -> Vec<u8> {
    stream_key(RUN_PREFIX, stream, Some(last_version))
}

pub(crate) fn v1_stream_index(stream: &str, version: u64) -> Vec<u8> {
    stream_key(V1_STREAM_INDEX_PREFIX, stream, Some(version))
}

/// Splits an `r/` key into stream and last version.
pub(crate) fn parse_run(key: &[u8]) -> Option<(&str, u64)> {
    let rest = key.strip_prefix(RUN_PREFIX)?;
    let split = rest.len().checked_sub(9)?;
    let (stream, tail) = rest.split_at(split);
    let (slash, version) = tail.split_first()?;
    if *slash != b'/' {
        return None;
    }
    Some((
        std::str::from_utf8(stream).ok()?,
        u64::from_be_bytes(version.try_into().ok()?),
    ))
}

/// A run of the stream index: `count` events at positions `first_position..` with the versions
/// ending at the run key's last version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub first_position: u64,
    pub count: u32,
}

impl Run {
    pub(crate) fn encode(&self) -> [u8; 12] {
        let mut v = [0u8; 12];
        v[..8].copy_from_slice(&self.first_position.to_be_bytes());
        v[8..].copy_from_slice(&self.count.to_be_bytes());
        v
    }

    /// `None` unless 12 bytes with a count of at least 1.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Run> {
        let (first, count) = bytes.split_at_checked(8)?;
        let run = Run {
            first_position: u64::from_be_bytes(first.try_into().ok()?),
            count: u32::from_be_bytes(count.try_into().ok()?),
        };
        (run.count > 0).then_some(run)
    }

    /// The last position of the run.
    pub(crate) fn last_position(&self) -> u64 {
        self.first_position
            .saturating_add(u64::from(self.count))
            .saturating_sub(1)
    }
}

pub(crate) fn idempotency(key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.extend_from_slice(IDEMPOTENCY_PREFIX);
    k.extend_from_slice(key.as_bytes());
    k
}

pub(crate) fn u64_value(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The chain head: the last position, its hash and its recorded_at (µs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub position: u64,
    pub hash: [u8; 32],
    pub recorded_at_us: i64,
}

impl ChainHead {
    pub(crate) const EMPTY: ChainHead = ChainHead {
        position: 0,
        hash: [0; 32],
        recorded_at_us: i64::MIN,
    };

    pub(crate) fn encode(&self) -> [u8; 48] {
        let mut v = [0u8; 48];
        v[..8].copy_from_slice(&self.position.to_be_bytes());
        v[8..40].copy_from_slice(&self.hash);
        v[40..].copy_from_slice(&self.recorded_at_us.to_be_bytes());
        v
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<ChainHead> {
        if bytes.len() != 48 {
            return None;
        }
        Some(ChainHead {
            position: u64::from_be_bytes(bytes[..8].try_into().ok()?),
            hash: bytes[8..40].try_into().ok()?,
            recorded_at_us: i64::from_be_bytes(bytes[40..].try_into().ok()?),
        })
    }
}

/// The record under [`PENDING_GROUP`]: the group's first and last position and every key it
/// writes besides the chain head.
pub(crate) struct PendingGroup {
    pub first: u64,
    pub last: u64,
    pub keys: Vec<Vec<u8>>,
}

impl PendingGroup {
    /// The record of the group `first..=last` writing `keys` (its chain head left out).
    pub(crate) fn encode<'a>(
        first: u64,
        last: u64,
        keys: impl Iterator<Item = &'a [u8]>,
    ) -> Vec<u8> {
        let mut v = Vec::with_capacity(256);
        v.extend_from_slice(&first.to_be_bytes());
        v.extend_from_slice(&last.to_be_bytes());
        for key in keys {
            // A key is far shorter than 4 GiB (stream names and idempotency keys are bounded).
            v.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
            v.extend_from_slice(key);
        }
        v
    }

    /// `None` for bytes that are not a whole record.
    pub(crate) fn decode(bytes: &[u8]) -> Option<PendingGroup> {
        let first = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let last = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        let mut rest = bytes.get(16..)?;
        let mut keys = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            keys.push(rest.get(4..4usize.checked_add(len)?)?.to_vec());
            rest = rest.get(4 + len..)?;
        }
        Some(PendingGroup { first, last, keys })
    }
}
