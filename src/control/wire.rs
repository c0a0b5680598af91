//! The frames of the control socket: JSON documents, each in one frame of
//! tokio-util's length-delimited codec (a 4-byte big-endian length, then the
//! bytes).
//!
//! A connection starts with the client's `hello` and the server's answer
//! (its own `hello`, or `refused` with the reason, after which it closes).
//! Then the client sends `command`s with request ids and gets a `reply` for
//! each; the server sends `snapshot` frames carrying only the large parts
//! whose `Arc` changed since the last one it sent this client, and `event`s.
//! No secret is in any of these types (the snapshot holds none by design).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

use crate::engine::command::{Command, EngineEvent};
use crate::engine::snapshot::{
    ApplyProgress, BookingsView, DefinitionsView, EmployeeRow, Health, JobStatus, Origin, PlanView,
    SettingsSummary, Snapshot,
};

/// The wire's version: both ends must speak the same one.
pub const PROTOCOL: u32 = 1;
/// The product version, told in the hello (a console newer than the service says so).
pub const PRODUCT: &str = env!("CARGO_PKG_VERSION");
/// The largest frame a client may send (commands are small).
pub const MAX_CLIENT_FRAME: usize = 1 << 20;
/// The largest frame the server sends (a full picture of 100k employees a side).
pub const MAX_SERVER_FRAME: usize = 512 << 20;

/// The codec each side reads with: a huge length is an error, not an allocation.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max_frame)
        .new_codec()
}

/// What a client says first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    pub protocol: u32,
    pub product: String,
    /// The SSH client address of the console's session, for the audit log.
    pub ssh_from: Option<String>,
    /// `--read-only`: the server refuses every write from this connection.
    pub read_only: bool,
}

impl ClientHello {
    pub fn new(ssh_from: Option<String>, read_only: bool) -> ClientHello {
        ClientHello {
            protocol: PROTOCOL,
            product: PRODUCT.to_string(),
            ssh_from,
            read_only,
        }
    }
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(ClientHello),
    Command { id: u64, command: Command },
}

/// The server's answer to a hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    pub protocol: u32,
    pub product: String,
    /// The engine's process.
    pub pid: u32,
    /// Who the server takes the client for (from the socket's peer credentials).
    pub you_are: String,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerFrame {
    Hello(ServerHello),
    /// The connection is refused; the server closes it after this frame.
    Refused {
        reason: String,
        protocol: u32,
        product: String,
    },
    Reply {
        id: u64,
        /// `Err` names why the command was refused.
        result: Result<(), String>,
    },
    Snapshot(Box<SnapshotFrame>),
    Event(EngineEvent),
}

/// A snapshot as sent: the small head always, each large part only when it
/// changed since the previous frame to this client (`None`: keep yours).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotFrame {
    pub version: u64,
    pub generated_at: Option<DateTime<Utc>>,
    pub settings: SettingsSummary,
    pub health: Health,
    pub jobs: Vec<JobStatus>,
    pub paused: bool,
    pub site_refusal: Option<String>,
    pub old_site_pending: u64,
    pub employees: Option<Arc<Vec<EmployeeRow>>>,
    pub plan: Option<Option<Arc<PlanView>>>,
    pub apply: Option<Option<Arc<ApplyProgress>>>,
    pub definitions: Option<Arc<DefinitionsView>>,
    pub bookings: Option<Arc<BookingsView>>,
}

/// The large parts last sent to one client (the server's side) or last
/// received (the client's side).
#[derive(Debug, Clone, Default)]
pub struct Parts {
    employees: Option<Arc<Vec<EmployeeRow>>>,
    plan: Option<Option<Arc<PlanView>>>,
    apply: Option<Option<Arc<ApplyProgress>>>,
    definitions: Option<Arc<DefinitionsView>>,
    bookings: Option<Arc<BookingsView>>,
}

fn same<T>(last: &Option<Arc<T>>, now: &Arc<T>) -> bool {
    last.as_ref().is_some_and(|l| Arc::ptr_eq(l, now))
}

fn same_opt<T>(last: &Option<Option<Arc<T>>>, now: &Option<Arc<T>>) -> bool {
    match (last, now) {
        (Some(Some(l)), Some(n)) => Arc::ptr_eq(l, n),
        (Some(None), None) => true,
        _ => false,
    }
}

fn changed<T>(last: &mut Option<Arc<T>>, now: &Arc<T>) -> Option<Arc<T>> {
    if same(last, now) {
        return None;
    }
    *last = Some(now.clone());
    Some(now.clone())
}

fn changed_opt<T>(
    last: &mut Option<Option<Arc<T>>>,
    now: &Option<Arc<T>>,
) -> Option<Option<Arc<T>>> {
    if same_opt(last, now) {
        return None;
    }
    *last = Some(now.clone());
    Some(now.clone())
}

impl Parts {
    /// The frame for `snap`, carrying only what differs from what this
    /// client has; remembers what was sent.
    pub fn frame(&mut self, snap: &Snapshot) -> SnapshotFrame {
        SnapshotFrame {
            version: snap.version,
            generated_at: snap.generated_at,
            settings: snap.settings.clone(),
            health: snap.health.clone(),
            jobs: snap.jobs.clone(),
            paused: snap.paused,
            site_refusal: snap.site_refusal.clone(),
            old_site_pending: snap.old_site_pending,
            employees: changed(&mut self.employees, &snap.employees),
            plan: changed_opt(&mut self.plan, &snap.plan),
            apply: changed_opt(&mut self.apply, &snap.apply),
            definitions: changed(&mut self.definitions, &snap.definitions),
            bookings: changed(&mut self.bookings, &snap.bookings),
        }
    }

    /// The whole picture from a frame and the parts received before it.
    /// A part never received yet is empty.
    pub fn assemble(&mut self, f: SnapshotFrame, origin: Origin) -> Snapshot {
        if let Some(e) = f.employees {
            self.employees = Some(e);
        }
        if let Some(p) = f.plan {
            self.plan = Some(p);
        }
        if let Some(a) = f.apply {
            self.apply = Some(a);
        }
        if let Some(d) = f.definitions {
            self.definitions = Some(d);
        }
        if let Some(b) = f.bookings {
            self.bookings = Some(b);
        }
        Snapshot {
            version: f.version,
            generated_at: f.generated_at,
            settings: f.settings,
            health: f.health,
            jobs: f.jobs,
            paused: f.paused,
            site_refusal: f.site_refusal,
            old_site_pending: f.old_site_pending,
            employees: self.employees.clone().unwrap_or_default(),
            plan: self.plan.clone().flatten(),
            apply: self.apply.clone().flatten(),
            definitions: self.definitions.clone().unwrap_or_default(),
            bookings: self.bookings.clone().unwrap_or_default(),
            origin,
        }
    }
}

/// Encode a frame's document.
pub fn encode<T: Serialize>(frame: &T) -> Result<bytes::Bytes, serde_json::Error> {
    serde_json::to_vec(frame).map(bytes::Bytes::from)
}

/// Decode a frame's document; the error names what is wrong with it.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("a malformed frame ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::FeedEntry;

    #[test]
    fn only_the_parts_whose_arc_changed_are_sent_again() {
        let mut snap = crate::tui::testkit::snapshot_with(50, 20, false);
        let mut server = Parts::default();
        let mut client = Parts::default();
        let first = server.frame(&snap);
        assert!(first.employees.is_some() && first.bookings.is_some() && first.plan.is_some());
        let got = client.assemble(first, Origin::Embedded);
        assert_eq!(got.employees.len(), 50);

        // A bookings-only change: the employees and the plan stay behind.
        let mut feed = (*snap.bookings).clone();
        feed.feed.truncate(1);
        snap.bookings = Arc::new(feed);
        snap.version += 1;
        let second = server.frame(&snap);
        assert!(second.employees.is_none() && second.plan.is_none());
        assert!(second.definitions.is_none());
        let wire = encode(&second).unwrap();
        let back: SnapshotFrame = decode(&wire).unwrap();
        let got = client.assemble(back, Origin::Embedded);
        assert_eq!(got.employees.len(), 50, "kept from the first frame");
        assert!(got.plan.is_some(), "kept from the first frame");
        let entries: &Vec<FeedEntry> = &got.bookings.feed;
        assert_eq!(entries.len(), 1);

        // The plan going away is a change too.
        snap.plan = None;
        let third = server.frame(&snap);
        assert!(matches!(third.plan, Some(None)));
        assert!(client.assemble(third, Origin::Embedded).plan.is_none());
    }

    #[test]
    fn frames_round_trip_and_garbage_is_named() {
        let f = ClientFrame::Command {
            id: 7,
            command: Command::Approve(vec!["a".into()]),
        };
        let back: ClientFrame = decode(&encode(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        let err = decode::<ClientFrame>(b"\x00\xffnot json").unwrap_err();
        assert!(err.contains("malformed frame"), "{err}");
    }
}
