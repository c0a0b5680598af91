//! The store directory made and kept owner-only around [`Store::open`]
//! (`super::Store::open`): the directory 0700, the database created 0600
//! before SQLite opens it (SQLite gives its WAL and SHM files the
//! database's mode), the lock and PID files 0600; wider modes found are
//! tightened and logged as warnings naming the old modes.

use std::fs::File;
use std::path::Path;

use super::private::{self, DirReport, Tightened};
use super::{DATABASE_FILE, StoreError, lock};

/// Files of the store are named `astrow-pac*`, and the engine's control
/// socket `control.*`; nothing else in the directory is touched (and only
/// regular files are tightened: the socket keeps its own mode).
pub(crate) fn is_store_file(name: &str) -> bool {
    name.starts_with("astrow-pac") || name.starts_with("control.")
}

/// Make `dir` private, take the lock, create the database file 0600.
pub(crate) fn prepare(dir: &Path) -> Result<File, StoreError> {
    let report =
        private::private_dir(dir, &is_store_file).map_err(|source| StoreError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
    warn_about(&report);
    let lock = lock::acquire(dir)?;
    let db = dir.join(DATABASE_FILE);
    match private::open_private_file(&db) {
        Ok((_, tightened)) => tightened.iter().for_each(warn_tightened),
        Err(source) => {
            return Err(StoreError::PrivateFile { path: db, source });
        }
    }
    Ok(lock)
}

/// After SQLite opened the database: its WAL and SHM files (made now if
/// they were missing) are checked too.
pub(crate) fn after_open(dir: &Path) {
    match private::private_files(dir, &is_store_file) {
        Ok(tightened) => tightened.iter().for_each(warn_tightened),
        Err(e) => tracing::warn!(
            "cannot check the modes of the files in the store {}: {e}",
            dir.display()
        ),
    }
}

fn warn_about(report: &DirReport) {
    report.tightened.iter().for_each(warn_tightened);
    if let Some((dir, mode)) = &report.shared {
        tracing::warn!(
            "the store directory {} has mode {mode:04o} and holds files that are not the store's: \
             left as it is (the store's own files are owner-only); give the store a directory of its own",
            dir.display()
        );
    }
    if let Some(problem) = &report.problem {
        tracing::warn!("store holds personal data: {problem}");
    }
}

fn warn_tightened(t: &Tightened) {
    tracing::warn!("store holds personal data: {t}");
}
