//! Master Astrow: the Astrow employees that need a PAC write ("targets"),
//! and the rule that one badge number is never on two employees.
//!
//! Only targets and the PAC employees that hold a badge a target wants are
//! looked at, so a plan over 100,000 employees in step builds no map of
//! 100,000 badges.

use std::borrow::Cow;

use super::employees::{Ctx, item_key};
use super::fingerprint::Fnv;
use super::id_map::FastMap;
use super::master_astrow::describe_pac;
use super::pairing::{PairedBy, Pairing};
use super::text;
use crate::model::{AstrowEmployee, PacEmployee, System, normalise_badge_hex};

/// What this plan does with a PAC employee's badges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Rewritten by an item (or removed, or it has no badges).
    Rewritten,
    /// Never linked, or in conflict: left as it is.
    Untouched,
    /// A leaver whose removal is suppressed or held back (empty master).
    Kept,
    /// Linked, in step: already holds what its Astrow twin wants.
    InStep,
    /// Its target is blocked or suppressed: left as it is.
    Blocked,
}

impl Fate {
    fn keeps_badges(self) -> bool {
        self != Fate::Rewritten
    }
}

/// An Astrow employee whose PAC twin must be written (or created).
pub(crate) struct Target<'a> {
    pub master: usize,
    pub slave: Option<usize>,
    pub by: Option<PairedBy>,
    /// The PAC badge number it wants (normalised hex), if any.
    pub badge: Option<Cow<'a, str>>,
    /// Why it cannot be written; `Some` makes a conflict item.
    pub blocked: Option<String>,
    /// A person rejected this item and its source has not changed.
    pub suppressed: bool,
}

impl<'a> Target<'a> {
    /// A target with its record checked: a name, a valid contract, a hex badge.
    pub(crate) fn new(
        master: usize,
        slave: Option<usize>,
        by: Option<PairedBy>,
        a: &'a AstrowEmployee,
    ) -> Target<'a> {
        let (badge, mut blocked) = match wanted_badge(a.badge_no.as_deref()) {
            Ok(b) => (b, None),
            Err(why) => (None, Some(why)),
        };
        if text::blank(&a.first_name) && text::blank(&a.last_name) {
            blocked = Some("it has no first or last name: PAC needs one".to_string());
        } else if let (Some(start), Some(end)) = (a.contract_start, a.contract_end)
            && end < start
        {
            blocked = Some(format!(
                "its contract ends ({end}) before it starts ({start}): PAC refuses such validity"
            ));
        }
        Target {
            master,
            slave,
            by,
            badge,
            blocked,
            suppressed: false,
        }
    }

    pub(crate) fn key(&self, astrow: &[AstrowEmployee], pac: &[PacEmployee]) -> String {
        let a = &astrow[self.master];
        match (self.slave, self.by) {
            (None, _) => format!("create:pac:astrow:{}", a.pers_no),
            (Some(s), Some(PairedBy::Link(_))) => item_key("update", System::Pac, pac[s].id.0),
            (Some(s), _) => format!("link:astrow:{}:pac:{}", a.pers_no, pac[s].id),
        }
    }

    fn open(&self) -> bool {
        self.blocked.is_none() && !self.suppressed
    }
}

/// The badges of PAC employees in step, as hashes taken while the strings
/// were in cache: checking a few wanted badges against them is a scan of
/// plain numbers instead of 100,000 strings.
pub(crate) struct InStepBadges {
    hashes: Vec<u64>,
    slaves: Vec<u32>,
}

impl InStepBadges {
    pub(crate) fn with_capacity(n: usize) -> Self {
        InStepBadges {
            hashes: Vec::with_capacity(n),
            slaves: Vec::with_capacity(n),
        }
    }

    pub(crate) fn push(&mut self, badge: &str, slave: usize) {
        self.push_hash(badge_hash(badge), slave);
    }

    /// `push` with the badge's hash computed beforehand (a record print).
    pub(crate) fn push_hash(&mut self, hash: u64, slave: usize) {
        if let Ok(slave) = u32::try_from(slave) {
            self.hashes.push(hash);
            self.slaves.push(slave);
        }
    }
}

pub(crate) fn badge_hash(badge: &str) -> u64 {
    Fnv::default().str(badge).finish().0
}

/// Block every target whose badge number another employee wants or keeps:
/// one badge number on two employees cannot be written. A blocked target's
/// PAC twin keeps the badges it has, which may block others in turn:
/// repeated until nothing changes.
pub(crate) fn block_badge_collisions<'a>(
    ctx: &Ctx<'a>,
    pairing: &Pairing,
    targets: &mut Vec<Target<'a>>,
    fates: &mut [Fate],
    in_step: &InStepBadges,
) {
    let astrow = &ctx.input.astrow.items;
    let pac = &ctx.input.pac.items;
    for t in targets.iter() {
        if !t.open()
            && let Some(s) = t.slave
        {
            fates[s] = Fate::Blocked;
        }
    }
    // Badge -> the open targets that want it.
    let mut wanted: FastMap<String, Vec<usize>> = FastMap::default();
    for (i, t) in targets.iter().enumerate() {
        if t.open()
            && let Some(b) = t.badge.as_deref()
        {
            wanted.entry(b.to_string()).or_default().push(i);
        }
    }
    if wanted.is_empty() {
        return;
    }
    let mut shared: Vec<(usize, String)> = Vec::new();
    for (badge, list) in &wanted {
        if list.len() > 1 {
            let ids = text::id_list(list.iter().map(|&i| astrow[targets[i].master].pers_no.0));
            for &i in list {
                shared.push((
                    i,
                    format!("badge number {badge} is on several Astrow employees ({ids})"),
                ));
            }
        }
    }
    for (i, why) in shared {
        block(targets, i, why, fates);
    }
    // Badge -> the PAC employees that may keep it: those left as they are
    // and those in step. The rest are rewritten or stripped.
    let mut holders: Holders = FastMap::default();
    for (s, fate) in fates.iter().enumerate() {
        if matches!(fate, Fate::Untouched | Fate::Kept | Fate::Blocked) {
            add_holder(pac, &wanted, s, &mut holders);
        }
    }
    let wanted_hashes: FastMap<u64, ()> = wanted.keys().map(|b| (badge_hash(b), ())).collect();
    for (h, &s) in in_step.hashes.iter().zip(&in_step.slaves) {
        if wanted_hashes.contains_key(h) {
            add_holder(pac, &wanted, s as usize, &mut holders);
        }
    }
    loop {
        let mut changed = false;
        let mut i = 0;
        while i < targets.len() {
            let t = &targets[i];
            let holder = match t.badge.as_deref() {
                Some(b) if t.open() => holders.get(b).and_then(|hs| {
                    hs.iter()
                        .copied()
                        .find(|&s| Some(s) != t.slave && fates[s].keeps_badges())
                }),
                _ => None,
            };
            if let Some(s) = holder {
                let badge = t.badge.as_deref().unwrap_or_default().to_string();
                if fates[s] == Fate::InStep {
                    block_in_step_twin(ctx, pairing, targets, fates, s, i, &badge);
                }
                let why = format!(
                    "its badge number {badge} belongs to {}",
                    describe_pac(&pac[s])
                );
                let slave = targets[i].slave;
                block(targets, i, why, fates);
                // Its twin keeps its badges now: they may block others.
                if let Some(own) = slave {
                    add_holder(pac, &wanted, own, &mut holders);
                }
                changed = true;
            }
            i += 1;
        }
        if !changed {
            break;
        }
    }
}

type Holders<'w> = FastMap<&'w str, Vec<usize>>;

/// Record PAC employee `s` as holder of the wanted badges it has (active).
fn add_holder<'w>(
    pac: &[PacEmployee],
    wanted: &'w FastMap<String, Vec<usize>>,
    s: usize,
    holders: &mut Holders<'w>,
) {
    for b in pac[s].badges.iter().filter(|b| b.active) {
        if let Some((key, _)) = wanted.get_key_value(normalised(&b.number).as_ref()) {
            let list = holders.entry(key.as_str()).or_default();
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
}

fn block(targets: &mut [Target], i: usize, why: String, fates: &mut [Fate]) {
    let t = &mut targets[i];
    t.blocked.get_or_insert(why);
    if let Some(s) = t.slave {
        fates[s] = Fate::Blocked;
    }
}

/// The PAC employee `s` is in step with its Astrow twin, which therefore
/// wants the same badge as target `i`: two Astrow employees with one badge
/// number. The twin becomes a conflict too (rare: Astrow keeps badge
/// numbers unique).
fn block_in_step_twin<'a>(
    ctx: &Ctx<'a>,
    pairing: &Pairing,
    targets: &mut Vec<Target<'a>>,
    fates: &mut [Fate],
    s: usize,
    i: usize,
    badge: &str,
) {
    let astrow: &'a [AstrowEmployee] = &ctx.input.astrow.items;
    let Some(pair) = pairing.pairs.iter().find(|p| p.slave == s) else {
        return;
    };
    let ids = text::id_list([
        astrow[targets[i].master].pers_no.0,
        astrow[pair.master].pers_no.0,
    ]);
    let mut twin = Target::new(pair.master, Some(s), Some(pair.by), &astrow[pair.master]);
    twin.blocked = Some(format!(
        "badge number {badge} is on several Astrow employees ({ids})"
    ));
    fates[s] = Fate::Blocked;
    targets.push(twin);
}

fn normalised(number: &str) -> Cow<'_, str> {
    if !number.is_empty()
        && number
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        Cow::Borrowed(number)
    } else {
        normalise_badge_hex(number).map_or(Cow::Borrowed(number), Cow::Owned)
    }
}

/// The PAC badge number of an Astrow badge_no: `Ok(None)` when it has none,
/// `Err` when it is not hex.
pub(crate) fn wanted_badge(raw: Option<&str>) -> Result<Option<Cow<'_, str>>, String> {
    let normalised = |t: &str| {
        !t.is_empty()
            && t.len() <= 32
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    };
    let Some(raw) = raw else {
        return Ok(None);
    };
    // The common case, already as PAC stores it: borrowed, no trim.
    if normalised(raw) {
        return Ok(Some(Cow::Borrowed(raw)));
    }
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if normalised(t) {
        return Ok(Some(Cow::Borrowed(t)));
    }
    normalise_badge_hex(t)
        .map(|n| Some(Cow::Owned(n)))
        .ok_or_else(|| format!("badge number '{t}' is not a hex number: PAC cannot store it"))
}
