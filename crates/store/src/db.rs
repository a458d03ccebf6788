//! Opening the sled database of a data directory and checking its on-disk format: what both
//! the `Store` and an import into a fresh directory need before either writes anything. Knows
//! nothing of appends, readers or the write-ahead file.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::keys;

/// The on-disk format this build writes: 5, several events per sled value (see `keys.rs` and
/// docs/decisions/0007) made durable through the write-ahead file (`wal.rs`, decision 0040) and
/// written into sled key by key after the list of its keys (`keys::PENDING_GROUP`), so that
/// sled may hold part of a group past its chain head after a crash until the next open cuts it;
/// payloads appended from format 5 on are in the binary schemas (`codec`, decision 0048).
/// Format 1 is upgraded on open (`migrate.rs`), formats 2 to 4 by just recording 5 (their sled
/// holds only whole groups, their payloads only serde forms, which still decode); newer formats
/// are refused with a clear error, and so builds that know nothing of the write-ahead file, of
/// cut groups or of binary payloads refuse a directory that needs them, at open, rather than
/// failing on the first binary payload they read.
pub const FORMAT_VERSION: u32 = 5;

/// sled's page cache size, in bytes.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Events moved per atomic batch when upgrading format 1.
const MIGRATION_CHUNK_EVENTS: usize = 4_096;

/// Checks the format of the log tree: a new tree gets today's, an older one is upgraded in
/// place, a newer one is refused.
pub(crate) fn check_format(tree: &sled::Tree) -> Result<(), StoreError> {
    match tree.get(keys::FORMAT)? {
        None if tree.is_empty() => {
            tree.insert(keys::FORMAT, &FORMAT_VERSION.to_be_bytes()[..])?;
            Ok(())
        }
        None => Err(StoreError::Invalid(
            "the data directory holds records but no format version; it was not written by dunlog"
                .to_owned(),
        )),
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(&bytes[..])
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    position: 0,
                    reason: "malformed format version".to_owned(),
                })?;
            if found > FORMAT_VERSION {
                return Err(StoreError::Invalid(format!(
                    "the data directory has format {found}, newer than this dunlog understands \
                     ({FORMAT_VERSION}); upgrade dunlog"
                )));
            }
            if found == 1 {
                crate::migrate::upgrade(tree, found, MIGRATION_CHUNK_EVENTS, None)?;
            }
            if found < FORMAT_VERSION {
                // Format 2 differs only by having no write-ahead file, 3 by writing whole groups
                // as sled batches, 4 by holding no binary payloads; flushed by the caller.
                tree.insert(keys::FORMAT, &FORMAT_VERSION.to_be_bytes()[..])?;
            }
            Ok(())
        }
    }
}

/// How long opening waits for sled's file lock. Within one process, sled's background I/O can
/// hold the lock for a moment after the previous handle was dropped; another process holding
/// it gets a clear error after this wait.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens sled in `dir` with the store's settings.
pub(crate) fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(dir)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            // We flush (and fdatasync) at every commit; a background flusher would add nothing.
            .flush_every_ms(None)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(e) if e.to_string().contains("could not acquire lock") => {
                if Instant::now() >= deadline {
                    return Err(StoreError::Io(format!(
                        "the data directory {} is in use by another process ({e})",
                        dir.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                return Err(StoreError::Io(format!(
                    "cannot open the data directory {}: {e}",
                    dir.display()
                )))
            }
        }
    }
}
