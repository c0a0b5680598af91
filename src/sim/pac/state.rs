//! The simulated PAC installation in memory: keyholders, groups, readers,
//! the bounded event history, idempotency keys. Every rule of the protocol
//! that concerns data (versions, badge uniqueness, validation, expiry) is here.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, FixedOffset};
use rand::Rng;
use rand::rngs::StdRng;

use super::reply::Fail;
use crate::model::{self, AccessGroup, Badge, PacEmployee, PacId, Reader};
use crate::pac::wire::{self, EmployeeWrite};
use crate::sim::roster::Roster;
use crate::sim::{seed, swipes};

pub struct State {
    pub employees: Roster<PacEmployee>,
    pub updated_at: HashMap<u64, DateTime<FixedOffset>>,
    pub groups: Vec<AccessGroup>,
    pub readers: Vec<Reader>,
    pub events: VecDeque<model::Event>,
    pub last_seq: u64,
    pub history: usize,
    pub next_id: u64,
    pub idempotency: HashMap<String, wire::Employee>,
    pub revoked: bool,
    pub doors_opened: u64,
    pub rng: StdRng,
    pub skews: HashMap<u32, i64>,
    /// External events stored by `POST /external-events`.
    pub external: super::external::ExternalLog,
}

pub fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

impl State {
    pub fn new(site: seed::PacSite, history: usize, mut rng: StdRng) -> Self {
        let skews = swipes::clock_skews(&mut rng, &site.readers);
        let next_id = site
            .employees
            .last()
            .map_or(seed::FIRST_PAC_ID, |e| e.id.0 + 1);
        let t = now();
        State {
            updated_at: site.employees.iter().map(|e| (e.id.0, t)).collect(),
            employees: site.employees.into_iter().map(|e| (e.id.0, e)).collect(),
            groups: site.groups,
            readers: site.readers,
            events: VecDeque::new(),
            last_seq: 0,
            history,
            next_id,
            idempotency: HashMap::new(),
            revoked: false,
            doors_opened: 0,
            rng,
            skews,
            external: Default::default(),
        }
    }

    /// The answer for employee `id`.
    pub fn answer(&self, id: u64) -> Option<wire::Employee> {
        let e = self.employees.get(&id)?;
        let t = self.updated_at.get(&id).copied().unwrap_or_else(now);
        Some(wire::Employee::from_model(e, t))
    }

    /// Up to `limit` employees with an id above `after`, and whether more follow.
    pub fn page(&self, after: u64, limit: usize) -> (Vec<wire::Employee>, Option<u64>) {
        let mut items: Vec<wire::Employee> = self
            .employees
            .range(after.saturating_add(1)..)
            .take(limit + 1)
            .filter_map(|(id, _)| self.answer(*id))
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| e.id)
        } else {
            None
        };
        (items, next)
    }

    fn default_group(&self) -> u32 {
        self.groups
            .iter()
            .find(|g| g.is_default)
            .map_or(seed::DEFAULT_GROUP_ID, |g| g.id)
    }

    /// 422 for a body no PAC would store.
    fn validate(&self, w: &EmployeeWrite) -> Result<(), Fail> {
        if w.first_name.trim().is_empty() && w.last_name.trim().is_empty() {
            return Err(Fail::validation(
                "first_name",
                "an employee needs a first or last name",
            ));
        }
        if let (Some(from), Some(until)) = (w.valid_from, w.valid_until)
            && until < from
        {
            return Err(Fail::validation(
                "valid_until",
                "valid_until is before valid_from",
            ));
        }
        for (i, g) in w.access_group_ids.iter().enumerate() {
            if !self.groups.iter().any(|x| x.id == *g) {
                return Err(Fail::validation(
                    &format!("access_group_ids[{i}]"),
                    &format!("there is no access group {g}"),
                ));
            }
        }
        Ok(())
    }

    /// 409 when an active badge of `w` is an active badge of another employee.
    fn badges_free(&self, w: &EmployeeWrite, me: Option<u64>) -> Result<(), Fail> {
        let wanted: HashSet<&str> = w
            .badges
            .iter()
            .filter(|b| b.active)
            .map(|b| b.number.as_str())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // The lowest id holding one of the wanted badges, as a scan in id
        // order would find it.
        let holder = wanted
            .iter()
            .filter_map(|b| self.employees.holders(b).find(|id| Some(*id) != me))
            .min();
        let Some((id, e)) = holder.and_then(|id| Some((id, self.employees.get(&id)?))) else {
            return Ok(());
        };
        let Some(b) = e
            .badges
            .iter()
            .find(|b| b.active && wanted.contains(b.number.as_str()))
        else {
            return Ok(());
        };
        let i = w
            .badges
            .iter()
            .position(|x| x.number == b.number)
            .unwrap_or(0);
        Err(Fail::new(
            axum::http::StatusCode::CONFLICT,
            "badge_in_use",
            format!("badge {} belongs to employee {id}", b.number),
        )
        .field(format!("badges[{i}].number")))
    }

    fn record(id: PacId, w: EmployeeWrite, version: u64) -> PacEmployee {
        PacEmployee {
            id,
            first_name: w.first_name,
            last_name: w.last_name,
            employee_number: w.employee_number,
            active: w.active,
            valid_from: w.valid_from,
            valid_until: w.valid_until,
            access_group_ids: w.access_group_ids,
            badges: w
                .badges
                .into_iter()
                .map(|b| Badge {
                    number: b.number,
                    badge_type: b.badge_type.into(),
                    active: b.active,
                })
                .collect(),
            external_ref: w.external_ref,
            version,
        }
    }

    /// POST: a repeat of an idempotency key answers the first answer.
    pub fn create(
        &mut self,
        mut w: EmployeeWrite,
        key: Option<&str>,
    ) -> Result<wire::Employee, Fail> {
        if let Some(first) = key.and_then(|k| self.idempotency.get(k)) {
            return Ok(first.clone());
        }
        self.validate(&w)?;
        self.badges_free(&w, None)?;
        if w.access_group_ids.is_empty() {
            w.access_group_ids = vec![self.default_group()];
        }
        let id = self.next_id;
        self.next_id += 1;
        self.employees.insert(id, Self::record(PacId(id), w, 1));
        self.updated_at.insert(id, now());
        let answer = self.answer(id).ok_or_else(|| Fail::not_found("employee"))?;
        if let Some(k) = key {
            self.idempotency.insert(k.to_string(), answer.clone());
        }
        Ok(answer)
    }

    fn current(&self, id: u64, if_match: u64) -> Result<&PacEmployee, Fail> {
        let e = self
            .employees
            .get(&id)
            .ok_or_else(|| Fail::not_found(&format!("employee {id}")))?;
        if e.version != if_match {
            let current = self.answer(id).ok_or_else(|| Fail::not_found("employee"))?;
            return Err(Fail::version_mismatch(current));
        }
        Ok(e)
    }

    /// PUT: the version moves only when something changed.
    pub fn update(
        &mut self,
        id: u64,
        w: EmployeeWrite,
        if_match: u64,
    ) -> Result<wire::Employee, Fail> {
        let old = self.current(id, if_match)?.clone();
        self.validate(&w)?;
        self.badges_free(&w, Some(id))?;
        let new = Self::record(old.id, w, old.version);
        if new != old {
            self.employees.insert(
                id,
                PacEmployee {
                    version: old.version + 1,
                    ..new
                },
            );
            self.updated_at.insert(id, now());
        }
        self.answer(id).ok_or_else(|| Fail::not_found("employee"))
    }

    pub fn delete(&mut self, id: u64, if_match: u64) -> Result<(), Fail> {
        self.current(id, if_match)?;
        self.employees.remove(id);
        self.updated_at.remove(&id);
        Ok(())
    }

    /// The oldest seq still kept (`last_seq + 1` when none is).
    pub fn oldest_seq(&self) -> u64 {
        self.events.front().map_or(self.last_seq + 1, |e| e.seq.0)
    }

    /// Events after `after`, at most `limit`; 410 when some of them expired.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<wire::EventsPage, Fail> {
        let oldest = self.oldest_seq();
        if after.saturating_add(1) < oldest {
            let mut f = Fail::new(
                axum::http::StatusCode::GONE,
                "events_expired",
                format!("events after {after} are no longer kept; the oldest is {oldest}"),
            );
            f.body.error.oldest_seq = Some(oldest);
            return Err(f);
        }
        let skip = (after.saturating_add(1) - oldest).min(self.events.len() as u64) as usize;
        Ok(wire::EventsPage {
            items: self
                .events
                .iter()
                .skip(skip)
                .take(limit)
                .map(|e| {
                    let mut w = wire::Event::from(e);
                    if let Some((source_id, origin)) = self.external_of(e.seq.0) {
                        w.source_id = Some(source_id.clone());
                        w.origin = Some(origin.clone());
                    }
                    w
                })
                .collect(),
            last_seq: self.last_seq,
            oldest_seq: oldest,
        })
    }

    /// Make `count` swipes now; returns the new `last_seq`.
    pub fn swipe(&mut self, count: usize) -> u64 {
        let made = swipes::make_events(
            &mut self.rng,
            &self.employees,
            &self.readers,
            &self.skews,
            now(),
            self.last_seq + 1,
            count,
        );
        for e in made {
            self.last_seq = e.seq.0;
            self.events.push_back(e);
        }
        self.keep_events(self.history);
        self.last_seq
    }

    /// Make `count` granted swipes on reader `reader_id` only (none when PAC
    /// has no such reader); returns the new `last_seq`.
    pub fn swipe_on(&mut self, reader_id: u32, count: usize) -> u64 {
        let Some(reader) = self.readers.iter().find(|r| r.id == reader_id).cloned() else {
            return self.last_seq;
        };
        let made = swipes::make_events(
            &mut self.rng,
            &self.employees,
            std::slice::from_ref(&reader),
            &self.skews,
            now(),
            self.last_seq + 1,
            count,
        );
        for mut e in made {
            // A granted swipe always carries a badge (door events have none).
            e.event_type = model::EventType::AccessGranted;
            if e.badge_number.is_none() {
                e.badge_number = Some(format!("{:08X}", self.rng.random::<u32>()));
            }
            self.last_seq = e.seq.0;
            self.events.push_back(e);
        }
        self.keep_events(self.history);
        self.last_seq
    }

    /// PAC restored from a backup taken when its newest event was `through`:
    /// later events are gone and numbering goes on from there.
    pub fn restore_backup(&mut self, through: u64) {
        self.events.retain(|e| e.seq.0 <= through);
        self.last_seq = self.last_seq.min(through);
        // Its memory of external events is restored with it.
        self.external.by_seq.retain(|seq, _| *seq <= through);
        self.external.by_source.retain(|_, seq| *seq <= through);
    }

    /// Behind the integration's back (a person in PAC): delete the
    /// external event stored under `source_id`. Whether there was one.
    pub fn delete_external(&mut self, source_id: &str) -> bool {
        let Some(seq) = self.external.by_source.remove(source_id) else {
            return false;
        };
        self.external.by_seq.remove(&seq);
        self.events.retain(|e| e.seq.0 != seq);
        true
    }

    /// Add a reader, or change the one with its id (serial, direction, ...).
    pub fn set_reader(&mut self, reader: Reader) {
        match self.readers.iter_mut().find(|r| r.id == reader.id) {
            Some(r) => *r = reader,
            None => self.readers.push(reader),
        }
    }

    /// Forget all but the newest `keep` events.
    pub fn keep_events(&mut self, keep: usize) {
        while self.events.len() > keep {
            self.events.pop_front();
        }
    }

    /// Change `count` employees the way a person in PAC would; their ids.
    pub fn edit(&mut self, count: usize) -> Vec<u64> {
        let ids: Vec<u64> = self.employees.keys().copied().collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut taken: HashSet<String> = self
            .employees
            .values()
            .flat_map(|e| e.badges.iter().map(|b| b.number.clone()))
            .collect();
        let names: Vec<String> = self
            .employees
            .values()
            .map(|e| e.last_name.clone())
            .collect();
        let groups: Vec<u32> = self.groups.iter().map(|g| g.id).collect();
        let mut edited = Vec::new();
        for _ in 0..count {
            let id = ids[self.rng.random_range(0..ids.len())];
            let rng = &mut self.rng;
            let changed = self.employees.update(id, |e| {
                match rng.random_range(0..10) {
                    0..=2 => e.last_name = names[rng.random_range(0..names.len())].clone(),
                    3..=5 if !groups.is_empty() => {
                        let g = groups[rng.random_range(0..groups.len())];
                        match e.access_group_ids.iter().position(|x| *x == g) {
                            Some(p) => {
                                e.access_group_ids.remove(p);
                            }
                            None => {
                                e.access_group_ids.push(g);
                                e.access_group_ids.sort_unstable();
                            }
                        }
                    }
                    6..=8 => {
                        for b in &mut e.badges {
                            b.active = false;
                        }
                        let t = model::BadgeType::ALL[rng.random_range(0..3)];
                        e.badges.push(Badge {
                            number: seed::badge_number(rng, t, &mut taken),
                            badge_type: t,
                            active: true,
                        });
                    }
                    _ => e.active = !e.active,
                }
                e.version += 1;
            });
            if changed.is_none() {
                continue;
            }
            self.updated_at.insert(id, now());
            edited.push(id);
        }
        edited
    }
}
