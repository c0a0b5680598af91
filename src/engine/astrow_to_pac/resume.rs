//! Where to go on after Astrow was restored from a backup: Astrow's bookings
//! up to the backup are the ones the ledger already holds under the same id
//! (the same mark); those after it are new. The resume point is the newest
//! ledger row on which Astrow and the ledger still agree, found by
//! bisection (a few one-booking reads, not a listing of Astrow's history).

use crate::astrow::AstrowClient;
use crate::engine::bookings::resume::last_agreeing;
use crate::store::astrow_ledger::AstrowLedgerError;
use crate::store::astrow_restore::{self, mark};
use crate::store::db::Db;

/// The booking id after which reading should go on, or `None` when Astrow
/// or the ledger could not be read (a person then chooses). 0 when no row
/// of this epoch agrees.
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
    // Whether Astrow still holds the ledger's row `i` as it was read.
    let agrees = |i: u64| async move {
        let (id, was) = &marks[i as usize];
        let page = astrow.bookings_after(id.saturating_sub(1), 1).await.ok()?;
        Some(
            page.bookings
                .iter()
                .find(|b| b.booking_id == *id)
                .is_some_and(|b| mark(b) == *was),
        )
    };
    let last = last_agreeing(1, marks.len() as u64, |n| agrees(n - 1)).await?;
    Some(match last {
        0 => 0,
        n => marks[n as usize - 1].0,
    })
}
