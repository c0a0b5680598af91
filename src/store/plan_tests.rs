//! Plan identity, carry-over, failures and history in the store.

use chrono::{Duration, Utc};

use super::tests::plan;
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn states(store: &Store, id: &str) -> Result<Vec<(String, PlanState)>, StoreError> {
    Ok(store
        .load_plan(id)?
        .items
        .into_iter()
        .map(|i| (i.item_id, i.state))
        .collect())
}

fn one(id: &str, state: PlanState) -> (String, PlanState) {
    (id.to_string(), state)
}

#[test]
fn plan_save_keeps_the_same_work_with_its_approvals_three_times() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    assert_eq!(
        store.save_plan(&plan("w1", &["a", "b", "c"]))?.outcome,
        SaveOutcome::New
    );
    store.set_item_states("w1", Selection::Items(&["a".into()]), PlanState::Approved)?;
    store.set_item_states("w1", Selection::Items(&["b".into()]), PlanState::Rejected)?;
    for _ in 0..3 {
        let saved = store.save_plan(&plan("w1", &["a", "b", "c"]))?;
        assert_eq!(
            (saved.plan_id.as_str(), saved.outcome),
            ("w1", SaveOutcome::Kept)
        );
    }
    assert_eq!(
        states(&store, "w1")?,
        [
            one("a", PlanState::Approved),
            one("b", PlanState::Rejected),
            one("c", PlanState::Pending)
        ]
    );
    assert_eq!(store.plan_count()?, 1);
    Ok(())
}

#[test]
fn plan_save_carries_unchanged_items_into_new_work_and_drops_made_ones() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a", "b", "c"]))?;
    store.set_item_states(
        "w1",
        Selection::Items(&["a".into(), "b".into()]),
        PlanState::Approved,
    )?;
    let failure = ItemFailure {
        error: "licence employees_import is off",
        kind: "licence_missing",
        retry_at: Utc::now(),
    };
    store.mark_item_failed("w1", "b", &failure)?;
    // c's change is made (it leaves), d is new, a and b are the same items.
    let mut next = plan("w2", &["a", "b", "d"]);
    // Same ids, same bodies: the helper's fingerprints follow the position,
    // and the store compares bodies, not fingerprints.
    next.items[2].body = "{\"id\":\"d\"}".into();
    assert_eq!(store.save_plan(&next)?.outcome, SaveOutcome::New);
    assert_eq!(
        states(&store, "w2")?,
        [
            one("a", PlanState::Approved),
            one("b", PlanState::Failed),
            one("d", PlanState::Pending)
        ]
    );
    let b = &store.load_plan("w2")?.items[1];
    assert_eq!(
        (b.attempts, b.detail.as_deref()),
        (1, Some("licence employees_import is off"))
    );
    assert_eq!(b.failure_kind.as_deref(), Some("licence_missing"));
    assert_eq!(
        b.origin_plan.as_deref(),
        Some("w1"),
        "the create key stays the first plan's"
    );
    assert_eq!(store.load_plan("w1")?.state, PlanState::Stale);
    assert_eq!(
        store.pending_plan()?.map(|p| p.plan_id).as_deref(),
        Some("w2")
    );

    // A changed item (another body) starts over.
    let mut changed = plan("w3", &["a", "b", "d"]);
    changed.items[0].body = "{\"id\":\"a\",\"after\":\"Anna\"}".into();
    store.save_plan(&changed)?;
    assert_eq!(states(&store, "w3")?[0], one("a", PlanState::Pending));
    assert_eq!(states(&store, "w3")?[1], one("b", PlanState::Failed));
    Ok(())
}

#[test]
fn plan_save_never_saves_an_applied_plan_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a"]))?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    store.mark_item_done("w1", "a", PlanState::Applied, None)?;
    store.set_plan_state("w1", PlanState::Applied)?;
    let again = store.save_plan(&plan("w1", &["a"]))?;
    assert_eq!(again.outcome, SaveOutcome::AlreadyApplied);
    assert_eq!(store.load_plan("w1")?.state, PlanState::Applied);
    assert!(store.pending_plan()?.is_none());
    assert_eq!(store.plan_count()?, 1);
    Ok(())
}

#[test]
fn plan_save_keeps_one_live_plan_and_a_bounded_history() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    for n in 0..(PLAN_HISTORY + 20) {
        store.save_plan(&plan(&format!("w{n}"), &["a"]))?;
    }
    assert_eq!(store.plan_count()?, PLAN_HISTORY + 1);
    let live: Vec<String> = {
        let mut stmt = store
            .conn
            .prepare("SELECT plan_id FROM plans WHERE state = 'pending'")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    assert_eq!(live, [format!("w{}", PLAN_HISTORY + 19)]);
    let orphans: i64 = store.conn.query_row(
        "SELECT COUNT(*) FROM plan_items WHERE plan_id NOT IN (SELECT plan_id FROM plans)",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(orphans, 0, "pruned plans take their items along");
    Ok(())
}

#[test]
fn plan_failed_items_stay_open_count_attempts_and_can_be_approved_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a"]))?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    let later = Utc::now() + Duration::minutes(2);
    store.mark_item_started("w1", "a")?;
    let failure = ItemFailure {
        error: "Astrow unreachable",
        kind: "unreachable",
        retry_at: later,
    };
    store.mark_item_failed("w1", "a", &failure)?;
    assert_eq!(
        store.load_plan("w1")?.items[0].failure_kind.as_deref(),
        Some("unreachable")
    );
    store.mark_item_done("w1", "a", PlanState::Failed, Some("licence missing"))?;
    let a = &store.load_plan("w1")?.items[0];
    assert_eq!((a.state, a.attempts), (PlanState::Failed, 2));
    assert_eq!(a.detail.as_deref(), Some("licence missing"));
    assert_eq!(
        a.progress(),
        ItemProgress::NotStarted,
        "not done: it is tried again"
    );
    assert!(
        store.unfinished_items("w1")?.is_empty(),
        "not run until approved again"
    );
    assert_eq!(
        store.set_item_states("w1", Selection::Items(&["a".into()]), PlanState::Approved)?,
        1
    );
    assert_eq!(store.unfinished_items("w1")?.len(), 1);
    Ok(())
}

#[test]
fn plan_applied_destructive_items_are_counted_in_the_window() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let mut p = plan("w1", &["del1", "del2", "upd"]);
    p.items[0].destructive = true;
    p.items[1].destructive = true;
    store.save_plan(&p)?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    let before = Utc::now() - Duration::seconds(1);
    store.mark_item_done("w1", "del1", PlanState::Applied, None)?;
    store.mark_item_done("w1", "del2", PlanState::Stale, Some("changed"))?;
    store.mark_item_done("w1", "upd", PlanState::Applied, None)?;
    assert_eq!(store.applied_destructive_since(before)?, 1);
    assert_eq!(
        store.applied_destructive_since(Utc::now() + Duration::seconds(1))?,
        0
    );
    Ok(())
}

#[test]
fn mirror_readers_with_pending_bookings_are_listed_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    for (seq, serial, kind, state) in [
        (1, "R-1", "booking", "pending"),
        (2, "R-1", "booking", "pending"),
        (3, "R-2", "booking", "processed"),
        (4, "R-3", "feed", "none"),
        (5, "R-4", "booking", "pending"),
    ] {
        store.conn.execute(
            "INSERT INTO ledger (seq, time, event_type, reader_serial, kind, state, read_at)
             VALUES (?1, '2026-11-29T10:00:00+01:00', 'access_granted', ?2, ?3, ?4,
                     '2026-11-29T09:00:00.000Z')",
            rusqlite::params![seq, serial, kind, state],
        )?;
    }
    let waiting: Vec<String> = store.waiting_reader_serials()?.into_iter().collect();
    assert_eq!(waiting, ["R-1", "R-4"]);
    Ok(())
}

/// The plan a save gives back (built from what was inserted, not read) is
/// the plan a load reads: new items, carried approvals and failures, kept
/// work.
#[test]
fn plan_save_gives_back_the_plan_as_a_load_reads_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    let (outcome, first) = store.save_plan_stored(plan("w1", &["a", "b", "c"]))?;
    assert_eq!(outcome, SaveOutcome::New);
    assert_eq!(first, store.load_plan("w1")?);
    store.set_item_states(
        "w1",
        Selection::Items(&["a".into(), "b".into()]),
        PlanState::Approved,
    )?;
    let failure = ItemFailure {
        error: "Astrow unreachable",
        kind: "unreachable",
        retry_at: Utc::now() + Duration::minutes(5),
    };
    store.mark_item_failed("w1", "b", &failure)?;
    let mut next = plan("w2", &["a", "b", "d"]);
    next.items[2].body = "{\"id\":\"d\"}".into();
    let (outcome, second) = store.save_plan_stored(next)?;
    assert_eq!(outcome, SaveOutcome::New);
    let loaded = store.load_plan("w2")?;
    assert_eq!(second, loaded);
    assert_eq!(loaded.items[1].state, PlanState::Failed);
    assert!(loaded.items[1].retry_at.is_some());
    let (outcome, kept) = store.save_plan_stored(plan("w2", &["a", "b", "d"]))?;
    assert_eq!(outcome, SaveOutcome::Kept);
    assert_eq!(kept.items, store.load_plan("w2")?.items);
    Ok(())
}

fn result(id: &str, state: PlanState) -> ItemResult {
    ItemResult {
        item_id: id.to_string(),
        state,
        detail: None,
        failure: None,
        audits: Vec::new(),
        link: None,
    }
}

#[test]
fn plan_a_reject_during_apply_is_refused_or_kept_never_overwritten() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a", "b", "c"]))?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    // Rejected after apply read the plan, before its chunk was marked.
    store.set_item_states("w1", Selection::Items(&["c".into()]), PlanState::Rejected)?;
    let marked = store.mark_items_started("w1", &["a".into(), "b".into(), "c".into()])?;
    assert_eq!(marked, ["a", "b"], "a rejected item is not marked");
    // Being applied: a person's reject is refused, not overwritten later.
    for id in ["a", "b"] {
        assert!(matches!(
            store.set_item_states("w1", Selection::Items(&[id.into()]), PlanState::Rejected),
            Err(StoreError::ItemBeingApplied { .. })
        ));
    }
    assert_eq!(
        store.set_item_states("w1", Selection::Items(&["a".into()]), PlanState::Approved)?,
        0,
        "approving it again (a resume) changes nothing and is no error"
    );
    assert_eq!(
        store.set_item_states("w1", Selection::All, PlanState::Rejected)?,
        1,
        "reject all passes over items being applied (only c, already rejected)"
    );
    // A result for a rejected row leaves it rejected.
    store.record_item_results(
        "w1",
        &[
            result("a", PlanState::Failed),
            result("b", PlanState::Applied),
            result("c", PlanState::Applied),
        ],
        "tester",
    )?;
    assert_eq!(
        states(&store, "w1")?,
        [
            one("a", PlanState::Failed),
            one("b", PlanState::Applied),
            one("c", PlanState::Rejected)
        ]
    );
    // Failed and no longer being applied: a person may reject it now.
    assert_eq!(
        store.set_item_states("w1", Selection::Items(&["a".into()]), PlanState::Rejected)?,
        1
    );
    store.mark_item_failed(
        "w1",
        "a",
        &ItemFailure {
            error: "late",
            kind: "other",
            retry_at: Utc::now(),
        },
    )?;
    assert_eq!(states(&store, "w1")?[0], one("a", PlanState::Rejected));
    Ok(())
}

#[test]
fn plan_one_bad_result_does_not_roll_back_the_others_of_its_batch() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a", "b"]))?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    store.mark_items_started("w1", &["a".into(), "b".into()])?;
    let answers = store.record_item_results_each(
        "w1",
        &[
            result("a", PlanState::Applied),
            result("zz", PlanState::Applied),
            result("b", PlanState::Stale),
        ],
        "tester",
    );
    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    assert!(matches!(answers[1], Err(StoreError::UnknownItem { .. })));
    assert_eq!(
        states(&store, "w1")?,
        [one("a", PlanState::Applied), one("b", PlanState::Stale)]
    );
    Ok(())
}

#[test]
fn plan_a_stopped_apply_not_all_recorded_stays_interrupted_its_marks_kept() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path())?;
    store.save_plan(&plan("w1", &["a", "b"]))?;
    store.set_item_states("w1", Selection::All, PlanState::Approved)?;
    store.set_plan_state("w1", PlanState::Approved)?;
    store.mark_items_started("w1", &["a".into(), "b".into()])?;
    // A result not recorded: its write may be unaudited, so nothing is
    // voided or unmarked; the resume checks both items.
    assert!(!store.void_stopped_apply("w1", "sync.master changed", false)?);
    let kept = store.load_plan("w1")?;
    assert_eq!(kept.state, PlanState::Approved);
    assert!(kept.items.iter().all(|i| i.started_at.is_some()));
    assert_eq!(store.interrupted_plans()?, ["w1"]);
    // All recorded: void, and the marks it made are cleared.
    assert!(store.void_stopped_apply("w1", "sync.master changed", true)?);
    let void = store.load_plan("w1")?;
    assert_eq!(void.state, PlanState::Stale);
    assert_eq!(void.note.as_deref(), Some("sync.master changed"));
    assert!(void.items.iter().all(|i| i.started_at.is_none()));
    Ok(())
}
