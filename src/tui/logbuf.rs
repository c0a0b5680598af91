//! The engine's tracing output for the Log pane: a `tracing` layer writes each
//! event into a bounded ring; the console copies what is new. The ring's lock
//! is held only to push one line or to copy the new ones, never across an
//! await or a draw, and nothing of the engine's state sits behind it.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::safe_text::SafeText;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }

    fn from_tracing(l: &tracing::Level) -> LogLevel {
        match *l {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::TRACE => LogLevel::Trace,
        }
    }

    /// The next, more verbose level, wrapping to `Error`.
    pub fn next(self) -> LogLevel {
        let i = LogLevel::ALL.iter().position(|l| *l == self).unwrap_or(0);
        LogLevel::ALL[(i + 1) % LogLevel::ALL.len()]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub level: LogLevel,
    /// Log text holds outside text (a server's answer): cleaned when captured.
    pub target: SafeText,
    pub message: SafeText,
}

#[derive(Debug)]
struct Shared {
    ring: Mutex<VecDeque<LogLine>>,
    /// Sequence number of the newest line (0: none yet).
    last: AtomicU64,
    notify: Notify,
    capacity: usize,
}

/// A cloneable handle: give `layer()` to the subscriber, the handle to the console.
#[derive(Debug, Clone)]
pub struct LogBuffer {
    shared: Arc<Shared>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(5000)
    }
}

impl LogBuffer {
    pub fn new(capacity: usize) -> LogBuffer {
        LogBuffer {
            shared: Arc::new(Shared {
                ring: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
                last: AtomicU64::new(0),
                notify: Notify::new(),
                capacity: capacity.max(1),
            }),
        }
    }

    /// The tracing layer that feeds this buffer.
    pub fn layer<S: Subscriber>(&self) -> impl Layer<S> + use<S> {
        BufferLayer {
            shared: self.shared.clone(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Add a line (the layer does this; the console adds its own notices).
    pub fn push(&self, level: LogLevel, target: &str, message: String) {
        let shared = &self.shared;
        let Ok(mut ring) = shared.ring.lock() else {
            return;
        };
        let seq = shared.last.load(Ordering::Relaxed) + 1;
        if ring.len() >= shared.capacity {
            ring.pop_front();
        }
        ring.push_back(LogLine {
            seq,
            time: Utc::now(),
            level,
            target: SafeText::new(target),
            message: SafeText::from(message),
        });
        shared.last.store(seq, Ordering::Release);
        drop(ring);
        shared.notify.notify_one();
    }

    /// Lines newer than `after` (at most the capacity), oldest first.
    pub fn since(&self, after: u64) -> Vec<LogLine> {
        if self.shared.last.load(Ordering::Acquire) <= after {
            return Vec::new();
        }
        let Ok(ring) = self.shared.ring.lock() else {
            return Vec::new();
        };
        let skip = ring.partition_point(|l| l.seq <= after);
        ring.iter().skip(skip).cloned().collect()
    }

    /// Resolves when a line was pushed since the last call.
    pub async fn changed(&self) {
        self.shared.notify.notified().await
    }
}

struct BufferLayer {
    shared: Arc<Shared>,
}

impl<S: Subscriber> Layer<S> for BufferLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        let handle = LogBuffer {
            shared: self.shared.clone(),
        };
        handle.push(
            LogLevel::from_tracing(meta.level()),
            meta.target(),
            v.finish(),
        );
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_string()
        } else {
            format!("{}{}", self.message, self.fields)
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn layer_feeds_a_bounded_buffer() {
        let buf = LogBuffer::new(3);
        let subscriber = tracing_subscriber::registry().with(buf.layer());
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                tracing::warn!(item = i, "apply item");
            }
            tracing::info!("done");
        });
        let lines = buf.since(0);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].message, "apply item item=3");
        assert_eq!(lines[2].message, "done");
        assert_eq!(lines[2].level, LogLevel::Info);
        assert!(buf.since(lines[2].seq).is_empty());
        assert_eq!(buf.since(lines[1].seq).len(), 1);
    }
}
