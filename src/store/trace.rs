//! What the store knows of one employee: its link and how it came to be,
//! every plan item about it, and its audit entries (newest first).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::audit::AuditEntry;
use super::audit_page::{self, AuditFilter, EmployeeRecords, FIRST_PAGE};
use super::{SqlContext, StoreError};
use crate::model::{EmployeeKey, Person};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRow {
    pub pac_id: u64,
    pub pers_no: u64,
    /// created (we created one side from the other) or matched.
    pub origin: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItemRow {
    pub plan_id: String,
    pub plan_created_at: String,
    pub item_id: String,
    pub action: String,
    pub target: String,
    pub state: String,
    pub done_at: Option<String>,
    pub detail: Option<String>,
    /// The item's reason, as the plan gave it.
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EmployeeTrace {
    /// Whom the trace is about (a side it does not have is `None`).
    pub person: Person,
    pub link: Option<LinkRow>,
    pub plan_items: Vec<PlanItemRow>,
    pub audit: Vec<AuditEntry>,
}

/// Whether a plan item id (`update:pac:10003`, `link:pac:1:astrow:2`,
/// `create:astrow:pac:10015`) names PAC employee `pac` or Astrow employee
/// `astrow` (a side that is `None` names nobody).
pub fn item_is_about(item_id: &str, pac: Option<u64>, astrow: Option<u64>) -> bool {
    let parts: Vec<&str> = item_id.split(':').collect();
    parts.windows(2).any(|w| match w {
        ["pac", id] => pac.is_some_and(|p| id.parse() == Ok(p)),
        ["astrow", id] => astrow.is_some_and(|a| id.parse() == Ok(a)),
        _ => false,
    })
}

/// The trace of the employee `key` means (see
/// [`audit_page::resolve_person`]; `also_seen`: people the caller knows
/// of). A bare number naming two people is refused. `reason_of` reads an
/// item's reason from its body (the engine's format).
pub fn employee(
    conn: &Connection,
    key: EmployeeKey,
    also_seen: &[Person],
    audit_limit: usize,
    reason_of: fn(&[u8]) -> Option<String>,
) -> Result<EmployeeTrace, StoreError> {
    let person = audit_page::resolve_person(conn, key, also_seen)?;
    let as_key = |id: Option<u64>| id.and_then(|i| i64::try_from(i).ok());
    let link = conn
        .query_row(
            "SELECT pac_id, pers_no, origin, at FROM links WHERE pac_id = ?1 OR pers_no = ?2
             ORDER BY pac_id = ?1 DESC LIMIT 1",
            params![as_key(person.pac), as_key(person.astrow)],
            |r| {
                Ok(LinkRow {
                    pac_id: r.get(0)?,
                    pers_no: r.get(1)?,
                    origin: r.get(2)?,
                    at: r.get(3)?,
                })
            },
        )
        .optional()
        .ctx("read the employee's link")?;
    let plan_items = plan_items(conn, person, reason_of)?;
    let filter = AuditFilter {
        employee: Some(EmployeeRecords::of(person)),
        ..AuditFilter::default()
    };
    let audit = audit_page::page(conn, &filter, FIRST_PAGE, audit_limit)?;
    Ok(EmployeeTrace {
        person,
        link,
        plan_items,
        audit,
    })
}

/// Every plan item about `person`, oldest plan first.
fn plan_items(
    conn: &Connection,
    person: Person,
    reason_of: fn(&[u8]) -> Option<String>,
) -> Result<Vec<PlanItemRow>, StoreError> {
    let like = |side: &str, id: Option<u64>| id.map(|i| format!("%{side}:{i}%"));
    let mut stmt = conn
        .prepare(
            "SELECT i.plan_id, p.created_at, i.item_id, i.action, i.target, i.state, i.done_at,
                    i.detail, i.body
             FROM plan_items i JOIN plans p ON p.plan_id = i.plan_id
             WHERE i.item_id LIKE ?1 OR i.item_id LIKE ?2
             ORDER BY p.created_at, i.position",
        )
        .ctx("prepare the employee's plan items")?;
    let rows = stmt
        .query_map(
            params![like("pac", person.pac), like("astrow", person.astrow)],
            |r| {
                let body = super::plans::body_bytes(r, 8)?;
                Ok(PlanItemRow {
                    plan_id: r.get(0)?,
                    plan_created_at: r.get(1)?,
                    item_id: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    state: r.get(5)?,
                    done_at: r.get(6)?,
                    detail: r.get(7)?,
                    reason: reason_of(&body),
                })
            },
        )
        .ctx("read the employee's plan items")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("read a plan item")?;
    Ok(rows
        .into_iter()
        .filter(|i| item_is_about(&i.item_id, person.pac, person.astrow))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_name_their_employees_exactly() {
        assert!(item_is_about("update:pac:10003", Some(10003), Some(1)));
        assert!(!item_is_about("update:pac:100031", Some(10003), Some(1)));
        assert!(item_is_about("link:pac:1:astrow:2", Some(9), Some(2)));
        assert!(item_is_about("create:astrow:pac:10015", Some(10015), None));
        assert!(!item_is_about(
            "create:astrow:pac:10015",
            Some(1),
            Some(10015)
        ));
        // One side only: the other side's same number is someone else.
        assert!(!item_is_about("update:astrow:12", Some(12), None));
        assert!(!item_is_about("update:pac:12", None, Some(12)));
    }
}
