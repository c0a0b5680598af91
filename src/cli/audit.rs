//! `astrow-pac audit`: the audit log, newest first, read a page at a time.

use std::io::Write;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use clap::Args;
use serde_json::json;

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
pub use crate::engine::trace_text::entry_text;
use crate::engine::trace_text::local;
use crate::model::EmployeeKey;
use crate::store::audit_page::{self, AuditFilter, EmployeeRecords, FIRST_PAGE};
use crate::store::{AuditEntry, Store, StoreError};

pub const LONG_ABOUT: &str = "Print the audit log, newest first: every write the product made \
to PAC or Astrow, with its time, the user, the system, the action, the record, the result and \
what changed (before -> after). It reads the store without locking it, so it works beside a \
running engine, and reads it a page at a time however large it is.

  astrow-pac audit --since 7d
  astrow-pac audit --employee pac:10231 --json   (astrow:1001 for a personnel number)

Exit codes: 0 printed (even nothing), 1 no store or unreadable, 2 wrong use.";

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries since then: a duration back from now (30m, 24h, 7d, 2w) or a date or time
    /// (2026-11-28, 2026-11-28T08:00:00+01:00)
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// Only entries about this employee: pac:ID (a PAC id), astrow:ID (an Astrow personnel
    /// number), or a bare number when it names one person; both sides through its link
    #[arg(long, value_name = "pac:ID|astrow:ID|ID", value_parser = EmployeeKey::parse)]
    pub employee: Option<EmployeeKey>,
    /// Only entries whose user, action, record or result contains this text
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Print a JSON array, one object per entry
    #[arg(long)]
    pub json: bool,
}

/// Entries read from the store at a time.
const PAGE: usize = 500;

pub fn run(global: &GlobalArgs, args: &AuditArgs) -> u8 {
    let since = match args.since.as_deref().map(|s| parse_since(s, Utc::now())) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            eprintln!("astrow-pac audit: --since {e}");
            return exit::USAGE;
        }
    };
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    if !dir.join(crate::store::DATABASE_FILE).exists() {
        eprintln!(
            "astrow-pac audit: no store in {}: the engine has not run with these settings yet",
            dir.display()
        );
        return exit::PROBLEMS;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = Store::open_read_only(&dir)
        .map_err(|e| Failure::Store(e.to_string()))
        .and_then(|mut store| {
            let conn = store.connection();
            let employee = match args.employee {
                Some(key) => Some(EmployeeRecords::resolve(conn, key, &[]).map_err(
                    |e| match e {
                        StoreError::AmbiguousEmployee(a) => Failure::Ambiguous(a),
                        e => Failure::Store(e.to_string()),
                    },
                )?),
                None => None,
            };
            let filter = AuditFilter {
                since,
                employee,
                text: args.grep.clone(),
            };
            print_all(conn, &filter, args.json, &mut out)
        });
    match result.and_then(|()| out.flush().map_err(Failure::Write)) {
        Ok(()) => exit::OK,
        Err(Failure::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e @ Failure::Ambiguous(_)) => {
            eprintln!("astrow-pac audit: --employee {e}");
            exit::USAGE
        }
        Err(e) => {
            eprintln!("astrow-pac audit: {e}");
            exit::PROBLEMS
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Ambiguous(crate::model::AmbiguousEmployee),
    #[error("cannot write to stdout: {0}")]
    Write(#[from] std::io::Error),
}

fn print_all(
    conn: &rusqlite::Connection,
    filter: &AuditFilter,
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut before = FIRST_PAGE;
    let mut first = true;
    if as_json {
        write!(out, "[")?;
    } else {
        writeln!(
            out,
            "{:<25} {:<12} {:<6} {:<14} {:<18} RESULT",
            "TIME", "USER", "SYSTEM", "ACTION", "RECORD"
        )?;
    }
    loop {
        let page = audit_page::page(conn, filter, before, PAGE)
            .map_err(|e| Failure::Store(e.to_string()))?;
        for e in &page {
            if as_json {
                write!(out, "{}\n{}", if first { "" } else { "," }, entry_json(e))?;
            } else {
                write!(out, "{}", entry_text(e))?;
            }
            first = false;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => before = last.id,
            _ => break,
        }
    }
    if as_json {
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    }
    Ok(())
}

pub fn entry_json(e: &AuditEntry) -> serde_json::Value {
    let r = &e.record;
    json!({
        "id": e.id,
        "at": local(e.at),
        "user": e.os_user,
        "system": r.system.as_str(),
        "action": r.action,
        "record": r.record,
        "result": r.result,
        "before": r.before,
        "after": r.after,
        "changes": audit_page::diff_lines(r.before.as_deref(), r.after.as_deref()),
    })
}

/// `--since`: a duration back from `now` (`30m`, `24h`, `7d`, `2w`), a date
/// (local midnight) or an RFC 3339 time.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        return Local
            .from_local_datetime(&midnight)
            .earliest()
            .map(|l| l.with_timezone(&Utc))
            .ok_or_else(|| format!("{t:?}: that day has no local midnight"));
    }
    let bad = || {
        format!(
            "{t:?} is neither a duration (30m, 24h, 7d, 2w) nor a date (2026-11-28) \
             nor a time (2026-11-28T08:00:00+01:00)"
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 60 * 24,
        "w" => 60 * 24 * 7,
        _ => return Err(bad()),
    };
    n.checked_mul(minutes)
        .and_then(chrono::Duration::try_minutes)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| format!("{t:?} reaches too far back"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_dates_and_times() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        assert_eq!(
            parse_since("24h", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
        );
        assert_eq!(
            parse_since("2w", now).unwrap(),
            now - chrono::Duration::days(14)
        );
        assert_eq!(
            parse_since("30m", now).unwrap(),
            now - chrono::Duration::minutes(30)
        );
        assert_eq!(
            parse_since("2026-11-28T08:00:00+01:00", now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap()
        );
        let day = parse_since("2026-11-28", now).unwrap();
        assert_eq!(
            day.with_timezone(&Local).date_naive().to_string(),
            "2026-11-28"
        );
        for bad in [
            "",
            "7",
            "7y",
            "d",
            "-3d",
            "2026-13-01",
            "99999999999999999d",
        ] {
            let e = parse_since(bad, now).unwrap_err();
            assert!(e.contains(&format!("{:?}", bad.trim())), "{bad}: {e}");
        }
    }
}
