//! What the booking import needs of PAC and Astrow. The connectors implement
//! these (see `adapters.rs`); the engine's logic depends only on them.

use std::future::Future;
use std::time::Duration;

use crate::model::{Booking, BookingStatus, Event, Reader, Seq};

/// One answer of PAC's `/events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub items: Vec<Event>,
    /// The newest seq PAC holds.
    pub last_seq: Seq,
    /// The oldest seq PAC still keeps.
    pub oldest_seq: Seq,
    /// Events of this page that could not be read: `(seq, reason)`.
    pub unreadable: Vec<(Seq, String)>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// 410: PAC no longer keeps the events after our cursor.
    #[error(
        "PAC's event history no longer reaches back to our cursor; its oldest event is {oldest_seq}"
    )]
    Expired { oldest_seq: Seq },
    #[error("{message}")]
    Failed {
        message: String,
        retry_after: Option<Duration>,
    },
}

pub trait EventSource: Send + Sync + 'static {
    /// Events after `after`, at most `limit`, waiting up to `wait_s` seconds
    /// when there is nothing newer.
    fn events(
        &self,
        after: Seq,
        limit: u32,
        wait_s: u32,
    ) -> impl Future<Output = Result<EventPage, SourceError>> + Send;

    /// PAC's readers (to learn serials and directions).
    fn readers(&self) -> impl Future<Output = Result<Vec<Reader>, SourceError>> + Send;
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// The batch was refused as malformed because of one booking (400 with
    /// `field` = `bookings[i]...`): that booking is a poison one.
    #[error("Astrow refused booking {index} of the batch as malformed: {message}")]
    Malformed { index: usize, message: String },
    /// Anything else; `transient` says whether trying again may help.
    #[error("{message}")]
    Failed {
        message: String,
        transient: bool,
        retry_after: Option<Duration>,
    },
}

/// What became of one batch: Astrow's answer, and how many times the batch
/// went out to get it (the connector's own retries included).
#[derive(Debug, Clone)]
pub struct Sent {
    /// Tries in all; more than one after a lost reply or a refused try.
    pub tries: u32,
    pub answer: Result<Vec<BookingStatus>, SinkError>,
}

pub trait BookingSink: Send + Sync + 'static {
    /// Send a batch (at most 500); Astrow answers one status per booking, in order.
    fn send(&self, batch: Vec<Booking>) -> impl Future<Output = Sent> + Send;
}
