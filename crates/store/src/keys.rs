//! The key layout of the `log` tree. Everything an append writes lives in this one tree, so one
//! `sled::Batch` makes an append (and a whole group commit) atomic.
//!
//! | key                                   | value                                        |
//! |---------------------------------------|----------------------------------------------|
//! | `e/` position (u64 BE)                | envelope (codec)                             |
//! | `s/` stream `/` version (u64 BE)      | position (u64 BE)                            |
//! | `i/` idempotency key                  | fingerprint, first position, count (codec)   |
//! | `c`                                   | chain head: position BE ‖ hash ‖ recorded_at µs BE |
//! | `f`                                   | format version (u32 BE)                      |
//!
//! A stream's version is its last `s/` entry; it has no record of its own, so a one-event append
//! writes two keys (plus the chain head once per group).

pub(crate) const EVENT_PREFIX: &[u8] = b"e/";
pub(crate) const STREAM_INDEX_PREFIX: &[u8] = b"s/";
pub(crate) const IDEMPOTENCY_PREFIX: &[u8] = b"i/";
pub(crate) const CHAIN_HEAD: &[u8] = b"c";
pub(crate) const FORMAT: &[u8] = b"f";

pub(crate) fn event(position: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..2].copy_from_slice(EVENT_PREFIX);
    k[2..].copy_from_slice(&position.to_be_bytes());
    k
}

pub(crate) fn event_position(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(EVENT_PREFIX)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

pub(crate) fn stream_index_prefix(stream: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + stream.len() + 8);
    k.extend_from_slice(STREAM_INDEX_PREFIX);
    k.extend_from_slice(stream.as_bytes());
    k.push(b'/');
    k
}

pub(crate) fn stream_index(stream: &str, version: u64) -> Vec<u8> {
    let mut k = stream_index_prefix(stream);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Splits an `s/` key into stream and version.
pub(crate) fn parse_stream_index(key: &[u8]) -> Option<(&str, u64)> {
    let rest = key.strip_prefix(STREAM_INDEX_PREFIX)?;
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
