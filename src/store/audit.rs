//! The audit log: every write to either system, append-only. There is no
//! update or delete here, and triggers refuse them in the database too.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SqlContext, Store, StoreError, parse_system, parse_time, time_text};
use crate::model::System;

/// One write to audit; the store adds the time and the OS user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub system: System,
    /// create, update, delete, remove_badges, open_door, ...
    pub action: String,
    /// Which record: "employee 10231", "reader 12".
    pub record: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// ok, or the error.
    pub result: String,
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub os_user: String,
    pub record: AuditRecord,
}

/// Who runs this process, as the OS says (for the audit log).
pub fn current_os_user() -> String {
    super::os_user::current()
}

impl Store {
    /// Append one entry as this process's user; returns its id.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<i64, StoreError> {
        append_audit_in(&self.conn, record)
    }

    /// Append one entry on behalf of `os_user` (the console's or socket
    /// peer's user, as the engine established it); returns its id.
    pub fn append_audit_as(
        &mut self,
        record: &AuditRecord,
        os_user: &str,
    ) -> Result<i64, StoreError> {
        append_audit_in_as(&self.conn, record, os_user)
    }
}

/// Append one entry on `conn`, which may be inside a transaction (the entry
/// then commits or rolls back with what it records); returns its id.
pub(crate) fn append_audit_in(
    conn: &rusqlite::Connection,
    record: &AuditRecord,
) -> Result<i64, StoreError> {
    append_audit_in_as(conn, record, &current_os_user())
}

/// The same, on behalf of `os_user`.
pub(crate) fn append_audit_in_as(
    conn: &rusqlite::Connection,
    record: &AuditRecord,
    os_user: &str,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO audit (at, os_user, system, action, record, before, after, result)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            time_text(Utc::now()),
            os_user,
            record.system.as_str(),
            record.action,
            record.record,
            record.before,
            record.after,
            record.result
        ],
    )
    .ctx("append to the audit log")?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, at, os_user, system, action, record, before, after, result
                 FROM audit ORDER BY id DESC LIMIT ?1",
            )
            .ctx("prepare the audit listing")?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .ctx("list the audit log")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read an audit entry")?;
        rows.into_iter()
            .map(
                |(id, at, os_user, system, action, record, before, after, result)| {
                    Ok(AuditEntry {
                        id,
                        at: parse_time("an audit time", &at)?,
                        os_user,
                        record: AuditRecord {
                            system: parse_system(&system)?,
                            action,
                            record,
                            before,
                            after,
                            result,
                        },
                    })
                },
            )
            .collect()
    }
}
