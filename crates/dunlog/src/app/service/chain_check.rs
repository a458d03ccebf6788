//! The start-up chain check: only the log's tail since the last verified position is read, and
//! a log that does not verify makes the service refuse writes while reads go on.

use store::Store;

/// The `meta` key of the last position the start-up check verified, with its hash:
/// `position hex-hash`.
pub const VERIFY_CHECKPOINT_KEY: &str = "verify/checkpoint";

pub(super) fn parse_checkpoint(bytes: &[u8]) -> Option<(u64, [u8; 32])> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (position, hash) = text.trim().split_once(' ')?;
    Some((position.parse().ok()?, store::hex::from_hex_array(hash)?))
}

/// The start-up chain check: verifies the log from the last verified position (kept in `meta`
/// under [`VERIFY_CHECKPOINT_KEY`]) to the head, so only the tail is read, and on success moves the
/// checkpoint to the head. Returns why writes must be refused, if the log does not verify.
pub fn check_chain(store: &Store) -> anyhow::Result<Option<String>> {
    let checkpoint = store
        .meta_get(VERIFY_CHECKPOINT_KEY)?
        .and_then(|bytes| parse_checkpoint(&bytes));
    let verification = match checkpoint {
        Some((position, hash)) => store.verify_tail(position, hash)?,
        None => store.verify(0)?,
    };
    if !verification.ok {
        return Ok(Some(format!(
            "the log does not verify at position {}: {} (checked from position {})",
            verification.first_bad_position.unwrap_or(0),
            verification.message.unwrap_or_default(),
            checkpoint.map_or(1, |(p, _)| p + 1),
        )));
    }
    let head = store.head();
    if head > 0 && checkpoint.is_none_or(|(p, _)| p < head) {
        if let Some(last) = store.read_from(head - 1, 1)?.pop() {
            store.meta_put(
                VERIFY_CHECKPOINT_KEY,
                format!("{} {}", last.position, store::hex::to_hex(&last.hash)).as_bytes(),
            )?;
        }
    }
    Ok(None)
}
