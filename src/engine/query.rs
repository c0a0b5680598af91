//! Questions a console asks the engine about the store (a page of the
//! audit log, the trace of one employee or one booking) and their answers.
//! They travel as a command (`Command::Query`) and come back as an event
//! carrying the answer, addressed by the query's id, so they work the same
//! over the control socket. Nothing here holds a secret: the audit log and
//! the ledger hold none.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::snapshot::{EmployeeRow, RowKind};
use crate::model::{EmployeeKey, Person, System};
use crate::store::audit_page::{self, AuditFilter, EmployeeRecords, FIRST_PAGE};
use crate::store::{AuditEntry, Store, StoreError};

/// The most entries one history page carries.
pub const MAX_PAGE: u32 = 500;
/// Audit entries an employee's trace shows at most.
pub const TRACE_AUDIT_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    /// Up to `limit` audit entries below id `before` (none: the newest), newest first.
    History {
        filter: HistoryFilter,
        before: Option<i64>,
        limit: u32,
    },
    /// `astrow-pac trace employee pac:ID|astrow:ID|ID`: a side's employee,
    /// or a bare number when it names one person.
    TraceEmployee { employee: EmployeeKey },
    /// `astrow-pac trace booking`: a PAC seq of the current epoch (as the
    /// bookings feed shows it) or an Astrow booking id.
    TraceBooking {
        seq: Option<u64>,
        booking_id: Option<u64>,
    },
}

/// Which audit entries a history page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFilter {
    /// Entries whose user, action, record or result contains this.
    pub text: Option<String>,
    /// Entries about this employee (`pac:ID`, `astrow:ID`, or a bare
    /// number that names one person), both sides through its link.
    pub employee: Option<EmployeeKey>,
}

impl HistoryFilter {
    /// The filter a person typed: `employee:pac:10231`, `employee:astrow:7`
    /// or `employee:10231` (or `emp:`, `e:`) picks an employee, the other
    /// words are text to look for.
    pub fn parse(typed: &str) -> HistoryFilter {
        let mut employee = None;
        let mut words = Vec::new();
        for w in typed.split_whitespace() {
            let id = ["employee:", "emp:", "e:"]
                .iter()
                .find_map(|p| w.strip_prefix(p))
                .and_then(|v| EmployeeKey::parse(v).ok());
            match id {
                Some(id) => employee = Some(id),
                None => words.push(w),
            }
        }
        HistoryFilter {
            text: (!words.is_empty()).then(|| words.join(" ")),
            employee,
        }
    }
}

/// One audit entry as a console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user: String,
    pub system: System,
    pub action: String,
    pub record: String,
    pub result: String,
    /// What changed, one line per field (`last_name: "Weiss" -> "Weiß"`).
    pub diff: Vec<String>,
}

impl From<AuditEntry> for HistoryEntry {
    fn from(e: AuditEntry) -> HistoryEntry {
        let r = e.record;
        HistoryEntry {
            diff: audit_page::diff_lines(r.before.as_deref(), r.after.as_deref()),
            id: e.id,
            at: e.at,
            user: e.os_user,
            system: r.system,
            action: r.action,
            record: r.record,
            result: r.result,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub filter: HistoryFilter,
    /// The page holds entries below this id (`None`: from the newest).
    pub before: Option<i64>,
    pub entries: Vec<HistoryEntry>,
    /// More entries follow below the last one.
    pub more: bool,
    /// Entries in the whole log (unfiltered).
    pub total: u64,
}

/// A trace in lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceText {
    pub title: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerBody {
    History(HistoryPage),
    Trace(TraceText),
    /// The query could not be answered, and why.
    Failed(String),
}

/// The answer to query `query` (the id the console gave it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub query: u64,
    pub body: AnswerBody,
}

/// The employee query `q` is about, if any (a trace, or a history page
/// filtered by employee).
pub fn employee_of(q: &Query) -> Option<EmployeeKey> {
    match q {
        Query::TraceEmployee { employee } => Some(*employee),
        Query::History { filter, .. } => filter.employee,
        Query::TraceBooking { .. } => None,
    }
}

/// The rows of the engine's picture that `key` could mean: the one with
/// that PAC id, the one with that personnel number (as the key's side
/// allows).
pub fn employee_rows(rows: &[EmployeeRow], key: EmployeeKey) -> Vec<EmployeeRow> {
    let (pac, astrow) = match key {
        EmployeeKey::Pac(id) => (Some(id), None),
        EmployeeKey::Astrow(id) => (None, Some(id)),
        EmployeeKey::Either(id) => (Some(id), Some(id)),
    };
    rows.iter()
        .filter(|r| {
            pac.is_some_and(|id| r.pac.as_ref().is_some_and(|p| p.id.0 == id))
                || astrow.is_some_and(|id| r.astrow.as_ref().is_some_and(|a| a.pers_no.0 == id))
        })
        .cloned()
        .collect()
}

/// The people a console row shows: one person when it is linked, else
/// each side it has (a conflict row pairs two records that are not known
/// to be one person).
fn row_people(r: &EmployeeRow) -> Vec<Person> {
    let pac = r.pac.as_ref().map(|p| p.id.0);
    let astrow = r.astrow.as_ref().map(|a| a.pers_no.0);
    if r.kind == RowKind::Linked {
        return vec![Person { pac, astrow }];
    }
    let sides = [pac.map(Person::pac), astrow.map(Person::astrow)];
    sides.into_iter().flatten().collect()
}

/// Whether row `r` shows `person` (on a side the person has).
fn row_is(r: &EmployeeRow, person: Person) -> bool {
    let pac = r.pac.as_ref().map(|p| p.id.0);
    let astrow = r.astrow.as_ref().map(|a| a.pers_no.0);
    (person.pac.is_some() && pac == person.pac)
        || (person.astrow.is_some() && astrow == person.astrow)
}

/// Answer `q` from the store. `rows` are the rows of the engine's live
/// picture the query's employee could be (see [`employee_rows`]): they
/// count as people seen, and the trace shows its person's row first.
pub fn answer(
    store: &mut Store,
    q: &Query,
    rows: &[EmployeeRow],
) -> Result<AnswerBody, StoreError> {
    let conn = store.connection();
    let seen: Vec<Person> = rows.iter().flat_map(row_people).collect();
    match q {
        Query::History {
            filter,
            before,
            limit,
        } => {
            let limit = (*limit).clamp(1, MAX_PAGE) as usize;
            let employee = match filter.employee {
                Some(key) => Some(EmployeeRecords::resolve(conn, key, &seen)?),
                None => None,
            };
            let f = AuditFilter {
                since: None,
                employee,
                text: filter.text.clone(),
            };
            // One more than shown tells whether another page follows.
            let mut rows = audit_page::page(conn, &f, before.unwrap_or(FIRST_PAGE), limit + 1)?;
            let more = rows.len() > limit;
            rows.truncate(limit);
            Ok(AnswerBody::History(HistoryPage {
                filter: filter.clone(),
                before: *before,
                entries: rows.into_iter().map(HistoryEntry::from).collect(),
                more,
                total: audit_page::total(conn)?,
            }))
        }
        Query::TraceEmployee { employee } => {
            let t = crate::store::trace::employee(
                conn,
                *employee,
                &seen,
                TRACE_AUDIT_LIMIT,
                crate::engine::plan::item_reason,
            )?;
            let empty = t.link.is_none() && t.plan_items.is_empty() && t.audit.is_empty();
            let now = rows.iter().find(|r| row_is(r, t.person));
            // As it stands now first, then how it came to be.
            let mut text = super::trace_text::current_text(now);
            text.push_str(&if empty {
                "the store knows nothing of this employee\n".to_string()
            } else {
                super::trace_text::employee_text(&t)
            });
            Ok(AnswerBody::Trace(TraceText {
                title: format!("employee {employee}"),
                lines: text.lines().map(str::to_string).collect(),
            }))
        }
        Query::TraceBooking { seq, booking_id } => {
            let key = match seq {
                Some(s) => {
                    let epoch = crate::store::seq_reset::epoch(conn)
                        .map_err(|e| StoreError::Ledger(e.to_string()))?;
                    Some(crate::store::seq_reset::ledger_key(epoch, crate::model::Seq(*s)).0)
                }
                None => None,
            };
            let rows = crate::store::ledger_export::find(conn, key, *booking_id)
                .map_err(|e| StoreError::Ledger(e.to_string()))?;
            let text = if rows.is_empty() {
                "the store knows nothing of this booking\n".to_string()
            } else {
                super::trace_text::booking_text(&rows)
            };
            Ok(AnswerBody::Trace(TraceText {
                title: match (seq, booking_id) {
                    (Some(s), _) => format!("PAC event {s}"),
                    (None, Some(b)) => format!("booking {b}"),
                    (None, None) => "booking".into(),
                },
                lines: text.lines().map(str::to_string).collect(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_filter_picks_the_employee_and_keeps_the_words() {
        assert_eq!(
            HistoryFilter::parse("  employee:10231 delete  "),
            HistoryFilter {
                text: Some("delete".into()),
                employee: Some(EmployeeKey::Either(10231))
            }
        );
        assert_eq!(
            HistoryFilter::parse("e:7"),
            HistoryFilter {
                text: None,
                employee: Some(EmployeeKey::Either(7))
            }
        );
        // Not a number: looked for as text.
        assert_eq!(
            HistoryFilter::parse("emp:x alice"),
            HistoryFilter {
                text: Some("emp:x alice".into()),
                employee: None
            }
        );
        assert_eq!(HistoryFilter::parse(""), HistoryFilter::default());
    }

    #[test]
    fn only_a_linked_row_counts_as_one_person() {
        let mut rows = crate::tui::testkit::employees(1);
        let linked = rows[0].clone();
        assert_eq!(linked.kind, RowKind::Linked);
        let mut conflict = linked.clone();
        conflict.kind = RowKind::Conflict;
        rows.push(conflict.clone());
        assert_eq!(
            row_people(&linked),
            vec![Person {
                pac: Some(1000),
                astrow: Some(5000)
            }]
        );
        assert_eq!(
            row_people(&conflict),
            vec![Person::pac(1000), Person::astrow(5000)]
        );
        // The rows a key could mean: by its side only.
        assert_eq!(employee_rows(&rows, EmployeeKey::Astrow(1000)).len(), 0);
        assert_eq!(employee_rows(&rows, EmployeeKey::Pac(1000)).len(), 2);
        assert_eq!(employee_rows(&rows, EmployeeKey::Either(5000)).len(), 2);
    }

    #[test]
    fn an_empty_store_answers_every_query_saying_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let history = Query::History {
            filter: HistoryFilter::parse("employee:7 x"),
            before: None,
            limit: 0,
        };
        match answer(&mut store, &history, &[]).unwrap() {
            AnswerBody::History(p) => {
                assert!(p.entries.is_empty() && !p.more);
                assert_eq!(p.total, 0);
            }
            other => panic!("{other:?}"),
        }
        let booking = Query::TraceBooking {
            seq: Some(5),
            booking_id: None,
        };
        match answer(&mut store, &booking, &[]).unwrap() {
            AnswerBody::Trace(t) => {
                assert_eq!(t.title, "PAC event 5");
                assert_eq!(t.lines, vec!["the store knows nothing of this booking"]);
            }
            other => panic!("{other:?}"),
        }
        match answer(
            &mut store,
            &Query::TraceEmployee {
                employee: EmployeeKey::Either(7),
            },
            &[],
        )
        .unwrap()
        {
            AnswerBody::Trace(t) => assert_eq!(
                t.lines,
                vec![
                    "Now     not listed by PAC or Astrow (or not read yet)",
                    "the store knows nothing of this employee"
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_page_is_never_larger_than_the_most_a_page_may_hold() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let rec = crate::store::AuditRecord {
            system: System::Pac,
            action: "update".into(),
            record: "employee 1".into(),
            before: None,
            after: None,
            result: "ok".into(),
        };
        for _ in 0..(MAX_PAGE + 3) {
            store.append_audit(&rec).unwrap();
        }
        let q = Query::History {
            filter: HistoryFilter::default(),
            before: None,
            limit: u32::MAX,
        };
        match answer(&mut store, &q, &[]).unwrap() {
            AnswerBody::History(p) => {
                assert_eq!(p.entries.len(), MAX_PAGE as usize);
                assert!(p.more);
                assert_eq!(p.total, u64::from(MAX_PAGE) + 3);
            }
            other => panic!("{other:?}"),
        }
    }
}
