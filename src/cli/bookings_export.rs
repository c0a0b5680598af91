//! `astrow-pac bookings export`: every PAC event of a window with what
//! became of it in Astrow, for payroll cut-off. (`bookings.rs` holds the
//! subcommand; this file its export.)

use std::io::Write;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use clap::{Args, ValueEnum};

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::store::Store;
use crate::store::ledger::LedgerError;
use crate::store::ledger_export::{ExportRow, for_each_in_window};

pub const EXPORT_ABOUT: &str = "Print every PAC event whose controller time is in the window, \
in PAC's order, with what became of it in Astrow: processed, queued (Astrow does not know the \
badge yet), duplicate, rejected (with Astrow's reason), waiting (not sent yet), or not a booking \
(and why). Times keep the controller's offset.

CSV (the default) has a header row and RFC 4180 quoting and opens in a spreadsheet; JSON is an \
array of objects with the same fields. It reads the store without locking it, so it works \
beside a running engine.

  astrow-pac bookings export --from 2026-11-01 --to 2026-11-30 > november.csv

Exit codes: 0 exported (even nothing), 1 no store or unreadable, 2 wrong use.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// First day of the window (local midnight), or an RFC 3339 time
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day of the window, included (up to the next local midnight), or an RFC 3339 time
    /// (excluded)
    #[arg(long, value_name = "DATE")]
    pub to: String,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Store(String),
    #[error("cannot write to stdout: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

impl Failure {
    fn is_closed_pipe(&self) -> bool {
        match self {
            Failure::Write(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
            Failure::Csv(e) => {
                matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            }
            _ => false,
        }
    }
}

pub fn export(global: &GlobalArgs, args: &ExportArgs) -> u8 {
    let window = parse_window(&args.from, &args.to);
    let (from, to) = match window {
        Ok(w) => w,
        Err(e) => {
            eprintln!("astrow-pac bookings export: {e}");
            return exit::USAGE;
        }
    };
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    if !dir.join(crate::store::DATABASE_FILE).exists() {
        eprintln!(
            "astrow-pac bookings export: no store in {}: the engine has not run with these settings yet",
            dir.display()
        );
        return exit::PROBLEMS;
    }
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let result = Store::open_read_only(&dir)
        .map_err(|e| Failure::Store(e.to_string()))
        .and_then(|mut store| write_export(store.connection(), from, to, args.format, out));
    match result {
        Ok(()) => exit::OK,
        Err(e) if e.is_closed_pipe() => exit::OK,
        Err(e) => {
            eprintln!("astrow-pac bookings export: {e}");
            exit::PROBLEMS
        }
    }
}

/// Write the window's events to `out` as CSV or a JSON array.
fn write_export(
    conn: &rusqlite::Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    format: Format,
    mut out: impl Write,
) -> Result<(), Failure> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            // The header even for an empty window.
            w.write_record(HEADER)?;
            let mut failed = None;
            for_each_in_window(conn, from, to, |row| {
                if failed.is_none()
                    && let Err(e) = w.write_record(csv_fields(&row))
                {
                    failed = Some(e);
                }
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            w.flush()?;
        }
        Format::Json => {
            let mut first = true;
            let mut failed = None;
            write!(out, "[")?;
            for_each_in_window(conn, from, to, |row| {
                if failed.is_none() {
                    let sep = if first { "\n" } else { ",\n" };
                    first = false;
                    let json = serde_json::to_string(&row).unwrap_or_default();
                    if let Err(e) = write!(out, "{sep}{json}") {
                        failed = Some(e);
                    }
                }
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            writeln!(out, "{}]", if first { "" } else { "\n" })?;
            out.flush()?;
        }
    }
    Ok(())
}

pub const HEADER: [&str; 15] = [
    "seq",
    "epoch",
    "time",
    "event_type",
    "reader_id",
    "reader_serial",
    "badge_number",
    "employee_id",
    "pers_no",
    "direction",
    "outcome",
    "booking_id",
    "reason",
    "attempts",
    "answered_at",
];

fn csv_fields(r: &ExportRow) -> [String; 15] {
    let opt = |v: Option<String>| v.unwrap_or_default();
    [
        r.seq.to_string(),
        r.epoch.to_string(),
        r.time.clone(),
        r.event_type.clone(),
        opt(r.reader_id.map(|v| v.to_string())),
        opt(r.reader_serial.clone()),
        opt(r.badge_number.clone()),
        opt(r.employee_id.map(|v| v.to_string())),
        opt(r.pers_no.map(|v| v.to_string())),
        opt(r.direction.clone()),
        r.outcome.clone(),
        opt(r.booking_id.map(|v| v.to_string())),
        r.reason.clone(),
        r.attempts.to_string(),
        opt(r.answered_at.clone()),
    ]
}

/// `--from` and `--to`: dates (the window runs from local midnight of
/// `from` to local midnight after `to`) or RFC 3339 times.
pub fn parse_window(from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let from_t = parse_bound(from, false).map_err(|e| format!("--from {e}"))?;
    let to_t = parse_bound(to, true).map_err(|e| format!("--to {e}"))?;
    if to_t <= from_t {
        return Err(format!(
            "the window is empty: --to {to} is not after --from {from}"
        ));
    }
    Ok((from_t, to_t))
}

fn parse_bound(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
        format!("{t:?} is neither a date (2026-11-30) nor a time (2026-11-30T18:00:00+01:00)")
    })?;
    let day = if end_of_day {
        day.succ_opt()
            .ok_or_else(|| format!("{t:?} is the last day there is"))?
    } else {
        day
    };
    Local
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|l| l.with_timezone(&Utc))
        .ok_or_else(|| format!("{t:?}: that day has no local midnight"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_of_dates_includes_the_last_day() {
        let (from, to) = parse_window("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(
            from.with_timezone(&Local).date_naive().to_string(),
            "2026-11-01"
        );
        assert_eq!(
            to.with_timezone(&Local).date_naive().to_string(),
            "2026-12-01"
        );
        let (f, t) =
            parse_window("2026-11-01T08:00:00+01:00", "2026-11-01T09:00:00+01:00").unwrap();
        assert_eq!(t - f, chrono::Duration::hours(1));
        assert!(
            parse_window("2026-11-30", "2026-11-01")
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            parse_window("november", "2026-11-01")
                .unwrap_err()
                .contains("--from")
        );
        assert!(
            parse_window("2026-11-01", "2026-02-30")
                .unwrap_err()
                .contains("--to")
        );
    }
}
