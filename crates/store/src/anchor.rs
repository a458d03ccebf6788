//! The anchor: the last durable position and its hash, kept in a small file beside sled's.
//!
//! sled recovers a damaged `db` file (truncated, overwritten) by replaying it up to the first bad
//! message, which leaves an earlier, perfectly consistent log: the chain verifies and nothing
//! says events are gone. The anchor lives outside sled's files, so opening checks that the log
//! still reaches it with the same hash. It is written when a store closes cleanly; after a crash
//! the previous one stays, which still guards everything up to it (the log only grows).

use std::io::{self, Write};
use std::path::Path;

use crate::chain;
use crate::error::StoreError;

pub(crate) const FILE: &str = "anchor";
const TEMP: &str = "anchor.tmp";

/// A position and the hash of the event there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub position: u64,
    pub hash: [u8; 32],
}

fn parse(text: &str) -> Option<Anchor> {
    let (position, hash) = text.trim_end().split_once(' ')?;
    let bytes: Vec<u8> = (0..hash.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hash.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    Some(Anchor {
        position: position.parse().ok()?,
        hash: bytes.try_into().ok()?,
    })
}

/// The anchor of `dir`, if one was written.
pub(crate) fn read(dir: &Path) -> Result<Option<Anchor>, StoreError> {
    let text = match std::fs::read_to_string(dir.join(FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse(&text).map(Some).ok_or_else(|| StoreError::Corrupt {
        position: 0,
        reason: format!("the anchor file {} is malformed", dir.join(FILE).display()),
    })
}

/// Replaces the anchor atomically and durably (temporary file, fdatasync, rename, directory
/// fsync).
pub(crate) fn write(dir: &Path, anchor: Anchor) -> io::Result<()> {
    let temp = dir.join(TEMP);
    let mut f = std::fs::File::create(&temp)?;
    writeln!(f, "{} {}", anchor.position, chain::to_hex(&anchor.hash))?;
    f.sync_data()?;
    std::fs::rename(&temp, dir.join(FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Checks that the log in `tree`, whose last position is `head`, still reaches `anchor` with
/// the same hash. When it does not, `first_bad` (a whole-log verification, run only then) names
/// the first bad position, which may lie before the anchor. A record at the anchor that does not
/// decode is left to `verify` to name.
pub(crate) fn check(
    tree: &sled::Tree,
    head: u64,
    anchor: Anchor,
    first_bad: impl FnOnce() -> Result<Option<u64>, StoreError>,
) -> Result<(), StoreError> {
    if head < anchor.position {
        return Err(StoreError::Corrupt {
            position: head + 1,
            reason: format!(
                "the log ends at position {head}, but position {} was stored before (the data \
                 file was truncated or damaged, or an older copy was put back); restore from a \
                 backup, or delete the file `{FILE}` to accept the shorter log",
                anchor.position
            ),
        });
    }
    if anchor.position == 0 {
        return Ok(());
    }
    let stored = match crate::block::event_at(tree, anchor.position) {
        Ok(event) => event.map(|e| e.hash),
        Err(StoreError::Corrupt { .. }) => None,
        Err(e) => return Err(e),
    };
    match stored {
        Some(hash) if hash != anchor.hash => Err(StoreError::Corrupt {
            position: first_bad()?.unwrap_or(anchor.position),
            reason: format!(
                "position {} has hash {}, but {} was stored before: the log was changed",
                anchor.position,
                chain::to_hex(&hash),
                chain::to_hex(&anchor.hash)
            ),
        }),
        // Same hash, or a record `verify` will name.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_anchor_reads_back_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let a = Anchor {
            position: 42,
            hash: [0xab; 32],
        };
        write(dir.path(), a).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(a));
        for bad in ["", "42", "42 abc", "x 00", "42 zz"] {
            std::fs::write(dir.path().join(FILE), bad).unwrap();
            assert!(read(dir.path()).is_err(), "{bad:?}");
        }
    }
}
