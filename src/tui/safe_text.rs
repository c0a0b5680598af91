//! Outside text made safe to draw, by type. [`SafeText`] is text that has
//! been through [`sanitize::clean`](super::sanitize::clean): its field is
//! private and every way to make one cleans, so holding one proves it.
//! [`SafeSnapshot`] is the engine's snapshot with every string in it cleaned:
//! the console keeps only that (`AppState::snap`), converted once when a
//! snapshot arrives (`derive::set_snapshot`), so a pane (a new one included)
//! reads names, labels and reasons that are already safe.
//!
//! A raw snapshot cannot be put where the console keeps its picture:
//!
//! ```compile_fail,E0308
//! use std::sync::Arc;
//! use astrow_pac::engine::snapshot::Snapshot;
//! use astrow_pac::tui::safe_text::SafeSnapshot;
//! let raw: Arc<Snapshot> = Arc::new(Snapshot::default());
//! let drawn: SafeSnapshot = raw;
//! ```
//!
//! A plain `String` of outside text is not a `SafeText`:
//!
//! ```compile_fail,E0308
//! use astrow_pac::tui::safe_text::SafeText;
//! fn cell(text: SafeText) -> SafeText { text }
//! let name: String = "\x1b]0;pwned\x07Eve".to_string();
//! cell(name);
//! ```
//!
//! nor can one be made without cleaning it:
//!
//! ```compile_fail,E0423
//! use astrow_pac::tui::safe_text::SafeText;
//! let name = SafeText("\x1b]0;pwned\x07Eve".to_string());
//! ```
//!
//! The way in cleans:
//!
//! ```
//! use std::sync::Arc;
//! use astrow_pac::engine::snapshot::Snapshot;
//! use astrow_pac::tui::safe_text::{SafeSnapshot, SafeText};
//! assert_eq!(SafeText::new("\x1b]0;pwned\x07Eve").as_str(), "Eve");
//! let raw = Snapshot {
//!     site_refusal: Some("\x1b[2Jbound elsewhere".into()),
//!     ..Snapshot::default()
//! };
//! let drawn: SafeSnapshot = SafeSnapshot::new(Arc::new(raw));
//! assert_eq!(drawn.site_refusal.as_deref(), Some("bound elsewhere"));
//! ```

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

use ratatui::text::{Line, Text};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::sanitize;
use crate::engine::snapshot::Snapshot;

mod finder;

/// Text that has been cleaned for drawing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafeText(String);

impl SafeText {
    /// `text` without escape sequences, control characters or bidi marks.
    pub fn new(text: &str) -> SafeText {
        SafeText(sanitize::clean(text).into_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for SafeText {
    fn from(text: &str) -> SafeText {
        SafeText::new(text)
    }
}

impl From<String> for SafeText {
    fn from(text: String) -> SafeText {
        match sanitize::clean(&text) {
            Cow::Borrowed(_) => SafeText(text),
            Cow::Owned(clean) => SafeText(clean),
        }
    }
}

impl From<&String> for SafeText {
    fn from(text: &String) -> SafeText {
        SafeText::new(text)
    }
}

impl Deref for SafeText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for SafeText {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SafeText {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for SafeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<SafeText> for Cow<'static, str> {
    fn from(t: SafeText) -> Self {
        Cow::Owned(t.0)
    }
}

impl From<SafeText> for Line<'static> {
    fn from(t: SafeText) -> Self {
        Line::from(t.0)
    }
}

impl From<SafeText> for Text<'static> {
    fn from(t: SafeText) -> Self {
        Text::from(t.0)
    }
}

/// A value from outside that is not the snapshot (an engine's answer to a
/// query) with every string in it cleaned: what the console keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Safe<T>(T);

impl<T: Serialize + DeserializeOwned + Clone> Safe<T> {
    /// `None` only if `raw` does not survive a JSON round trip (the control
    /// socket carries it so).
    pub fn new(raw: &T) -> Option<Safe<T>> {
        cleaned(raw).map(Safe)
    }
}

impl<T> Deref for Safe<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The engine's snapshot with every string in it cleaned. Derefs to
/// [`Snapshot`]; made only by [`SafeSnapshot::new`] and [`SafeSnapshot::next`].
#[derive(Debug, Clone, Default)]
pub struct SafeSnapshot {
    /// The snapshot as the engine sent it: its sections' `Arc`s tell which
    /// cleaned sections the next one can reuse.
    raw: Arc<Snapshot>,
    clean: Arc<Snapshot>,
    /// What could not be cleaned and is not shown, section by section.
    unshown: Unshown,
}

/// Parts of a snapshot left out because cleaning them failed (they did not
/// survive a JSON round trip, e.g. a non-finite number): a row each for the
/// lists, one for any other section. Kept per section so that a reused
/// section keeps its count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Unshown {
    light: usize,
    employees: usize,
    definitions: usize,
    bookings: usize,
    unreadable: usize,
    plan: usize,
    apply: usize,
}

impl Deref for SafeSnapshot {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.clean
    }
}

impl SafeSnapshot {
    pub fn new(raw: Arc<Snapshot>) -> SafeSnapshot {
        SafeSnapshot::default().next(raw)
    }

    /// `raw` cleaned. The large sections (employees, plan, apply,
    /// definitions, bookings, unreadable) that are the same `Arc` as in the
    /// snapshot `self` was made from are taken from `self` as they are (so
    /// the console can still tell by `Arc::ptr_eq` what changed); everything
    /// else goes through [`cleaned`], field by field through serde, so a
    /// field added to the snapshot later is cleaned without being named here.
    pub fn next(&self, raw: Arc<Snapshot>) -> SafeSnapshot {
        let (old, old_clean, was) = (&self.raw, &self.clean, &self.unshown);
        let mut light = (*raw).clone();
        light.employees = Arc::default();
        light.plan = None;
        light.apply = None;
        light.definitions = Arc::default();
        light.bookings = Arc::default();
        light.unreadable = Arc::default();
        let mut unshown = Unshown::default();
        let mut c = match cleaned(&light) {
            Some(c) => c,
            None => {
                unshown.light = 1;
                Snapshot::default()
            }
        };
        (c.employees, unshown.employees) = rows_section(
            (&old.employees, &old_clean.employees, was.employees),
            &raw.employees,
        );
        (c.definitions, unshown.definitions) = section(
            (&old.definitions, &old_clean.definitions, was.definitions),
            &raw.definitions,
        );
        (c.bookings, unshown.bookings) = section(
            (&old.bookings, &old_clean.bookings, was.bookings),
            &raw.bookings,
        );
        (c.unreadable, unshown.unreadable) = rows_section(
            (&old.unreadable, &old_clean.unreadable, was.unreadable),
            &raw.unreadable,
        );
        (c.plan, unshown.plan) =
            optional_section((&old.plan, &old_clean.plan, was.plan), &raw.plan);
        (c.apply, unshown.apply) =
            optional_section((&old.apply, &old_clean.apply, was.apply), &raw.apply);
        // Logged when it changes, not with every snapshot while it lasts.
        if unshown != *was && unshown != Unshown::default() {
            tracing::warn!("console: parts of the engine's snapshot are not shown: {unshown:?}");
        }
        SafeSnapshot {
            raw,
            clean: Arc::new(c),
            unshown,
        }
    }

    /// How many rows or sections of the engine's snapshot are left out
    /// because they could not be cleaned; the header says so when not 0,
    /// so that a shorter list is never taken for the whole one.
    pub fn unshown(&self) -> usize {
        let u = &self.unshown;
        u.light + u.employees + u.definitions + u.bookings + u.unreadable + u.plan + u.apply
    }
}

/// A section as the previous snapshot had it: raw, cleaned, and how much of
/// it was left out.
type Before<'a, T> = (&'a T, &'a T, usize);

fn section<T: Serialize + DeserializeOwned + Default>(
    (old, old_clean, was): Before<'_, Arc<T>>,
    raw: &Arc<T>,
) -> (Arc<T>, usize) {
    if Arc::ptr_eq(old, raw) {
        return (old_clean.clone(), was);
    }
    match cleaned_arc(raw) {
        Some(c) => (c, 0),
        None => (Arc::default(), 1),
    }
}

/// As [`section`] for a list, cleaned row by row: one hostile name among
/// many rows rebuilds that row only, and a row that cannot be cleaned is
/// left out (and counted) without losing the others.
fn rows_section<T: Serialize + DeserializeOwned + Clone>(
    (old, old_clean, was): Before<'_, Arc<Vec<T>>>,
    raw: &Arc<Vec<T>>,
) -> (Arc<Vec<T>>, usize) {
    if Arc::ptr_eq(old, raw) {
        return (old_clean.clone(), was);
    }
    if is_clean(&**raw) {
        return (raw.clone(), 0);
    }
    let rows: Vec<T> = raw.iter().filter_map(cleaned).collect();
    let left_out = raw.len() - rows.len();
    (Arc::new(rows), left_out)
}

fn optional_section<T: Serialize + DeserializeOwned>(
    (old, old_clean, was): Before<'_, Option<Arc<T>>>,
    raw: &Option<Arc<T>>,
) -> (Option<Arc<T>>, usize) {
    match (old, old_clean, raw) {
        (Some(o), Some(c), Some(r)) if Arc::ptr_eq(o, r) => (Some(c.clone()), was),
        (_, _, Some(r)) => match cleaned_arc(r) {
            Some(c) => (Some(c), 0),
            None => (None, 1),
        },
        (_, _, None) => (None, 0),
    }
}

/// `raw` itself when all its text is clean (the usual case: nothing is
/// copied), else a cleaned copy.
fn cleaned_arc<T: Serialize + DeserializeOwned>(raw: &Arc<T>) -> Option<Arc<T>> {
    if is_clean(&**raw) {
        return Some(raw.clone());
    }
    rebuilt(&**raw).map(Arc::new)
}

/// `value` with every string in it (map keys too) cleaned; `None` only if
/// it does not survive a JSON round trip (the control socket sends it so).
pub fn cleaned<T: Serialize + DeserializeOwned + Clone>(value: &T) -> Option<T> {
    if is_clean(value) {
        return Some(value.clone());
    }
    rebuilt(value)
}

fn rebuilt<T: Serialize + DeserializeOwned>(value: &T) -> Option<T> {
    let mut json = match serde_json::to_value(value) {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!("console: a snapshot part could not be cleaned: {e}");
            return None;
        }
    };
    clean_json(&mut json);
    match serde_json::from_value(json) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("console: a snapshot part could not be cleaned: {e}");
            None
        }
    }
}

fn clean_json(v: &mut serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::String(s) => {
            if let Cow::Owned(c) = sanitize::clean(s) {
                *s = c;
            }
        }
        J::Array(items) => items.iter_mut().for_each(clean_json),
        J::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                clean_json(&mut item);
                map.insert(sanitize::clean(&k).into_owned(), item);
            }
        }
        J::Null | J::Bool(_) | J::Number(_) => {}
    }
}

/// Whether every string in `value` is clean (nothing is copied).
fn is_clean<T: Serialize>(value: &T) -> bool {
    finder::all_clean(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testkit;

    /// The check agrees with `sanitize::clean` on every character that
    /// matters: all below U+0100, the bidi block and a few others.
    #[test]
    fn the_check_finds_exactly_what_clean_removes() {
        let chars = (0u32..0x100)
            .chain(0x2000..0x2070)
            .chain([0x2028, 0x2029, 0xFEFF, 0x1F600])
            .filter_map(char::from_u32);
        for c in chars {
            let text = format!("a{c}b");
            let removes = sanitize::clean(&text) != text.as_str();
            assert_eq!(!is_clean(&text), removes, "U+{:04X}", c as u32);
        }
    }

    fn hostile() -> Snapshot {
        let mut snap = Snapshot {
            site_refusal: Some("bound\x1b[2J elsewhere".into()),
            ..Snapshot::default()
        };
        snap.health.pac.detail = Some("down\x07\u{202E}".into());
        let mut feed = testkit::feed(1);
        feed[0].reader = "R-1\x1b]0;pwned\x07".into();
        snap.bookings = Arc::new(crate::engine::snapshot::BookingsView {
            feed,
            ..Default::default()
        });
        let mut rows = testkit::employees(3);
        if let Some(p) = rows[1].pac.as_mut() {
            let mut e = p.to_employee();
            e.first_name = "Eve\x1b]0;pwned\x07".into();
            *p = crate::engine::snapshot::PacRecord::from(&e);
        }
        snap.employees = Arc::new(rows);
        let mut plan = testkit::plan(false);
        plan.items[0].label = "Eve\x1b[31m Evil".into();
        snap.plan = Some(Arc::new(plan));
        snap
    }

    #[test]
    fn every_string_of_a_snapshot_is_cleaned() {
        let safe = SafeSnapshot::new(Arc::new(hostile()));
        assert!(is_clean(&*safe), "{:?}", serde_json::to_string(&*safe));
        assert_eq!(safe.site_refusal.as_deref(), Some("bound elsewhere"));
        assert_eq!(safe.health.pac.detail.as_deref(), Some("down"));
        assert_eq!(safe.bookings.feed[0].reader, "R-1");
        assert_eq!(
            safe.employees[1].pac.as_ref().map(|p| p.first_name()),
            Some("Eve")
        );
        assert_eq!(safe.employees.len(), 3);
        let label = safe.plan.as_ref().map(|p| p.items[0].label.clone());
        assert_eq!(label.as_deref(), Some("Eve Evil"));
    }

    #[test]
    fn any_answer_can_be_made_safe() {
        let raw = vec![(String::from("ok"), Some(String::from("Eve\x1b[2J")))];
        let safe = Safe::new(&raw).map(|s| (*s).clone());
        assert_eq!(safe, Some(vec![("ok".into(), Some("Eve".into()))]));
    }

    /// A section that cannot be cleaned (here a non-finite rate beside a
    /// hostile reader name: JSON has no NaN) is left out and counted, and
    /// the count survives while the section is reused; the rest is shown.
    #[test]
    fn what_cannot_be_cleaned_is_counted_not_silently_dropped() {
        let mut raw = hostile();
        let mut bookings = (*raw.bookings).clone();
        bookings.per_minute = f64::NAN;
        raw.bookings = Arc::new(bookings);
        let first = SafeSnapshot::new(Arc::new(raw.clone()));
        assert_eq!(first.unshown(), 1);
        assert!(first.bookings.feed.is_empty());
        assert_eq!(first.employees.len(), 3);
        let mut again = raw.clone();
        again.version += 1;
        let second = first.next(Arc::new(again));
        assert_eq!(second.unshown(), 1, "a reused section keeps its count");
        let mut mended = raw;
        mended.bookings = Arc::default();
        assert_eq!(second.next(Arc::new(mended)).unshown(), 0);
    }

    #[test]
    fn unchanged_sections_are_reused_and_clean_ones_not_copied() {
        let raw = Arc::new(hostile());
        let first = SafeSnapshot::new(raw.clone());
        let mut again = (*raw).clone();
        again.version += 1;
        let second = first.next(Arc::new(again));
        assert!(Arc::ptr_eq(&first.bookings, &second.bookings));
        assert!(Arc::ptr_eq(&first.employees, &second.employees));
        // A clean section is the engine's own, not a copy.
        assert!(Arc::ptr_eq(&raw.definitions, &first.definitions));
        // A changed section is cleaned again.
        let mut changed = (*raw).clone();
        changed.bookings = Arc::new(crate::engine::snapshot::BookingsView::default());
        let third = second.next(Arc::new(changed.clone()));
        assert!(Arc::ptr_eq(&changed.bookings, &third.bookings));
    }
}
