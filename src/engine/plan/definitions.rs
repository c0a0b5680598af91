//! Access groups and readers always flow PAC to Astrow: a diff of Astrow's
//! mirror against PAC, and whether the mirror must be PUT.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{AccessGroup, Reader};

/// What differs between PAC's list and Astrow's mirror, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorDiff<T> {
    pub added: Vec<T>,
    /// (mirror as it is, PAC's record)
    pub changed: Vec<(T, T)>,
    pub removed: Vec<T>,
    /// The mirror must be replaced (a PUT of PAC's whole list).
    pub put_needed: bool,
}

impl<T> MirrorDiff<T> {
    pub fn is_empty(&self) -> bool {
        !self.put_needed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionsPlan {
    pub access_groups: MirrorDiff<AccessGroup>,
    pub readers: MirrorDiff<Reader>,
}

impl DefinitionsPlan {
    pub fn is_empty(&self) -> bool {
        self.access_groups.is_empty() && self.readers.is_empty()
    }
}

/// Diff PAC's access groups and readers against Astrow's mirrors.
pub fn plan_definitions(
    pac_groups: &[AccessGroup],
    mirror_groups: &[AccessGroup],
    pac_readers: &[Reader],
    mirror_readers: &[Reader],
) -> DefinitionsPlan {
    DefinitionsPlan {
        access_groups: diff_by(pac_groups, mirror_groups, |g| g.id),
        readers: diff_by(pac_readers, mirror_readers, |r| r.id),
    }
}

/// Diff a source list against a mirror, by id.
pub(crate) fn diff_by<T: Clone + PartialEq>(
    source: &[T],
    mirror: &[T],
    id: impl Fn(&T) -> u32,
) -> MirrorDiff<T> {
    let source_by_id: BTreeMap<u32, &T> = source.iter().map(|t| (id(t), t)).collect();
    let mirror_by_id: BTreeMap<u32, &T> = mirror.iter().map(|t| (id(t), t)).collect();
    let mut out = MirrorDiff {
        added: Vec::new(),
        changed: Vec::new(),
        removed: Vec::new(),
        put_needed: false,
    };
    for (k, s) in &source_by_id {
        match mirror_by_id.get(k) {
            None => out.added.push((*s).clone()),
            Some(m) if m != s => out.changed.push(((*m).clone(), (*s).clone())),
            Some(_) => {}
        }
    }
    for (k, m) in &mirror_by_id {
        if !source_by_id.contains_key(k) {
            out.removed.push((*m).clone());
        }
    }
    // Duplicate ids on either side also call for a clean replacement.
    let duplicates = source_by_id.len() != source.len() || mirror_by_id.len() != mirror.len();
    out.put_needed =
        duplicates || !out.added.is_empty() || !out.changed.is_empty() || !out.removed.is_empty();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Direction;

    fn group(id: u32, name: &str) -> AccessGroup {
        AccessGroup {
            id,
            name: name.into(),
            is_default: id == 1,
        }
    }

    fn reader(id: u32, name: &str) -> Reader {
        Reader {
            id,
            name: name.into(),
            controller_id: 3,
            controller_name: "Lobby 2200".into(),
            serial: format!("R-{id:04}"),
            direction: Direction::In,
            online: true,
        }
    }

    #[test]
    fn definitions_flow_pac_to_astrow_as_a_diff_by_id() {
        let pac = [group(1, "All"), group(4, "Warehouse"), group(5, "Office")];
        let mirror = [group(1, "All"), group(4, "Store"), group(9, "Old")];
        let plan = plan_definitions(&pac, &mirror, &[reader(12, "Main")], &[reader(12, "Main")]);
        assert_eq!(plan.access_groups.added, vec![group(5, "Office")]);
        assert_eq!(
            plan.access_groups.changed,
            vec![(group(4, "Store"), group(4, "Warehouse"))]
        );
        assert_eq!(plan.access_groups.removed, vec![group(9, "Old")]);
        assert!(plan.access_groups.put_needed);
        assert!(!plan.readers.put_needed);
        assert!(!plan.is_empty());
    }

    #[test]
    fn definitions_in_step_need_no_put() {
        let groups = [group(1, "All")];
        let readers = [reader(12, "Main"), reader(13, "Back")];
        let plan = plan_definitions(&groups, &groups, &readers, &readers);
        assert!(plan.is_empty());
    }

    #[test]
    fn definitions_duplicate_ids_in_the_mirror_call_for_a_put() {
        let plan = plan_definitions(
            &[group(1, "All")],
            &[group(1, "All"), group(1, "All")],
            &[],
            &[],
        );
        assert!(plan.access_groups.put_needed);
    }
}
