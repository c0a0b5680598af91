//! A test model, not the real apply (that is `engine::apply`): a plan
//! applied to in-memory listings, what the systems and the store should
//! look like after a full apply. Used by the plan property tests.

use chrono::{DateTime, Utc};

use astrow_pac::engine::plan::{Action, DesiredRecord, Plan, PlanItem};
use astrow_pac::model::{
    AstrowEmployee, Link, LinkOrigin, PacEmployee, PacId, PersNo, System, astrow_ref, pac_ref,
};

/// Both systems' employees and the store's links, in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub pac: Vec<PacEmployee>,
    pub astrow: Vec<AstrowEmployee>,
    pub links: Vec<Link>,
}

/// Apply every item but conflicts, in plan order, the way apply would with
/// nothing stale: creates get the next free id, the master learns the new
/// id in `external_ref`, links are recorded. Returns how many items wrote
/// something or recorded a link; items whose record is missing are skipped.
pub fn apply_to_model(plan: &Plan, model: &mut Model, at: DateTime<Utc>) -> usize {
    plan.items
        .iter()
        .filter(|item| apply_item(item, model, at))
        .count()
}

fn apply_item(item: &PlanItem, model: &mut Model, at: DateTime<Utc>) -> bool {
    match item.action {
        Action::Conflict => false,
        Action::Create => create(item, model, at),
        Action::Update | Action::RemoveBadges => match &item.desired {
            Some(d) => write(d, model),
            None => false,
        },
        Action::Link => {
            let (Some(master), Some(slave)) = (item.master_id, item.slave_id) else {
                return false;
            };
            if !item.changes.is_empty()
                && let Some(d) = &item.desired
                && !write(d, model)
            {
                return false;
            }
            let (pac_id, pers_no) = pair_ids(item.target, master, slave);
            link(model, pac_id, pers_no, LinkOrigin::Matched, at);
            true
        }
        Action::Delete => {
            let Some(id) = item.slave_id else {
                return false;
            };
            match item.target {
                System::Pac => {
                    let before = model.pac.len();
                    model.pac.retain(|p| p.id.0 != id);
                    model.links.retain(|l| l.pac_id.0 != id);
                    model.pac.len() != before
                }
                System::Astrow => {
                    let before = model.astrow.len();
                    model.astrow.retain(|a| a.pers_no.0 != id);
                    model.links.retain(|l| l.pers_no.0 != id);
                    model.astrow.len() != before
                }
            }
        }
    }
}

/// (PAC id, pers_no) of an item's master and slave ids.
fn pair_ids(target: System, master: u64, slave: u64) -> (PacId, PersNo) {
    match target {
        System::Pac => (PacId(slave), PersNo(master)),
        System::Astrow => (PacId(master), PersNo(slave)),
    }
}

fn link(model: &mut Model, pac_id: PacId, pers_no: PersNo, origin: LinkOrigin, at: DateTime<Utc>) {
    model
        .links
        .retain(|l| l.pac_id != pac_id && l.pers_no != pers_no);
    model.links.push(Link {
        pac_id,
        pers_no,
        origin,
        at,
    });
}

/// Replace the record with the desired one's id; the version moves on.
fn write(desired: &DesiredRecord, model: &mut Model) -> bool {
    match desired {
        DesiredRecord::Pac(d) => match model.pac.iter_mut().find(|p| p.id == d.id) {
            Some(p) => {
                let version = p.version + 1;
                *p = d.clone();
                p.version = version;
                true
            }
            None => false,
        },
        DesiredRecord::Astrow(d) => {
            match model.astrow.iter_mut().find(|a| a.pers_no == d.pers_no) {
                Some(a) => {
                    let version = a.version + 1;
                    *a = d.clone();
                    a.version = version;
                    true
                }
                None => false,
            }
        }
    }
}

fn create(item: &PlanItem, model: &mut Model, at: DateTime<Utc>) -> bool {
    let Some(master) = item.master_id else {
        return false;
    };
    match &item.desired {
        Some(DesiredRecord::Astrow(d)) => {
            let pers_no = PersNo(
                model
                    .astrow
                    .iter()
                    .map(|a| a.pers_no.0)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1),
            );
            let mut record = d.clone();
            record.pers_no = pers_no;
            record.version = 1;
            model.astrow.push(record);
            if let Some(p) = model.pac.iter_mut().find(|p| p.id.0 == master) {
                p.external_ref = Some(astrow_ref(pers_no));
                p.version += 1;
            }
            link(model, PacId(master), pers_no, LinkOrigin::Created, at);
            true
        }
        Some(DesiredRecord::Pac(d)) => {
            let id = PacId(
                model
                    .pac
                    .iter()
                    .map(|p| p.id.0)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1),
            );
            let mut record = d.clone();
            record.id = id;
            record.version = 1;
            model.pac.push(record);
            if let Some(a) = model.astrow.iter_mut().find(|a| a.pers_no.0 == master) {
                a.external_ref = Some(pac_ref(id));
                a.version += 1;
            }
            link(model, id, PersNo(master), LinkOrigin::Created, at);
            true
        }
        None => false,
    }
}
