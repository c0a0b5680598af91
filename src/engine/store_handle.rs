//! The store (`crate::store`) as the engine's tasks use it: one connection
//! behind a mutex that only engine tasks take, each call on tokio's
//! blocking pool. `close` drops the store (and its lock) for good, after
//! the call in flight: a call cut short by a cancel still runs on the
//! blocking pool, so the store is free only once `close` returns.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::store::{Store, StoreError};

#[derive(Clone, Debug)]
pub struct StoreHandle {
    store: Arc<Mutex<Option<Store>>>,
    dir: PathBuf,
}

impl StoreHandle {
    pub fn new(store: Store) -> StoreHandle {
        StoreHandle {
            dir: store.dir().to_path_buf(),
            store: Arc::new(Mutex::new(Some(store))),
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
            match guard.as_mut() {
                Some(s) => f(s).map_err(|e| format!("{what}: {e}")),
                None => Err(format!("{what}: the store is closed (the engine stopped)")),
            }
        })
        .await
        .map_err(|e| format!("{what}: the store's worker failed: {e}"))?
    }

    /// Close the store: waits for the call in flight, then drops the store
    /// and releases its lock. Every later call fails, saying so.
    pub async fn close(&self) {
        let store = self.store.clone();
        let closed = tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            drop(guard.take());
        })
        .await;
        if let Err(e) = closed {
            tracing::error!(error = %e, "the store was not closed");
        }
    }

    /// The database file, for the booking import's own connections.
    pub fn database_path(&self) -> PathBuf {
        self.dir.join(crate::store::DATABASE_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A call cut short (its future dropped, as a job cancelled on stop)
    /// still holds the store on the blocking pool: after `close` the
    /// store's lock is free all the same.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn close_waits_for_a_call_cut_short_and_frees_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let handle = StoreHandle::new(Store::open(dir.path()).unwrap());
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let slow = handle.clone();
        let call = tokio::spawn(async move {
            slow.call("a slow call", move |_s| {
                let _ = entered_tx.send(());
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
        });
        tokio::task::spawn_blocking(move || entered_rx.recv())
            .await
            .unwrap()
            .unwrap();
        call.abort();
        drop(handle.clone());
        handle.close().await;
        Store::open(dir.path()).expect("the store is free once closed");
        let after = handle.call("a late call", |_s| Ok(())).await;
        assert!(
            after.as_ref().is_err_and(|e| e.contains("closed")),
            "{after:?}"
        );
    }
}
