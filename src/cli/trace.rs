//! `astrow-pac trace`: everything the store knows of one employee or one
//! booking, to answer "who changed this employee" and "what became of this
//! swipe" with one command.

use clap::{Args, Subcommand};
use serde_json::json;

use super::audit::{entry_json, entry_text};
use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::store::ledger_export::{self, ExportRow};
use crate::store::{Store, trace};

pub const LONG_ABOUT: &str = "Everything the store knows of one employee or one booking, read \
beside a running engine.

  astrow-pac trace employee 10231     (a PAC id or an Astrow personnel number)
  astrow-pac trace booking pac:1:881233   (Astrow's source_id, or its booking id: 58812)

An employee: its link (created or matched, and when), every plan item about it (action, state, \
reason, result) and its audit entries with what changed. A booking: the PAC event (seq, time \
with the controller's offset, reader, badge), what it became (processed, queued, duplicate, \
rejected with Astrow's reason, waiting, or not a booking and why), how many times it was sent \
and Astrow's booking id.

Exit codes: 0 found, 1 not found or no store, 2 wrong use.";

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(subcommand)]
    pub what: TraceWhat,
    /// Print JSON
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TraceWhat {
    /// One employee: its link, plan items and audit entries
    Employee {
        /// A PAC employee id or an Astrow personnel number
        id: u64,
    },
    /// One booking: the PAC event, what it became, the sends and Astrow's answer
    Booking {
        /// Astrow's source_id (pac:ORG:SEQ) or Astrow's booking id
        key: String,
    },
}

/// Audit entries a trace shows at most.
const AUDIT_LIMIT: usize = 200;

pub fn run(global: &GlobalArgs, args: &TraceArgs) -> u8 {
    let booking_key = match &args.what {
        TraceWhat::Booking { key } => match parse_booking_key(key) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("astrow-pac trace booking: {e}");
                return exit::USAGE;
            }
        },
        TraceWhat::Employee { .. } => None,
    };
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    if !dir.join(crate::store::DATABASE_FILE).exists() {
        eprintln!(
            "astrow-pac trace: no store in {}: the engine has not run with these settings yet",
            dir.display()
        );
        return exit::PROBLEMS;
    }
    let mut store = match Store::open_read_only(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("astrow-pac trace: {e}");
            return exit::PROBLEMS;
        }
    };
    let conn = store.connection();
    let found = match (&args.what, booking_key) {
        (TraceWhat::Employee { id }, _) => trace::employee(conn, *id, AUDIT_LIMIT)
            .map_err(|e| e.to_string())
            .map(|t| {
                let empty = t.link.is_none() && t.plan_items.is_empty() && t.audit.is_empty();
                (!empty).then(|| employee_out(&t, args.json))
            }),
        (TraceWhat::Booking { .. }, Some(key)) => {
            ledger_export::find(conn, key.seq, key.booking_id)
                .map_err(|e| e.to_string())
                .map(|rows| (!rows.is_empty()).then(|| booking_out(&rows, args.json)))
        }
        (TraceWhat::Booking { .. }, None) => Ok(None),
    };
    match found {
        Ok(Some(text)) => super::conventions::write_stdout("trace", text.as_bytes()),
        Ok(None) => {
            eprintln!("astrow-pac trace: the store knows nothing of that");
            exit::PROBLEMS
        }
        Err(e) => {
            eprintln!("astrow-pac trace: {e}");
            exit::PROBLEMS
        }
    }
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

fn employee_out(t: &trace::EmployeeTrace, as_json: bool) -> String {
    if as_json {
        return json!({
            "link": t.link,
            "plan_items": t.plan_items,
            "audit": t.audit.iter().map(entry_json).collect::<Vec<_>>(),
        })
        .to_string()
            + "\n";
    }
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
        None => s.push_str("Link    none\n"),
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

fn booking_out(rows: &[ExportRow], as_json: bool) -> String {
    if as_json {
        return serde_json::to_string(rows).unwrap_or_default() + "\n";
    }
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
