//! What the booking import learns from the employee sync: names for the
//! feed and the Astrow badge number of each linked PAC employee.

use std::collections::HashMap;

use crate::model::PacId;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct People {
    /// PAC id -> display name.
    pub names: HashMap<PacId, String>,
    /// PAC id -> the linked Astrow employee's badge number.
    pub linked_badges: HashMap<PacId, String>,
}
