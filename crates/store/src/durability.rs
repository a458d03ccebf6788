//! Making sled's writes durable: after `Db::flush`, `fdatasync` the files sled wrote. Appends
//! are durable through the write-ahead file (`wal.rs`); this is for its checkpoints, for `meta`
//! writes and for opening.
//!
//! sled 0.34's flush ends with `sync_file_range`, which pushes pages to the device but neither
//! flushes the device's write cache nor persists file metadata, so it does not survive a power
//! loss (sled issue #1452). After every flush we therefore `fdatasync` the log file (`db`), every
//! blob file sled created since the last sync (sled writes blobs without syncing them), and the
//! directories whenever their entries changed (snapshots are renamed into place, blobs created).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A directory's mtime is trusted to reveal changes only once it is older than this: the file
/// system stamps mtimes from a coarse clock, so two changes within one tick look alike.
const MTIME_TRUST: Duration = Duration::from_secs(1);

/// A directory whose entries we track, to sync new files and the directory when they change.
struct Watched {
    path: PathBuf,
    entries: BTreeSet<OsString>,
    mtime: Option<SystemTime>,
    listed_at: SystemTime,
}

impl Watched {
    fn new(path: PathBuf) -> Watched {
        Watched {
            path,
            entries: BTreeSet::new(),
            mtime: None,
            listed_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// The entries added since the last call, if the directory changed at all.
    fn changes(&mut self) -> io::Result<Option<Vec<OsString>>> {
        let mtime = match std::fs::metadata(&self.path) {
            Ok(m) => Some(m.modified()?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        // Listing a directory costs far more than a stat; skip it while the mtime is unchanged
        // and was already old when we last listed.
        let trusted = mtime.is_some_and(|m| m + MTIME_TRUST < self.listed_at);
        if mtime.is_none() && self.entries.is_empty() || (mtime == self.mtime && trusted) {
            return Ok(None);
        }
        let listed_at = SystemTime::now();
        let entries = entries(&self.path)?;
        self.mtime = mtime;
        self.listed_at = listed_at;
        if entries == self.entries {
            return Ok(None);
        }
        let added = entries.difference(&self.entries).cloned().collect();
        self.entries = entries;
        Ok(Some(added))
    }
}

pub(crate) struct Durability {
    db_file: File,
    dir: Watched,
    blobs: Watched,
    /// Test seam, shared with the write-ahead file: the next `sync` of either fails as a full
    /// or read-only disk would (see `Store::fail_next_sync_for_test`).
    fail_next: Arc<AtomicBool>,
}

fn entries(dir: &Path) -> io::Result<BTreeSet<OsString>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.map(|e| e.file_name())).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir) {
        Ok(f) => f.sync_all(),
        // A directory that is gone has nothing to make durable.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn sync_file(path: &Path) -> io::Result<()> {
    // Only regular files hold data: opening a socket (the server's `dunlog.sock`) or a fifo
    // fails or blocks.
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    match File::open(path) {
        Ok(f) if f.metadata()?.is_file() => f.sync_all(),
        Ok(_) => Ok(()),
        // sled may have removed it meanwhile (an old snapshot, a collected blob).
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Durability {
    /// Syncs everything in the directory once (sled's `conf`, snapshots, blobs, the directory
    /// itself), then remembers what it saw.
    pub(crate) fn open(dir: &Path, fail_next: Arc<AtomicBool>) -> io::Result<Durability> {
        let mut d = Durability {
            db_file: File::open(dir.join("db"))?,
            dir: Watched::new(dir.to_owned()),
            blobs: Watched::new(dir.join("blobs")),
            fail_next,
        };
        for name in entries(dir)? {
            sync_file(&dir.join(name))?;
        }
        d.sync()?;
        Ok(d)
    }

    /// Call after `Db::flush`: returns once everything sled wrote is on stable storage.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(crate::wal::injected());
        }
        self.db_file.sync_data()?;
        if let Some(added) = self.blobs.changes()? {
            for name in added {
                sync_file(&self.blobs.path.join(name))?;
            }
            sync_dir(&self.blobs.path)?;
        }
        if self.dir.changes()?.is_some() {
            sync_dir(&self.dir.path)?;
        }
        Ok(())
    }

    /// Makes the next `sync` (or that of the write-ahead file) fail, once, as `fdatasync` does
    /// on a full or failing disk.
    pub(crate) fn fail_next_sync(&mut self) {
        self.fail_next.store(true, Ordering::SeqCst);
    }
}
