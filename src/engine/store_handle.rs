//! The store (`crate::store`) as the engine's tasks use it: one connection
//! behind a mutex that only engine tasks take, each call on tokio's
//! blocking pool.

use std::sync::{Arc, Mutex};

use crate::store::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct StoreHandle {
    store: Arc<Mutex<Store>>,
}

impl StoreHandle {
    pub fn new(store: Store) -> StoreHandle {
        StoreHandle {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Run `f` with the store; errors come back as text with context.
    pub async fn call<R: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| format!("{what}: the store's worker failed: {e}"))?
        .map_err(|e| format!("{what}: {e}"))
    }

    /// The database file, for the booking import's own connections.
    pub fn database_path(&self) -> std::path::PathBuf {
        let guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        guard.dir().join(crate::store::DATABASE_FILE)
    }
}
