//! One engine per store: an exclusive lock on `astrow-pac.lock`, which
//! holds the PID of the process that has it.
//!
//! `File::try_lock` is `flock` on Unix and `LockFileEx` on Windows: the lock
//! belongs to the open file, so a second open fails even in one process, and
//! the operating system drops it when the process dies (no stale locks).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{LOCK_FILE, StoreError};

/// Beside the lock file: the holder's PID where the lock file cannot be read.
const PID_FILE: &str = "astrow-pac.pid";

pub(crate) fn acquire(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let io_error = |source| StoreError::LockFile {
        path: path.clone(),
        source,
    };
    // Never truncate on open: the holder's PID is in there. Owner-only.
    let (mut file, _) = super::private::open_private_file(&path).map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                holder: holder(&mut file, &dir.join(PID_FILE)),
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(io_error(source)),
    }
    file.set_len(0).map_err(io_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    writeln!(file, "{}", std::process::id()).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    // Windows refuses reads of a locked range: the PID is also kept beside
    // it. Best effort: the lock, not this file, is what guards the store.
    let _ = write_pid_file(&dir.join(PID_FILE));
    Ok(file)
}

/// The PID file, owner-only like every file of the store.
fn write_pid_file(path: &Path) -> std::io::Result<()> {
    let (mut file, _) = super::private::open_private_file(path)?;
    file.set_len(0)?;
    writeln!(file, "{}", std::process::id())
}

/// Who holds the lock in `dir` now (`None`: nobody, or no store there).
pub(crate) fn holder_of(dir: &Path) -> Option<String> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(std::fs::TryLockError::WouldBlock) => Some(holder(&mut file, &dir.join(PID_FILE))),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// The PID written by the holder, or words saying it is unknown.
fn holder(file: &mut File, pid_file: &Path) -> String {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    if read.is_err() || text.trim().is_empty() {
        text = std::fs::read_to_string(pid_file).unwrap_or_default();
    }
    match text.trim().parse::<u32>() {
        Ok(pid) => pid.to_string(),
        Err(_) => "(unknown PID)".to_string(),
    }
}
