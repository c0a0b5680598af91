//! What the booking import learns from the employee sync: names for the
//! feed and the Astrow badge number of each linked PAC employee.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::model::PacId;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct People {
    /// PAC id -> display name.
    pub names: HashMap<PacId, String>,
    /// PAC id -> the linked Astrow employee's badge number.
    pub linked_badges: HashMap<PacId, String>,
    /// PAC employees with no linked badge because their pairing is in
    /// dispute: why, for the Bookings pane.
    pub unpaired_why: HashMap<PacId, String>,
    /// The reader serials Astrow's mirror holds: a booking on a reader PAC
    /// lists but the mirror does not yet waits (Astrow would reject it).
    /// `None`: send every booking.
    pub mirrored_serials: Option<Arc<HashSet<String>>>,
}
