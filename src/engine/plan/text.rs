//! Field values as text, field-level changes, and the words of reasons.

use chrono::NaiveDate;

use super::FieldChange;
use crate::model::Badge;

pub(crate) fn ids(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

pub(crate) fn badges(v: &[Badge]) -> String {
    v.iter()
        .map(|b| {
            let state = if b.active { "" } else { ", inactive" };
            format!("{} ({}{state})", b.number, b.badge_type)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(crate) fn flag(b: bool) -> String {
    b.to_string()
}

/// Empty or only whitespace (stops at the first other character).
pub(crate) fn blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// "Ana Pop", or "(no name)".
pub(crate) fn person(first: &str, last: &str) -> String {
    let name = format!("{} {}", first.trim(), last.trim());
    let name = name.trim();
    if name.is_empty() {
        "(no name)".to_string()
    } else {
        name.to_string()
    }
}

/// "1 badge", "2 badges".
pub(crate) fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub(crate) fn id_list(v: impl IntoIterator<Item = u64>) -> String {
    v.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same set of ids, order and repeats aside.
pub(crate) fn same_ids(a: &[u32], b: &[u32]) -> bool {
    if a == b {
        return true;
    }
    sorted_ids(a) == sorted_ids(b)
}

pub(crate) fn sorted_ids(a: &[u32]) -> Vec<u32> {
    let mut v = a.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The same badges, order aside.
pub(crate) fn same_badges(a: &[Badge], b: &[Badge]) -> bool {
    if a == b {
        return true;
    }
    if a.len() != b.len() {
        return false;
    }
    let key = |x: &Badge| (x.number.clone(), x.badge_type, x.active);
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}

/// Field-level changes, collected only where before and after differ.
#[derive(Debug, Default)]
pub(crate) struct Changes(pub Vec<FieldChange>);

impl Changes {
    pub(crate) fn push(&mut self, field: &'static str, before: String, after: String) {
        self.0.push(FieldChange {
            field: field.into(),
            before,
            after,
        });
    }

    pub(crate) fn text(&mut self, field: &'static str, before: &str, after: &str) {
        if before != after {
            self.push(field, before.to_string(), after.to_string());
        }
    }

    pub(crate) fn opt_text(
        &mut self,
        field: &'static str,
        before: Option<&str>,
        after: Option<&str>,
    ) {
        if before != after {
            self.push(
                field,
                before.unwrap_or_default().to_string(),
                after.unwrap_or_default().to_string(),
            );
        }
    }

    pub(crate) fn flag(&mut self, field: &'static str, before: bool, after: bool) {
        if before != after {
            self.push(field, flag(before), flag(after));
        }
    }

    pub(crate) fn date(
        &mut self,
        field: &'static str,
        before: Option<NaiveDate>,
        after: Option<NaiveDate>,
    ) {
        if before != after {
            self.push(field, date(before), date(after));
        }
    }

    pub(crate) fn ids(&mut self, field: &'static str, before: &[u32], after: &[u32]) {
        if !same_ids(before, after) {
            self.push(field, ids(before), ids(after));
        }
    }

    pub(crate) fn badges(&mut self, field: &'static str, before: &[Badge], after: &[Badge]) {
        if !same_badges(before, after) {
            self.push(field, badges(before), badges(after));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An `active` change from true to false.
    pub(crate) fn deactivates(&self) -> bool {
        self.0
            .iter()
            .any(|c| c.field == "active" && c.before == "true" && c.after == "false")
    }
}

/// Why an unlinked master employee could not be matched: who (`described`),
/// the kind of ambiguity, the other side's candidates and the systems.
pub(crate) fn ambiguous_match(
    described: &str,
    ambiguity: &super::pairing::Ambiguity,
    ids: &str,
    master: crate::model::System,
) -> String {
    use super::pairing::Ambiguity;
    let slave = master.other();
    match ambiguity {
        Ambiguity::Refs => format!(
            "external_ref ties {described} to more than one {slave} employee ({ids}): link one by hand"
        ),
        Ambiguity::EmployeeNumber(n) => format!(
            "{described} matches by employee number {n} {slave} employees that other {master} employees match too, or several ({ids}): link one by hand"
        ),
        Ambiguity::BadgeNumber => format!(
            "{described} matches by badge number {slave} employees that other {master} employees match too, or several ({ids}): link one by hand"
        ),
    }
}
