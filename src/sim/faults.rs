//! Fault injection shared by both simulators, set through `/_sim/faults`,
//! and the request counters served at `/_sim/requests`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

/// The faults in force. Rates are shares of requests, 0.0 to 1.0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    /// Share of requests answered 500, half before and half after the handler ran.
    pub error_rate: f64,
    /// Added to every request before it is handled.
    pub latency_ms: u64,
    /// Share of connections closed without an answer, half of them after the write committed.
    pub drop_rate: f64,
    /// Share of requests answered 429 with `Retry-After`.
    pub rate_limit: f64,
    /// The `Retry-After` seconds of those 429s.
    pub retry_after_s: u64,
    /// Share of answers whose body is cut short (after the handler ran).
    pub truncate_rate: f64,
    /// Astrow: every session token expires now (read once by the simulator).
    pub expire_tokens: bool,
    /// PAC: answers as real installations send them: absent optional fields
    /// as null or missing, one unreadable record per listing (see `sim::real_data`).
    #[serde(default)]
    pub real_data: bool,
}

/// A partial update of [`FaultSettings`], as `PUT /_sim/faults` takes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultUpdate {
    pub error_rate: Option<f64>,
    pub latency_ms: Option<u64>,
    pub drop_rate: Option<f64>,
    pub rate_limit: Option<f64>,
    pub retry_after_s: Option<u64>,
    pub truncate_rate: Option<f64>,
    pub expire_tokens: Option<bool>,
    pub real_data: Option<bool>,
}

/// Counters of what the simulator answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    pub total: u64,
    /// By HTTP status, as a string key (`"200"`, `"429"`).
    pub by_status: BTreeMap<String, u64>,
    /// By `METHOD /path` (paths as requested, without the query).
    pub by_route: BTreeMap<String, u64>,
    /// Faults injected, by kind (`error_before`, `error_after`, `drop_before`, ...).
    pub faults: BTreeMap<String, u64>,
}

/// One simulator's fault settings and counters. Cheap to share (`Arc`).
#[derive(Debug, Default)]
pub struct Faults {
    settings: Mutex<FaultSettings>,
    expire_tokens: AtomicBool,
    stats: Mutex<RequestStats>,
}

/// What the server must do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injection {
    None,
    RateLimit { retry_after_s: u64 },
    ErrorBefore,
    ErrorAfter,
    DropBefore,
    DropAfter,
    Truncate,
}

impl Injection {
    pub fn name(self) -> &'static str {
        match self {
            Injection::None => "none",
            Injection::RateLimit { .. } => "rate_limit",
            Injection::ErrorBefore => "error_before",
            Injection::ErrorAfter => "error_after",
            Injection::DropBefore => "drop_before",
            Injection::DropAfter => "drop_after",
            Injection::Truncate => "truncate",
        }
    }
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn settings(&self) -> FaultSettings {
        let mut s = lock(&self.settings).clone();
        s.expire_tokens = self.expire_tokens.load(Ordering::SeqCst);
        s
    }

    /// Apply a partial update; refuses rates outside 0..=1 naming the field.
    pub fn update(&self, u: FaultUpdate) -> Result<FaultSettings, String> {
        for (name, v) in [
            ("error_rate", u.error_rate),
            ("drop_rate", u.drop_rate),
            ("rate_limit", u.rate_limit),
            ("truncate_rate", u.truncate_rate),
        ] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(format!("{name} must be between 0.0 and 1.0, not {v}"));
            }
        }
        {
            let mut s = lock(&self.settings);
            if let Some(v) = u.error_rate {
                s.error_rate = v;
            }
            if let Some(v) = u.latency_ms {
                s.latency_ms = v.min(120_000);
            }
            if let Some(v) = u.drop_rate {
                s.drop_rate = v;
            }
            if let Some(v) = u.rate_limit {
                s.rate_limit = v;
            }
            if let Some(v) = u.retry_after_s {
                s.retry_after_s = v.min(3600);
            }
            if let Some(v) = u.truncate_rate {
                s.truncate_rate = v;
            }
            if let Some(v) = u.real_data {
                s.real_data = v;
            }
        }
        if let Some(v) = u.expire_tokens {
            self.expire_tokens.store(v, Ordering::SeqCst);
        }
        Ok(self.settings())
    }

    /// Clear every fault.
    pub fn clear(&self) {
        *lock(&self.settings) = FaultSettings::default();
        self.expire_tokens.store(false, Ordering::SeqCst);
    }

    /// True once after `expire_tokens` was set: the Astrow simulator then
    /// forgets every session token.
    pub fn take_expire_tokens(&self) -> bool {
        self.expire_tokens.swap(false, Ordering::SeqCst)
    }

    /// Draw the injection for one request.
    pub fn draw(&self) -> (Injection, u64) {
        let s = lock(&self.settings).clone();
        (choose(&s, &mut rand::rng()), s.latency_ms)
    }

    pub fn record(&self, route: &str, status: Option<u16>, injection: Injection) {
        let mut st = lock(&self.stats);
        st.total += 1;
        let key = status.map_or_else(|| "dropped".to_string(), |s| s.to_string());
        *st.by_status.entry(key).or_default() += 1;
        *st.by_route.entry(route.to_string()).or_default() += 1;
        if injection != Injection::None {
            *st.faults.entry(injection.name().to_string()).or_default() += 1;
        }
    }

    pub fn stats(&self) -> RequestStats {
        lock(&self.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.stats) = RequestStats::default();
    }
}

/// Pure choice of an injection from the settings and a random source.
pub fn choose(s: &FaultSettings, rng: &mut impl rand::Rng) -> Injection {
    if s.rate_limit > 0.0 && rng.random::<f64>() < s.rate_limit {
        return Injection::RateLimit {
            retry_after_s: s.retry_after_s,
        };
    }
    if s.error_rate > 0.0 && rng.random::<f64>() < s.error_rate {
        return if rng.random::<bool>() {
            Injection::ErrorBefore
        } else {
            Injection::ErrorAfter
        };
    }
    if s.drop_rate > 0.0 && rng.random::<f64>() < s.drop_rate {
        return if rng.random::<bool>() {
            Injection::DropBefore
        } else {
            Injection::DropAfter
        };
    }
    if s.truncate_rate > 0.0 && rng.random::<f64>() < s.truncate_rate {
        return Injection::Truncate;
    }
    Injection::None
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these plain-data locks leaves consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_fault_settings_never_inject() {
        let s = FaultSettings::default();
        let mut rng = rand::rng();
        for _ in 0..1000 {
            assert_eq!(choose(&s, &mut rng), Injection::None);
        }
    }

    #[test]
    fn certain_faults_always_inject() {
        let mut rng = rand::rng();
        let s = FaultSettings {
            rate_limit: 1.0,
            retry_after_s: 2,
            ..Default::default()
        };
        assert_eq!(
            choose(&s, &mut rng),
            Injection::RateLimit { retry_after_s: 2 }
        );
        let s = FaultSettings {
            truncate_rate: 1.0,
            ..Default::default()
        };
        assert_eq!(choose(&s, &mut rng), Injection::Truncate);
        let s = FaultSettings {
            drop_rate: 1.0,
            ..Default::default()
        };
        let seen: std::collections::HashSet<_> = (0..200).map(|_| choose(&s, &mut rng)).collect();
        assert!(seen.contains(&Injection::DropBefore) && seen.contains(&Injection::DropAfter));
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        let f = Faults::new();
        let e = f
            .update(FaultUpdate {
                error_rate: Some(1.5),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e.contains("error_rate"));
    }

    #[test]
    fn expire_tokens_is_taken_once() {
        let f = Faults::new();
        f.update(FaultUpdate {
            expire_tokens: Some(true),
            ..Default::default()
        })
        .unwrap();
        assert!(f.take_expire_tokens());
        assert!(!f.take_expire_tokens());
    }
}
