//! The schema, versioned with `PRAGMA user_version`: migrations run in order,
//! each in its own transaction together with the version bump.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// In order; append only.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "links, plans, suppressions, audit, job runs",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "booking ledger, event cursor, gaps, roll call",
        sql: super::ledger::MIGRATION,
    },
    Migration {
        version: 3,
        name: "plan items: retries, failure kind, destructive flag, origin plan; applied destructive items; site binding",
        sql: V3,
    },
    Migration {
        version: 4,
        name: "audit erasure exception, store audit",
        sql: super::erasure::MIGRATION,
    },
    Migration {
        version: 5,
        name: "booking waits, event epochs, sequence resets",
        sql: super::seq_reset::MIGRATION,
    },
    Migration {
        version: 6,
        name: "reconciled time for ledger retention",
        sql: super::retention::MIGRATION,
    },
    Migration {
        version: 7,
        name: "ledger indexes: by state, by read time",
        sql: super::tally::MIGRATION,
    },
    Migration {
        version: 8,
        name: "audit index: by employee",
        sql: super::audit_page::MIGRATION,
    },
    Migration {
        version: 9,
        name: "Astrow->PAC bookings: ledger and cursor",
        sql: super::astrow_ledger::MIGRATION,
    },
    Migration {
        version: 10,
        name: "Astrow->PAC bookings: terminal serial; abandoned rows by time",
        sql: super::astrow_ledger::MIGRATION_SERIAL,
    },
    Migration {
        version: 11,
        name: "restores: Astrow's bookings (epochs), PAC's (Astrow->PAC rows sent again)",
        sql: super::astrow_restore::MIGRATION,
    },
    Migration {
        version: 12,
        name: "booking ledger: pending rows found by the state index alone",
        sql: super::tally::MIGRATION_ONE_PENDING_INDEX,
    },
    Migration {
        version: 13,
        name: "plans: the settings each plan was made under",
        sql: super::plans::MIGRATION_SETTINGS,
    },
];

const V1: &str = "
CREATE TABLE links (
    pac_id  INTEGER NOT NULL UNIQUE,
    pers_no INTEGER NOT NULL UNIQUE,
    origin  TEXT NOT NULL CHECK (origin IN ('created', 'matched')),
    at      TEXT NOT NULL,
    PRIMARY KEY (pac_id, pers_no)
);

CREATE TABLE plans (
    plan_id     TEXT PRIMARY KEY,
    master      TEXT NOT NULL CHECK (master IN ('pac', 'astrow')),
    state       TEXT NOT NULL
                CHECK (state IN ('pending', 'approved', 'rejected', 'applied', 'failed', 'stale')),
    held_reason TEXT,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    note        TEXT
);
CREATE INDEX plans_by_state ON plans (state, created_at);

CREATE TABLE plan_items (
    plan_id            TEXT NOT NULL REFERENCES plans (plan_id) ON DELETE CASCADE,
    item_id            TEXT NOT NULL,
    position           INTEGER NOT NULL,
    action             TEXT NOT NULL,
    target             TEXT NOT NULL CHECK (target IN ('pac', 'astrow')),
    state              TEXT NOT NULL
                       CHECK (state IN ('pending', 'approved', 'rejected', 'applied', 'failed', 'stale')),
    source_fingerprint TEXT NOT NULL,
    body               TEXT NOT NULL,
    started_at         TEXT,
    done_at            TEXT,
    detail             TEXT,
    PRIMARY KEY (plan_id, item_id)
);

CREATE TABLE suppressions (
    item_key           TEXT NOT NULL,
    source_fingerprint TEXT NOT NULL,
    at                 TEXT NOT NULL,
    PRIMARY KEY (item_key, source_fingerprint)
);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    os_user TEXT NOT NULL,
    system  TEXT NOT NULL CHECK (system IN ('pac', 'astrow')),
    action  TEXT NOT NULL,
    record  TEXT NOT NULL,
    before  TEXT,
    after   TEXT,
    result  TEXT NOT NULL
);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    result      TEXT,
    counts      TEXT
);
CREATE INDEX job_runs_by_job ON job_runs (job, id);
";

const V3: &str = "
ALTER TABLE plan_items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plan_items ADD COLUMN retry_at TEXT;
ALTER TABLE plan_items ADD COLUMN destructive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plan_items ADD COLUMN origin_plan TEXT;
ALTER TABLE plan_items ADD COLUMN failure_kind TEXT;

CREATE TABLE destructive_applied (
    at      TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    item_id TEXT NOT NULL
);
CREATE INDEX destructive_applied_by_at ON destructive_applied (at);

CREATE TABLE site_binding (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    pac      TEXT NOT NULL,
    astrow   TEXT NOT NULL,
    bound_at TEXT NOT NULL
);
";

/// The newest schema version this program knows.
pub(crate) fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    if found > latest() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: latest(),
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let fail = |source| StoreError::Migration {
            version: m.version,
            name: m.name,
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(m.sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}
