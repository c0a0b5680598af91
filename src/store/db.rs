//! One SQLite connection used from async code: each call runs on tokio's
//! blocking pool so a slow fsync never stalls the runtime. Each task that
//! writes (booking reader, booking sender, ...) holds a `Db` of its own;
//! WAL lets them work side by side and SQLite serialises the writes.
//! [`open_connection`] is the one opener of the database.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits for another connection's write before
/// giving up with "database is locked". One value for every connection.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the store database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the store database {path} stays in journal mode {mode}: WAL is needed (is the directory on a network share? use a local directory)"
    )]
    NotWal { path: String, mode: String },
    #[error("the store's worker thread failed: {0}")]
    Worker(String),
}

/// Open the store's database to read and write, with the store's pragmas:
/// WAL (checked), `synchronous=FULL`, foreign keys on, and [`BUSY_TIMEOUT`]
/// so concurrent writers wait rather than fail. The one way every part of
/// the program (store, engine, booking import, tests) opens it.
pub fn open_connection(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path).map_err(|source| open_error(path, source))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|source| open_error(path, source))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|source| open_error(path, source))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError::NotWal {
            path: path.display().to_string(),
            mode,
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(|source| open_error(path, source))?;
    Ok(conn)
}

/// Open an existing database only to read it, beside an engine that may
/// be writing (`status`): nothing is created or changed; same busy timeout.
pub fn open_read_only(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| open_error(path, source))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|source| open_error(path, source))?;
    Ok(conn)
}

fn open_error(path: &Path, source: rusqlite::Error) -> DbError {
    DbError::Open {
        path: path.display().to_string(),
        source,
    }
}

/// A connection shared by one task's calls, run off the async threads.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn new(conn: Connection) -> Db {
        Db {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    pub fn open(path: &Path) -> Result<Db, DbError> {
        Ok(Db::new(open_connection(path)?))
    }

    /// Run `f` with the connection on the blocking pool.
    pub async fn call<R, E>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| E::from(DbError::Worker(e.to_string())))?
    }
}
