//! The planner's fast path: fingerprints of the fields the master owns in
//! the other system, computed once per record when a listing is marked with
//! [`Listing::with_prints`](super::Listing::with_prints), so that a linked
//! pair already in step costs a compare of two integers instead of
//! comparing its strings field by field.
//!
//! Master PAC: both sides hash the same canonical form of what
//! `owned_changes` compares: the names and employee number exactly as they
//! are (the slow path has no case or whitespace rule for them either),
//! `active`, the access groups as a set, the badge type Astrow's PAC tab
//! shows, and the PAC id the Astrow record's `external_ref` names (parsed,
//! so every spelling that parses to the same id is the same).
//! Master Astrow: the same for what `in_step` compares (and `Target::new`
//! would not block), where that depends on neither the settings nor the PAC
//! record; otherwise the print is `None` and the pair goes the slow way.
//!
//! Equal fingerprints mean the slow path finds nothing to change (up to a
//! 64-bit hash collision); different ones go the slow way, which stays the
//! one source of truth for what changes.

use chrono::NaiveDate;

use super::astrow_badges::{badge_hash, wanted_badge};
use super::astrow_record::badge_type;
use super::fingerprint::Fingerprint;
use super::text;
use crate::model::{AstrowEmployee, BadgeType, PacEmployee, parse_astrow_ref, parse_pac_ref};

/// The prints' hash: foldhash's quality hasher, which takes a string a
/// word (and more) at a time, several times faster than the byte-wise FNV
/// of stored fingerprints (that made printing two listings cost more than
/// it saved). Prints live only in memory for one plan, so the hash need not
/// be stable across versions; the fixed seed keeps it the same across runs.
/// Writes are typed and length-prefixed like [`super::fingerprint`]'s.
struct PrintHasher(foldhash::quality::FoldHasher<'static>);

impl PrintHasher {
    fn new() -> Self {
        use std::hash::BuildHasher;
        const SEED: u64 = 0x5EED_A57E_0F0A_C0DE;
        PrintHasher(foldhash::quality::FixedState::with_seed(SEED).build_hasher())
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        std::hash::Hasher::write_u64(&mut self.0, v);
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        std::hash::Hasher::write(&mut self.0, s.as_bytes());
        self
    }

    fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u64(0),
            Some(s) => self.u64(1).str(s),
        }
    }

    fn bool(&mut self, b: bool) -> &mut Self {
        self.u64(u64::from(b))
    }

    fn date(&mut self, d: Option<NaiveDate>) -> &mut Self {
        use chrono::Datelike;
        match d {
            None => self.u64(0),
            Some(d) => self.u64(1).u64(i64::from(d.num_days_from_ce()) as u64),
        }
    }

    fn ids(&mut self, ids: &[u32]) -> &mut Self {
        self.u64(ids.len() as u64);
        for id in ids {
            self.u64(u64::from(*id));
        }
        self
    }

    fn finish(&self) -> Fingerprint {
        Fingerprint(std::hash::Hasher::finish(&self.0))
    }
}

/// What the fast path knows of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPrint {
    /// The Astrow-owned fields: as PAC wants them (a PAC record) or as
    /// Astrow holds them (an Astrow record).
    pub owned: Fingerprint,
    /// The other system's id that `external_ref` names, parsed once.
    pub other_ref: Option<u64>,
    /// Master Astrow: the PAC-owned fields, as PAC holds them (a PAC
    /// record) or as Astrow wants them (an Astrow record). `None` when the
    /// print cannot tell (the answer depends on the settings or on the
    /// other record): such pairs go the slow way.
    pub pac_owned: Option<Fingerprint>,
    /// An Astrow record's wanted PAC badge number, hashed as
    /// `InStepBadges` keeps it.
    pub badge_hash: Option<u64>,
}

/// A record the fast path can fingerprint.
pub trait Printable {
    fn record_print(&self) -> RecordPrint;
}

impl Printable for PacEmployee {
    fn record_print(&self) -> RecordPrint {
        RecordPrint {
            owned: astrow_owned(
                [&self.first_name, &self.last_name, &self.employee_number],
                self.active,
                &self.access_group_ids,
                badge_type(self),
                Some(self.id.0),
            ),
            other_ref: parse_astrow_ref(self.external_ref.as_deref()).map(|p| p.0),
            pac_owned: pac_held(self),
            badge_hash: None,
        }
    }
}

impl Printable for AstrowEmployee {
    fn record_print(&self) -> RecordPrint {
        let other_ref = parse_pac_ref(self.external_ref.as_deref()).map(|p| p.0);
        RecordPrint {
            owned: astrow_owned(
                [&self.first_name, &self.last_name, &self.employee_no],
                self.active,
                &self.pac_access_group_ids,
                self.pac_badge_type,
                other_ref,
            ),
            other_ref,
            pac_owned: pac_wanted(self),
            badge_hash: wanted_badge(self.badge_no.as_deref())
                .ok()
                .flatten()
                .map(|b| badge_hash(&b)),
        }
    }
}

/// Master Astrow, the PAC side: what `in_step` compares. A PAC record
/// with more than one badge, or an inactive one, is never in step.
fn pac_held(p: &PacEmployee) -> Option<Fingerprint> {
    let badge = match p.badges.as_slice() {
        [] => None,
        [b] if b.active => Some((b.number.as_str(), b.badge_type)),
        _ => return None,
    };
    let astrow = parse_astrow_ref(p.external_ref.as_deref())?;
    Some(pac_owned(
        [&p.first_name, &p.last_name, &p.employee_number],
        p.active,
        [p.valid_from, p.valid_until],
        &p.access_group_ids,
        badge,
        astrow.0,
    ))
}

/// Master Astrow, the Astrow side: the PAC record it wants, when that does
/// not depend on the settings (it names its access groups) or on the PAC
/// record (it names its badge type), and it would not be blocked.
fn pac_wanted(a: &AstrowEmployee) -> Option<Fingerprint> {
    if a.pac_access_group_ids.is_empty()
        || (text::blank(&a.first_name) && text::blank(&a.last_name))
        || matches!((a.contract_start, a.contract_end), (Some(s), Some(e)) if e < s)
    {
        return None;
    }
    let badge = match wanted_badge(a.badge_no.as_deref()).ok()? {
        None => None,
        Some(number) => Some((number, a.pac_badge_type?)),
    };
    Some(pac_owned(
        [&a.first_name, &a.last_name, &a.employee_no],
        a.active,
        [a.contract_start, a.contract_end],
        &a.pac_access_group_ids,
        badge.as_ref().map(|(n, t)| (n.as_ref(), *t)),
        a.pers_no.0,
    ))
}

fn pac_owned(
    texts: [&str; 3],
    active: bool,
    dates: [Option<NaiveDate>; 2],
    groups: &[u32],
    badge: Option<(&str, BadgeType)>,
    pers_no: u64,
) -> Fingerprint {
    let mut h = PrintHasher::new();
    h.str("pac-owned");
    for t in texts {
        h.str(t);
    }
    h.bool(active).date(dates[0]).date(dates[1]);
    id_set(&mut h, groups);
    match badge {
        None => h.u64(0),
        Some((number, t)) => h.u64(1).str(number).str(t.as_str()),
    };
    h.u64(pers_no).finish()
}

/// Access groups as a set: order and repeats aside.
fn id_set(h: &mut PrintHasher, groups: &[u32]) {
    if groups.is_sorted_by(|a, b| a < b) {
        h.ids(groups);
    } else {
        let mut set = groups.to_vec();
        set.sort_unstable();
        set.dedup();
        h.ids(&set);
    }
}

/// The canonical form both sides hash (see the module's comment).
fn astrow_owned(
    texts: [&str; 3],
    active: bool,
    groups: &[u32],
    badge_type: Option<BadgeType>,
    pac_id: Option<u64>,
) -> Fingerprint {
    let mut h = PrintHasher::new();
    h.str("astrow-owned");
    for t in texts {
        h.str(t);
    }
    h.bool(active);
    id_set(&mut h, groups);
    h.opt_str(badge_type.map(BadgeType::as_str));
    match pac_id {
        None => h.u64(0),
        Some(id) => h.u64(1).u64(id),
    };
    h.finish()
}

/// The prints of every record of a listing, in the listing's order.
pub fn listing_prints<T: Printable>(items: &[T]) -> Vec<RecordPrint> {
    items.iter().map(Printable::record_print).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::plan::astrow_badges::Target;
    use crate::engine::plan::astrow_record::owned_changes;
    use crate::engine::plan::employees::Ctx;
    use crate::engine::plan::pac_record::in_step;
    use crate::engine::plan::{Listing, MatchKey, PlanInput, PlanSettings};
    use crate::model::{Badge, PacId, PersNo};

    /// Names and numbers that differ only by case or whitespace, or not at all.
    fn text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "", " ", "Ana", "ana", "ANA", " Ana", "Ana ", "Ana  Pop", "E-1",
        ])
        .prop_map(str::to_string)
    }

    /// Every form of `external_ref` the parsers see.
    fn external_ref() -> impl Strategy<Value = Option<String>> {
        prop::sample::select(vec![
            None,
            Some(""),
            Some("pac:1"),
            Some("pac:2"),
            Some(" pac:1 "),
            Some("pac:01"),
            Some("pac:+1"),
            Some("pac:"),
            Some("PAC:1"),
            Some("astrow:1"),
            Some("astrow:7"),
            Some(" astrow:7"),
            Some("astrow:07"),
            Some("x"),
        ])
        .prop_map(|r| r.map(str::to_string))
    }

    fn badge_no() -> impl Strategy<Value = Option<String>> {
        prop::sample::select(vec![
            None,
            Some("00A1"),
            Some("00a1"),
            Some(" 00A1"),
            Some(""),
            Some("zz"),
            Some("0000"),
        ])
        .prop_map(|b| b.map(str::to_string))
    }

    fn date() -> impl Strategy<Value = Option<NaiveDate>> {
        prop::sample::select(vec![
            None,
            NaiveDate::from_ymd_opt(2026, 1, 1),
            NaiveDate::from_ymd_opt(2026, 6, 1),
        ])
    }

    fn badge_type() -> impl Strategy<Value = Option<BadgeType>> {
        prop::option::of(prop::sample::select(BadgeType::ALL.to_vec()))
    }

    fn groups() -> impl Strategy<Value = Vec<u32>> {
        prop::collection::vec(1u32..4, 0..4)
    }

    fn pac() -> impl Strategy<Value = PacEmployee> {
        (
            (1u64..3, text(), text(), text(), any::<bool>()),
            (groups(), date(), date()),
            prop::collection::vec((badge_type(), any::<bool>()), 0..3),
            external_ref(),
        )
            .prop_map(
                |((id, first, last, number, active), (groups, from, until), badges, r)| {
                    PacEmployee {
                        id: PacId(id),
                        first_name: first,
                        last_name: last,
                        employee_number: number,
                        active,
                        valid_from: from,
                        valid_until: until,
                        access_group_ids: groups,
                        badges: badges
                            .into_iter()
                            .enumerate()
                            .map(|(i, (t, active))| Badge {
                                number: ["00A1", "00a1", "0000"][i % 3].to_string(),
                                badge_type: t.unwrap_or(BadgeType::PacProximity),
                                active,
                            })
                            .collect(),
                        external_ref: r,
                        version: 1,
                    }
                },
            )
    }

    fn astrow() -> impl Strategy<Value = AstrowEmployee> {
        (
            (prop::sample::select(vec![1u64, 7]), text(), text(), text()),
            (any::<bool>(), groups(), badge_type(), external_ref()),
            (badge_no(), date(), date()),
        )
            .prop_map(
                |(
                    (pers_no, first, last, number),
                    (active, groups, t, r),
                    (badge_no, start, end),
                )| {
                    AstrowEmployee {
                        pers_no: PersNo(pers_no),
                        employee_no: number,
                        first_name: first,
                        middle_name: String::new(),
                        last_name: last,
                        badge_no,
                        active,
                        contract_start: start,
                        contract_end: end,
                        cycle_code: "STD".into(),
                        paygroup_code: "M".into(),
                        pac_access_group_ids: groups,
                        pac_badge_type: t,
                        external_ref: r,
                        version: 1,
                    }
                },
            )
    }

    /// `a` made to hold what `p` wants, one owned field at a time left as
    /// drawn: most pairs are then in step or one field away from it.
    fn near(p: &PacEmployee, mut a: AstrowEmployee, keep: u8) -> AstrowEmployee {
        if keep != 0 {
            a.first_name.clone_from(&p.first_name);
        }
        if keep != 1 {
            a.last_name.clone_from(&p.last_name);
        }
        if keep != 2 {
            a.employee_no.clone_from(&p.employee_number);
        }
        if keep != 3 {
            a.active = p.active;
        }
        if keep != 4 {
            a.pac_access_group_ids.clone_from(&p.access_group_ids);
            a.pac_access_group_ids.reverse();
        }
        if keep != 5 {
            a.pac_badge_type = super::badge_type(p);
        }
        if keep != 6 && keep != 7 {
            a.external_ref = Some(format!("pac:{}", p.id.0));
        }
        a
    }

    /// `p` made to hold what `a` wants (master Astrow), one field left as drawn.
    fn near_pac(a: &AstrowEmployee, mut p: PacEmployee, keep: u8) -> PacEmployee {
        if keep != 0 {
            p.first_name.clone_from(&a.first_name);
            p.last_name.clone_from(&a.last_name);
        }
        if keep != 1 {
            p.employee_number.clone_from(&a.employee_no);
        }
        if keep != 2 {
            p.active = a.active;
            p.valid_from = a.contract_start;
            p.valid_until = a.contract_end;
        }
        if keep != 3 {
            p.access_group_ids.clone_from(&a.pac_access_group_ids);
            p.access_group_ids.reverse();
        }
        if keep != 4 {
            p.badges = wanted_badge(a.badge_no.as_deref())
                .ok()
                .flatten()
                .map(|n| Badge {
                    number: n.into_owned(),
                    badge_type: a.pac_badge_type.unwrap_or(BadgeType::Oneprox),
                    active: true,
                })
                .into_iter()
                .collect();
        }
        if keep != 5 {
            p.external_ref = Some(format!("astrow:{}", a.pers_no.0));
        }
        p
    }

    fn plan_input() -> PlanInput {
        PlanInput {
            pac: Listing::complete(Vec::new()),
            astrow: Listing::complete(Vec::new()),
            links: Vec::new(),
            suppressions: Vec::new(),
            today: NaiveDate::default(),
            settings: PlanSettings {
                master: crate::model::System::Astrow,
                delete_employees_on_sync: false,
                sync_inactive_employees: false,
                match_key: MatchKey::EmployeeNumber,
                default_cycle_code: "STD".into(),
                default_paygroup_code: "M".into(),
                pac_default_access_group_id: Some(1),
                pac_access_group_ids: None,
                guard_count: 10,
                guard_percent: 5,
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Master Astrow: equal prints only where the slow path finds the
        /// pair in step and its target unblocked; and every such pair whose
        /// wish does not depend on the settings or the PAC record is found.
        #[test]
        fn fast_and_slow_agree_on_random_pairs_master_astrow(p in pac(), a in astrow(), keep in 0u8..8, close in any::<bool>()) {
            let p = if close { near_pac(&a, p, keep) } else { p };
            let input = plan_input();
            let ctx = Ctx::new(&input);
            let target = Target::new(0, Some(0), None, &a);
            let slow = target.blocked.is_none() && in_step(&ctx, &a, target.badge.as_deref(), &p);
            let (pp, ap) = (p.record_print(), a.record_print());
            let fast = ap.pac_owned.is_some() && ap.pac_owned == pp.pac_owned;
            let judged = !a.pac_access_group_ids.is_empty()
                && (a.pac_badge_type.is_some() || target.badge.is_none());
            prop_assert!(!fast || slow, "fast path skipped a pair the slow path writes\n{:?}\n{:?}", p, a);
            prop_assert!(fast || !slow || !judged, "fast path missed a pair in step\n{:?}\n{:?}", p, a);
            prop_assert_eq!(ap.badge_hash, target.badge.as_deref().map(badge_hash));
        }

        /// The fast path skips exactly the pairs the slow path finds equal.
        #[test]
        fn fast_and_slow_agree_on_random_pairs(p in pac(), a in astrow(), keep in 0u8..10, close in any::<bool>()) {
            let a = if close { near(&p, a, keep) } else { a };
            let (pp, ap) = (p.record_print(), a.record_print());
            prop_assert_eq!(pp.owned == ap.owned, owned_changes(&p, &a).is_empty(), "{:?}\n{:?}", p, a);
            prop_assert_eq!(pp.other_ref, parse_astrow_ref(p.external_ref.as_deref()).map(|x| x.0));
            prop_assert_eq!(ap.other_ref, parse_pac_ref(a.external_ref.as_deref()).map(|x| x.0));
        }
    }

    fn in_step_pair() -> (PacEmployee, AstrowEmployee) {
        let p = PacEmployee {
            id: PacId(1),
            first_name: "Ana".into(),
            last_name: "Pop".into(),
            employee_number: "E-1".into(),
            active: true,
            valid_from: None,
            valid_until: None,
            access_group_ids: vec![3, 1, 3],
            badges: vec![Badge {
                number: "00A1".into(),
                badge_type: BadgeType::Wiegand2601,
                active: true,
            }],
            external_ref: Some("astrow:7".into()),
            version: 1,
        };
        let a = near(
            &p,
            AstrowEmployee {
                pers_no: PersNo(7),
                employee_no: String::new(),
                first_name: String::new(),
                middle_name: "M".into(),
                last_name: String::new(),
                badge_no: Some("00A1".into()),
                active: false,
                contract_start: None,
                contract_end: None,
                cycle_code: "STD".into(),
                paygroup_code: "M".into(),
                pac_access_group_ids: Vec::new(),
                pac_badge_type: None,
                external_ref: None,
                version: 1,
            },
            u8::MAX,
        );
        (p, a)
    }

    #[test]
    fn a_pair_in_step_has_equal_prints_and_any_owned_change_breaks_them() {
        let (p, a) = in_step_pair();
        assert!(owned_changes(&p, &a).is_empty());
        assert_eq!(p.record_print().owned, a.record_print().owned);
        assert_eq!(p.record_print().other_ref, Some(7));
        // Spellings the slow path reads as the same are the same.
        let mut same = a.clone();
        same.external_ref = Some(" pac:1 ".into());
        same.pac_access_group_ids = vec![1, 3];
        assert_eq!(p.record_print().owned, same.record_print().owned);
        let changes: [fn(&mut AstrowEmployee); 8] = [
            |a| a.first_name = "ana".into(),
            |a| a.last_name = "Pop ".into(),
            |a| a.employee_no = "E-01".into(),
            |a| a.active = false,
            |a| a.pac_access_group_ids = vec![1],
            |a| a.pac_badge_type = Some(BadgeType::PacProximity),
            |a| a.external_ref = Some("pac:2".into()),
            |a| a.external_ref = None,
        ];
        for change in changes {
            let mut other = a.clone();
            change(&mut other);
            assert!(!owned_changes(&p, &other).is_empty());
            assert_ne!(
                p.record_print().owned,
                other.record_print().owned,
                "{other:?}"
            );
        }
        // Fields neither master owns leave the print alone; the badge number
        // only master Astrow owns.
        let mut other = a.clone();
        other.middle_name = "X".into();
        other.version = 9;
        assert_eq!(a.record_print(), other.record_print());
        other.badge_no = None;
        assert_eq!(a.record_print().owned, other.record_print().owned);
        assert_ne!(a.record_print().pac_owned, other.record_print().pac_owned);
    }
}
