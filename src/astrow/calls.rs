//! Everything but employees: licences, codes, the PAC mirror, bookings,
//! notifications, heartbeat.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use reqwest::Method;

use super::client::{AstrowClient, Call, MAX_PAGE_BYTES, MAX_RECORD_BYTES};
use super::employees::check_ascending;
use super::error::AstrowError;
use super::wire::{
    self, AccessGroup, AccessGroupIn, BatchResults, BookingBatch, CodeName, Heartbeat,
    HeartbeatStatus, Items, ItemsIn, Licenses, Notifications, Reader, ReaderIn, StoredBooking,
    StoredStatus,
};
use crate::http;
use crate::model::{self, PersNo};

/// A booking as Astrow keeps it (`GET /bookings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstrowBooking {
    pub booking: model::Booking,
    /// `Processed` or `Queued`, with the booking id.
    pub status: model::BookingStatus,
    /// The employee the badge belonged to; `None` when queued.
    pub pers_no: Option<PersNo>,
}

impl AstrowClient {
    /// `GET /licenses`.
    pub async fn licences(&self) -> Result<Licenses, AstrowError> {
        self.fetch(Call::get("/licenses"), MAX_RECORD_BYTES).await
    }

    /// `GET /cycles`.
    pub async fn cycles(&self) -> Result<Vec<model::CodeName>, AstrowError> {
        let items: Items<CodeName> = self.fetch(Call::get("/cycles"), MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /paygroups`.
    pub async fn paygroups(&self) -> Result<Vec<model::CodeName>, AstrowError> {
        let items: Items<CodeName> = self.fetch(Call::get("/paygroups"), MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /pac/access-groups`: Astrow's mirror of PAC's groups.
    pub async fn access_groups(&self) -> Result<Vec<model::AccessGroup>, AstrowError> {
        let items: Items<AccessGroup> = self
            .fetch(Call::get("/pac/access-groups"), MAX_PAGE_BYTES)
            .await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `PUT /pac/access-groups`: replace the mirror.
    pub async fn put_access_groups(
        &self,
        groups: &[model::AccessGroup],
    ) -> Result<Vec<model::AccessGroup>, AstrowError> {
        let body = ItemsIn {
            items: groups.iter().map(AccessGroupIn::from).collect::<Vec<_>>(),
        };
        let call = Call::new(Method::PUT, "/pac/access-groups");
        let call = call.json(&body)?;
        let items: Items<AccessGroup> = self.fetch(call, MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `GET /pac/readers`: Astrow's mirror of PAC's readers.
    pub async fn readers(&self) -> Result<Vec<model::Reader>, AstrowError> {
        let items: Items<Reader> = self
            .fetch(Call::get("/pac/readers"), MAX_PAGE_BYTES)
            .await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `PUT /pac/readers`: replace the mirror.
    pub async fn put_readers(
        &self,
        readers: &[model::Reader],
    ) -> Result<Vec<model::Reader>, AstrowError> {
        let body = ItemsIn {
            items: readers.iter().map(ReaderIn::from).collect::<Vec<_>>(),
        };
        let call = Call::new(Method::PUT, "/pac/readers");
        let call = call.json(&body)?;
        let items: Items<Reader> = self.fetch(call, MAX_PAGE_BYTES).await?;
        Ok(items.items.into_iter().map(Into::into).collect())
    }

    /// `POST /bookings/batch` (at most 500): one status per booking, in order.
    /// Safe to repeat: Astrow answers `duplicate` for a `source_id` it stored.
    pub async fn send_bookings(
        &self,
        bookings: &[model::Booking],
    ) -> Result<Vec<model::BookingStatus>, AstrowError> {
        self.send_bookings_counting(bookings, &AtomicU32::new(0))
            .await
    }

    /// As [`Self::send_bookings`]; `tries` ends as the number of times the
    /// batch went out, failed or answered (0 if it never did). A lost reply
    /// shows as `tries` > 1 and `duplicate` answers.
    pub async fn send_bookings_counting(
        &self,
        bookings: &[model::Booking],
        tries: &AtomicU32,
    ) -> Result<Vec<model::BookingStatus>, AstrowError> {
        let call = Call::new(Method::POST, "/bookings/batch");
        let endpoint = call.endpoint();
        if bookings.len() > wire::MAX_BATCH {
            return Err(AstrowError::Request {
                endpoint,
                detail: format!(
                    "{} bookings: a batch carries at most {}",
                    bookings.len(),
                    wire::MAX_BATCH
                ),
            });
        }
        if bookings.is_empty() {
            return Ok(Vec::new());
        }
        let body = BookingBatch {
            bookings: bookings.iter().map(wire::Booking::from).collect(),
        };
        let call = call.json(&body)?;
        let answer: BatchResults = self.fetch_counting(call, MAX_PAGE_BYTES, tries).await?;
        if answer.results.len() != bookings.len() {
            return Err(AstrowError::Answer {
                endpoint,
                detail: format!(
                    "{} results for {} bookings",
                    answer.results.len(),
                    bookings.len()
                ),
            });
        }
        bookings
            .iter()
            .zip(&answer.results)
            .enumerate()
            .map(|(i, (b, r))| {
                if r.source_id != b.source_id {
                    return Err(AstrowError::Answer {
                        endpoint: endpoint.clone(),
                        detail: format!(
                            "result {i} is for {:?}, not {:?}",
                            http::sanitize(&r.source_id),
                            b.source_id
                        ),
                    });
                }
                r.to_status().map_err(|detail| AstrowError::Answer {
                    endpoint: endpoint.clone(),
                    detail: http::sanitize(&detail),
                })
            })
            .collect()
    }

    /// `GET /bookings`, every page, optionally only those at or after `since`.
    pub async fn list_bookings(
        &self,
        since: Option<DateTime<FixedOffset>>,
    ) -> Result<Vec<AstrowBooking>, AstrowError> {
        let extra = since
            .map(|s| ("since", s.to_rfc3339()))
            .into_iter()
            .collect();
        let (items, _aside): (Vec<StoredBooking>, _) = self
            .list_all_tolerant("Astrow bookings", "booking_id", "/bookings", extra)
            .await?;
        check_ascending(&items, |b| b.booking_id, "Astrow GET /bookings")?;
        Ok(items
            .iter()
            .map(|b| AstrowBooking {
                booking: model::Booking::from(b),
                status: match b.status {
                    StoredStatus::Processed => model::BookingStatus::Processed {
                        booking_id: b.booking_id,
                    },
                    StoredStatus::Queued => model::BookingStatus::Queued {
                        booking_id: b.booking_id,
                    },
                },
                pers_no: b.pers_no,
            })
            .collect())
    }

    /// `GET /notifications`: employee changes after `after`, waiting up to
    /// `wait` (at most 30 s) when there is none.
    pub async fn notifications(
        &self,
        after: u64,
        limit: u32,
        wait: Duration,
    ) -> Result<Notifications, AstrowError> {
        let wait_s = wait.as_secs().min(wire::MAX_WAIT_S.into());
        let mut call = Call::get("/notifications");
        call.query = vec![
            ("after", after.to_string()),
            ("limit", limit.clamp(1, wire::MAX_LIMIT).to_string()),
            ("wait", wait_s.to_string()),
        ];
        call.extra_time = Duration::from_secs(wait_s);
        let endpoint = call.endpoint();
        let answer: Notifications = self.fetch(call, MAX_PAGE_BYTES).await?;
        if answer.items.len() > limit as usize
            || answer
                .items
                .iter()
                .any(|n| n.seq <= after || n.seq > answer.last_seq)
        {
            return Err(AstrowError::Answer {
                endpoint,
                detail: "notifications outside the range asked for".to_string(),
            });
        }
        Ok(answer)
    }

    /// `POST /heartbeat`: tell Astrow the service is alive.
    pub async fn heartbeat(
        &self,
        status: HeartbeatStatus,
        detail: Option<String>,
    ) -> Result<(), AstrowError> {
        let body = Heartbeat {
            service: "astrow-pac".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            status,
            detail,
        };
        let call = Call::new(Method::POST, "/heartbeat");
        // Repeating a heartbeat only says "alive" twice.
        let call = call.json(&body)?;
        self.run(&call, |_, _| None, |_| async { Ok(()) }).await
    }
}
