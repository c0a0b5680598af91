//! Employee records a listing set aside as unreadable are never read as
//! gone: the whole pair they belong to (the record, its link, and its twin
//! on the other side) is left out of the plan, so nothing is deleted,
//! stripped or created for it. A record whose id cannot even be read cannot
//! be placed in a pair: then no plan is made at all (pure).

use crate::http::tolerant::SetAside;
use crate::model::{
    AstrowEmployee, Link, PacEmployee, PacId, PersNo, parse_astrow_ref, parse_pac_ref,
};

/// Keep what a read of `listing` set aside in the store, for `status` (it
/// replaces what the read before set aside).
pub async fn record(
    store: &crate::engine::store_handle::StoreHandle,
    listing: &'static str,
    aside: &[SetAside],
) -> Result<(), String> {
    let records: Vec<(Option<u64>, String)> =
        aside.iter().map(|s| (s.id, s.reason.clone())).collect();
    store
        .call("record unreadable records", move |s| {
            Ok(crate::store::booking_waits::replace_unreadable(
                s.connection(),
                listing,
                &records,
                chrono::Utc::now(),
            ))
        })
        .await?
        .map_err(|e| e.to_string())
}

/// Every record the last reads set aside, as the snapshot shows them.
pub async fn load(
    store: &crate::engine::store_handle::StoreHandle,
) -> Result<Vec<crate::engine::snapshot::UnreadableView>, String> {
    let rows = store
        .call("read unreadable records", |s| {
            Ok(crate::store::booking_waits::unreadable(s.connection()))
        })
        .await?
        .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|u| crate::engine::snapshot::UnreadableView {
            listing: u.listing,
            record_id: u.record_id,
            reason: u.reason,
            seen_at: u.seen_at,
        })
        .collect())
}

/// Tell the engine state what the store holds as set aside.
pub async fn publish(
    store: &crate::engine::store_handle::StoreHandle,
    report: &tokio::sync::mpsc::Sender<crate::engine::state::Internal>,
) {
    match load(store).await {
        Ok(list) => {
            let _ = report
                .send(crate::engine::state::Internal::Unreadable(
                    std::sync::Arc::new(list),
                ))
                .await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the unreadable records"),
    }
}

/// Leave out of the plan the pairs of the set-aside records; returns how
/// many records were left out on both sides, or why no plan can be made.
pub fn leave_out_pairs(
    pac: &mut Vec<PacEmployee>,
    astrow: &mut Vec<AstrowEmployee>,
    links: &mut Vec<Link>,
    pac_aside: &[SetAside],
    astrow_aside: &[SetAside],
) -> Result<usize, String> {
    if let Some(s) = pac_aside
        .iter()
        .chain(astrow_aside)
        .find(|s| s.id.is_none())
    {
        return Err(format!(
            "no plan: {s}; it cannot be told apart from a leaver, so nothing is planned until it can be read"
        ));
    }
    let mut pac_ids: Vec<PacId> = pac_aside.iter().filter_map(|s| s.id).map(PacId).collect();
    let mut pers_nos: Vec<PersNo> = astrow_aside
        .iter()
        .filter_map(|s| s.id)
        .map(PersNo)
        .collect();
    // Twins by link.
    for l in links.iter() {
        if pac_ids.contains(&l.pac_id) {
            pers_nos.push(l.pers_no);
        }
        if pers_nos.contains(&l.pers_no) {
            pac_ids.push(l.pac_id);
        }
    }
    // Twins by the reference each side keeps of the other.
    for a in astrow.iter() {
        if parse_pac_ref(a.external_ref.as_deref()).is_some_and(|id| pac_ids.contains(&id)) {
            pers_nos.push(a.pers_no);
        }
    }
    for p in pac.iter() {
        if parse_astrow_ref(p.external_ref.as_deref()).is_some_and(|n| pers_nos.contains(&n)) {
            pac_ids.push(p.id);
        }
    }
    let before = pac.len() + astrow.len();
    pac.retain(|p| !pac_ids.contains(&p.id));
    astrow.retain(|a| !pers_nos.contains(&a.pers_no));
    links.retain(|l| !pac_ids.contains(&l.pac_id) && !pers_nos.contains(&l.pers_no));
    Ok(before - pac.len() - astrow.len() + pac_aside.len() + astrow_aside.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LinkOrigin;
    use crate::tui::testkit::{astrow_employee, pac_employee};

    fn aside(listing: &'static str, id: Option<u64>) -> SetAside {
        SetAside {
            listing,
            id,
            reason: "invalid type: null, expected u64".into(),
        }
    }

    fn link(pac: u64, pers: u64) -> Link {
        Link {
            pac_id: PacId(pac),
            pers_no: PersNo(pers),
            origin: LinkOrigin::Created,
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn an_unreadable_pac_record_takes_its_pair_out_of_the_plan() {
        let mut pac: Vec<PacEmployee> = (1..=3).map(pac_employee).collect();
        let mut astrow: Vec<AstrowEmployee> = (1..=4).map(astrow_employee).collect();
        let mut links = vec![link(pac[0].id.0, astrow[0].pers_no.0)];
        // PAC's record of the first pair could not be read.
        let unreadable = pac.remove(0);
        let twin_by_ref = astrow[3].pers_no;
        astrow[3].external_ref = Some(format!("pac:{}", unreadable.id.0));
        let n = leave_out_pairs(
            &mut pac,
            &mut astrow,
            &mut links,
            &[aside("PAC employees", Some(unreadable.id.0))],
            &[],
        )
        .unwrap();
        assert!(links.is_empty(), "its link is left out");
        assert_eq!(
            astrow.len(),
            2,
            "its twins are left out: nothing is deleted"
        );
        assert!(astrow.iter().all(|a| a.pers_no != twin_by_ref));
        assert_eq!(pac.len(), 2);
        assert_eq!(n, 3);
    }

    #[test]
    fn an_unreadable_astrow_record_takes_its_pac_twin_out_and_no_id_means_no_plan() {
        let mut pac: Vec<PacEmployee> = (1..=2).map(pac_employee).collect();
        let mut astrow: Vec<AstrowEmployee> = (1..=2).map(astrow_employee).collect();
        let mut links = vec![link(pac[1].id.0, 77)];
        leave_out_pairs(
            &mut pac,
            &mut astrow,
            &mut links,
            &[],
            &[aside("Astrow employees", Some(77))],
        )
        .unwrap();
        assert_eq!(pac.len(), 1, "not re-created in Astrow");
        assert!(links.is_empty());
        let e = leave_out_pairs(
            &mut pac,
            &mut astrow,
            &mut links,
            &[aside("PAC employees", None)],
            &[],
        )
        .unwrap_err();
        assert!(e.contains("no plan"), "{e}");
    }
}
