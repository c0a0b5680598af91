//! The simulated Astrow's data and its rules, without HTTP: employees,
//! sessions, bookings, the notification feed.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::time::Instant;

use super::request::ApiErr;
use crate::astrow::wire::{
    AccessGroup, CodeName, Employee, EmployeeIn, Heartbeat, Licenses, Notification, NotificationOp,
    PacTab, Reader, StoredBooking, clean_badge,
};
use crate::model::PersNo;
use crate::sim::roster::Roster;

/// A user of the simulated Astrow.
#[derive(Clone)]
pub struct SimUser {
    pub username: String,
    pub password: String,
    /// The permission "Allow API to connect to Astrow".
    pub allow_api: bool,
}

impl std::fmt::Debug for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimUser")
            .field("username", &self.username)
            .field("allow_api", &self.allow_api)
            .finish_non_exhaustive()
    }
}

struct Token {
    username: String,
    expires: Instant,
}

/// Counters shown by `/_sim/stats`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    pub logins: u64,
    pub processed: u64,
    pub queued: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub edits: u64,
}

/// The last heartbeat and when it came.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LastHeartbeat {
    pub heartbeat: Heartbeat,
    pub received_at: DateTime<FixedOffset>,
}

pub struct State {
    pub users: Vec<SimUser>,
    tokens: HashMap<String, Token>,
    pub token_ttl: Duration,
    pub licences: Licenses,
    pub cycles: Vec<CodeName>,
    pub paygroups: Vec<CodeName>,
    pub employees: Roster<Employee>,
    next_pers_no: u64,
    created_by_key: HashMap<String, Employee>,
    pub groups: Vec<AccessGroup>,
    pub readers: Vec<Reader>,
    pub bookings: BTreeMap<u64, StoredBooking>,
    pub(super) by_source: HashMap<String, u64>,
    pub(super) next_booking_id: u64,
    /// Bookings at or before this date fall in a closed pay period.
    pub closed_until: Option<NaiveDate>,
    pub notifications: Vec<Notification>,
    pub heartbeat: Option<LastHeartbeat>,
    pub counts: Counts,
    pub(super) rng: StdRng,
    /// Bookings made at Astrow's own terminals so far (their source ids count up).
    pub(super) own_made: u64,
}

pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

impl State {
    pub fn new(seed: u64, users: Vec<SimUser>, token_ttl: Duration, licences: Licenses) -> Self {
        State {
            users,
            tokens: HashMap::new(),
            token_ttl,
            licences,
            cycles: Vec::new(),
            paygroups: Vec::new(),
            employees: Roster::default(),
            next_pers_no: 1001,
            created_by_key: HashMap::new(),
            groups: Vec::new(),
            readers: Vec::new(),
            bookings: BTreeMap::new(),
            by_source: HashMap::new(),
            next_booking_id: 1,
            closed_until: None,
            notifications: Vec::new(),
            heartbeat: None,
            counts: Counts::default(),
            rng: StdRng::seed_from_u64(seed),
            own_made: 0,
        }
    }

    /// Put a seeded employee in place, without a notification.
    pub fn seed_employee(&mut self, e: Employee) {
        self.next_pers_no = self.next_pers_no.max(e.pers_no.0 + 1);
        self.employees.insert(e.pers_no.0, e);
    }

    pub fn last_seq(&self) -> u64 {
        self.notifications.last().map_or(0, |n| n.seq)
    }

    fn notify(&mut self, op: NotificationOp, pers_no: PersNo) {
        let seq = self.last_seq() + 1;
        self.notifications.push(Notification {
            seq,
            op,
            pers_no,
            time: now(),
        });
    }

    // ------------------------------------------------------------ sessions

    /// `POST /session`: a new token, or why not.
    pub fn login(&mut self, username: &str, password: &str) -> Result<(String, Duration), ApiErr> {
        let user = self
            .users
            .iter()
            .find(|u| u.username == username && u.password == password)
            .ok_or_else(invalid_credentials)?;
        if !user.allow_api {
            return Err(permission_missing(username));
        }
        // Tokens from the OS-seeded generator: unguessable whatever the seed.
        let mut raw = [0u8; 24];
        rand::rng().fill_bytes(&mut raw);
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        self.tokens.insert(
            token.clone(),
            Token {
                username: username.to_string(),
                expires: Instant::now() + self.token_ttl,
            },
        );
        self.counts.logins += 1;
        Ok((token, self.token_ttl))
    }

    /// The user a Bearer token belongs to.
    pub fn authorize(&mut self, token: Option<&str>) -> Result<String, ApiErr> {
        let token = token.ok_or_else(invalid_credentials)?;
        let Some(t) = self.tokens.get(token) else {
            return Err(token_expired());
        };
        if Instant::now() >= t.expires {
            self.tokens.remove(token);
            return Err(token_expired());
        }
        let username = t.username.clone();
        let allowed = self
            .users
            .iter()
            .any(|u| u.username == username && u.allow_api);
        if !allowed {
            return Err(permission_missing(&username));
        }
        Ok(username)
    }

    /// Every token expires now; answers how many there were.
    pub fn expire_tokens(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        n
    }

    pub fn need_employees_import(&self) -> Result<(), ApiErr> {
        if self.licences.employees_import {
            Ok(())
        } else {
            Err(licence_missing("Employees import", "employee"))
        }
    }

    pub fn need_file_terminal(&self) -> Result<(), ApiErr> {
        if self.licences.file_terminal {
            Ok(())
        } else {
            Err(licence_missing("File terminal", "booking"))
        }
    }

    // ------------------------------------------------------------ employees

    pub fn employee(&self, pers_no: u64) -> Result<&Employee, ApiErr> {
        self.employees
            .get(&pers_no)
            .ok_or_else(|| ApiErr::not_found(format!("no employee with pers_no {pers_no}")))
    }

    /// `POST /employees`: the new employee, or the first answer to `key`.
    pub fn create(&mut self, input: EmployeeIn, key: Option<String>) -> Result<Employee, ApiErr> {
        if let Some(first) = key.as_ref().and_then(|k| self.created_by_key.get(k)) {
            return Ok(first.clone());
        }
        let e = self.checked(input, None, true)?;
        let e = Employee {
            pers_no: PersNo(self.next_pers_no),
            version: 1,
            ..e
        };
        self.next_pers_no += 1;
        self.employees.insert(e.pers_no.0, e.clone());
        self.notify(NotificationOp::Add, e.pers_no);
        if let Some(k) = key {
            self.created_by_key.insert(k, e.clone());
        }
        Ok(e)
    }

    /// `PUT /employees/{pers_no}`.
    pub fn update(
        &mut self,
        pers_no: u64,
        if_match: u64,
        input: EmployeeIn,
    ) -> Result<Employee, ApiErr> {
        let old = self.employee(pers_no)?.clone();
        check_version(&old, if_match)?;
        let new = self.checked(input, Some(pers_no), false)?;
        let new = Employee {
            pers_no: old.pers_no,
            version: old.version,
            ..new
        };
        if new == old {
            return Ok(old);
        }
        let new = Employee {
            version: old.version + 1,
            ..new
        };
        self.employees.insert(pers_no, new.clone());
        self.notify(NotificationOp::Edit, old.pers_no);
        Ok(new)
    }

    /// `DELETE /employees/{pers_no}`.
    pub fn delete(&mut self, pers_no: u64, if_match: u64) -> Result<(), ApiErr> {
        let old = self.employee(pers_no)?;
        check_version(old, if_match)?;
        let pers_no = old.pers_no;
        self.employees.remove(pers_no.0);
        self.notify(NotificationOp::Delete, pers_no);
        Ok(())
    }

    /// The rules of an employee write; the employee it makes (pers_no and
    /// version still to be set).
    fn checked(
        &self,
        i: EmployeeIn,
        pers_no: Option<u64>,
        creating: bool,
    ) -> Result<Employee, ApiErr> {
        let invalid =
            |field: &str, msg: &str| ApiErr::unprocessable("validation_failed", field, msg);
        if i.first_name.trim().is_empty() && i.last_name.trim().is_empty() {
            return Err(invalid(
                "first_name",
                "an employee needs a first or a last name",
            ));
        }
        let badge_no = clean_badge(i.badge_no.as_deref());
        if creating && badge_no.is_none() {
            return Err(invalid("badge_no", "a new employee needs a badge number"));
        }
        if creating && i.contract_start.is_none() {
            return Err(invalid(
                "contract_start",
                "a new employee needs a contract start date",
            ));
        }
        if let (Some(start), Some(end)) = (i.contract_start, i.contract_end)
            && end < start
        {
            return Err(invalid(
                "contract_end",
                "the contract cannot end before it starts",
            ));
        }
        let cycle_code = i.cycle_code.unwrap_or_default();
        if cycle_code.is_empty() {
            return Err(invalid("cycle_code", "an employee needs a cycle"));
        }
        if !self.cycles.iter().any(|c| c.code == cycle_code) {
            return Err(ApiErr::unprocessable(
                "unknown_cycle",
                "cycle_code",
                format!("there is no cycle {cycle_code:?}"),
            ));
        }
        let paygroup_code = i.paygroup_code.unwrap_or_default();
        if paygroup_code.is_empty() {
            return Err(invalid("paygroup_code", "an employee needs a pay group"));
        }
        if !self.paygroups.iter().any(|c| c.code == paygroup_code) {
            return Err(ApiErr::unprocessable(
                "unknown_paygroup",
                "paygroup_code",
                format!("there is no pay group {paygroup_code:?}"),
            ));
        }
        if let Some(b) = &badge_no
            && let Some(owner) = self
                .employees
                .holders(b)
                .find(|id| Some(*id) != pers_no)
                .and_then(|id| self.employees.get(&id))
        {
            return Err(ApiErr::new(
                StatusCode::CONFLICT,
                "badge_in_use",
                format!("badge {b} belongs to employee {}", owner.pers_no),
            )
            .field("badge_no"));
        }
        Ok(Employee {
            pers_no: PersNo(0),
            employee_no: i.employee_no,
            first_name: i.first_name,
            middle_name: i.middle_name,
            last_name: i.last_name,
            badge_no,
            active: i.active,
            contract_start: i.contract_start,
            contract_end: i.contract_end,
            cycle_code,
            paygroup_code,
            pac: PacTab {
                access_group_ids: i.pac.access_group_ids,
                badge_type: i.pac.badge_type,
            },
            external_ref: i.external_ref,
            version: 0,
        })
    }

    /// `/_sim/edit`: `count` employees changed as a person in Astrow would.
    pub fn edit_random(&mut self, count: usize) -> usize {
        let keys: Vec<u64> = self.employees.keys().copied().collect();
        if keys.is_empty() {
            return 0;
        }
        for _ in 0..count {
            let pers_no = keys[self.rng.random_range(0..keys.len())];
            let kind = self.rng.random_range(0..4u8);
            let fresh_badge = self.fresh_badge();
            let edited = self.employees.update(pers_no, |e| {
                match kind {
                    0 => {
                        e.last_name = format!(
                            "{}-{}",
                            e.last_name.split('-').next().unwrap_or(""),
                            "Ionescu"
                        )
                    }
                    1 => e.first_name = format!("{}a", e.first_name.trim_end_matches('a')),
                    2 => e.active = !e.active,
                    _ => e.badge_no = Some(fresh_badge),
                }
                e.version += 1;
                e.pers_no
            });
            let Some(pers_no) = edited else {
                continue;
            };
            self.counts.edits += 1;
            self.notify(NotificationOp::Edit, pers_no);
        }
        count
    }

    fn fresh_badge(&mut self) -> String {
        loop {
            let b = format!("{}", self.rng.random_range(800_000..900_000u32));
            if self.employees.holders(&b).next().is_none() {
                return b;
            }
        }
    }
}

fn check_version(current: &Employee, if_match: u64) -> Result<(), ApiErr> {
    if current.version == if_match {
        return Ok(());
    }
    let mut e = ApiErr::new(
        StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        format!(
            "employee {} is at version {}, not {if_match}",
            current.pers_no, current.version
        ),
    );
    e.current = serde_json::to_value(current).ok();
    Err(e)
}

fn invalid_credentials() -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong user name or password, or no Bearer token",
    )
}

fn token_expired() -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "the session token has expired or is unknown: log in again",
    )
}

fn permission_missing(username: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::FORBIDDEN,
        "api_permission_missing",
        format!("the user {username} lacks the permission 'Allow API to connect to Astrow'"),
    )
}

fn licence_missing(licence: &str, what: &str) -> ApiErr {
    ApiErr::new(
        StatusCode::FORBIDDEN,
        "license_missing",
        format!("this Astrow has no '{licence}' licence: {what} writes are refused"),
    )
}
