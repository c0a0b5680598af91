//! The connectors as the booking import's ports.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::ports::{BookingSink, EventPage, EventSource, Sent, SinkError, SourceError};
use crate::astrow::{AstrowClient, AstrowError};
use crate::model::{Booking, Reader, Seq};
use crate::pac::{PacClient, PacError};

impl EventSource for PacClient {
    async fn events(&self, after: Seq, limit: u32, wait_s: u32) -> Result<EventPage, SourceError> {
        match PacClient::events(self, after, limit, Duration::from_secs(wait_s.into())).await {
            Ok(b) => {
                // An unreadable event without a readable seq cannot be
                // passed safely: the page fails (and is read again later).
                if let Some(s) = b.set_aside.iter().find(|s| s.id.is_none()) {
                    return Err(SourceError::Failed {
                        message: format!("PAC events: {s}"),
                        retry_after: None,
                    });
                }
                Ok(EventPage {
                    items: b.events,
                    last_seq: b.last_seq,
                    oldest_seq: b.oldest_seq,
                    unreadable: b
                        .set_aside
                        .into_iter()
                        .filter_map(|s| Some((Seq(s.id?), s.reason)))
                        .collect(),
                })
            }
            Err(PacError::EventsExpired { oldest_seq, .. }) => {
                Err(SourceError::Expired { oldest_seq })
            }
            Err(e) => Err(SourceError::Failed {
                retry_after: e.retry_after(),
                message: e.to_string(),
            }),
        }
    }

    async fn readers(&self) -> Result<Vec<Reader>, SourceError> {
        PacClient::readers(self)
            .await
            .map_err(|e| SourceError::Failed {
                retry_after: e.retry_after(),
                message: e.to_string(),
            })
    }
}

impl BookingSink for AstrowClient {
    async fn send(&self, batch: Vec<Booking>) -> Sent {
        let tries = AtomicU32::new(0);
        let answer = self
            .send_bookings_counting(&batch, &tries)
            .await
            .map_err(sink_error);
        Sent {
            tries: tries.load(Ordering::Relaxed),
            answer,
        }
    }
}

/// A 400 naming `bookings[i]...` is one poison booking; the rest is a failure
/// of the whole batch, transient or not.
fn sink_error(e: AstrowError) -> SinkError {
    let http = e.http();
    if let Some(h) = http
        && h.status() == Some(400)
        && let Some(index) = h
            .api()
            .and_then(|a| a.field.as_deref())
            .and_then(poison_index)
    {
        return SinkError::Malformed {
            index,
            message: e.to_string(),
        };
    }
    SinkError::Failed {
        transient: e.is_transient(),
        retry_after: http.and_then(|h| h.retry_after()),
        message: e.to_string(),
    }
}

/// `bookings[3].time` -> 3.
pub fn poison_index(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("bookings[")?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::poison_index;

    #[test]
    fn the_poison_booking_is_found_from_the_field() {
        assert_eq!(poison_index("bookings[3].time"), Some(3));
        assert_eq!(poison_index("bookings[12]"), Some(12));
        assert_eq!(poison_index("bookings"), None);
        assert_eq!(poison_index("employees[1]"), None);
    }
}
