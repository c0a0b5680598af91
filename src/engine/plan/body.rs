//! A plan item as the store keeps it: a compact binary body (a format byte,
//! then the item in postcard: no field names, numbers as varints), about a
//! third of its JSON and several times faster to write and read. Bodies
//! stored as JSON by earlier versions still read.

use serde::{Deserialize, Serialize};

use super::{Action, DesiredRecord, FieldChange, Fingerprint, PlanItem};
use crate::model::{AstrowEmployee, PacEmployee, System};

/// The first byte of a binary body. A JSON body starts with `{`.
const BINARY_V1: u8 = 1;

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
    reason: &'a str,
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

#[derive(Deserialize)]
struct In {
    id: String,
    action: Action,
    target: System,
    master_id: Option<u64>,
    slave_id: Option<u64>,
    changes: Vec<FieldChange>,
    reason: String,
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
    postcard::to_extend(&out, vec![BINARY_V1]).unwrap_or_default()
}

fn from_binary(i: In) -> PlanItem {
    PlanItem {
        id: i.id,
        action: i.action,
        target: i.target,
        master_id: i.master_id,
        slave_id: i.slave_id,
        changes: i.changes,
        reason: i.reason,
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
    match body.split_first() {
        None => Err(BodyError::Empty),
        Some((&BINARY_V1, rest)) => Ok(from_binary(postcard::from_bytes(rest)?)),
        Some((b'{', _)) => Ok(serde_json::from_slice(body)?),
        Some((&other, _)) => Err(BodyError::UnknownFormat(other)),
    }
}

/// A body stored by an earlier version (JSON) in today's binary format, so
/// that a re-plan can tell the same change by its bytes; `None` for a body
/// that is already binary or does not read.
pub fn upgrade_body(body: &[u8]) -> Option<Vec<u8>> {
    match body.first() {
        Some(b'{') => decode_item(body).ok().map(|i| encode_item(&i)),
        _ => None,
    }
}

/// The reason of a stored item, for traces (`None` when it does not read).
pub fn item_reason(body: &[u8]) -> Option<String> {
    decode_item(body).ok().map(|i| i.reason)
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
            reason: "changed in PAC: last_name".into(),
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
        let json = serde_json::to_vec(&i).unwrap();
        assert_eq!(decode_item(&json).unwrap(), i);
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
}
