//! Where to go on after Astrow was restored from a backup: Astrow's bookings
//! up to the backup are the ones the ledger already holds under the same id
//! (the same mark); those after it are new. The resume point is the newest
//! ledger row on which Astrow and the ledger still agree, found by
//! bisection (a few one-booking reads, not a listing of Astrow's history).

use crate::astrow::AstrowClient;
use crate::engine::bookings::resume::last_agreeing;
use crate::store::astrow_ledger::AstrowLedgerError;
use crate::store::astrow_restore::{self, mark, same_mark};
use crate::store::db::Db;

/// Whether Astrow still holds the ledger's booking `id` as it was read
/// (marked `was`). A booking gone while a later one is there was deleted
/// (with its employee, or a correction): that agrees too. `None`: Astrow
/// could not be read.
pub async fn still_there(astrow: &AstrowClient, id: u64, was: &str) -> Option<bool> {
    let page = astrow.bookings_after(id.saturating_sub(1), 1).await.ok()?;
    let first = page.bookings.iter().map(|b| b.booking_id);
    let first = first.chain(page.unreadable.iter().map(|(i, _)| *i)).min();
    Some(match first {
        None => false,
        Some(i) if i > id => true,
        Some(_) => page
            .bookings
            .iter()
            .find(|b| b.booking_id == id)
            .is_some_and(|b| same_mark(was, &mark(b))),
    })
}

/// The booking id after which reading should go on, or `None` when Astrow
/// or the ledger could not be read, or no row of this epoch agrees (a
/// person then chooses: never below the oldest ledger row still kept, so
/// never 0).
pub async fn resume_point(astrow: &AstrowClient, db: &Db) -> Option<u64> {
    let marks = db
        .call(|c| {
            let epoch = astrow_restore::epoch(c)?;
            astrow_restore::marks_of_epoch(c, epoch)
        })
        .await
        .map_err(|e: AstrowLedgerError| e)
        .ok()?;
    if marks.is_empty() {
        return None;
    }
    let marks = &marks;
    let agrees = |i: u64| async move {
        let (id, was) = &marks[i as usize];
        still_there(astrow, *id, was).await
    };
    let last = last_agreeing(1, marks.len() as u64, |n| agrees(n - 1)).await?;
    match last {
        0 => None,
        n => Some(marks[n as usize - 1].0),
    }
}
