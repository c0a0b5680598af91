//! The link between a PAC employee and an Astrow employee.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PacId, PersNo};

/// How a link came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkOrigin {
    /// astrow-pac created the slave record.
    Created,
    /// An existing slave record was matched to its master (by key or by
    /// `external_ref`).
    Matched,
}

impl LinkOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkOrigin::Created => "created",
            LinkOrigin::Matched => "matched",
        }
    }

    pub fn parse(text: &str) -> Option<LinkOrigin> {
        match text {
            "created" => Some(LinkOrigin::Created),
            "matched" => Some(LinkOrigin::Matched),
            _ => None,
        }
    }
}

/// One employee pair: at most one link per PAC id and one per pers_no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub pac_id: PacId,
    pub pers_no: PersNo,
    pub origin: LinkOrigin,
    pub at: DateTime<Utc>,
}

/// `external_ref` a PAC employee carries for its Astrow twin: `astrow:<pers_no>`.
pub fn astrow_ref(pers_no: PersNo) -> String {
    format!("astrow:{}", pers_no.0)
}

/// `external_ref` an Astrow employee carries for its PAC twin: `pac:<id>`.
pub fn pac_ref(pac_id: PacId) -> String {
    format!("pac:{}", pac_id.0)
}

/// The pers_no named by a PAC employee's `external_ref`, if it is ours.
pub fn parse_astrow_ref(external_ref: Option<&str>) -> Option<PersNo> {
    parse_ref(external_ref?, "astrow:").map(PersNo)
}

/// The PAC id named by an Astrow employee's `external_ref`, if it is ours.
pub fn parse_pac_ref(external_ref: Option<&str>) -> Option<PacId> {
    parse_ref(external_ref?, "pac:").map(PacId)
}

fn parse_ref(text: &str, prefix: &str) -> Option<u64> {
    let is_digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    // Trimming only when needed: this runs for every employee of every plan.
    let digits = match text.strip_prefix(prefix) {
        Some(d) if is_digits(d) => d,
        _ => text.trim().strip_prefix(prefix).filter(|d| is_digits(d))?,
    };
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip_and_foreign_refs_are_ignored() {
        assert_eq!(
            parse_pac_ref(Some(&pac_ref(PacId(10231)))),
            Some(PacId(10231))
        );
        assert_eq!(
            parse_astrow_ref(Some(&astrow_ref(PersNo(7)))),
            Some(PersNo(7))
        );
        assert_eq!(parse_pac_ref(Some("astrow:7")), None);
        assert_eq!(parse_pac_ref(Some("pac:")), None);
        assert_eq!(parse_pac_ref(Some("pac:+7")), None);
        assert_eq!(parse_pac_ref(None), None);
        assert_eq!(LinkOrigin::parse("created"), Some(LinkOrigin::Created));
    }
}
