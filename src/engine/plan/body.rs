//! A plan item as the store keeps it: a compact binary body (a format byte,
//! then the item in postcard: no field names, numbers as varints), about a
//! third of its JSON and several times faster to write and read. Bodies
//! stored as JSON by earlier versions still read, and so do binary bodies
//! of the first format (its reason as text; since format 2 the reason is
//! data, [`Reason`]).

use serde::{Deserialize, Serialize};

use super::reason::{Reason, ReasonContext, no_names};
use super::{Action, DesiredRecord, FieldChange, Fingerprint, PlanItem};
use crate::model::{AstrowEmployee, PacEmployee, System};

/// The first byte of a binary body of the first format (reason as text).
/// A JSON body starts with `{`.
const BINARY_V1: u8 = 1;
/// The first byte of a binary body whose reason is data.
const BINARY_V2: u8 = 2;

/// Why a stored body cannot be read as a plan item.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the item's body is empty")]
    Empty,
    #[error("the item's JSON body does not read as a plan item: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the item's binary body does not read as a plan item: {0}")]
    Binary(#[from] postcard::Error),
    #[error(
        "the item's body is in an unknown format (first byte {0:#04x}): written by a newer version?"
    )]
    UnknownFormat(u8),
}

/// The binary layout of an item: [`PlanItem`] with its fingerprints as
/// numbers and its record externally tagged (postcard reads neither a
/// tagged-by-field enum nor hex text as such). The field order is the format.
#[derive(Serialize)]
struct Out<'a> {
    id: &'a str,
    action: Action,
    target: System,
    master_id: Option<u64>,
    slave_id: Option<u64>,
    changes: &'a [FieldChange],
    reason: &'a Reason,
    destructive: bool,
    target_fingerprint: Option<u64>,
    source_fingerprint: u64,
    desired: Option<OutRecord<'a>>,
    wave: u32,
}

#[derive(Serialize)]
enum OutRecord<'a> {
    Pac(&'a PacEmployee),
    Astrow(&'a AstrowEmployee),
}

/// As [`Out`]; `R` is the reason: text in format 1, [`Reason`] since 2.
#[derive(Deserialize)]
struct In<R> {
    id: String,
    action: Action,
    target: System,
    master_id: Option<u64>,
    slave_id: Option<u64>,
    changes: Vec<FieldChange>,
    reason: R,
    destructive: bool,
    target_fingerprint: Option<u64>,
    source_fingerprint: u64,
    desired: Option<InRecord>,
    wave: u32,
}

#[derive(Deserialize)]
enum InRecord {
    Pac(PacEmployee),
    Astrow(AstrowEmployee),
}

/// The stored body of `item`.
pub fn encode_item(item: &PlanItem) -> Vec<u8> {
    let out = Out {
        id: &item.id,
        action: item.action,
        target: item.target,
        master_id: item.master_id,
        slave_id: item.slave_id,
        changes: &item.changes,
        reason: &item.reason,
        destructive: item.destructive,
        target_fingerprint: item.target_fingerprint.map(|f| f.0),
        source_fingerprint: item.source_fingerprint.0,
        desired: item.desired.as_ref().map(|d| match d {
            DesiredRecord::Pac(p) => OutRecord::Pac(p),
            DesiredRecord::Astrow(a) => OutRecord::Astrow(a),
        }),
        wave: item.wave,
    };
    // Serialising plain data into a Vec cannot fail.
    postcard::to_extend(&out, vec![BINARY_V2]).unwrap_or_default()
}

fn from_binary<R>(i: In<R>, reason: impl FnOnce(R) -> Reason) -> PlanItem {
    PlanItem {
        id: i.id,
        action: i.action,
        target: i.target,
        master_id: i.master_id,
        slave_id: i.slave_id,
        changes: i.changes,
        reason: reason(i.reason),
        destructive: i.destructive,
        target_fingerprint: i.target_fingerprint.map(Fingerprint),
        source_fingerprint: Fingerprint(i.source_fingerprint),
        desired: i.desired.map(|d| match d {
            InRecord::Pac(p) => DesiredRecord::Pac(p),
            InRecord::Astrow(a) => DesiredRecord::Astrow(a),
        }),
        wave: i.wave,
    }
}

/// A stored body read back: binary, or JSON from before the binary format.
pub fn decode_item(body: &[u8]) -> Result<PlanItem, BodyError> {
    Ok(match decode_stored(body)? {
        (item, Some(text)) => reason_as_data(item, text),
        (item, None) => item,
    })
}

/// A stored body read back as it is: the item, and the reason's text when
/// an earlier version stored it as text (the item's reason is then empty).
fn decode_stored(body: &[u8]) -> Result<(PlanItem, Option<String>), BodyError> {
    match body.split_first() {
        None => Err(BodyError::Empty),
        Some((&BINARY_V2, rest)) => Ok((from_binary(postcard::from_bytes(rest)?, |r| r), None)),
        Some((&BINARY_V1, rest)) => {
            let mut text = String::new();
            let item = from_binary(postcard::from_bytes(rest)?, |t| {
                text = t;
                Reason::Text("".into())
            });
            Ok((item, Some(text)))
        }
        Some((b'{', _)) => {
            let item: PlanItem = serde_json::from_slice(body)?;
            Ok(match &item.reason {
                Reason::Text(t) => {
                    let text = t.to_string();
                    (item, Some(text))
                }
                _ => (item, None),
            })
        }
        Some((&other, _)) => Err(BodyError::UnknownFormat(other)),
    }
}

/// An item read with its reason as `text` (an earlier version's): the
/// reason as data where the data renders to that very text.
fn reason_as_data(mut item: PlanItem, text: String) -> PlanItem {
    let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_ref()).collect();
    let cx = ReasonContext {
        master_id: item.master_id,
        slave_id: item.slave_id,
        fields: &fields,
        name: &no_names,
    };
    let reason = Reason::from_text(text, item.target, &cx);
    item.reason = reason;
    item
}

/// A body stored by an earlier version (JSON, or binary with its reason as
/// text) in today's binary format, so that a re-plan can tell the same
/// change by its bytes; `None` for a body that is already in today's
/// format or does not read.
pub fn upgrade_body(body: &[u8]) -> Option<Vec<u8>> {
    match body.first() {
        Some(b'{' | &BINARY_V1) => decode_item(body).ok().map(|i| encode_item(&i)),
        _ => None,
    }
}

/// The reason of a stored item in words, for traces (`None` when it does
/// not read): an earlier version's text as it was stored (with the names
/// it gave); today's reasons rendered, persons named by id (names are not
/// known here).
pub fn item_reason(body: &[u8]) -> Option<String> {
    match decode_stored(body).ok()? {
        (_, Some(text)) => Some(text),
        (item, None) => Some(item.reason_text(&no_names)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Badge, BadgeType, PacId, PersNo};
    use chrono::NaiveDate;

    fn astrow() -> AstrowEmployee {
        AstrowEmployee {
            pers_no: PersNo(7),
            employee_no: "E-7".into(),
            first_name: "Ana".into(),
            middle_name: String::new(),
            last_name: "Pop".into(),
            badge_no: Some("00A1".into()),
            active: true,
            contract_start: NaiveDate::from_ymd_opt(2024, 3, 1),
            contract_end: None,
            cycle_code: "STD".into(),
            paygroup_code: "MONTHLY".into(),
            pac_access_group_ids: vec![1, 3],
            pac_badge_type: Some(BadgeType::ALL[1]),
            external_ref: Some("pac:100".into()),
            version: 5,
        }
    }

    fn pac() -> PacEmployee {
        PacEmployee {
            id: PacId(100),
            first_name: "Ana".into(),
            last_name: "Pop".into(),
            employee_number: "E-7".into(),
            active: false,
            valid_from: None,
            valid_until: NaiveDate::from_ymd_opt(2026, 1, 31),
            access_group_ids: vec![2],
            badges: vec![Badge {
                number: "00A1".into(),
                badge_type: BadgeType::ALL[0],
                active: false,
            }],
            external_ref: None,
            version: 3,
        }
    }

    fn item(desired: Option<DesiredRecord>) -> PlanItem {
        PlanItem {
            id: "update:astrow:7".into(),
            action: Action::Update,
            target: System::Astrow,
            master_id: Some(100),
            slave_id: Some(7),
            changes: vec![FieldChange {
                field: "last_name".into(),
                before: "Popa".into(),
                after: "Pop".into(),
            }],
            reason: Reason::Changed {
                master: System::Pac,
            },
            destructive: false,
            target_fingerprint: Some(Fingerprint(u64::MAX)),
            source_fingerprint: Fingerprint(42),
            desired,
            wave: 2,
        }
    }

    #[test]
    fn every_kind_of_item_reads_back_as_written() {
        for desired in [
            None,
            Some(DesiredRecord::Astrow(astrow())),
            Some(DesiredRecord::Pac(pac())),
        ] {
            let i = item(desired);
            assert_eq!(decode_item(&encode_item(&i)).unwrap(), i);
        }
    }

    #[test]
    fn a_binary_body_is_much_smaller_than_its_json() {
        let i = item(Some(DesiredRecord::Astrow(astrow())));
        let json = serde_json::to_vec(&i).unwrap();
        let binary = encode_item(&i);
        assert!(
            binary.len() * 2 < json.len(),
            "{} vs {}",
            binary.len(),
            json.len()
        );
    }

    #[test]
    fn a_json_body_of_an_earlier_version_still_reads() {
        let i = item(Some(DesiredRecord::Pac(pac())));
        // Earlier versions wrote the reason as text.
        let mut old = serde_json::to_value(&i).unwrap();
        old["reason"] = "changed in PAC: last_name".into();
        let json = serde_json::to_vec(&old).unwrap();
        assert_eq!(decode_item(&json).unwrap(), i);
        assert_eq!(decode_item(&serde_json::to_vec(&i).unwrap()).unwrap(), i);
        assert_eq!(
            item_reason(&json).as_deref(),
            Some("changed in PAC: last_name")
        );
    }

    #[test]
    fn a_damaged_body_is_an_error_naming_what_is_wrong() {
        let body = encode_item(&item(None));
        let cut = &body[..body.len() / 2];
        assert!(matches!(decode_item(cut), Err(BodyError::Binary(_))));
        assert!(matches!(decode_item(b""), Err(BodyError::Empty)));
        assert!(matches!(decode_item(b"{\"id\":"), Err(BodyError::Json(_))));
        let e = decode_item(b"\x07abc").unwrap_err();
        assert!(e.to_string().contains("0x07"), "{e}");
        assert_eq!(item_reason(cut), None);
    }

    /// A body as the first binary format wrote it: the reason as text.
    fn v1_body(i: &PlanItem, reason: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct V1<'a> {
            id: &'a str,
            action: Action,
            target: System,
            master_id: Option<u64>,
            slave_id: Option<u64>,
            changes: &'a [FieldChange],
            reason: &'a str,
            destructive: bool,
            target_fingerprint: Option<u64>,
            source_fingerprint: u64,
            desired: Option<OutRecord<'a>>,
            wave: u32,
        }
        let v1 = V1 {
            id: &i.id,
            action: i.action,
            target: i.target,
            master_id: i.master_id,
            slave_id: i.slave_id,
            changes: &i.changes,
            reason,
            destructive: i.destructive,
            target_fingerprint: i.target_fingerprint.map(|f| f.0),
            source_fingerprint: i.source_fingerprint.0,
            desired: i.desired.as_ref().map(|d| match d {
                DesiredRecord::Pac(p) => OutRecord::Pac(p),
                DesiredRecord::Astrow(a) => OutRecord::Astrow(a),
            }),
            wave: i.wave,
        };
        postcard::to_extend(&v1, vec![BINARY_V1]).unwrap()
    }

    #[test]
    fn a_body_of_the_first_binary_format_still_reads_and_upgrades() {
        let i = item(Some(DesiredRecord::Astrow(astrow())));
        let body = encode_item(&i);
        assert_eq!(body[0], BINARY_V2);
        assert_eq!(upgrade_body(&body), None);
        // The reason the planner now makes as data reads back as that data,
        // so a re-plan knows the item by its bytes.
        let old = v1_body(&i, "changed in PAC: last_name");
        assert_eq!(decode_item(&old).unwrap(), i);
        assert_eq!(upgrade_body(&old), Some(body));
        // Any other text stays as it was written.
        let odd = v1_body(&i, "PAC is master: last name changed in PAC");
        let read = decode_item(&odd).unwrap();
        assert_eq!(
            read.reason,
            Reason::Text("PAC is master: last name changed in PAC".into())
        );
        assert_eq!(
            item_reason(&odd).as_deref(),
            Some("PAC is master: last name changed in PAC")
        );
    }

    /// Traces of items an earlier version stored show its words, names
    /// included (review finding): the names are not rebuilt from ids.
    #[test]
    fn a_stored_reason_text_is_shown_as_it_was_stored() {
        let mut i = item(Some(DesiredRecord::Astrow(astrow())));
        i.id = "link:pac:100:astrow:7".into();
        i.action = Action::Link;
        let text = "PAC employee 100 (Ana Pop) matched by employee number E-7 with Astrow employee 7 (Ana Pop): link; update last_name";
        let old = v1_body(&i, text);
        assert_eq!(item_reason(&old).as_deref(), Some(text));
        // Read for a re-plan or an apply, the same text is data.
        assert!(!matches!(
            decode_item(&old).unwrap().reason,
            Reason::Text(_)
        ));
    }
}
