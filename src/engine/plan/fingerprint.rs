//! Stable fingerprints of records: FNV-1a 64 over the fields, each field
//! length-prefixed so that ("ab", "c") and ("a", "bc") differ. The same
//! record gives the same fingerprint in every run and on every machine.
//!
//! Two kinds:
//! - the *target* fingerprint covers every field the record carries except
//!   `version` (a change to any of them, owned or not, makes a planned write
//!   stale);
//! - the *source* fingerprint covers only the fields that flow to the other
//!   system (a rejected item comes back when one of those changes).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DesiredRecord;
use crate::model::{AstrowEmployee, Badge, PacEmployee};

/// A record's fingerprint. Serialised as 16 hex digits (JSON numbers lose
/// precision above 2^53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Fingerprint {
    pub fn parse_hex(text: &str) -> Option<Fingerprint> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(Fingerprint)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fingerprint::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a fingerprint is 16 hex digits"))
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 with typed, length-prefixed writes.
#[derive(Debug, Clone)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Fnv {
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let mut h = self.0;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u64(0),
            Some(s) => self.u64(1).str(s),
        }
    }

    pub(crate) fn bool(&mut self, b: bool) -> &mut Self {
        self.bytes(&[u8::from(b)])
    }

    pub(crate) fn date(&mut self, d: Option<NaiveDate>) -> &mut Self {
        match d {
            None => self.u64(0),
            Some(d) => self.u64(1).u64(i64::from(d.num_days_from_ce()) as u64),
        }
    }

    pub(crate) fn ids(&mut self, ids: &[u32]) -> &mut Self {
        self.u64(ids.len() as u64);
        for id in ids {
            self.u64(u64::from(*id));
        }
        self
    }

    fn badges(&mut self, badges: &[Badge]) -> &mut Self {
        self.u64(badges.len() as u64);
        for b in badges {
            self.str(&b.number)
                .str(b.badge_type.as_str())
                .bool(b.active);
        }
        self
    }

    pub(crate) fn finish(&self) -> Fingerprint {
        Fingerprint(self.0)
    }
}

/// Every field of a PAC employee except `version`.
pub fn pac_fingerprint(e: &PacEmployee) -> Fingerprint {
    let mut h = pac_owned(e);
    h.u64(e.id.0).opt_str(e.external_ref.as_deref());
    h.finish()
}

/// The fields of a PAC employee that flow to Astrow when PAC is master.
pub fn pac_source_fingerprint(e: &PacEmployee) -> Fingerprint {
    pac_owned(e).finish()
}

fn pac_owned(e: &PacEmployee) -> Fnv {
    let mut h = Fnv::default();
    h.str("pac")
        .str(&e.first_name)
        .str(&e.last_name)
        .str(&e.employee_number)
        .bool(e.active)
        .date(e.valid_from)
        .date(e.valid_until)
        .ids(&e.access_group_ids)
        .badges(&e.badges);
    h
}

/// Every field of an Astrow employee except `version`.
pub fn astrow_fingerprint(e: &AstrowEmployee) -> Fingerprint {
    let mut h = astrow_owned(e);
    h.u64(e.pers_no.0)
        .str(&e.middle_name)
        .str(&e.cycle_code)
        .str(&e.paygroup_code)
        .opt_str(e.external_ref.as_deref());
    h.finish()
}

/// The fields of an Astrow employee that flow to PAC when Astrow is master.
pub fn astrow_source_fingerprint(e: &AstrowEmployee) -> Fingerprint {
    astrow_owned(e).finish()
}

fn astrow_owned(e: &AstrowEmployee) -> Fnv {
    let mut h = Fnv::default();
    h.str("astrow")
        .str(&e.employee_no)
        .str(&e.first_name)
        .str(&e.last_name)
        .opt_str(e.badge_no.as_deref())
        .bool(e.active)
        .date(e.contract_start)
        .date(e.contract_end)
        .ids(&e.pac_access_group_ids)
        .opt_str(e.pac_badge_type.map(|t| t.as_str()));
    h
}

/// The target fingerprint of either kind of record.
pub fn record_fingerprint(record: &DesiredRecord) -> Fingerprint {
    match record {
        DesiredRecord::Pac(e) => pac_fingerprint(e),
        DesiredRecord::Astrow(e) => astrow_fingerprint(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BadgeType, PacId};

    fn pac() -> PacEmployee {
        PacEmployee {
            id: PacId(10231),
            first_name: "Ana".into(),
            last_name: "Pop".into(),
            employee_number: "E-0042".into(),
            active: true,
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1),
            valid_until: None,
            access_group_ids: vec![1, 4],
            badges: vec![Badge {
                number: "00A1B2C3".into(),
                badge_type: BadgeType::PacProximity,
                active: true,
            }],
            external_ref: Some("astrow:1001".into()),
            version: 7,
        }
    }

    #[test]
    fn fingerprint_is_stable_across_runs() {
        // A constant: if this changes, stored fingerprints of every site change.
        assert_eq!(pac_fingerprint(&pac()), pac_fingerprint(&pac()));
        assert_eq!(
            Fnv::default().str("abc").finish(),
            Fingerprint(13_914_635_013_143_118_514)
        );
    }

    #[test]
    fn fingerprint_ignores_version_but_not_content() {
        let mut other = pac();
        other.version = 8;
        assert_eq!(pac_fingerprint(&pac()), pac_fingerprint(&other));
        other.first_name = "Anna".into();
        assert_ne!(pac_fingerprint(&pac()), pac_fingerprint(&other));
    }

    #[test]
    fn source_fingerprint_ignores_external_ref() {
        let mut other = pac();
        other.external_ref = None;
        assert_eq!(
            pac_source_fingerprint(&pac()),
            pac_source_fingerprint(&other)
        );
        assert_ne!(pac_fingerprint(&pac()), pac_fingerprint(&other));
    }

    #[test]
    fn fingerprint_serialises_as_hex() {
        let json = serde_json::to_string(&Fingerprint(0xff)).unwrap_or_default();
        assert_eq!(json, "\"00000000000000ff\"");
        assert_eq!(
            Fingerprint::parse_hex("00000000000000ff"),
            Some(Fingerprint(0xff))
        );
    }
}
