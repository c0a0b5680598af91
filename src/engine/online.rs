//! Online checks of the settings: both systems reachable, PAC's certificate
//! and OEM key accepted, the Astrow user's permission and licences, the
//! default cycle and pay group. Used by `check` and the console's
//! connection test.

use std::time::Instant;

use super::connect::{astrow_client, pac_client};
use crate::config::{Master, Settings};

/// One check's outcome, in words an administrator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

fn outcome(name: &str, ok: bool, detail: impl Into<String>) -> CheckOutcome {
    CheckOutcome {
        name: name.to_string(),
        ok,
        detail: detail.into(),
    }
}

/// Run every online check; never panics, never prints a secret.
pub async fn online_checks(s: &Settings) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    match pac_client(s) {
        Err(e) => out.push(outcome("PAC connection", false, e.to_string())),
        Ok(pac) => {
            let t = Instant::now();
            match pac.status().await {
                Ok(st) => out.push(outcome(
                    "PAC connection",
                    true,
                    format!(
                        "{}:{} answered in {} ms (server {}, organization {}); certificate and OEM key accepted",
                        s.pac.address,
                        s.pac.port,
                        t.elapsed().as_millis(),
                        crate::http::sanitize(&st.server_version),
                        crate::http::sanitize(&st.organization.name),
                    ),
                )),
                Err(e) => out.push(outcome("PAC connection", false, e.to_string())),
            }
        }
    }
    let astrow = match astrow_client(s) {
        Ok(a) => a,
        Err(e) => {
            out.push(outcome("Astrow connection", false, e.to_string()));
            return out;
        }
    };
    let t = Instant::now();
    match astrow.licences().await {
        Err(e) => {
            out.push(outcome("Astrow connection", false, e.to_string()));
            return out;
        }
        Ok(l) => {
            out.push(outcome(
                "Astrow connection",
                true,
                format!(
                    "{} answered in {} ms; the user {} may use the API",
                    s.astrow.url,
                    t.elapsed().as_millis(),
                    s.astrow.username
                ),
            ));
            out.push(outcome(
                "Astrow licence File terminal",
                l.file_terminal,
                if l.file_terminal {
                    "present: bookings can be imported".to_string()
                } else {
                    "missing: Astrow refuses bookings; add the licence in Astrow".to_string()
                },
            ));
            out.push(outcome(
                "Astrow licence Employees import",
                l.employees_import,
                if l.employees_import {
                    "present: employees can be written".to_string()
                } else {
                    "missing: Astrow refuses employee writes; add the licence in Astrow".to_string()
                },
            ));
        }
    }
    if s.sync.master == Master::Pac {
        match astrow.cycles().await {
            Ok(c) => {
                let found = c.iter().any(|x| x.code == s.astrow.default_cycle_code);
                out.push(outcome(
                    "astrow.default_cycle_code",
                    found,
                    if found {
                        format!("cycle {:?} exists", s.astrow.default_cycle_code)
                    } else {
                        format!(
                            "Astrow has no cycle {:?}; it has: {}",
                            s.astrow.default_cycle_code,
                            codes(c.iter().map(|x| x.code.as_str()))
                        )
                    },
                ));
            }
            Err(e) => out.push(outcome("astrow.default_cycle_code", false, e.to_string())),
        }
        match astrow.paygroups().await {
            Ok(c) => {
                let found = c.iter().any(|x| x.code == s.astrow.default_paygroup_code);
                out.push(outcome(
                    "astrow.default_paygroup_code",
                    found,
                    if found {
                        format!("pay group {:?} exists", s.astrow.default_paygroup_code)
                    } else {
                        format!(
                            "Astrow has no pay group {:?}; it has: {}",
                            s.astrow.default_paygroup_code,
                            codes(c.iter().map(|x| x.code.as_str()))
                        )
                    },
                ));
            }
            Err(e) => out.push(outcome(
                "astrow.default_paygroup_code",
                false,
                e.to_string(),
            )),
        }
    }
    out
}

fn codes<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = it.take(20).map(crate::http::sanitize).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
