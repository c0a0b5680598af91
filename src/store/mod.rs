//! The store: one SQLite file (WAL, synchronous FULL) in the store directory,
//! guarded by a lock file that holds the engine's PID. One engine per store.
//!
//! Arrows: the store knows `model` only. Plans reach it as opaque JSON with
//! the few columns it must query (ids, states, fingerprints).

pub mod astrow_ledger;
pub mod astrow_restore;
pub mod astrow_tally;
mod audit;
pub mod audit_page;
mod binding;
pub mod booking_waits;
pub mod db;
mod erasure;
mod item_batch;
mod jobs;
pub mod ledger;
pub mod ledger_export;
pub mod ledger_resend;
mod links;
mod lock;
mod migrations;
mod mirror;
pub mod os_user;
pub mod per_database;
mod plan_save;
mod plans;
pub mod private;
mod private_store;
pub mod retention;
pub mod seq_reset;
mod suppressions;
pub mod tally;
pub mod trace;

pub(crate) use audit::append_audit_in;
pub use audit::current_os_user;
pub use audit::{AuditEntry, AuditRecord};
pub use binding::{ABANDONED_REASON, BindingCheck, RebindPreview, Rebound, SiteIdentity};
pub use erasure::{Forgotten, StoreAuditEntry, audit_cutoff};
pub use item_batch::ItemResult;
pub use jobs::{JobRun, JobRunId};
pub use plan_save::PLAN_HISTORY;
pub use plans::{
    ItemFailure, ItemProgress, NewPlan, NewPlanItem, PlanState, SaveOutcome, SavedPlan, Selection,
    StoredItem, StoredPlan,
};
pub use suppressions::StoredSuppression;

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

/// The database file inside the store directory.
pub const DATABASE_FILE: &str = "astrow-pac.sqlite";
/// The lock file beside it; holds the PID of the engine that has the store.
pub const LOCK_FILE: &str = "astrow-pac.lock";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the store directory {dir}: {source}")]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the store file {path} owner-only: {source}")]
    PrivateFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot use the lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the store in {dir} is in use by process {holder}: one engine per store; stop that process or use another store directory"
    )]
    Locked { dir: PathBuf, holder: String },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} has schema version {found}, newer than this program's {known}: use a newer astrow-pac"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("store migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error("store: {context}: {source}")]
    Sql {
        context: &'static str,
        source: rusqlite::Error,
    },
    #[error("store: {what} holds {value:?}, which this program cannot read")]
    Corrupt { what: &'static str, value: String },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("store: {0}")]
    Ledger(String),
    #[error("{0}")]
    AmbiguousEmployee(#[from] crate::model::AmbiguousEmployee),
    #[error("store: no plan {0}")]
    UnknownPlan(String),
    #[error("store: plan {plan_id} has no item {item_id}")]
    UnknownItem { plan_id: String, item_id: String },
    #[error(
        "item {item_id} of plan {plan_id} is being applied: its state cannot change now; wait for the apply to end (or its resume) and change it then"
    )]
    ItemBeingApplied { plan_id: String, item_id: String },
}

/// Adds what was being done to a SQLite error.
pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { context, source })
    }
}

/// The open store. Dropping it releases the lock.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    /// `None` for a read-only look (`status`), which takes no lock.
    _lock: Option<File>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Create `dir` if needed, owner-only (0700, its files 0600: wider
    /// modes found are tightened with a warning), take the store's lock
    /// (refused, naming the holder's PID, when another process has it),
    /// open the database and bring its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let lock = private_store::prepare(dir)?;
        let path = dir.join(DATABASE_FILE);
        let mut conn = db::open_connection(&path)?;
        migrations::migrate(&mut conn, &path)?;
        private_store::after_open(dir);
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// Open an existing store only to read it, beside a running engine that
    /// may hold it (for `status`): no lock, no migration, no write.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let conn = db::open_read_only(&dir.join(DATABASE_FILE))?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            _lock: None,
        })
    }

    /// The PID of the engine that holds the store in `dir`, if one does.
    pub fn holder(dir: &Path) -> Option<String> {
        lock::holder_of(dir)
    }

    /// The connection, for the booking ledger's functions.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx("read the schema version")
    }
}

/// Times in the store: RFC 3339, UTC, milliseconds.
pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_time(what: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt {
            what,
            value: text.to_string(),
        })
}

pub(crate) fn parse_system(text: &str) -> Result<crate::model::System, StoreError> {
    match text {
        "pac" => Ok(crate::model::System::Pac),
        "astrow" => Ok(crate::model::System::Astrow),
        _ => Err(StoreError::Corrupt {
            what: "a system column",
            value: text.to_string(),
        }),
    }
}

/// Fingerprints are u64; SQLite integers are i64: stored as 16 hex digits.
pub(crate) fn fingerprint_text(f: u64) -> String {
    format!("{f:016x}")
}

pub(crate) fn parse_fingerprint(text: &str) -> Result<u64, StoreError> {
    u64::from_str_radix(text, 16).map_err(|_| StoreError::Corrupt {
        what: "a fingerprint",
        value: text.to_string(),
    })
}

#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod tests;

/// The SQL of the migrations up to `version`, to make an older store in tests.
#[cfg(test)]
pub(crate) fn test_migrations_up_to(version: u32) -> Vec<&'static str> {
    migrations::MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
        .map(|m| m.sql)
        .collect()
}
