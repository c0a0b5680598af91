//! Snapshots and a key-driven harness for tests and benchmarks (not part of
//! the product's behaviour).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::engine::snapshot::*;
use crate::model::*;

use super::action::Effect;
use super::app::action_for;
use super::keymap::Keymap;
use super::state::{AppState, Flags};
use super::theme::Theme;
use super::update::update;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0)
        .single()
        .unwrap_or_default()
}

fn local(secs_before: i64) -> DateTime<FixedOffset> {
    (t0() - chrono::TimeDelta::seconds(secs_before)).fixed_offset()
}

const FIRST: [&str; 12] = [
    "Anna", "Bram", "Chloé", "Daan", "Eva", "Finn", "Greet", "Hugo", "Ilse", "Joris", "Katrien",
    "Lars",
];
const LAST: [&str; 10] = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
    "De Smet",
];

pub fn pac_employee(i: u64) -> PacEmployee {
    PacEmployee {
        id: PacId(1000 + i),
        first_name: FIRST[(i % 12) as usize].into(),
        last_name: LAST[(i % 10) as usize].into(),
        employee_number: format!("E{:05}", i),
        active: !i.is_multiple_of(17),
        valid_from: NaiveDate::from_ymd_opt(2024, 1, 1),
        valid_until: None,
        access_group_ids: vec![1, 2 + (i % 3) as u32],
        badges: vec![Badge {
            number: format!("{:08X}", 0xA10000 + i),
            badge_type: BadgeType::PacProximity,
            active: true,
        }],
        external_ref: Some(format!("astrow:{}", 5000 + i)),
        version: 1,
    }
}

pub fn astrow_employee(i: u64) -> AstrowEmployee {
    let p = pac_employee(i);
    AstrowEmployee {
        pers_no: PersNo(5000 + i),
        employee_no: p.employee_number.clone(),
        first_name: p.first_name.clone(),
        middle_name: String::new(),
        last_name: p.last_name.clone(),
        badge_no: Some(p.id.to_string()),
        active: p.active,
        contract_start: NaiveDate::from_ymd_opt(2024, 1, 1),
        contract_end: None,
        cycle_code: "STD".into(),
        paygroup_code: "MONTH".into(),
        pac_access_group_ids: p.access_group_ids.clone(),
        pac_badge_type: Some(BadgeType::PacProximity),
        external_ref: Some(p.id.to_string()),
        version: 1,
    }
}

/// The set of the fields named.
pub fn fields(names: &[&str]) -> FieldSet {
    let mut set = FieldSet::default();
    for name in names {
        assert!(set.insert(name), "{name} is not a row field");
    }
    set
}

/// `n` aligned rows: mostly linked, some drifting, master-only, unmanaged and conflicting.
pub fn employees(n: usize) -> Vec<EmployeeRow> {
    (0..n as u64)
        .map(|i| {
            let mut p = pac_employee(i);
            let mut a = astrow_employee(i);
            match i % 11 {
                3 => {
                    a.last_name = format!("{}-Old", a.last_name);
                    EmployeeRow {
                        kind: RowKind::Linked,
                        pac: Some(PacRecord::from(&p)),
                        astrow: Some(AstrowRecord::from(&a)),
                        differences: fields(&["last_name"]),
                    }
                }
                5 => EmployeeRow {
                    kind: RowKind::MasterOnly,
                    pac: Some(PacRecord::from(&p)),
                    astrow: None,
                    differences: FieldSet::default(),
                },
                7 => {
                    a.external_ref = None;
                    EmployeeRow {
                        kind: RowKind::Unmanaged,
                        pac: None,
                        astrow: Some(AstrowRecord::from(&a)),
                        differences: FieldSet::default(),
                    }
                }
                9 => {
                    p.badges[0].number = "00FF00FF".into();
                    a.active = !p.active;
                    EmployeeRow {
                        kind: RowKind::Linked,
                        pac: Some(PacRecord::from(&p)),
                        astrow: Some(AstrowRecord::from(&a)),
                        differences: fields(&["badge_no", "active"]),
                    }
                }
                10 if i % 4 == 0 => EmployeeRow {
                    kind: RowKind::Conflict,
                    pac: Some(PacRecord::from(&p)),
                    astrow: Some(AstrowRecord::from(&a)),
                    differences: FieldSet::default(),
                },
                _ => EmployeeRow {
                    kind: RowKind::Linked,
                    pac: Some(PacRecord::from(&p)),
                    astrow: Some(AstrowRecord::from(&a)),
                    differences: FieldSet::default(),
                },
            }
        })
        .collect()
}

fn item(
    id: &str,
    action: ActionKind,
    label: &str,
    state: ItemState,
    changes: Vec<FieldChange>,
    reason: &str,
) -> PlanItemView {
    PlanItemView {
        id: id.into(),
        action,
        target: System::Astrow,
        master_id: Some(1003),
        slave_id: Some(5003),
        label: label.into(),
        changes: changes.into(),
        reason: reason.into(),
        state,
        message: None,
        attempts: 0,
        retry_at: None,
        failure_kind: None,
    }
}

fn fc(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.to_string().into(),
        before: before.map(Into::into),
        after: after.map(Into::into),
    }
}

pub fn plan(held: bool) -> PlanView {
    PlanView {
        plan_id: "plan-42".into(),
        master: System::Pac,
        created_at: t0() - chrono::TimeDelta::seconds(40),
        held: held
            .then(|| "3 destructive items, the limit is 2 (sync.deletion_guard.count)".to_string()),
        items: vec![
            item(
                "i1",
                ActionKind::Create,
                "Finn Willems",
                ItemState::Pending,
                vec![
                    fc("first_name", None, Some("Finn")),
                    fc("badge_no", None, Some("1005")),
                ],
                "new in PAC: created in Astrow with contract start today",
            ),
            item(
                "i2",
                ActionKind::Update,
                "Daan Jacobs",
                ItemState::Pending,
                vec![fc("last_name", Some("Jacobs-Old"), Some("Jacobs"))],
                "PAC is master: last name changed in PAC",
            ),
            item(
                "i3",
                ActionKind::Update,
                "Lars Peeters",
                ItemState::Approved,
                vec![fc("active", Some("true"), Some("false"))],
                "PAC is master: deactivated in PAC",
            ),
            item(
                "i4",
                ActionKind::RemoveBadges,
                "Katrien De Smet",
                ItemState::Pending,
                vec![fc("badge_no", Some("1010"), None)],
                "delete employees on sync is off: remove 1 badge, keep active",
            ),
            item(
                "i5",
                ActionKind::RemoveBadges,
                "Hugo Goossens",
                ItemState::Rejected,
                vec![fc("badge_no", Some("1007"), None)],
                "delete employees on sync is off: remove 1 badge, keep active",
            ),
            item(
                "i6",
                ActionKind::Conflict,
                "Eva Mertens",
                ItemState::Pending,
                vec![],
                "two Astrow employees have number E00004: pick one by linking it",
            ),
        ],
        notes: vec![],
        names: Default::default(),
    }
}

pub fn feed(n: usize) -> Vec<FeedEntry> {
    (0..n as u64)
        .map(|i| {
            let (event_type, delivery) = match i % 9 {
                2 => (EventType::AccessDeniedUnknownBadge, Delivery::FeedOnly),
                4 => (
                    EventType::AccessGranted,
                    Delivery::Answered {
                        status: BookingStatus::Queued {
                            booking_id: 900 + i,
                        },
                    },
                ),
                6 => (
                    EventType::AccessGranted,
                    Delivery::Answered {
                        status: BookingStatus::Rejected {
                            reason: "no contract on that day".into(),
                        },
                    },
                ),
                7 => (EventType::AccessGranted, Delivery::Pending),
                8 => (EventType::DoorHeldOpen, Delivery::FeedOnly),
                _ => (
                    EventType::AccessGranted,
                    Delivery::Answered {
                        status: BookingStatus::Processed {
                            booking_id: 700 + i,
                        },
                    },
                ),
            };
            let p = pac_employee(i % 50);
            FeedEntry {
                seq: Seq(88_000 + i),
                time: local((n as i64 - i as i64) * 7),
                event_type,
                badge_number: Some(p.badges[0].number.clone()),
                employee: (i % 9 != 2).then(|| format!("{} {}", p.first_name, p.last_name)),
                reader: ["Main entrance", "Warehouse gate", "Office 2F"][(i % 3) as usize].into(),
                direction: Some(if i % 2 == 0 {
                    Direction::In
                } else {
                    Direction::Out
                }),
                delivery,
                pairing_note: None,
            }
        })
        .collect()
}

pub fn definitions() -> DefinitionsView {
    let g = |id, name: &str, d| AccessGroup {
        id,
        name: name.into(),
        is_default: d,
    };
    let r = |id, name: &str, serial: &str, online| Reader {
        id,
        name: name.into(),
        controller_id: 1,
        controller_name: "Controller A".into(),
        serial: serial.into(),
        direction: Direction::In,
        online,
    };
    DefinitionsView {
        pac_groups: vec![
            g(1, "All staff", true),
            g(2, "Warehouse", false),
            g(3, "Office", false),
            g(4, "Night shift", false),
        ],
        astrow_groups: vec![
            g(1, "All staff", true),
            g(2, "Warehouse", false),
            g(3, "Offices", false),
            g(9, "Old contractors", false),
        ],
        pac_readers: vec![
            r(11, "Main entrance", "R-0011", true),
            r(12, "Warehouse gate", "R-0012", true),
            r(13, "Office 2F", "R-0013", false),
        ],
        astrow_readers: vec![
            r(11, "Main entrance", "R-0011", true),
            r(12, "Warehouse gate", "R-0012", true),
        ],
        reader_settings: vec![
            ReaderBookingView {
                serial: "R-0011".into(),
                booking: true,
                direction: Direction::In,
                roll_call: false,
            },
            ReaderBookingView {
                serial: "R-0012".into(),
                booking: true,
                direction: Direction::Out,
                roll_call: true,
            },
        ],
        pending: vec![
            "create access group 4 \"Night shift\"".into(),
            "rename access group 3 to \"Office\"".into(),
            "create reader R-0013 \"Office 2F\"".into(),
        ],
        held: None,
        removals: Vec::new(),
        refused: Vec::new(),
    }
}

fn job(kind: JobKind, ok: bool, summary: &str, next: i64) -> JobStatus {
    let run = JobRun {
        started: t0() - chrono::TimeDelta::seconds(95),
        finished: Some(t0() - chrono::TimeDelta::seconds(90)),
        ok,
        warning: false,
        summary: summary.into(),
    };
    JobStatus {
        kind,
        state: JobState::Idle,
        last_run: Some(run.clone()),
        next_run: Some(t0() + chrono::TimeDelta::seconds(next)),
        history: vec![run],
    }
}

/// A realistic snapshot: `n` employees, a held or free plan, a feed of `feed_len` swipes.
pub fn snapshot_with(n: usize, feed_len: usize, held: bool) -> Snapshot {
    Snapshot {
        version: 7,
        generated_at: Some(t0()),
        settings: SettingsSummary {
            master: Some(System::Pac),
            apply_mode: ApplyModeView::Manual,
            delete_employees_on_sync: false,
            read_only: false,
            demo: false,
            config_path: "/etc/astrow-pac/astrow-pac.toml".into(),
            pac_address: "pac.example.local".into(),
            astrow_url: "https://astrow.example.local/api".into(),
        },
        health: Health {
            pac: SystemHealth {
                state: HealthState::Up,
                latency_ms: Some(12),
                last_contact: Some(t0() - chrono::TimeDelta::seconds(3)),
                detail: None,
                licences: None,
                server_version: Some("4.2.1".into()),
            },
            astrow: SystemHealth {
                state: HealthState::Up,
                latency_ms: Some(48),
                last_contact: Some(t0() - chrono::TimeDelta::seconds(5)),
                detail: None,
                licences: Some(Licences {
                    file_terminal: true,
                    employees_import: true,
                }),
                server_version: Some("7.1".into()),
            },
        },
        jobs: vec![
            job(JobKind::Employees, true, "6 changes planned", 210),
            job(JobKind::Definitions, true, "3 changes pending", 3510),
            // The import runs as long as the engine: running, never "last run".
            JobStatus {
                kind: JobKind::Bookings,
                state: JobState::Running,
                last_run: None,
                next_run: None,
                history: vec![],
            },
            job(JobKind::Heartbeat, true, "alive", 30),
        ],
        paused: false,
        origin: Default::default(),
        employees: Arc::new(employees(n)),
        plan: Some(Arc::new(plan(held))),
        apply: None,
        definitions: Arc::new(definitions()),
        bookings: Arc::new(BookingsView {
            feed: feed(feed_len),
            cursor: Some(Seq(88_000 + feed_len as u64)),
            pending: 1,
            delivered: 1204,
            queued: 3,
            rejected: 2,
            per_minute: 8.5,
            lag_p50_ms: Some(850),
            lag_p99_ms: Some(2400),
            gaps: vec![],
            last_error: None,
            astrow_down: false,
            reading_paused: false,
            roll_call: None,
            waiting: vec![],
            oldest_pending: None,
            sequence_reset: None,
        }),
        site_refusal: None,
        old_site_pending: 0,
        unreadable: Arc::new(Vec::new()),
        astrow_to_pac: Arc::new(Default::default()),
    }
}

pub fn snapshot() -> Snapshot {
    snapshot_with(40, 30, false)
}

/// State for tests: fixed clock zone (UTC), given size and theme.
pub fn state(snap: Snapshot, w: u16, h: u16, colour: bool) -> AppState {
    let mut s = AppState::new(
        Arc::new(snap),
        Flags {
            config_path: "/etc/astrow-pac/astrow-pac.toml".into(),
            ..Flags::default()
        },
        Theme::new(colour),
        Keymap::default(),
    );
    update(&mut s, super::action::Action::Resize(w, h));
    s
}

/// Keys as typed: plain characters, or `<enter>`, `<esc>`, `<tab>`,
/// `<s-tab>`, `<up>`, `<down>`, `<left>`, `<right>`, `<pgup>`, `<pgdn>`,
/// `<c-c>`, `<c-s>`, `<space>`.
pub fn keys(spec: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut rest = spec;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('<')
            && let Some(end) = r.find('>')
        {
            let name = &r[..end];
            let (code, mods) = match name {
                "enter" => (KeyCode::Enter, KeyModifiers::NONE),
                "esc" => (KeyCode::Esc, KeyModifiers::NONE),
                "tab" => (KeyCode::Tab, KeyModifiers::NONE),
                "s-tab" => (KeyCode::BackTab, KeyModifiers::SHIFT),
                "up" => (KeyCode::Up, KeyModifiers::NONE),
                "down" => (KeyCode::Down, KeyModifiers::NONE),
                "left" => (KeyCode::Left, KeyModifiers::NONE),
                "right" => (KeyCode::Right, KeyModifiers::NONE),
                "pgup" => (KeyCode::PageUp, KeyModifiers::NONE),
                "pgdn" => (KeyCode::PageDown, KeyModifiers::NONE),
                "space" => (KeyCode::Char(' '), KeyModifiers::NONE),
                "bs" => (KeyCode::Backspace, KeyModifiers::NONE),
                c if c.starts_with("c-") => (
                    KeyCode::Char(c.chars().nth(2).unwrap_or('c')),
                    KeyModifiers::CONTROL,
                ),
                _ => (KeyCode::Null, KeyModifiers::NONE),
            };
            out.push(KeyEvent::new(code, mods));
            rest = &r[end + 1..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            let mods = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            out.push(KeyEvent::new(KeyCode::Char(c), mods));
        }
        rest = chars.as_str();
    }
    out
}

/// A console without a terminal: keys go through the real keymap.
pub struct Harness {
    pub state: AppState,
    pub terminal: Terminal<TestBackend>,
    pub effects: Vec<Effect>,
}

impl Harness {
    pub fn new(snap: Snapshot, w: u16, h: u16) -> Harness {
        Harness::with_state(state(snap, w, h, true), w, h)
    }

    pub fn with_state(state: AppState, w: u16, h: u16) -> Harness {
        let terminal = match Terminal::new(TestBackend::new(w, h)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        Harness {
            state,
            terminal,
            effects: Vec::new(),
        }
    }

    /// Type `spec` (see [`keys`]) and return the effects of these keys.
    pub fn press(&mut self, spec: &str) -> Vec<Effect> {
        let mut fx = Vec::new();
        for k in keys(spec) {
            if let Some(a) = action_for(&self.state, &Event::Key(k)) {
                fx.extend(update(&mut self.state, a));
            }
        }
        self.effects.extend(fx.clone());
        fx
    }

    pub fn set_snapshot(&mut self, snap: Snapshot) {
        super::derive::set_snapshot(&mut self.state, Arc::new(snap));
    }

    pub fn draw(&mut self) -> &Buffer {
        let state = &self.state;
        match self.terminal.draw(|f| super::view::draw(f, state)) {
            Ok(_) => {}
            Err(e) => match e {},
        }
        self.terminal.backend().buffer()
    }

    /// The screen as lines of text.
    pub fn screen(&mut self) -> Vec<String> {
        let buf = self.draw().clone();
        lines(&buf)
    }

    pub fn text(&mut self) -> String {
        self.screen().join("\n")
    }
}

pub fn lines(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (0..a.height)
        .map(|y| {
            let mut s = String::new();
            let mut skip = 0;
            for x in 0..a.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = buf[(x, y)].symbol();
                s.push_str(sym);
                skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            }
            s.trim_end().to_string()
        })
        .collect()
}
