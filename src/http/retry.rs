//! The one retry module: exponential backoff with full jitter, honouring
//! the server's `Retry-After`. [`retry`] repeats one request (both
//! connectors); [`Backoff`] paces a loop that keeps talking to PAC or Astrow
//! (the event reader, the booking sender, the notification watcher), so that
//! every such loop waits longer after each failure in a row.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::HttpError;

/// How often and how patiently a request is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = no retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// One try only: for writes that carry neither `If-Match` nor an idempotency key.
    pub fn once() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// The upper bound of the wait after failed try number `attempt` (1-based):
/// `min(max_delay, base_delay * 2^(attempt-1))`.
pub fn backoff_ceiling(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    policy
        .base_delay
        .saturating_mul(1u32 << exp)
        .min(policy.max_delay)
}

/// The wait after failed try `attempt`: full jitter (uniform in
/// `0..=ceiling`), but never shorter than the server's `Retry-After`.
pub fn backoff_delay(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let ceiling = backoff_ceiling(policy, attempt);
    let millis = ceiling.as_millis().min(u64::MAX as u128) as u64;
    let jittered = Duration::from_millis(rand::rng().random_range(0..=millis));
    match retry_after {
        Some(ra) => jittered.max(ra),
        None => jittered,
    }
}

/// An error that may be worth trying again.
pub trait Retryable: std::fmt::Display {
    fn is_transient(&self) -> bool;
    /// The server's `Retry-After`, if it sent one.
    fn retry_after(&self) -> Option<Duration>;
}

impl Retryable for HttpError {
    fn is_transient(&self) -> bool {
        HttpError::is_transient(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        HttpError::retry_after(self)
    }
}

/// Run `op` (given the 1-based try number) until it succeeds, fails for good,
/// or the tries run out. Only transient errors are tried again. The caller
/// decides whether the request may be repeated at all (see [`RetryPolicy::once`]).
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, E>
where
    E: Retryable,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < policy.max_attempts => {
                let wait = backoff_delay(policy, attempt, e.retry_after());
                tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Paces a loop that keeps talking to PAC or Astrow: after each failure in
/// a row it waits longer (full jitter, capped, never less than Retry-After);
/// a success starts over.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
}

impl Backoff {
    pub const fn new(base_delay: Duration, max_delay: Duration) -> Self {
        Backoff {
            policy: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay,
                max_delay,
            },
            failures: 0,
        }
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Count a failure; the wait before trying again.
    pub fn failed(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        backoff_delay(&self.policy, self.failures, retry_after)
    }

    /// Count a failure and wait; `false` when cancelled meanwhile.
    pub async fn wait_after_failure(
        &mut self,
        retry_after: Option<Duration>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> bool {
        let wait = self.failed(retry_after);
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_loop_waits_longer_after_each_failure_and_starts_over_after_a_success() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for n in 1..=6 {
            let wait = b.failed(None);
            assert!(wait <= backoff_ceiling(&b.policy, n));
            assert_eq!(b.failures(), n);
        }
        assert!(b.failed(Some(Duration::from_secs(5))) >= Duration::from_secs(5));
        b.succeeded();
        assert_eq!(b.failures(), 0);
        assert!(b.failed(None) <= Duration::from_millis(100));
    }

    fn transient() -> HttpError {
        HttpError::Status {
            endpoint: "GET /x".into(),
            status: 503,
            api: None,
            retry_after: None,
        }
    }

    #[test]
    fn ceiling_doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(backoff_ceiling(&p, 1), Duration::from_millis(100));
        assert_eq!(backoff_ceiling(&p, 2), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(&p, 4), Duration::from_millis(800));
        assert_eq!(backoff_ceiling(&p, 5), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(&p, 60), Duration::from_secs(1));
    }

    #[test]
    fn delay_is_within_the_ceiling_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for attempt in 1..8 {
            assert!(backoff_delay(&p, attempt, None) <= backoff_ceiling(&p, attempt));
        }
        let ra = Duration::from_secs(3);
        assert!(backoff_delay(&p, 1, Some(ra)) >= ra);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let out = retry(&RetryPolicy::default(), |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(transient()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(out.unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_and_never_retries_permanent_errors() {
        let calls = AtomicU32::new(0);
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let out: Result<(), _> = retry(&p, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(transient()) }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let out: Result<(), _> = retry(&p, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err(HttpError::Status {
                    endpoint: "PUT /x".into(),
                    status: 412,
                    api: None,
                    retry_after: None,
                })
            }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_for() {
        let start = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let _ = retry(&RetryPolicy::default(), |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(HttpError::Status {
                        endpoint: "POST /bookings/batch".into(),
                        status: 429,
                        api: None,
                        retry_after: Some(Duration::from_secs(2)),
                    })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
