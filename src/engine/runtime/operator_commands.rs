//! Commands a person gives beside plans: reload the settings, open a door,
//! start or stop a roll call, move the event cursor after PAC's sequence
//! was reset.

use std::sync::Arc;

use super::command_loop::Engine;
use super::wiring::secs;
use super::{booking_rules, settings_summary};
use crate::config;
use crate::engine::command::EventLevel;
use crate::engine::snapshot::JobKind;
use crate::engine::state::Internal;
use crate::model::System;
use crate::store::{AuditRecord, ledger};

impl Engine {
    /// An erasure request: the store forgets the employee; the notice says
    /// what was done (`forget employee N: ...`) for the console or the
    /// `forget` command that asked.
    pub(super) async fn forget_employee(&mut self, pac_id: u64, pers_no: Option<u64>) {
        let done = self
            .store
            .call("forget an employee", move |s| {
                s.forget_employee(crate::model::PacId(pac_id), pers_no)
            })
            .await;
        match done {
            Ok(f) => self.notice(
                EventLevel::Info,
                format!("forget employee {pac_id}: {}", f.summary(pac_id)),
            ),
            Err(e) => self.notice(
                EventLevel::Error,
                format!("forget employee {pac_id} failed: {e}"),
            ),
        }
    }

    pub(super) async fn reload(&mut self) {
        let loaded = match config::load(&self.opts.config_path) {
            Ok(l) => l,
            Err(e) => {
                self.notice(EventLevel::Error, format!("settings not reloaded: {e}"));
                return;
            }
        };
        let new = loaded.settings;
        let old = self.settings.borrow().clone();
        // Published first: a plan being made now either sees the new settings
        // when it is saved (and is dropped), or is saved before the pending
        // plans are voided below.
        self.settings.send_replace(Arc::new(new.clone()));
        if let Some(why) = crate::engine::plan_meaning::settings_change_voids_plans(&old, &new) {
            let w = why.clone();
            let r = self
                .store
                .call("invalidate pending plans", move |s| {
                    s.invalidate_pending_plans(&w)
                })
                .await;
            if let Err(e) = r {
                self.notice(EventLevel::Error, e);
            }
            self.state.apply(Internal::Plan(None));
            self.notice(
                EventLevel::Warning,
                format!("{why}: pending plans are void, planning again"),
            );
            self.void_running_apply(&why);
            if let Some(t) = self.triggers.get(&JobKind::Employees) {
                t.notify_one();
            }
        } else if crate::engine::plan_meaning::guard_changed(&old, &new) {
            // The pending plan was judged by the old limits: planned again,
            // the guard holds it (or lets it go) by the new ones.
            self.notice(
                EventLevel::Info,
                "the deletion guard changed: planning again, so the pending plan is judged by it",
            );
            if let Some(t) = self.triggers.get(&JobKind::Employees) {
                t.notify_one();
            }
        }
        for (kind, every) in [
            (JobKind::Employees, new.sync.employee_interval_s),
            (JobKind::Definitions, new.sync.definitions_interval_s),
            (JobKind::Heartbeat, new.bookings.heartbeat_interval_s),
        ] {
            if let Some(tx) = self.intervals.get(&kind) {
                tx.send_replace(secs(every));
            }
        }
        if let Some(b) = &self.bookings {
            b.rules
                .send_replace(Arc::new(booking_rules(&new, self.roll_call)));
        }
        let restart = config::schema::restart_changes(&old, &new);
        if !restart.is_empty() {
            self.notice(
                EventLevel::Warning,
                format!(
                    "settings that take effect at restart changed ({}): restart astrow-pac to use them",
                    restart.join(", ")
                ),
            );
        }
        self.state
            .apply(Internal::Settings(settings_summary(&new, &self.opts)));
        self.notice(EventLevel::Info, "settings reloaded");
    }

    pub(super) fn open_door(&mut self, reader_id: u32) {
        if self.refuse_read_only("opening a door") {
            return;
        }
        let by = self.actor.user.clone();
        let pac = self.pac.clone();
        let store = self.store.clone();
        let report = self.report.clone();
        self.spawn_detached(async move {
            let result = pac.open_door(reader_id).await;
            let text = match &result {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("failed: {e}"),
            };
            let record = AuditRecord {
                system: System::Pac,
                action: "open_door".into(),
                record: format!("reader {reader_id}"),
                before: None,
                after: None,
                result: text.clone(),
            };
            let _ = store
                .call("audit a door opening", move |s| {
                    s.append_audit_as(&record, &by)
                })
                .await;
            let (level, message) = match result {
                Ok(()) => (
                    EventLevel::Info,
                    format!("door of reader {reader_id} opened for 5 seconds"),
                ),
                Err(e) => (
                    EventLevel::Error,
                    format!("door of reader {reader_id} not opened: {e}"),
                ),
            };
            let _ = report.send(Internal::Notice(level, message)).await;
        });
    }

    pub(super) async fn reset_cursor(&mut self, to: u64) {
        if self.refuse_read_only("moving the event cursor") {
            return;
        }
        let r = self
            .store
            .call("reset the event cursor", move |s| {
                Ok(crate::engine::bookings::reset::reset_cursor_audited(
                    s,
                    crate::model::Seq(to),
                ))
            })
            .await;
        match r.and_then(|r| r) {
            Ok(done) => self.notice(
                EventLevel::Warning,
                crate::engine::bookings::reset::describe(&done),
            ),
            Err(e) => self.notice(EventLevel::Error, format!("event cursor not moved: {e}")),
        }
    }

    pub(super) async fn move_astrow_cursor(&mut self, to: u64, force: bool) {
        use crate::engine::astrow_to_pac::cursor;
        const WHAT: &str = "moving the Astrow booking cursor";
        if self.refuse_read_only(WHAT) || self.refuse_other_site(WHAT) {
            return;
        }
        let r = self
            .store
            .call("move the Astrow booking cursor", move |s| {
                Ok(cursor::move_cursor_audited(s, to, force))
            })
            .await;
        match r.and_then(|r| r) {
            Ok(done) => self.notice(EventLevel::Warning, cursor::describe(&done)),
            Err(e) => self.notice(
                EventLevel::Error,
                format!("Astrow booking cursor not moved: {e}"),
            ),
        }
    }

    pub(super) async fn resend_lost(&mut self, source_ids: Vec<String>) {
        use crate::engine::bookings::resend;
        const WHAT: &str = "sending lost bookings again";
        if self.refuse_read_only(WHAT) || self.refuse_other_site(WHAT) {
            return;
        }
        let org = self.settings.borrow().pac.organization_id;
        let r = self
            .store
            .call("send lost bookings again", move |s| {
                Ok(resend::resend_lost_audited(s, org, &source_ids))
            })
            .await;
        match r.and_then(|r| r) {
            Ok(done) => self.notice(EventLevel::Warning, resend::describe(&done)),
            Err(e) => self.notice(EventLevel::Error, format!("{}{e}", resend::FAILED)),
        }
    }

    pub(super) async fn roll_call(&mut self, start: bool) {
        if self.refuse_read_only("a roll call") {
            return;
        }
        let path = self.store.database_path();
        let r = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let conn = crate::store::db::open_connection(&path).map_err(|e| e.to_string())?;
            if start {
                ledger::start_roll_call(&conn, chrono::Utc::now()).map_err(|e| e.to_string())?;
            } else {
                ledger::stop_roll_call(&conn).map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        match r {
            Ok(()) => {
                self.roll_call = start;
                if let Some(b) = &self.bookings {
                    let settings = self.settings.borrow().clone();
                    b.rules
                        .send_replace(Arc::new(booking_rules(&settings, start)));
                }
                self.notice(
                    EventLevel::Warning,
                    if start {
                        "roll call started: swipes on roll-call readers confirm people as safe"
                    } else {
                        "roll call stopped"
                    },
                );
            }
            Err(e) => self.notice(EventLevel::Error, format!("roll call: {e}")),
        }
    }
}
