//! What the definitions mirror's guard reads from the store.

use std::collections::BTreeSet;

use super::{SqlContext, Store, StoreError};

impl Store {
    /// Serials of the readers whose swipes wait in the ledger to be sent as
    /// bookings: their readers stay in Astrow's mirror while they wait.
    pub fn waiting_reader_serials(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT reader_serial FROM ledger
                 WHERE kind = 'booking' AND state = 'pending' AND reader_serial IS NOT NULL",
            )
            .ctx("prepare the waiting readers")?;
        stmt.query_map([], |r| r.get(0))
            .ctx("list the waiting readers")?
            .collect::<Result<_, _>>()
            .ctx("read a waiting reader")
    }
}
