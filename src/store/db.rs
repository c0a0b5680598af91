//! One SQLite connection used from async code: each call runs on tokio's
//! blocking pool so a slow fsync never stalls the runtime. Each task that
//! writes (booking reader, booking sender, ...) holds a `Db` of its own;
//! WAL lets them work side by side and SQLite serialises the writes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the store database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the store's worker thread failed: {0}")]
    Worker(String),
}

/// Open a connection with the store's pragmas: WAL, `synchronous=FULL`,
/// foreign keys on, and a busy timeout so concurrent writers wait rather than fail.
pub fn open_connection(path: &Path) -> Result<Connection, DbError> {
    let open_err = |source| DbError::Open {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(open_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(open_err)?;
    Ok(conn)
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
