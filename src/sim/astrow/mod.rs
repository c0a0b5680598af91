//! The simulated Astrow Web API (`protocol.md`), with its `/_sim/` controls:
//!
//! - `POST /_sim/edit {"count": N}`: N employees changed as a person in
//!   Astrow would (names, badge, active), versions bumped, notifications sent;
//! - `POST /_sim/expire_tokens`: every session token expires now (the shared
//!   `PUT /_sim/faults {"expire_tokens": true}` does the same);
//! - `PUT /_sim/licences {"file_terminal", "employees_import"}`;
//! - `PUT /_sim/permission {"username"?, "allow_api"}` ("astrow-io" when no
//!   user is named);
//! - `POST /_sim/own_bookings {"count": N, "kind"?, "serial"?}`: N bookings
//!   at Astrow's own terminals (web clock, mobile app; `kind` "web",
//!   "mobile", "terminal" or "file"), by random employees, one in ten with a
//!   badge no one holds; at the terminal `serial` when given (`file` at a
//!   PAC reader's serial: the old Astrow IO Service's bookings of PAC swipes);
//! - `PUT /_sim/own_bookings {"per_min": F}`: such bookings at a rate (0 stops);
//! - `POST /_sim/restore_bookings {"through": N}`: Astrow restored from a
//!   backup taken when its newest booking was N (later ones gone, ids go on
//!   from N + 1);
//! - `GET /_sim/stats`: employees, bookings stored, processed, queued,
//!   duplicates, rejected, logins, edits, the last heartbeat, whether Astrow
//!   would show the service red, and the shared request counters.
//!
//! `/_sim/faults` and `/_sim/requests` are the shared server's.
//!
//! State lives in memory behind one mutex that no handler holds across an
//! await; a watch channel carries the newest notification seq so that
//! long polls wake on change.

mod bookings;
mod control;
mod request;
mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::NaiveDate;
use tokio::sync::watch;

pub use request::ApiErr;
pub use state::{Counts, LastHeartbeat, SimUser};

use crate::astrow::wire::{self, Employee, Licenses};
use crate::sim::faults::Faults;
use crate::sim::seed_astrow::AstrowSite;
use crate::sim::server::RunningServer;
use state::State;

/// The user the simulator accepts by default.
pub const DEFAULT_USERNAME: &str = "astrow-io";
/// A second user, without the permission "Allow API to connect to Astrow".
pub const NO_API_USERNAME: &str = "astrow-no-api";

/// How to build a simulated Astrow.
#[derive(Debug, Clone)]
pub struct AstrowSimOptions {
    /// Seeds tokens and `/_sim/edit`.
    pub seed: u64,
    /// Cycles, pay groups and employees to start with; `None`: the default
    /// cycles and pay groups and no employee.
    pub site: Option<AstrowSite>,
    /// Who may log in. [`AstrowSimOptions::with_password`] gives
    /// `astrow-io` (allowed) and `astrow-no-api` (not allowed).
    pub users: Vec<SimUser>,
    pub token_ttl: Duration,
    pub licences: Licenses,
    /// Bookings on or before this date are rejected: a closed pay period.
    pub closed_until: Option<NaiveDate>,
    /// The shared fault settings the server applies: the simulator honours
    /// their `expire_tokens` and shows their request counters in its stats.
    /// `None`: the simulator makes its own (see [`AstrowSim::faults`]).
    pub faults: Option<Arc<Faults>>,
}

impl AstrowSimOptions {
    /// Both default users with `password`, a one-hour token, both licences.
    pub fn with_password(password: &str) -> Self {
        AstrowSimOptions {
            seed: 1,
            site: None,
            users: vec![
                SimUser {
                    username: DEFAULT_USERNAME.to_string(),
                    password: password.to_string(),
                    allow_api: true,
                },
                SimUser {
                    username: NO_API_USERNAME.to_string(),
                    password: password.to_string(),
                    allow_api: false,
                },
            ],
            token_ttl: Duration::from_secs(3600),
            licences: Licenses {
                file_terminal: true,
                employees_import: true,
            },
            closed_until: None,
            faults: None,
        }
    }
}

/// A running simulated Astrow's state; cheap to clone.
#[derive(Clone)]
pub struct AstrowSim {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// The newest notification seq.
    changes: watch::Sender<u64>,
    faults: Arc<Faults>,
    /// The generator of own-terminal bookings, when one runs.
    own_generator: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(g) = self
            .own_generator
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            g.abort();
        }
    }
}

/// Start (or, at 0, stop) the generator of own-terminal bookings. The task
/// holds only a weak reference: it ends with the simulator.
fn set_own_rate(shared: &Arc<Shared>, per_min: f64) {
    let mut slot = shared
        .own_generator
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(old) = slot.take() {
        old.abort();
    }
    if per_min <= 0.0 {
        return;
    }
    let weak = Arc::downgrade(shared);
    *slot = Some(tokio::spawn(async move {
        crate::sim::swipes::run(per_min, |n| {
            let weak = weak.clone();
            async move {
                if let Some(s) = weak.upgrade() {
                    s.lock().own_bookings(n, None);
                }
            }
        })
        .await;
    }));
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked left plain data behind: keep serving.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.faults.take_expire_tokens() {
            state.expire_tokens();
        }
        state
    }

    /// Run a write; wake long polls when it added notifications.
    fn write<T>(&self, f: impl FnOnce(&mut State) -> Result<T, ApiErr>) -> Result<T, ApiErr> {
        let (out, seq) = {
            let mut s = self.lock();
            let out = f(&mut s);
            (out, s.last_seq())
        };
        self.changes.send_if_modified(|old| {
            let changed = *old != seq;
            *old = seq;
            changed
        });
        out
    }
}

impl AstrowSim {
    pub fn new(opts: AstrowSimOptions) -> Self {
        let mut state = State::new(opts.seed, opts.users, opts.token_ttl, opts.licences);
        state.closed_until = opts.closed_until;
        let site = opts.site.unwrap_or_else(AstrowSite::empty);
        state.cycles = site.cycles.iter().map(wire::CodeName::from).collect();
        state.paygroups = site.paygroups.iter().map(wire::CodeName::from).collect();
        for e in &site.employees {
            state.seed_employee(Employee::from(e));
        }
        let (changes, _) = watch::channel(state.last_seq());
        AstrowSim {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                changes,
                faults: opts.faults.unwrap_or_default(),
                own_generator: Mutex::new(None),
            }),
        }
    }

    /// The Web API under `/api/v1` and the controls under `/_sim/`.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/session", post(routes::login))
            .route("/licenses", get(routes::licenses))
            .route(
                "/employees",
                get(routes::list_employees).post(routes::create_employee),
            )
            .route(
                "/employees/{pers_no}",
                get(routes::get_employee)
                    .put(routes::update_employee)
                    .delete(routes::delete_employee),
            )
            .route("/cycles", get(routes::cycles))
            .route("/paygroups", get(routes::paygroups))
            .route(
                "/pac/access-groups",
                get(routes::get_groups).put(routes::put_groups),
            )
            .route(
                "/pac/readers",
                get(routes::get_readers).put(routes::put_readers),
            )
            .route("/bookings/batch", post(routes::book))
            .route("/bookings", get(routes::list_bookings))
            .route("/notifications", get(routes::notifications))
            .route("/heartbeat", post(routes::heartbeat));
        Router::new()
            .nest(wire::BASE_PATH, api)
            .merge(control::router())
            .fallback(routes::not_found)
            .method_not_allowed_fallback(routes::method_not_allowed)
            .layer(DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
            .with_state(self.shared.clone())
    }

    /// The fault settings and request counters to hand to the server.
    pub fn faults(&self) -> Arc<Faults> {
        self.shared.faults.clone()
    }

    /// Serve on `addr` (port 0 picks one), over TLS when `tls` is given,
    /// with the shared faults, in a task of its own.
    pub async fn start(
        &self,
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<RunningServer> {
        RunningServer::start(addr, tls, self.router(), self.faults()).await
    }

    /// What `/_sim/stats` answers.
    pub fn stats(&self) -> control::Stats {
        control::stats(&self.shared)
    }

    /// Change `count` employees as a person in Astrow would.
    pub fn edit(&self, count: usize) -> usize {
        self.shared.write(|s| Ok(s.edit_random(count))).unwrap_or(0)
    }

    /// Every session token expires now.
    pub fn expire_tokens(&self) -> usize {
        self.shared.lock().expire_tokens()
    }

    /// Delete the stored booking with this source id behind the integration's back.
    pub fn delete_booking(&self, source_id: &str) -> bool {
        self.shared.lock().delete_booking(source_id)
    }

    /// Astrow restored from a backup taken at booking `through` (see
    /// `/_sim/restore_bookings`).
    pub fn restore_bookings(&self, through: u64) {
        self.shared.lock().restore_bookings(through);
    }

    /// Store the booking with this source id a second time behind the integration's back.
    pub fn double_booking(&self, source_id: &str) -> bool {
        self.shared.lock().double_booking(source_id)
    }

    /// Bookings at Astrow's own terminals now (see `/_sim/own_bookings`).
    pub fn own_bookings(&self, count: usize, kind: Option<wire::TerminalKind>) -> Vec<u64> {
        self.shared.lock().own_bookings(count, kind)
    }

    /// Such bookings at the terminal with this serial (see `/_sim/own_bookings`).
    pub fn own_bookings_at(
        &self,
        count: usize,
        kind: Option<wire::TerminalKind>,
        serial: &str,
    ) -> Vec<u64> {
        self.shared
            .lock()
            .own_bookings_at(count, kind, Some(serial))
    }

    /// The serials of the readers in Astrow's mirror of PAC's readers.
    pub fn mirrored_reader_serials(&self) -> Vec<String> {
        let s = self.shared.lock();
        s.readers.iter().map(|r| r.serial.clone()).collect()
    }

    /// Own-terminal bookings at `per_min` from now on (0 stops them).
    pub fn set_own_booking_rate(&self, per_min: f64) {
        set_own_rate(&self.shared, per_min);
    }

    /// Every booking Astrow keeps, by booking id.
    pub fn stored_bookings(&self) -> Vec<wire::StoredBooking> {
        self.shared.lock().bookings.values().cloned().collect()
    }

    /// The employees Astrow holds now, in `pers_no` order.
    pub fn employees(&self) -> Vec<Employee> {
        self.shared.lock().employees.values().cloned().collect()
    }
}

pub use control::Stats;
