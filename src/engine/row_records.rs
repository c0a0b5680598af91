//! The records an employee row holds, compact: each record's text in one
//! allocation (the model's records hold a `String` per field, seven to
//! nine allocations and 170-250 bytes of struct each), and the fields a
//! row differs in as a set of bits instead of a list of strings. At 100k
//! employees a side the rows are the engine's second largest holding.
//!
//! On the wire (the control socket's postcard, the console's JSON
//! cleaning) a record is exactly the model's record: it serializes field
//! for field as `PacEmployee` / `AstrowEmployee` do, and a [`FieldSet`] as
//! the list of its field names, so the encoding did not change.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{AstrowEmployee, Badge, BadgeType, PacEmployee, PacId, PersNo};

/// Strings packed end to end in one allocation; string `i` ends at
/// `ends[i]`. Each record stays far below 4 GiB (HTTP bodies are bounded),
/// and a getter out of range reads as empty rather than panicking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Packed {
    text: Box<str>,
}

impl Packed {
    /// `parts` end to end, and where each ends.
    fn new<const N: usize>(parts: [&str; N]) -> (Packed, [u32; N]) {
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let ends = parts.map(|p| end_after(&mut text, p));
        (Packed::from(text), ends)
    }

    fn get(&self, ends: &[u32], i: usize) -> &str {
        let start = i.checked_sub(1).and_then(|p| ends.get(p)).copied();
        let end = ends.get(i).copied().unwrap_or(0);
        self.text
            .get(start.unwrap_or(0) as usize..end as usize)
            .unwrap_or_default()
    }
}

impl From<String> for Packed {
    /// Sized to its text already, the boxing copies nothing.
    fn from(text: String) -> Packed {
        Packed {
            text: text.into_boxed_str(),
        }
    }
}

/// `part` added to `text`; where it ends.
fn end_after(text: &mut String, part: &str) -> u32 {
    text.push_str(part);
    u32::try_from(text.len()).unwrap_or(u32::MAX)
}

/// A badge of a [`PacRecord`]: its number lives in the record's text and
/// ends at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BadgeMark {
    end: u32,
    badge_type: BadgeType,
    active: bool,
}

/// A badge as read from a [`PacRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BadgeRef<'a> {
    pub number: &'a str,
    pub badge_type: BadgeType,
    pub active: bool,
}

const PAC_FIRST: usize = 0;
const PAC_LAST: usize = 1;
const PAC_NUMBER: usize = 2;
const PAC_REF: usize = 3;
const PAC_FIXED: usize = 4;

/// A PAC keyholder as an employee row holds it (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacRecord {
    pub id: PacId,
    pub active: bool,
    has_ref: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub version: u64,
    pub access_group_ids: Box<[u32]>,
    /// First name, last name, employee number, external ref, then the
    /// badges' numbers.
    text: Packed,
    /// Where each of the first four strings of `text` ends.
    ends: [u32; PAC_FIXED],
    badges: Box<[BadgeMark]>,
}

impl PacRecord {
    pub fn first_name(&self) -> &str {
        self.text.get(&self.ends, PAC_FIRST)
    }
    pub fn last_name(&self) -> &str {
        self.text.get(&self.ends, PAC_LAST)
    }
    pub fn employee_number(&self) -> &str {
        self.text.get(&self.ends, PAC_NUMBER)
    }
    pub fn external_ref(&self) -> Option<&str> {
        self.has_ref.then(|| self.text.get(&self.ends, PAC_REF))
    }
    pub fn badges(&self) -> impl ExactSizeIterator<Item = BadgeRef<'_>> + Clone + '_ {
        self.badges.iter().enumerate().map(|(k, b)| {
            let start = match k.checked_sub(1) {
                Some(before) => self.badges.get(before).map_or(0, |b| b.end),
                None => self.ends[PAC_FIXED - 1],
            };
            BadgeRef {
                number: self.text.get(&[start, b.end], 1),
                badge_type: b.badge_type,
                active: b.active,
            }
        })
    }

    /// The model's record again (for a view of one employee).
    pub fn to_employee(&self) -> PacEmployee {
        PacEmployee {
            id: self.id,
            first_name: self.first_name().to_string(),
            last_name: self.last_name().to_string(),
            employee_number: self.employee_number().to_string(),
            active: self.active,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            access_group_ids: self.access_group_ids.to_vec(),
            badges: self
                .badges()
                .map(|b| Badge {
                    number: b.number.to_string(),
                    badge_type: b.badge_type,
                    active: b.active,
                })
                .collect(),
            external_ref: self.external_ref().map(str::to_string),
            version: self.version,
        }
    }

    fn from_parts<'a>(
        fixed: PacWire<'a>,
        badges: impl ExactSizeIterator<Item = (&'a str, BadgeMark)> + Clone,
    ) -> PacRecord {
        let strings = [
            fixed.first_name,
            fixed.last_name,
            fixed.employee_number,
            fixed.external_ref.unwrap_or_default(),
        ];
        let numbers: usize = badges.clone().map(|(n, _)| n.len()).sum();
        let mut text =
            String::with_capacity(strings.iter().map(|s| s.len()).sum::<usize>() + numbers);
        let ends = strings.map(|s| end_after(&mut text, s));
        let badges = badges
            .map(|(n, m)| BadgeMark {
                end: end_after(&mut text, n),
                ..m
            })
            .collect();
        PacRecord {
            id: fixed.id,
            active: fixed.active,
            has_ref: fixed.external_ref.is_some(),
            valid_from: fixed.valid_from,
            valid_until: fixed.valid_until,
            version: fixed.version,
            access_group_ids: fixed.access_group_ids.into_owned().into_boxed_slice(),
            text: Packed::from(text),
            ends,
            badges,
        }
    }
}

/// The fields of a PAC record other than its badges, borrowed.
struct PacWire<'a> {
    id: PacId,
    first_name: &'a str,
    last_name: &'a str,
    employee_number: &'a str,
    active: bool,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    access_group_ids: Cow<'a, [u32]>,
    external_ref: Option<&'a str>,
    version: u64,
}

impl From<&PacEmployee> for PacRecord {
    fn from(e: &PacEmployee) -> PacRecord {
        let fixed = PacWire {
            id: e.id,
            first_name: &e.first_name,
            last_name: &e.last_name,
            employee_number: &e.employee_number,
            active: e.active,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            access_group_ids: Cow::Borrowed(&e.access_group_ids),
            external_ref: e.external_ref.as_deref(),
            version: e.version,
        };
        let badges = e.badges.iter().map(|b| {
            let mark = BadgeMark {
                end: 0,
                badge_type: b.badge_type,
                active: b.active,
            };
            (b.number.as_str(), mark)
        });
        PacRecord::from_parts(fixed, badges)
    }
}

/// A `PacEmployee` as serde sees it, borrowed: the same fields in the same
/// order, so a record encodes exactly as the model's.
#[derive(Serialize)]
struct PacOut<'a> {
    id: PacId,
    first_name: &'a str,
    last_name: &'a str,
    employee_number: &'a str,
    active: bool,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    access_group_ids: &'a [u32],
    badges: BadgesOut<'a>,
    external_ref: Option<&'a str>,
    version: u64,
}

struct BadgesOut<'a>(&'a PacRecord);

impl Serialize for BadgesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.badges())
    }
}

impl Serialize for PacRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PacOut {
            id: self.id,
            first_name: self.first_name(),
            last_name: self.last_name(),
            employee_number: self.employee_number(),
            active: self.active,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            access_group_ids: &self.access_group_ids,
            badges: BadgesOut(self),
            external_ref: self.external_ref(),
            version: self.version,
        }
        .serialize(s)
    }
}

/// A `PacEmployee` as read, its text borrowed from the input where the
/// format allows (postcard does), so reading a row copies each string once.
#[derive(Deserialize)]
struct PacIn<'a> {
    id: PacId,
    #[serde(borrow)]
    first_name: Cow<'a, str>,
    #[serde(borrow)]
    last_name: Cow<'a, str>,
    #[serde(borrow)]
    employee_number: Cow<'a, str>,
    active: bool,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    access_group_ids: Vec<u32>,
    #[serde(borrow)]
    badges: Vec<BadgeIn<'a>>,
    #[serde(borrow)]
    external_ref: Option<Cow<'a, str>>,
    version: u64,
}

#[derive(Deserialize)]
struct BadgeIn<'a> {
    #[serde(borrow)]
    number: Cow<'a, str>,
    badge_type: BadgeType,
    active: bool,
}

impl<'de> Deserialize<'de> for PacRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PacRecord, D::Error> {
        let e = PacIn::deserialize(d)?;
        let fixed = PacWire {
            id: e.id,
            first_name: &e.first_name,
            last_name: &e.last_name,
            employee_number: &e.employee_number,
            active: e.active,
            valid_from: e.valid_from,
            valid_until: e.valid_until,
            access_group_ids: Cow::Owned(e.access_group_ids),
            external_ref: e.external_ref.as_deref(),
            version: e.version,
        };
        let badges = e.badges.iter().map(|b| {
            let mark = BadgeMark {
                end: 0,
                badge_type: b.badge_type,
                active: b.active,
            };
            (&*b.number, mark)
        });
        Ok(PacRecord::from_parts(fixed, badges))
    }
}

const A_EMPLOYEE_NO: usize = 0;
const A_FIRST: usize = 1;
const A_MIDDLE: usize = 2;
const A_LAST: usize = 3;
const A_BADGE: usize = 4;
const A_CYCLE: usize = 5;
const A_PAYGROUP: usize = 6;
const A_REF: usize = 7;
const A_FIXED: usize = 8;

/// An Astrow employee as an employee row holds it (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AstrowRecord {
    pub pers_no: PersNo,
    pub active: bool,
    has_badge: bool,
    has_ref: bool,
    pub pac_badge_type: Option<BadgeType>,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    pub version: u64,
    pub pac_access_group_ids: Box<[u32]>,
    text: Packed,
    ends: [u32; A_FIXED],
}

impl AstrowRecord {
    pub fn employee_no(&self) -> &str {
        self.text.get(&self.ends, A_EMPLOYEE_NO)
    }
    pub fn first_name(&self) -> &str {
        self.text.get(&self.ends, A_FIRST)
    }
    pub fn middle_name(&self) -> &str {
        self.text.get(&self.ends, A_MIDDLE)
    }
    pub fn last_name(&self) -> &str {
        self.text.get(&self.ends, A_LAST)
    }
    pub fn badge_no(&self) -> Option<&str> {
        self.has_badge.then(|| self.text.get(&self.ends, A_BADGE))
    }
    pub fn cycle_code(&self) -> &str {
        self.text.get(&self.ends, A_CYCLE)
    }
    pub fn paygroup_code(&self) -> &str {
        self.text.get(&self.ends, A_PAYGROUP)
    }
    pub fn external_ref(&self) -> Option<&str> {
        self.has_ref.then(|| self.text.get(&self.ends, A_REF))
    }

    /// The model's record again (for a view of one employee).
    pub fn to_employee(&self) -> AstrowEmployee {
        AstrowEmployee {
            pers_no: self.pers_no,
            employee_no: self.employee_no().to_string(),
            first_name: self.first_name().to_string(),
            middle_name: self.middle_name().to_string(),
            last_name: self.last_name().to_string(),
            badge_no: self.badge_no().map(str::to_string),
            active: self.active,
            contract_start: self.contract_start,
            contract_end: self.contract_end,
            cycle_code: self.cycle_code().to_string(),
            paygroup_code: self.paygroup_code().to_string(),
            pac_access_group_ids: self.pac_access_group_ids.to_vec(),
            pac_badge_type: self.pac_badge_type,
            external_ref: self.external_ref().map(str::to_string),
            version: self.version,
        }
    }
}

/// An `AstrowEmployee`'s fields, its text borrowed: how a record is made,
/// written and read (the same fields in the same order as the model's).
#[derive(Serialize, Deserialize)]
struct AstrowWire<'a> {
    pers_no: PersNo,
    #[serde(borrow)]
    employee_no: Cow<'a, str>,
    #[serde(borrow)]
    first_name: Cow<'a, str>,
    #[serde(borrow)]
    middle_name: Cow<'a, str>,
    #[serde(borrow)]
    last_name: Cow<'a, str>,
    #[serde(borrow)]
    badge_no: Option<Cow<'a, str>>,
    active: bool,
    contract_start: Option<NaiveDate>,
    contract_end: Option<NaiveDate>,
    #[serde(borrow)]
    cycle_code: Cow<'a, str>,
    #[serde(borrow)]
    paygroup_code: Cow<'a, str>,
    #[serde(borrow)]
    pac_access_group_ids: Cow<'a, [u32]>,
    pac_badge_type: Option<BadgeType>,
    #[serde(borrow)]
    external_ref: Option<Cow<'a, str>>,
    version: u64,
}

impl From<AstrowWire<'_>> for AstrowRecord {
    fn from(w: AstrowWire<'_>) -> AstrowRecord {
        let (text, ends) = Packed::new([
            &*w.employee_no,
            &*w.first_name,
            &*w.middle_name,
            &*w.last_name,
            w.badge_no.as_deref().unwrap_or_default(),
            &*w.cycle_code,
            &*w.paygroup_code,
            w.external_ref.as_deref().unwrap_or_default(),
        ]);
        AstrowRecord {
            pers_no: w.pers_no,
            active: w.active,
            has_badge: w.badge_no.is_some(),
            has_ref: w.external_ref.is_some(),
            pac_badge_type: w.pac_badge_type,
            contract_start: w.contract_start,
            contract_end: w.contract_end,
            version: w.version,
            pac_access_group_ids: w.pac_access_group_ids.into_owned().into_boxed_slice(),
            text,
            ends,
        }
    }
}

impl From<&AstrowEmployee> for AstrowRecord {
    fn from(e: &AstrowEmployee) -> AstrowRecord {
        AstrowRecord::from(AstrowWire {
            pers_no: e.pers_no,
            employee_no: Cow::Borrowed(&e.employee_no),
            first_name: Cow::Borrowed(&e.first_name),
            middle_name: Cow::Borrowed(&e.middle_name),
            last_name: Cow::Borrowed(&e.last_name),
            badge_no: e.badge_no.as_deref().map(Cow::Borrowed),
            active: e.active,
            contract_start: e.contract_start,
            contract_end: e.contract_end,
            cycle_code: Cow::Borrowed(&e.cycle_code),
            paygroup_code: Cow::Borrowed(&e.paygroup_code),
            pac_access_group_ids: Cow::Borrowed(&e.pac_access_group_ids),
            pac_badge_type: e.pac_badge_type,
            external_ref: e.external_ref.as_deref().map(Cow::Borrowed),
            version: e.version,
        })
    }
}

impl Serialize for AstrowRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AstrowWire {
            pers_no: self.pers_no,
            employee_no: Cow::Borrowed(self.employee_no()),
            first_name: Cow::Borrowed(self.first_name()),
            middle_name: Cow::Borrowed(self.middle_name()),
            last_name: Cow::Borrowed(self.last_name()),
            badge_no: self.badge_no().map(Cow::Borrowed),
            active: self.active,
            contract_start: self.contract_start,
            contract_end: self.contract_end,
            cycle_code: Cow::Borrowed(self.cycle_code()),
            paygroup_code: Cow::Borrowed(self.paygroup_code()),
            pac_access_group_ids: Cow::Borrowed(&self.pac_access_group_ids),
            pac_badge_type: self.pac_badge_type,
            external_ref: self.external_ref().map(Cow::Borrowed),
            version: self.version,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for AstrowRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AstrowRecord, D::Error> {
        AstrowWire::deserialize(d).map(AstrowRecord::from)
    }
}

/// The owned fields an employee row can differ in, in the order they are
/// shown (the order the planner compares them in).
pub const ROW_FIELDS: [&str; 18] = [
    "first_name",
    "last_name",
    "middle_name",
    "employee_number",
    "employee_no",
    "active",
    "valid_from",
    "valid_until",
    "contract_start",
    "contract_end",
    "access_group_ids",
    "pac.access_group_ids",
    "pac.badge_type",
    "cycle_code",
    "paygroup_code",
    "badges",
    "badge_no",
    "external_ref",
];

/// A set of [`ROW_FIELDS`], as bits. On the wire: the list of their names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u32);

impl FieldSet {
    /// Add the field named `name`; false when it is not one of
    /// [`ROW_FIELDS`] (and nothing was added).
    pub fn insert(&mut self, name: &str) -> bool {
        match ROW_FIELDS.iter().position(|f| *f == name) {
            Some(i) => {
                self.0 |= 1 << i;
                true
            }
            None => false,
        }
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, name: &str) -> bool {
        ROW_FIELDS
            .iter()
            .position(|f| *f == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The names of the fields in the set, in [`ROW_FIELDS`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> + Clone {
        ROW_FIELDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, f)| *f)
    }
}

impl Serialize for FieldSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // postcard writes the length first: it must be known.
        let mut seq = s.serialize_seq(Some(self.0.count_ones() as usize))?;
        for name in self.names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for FieldSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldSet, D::Error> {
        let names: Vec<Cow<'de, str>> = Vec::deserialize(d)?;
        let mut set = FieldSet::default();
        for name in &names {
            if !set.insert(name) {
                return Err(serde::de::Error::custom(format!(
                    "{name:?} is not a field an employee row can differ in (one of {})",
                    ROW_FIELDS.join(", ")
                )));
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pac() -> PacEmployee {
        PacEmployee {
            id: PacId(10001),
            first_name: "Ștefan".into(),
            last_name: "Ó Briain".into(),
            employee_number: "E-0042".into(),
            active: true,
            valid_from: NaiveDate::from_ymd_opt(2024, 1, 2),
            valid_until: None,
            access_group_ids: vec![1, 3],
            badges: vec![
                Badge {
                    number: "00AF12".into(),
                    badge_type: BadgeType::Wiegand2601,
                    active: true,
                },
                Badge {
                    number: "".into(),
                    badge_type: BadgeType::Oneprox,
                    active: false,
                },
                Badge {
                    number: "7E".into(),
                    badge_type: BadgeType::PacProximity,
                    active: true,
                },
            ],
            external_ref: Some("astrow:17".into()),
            version: 9,
        }
    }

    fn astrow() -> AstrowEmployee {
        AstrowEmployee {
            pers_no: PersNo(17),
            employee_no: "E-0042".into(),
            first_name: "Zoë".into(),
            middle_name: "".into(),
            last_name: "王".into(),
            badge_no: Some("00AF12".into()),
            active: false,
            contract_start: NaiveDate::from_ymd_opt(2020, 5, 1),
            contract_end: NaiveDate::from_ymd_opt(2030, 5, 1),
            cycle_code: "STD".into(),
            paygroup_code: "".into(),
            pac_access_group_ids: vec![2],
            pac_badge_type: Some(BadgeType::Oneprox),
            external_ref: None,
            version: 3,
        }
    }

    fn variants_pac() -> Vec<PacEmployee> {
        let mut bare = pac();
        bare.badges.clear();
        bare.external_ref = None;
        bare.access_group_ids.clear();
        let mut empty_ref = pac();
        empty_ref.external_ref = Some(String::new());
        vec![pac(), bare, empty_ref]
    }

    fn variants_astrow() -> Vec<AstrowEmployee> {
        let mut other = astrow();
        other.badge_no = None;
        other.external_ref = Some("pac:10001".into());
        other.pac_badge_type = None;
        let mut empty = astrow();
        empty.badge_no = Some(String::new());
        vec![astrow(), other, empty]
    }

    #[test]
    fn records_give_back_the_model_records_they_were_made_from() {
        for e in variants_pac() {
            let r = PacRecord::from(&e);
            assert_eq!(r.to_employee(), e);
            assert_eq!(r.first_name(), e.first_name);
            assert_eq!(r.external_ref(), e.external_ref.as_deref());
            let numbers: Vec<&str> = r.badges().map(|b| b.number).collect();
            let want: Vec<&str> = e.badges.iter().map(|b| b.number.as_str()).collect();
            assert_eq!(numbers, want);
        }
        for e in variants_astrow() {
            let r = AstrowRecord::from(&e);
            assert_eq!(r.to_employee(), e);
            assert_eq!(r.badge_no(), e.badge_no.as_deref());
            assert_eq!(r.last_name(), e.last_name);
        }
    }

    #[test]
    fn records_encode_exactly_as_the_model_records_and_read_back() {
        for e in variants_pac() {
            let r = PacRecord::from(&e);
            let bytes = postcard::to_allocvec(&r).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&e).unwrap());
            assert_eq!(postcard::from_bytes::<PacRecord>(&bytes).unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, serde_json::to_string(&e).unwrap());
            assert_eq!(serde_json::from_str::<PacRecord>(&json).unwrap(), r);
            let value = serde_json::to_value(&r).unwrap();
            assert_eq!(serde_json::from_value::<PacRecord>(value).unwrap(), r);
        }
        for e in variants_astrow() {
            let r = AstrowRecord::from(&e);
            let bytes = postcard::to_allocvec(&r).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&e).unwrap());
            assert_eq!(postcard::from_bytes::<AstrowRecord>(&bytes).unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, serde_json::to_string(&e).unwrap());
            assert_eq!(serde_json::from_str::<AstrowRecord>(&json).unwrap(), r);
            let value = serde_json::to_value(&r).unwrap();
            assert_eq!(serde_json::from_value::<AstrowRecord>(value).unwrap(), r);
        }
    }

    #[test]
    fn a_field_set_is_its_names_in_table_order_on_the_wire() {
        let mut set = FieldSet::default();
        assert!(set.is_empty());
        assert!(set.insert("badge_no"));
        assert!(set.insert("first_name"));
        assert!(set.insert("first_name"));
        assert!(!set.insert("salary"));
        assert!(set.contains("badge_no") && !set.contains("last_name"));
        assert_eq!(set.names().collect::<Vec<_>>(), ["first_name", "badge_no"]);
        let as_list = vec!["first_name".to_string(), "badge_no".to_string()];
        let bytes = postcard::to_allocvec(&set).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&as_list).unwrap());
        assert_eq!(postcard::from_bytes::<FieldSet>(&bytes).unwrap(), set);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["first_name","badge_no"]"#);
        assert_eq!(serde_json::from_str::<FieldSet>(&json).unwrap(), set);
        let err = serde_json::from_str::<FieldSet>(r#"["salary"]"#).unwrap_err();
        assert!(
            err.to_string().contains("\"salary\" is not a field"),
            "{err}"
        );
    }

    #[test]
    fn a_row_record_is_smaller_than_the_model_record() {
        assert!(std::mem::size_of::<PacRecord>() < std::mem::size_of::<PacEmployee>());
        assert!(std::mem::size_of::<AstrowRecord>() < std::mem::size_of::<AstrowEmployee>());
    }
}
