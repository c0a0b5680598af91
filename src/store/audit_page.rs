//! Reading the audit log a page at a time, newest first (keyset paging on
//! the row id), filtered by time, employee and text. Nothing here loads the
//! whole log: a page is one indexed range scan of at most `limit` rows.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::audit::{AuditEntry, AuditRecord};
use super::{SqlContext, StoreError, parse_system, parse_time, time_text};
use crate::model::{EmployeeKey, Person};

/// Which entries a listing shows. `Default` shows all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Entries about this employee on either side.
    pub employee: Option<EmployeeRecords>,
    /// Entries whose user, action, record or result contains this text
    /// (case-insensitive for ASCII).
    pub text: Option<String>,
}

/// How the audit names one employee on each side (`employee 10231` on PAC,
/// `employee 1001` on Astrow); a side it has no record on is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeRecords {
    pub pac: Option<String>,
    pub astrow: Option<String>,
}

impl EmployeeRecords {
    /// The audit names of `person`: only the sides it has.
    pub fn of(person: Person) -> EmployeeRecords {
        EmployeeRecords {
            pac: person.pac.map(|id| format!("employee {id}")),
            astrow: person.astrow.map(|id| format!("employee {id}")),
        }
    }

    /// The audit names of the employee `key` means (through its link when
    /// it has one); `also_seen` adds people the caller knows of (the
    /// console's rows). A bare number naming two people is refused.
    pub fn resolve(
        conn: &Connection,
        key: EmployeeKey,
        also_seen: &[Person],
    ) -> Result<EmployeeRecords, StoreError> {
        Ok(EmployeeRecords::of(resolve_person(conn, key, also_seen)?))
    }
}

/// The person `key` means, from what the store has seen of its number (its
/// links, its audit records on either side) and `also_seen`.
pub fn resolve_person(
    conn: &Connection,
    key: EmployeeKey,
    also_seen: &[Person],
) -> Result<Person, StoreError> {
    let mut seen = sightings(conn, key.id())?;
    seen.extend_from_slice(also_seen);
    Ok(crate::model::resolve_employee(key, &seen)?)
}

/// Everyone the store knows by number `id` on either side: the links with
/// `id` as PAC id or personnel number, and a one-sided person for each
/// side whose audit names `employee id`.
fn sightings(conn: &Connection, id: u64) -> Result<Vec<Person>, StoreError> {
    let key = i64::try_from(id).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached("SELECT pac_id, pers_no FROM links WHERE pac_id = ?1 OR pers_no = ?1")
        .ctx("prepare the employee's links")?;
    let mut seen = stmt
        .query_map([key], |r| {
            Ok(Person {
                pac: Some(r.get(0)?),
                astrow: Some(r.get(1)?),
            })
        })
        .ctx("look up the employee's links")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("read a link")?;
    let record = format!("employee {id}");
    for (system, person) in [("pac", Person::pac(id)), ("astrow", Person::astrow(id))] {
        let audited: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM audit WHERE system = ?1 AND record = ?2)",
                params![system, record],
                |r| r.get(0),
            )
            .ctx("look up the employee in the audit")?;
        if audited {
            seen.push(person);
        }
    }
    Ok(seen)
}

/// Where the next page starts: entries with an id below `before`.
pub const FIRST_PAGE: i64 = i64::MAX;

/// Without an employee (that filter is [`EMPLOYEE_PAGE_SQL`]; ?3 and ?4
/// are bound and unused here).
const PAGE_SQL: &str = "SELECT id, at, os_user, system, action, record, before, after, result
     FROM audit
     WHERE id < ?1
       AND (?2 IS NULL OR at >= ?2)
       AND (?5 IS NULL OR instr(lower(os_user || ' ' || action || ' ' || record || ' ' || result), ?5) > 0)
     ORDER BY id DESC LIMIT ?6";

/// One employee's entries: their few rows found through the index on
/// (system, record, id) instead of a walk back through the whole log.
const EMPLOYEE_PAGE_SQL: &str = "SELECT id, at, os_user, system, action, record, before, after, result
     FROM audit
     WHERE id IN (SELECT id FROM audit WHERE system = 'pac' AND record = ?3 AND id < ?1
                  UNION ALL
                  SELECT id FROM audit WHERE system = 'astrow' AND record = ?4 AND id < ?1)
       AND (?2 IS NULL OR at >= ?2)
       AND (?5 IS NULL OR instr(lower(os_user || ' ' || action || ' ' || record || ' ' || result), ?5) > 0)
     ORDER BY id DESC LIMIT ?6";

/// The index the employee filter reads.
pub(super) const MIGRATION: &str =
    "CREATE INDEX IF NOT EXISTS audit_by_record ON audit (system, record, id);";

/// Up to `limit` entries with an id below `before` ([`FIRST_PAGE`] for the
/// newest), newest first. The next page starts below the last entry's id;
/// a page shorter than `limit` is the last.
pub fn page(
    conn: &Connection,
    filter: &AuditFilter,
    before: i64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = match filter.employee {
        Some(_) => EMPLOYEE_PAGE_SQL,
        None => PAGE_SQL,
    };
    let mut stmt = conn.prepare_cached(sql).ctx("prepare the audit page")?;
    let since = filter.since.map(time_text);
    let (pac, astrow) = match &filter.employee {
        Some(e) => (e.pac.as_deref(), e.astrow.as_deref()),
        None => (None, None),
    };
    let text = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![before, since, pac, astrow, text, limit], |r| {
            Ok(RawEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                os_user: r.get(2)?,
                system: r.get(3)?,
                action: r.get(4)?,
                record: r.get(5)?,
                before: r.get(6)?,
                after: r.get(7)?,
                result: r.get(8)?,
            })
        })
        .ctx("read the audit page")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("read an audit entry")?;
    rows.into_iter().map(RawEntry::parse).collect()
}

/// How many entries the audit holds in all (for "row 12 of 100000").
pub fn total(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))
        .ctx("count the audit entries")
}

struct RawEntry {
    id: i64,
    at: String,
    os_user: String,
    system: String,
    action: String,
    record: String,
    before: Option<String>,
    after: Option<String>,
    result: String,
}

impl RawEntry {
    fn parse(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: self.id,
            at: parse_time("an audit time", &self.at)?,
            os_user: self.os_user,
            record: AuditRecord {
                system: parse_system(&self.system)?,
                action: self.action,
                record: self.record,
                before: self.before,
                after: self.after,
                result: self.result,
            },
        })
    }
}

/// What changed between an entry's before and after (both JSON objects as
/// the engine writes them): one line per top-level key that differs,
/// `key: old -> new`. Text that is not a JSON object is shown whole.
pub fn diff_lines(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    let parse = |s: Option<&str>| {
        s.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .and_then(|v| v.as_object().cloned())
    };
    match (parse(before), parse(after)) {
        (b, a) if b.is_some() || a.is_some() => {
            let (b, a) = (b.unwrap_or_default(), a.unwrap_or_default());
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            let show = |v: Option<&serde_json::Value>| v.map_or("-".to_string(), |v| v.to_string());
            keys.into_iter()
                .filter(|k| b.get(*k) != a.get(*k))
                .map(|k| format!("{k}: {} -> {}", show(b.get(k)), show(a.get(k))))
                .collect()
        }
        _ => [("before", before), ("after", after)]
            .into_iter()
            .filter_map(|(n, t)| t.map(|t| format!("{n}: {t}")))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::System;
    use crate::store::{Store, StoreError};

    fn record(system: System, id: u64, action: &str) -> AuditRecord {
        AuditRecord {
            system,
            action: action.into(),
            record: format!("employee {id}"),
            before: Some(r#"{"last_name":"Weiss","groups":[1]}"#.into()),
            after: Some(r#"{"last_name":"Weiß","groups":[1]}"#.into()),
            result: "ok".into(),
        }
    }

    #[test]
    fn pages_walk_the_log_newest_first_without_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for i in 0..25 {
            store
                .append_audit(&record(System::Pac, i, "update"))
                .unwrap();
        }
        let conn = store.connection();
        let mut seen = Vec::new();
        let mut before = FIRST_PAGE;
        loop {
            let p = page(conn, &AuditFilter::default(), before, 10).unwrap();
            seen.extend(p.iter().map(|e| e.id));
            match p.last() {
                Some(last) if p.len() == 10 => before = last.id,
                _ => break,
            }
        }
        assert_eq!(seen.len(), 25);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
        assert_eq!(total(conn).unwrap(), 25);
    }

    #[test]
    fn employee_filter_follows_the_link_to_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .append_audit(&record(System::Pac, 10231, "update"))
            .unwrap();
        store
            .append_audit(&record(System::Astrow, 1001, "create"))
            .unwrap();
        store
            .append_audit(&record(System::Astrow, 10231, "create"))
            .unwrap();
        store
            .append_audit(&record(System::Pac, 7, "delete"))
            .unwrap();
        store
            .append_audit(&record(System::Astrow, 7, "update"))
            .unwrap();
        store
            .append_audit(&record(System::Pac, 8, "delete"))
            .unwrap();
        let conn = store.connection();
        conn.execute(
            "INSERT INTO links (pac_id, pers_no, origin, at) VALUES (10231, 1001, 'created', '2026-11-28T08:00:00.000Z')",
            [],
        )
        .unwrap();
        let by = |key: EmployeeKey| -> Vec<(System, String)> {
            let filter = AuditFilter {
                employee: Some(EmployeeRecords::resolve(conn, key, &[]).unwrap()),
                ..AuditFilter::default()
            };
            page(conn, &filter, FIRST_PAGE, 50)
                .unwrap()
                .into_iter()
                .map(|e| (e.record.system, e.record.action))
                .collect()
        };
        let linked = vec![
            (System::Astrow, "create".to_string()),
            (System::Pac, "update".to_string()),
        ];
        for key in [
            EmployeeKey::Pac(10231),
            EmployeeKey::Astrow(1001),
            EmployeeKey::Either(1001),
        ] {
            assert_eq!(by(key), linked, "by {key}");
        }
        // Astrow 10231 is not PAC 10231's person: only its own entry, and
        // the bare number is refused naming both.
        assert_eq!(
            by(EmployeeKey::Astrow(10231)),
            vec![(System::Astrow, "create".into())]
        );
        let refused = EmployeeRecords::resolve(conn, EmployeeKey::Either(10231), &[]).unwrap_err();
        assert!(
            matches!(refused, StoreError::AmbiguousEmployee(_))
                && refused.to_string().contains("pac:10231")
                && refused.to_string().contains("astrow:10231"),
            "{refused}"
        );
        // Without a link, a side's number matches that side's record only;
        // the bare number is taken when one side knows it.
        assert_eq!(
            by(EmployeeKey::Either(8)),
            vec![(System::Pac, "delete".into())]
        );
        assert_eq!(
            by(EmployeeKey::Pac(7)),
            vec![(System::Pac, "delete".into())]
        );
        assert_eq!(
            by(EmployeeKey::Astrow(7)),
            vec![(System::Astrow, "update".into())]
        );
        assert!(EmployeeRecords::resolve(conn, EmployeeKey::Either(7), &[]).is_err());
    }

    #[test]
    fn one_employees_pages_use_the_index_and_walk_without_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for i in 0..300u64 {
            let id = if i % 3 == 0 { 42 } else { i };
            store
                .append_audit(&record(System::Pac, id, "update"))
                .unwrap();
        }
        let conn = store.connection();
        let filter = AuditFilter {
            employee: Some(EmployeeRecords::resolve(conn, EmployeeKey::Either(42), &[]).unwrap()),
            ..AuditFilter::default()
        };
        let mut seen = Vec::new();
        let mut before = FIRST_PAGE;
        loop {
            let got = page(conn, &filter, before, 30).unwrap();
            seen.extend(got.iter().map(|e| e.id));
            match got.last() {
                Some(last) if got.len() == 30 => before = last.id,
                _ => break,
            }
        }
        assert_eq!(seen.len(), 100, "every third entry is employee 42's");
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first, no repeat"
        );
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {EMPLOYEE_PAGE_SQL}"))
            .unwrap()
            .query_map(
                params![
                    FIRST_PAGE,
                    None::<String>,
                    "employee 42",
                    "employee 42",
                    None::<String>,
                    30
                ],
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("audit_by_record")),
            "the employee filter reads the index: {plan:?}"
        );
        assert!(
            !plan.iter().any(|l| l.starts_with("SCAN audit")),
            "no walk through the whole log: {plan:?}"
        );
    }

    #[test]
    fn text_and_since_filters() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .append_audit(&record(System::Pac, 1, "update"))
            .unwrap();
        store
            .append_audit(&record(System::Pac, 2, "DELETE"))
            .unwrap();
        let conn = store.connection();
        let only = |f: AuditFilter| page(conn, &f, FIRST_PAGE, 50).unwrap().len();
        let text = |t: &str| AuditFilter {
            text: Some(t.into()),
            ..AuditFilter::default()
        };
        assert_eq!(only(text("delete")), 1);
        assert_eq!(only(text("employee ")), 2);
        assert_eq!(only(text("  ")), 2);
        assert_eq!(only(text("nothing like it")), 0);
        let since = |t: DateTime<Utc>| AuditFilter {
            since: Some(t),
            ..AuditFilter::default()
        };
        assert_eq!(only(since(Utc::now() - chrono::Duration::minutes(1))), 2);
        assert_eq!(only(since(Utc::now() + chrono::Duration::minutes(1))), 0);
    }

    #[test]
    fn diff_shows_changed_keys_only() {
        assert_eq!(
            diff_lines(
                Some(r#"{"a":1,"b":"x"}"#),
                Some(r#"{"a":1,"b":"y","c":true}"#)
            ),
            vec!["b: \"x\" -> \"y\"", "c: - -> true"]
        );
        assert_eq!(diff_lines(None, Some(r#"{"a":1}"#)), vec!["a: - -> 1"]);
        assert_eq!(diff_lines(Some("plain"), None), vec!["before: plain"]);
    }
}
