//! PLACEHOLDER until branch `pac` lands its seed (same signature): a tiny PAC
//! site so that the Astrow seed compiles and can be tested. Take `pac`'s file
//! on merge.

use crate::model::{AccessGroup, Badge, BadgeType, PacEmployee, PacId, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacSite {
    pub groups: Vec<AccessGroup>,
    pub readers: Vec<Reader>,
    pub employees: Vec<PacEmployee>,
}

pub fn pac_site(_seed: u64, employees: usize) -> PacSite {
    PacSite {
        groups: Vec::new(),
        readers: Vec::new(),
        employees: (0..employees as u64)
            .map(|i| PacEmployee {
                id: PacId(10001 + i),
                first_name: format!("F{i}"),
                last_name: format!("L{i}"),
                employee_number: format!("E-{i:04}"),
                active: true,
                valid_from: None,
                valid_until: None,
                access_group_ids: vec![1],
                badges: vec![Badge {
                    number: format!("{:08X}", 10001 + i),
                    badge_type: BadgeType::PacProximity,
                    active: true,
                }],
                external_ref: None,
                version: 1,
            })
            .collect(),
    }
}
