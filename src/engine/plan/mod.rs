//! Plan computation: listings + links + settings -> a [`Plan`] of items.
//!
//! Pure: no I/O, no clock ("today" is an argument), no settings file. The
//! engine maps its settings onto [`PlanSettings`].

mod astrow_badges;
mod astrow_record;
mod badge_order;
mod body;
mod definitions;
mod employee_pairing;
mod employees;
mod fingerprint;
mod guard;
mod id_map;
mod master_astrow;
mod master_pac;
mod mirror_guard;
mod owned_print;
mod pac_record;
mod pairing;
mod reason;
mod text;

#[cfg(test)]
mod tests;

pub use body::{BodyError, decode_item, encode_item, item_reason, upgrade_body};
pub use definitions::{DefinitionsPlan, MirrorDiff, plan_definitions};
pub use employee_pairing::{EmployeePair, EmployeePairing};
pub use employees::{plan_and_pair_employees, plan_employees};
pub use fingerprint::{
    Fingerprint, astrow_fingerprint, astrow_source_fingerprint, pac_fingerprint,
    pac_source_fingerprint, record_fingerprint,
};
pub use guard::{GuardLimit, destructive_limit, guard, passed_limit, window_guard};
pub use mirror_guard::{
    HeldRemoval, MirrorInput, MirrorWrite, RemovalDecision, RemovalKey, RemovalState, mirror_write,
};
pub use owned_print::{Printable, RecordPrint, listing_prints};
pub use reason::{LinkedBy, Reason, ReasonContext, no_names};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{AstrowEmployee, Link, PacEmployee, System};

/// What a connector read from one system: `complete` is false when a page
/// failed, and then the listing must not be planned on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub complete: bool,
    /// The planner's fast path (see [`Listing::with_prints`]); never saved.
    #[serde(skip)]
    prints: PrintCache,
}

impl<T> Listing<T> {
    pub fn complete(items: Vec<T>) -> Self {
        Listing {
            items,
            complete: true,
            prints: PrintCache::default(),
        }
    }

    pub fn incomplete(items: Vec<T>) -> Self {
        Listing {
            items,
            complete: false,
            prints: PrintCache::default(),
        }
    }

    /// The records' prints, when they were computed for exactly these items.
    pub(crate) fn prints(&self) -> Option<&[RecordPrint]> {
        self.prints
            .0
            .as_deref()
            .filter(|p| p.len() == self.items.len())
    }
}

impl<T: Printable> Listing<T> {
    /// Fingerprint every record once, so that the plan skips linked pairs
    /// already in step on a compare of two integers. Call it when the
    /// listing is read; `items` must not change afterwards (a debug build's
    /// plan checks that they did not).
    pub fn with_prints(mut self) -> Self {
        self.prints = PrintCache(Some(listing_prints(&self.items).into()));
        self
    }

    /// The same with the prints computed where the listing was read
    /// ([`listing_prints`] of exactly these items, in their order): the
    /// plan then pays nothing for them. Prints of another length are
    /// ignored (the slow path plans); a debug build's plan checks the rest.
    pub fn with_read_prints(mut self, prints: Vec<RecordPrint>) -> Self {
        self.prints = PrintCache(Some(prints.into()));
        self
    }
}

/// Derived from the items: two listings with the same items are equal
/// whether or not their prints were computed.
#[derive(Debug, Clone, Default)]
struct PrintCache(Option<std::sync::Arc<[RecordPrint]>>);

impl PartialEq for PrintCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PrintCache {}

/// How an unlinked master employee is matched to an existing slave employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    /// Employee number first; badge number when it finds nobody.
    EmployeeNumber,
    /// Badge number only.
    BadgeNumber,
}

/// The settings plan computation depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSettings {
    pub master: System,
    pub delete_employees_on_sync: bool,
    /// Only when the master is Astrow: inactive Astrow employees reach PAC too.
    pub sync_inactive_employees: bool,
    pub match_key: MatchKey,
    pub default_cycle_code: String,
    pub default_paygroup_code: String,
    /// PAC's default access group, given when Astrow names none.
    pub pac_default_access_group_id: Option<u32>,
    /// The access groups PAC has (`None`: not known, nothing is checked).
    /// Master Astrow: an employee naming a group PAC lacks is a conflict,
    /// not a write PAC would refuse every time.
    #[serde(default)]
    pub pac_access_group_ids: Option<Vec<u32>>,
    pub guard_count: u32,
    pub guard_percent: u8,
}

/// A rejected item: left out of later plans while its source is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub item_key: String,
    pub source_fingerprint: Fingerprint,
}

/// Everything a plan is computed from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub pac: Listing<PacEmployee>,
    pub astrow: Listing<AstrowEmployee>,
    pub links: Vec<Link>,
    pub suppressions: Vec<Suppression>,
    pub today: NaiveDate,
    pub settings: PlanSettings,
}

/// Why no plan was made at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanRefused {
    #[error("the {system} employee listing is incomplete (a page failed): no plan is made")]
    IncompleteListing { system: System },
}

/// What an item does. Items are ordered by action in this order, so that
/// badges are freed (deletes, removals, updates) before creates take them.
///
/// The contract with apply (`engine::apply`; `tests/support/plan_model.rs`
/// is an in-memory version the property tests use):
/// - `Delete`: delete the target record `slave_id`; forget its link.
/// - `RemoveBadges`, `Update`: write `desired` (whole record, `If-Match`).
///   An `Update` may target the master: then it only records the link in the
///   master's `external_ref`.
/// - `Link`: write `desired` when `changes` is not empty, then store the link
///   (`master_id`, `slave_id`) with origin `matched`.
/// - `Create`: create `desired` (its id is a placeholder 0), then write the
///   new id into the master's `external_ref` and store the link with origin
///   `created`.
/// - `Conflict`: nothing; a person resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Delete,
    RemoveBadges,
    Update,
    Link,
    Create,
    Conflict,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::RemoveBadges => "remove_badges",
            Action::Update => "update",
            Action::Link => "link",
            Action::Create => "create",
            Action::Conflict => "conflict",
        }
    }
}

/// One field of a record, before and after, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field's name: the planner's own words, never copied per item.
    pub field: std::borrow::Cow<'static, str>,
    pub before: String,
    pub after: String,
}

/// The record an item wants its target to hold after apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "system", content = "record", rename_all = "snake_case")]
pub enum DesiredRecord {
    Pac(PacEmployee),
    Astrow(AstrowEmployee),
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    /// Stable item key: the same change to the same record has the same key
    /// in every plan (suppressions and approvals refer to it).
    pub id: String,
    pub action: Action,
    pub target: System,
    pub master_id: Option<u64>,
    pub slave_id: Option<u64>,
    pub changes: Vec<FieldChange>,
    /// Why, as data ([`Reason::render`] puts it in words). JSON of earlier
    /// versions has it as text.
    #[serde(deserialize_with = "reason::text_or_data")]
    pub reason: Reason,
    /// Deletes, badge removals and deactivations: what the deletion guard counts.
    pub destructive: bool,
    /// The target record as read; `None` when it does not exist yet.
    pub target_fingerprint: Option<Fingerprint>,
    /// The source record (for suppressions).
    pub source_fingerprint: Fingerprint,
    /// What the target must hold afterwards; `None` for delete and conflict.
    pub desired: Option<DesiredRecord>,
    /// Apply runs items wave by wave (and within a wave, action by action):
    /// an item taking a badge comes in a later wave than the item freeing it.
    #[serde(default)]
    pub wave: u32,
}

impl PlanItem {
    /// The item's reason in words; `name` gives a person's name by system
    /// and id where names are known ([`no_names`] where not).
    pub fn reason_text(&self, name: &dyn Fn(System, u64) -> Option<String>) -> String {
        let fields: Vec<&str> = self.changes.iter().map(|c| c.field.as_ref()).collect();
        self.reason.render(&ReasonContext {
            master_id: self.master_id,
            slave_id: self.slave_id,
            fields: &fields,
            name,
        })
    }

    /// Apply's precondition: the target as read now (`None`: it does not
    /// exist) differs from the target as planned, so the item must be
    /// skipped as stale and re-planned.
    pub fn is_stale(&self, current: Option<&DesiredRecord>) -> bool {
        self.target_fingerprint != current.map(record_fingerprint)
    }

    /// Resuming after a crash: the target already holds what the item
    /// wanted (the write happened before the crash), so it is done. For
    /// deletes: the target is gone. Creates cannot tell from the target
    /// alone (their `Idempotency-Key` covers them).
    pub fn already_applied(&self, current: Option<&DesiredRecord>) -> bool {
        match (self.action, &self.desired, current) {
            (Action::Delete, _, None) => true,
            (Action::Update | Action::RemoveBadges | Action::Link, Some(want), Some(now)) => {
                record_fingerprint(want) == record_fingerprint(now)
            }
            _ => false,
        }
    }
}

/// Why a plan waits for a person even in auto mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub reason: String,
}

/// A slave employee that was never linked: shown, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedEmployee {
    pub system: System,
    pub id: u64,
    pub name: String,
}

/// A computed plan: plain data, serialised as `astrow-pac plan --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_id: String,
    pub master: System,
    pub held: Option<Hold>,
    pub items: Vec<PlanItem>,
    pub unmanaged: Vec<UnmanagedEmployee>,
    /// Facts about the plan as a whole ("the PAC listing is empty: ...").
    pub notes: Vec<String>,
    /// Slave employees that are linked: what the guard's percentage is of.
    pub managed_slave_employees: usize,
}

impl Plan {
    /// Items that would write something (all but conflicts).
    pub fn actionable(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.action != Action::Conflict)
    }

    pub fn destructive_count(&self) -> usize {
        self.items.iter().filter(|i| i.destructive).count()
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.actionable().next().is_none()
    }
}
