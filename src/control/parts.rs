//! Snapshots on the wire as parts: the server remembers what it sent each
//! client (`Sent`) and sends only what changed; the client keeps what it
//! received (`Received`) and assembles whole snapshots again.
//!
//! - Large parts behind an `Arc` (employees, plan, apply, definitions) cross
//!   only when their `Arc` changed; the employee list in pieces of
//!   [`ROWS_PER_FRAME`] rows.
//! - The small head (settings, health, jobs) crosses when its value changed.
//! - The bookings view crosses without its feed; the feed as the entries
//!   that are new or changed since the last frame, and where it now starts.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::astrow_to_pac::AstrowToPacView;

use crate::engine::snapshot::{
    ApplyProgress, BookingsView, DefinitionsView, EmployeeRow, FeedEntry, Health, JobStatus,
    Origin, PlanView, SettingsSummary, Snapshot, UnreadableView,
};
use crate::model::Seq;

/// Employee rows in one frame.
pub const ROWS_PER_FRAME: usize = 5_000;

/// A snapshot as sent (`None`: unchanged, keep yours).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotFrame {
    pub version: u64,
    pub generated_at: Option<DateTime<Utc>>,
    pub paused: bool,
    pub site_refusal: Option<String>,
    pub old_site_pending: u64,
    pub settings: Option<SettingsSummary>,
    pub health: Option<Health>,
    pub jobs: Option<Vec<JobStatus>>,
    /// A new employee list of this many rows: the `employees` frames since
    /// the previous snapshot frame.
    pub employees: Option<usize>,
    pub plan: Change<Option<Arc<PlanView>>>,
    pub apply: Change<Option<Arc<ApplyProgress>>>,
    pub definitions: Option<Arc<DefinitionsView>>,
    /// The bookings view with an empty feed.
    pub bookings: Option<BookingsView>,
    pub feed: Option<FeedUpdate>,
    /// What the listings set aside as unreadable, when it changed.
    #[serde(default)]
    pub unreadable: Option<Arc<Vec<UnreadableView>>>,
    /// The Astrow -> PAC bookings, when they changed.
    #[serde(default)]
    pub astrow_to_pac: Option<Arc<AstrowToPacView>>,
}

/// A part that may be absent itself (no plan): whether it changed, told
/// apart from its value (JSON cannot tell `Some(None)` from `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change<T> {
    Keep,
    To(T),
}

/// How the bookings feed changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedUpdate {
    Full(Vec<FeedEntry>),
    /// Keep your entries from `first` on, replace or append these.
    Since {
        first: Option<Seq>,
        upserts: Vec<FeedEntry>,
    },
}

/// The feed after `update`, from the feed before it.
pub fn apply_feed(old: &[FeedEntry], update: &FeedUpdate) -> Vec<FeedEntry> {
    match update {
        FeedUpdate::Full(v) => v.clone(),
        FeedUpdate::Since { first, upserts } => {
            let mut out: Vec<FeedEntry> = match first {
                Some(f) => old.iter().filter(|e| e.seq >= *f).cloned().collect(),
                None => Vec::new(),
            };
            let at: HashMap<Seq, usize> = out.iter().enumerate().map(|(i, e)| (e.seq, i)).collect();
            for u in upserts {
                match at.get(&u.seq) {
                    Some(&i) => out[i] = u.clone(),
                    None => out.push(u.clone()),
                }
            }
            out
        }
    }
}

/// The smallest update that turns `old` into `new` (checked: when the
/// delta would not give `new` exactly, the whole feed).
pub fn feed_update(old: Option<&[FeedEntry]>, new: &[FeedEntry]) -> FeedUpdate {
    let Some(old) = old else {
        return FeedUpdate::Full(new.to_vec());
    };
    let before: HashMap<Seq, &FeedEntry> = old.iter().map(|e| (e.seq, e)).collect();
    let delta = FeedUpdate::Since {
        first: new.first().map(|e| e.seq),
        upserts: new
            .iter()
            .filter(|e| before.get(&e.seq) != Some(e))
            .cloned()
            .collect(),
    };
    if apply_feed(old, &delta) == new {
        delta
    } else {
        FeedUpdate::Full(new.to_vec())
    }
}

/// What the server sent one client.
#[derive(Debug, Default)]
pub struct Sent {
    settings: Option<String>,
    health: Option<String>,
    jobs: Option<String>,
    employees: Option<Arc<Vec<EmployeeRow>>>,
    plan: Option<Option<Arc<PlanView>>>,
    apply: Option<Option<Arc<ApplyProgress>>>,
    definitions: Option<Arc<DefinitionsView>>,
    bookings: Option<Arc<BookingsView>>,
    bookings_head: Option<String>,
    unreadable: Option<Arc<Vec<UnreadableView>>>,
    astrow_to_pac: Option<Arc<AstrowToPacView>>,
}

fn changed<T>(last: &mut Option<Arc<T>>, now: &Arc<T>) -> Option<Arc<T>> {
    if last.as_ref().is_some_and(|l| Arc::ptr_eq(l, now)) {
        return None;
    }
    *last = Some(now.clone());
    Some(now.clone())
}

fn changed_opt<T>(
    last: &mut Option<Option<Arc<T>>>,
    now: &Option<Arc<T>>,
) -> Change<Option<Arc<T>>> {
    let same = match (&*last, now) {
        (Some(Some(l)), Some(n)) => Arc::ptr_eq(l, n),
        (Some(None), None) => true,
        _ => false,
    };
    if same {
        return Change::Keep;
    }
    *last = Some(now.clone());
    Change::To(now.clone())
}

/// `now` when its value differs from the last one sent.
fn changed_value<T: Serialize + Clone>(last: &mut Option<String>, now: &T) -> Option<T> {
    let text = serde_json::to_string(now).ok();
    if text.is_some() && *last == text {
        return None;
    }
    *last = text;
    Some(now.clone())
}

impl Sent {
    /// The new employee list to send before the frame, if it changed.
    pub fn employees(&mut self, snap: &Snapshot) -> Option<Arc<Vec<EmployeeRow>>> {
        changed(&mut self.employees, &snap.employees)
    }

    /// The frame for `snap` (after the rows of [`Sent::employees`], whose
    /// count `new_rows` is); remembers what was sent.
    pub fn frame(&mut self, snap: &Snapshot, new_rows: Option<usize>) -> SnapshotFrame {
        let (bookings, feed) = self.bookings(&snap.bookings);
        SnapshotFrame {
            version: snap.version,
            generated_at: snap.generated_at,
            paused: snap.paused,
            site_refusal: snap.site_refusal.clone(),
            old_site_pending: snap.old_site_pending,
            settings: changed_value(&mut self.settings, &snap.settings),
            health: changed_value(&mut self.health, &snap.health),
            jobs: changed_value(&mut self.jobs, &snap.jobs),
            employees: new_rows,
            plan: changed_opt(&mut self.plan, &snap.plan),
            apply: changed_opt(&mut self.apply, &snap.apply),
            definitions: changed(&mut self.definitions, &snap.definitions),
            bookings,
            feed,
            unreadable: changed(&mut self.unreadable, &snap.unreadable),
            astrow_to_pac: changed(&mut self.astrow_to_pac, &snap.astrow_to_pac),
        }
    }

    fn bookings(&mut self, now: &Arc<BookingsView>) -> (Option<BookingsView>, Option<FeedUpdate>) {
        let old = self.bookings.clone();
        if old.as_ref().is_some_and(|o| Arc::ptr_eq(o, now)) {
            return (None, None);
        }
        self.bookings = Some(now.clone());
        let head = BookingsView {
            feed: Vec::new(),
            ..(**now).clone()
        };
        let feed = match old.as_deref() {
            Some(o) if o.feed == now.feed => None,
            o => Some(feed_update(o.map(|o| o.feed.as_slice()), &now.feed)),
        };
        (changed_value(&mut self.bookings_head, &head), feed)
    }
}

/// What the client received.
#[derive(Debug, Default)]
pub struct Received {
    settings: SettingsSummary,
    health: Health,
    jobs: Vec<JobStatus>,
    rows: Vec<EmployeeRow>,
    employees: Arc<Vec<EmployeeRow>>,
    plan: Option<Arc<PlanView>>,
    apply: Option<Arc<ApplyProgress>>,
    definitions: Arc<DefinitionsView>,
    bookings: Arc<BookingsView>,
    unreadable: Arc<Vec<UnreadableView>>,
    astrow_to_pac: Arc<AstrowToPacView>,
}

impl Received {
    /// Rows of a coming employee list.
    pub fn rows(&mut self, rows: Vec<EmployeeRow>) {
        self.rows.extend(rows);
    }

    /// The whole picture from a frame and what came before it; `Err` when
    /// the frame does not fit (a count of rows that did not all arrive).
    pub fn assemble(&mut self, f: SnapshotFrame, origin: Origin) -> Result<Snapshot, String> {
        if let Some(n) = f.employees {
            let rows = std::mem::take(&mut self.rows);
            if rows.len() != n {
                return Err(format!(
                    "{} employee rows arrived for a list of {n}",
                    rows.len()
                ));
            }
            self.employees = Arc::new(rows);
        }
        if let Some(s) = f.settings {
            self.settings = s;
        }
        if let Some(h) = f.health {
            self.health = h;
        }
        if let Some(j) = f.jobs {
            self.jobs = j;
        }
        if let Change::To(p) = f.plan {
            self.plan = p;
        }
        if let Change::To(a) = f.apply {
            self.apply = a;
        }
        if let Some(d) = f.definitions {
            self.definitions = d;
        }
        if let Some(u) = f.unreadable {
            self.unreadable = u;
        }
        if let Some(a) = f.astrow_to_pac {
            self.astrow_to_pac = a;
        }
        if f.bookings.is_some() || f.feed.is_some() {
            let mut view = f.bookings.unwrap_or_else(|| (*self.bookings).clone());
            view.feed = match &f.feed {
                Some(u) => apply_feed(&self.bookings.feed, u),
                None => self.bookings.feed.clone(),
            };
            self.bookings = Arc::new(view);
        }
        Ok(Snapshot {
            version: f.version,
            generated_at: f.generated_at,
            settings: self.settings.clone(),
            health: self.health.clone(),
            jobs: self.jobs.clone(),
            paused: f.paused,
            site_refusal: f.site_refusal,
            old_site_pending: f.old_site_pending,
            employees: self.employees.clone(),
            plan: self.plan.clone(),
            apply: self.apply.clone(),
            definitions: self.definitions.clone(),
            bookings: self.bookings.clone(),
            origin,
            unreadable: self.unreadable.clone(),
            astrow_to_pac: self.astrow_to_pac.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::wire::{ServerFrame, decode_server, encode, encode_rows};
    use crate::tui::testkit::{feed, snapshot_with};

    /// Server to client through the encoding, rows first.
    fn cross(sent: &mut Sent, got: &mut Received, snap: &Snapshot) -> (Snapshot, usize) {
        let mut bytes = 0;
        let rows = sent.employees(snap);
        let n = rows.as_ref().map(|r| r.len());
        for chunk in rows.iter().flat_map(|r| r.chunks(ROWS_PER_FRAME)) {
            let wire = encode_rows(chunk).unwrap();
            bytes += wire.len();
            match decode_server(&wire).unwrap() {
                ServerFrame::Employees(r) => got.rows(r),
                _ => unreachable!(),
            }
        }
        let wire = encode(&ServerFrame::Snapshot(Box::new(sent.frame(snap, n)))).unwrap();
        bytes += wire.len();
        match decode_server(&wire).unwrap() {
            ServerFrame::Snapshot(f) => (got.assemble(*f, Origin::Embedded).unwrap(), bytes),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unreadable_records_cross_when_they_change_and_are_kept_meanwhile() {
        let mut snap = snapshot_with(10, 10, false);
        snap.unreadable = Arc::new(vec![UnreadableView {
            listing: "PAC readers".into(),
            record_id: Some(9),
            reason: "invalid value".into(),
            seen_at: crate::tui::testkit::t0(),
        }]);
        let (mut sent, mut got) = (Sent::default(), Received::default());
        let (first, _) = cross(&mut sent, &mut got, &snap);
        assert_eq!(first.unreadable, snap.unreadable);
        snap.version += 1;
        assert!(
            sent.frame(&snap, None).unreadable.is_none(),
            "unchanged: not sent"
        );
        let (second, _) = cross(&mut sent, &mut got, &snap);
        assert_eq!(second.unreadable, snap.unreadable, "kept by the client");
        snap.unreadable = Arc::new(Vec::new());
        let (third, _) = cross(&mut sent, &mut got, &snap);
        assert!(third.unreadable.is_empty());
    }

    #[test]
    fn only_what_changed_crosses_and_the_client_gets_the_same_picture() {
        let mut snap = snapshot_with(12_345, 300, false);
        let (mut sent, mut got) = (Sent::default(), Received::default());
        let (first, full) = cross(&mut sent, &mut got, &snap);
        assert_eq!(first.employees.len(), 12_345);
        assert_eq!(
            serde_json::to_value(&*first.employees).unwrap(),
            serde_json::to_value(&*snap.employees).unwrap(),
            "every row arrives as it was"
        );
        assert_eq!(first.bookings.feed, snap.bookings.feed);
        assert_eq!(first.jobs.len(), snap.jobs.len());

        // A bookings-only change: a new swipe, an old one answered, the oldest gone.
        let more = feed(301);
        let mut b = (*snap.bookings).clone();
        b.feed.remove(0);
        b.feed[10].delivery = more[0].delivery.clone();
        b.feed[10].employee = Some("changed".into());
        b.feed.push(FeedEntry {
            seq: Seq(b.feed.last().unwrap().seq.0 + 1),
            ..more[300].clone()
        });
        b.delivered += 1;
        snap.bookings = Arc::new(b);
        snap.version += 1;
        let (second, small) = cross(&mut sent, &mut got, &snap);
        assert_eq!(second.bookings.feed, snap.bookings.feed);
        assert_eq!(second.bookings.delivered, snap.bookings.delivered);
        assert!(Arc::ptr_eq(&second.employees, &first.employees), "kept");
        assert!(
            small < 4_000,
            "{small} bytes for a bookings-only change (first: {full})"
        );

        // The plan going away, the jobs changing: both arrive.
        snap.plan = None;
        snap.jobs.pop();
        let (third, _) = cross(&mut sent, &mut got, &snap);
        assert!(third.plan.is_none());
        assert_eq!(third.jobs.len(), snap.jobs.len());
    }

    #[test]
    fn a_feed_out_of_order_falls_back_to_the_whole_feed() {
        let f = feed(5);
        let mut reversed = f.clone();
        reversed.reverse();
        let u = feed_update(Some(&f), &reversed);
        assert!(matches!(u, FeedUpdate::Full(_)));
        assert_eq!(apply_feed(&f, &u), reversed);
        assert_eq!(
            feed_update(Some(&f), &f),
            FeedUpdate::Since {
                first: Some(f[0].seq),
                upserts: vec![]
            }
        );
    }

    #[test]
    fn rows_that_do_not_add_up_are_refused() {
        let mut got = Received::default();
        got.rows(snapshot_with(3, 0, false).employees.to_vec());
        let mut sent = Sent::default();
        let f = sent.frame(&Snapshot::default(), Some(5));
        assert!(got.assemble(f, Origin::Embedded).is_err());
    }
}
