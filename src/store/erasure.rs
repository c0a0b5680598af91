//! Erasure and retention of personal data in the store: `forget employee`
//! (their swipes leave the ledger, their identity in the audit becomes a
//! pseudonym) and the audit's retention (whole months older than the
//! setting are trimmed).
//!
//! The audit is append-only: triggers refuse every update and delete. The
//! one exception is narrow and lives in the database: inside the
//! transaction of an erasure a row in `audit_exception` allows, for
//! `forget`, updates of `record`, `before`, `after` and `result` only, and
//! for `retention`, deletes of rows older than the row's `until` only. The
//! row is removed before the transaction commits, so no other writer ever
//! sees it; and each erasure is itself recorded in `store_audit`, which
//! has no exception at all.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{Transaction, params};

use super::{SqlContext, Store, StoreError, current_os_user, time_text};
use crate::model::PacId;

/// Schema of the exception and the store's own audit (a migration).
pub(crate) const MIGRATION: &str = "
CREATE TABLE audit_exception (
    purpose TEXT PRIMARY KEY CHECK (purpose IN ('forget', 'retention')),
    until   TEXT
);

DROP TRIGGER audit_is_append_only_update;
DROP TRIGGER audit_is_append_only_delete;
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
WHEN NOT EXISTS (SELECT 1 FROM audit_exception WHERE purpose = 'forget')
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.os_user IS NOT OLD.os_user
  OR NEW.system IS NOT OLD.system OR NEW.action IS NOT OLD.action
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
WHEN NOT EXISTS (SELECT 1 FROM audit_exception WHERE purpose = 'retention' AND OLD.at < until)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE store_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    os_user TEXT NOT NULL,
    action  TEXT NOT NULL CHECK (action IN ('forget_employee', 'trim_audit')),
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE TRIGGER store_audit_is_append_only_update BEFORE UPDATE ON store_audit
BEGIN SELECT RAISE(ABORT, 'the store audit is append-only'); END;
CREATE TRIGGER store_audit_is_append_only_delete BEFORE DELETE ON store_audit
BEGIN SELECT RAISE(ABORT, 'the store audit is append-only'); END;
";

/// What `forget employee` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The name their audit rows now carry (`forgotten-1a2b3c4d`).
    pub pseudonym: String,
    pub swipes_removed: u64,
    /// Swipes not yet delivered to Astrow: kept so that no booking is lost;
    /// `forget` again once they are sent.
    pub swipes_pending: u64,
    pub audit_rows: u64,
}

impl Forgotten {
    /// What was erased and what waits, in words (`forget` prints it).
    pub fn summary(&self, id: u64) -> String {
        let f = self;
        if f.swipes_removed + f.swipes_pending + f.audit_rows == 0 {
            return format!(
                "The store held nothing of PAC employee {id}: no swipes, no audit rows (the request \
                 is recorded in the store audit). Nothing was sent to PAC or Astrow."
            );
        }
        let mut s = format!(
            "PAC employee {id} forgotten: {} swipes removed from the ledger, {} audit rows now name {}.",
            f.swipes_removed, f.audit_rows, f.pseudonym
        );
        if f.swipes_pending > 0 {
            s.push_str(&format!(
                " {} swipes not yet delivered to Astrow were kept so no booking is lost: \
                 run forget again once they are sent.",
                f.swipes_pending
            ));
        }
        s.push_str(" Nothing was sent to PAC or Astrow.");
        s
    }
}

/// A row of the store's own audit (erasures and trims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreAuditEntry {
    pub at: DateTime<Utc>,
    pub os_user: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The first instant kept when the audit keeps `months` whole months
/// before the month of `now`: the first day of that month, 00:00 UTC.
pub fn audit_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    let month0 = now.year() * 12 + now.month0() as i32 - months as i32;
    let (year, month) = (month0.div_euclid(12), month0.rem_euclid(12) as u32 + 1);
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// What a forgotten employee's rows carry instead of their identity.
fn pseudonym() -> String {
    format!("forgotten-{:08x}", rand::random::<u32>())
}

/// `ok: detail` -> `ok`; the detail may name the person.
fn erased_result(result: &str) -> String {
    let word = result.split(':').next().unwrap_or("").trim();
    if word == result.trim() {
        word.to_string()
    } else {
        format!("{word}: (erased)")
    }
}

fn open_exception(
    tx: &Transaction,
    purpose: &str,
    until: Option<String>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_exception (purpose, until) VALUES (?1, ?2)",
        params![purpose, until],
    )
    .ctx("open the audit's erasure exception")?;
    Ok(())
}

fn close_exception(tx: &Transaction, purpose: &str) -> Result<(), StoreError> {
    tx.execute("DELETE FROM audit_exception WHERE purpose = ?1", [purpose])
        .ctx("close the audit's erasure exception")?;
    Ok(())
}

fn store_audit(
    tx: &Transaction,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO store_audit (at, os_user, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![time_text(Utc::now()), current_os_user(), action, subject, detail],
    )
    .ctx("record the erasure in the store audit")?;
    Ok(())
}

impl Store {
    /// Erase what the store keeps of PAC employee `pac_id` (and of the
    /// Astrow employee linked to them, or `pers_no` when given): their
    /// delivered swipes leave the ledger, and their audit rows name a
    /// pseudonym instead of them (record, before and after, the result's
    /// detail). One transaction; recorded in the store audit. Nothing is
    /// sent to PAC or Astrow.
    pub fn forget_employee(
        &mut self,
        pac_id: PacId,
        pers_no: Option<u64>,
    ) -> Result<Forgotten, StoreError> {
        let done = super::tally::write(&mut self.conn, |conn| forget_in(conn, pac_id, pers_no));
        // The Astrow -> PAC ledger lost rows: its counts are read again.
        super::astrow_tally::forget(&self.conn);
        done
    }

    /// Delete audit rows of the whole months before the last `months`
    /// (see [`audit_cutoff`]); `0` keeps everything. The number deleted.
    pub fn trim_audit(&mut self, months: u32, now: DateTime<Utc>) -> Result<u64, StoreError> {
        if months == 0 {
            return Ok(0);
        }
        let cutoff = time_text(audit_cutoff(now, months));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin trimming the audit")?;
        open_exception(&tx, "retention", Some(cutoff.clone()))?;
        let n = tx
            .execute("DELETE FROM audit WHERE at < ?1", [&cutoff])
            .ctx("trim the audit")? as u64;
        close_exception(&tx, "retention")?;
        if n > 0 {
            store_audit(
                &tx,
                "trim_audit",
                &format!("audit rows before {cutoff}"),
                &format!("{n} deleted; {months} whole months kept"),
            )?;
        }
        tx.commit().ctx("commit trimming the audit")?;
        Ok(n)
    }

    /// [`trim_audit`](Self::trim_audit) now, saying in the log what went;
    /// a failure is logged and leaves the audit as it was.
    pub fn apply_audit_retention(&mut self, months: u32) {
        match self.trim_audit(months, Utc::now()) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "audit retention: {n} audit rows older than {months} whole months deleted"
            ),
            Err(e) => tracing::warn!("audit retention: nothing trimmed: {e}"),
        }
    }

    /// The store's own audit, newest first.
    pub fn store_audit_log(&self, limit: usize) -> Result<Vec<StoreAuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, os_user, action, subject, detail FROM store_audit ORDER BY id DESC LIMIT ?1",
            )
            .ctx("prepare the store audit listing")?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .ctx("list the store audit")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a store audit row")?;
        rows.into_iter()
            .map(|(at, os_user, action, subject, detail)| {
                Ok(StoreAuditEntry {
                    at: super::parse_time("a store audit time", &at)?,
                    os_user,
                    action,
                    subject,
                    detail,
                })
            })
            .collect()
    }
}

/// The erasure of [`Store::forget_employee`], in one transaction, with how
/// it changed the ledger's counts.
fn forget_in(
    conn: &mut rusqlite::Connection,
    pac_id: PacId,
    pers_no: Option<u64>,
) -> Result<(Forgotten, super::tally::Delta), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .ctx("begin forgetting an employee")?;
    let linked: Option<u64> = tx
        .query_row(
            "SELECT pers_no FROM links WHERE pac_id = ?1",
            [pac_id.0],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .ctx("find the employee's link")?;
    let pers_no = pers_no.or(linked);
    let swipes_pending: u64 = tx
        .query_row(
            "SELECT count(*) FROM ledger WHERE employee_id = ?1 AND state = 'pending'",
            [pac_id.0],
            |r| r.get(0),
        )
        .ctx("count the employee's pending swipes")?;
    // Before their swipes go: the badges the store knows them by.
    let abandoned_removed = forget_abandoned(&tx, pac_id, pers_no)?;
    let mut delta = super::tally::Delta::default();
    {
        let mut stmt = tx
            .prepare(
                "DELETE FROM ledger WHERE employee_id = ?1 AND state <> 'pending' RETURNING state",
            )
            .ctx("remove the employee's swipes")?;
        let mut rows = stmt.query([pac_id.0]).ctx("remove the employee's swipes")?;
        while let Some(r) = rows.next().ctx("remove the employee's swipes")? {
            let state: String = r.get(0).ctx("remove the employee's swipes")?;
            delta.add(&state, -1);
        }
    }
    // Their Astrow bookings on the way to PAC (bookings.astrow_to_pac):
    // delivered ones go, pending ones are kept so none is lost.
    if let Some(p) = pers_no {
        super::astrow_restore::forget_cursor_mark(&tx, p)
            .ctx("clear the Astrow cursor's mark of the employee's booking")?;
    }
    let (a2p_removed, a2p_pending) = match pers_no {
        Some(p) => (
            tx.execute(
                "DELETE FROM astrow_ledger WHERE pers_no = ?1 AND state <> 'pending'",
                [p],
            )
            .ctx("remove the employee's Astrow bookings")? as u64,
            tx.query_row(
                "SELECT count(*) FROM astrow_ledger WHERE pers_no = ?1 AND state = 'pending'",
                [p],
                |r| r.get::<_, u64>(0),
            )
            .ctx("count the employee's pending Astrow bookings")?,
        ),
        None => (0, 0),
    };
    let swipes_pending = swipes_pending + a2p_pending;
    let swipes_removed = (-delta.states.iter().map(|(_, n)| n).sum::<i64>()) as u64
        + a2p_removed
        + abandoned_removed;
    let pseudonym = pseudonym();
    open_exception(&tx, "forget", None)?;
    let audit_rows = pseudonymise(&tx, pac_id, pers_no, &pseudonym)?;
    close_exception(&tx, "forget")?;
    store_audit(
        &tx,
        "forget_employee",
        &pseudonym,
        &format!(
            "{swipes_removed} swipes removed, {swipes_pending} pending kept, {audit_rows} audit rows pseudonymised"
        ),
    )?;
    tx.commit().ctx("commit forgetting an employee")?;
    Ok((
        Forgotten {
            pseudonym,
            swipes_removed,
            swipes_pending,
            audit_rows,
        },
        delta,
    ))
}

/// Remove the employee's rows kept aside at a re-bind
/// (`astrow_ledger_abandoned`, never sent): their ids are the old pair's,
/// so they are matched by every id and badge the store knows of the
/// employee: the personnel number (linked or `--pers-no`), the PAC id as a
/// badge number (PAC master: Astrow's badge numbers are PAC ids), and the
/// badges of their swipes and Astrow bookings in the ledgers. A row of
/// another old-site person with the same number goes too: it is never sent
/// and erasing more is the side privacy errs on. How many went.
fn forget_abandoned(
    tx: &Transaction,
    pac_id: PacId,
    pers_no: Option<u64>,
) -> Result<u64, StoreError> {
    let mut badges: Vec<String> = vec![pac_id.0.to_string()];
    let mut known = |sql: &str, id: u64| -> Result<(), StoreError> {
        let mut stmt = tx.prepare(sql).ctx("prepare the employee's badges")?;
        let found = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .ctx("find the employee's badges")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a badge")?;
        badges.extend(found);
        Ok(())
    };
    known(
        "SELECT DISTINCT badge_number FROM ledger
         WHERE employee_id = ?1 AND badge_number IS NOT NULL",
        pac_id.0,
    )?;
    let mut removed = 0;
    if let Some(p) = pers_no {
        known(
            "SELECT DISTINCT badge_no FROM astrow_ledger WHERE pers_no = ?1",
            p,
        )?;
        removed += tx
            .execute(
                "DELETE FROM astrow_ledger_abandoned WHERE pers_no = ?1",
                [p],
            )
            .ctx("remove the employee's abandoned Astrow bookings")?;
    }
    badges.sort();
    badges.dedup();
    for b in badges.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        removed += tx
            .execute(
                "DELETE FROM astrow_ledger_abandoned WHERE upper(trim(badge_no)) = upper(?1)",
                [b],
            )
            .ctx("remove the employee's abandoned Astrow bookings")?;
    }
    Ok(removed as u64)
}

/// Rewrite the employee's audit rows; how many.
fn pseudonymise(
    tx: &Transaction,
    pac_id: PacId,
    pers_no: Option<u64>,
    pseudonym: &str,
) -> Result<u64, StoreError> {
    let mut ids: Vec<(i64, String)> = Vec::new();
    let mut select = |system: &str, id: u64| -> Result<(), StoreError> {
        let mut stmt = tx
            .prepare_cached("SELECT id, result FROM audit WHERE system = ?1 AND record = ?2")
            .ctx("prepare the employee's audit rows")?;
        let rows = stmt
            .query_map(params![system, format!("employee {id}")], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ctx("find the employee's audit rows")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read an audit row")?;
        ids.extend(rows);
        Ok(())
    };
    select("pac", pac_id.0)?;
    if let Some(p) = pers_no {
        select("astrow", p)?;
    }
    let record = format!("employee {pseudonym}");
    let erased = Some(format!("(erased: {pseudonym})"));
    for (id, result) in &ids {
        tx.execute(
            "UPDATE audit SET record = ?2, before = CASE WHEN before IS NULL THEN NULL ELSE ?3 END,
                              after = CASE WHEN after IS NULL THEN NULL ELSE ?3 END, result = ?4
             WHERE id = ?1",
            params![id, record, erased, erased_result(result)],
        )
        .ctx("pseudonymise an audit row")?;
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
#[path = "erasure_tests.rs"]
mod tests;
