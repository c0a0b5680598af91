//! The store is bound to the PAC installation and the Astrow it was made
//! for: its links name employees of that pair only. Pointed at another pair,
//! nothing is planned until a person re-binds it, which forgets the links,
//! plans and suppressions (they describe the other site) and is audited.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use super::{AuditRecord, SqlContext, Store, StoreError, time_text};
use crate::model::System;

/// Which PAC and which Astrow, in words that change when the site does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteIdentity {
    /// "certificate sha256:ab12..., organization 1"
    pub pac: String,
    /// "https://astrow.example.local"
    pub astrow: String,
}

impl std::fmt::Display for SiteIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PAC {} and Astrow {}", self.pac, self.astrow)
    }
}

/// How the store's binding compares with the site the settings name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingCheck {
    /// A new store: bound to this site now.
    BoundNow,
    /// The site it was made for.
    Same,
    /// Another site: nothing may be planned until a re-bind.
    Other { bound: SiteIdentity },
}

/// What a re-bind forgot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebound {
    pub before: Option<SiteIdentity>,
    pub links: usize,
    pub plans: usize,
    /// The old site's bookings that were still to be sent: abandoned (kept
    /// in the ledger, never sent to the new Astrow).
    pub abandoned: usize,
    /// The old Astrow's bookings still to be sent to PAC: abandoned (kept
    /// aside with why, never sent to the new PAC).
    pub astrow_to_pac_abandoned: usize,
}

impl Rebound {
    /// What was forgotten, in one sentence.
    pub fn describe(&self) -> String {
        format!(
            "{} links and {} plans of the old site forgotten, {} of its bookings still to be sent \
             abandoned (kept in the ledger as rejected: {ABANDONED_REASON}); {} of the old \
             Astrow's bookings still to be sent to PAC abandoned (kept aside, never sent); \
             bookings start afresh for the new PAC; the next plan starts from scratch",
            self.links, self.plans, self.abandoned, self.astrow_to_pac_abandoned
        )
    }
}

/// The reason an old site's booking carries after a re-bind.
pub const ABANDONED_REASON: &str =
    "abandoned: store re-bound to another site, never sent to the new Astrow";

/// What `rebind` is about to forget, for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebindPreview {
    pub links: usize,
    pub pending_bookings: u64,
}

/// The schema version that added the `site_binding` table.
const FIRST_VERSION_WITH_BINDING: u32 = 3;

impl Store {
    /// The site the store is bound to, if any. A store made by an older
    /// astrow-pac (schema below 3, not yet migrated: read-only openers such
    /// as `status` see it so) has no binding table: not bound yet.
    pub fn site_binding(&self) -> Result<Option<SiteIdentity>, StoreError> {
        if self.schema_version()? < FIRST_VERSION_WITH_BINDING {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT pac, astrow FROM site_binding WHERE id = 1",
                [],
                |r| {
                    Ok(SiteIdentity {
                        pac: r.get(0)?,
                        astrow: r.get(1)?,
                    })
                },
            )
            .optional()
            .ctx("read the site binding")
    }

    /// Compare with `site`; a store not bound yet is bound to it.
    pub fn check_site(&mut self, site: &SiteIdentity) -> Result<BindingCheck, StoreError> {
        match self.site_binding()? {
            Some(bound) if &bound == site => Ok(BindingCheck::Same),
            Some(bound) => Ok(BindingCheck::Other { bound }),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO site_binding (id, pac, astrow, bound_at) VALUES (1, ?1, ?2, ?3)",
                        params![site.pac, site.astrow, time_text(Utc::now())],
                    )
                    .ctx("bind the store to its site")?;
                Ok(BindingCheck::BoundNow)
            }
        }
    }

    /// What a re-bind would forget: the links, and the old site's
    /// bookings still to be sent.
    pub fn rebind_preview(&self) -> Result<RebindPreview, StoreError> {
        let links = self.links()?.len();
        let pending_bookings = super::ledger::pending_count(&self.conn)
            .map_err(|e| StoreError::Ledger(e.to_string()))?;
        Ok(RebindPreview {
            links,
            pending_bookings,
        })
    }

    /// Bind the store to `site`, forgetting the links, plans, suppressions
    /// and applied destructive items of the site it was bound to; the old
    /// site's bookings still to be sent are abandoned (kept, marked) and the
    /// event cursor starts as a fresh store's does; the Astrow -> PAC ledger
    /// (the old pair's booking ids) is emptied and starts afresh. One transaction, its
    /// audit entry included.
    pub fn rebind(&mut self, site: &SiteIdentity) -> Result<Rebound, StoreError> {
        let before = self.site_binding()?;
        // The abandoned bookings move the ledger's counts kept in memory.
        let rebound = super::tally::write(&mut self.conn, |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .ctx("begin a re-bind")?;
            let links = tx
                .execute("DELETE FROM links", [])
                .ctx("forget the links")?;
            let plans = tx
                .execute("DELETE FROM plans", [])
                .ctx("forget the plans")?;
            tx.execute("DELETE FROM suppressions", [])
                .ctx("forget the suppressions")?;
            tx.execute("DELETE FROM destructive_applied", [])
                .ctx("forget the applied destructive items")?;
            let now = time_text(Utc::now());
            let abandoned = tx
                .execute(
                    "UPDATE ledger SET state = 'rejected', reason = ?1, answered_at = ?2,
                        wait_reason = NULL
                 WHERE state = 'pending'",
                    params![ABANDONED_REASON, now],
                )
                .ctx("abandon the old site's bookings")?;
            // Rejected for a reader missing from the old Astrow's mirror: they
            // would be sent again once the new mirror holds that serial.
            tx.execute(
                "UPDATE ledger SET reason = ?1
                 WHERE state = 'rejected' AND kind = 'booking' AND reason LIKE '%mirror%'",
                params![ABANDONED_REASON],
            )
            .ctx("abandon the old site's mirror rejections")?;
            // The Astrow -> PAC ledger was the old pair's: its booking ids
            // and cursor are the old Astrow's, its events the old PAC's.
            // Start as a fresh store does (the last 24 hours read again).
            let astrow_to_pac_abandoned = super::astrow_ledger::restart(&tx, Utc::now())
                .ctx("restart the Astrow->PAC ledger")?;
            let events = restart_events(&tx)?;
            tx.execute(
                "INSERT INTO site_binding (id, pac, astrow, bound_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET pac = ?1, astrow = ?2, bound_at = ?3",
                params![site.pac, site.astrow, now],
            )
            .ctx("re-bind the store")?;
            let done = Rebound {
                before,
                links,
                plans,
                abandoned,
                astrow_to_pac_abandoned,
            };
            super::audit::append_audit_in(
                &tx,
                &AuditRecord {
                    system: System::Pac,
                    action: "rebind_store".into(),
                    record: "store".into(),
                    before: done.before.as_ref().map(ToString::to_string),
                    after: Some(format!("{site}; {events}")),
                    result: format!("ok: {}", done.describe()),
                },
            )?;
            tx.commit().ctx("commit a re-bind")?;
            let mut delta = super::tally::Delta::default();
            delta.add("pending", -(abandoned as i64));
            delta.add("rejected", abandoned as i64);
            Ok((done, delta))
        });
        // The Astrow -> PAC ledger was emptied: its counts are read again.
        super::astrow_tally::forget(&self.conn);
        rebound
    }
}
/// Bookings start for the new PAC as in a fresh store: the event cursor at
/// 0, in a new epoch (issue 11's, as `bookings reset-cursor` starts one), so
/// that the new PAC's events never collide with the old site's under the
/// same ledger key; the old site's gaps and open sequence reset go. In
/// words for the audit entry.
fn restart_events(tx: &rusqlite::Transaction<'_>) -> Result<String, StoreError> {
    let gaps = tx
        .execute("DELETE FROM event_gaps", [])
        .ctx("forget the old site's event gaps")?;
    let moved = super::seq_reset::reset_cursor_in(tx, crate::model::Seq(0), Utc::now())
        .map_err(|e| StoreError::Ledger(e.to_string()))?;
    Ok(format!(
        "event cursor {} (epoch {}) -> 0 (epoch {}), {gaps} old event gaps forgotten",
        moved.old_cursor, moved.old_epoch, moved.new_epoch
    ))
}
