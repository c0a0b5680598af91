//! The text of a trace (`astrow-pac trace`, and the console's trace of a
//! row): what the store knows of one employee or one booking, in lines a
//! person reads. Outside text is cleaned (`http::sanitize`).

use chrono::{DateTime, Local, Utc};

use crate::model::{AstrowEmployee, PacEmployee};
use crate::store::audit_page;
use crate::store::ledger_export::ExportRow;
use crate::store::{AuditEntry, trace};

/// A time in the local zone, to the second, with its offset.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// One entry as text: a line of columns, then its changes indented.
pub fn entry_text(e: &AuditEntry) -> String {
    let r = &e.record;
    let clean = crate::http::sanitize;
    let mut s = format!(
        "{:<25} {:<12} {:<6} {:<14} {:<18} {}\n",
        local(e.at),
        clean(&e.os_user),
        r.system.as_str(),
        clean(&r.action),
        clean(&r.record),
        clean(&r.result)
    );
    for line in audit_page::diff_lines(r.before.as_deref(), r.after.as_deref()) {
        s.push_str(&format!("    {}\n", clean(&line)));
    }
    s
}

/// What `trace booking` looks up: a PAC seq (from a source_id) or an
/// Astrow booking id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingKey {
    pub seq: Option<u64>,
    pub booking_id: Option<u64>,
}

pub fn parse_booking_key(key: &str) -> Result<BookingKey, String> {
    let k = key.trim();
    if let Ok(id) = k.parse::<u64>() {
        return Ok(BookingKey {
            seq: None,
            booking_id: Some(id),
        });
    }
    let bad = || {
        format!(
            "{k:?} is neither a source_id (pac:1:881233, or pac:1:e2:17 after a reset of PAC's \
             sequence) nor a booking id (58812)"
        )
    };
    let (epoch, seq) = match k.split(':').collect::<Vec<_>>()[..] {
        ["pac", org, seq] if org.parse::<u32>().is_ok() => (0, seq),
        ["pac", org, epoch, seq] if org.parse::<u32>().is_ok() => {
            match epoch.strip_prefix('e').map(str::parse::<u32>) {
                Some(Ok(e)) => (e, seq),
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    let seq = seq
        .parse::<u64>()
        .map_err(|_| format!("{k:?}: the seq at its end is not a number"))?;
    Ok(BookingKey {
        seq: Some(crate::store::seq_reset::ledger_key(epoch, crate::model::Seq(seq)).0),
        booking_id: None,
    })
}

pub fn employee_text(t: &trace::EmployeeTrace) -> String {
    let clean = crate::http::sanitize;
    let mut s = String::new();
    match &t.link {
        Some(l) => s.push_str(&format!(
            "Link    PAC {} <-> Astrow {} ({} {})\n",
            l.pac_id,
            l.pers_no,
            if l.origin == "created" {
                "created"
            } else {
                "matched"
            },
            l.at
        )),
        None => match (t.person.pac, t.person.astrow) {
            (Some(p), Some(a)) => s.push_str(&format!(
                "Link    none stored (PAC {p} and Astrow {a} are shown as one row)\n"
            )),
            _ => s.push_str(&format!("Link    none: {}\n", t.person.describe())),
        },
    }
    s.push_str(&format!("Plan items ({})\n", t.plan_items.len()));
    for i in &t.plan_items {
        s.push_str(&format!(
            "  {} plan {} {} in {}: {} {}{}\n",
            clean(&i.plan_created_at),
            clean(&i.plan_id),
            clean(&i.action),
            clean(&i.target),
            clean(&i.state),
            clean(i.reason.as_deref().unwrap_or("")),
            i.detail
                .as_deref()
                .map(|d| format!(" -> {}", clean(d)))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!("Audit ({}, newest first)\n", t.audit.len()));
    for e in &t.audit {
        s.push_str("  ");
        s.push_str(&entry_text(e).replace("\n    ", "\n      "));
    }
    s
}

/// The employee as the engine last read it on both sides.
pub fn current_text(row: Option<&crate::engine::snapshot::EmployeeRow>) -> String {
    match row {
        Some(r) => {
            let differences: Vec<String> = r.differences.names().map(String::from).collect();
            sides_text(
                "Now (as last read)",
                Ok(r.pac.as_ref().map(|p| p.to_employee()).as_ref()),
                Ok(r.astrow.as_ref().map(|a| a.to_employee()).as_ref()),
                &differences,
            )
        }
        None => "Now     not listed by PAC or Astrow (or not read yet)\n".to_string(),
    }
}

/// Both sides of an employee under `heading`: each as read, absent, or
/// why it could not be read.
pub fn sides_text(
    heading: &str,
    pac: Result<Option<&PacEmployee>, &str>,
    astrow: Result<Option<&AstrowEmployee>, &str>,
    differences: &[String],
) -> String {
    let clean = crate::http::sanitize;
    let mut s = format!("{heading}\n");
    match pac {
        Ok(Some(p)) => s.push_str(&format!(
            "  PAC     {} {} {} · no {} · {} · groups {} · badges {}\n",
            p.id,
            clean(&p.first_name),
            clean(&p.last_name),
            clean(&p.employee_number),
            if p.active { "active" } else { "inactive" },
            ids(&p.access_group_ids),
            p.badges
                .iter()
                .map(|b| clean(&b.number))
                .collect::<Vec<_>>()
                .join(","),
        )),
        Ok(None) => s.push_str("  PAC     not in PAC\n"),
        Err(why) => s.push_str(&format!("  PAC     not read: {}\n", clean(why))),
    }
    match astrow {
        Ok(Some(a)) => s.push_str(&format!(
            "  Astrow  {} {} {} · no {} · {} · PAC groups {} · badge {}\n",
            a.pers_no,
            clean(&a.first_name),
            clean(&a.last_name),
            clean(&a.employee_no),
            if a.active { "active" } else { "inactive" },
            ids(&a.pac_access_group_ids),
            a.badge_no.as_deref().map_or("-".to_string(), clean),
        )),
        Ok(None) => s.push_str("  Astrow  not in Astrow\n"),
        Err(why) => s.push_str(&format!("  Astrow  not read: {}\n", clean(why))),
    }
    if !differences.is_empty() {
        s.push_str(&format!(
            "  Differ  {}\n",
            differences
                .iter()
                .map(|d| clean(d))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

fn ids(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

pub fn booking_text(rows: &[ExportRow]) -> String {
    let clean = crate::http::sanitize;
    let opt = |v: Option<String>| v.map_or("-".to_string(), |v| clean(&v));
    let mut s = String::new();
    for r in rows {
        s.push_str(&format!(
            "PAC event   seq {}{} at {}: {} on reader {} ({}), badge {}, employee {} (Astrow {})\n",
            r.seq,
            if r.epoch > 0 {
                format!(" (epoch {})", r.epoch)
            } else {
                String::new()
            },
            r.time,
            r.event_type,
            opt(r.reader_id.map(|v| v.to_string())),
            opt(r.reader_serial.clone()),
            opt(r.badge_number.clone()),
            opt(r.employee_id.map(|v| v.to_string())),
            opt(r.pers_no.map(|v| v.to_string())),
        ));
        s.push_str(&format!(
            "Became      {}{}\n",
            r.outcome,
            if r.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", clean(&r.reason))
            }
        ));
        s.push_str(&format!(
            "Sent        {} time{}{}\n",
            r.attempts,
            if r.attempts == 1 { "" } else { "s" },
            if r.attempts > 1 {
                " (Astrow keeps one booking per source_id however often it is sent)"
            } else {
                ""
            }
        ));
        s.push_str(&format!(
            "Astrow      answered {}, booking id {}\n",
            opt(r.answered_at.clone()),
            opt(r.booking_id.map(|v| v.to_string()))
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_keys() {
        assert_eq!(
            parse_booking_key("pac:1:881233").unwrap().seq,
            Some(881_233)
        );
        assert_eq!(parse_booking_key("58812").unwrap().booking_id, Some(58_812));
        let after_reset = parse_booking_key("pac:1:e2:17").unwrap().seq.unwrap();
        assert_eq!(
            crate::store::seq_reset::split_key(crate::model::Seq(after_reset)),
            (2, crate::model::Seq(17))
        );
        for bad in [
            "pac:x:1",
            "pac:1:y",
            "web:4411",
            "",
            "pac:1",
            "pac:1:2:3",
            "pac:1:ex:3",
        ] {
            assert!(parse_booking_key(bad).is_err(), "{bad}");
        }
    }
}
