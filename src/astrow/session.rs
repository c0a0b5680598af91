//! The session token: obtained on first use, renewed once when Astrow answers
//! 401 `token_expired`. Concurrent callers that meet the same expired token
//! share one re-login: the lock is held across the login, and a caller whose
//! token generation is already stale takes the newer token instead.

use std::future::Future;

use tokio::sync::Mutex;

use crate::http::HttpError;

/// A token and its generation (how many logins preceded it).
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub generation: u64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<hidden>")
            .field("generation", &self.generation)
            .finish()
    }
}

#[derive(Debug, Default)]
pub struct Session {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    token: Option<Token>,
    logins: u64,
}

impl Session {
    /// The current token, logging in when there is none.
    pub async fn token<F, Fut>(&self, login: F) -> Result<Token, HttpError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, HttpError>>,
    {
        let mut s = self.state.lock().await;
        if let Some(t) = &s.token {
            return Ok(t.clone());
        }
        s.fresh(login).await
    }

    /// A token newer than `stale`: another caller's renewal when it already
    /// happened, else a new login.
    pub async fn renew<F, Fut>(&self, stale: &Token, login: F) -> Result<Token, HttpError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, HttpError>>,
    {
        let mut s = self.state.lock().await;
        if let Some(t) = &s.token
            && t.generation != stale.generation
        {
            return Ok(t.clone());
        }
        s.token = None;
        s.fresh(login).await
    }

    /// How many logins this session has made.
    pub async fn logins(&self) -> u64 {
        self.state.lock().await.logins
    }
}

impl State {
    async fn fresh<F, Fut>(&mut self, login: F) -> Result<Token, HttpError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, HttpError>>,
    {
        let value = login().await?;
        self.logins += 1;
        let t = Token {
            value,
            generation: self.logins,
        };
        self.token = Some(t.clone());
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn concurrent_renewals_share_one_login() {
        let session = Arc::new(Session::default());
        let calls = Arc::new(AtomicU32::new(0));
        let login = |calls: Arc<AtomicU32>| async move {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(format!("t{n}"))
        };
        let first = session.token(|| login(calls.clone())).await.expect("login");
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (s, c, stale) = (session.clone(), calls.clone(), first.clone());
            tasks.push(tokio::spawn(async move {
                s.renew(&stale, || login(c)).await.map(|t| t.value)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task").expect("renew"), "t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(session.logins().await, 2);
    }
}
