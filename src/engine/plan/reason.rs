//! Why an item is in the plan, as data: ids and a few values, rendered as
//! text only where it is shown ([`Reason::render`], the one place its words
//! are made). The common reasons of a large plan (a field changed, a link
//! recorded, a pair linked) hold no text at all; the rare ones keep theirs.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::System;

/// Why an item is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// "changed in PAC: first_name, active" (the fields are the item's changes).
    Changed { master: System },
    /// "record the link to Astrow employee 12 in PAC's external_ref, so it
    /// survives a lost store" (`other`: the slave employee's id).
    RecordLink { master: System, other: u64 },
    /// "PAC employee 7 (Ana Pop) matched by ... with Astrow employee 12
    /// (Ana Pop): link; update first_name" (ids: the item's master and
    /// slave ids; names looked up where it is shown).
    Link {
        master: System,
        by: LinkedBy,
        /// By employee number: the master's, as matched (trimmed).
        number: Option<Box<str>>,
    },
    /// Anything else, in words (also every reason stored before reasons
    /// were data).
    Text(Box<str>),
}

impl From<&str> for Reason {
    fn from(text: &str) -> Reason {
        Reason::Text(text.into())
    }
}

/// How an unlinked pair was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    EmployeeNumber,
    BadgeNumber,
    /// `external_ref` named the other side, and the store had no link.
    ExternalRef,
}

/// What a reason is rendered with: the item's ids, the names of its fields
/// that change, and a person's name by system and id (`None`: not known
/// where it is shown; the description then has the id alone).
pub struct ReasonContext<'a> {
    pub master_id: Option<u64>,
    pub slave_id: Option<u64>,
    pub fields: &'a [&'a str],
    pub name: &'a dyn Fn(System, u64) -> Option<String>,
}

/// No names known (a stored body read back on its own).
pub fn no_names(_: System, _: u64) -> Option<String> {
    None
}

impl Reason {
    /// A reason in words only.
    pub fn text(text: String) -> Reason {
        Reason::Text(text.into_boxed_str())
    }

    /// The reason in words, as the console, the CLI and traces show it.
    pub fn render(&self, cx: &ReasonContext<'_>) -> String {
        match self {
            Reason::Changed { master } => format!("changed in {master}: {}", cx.fields.join(", ")),
            Reason::RecordLink { master, other } => format!(
                "record the link to {} employee {other} in {master}'s external_ref, so it survives a lost store",
                master.other()
            ),
            Reason::Link { master, by, number } => {
                let how: Cow<'_, str> = match by {
                    LinkedBy::EmployeeNumber => format!(
                        "matched by employee number {}",
                        number.as_deref().unwrap_or_default()
                    )
                    .into(),
                    LinkedBy::BadgeNumber => "matched by badge number".into(),
                    LinkedBy::ExternalRef => {
                        "linked by external_ref (the store had no link)".into()
                    }
                };
                let tail = if cx.fields.is_empty() {
                    String::new()
                } else {
                    format!("; update {}", cx.fields.join(", "))
                };
                format!(
                    "{} {how} with {}: link{tail}",
                    describe(*master, cx.master_id, cx),
                    describe(master.other(), cx.slave_id, cx)
                )
            }
            Reason::Text(text) => text.to_string(),
        }
    }

    /// Persons' names the rendered text shows, by system and id (what a
    /// view must keep to render it).
    pub fn named(
        &self,
        master_id: Option<u64>,
        slave_id: Option<u64>,
    ) -> [Option<(System, u64)>; 2] {
        match self {
            Reason::Link { master, .. } => [
                master_id.map(|id| (*master, id)),
                slave_id.map(|id| (master.other(), id)),
            ],
            _ => [None, None],
        }
    }

    /// A reason stored as text by an earlier version, as data when the data
    /// renders to exactly that text in `cx` (so that a re-plan knows the
    /// same item by its bytes); otherwise the text as it is.
    pub fn from_text(text: String, target: System, cx: &ReasonContext<'_>) -> Reason {
        let candidates = [
            Reason::Changed { master: target },
            Reason::Changed {
                master: target.other(),
            },
            Reason::RecordLink {
                master: target,
                other: cx.slave_id.unwrap_or_default(),
            },
        ];
        candidates
            .into_iter()
            .find(|r| r.render(cx) == text)
            .or_else(|| link_from_text(&text, target.other(), cx))
            .unwrap_or(Reason::Text(text.into()))
    }
}

/// An earlier version's words for a linked pair ("PAC employee 7 (Ana Pop)
/// matched by ... with Astrow employee 12 (Ana Pop): link; update ..."), as
/// data when the data, given the names the text shows, renders to exactly it.
fn link_from_text(text: &str, master: System, cx: &ReasonContext<'_>) -> Option<Reason> {
    let (master_id, slave_id) = (cx.master_id?, cx.slave_id?);
    let rest = text.strip_prefix(&format!("{master} employee {master_id} ("))?;
    let marker = format!(" with {} employee {slave_id} (", master.other());
    let (head, slave_part) = rest.rsplit_once(&marker)?;
    let tail = if cx.fields.is_empty() {
        String::new()
    } else {
        format!("; update {}", cx.fields.join(", "))
    };
    let slave_name = slave_part.strip_suffix(&format!("): link{tail}"))?;
    let (master_name, by, number) = if let Some(n) = head.strip_suffix(") matched by badge number")
    {
        (n, LinkedBy::BadgeNumber, None)
    } else if let Some(n) = head.strip_suffix(") linked by external_ref (the store had no link)") {
        (n, LinkedBy::ExternalRef, None)
    } else {
        let (n, number) = head.rsplit_once(") matched by employee number ")?;
        (n, LinkedBy::EmployeeNumber, Some(number.into()))
    };
    let reason = Reason::Link { master, by, number };
    let name = |system: System, id: u64| match (system == master, id) {
        (true, i) if i == master_id => Some(master_name.to_string()),
        (false, i) if i == slave_id => Some(slave_name.to_string()),
        _ => None,
    };
    let named = ReasonContext {
        master_id: cx.master_id,
        slave_id: cx.slave_id,
        fields: cx.fields,
        name: &name,
    };
    (reason.render(&named) == text).then_some(reason)
}

/// "PAC employee 7 (Ana Pop)", or "PAC employee 7" where names are not known.
fn describe(system: System, id: Option<u64>, cx: &ReasonContext<'_>) -> String {
    let id_text = id.map(|i| i.to_string()).unwrap_or_default();
    match id.and_then(|i| (cx.name)(system, i)) {
        Some(name) => format!("{system} employee {id_text} ({name})"),
        None => format!("{system} employee {id_text}"),
    }
}

/// A plan item's reason as stored in JSON: text (earlier versions) or data.
pub(crate) fn text_or_data<'de, D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Data(Reason),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => Reason::Text(t.into()),
        Either::Data(r) => r,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(system: System, id: u64) -> Option<String> {
        match (system, id) {
            (System::Pac, 7) => Some("Ana Pop".into()),
            (System::Astrow, 12) => Some("Ana Popescu".into()),
            _ => None,
        }
    }

    fn cx<'a>(
        fields: &'a [&'a str],
        name: &'a dyn Fn(System, u64) -> Option<String>,
    ) -> ReasonContext<'a> {
        ReasonContext {
            master_id: Some(7),
            slave_id: Some(12),
            fields,
            name,
        }
    }

    #[test]
    fn reasons_render_in_the_planners_words() {
        let fields = ["first_name", "active"];
        let c = cx(&fields, &names);
        assert_eq!(
            Reason::Changed {
                master: System::Pac
            }
            .render(&c),
            "changed in PAC: first_name, active"
        );
        assert_eq!(
            Reason::RecordLink {
                master: System::Pac,
                other: 12
            }
            .render(&c),
            "record the link to Astrow employee 12 in PAC's external_ref, so it survives a lost store"
        );
        let link = Reason::Link {
            master: System::Pac,
            by: LinkedBy::EmployeeNumber,
            number: Some("E-7".into()),
        };
        assert_eq!(
            link.render(&c),
            "PAC employee 7 (Ana Pop) matched by employee number E-7 with Astrow employee 12 (Ana Popescu): link; update first_name, active"
        );
        let none = cx(&[], &no_names);
        assert_eq!(
            link.render(&none),
            "PAC employee 7 matched by employee number E-7 with Astrow employee 12: link"
        );
        assert_eq!(Reason::Text("kept".into()).render(&none), "kept");
    }

    #[test]
    fn old_text_becomes_data_only_when_it_renders_the_same() {
        let fields = ["last_name"];
        let c = cx(&fields, &no_names);
        let changed = Reason::from_text("changed in PAC: last_name".into(), System::Astrow, &c);
        assert_eq!(
            changed,
            Reason::Changed {
                master: System::Pac
            }
        );
        let recorded = Reason::from_text(
            "record the link to Astrow employee 12 in PAC's external_ref, so it survives a lost store".into(),
            System::Pac,
            &c,
        );
        assert_eq!(
            recorded,
            Reason::RecordLink {
                master: System::Pac,
                other: 12
            }
        );
        let other = Reason::from_text("changed in PAC: first_name".into(), System::Astrow, &c);
        assert_eq!(other, Reason::Text("changed in PAC: first_name".into()));
        let linked = Reason::from_text(
            "PAC employee 7 (Ana (Mia) Pop) matched by employee number E 7 with Astrow employee 12 (Ana Pop): link; update last_name".into(),
            System::Astrow,
            &c,
        );
        assert_eq!(
            linked,
            Reason::Link {
                master: System::Pac,
                by: LinkedBy::EmployeeNumber,
                number: Some("E 7".into()),
            }
        );
        let by_ref = Reason::from_text(
            "PAC employee 7 (Ana Pop) linked by external_ref (the store had no link) with Astrow employee 12 (Ana Pop): link; update last_name".into(),
            System::Astrow,
            &c,
        );
        assert!(matches!(
            by_ref,
            Reason::Link {
                by: LinkedBy::ExternalRef,
                ..
            }
        ));
        // Other fields than the item's changes, or other ids: kept as text.
        for text in [
            "PAC employee 7 (Ana Pop) matched by badge number with Astrow employee 12 (Ana Pop): link",
            "PAC employee 8 (Ana Pop) matched by badge number with Astrow employee 12 (Ana Pop): link; update last_name",
        ] {
            let kept = Reason::from_text(text.into(), System::Astrow, &c);
            assert_eq!(kept, Reason::Text(text.into()));
        }
    }

    #[test]
    fn json_reads_text_and_data() {
        let old: Reason = text_or_data(&mut serde_json::Deserializer::from_str("\"why\"")).unwrap();
        assert_eq!(old, Reason::Text("why".into()));
        let json = serde_json::to_string(&Reason::Changed {
            master: System::Astrow,
        })
        .unwrap();
        let new: Reason = text_or_data(&mut serde_json::Deserializer::from_str(&json)).unwrap();
        assert_eq!(
            new,
            Reason::Changed {
                master: System::Astrow
            }
        );
    }
}
