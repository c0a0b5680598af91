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
    /// PAC employees the employee sync is about to link (PAC is master, plans
    /// apply automatically, and they are active but not linked yet): their
    /// bookings wait a while for the link instead of going with PAC's raw
    /// badge number.
    pub awaiting_link: HashSet<PacId>,
    /// The serial Astrow's mirror holds for each PAC reader id: a booking
    /// read under a serial PAC has changed since goes under the current one.
    pub mirrored_ids: Option<Arc<HashMap<u32, String>>>,
}

impl People {
    /// These people, with Astrow's reader mirror (PAC reader id -> serial).
    pub fn with_mirror(&self, mirror: Arc<HashMap<u32, String>>) -> People {
        People {
            mirrored_serials: Some(Arc::new(mirror.values().cloned().collect())),
            mirrored_ids: Some(mirror),
            ..self.clone()
        }
    }

    /// The serial to send a booking on reader `reader_id` (read as `serial`)
    /// under: its own when mirrored, else the one the mirror holds for the
    /// same PAC reader (its serial changed in PAC), else `None`.
    pub fn mirrored_serial(&self, reader_id: Option<u32>, serial: &str) -> Option<String> {
        let serials = self.mirrored_serials.as_ref()?;
        if serials.contains(serial) {
            return Some(serial.to_string());
        }
        self.mirrored_ids
            .as_ref()
            .and_then(|ids| ids.get(&reader_id?).cloned())
    }
}
