//! `astrow-pac reconcile`: proof that every granted swipe of a window is in
//! Astrow exactly once. Only reads.

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use clap::Args;
use serde_json::json;

use super::common::one_shot;
use super::{GlobalArgs, exit};
use crate::engine::connect::{astrow_client, pac_client};
use crate::engine::jobs::{reconcile, reconcile_a2p};
use crate::engine::reconcile::ReconcileReport;
use crate::engine::runtime::store_dir;
use crate::store::Store;

pub const LONG_ABOUT: &str = "Reconcile a window (a pay period): page PAC's events and \
Astrow's stored bookings and report, by source_id, the granted swipes on booking readers \
that Astrow does not hold (missing), holds more than once (doubled), and bookings with our \
source ids that match no swipe (unexpected). Only what PAC still keeps in its event history \
can be judged. It only reads; it works beside a running engine, which also reconciles the \
last 24 hours every hour (Overview, Jobs).

--direction astrow-to-pac reconciles the other direction (bookings.astrow_to_pac): \
Astrow's own bookings of the window (not those from PAC), by the source id they go to PAC \
under (astrow:<booking_id>), against PAC's external_attendance events: missing, doubled, \
unexpected; those still waiting in the ledger (pending or held with a reason) and those \
PAC rejected with a reason are counted apart, not as missing; PAC's events of bookings \
Astrow lost when it was restored from a backup (ids above where a later epoch starts) are \
counted apart, not as unexpected.

--from and --to are dates (YYYY-MM-DD, both included, local time); without them, the last \
24 hours.

Exit codes: 0 nothing off, 1 could not reconcile, 2 something missing, doubled or unexpected.";

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The first day of the window (YYYY-MM-DD) [default: 24 hours ago]
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// The last day of the window, included (YYYY-MM-DD) [default: now]
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Which direction of bookings to reconcile
    #[arg(long, value_enum, default_value_t = Direction::PacToAstrow)]
    pub direction: Direction,
}

/// The two directions bookings travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// PAC's granted swipes booked into Astrow
    PacToAstrow,
    /// Astrow's own bookings sent to PAC as external events
    AstrowToPac,
}

/// The window `[from, to)` the arguments name (pure but for `now`).
pub fn window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let midnight = |d: NaiveDate| -> Result<DateTime<Utc>, String> {
        let t = d
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| format!("{d} has no midnight"))?;
        Local
            .from_local_datetime(&t)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("{d} 00:00 does not exist in the local time zone"))
    };
    let end = match to {
        Some(d) => midnight(d.succ_opt().ok_or("--to is the last date there is")?)?,
        None => now,
    };
    let start = match from {
        Some(d) => midnight(d)?,
        None => end - reconcile::WINDOW,
    };
    if start >= end {
        return Err(format!(
            "--from must come before --to (the window would be {start} .. {end})"
        ));
    }
    Ok((start, end))
}

pub fn run(global: &GlobalArgs, args: &ReconcileArgs) -> u8 {
    let Some(shot) = one_shot(global) else {
        return exit::PROBLEMS;
    };
    let settings = &shot.settings;
    let (from, to) = match window(args.from, args.to, Utc::now()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("astrow-pac reconcile: {e}");
            return exit::USAGE;
        }
    };
    if args.direction == Direction::AstrowToPac {
        return run_a2p(&shot, args, from, to);
    }
    // The epoch of the store and what still waits in its ledger, beside a
    // running engine or not (nothing without a store).
    let org = settings.pac.organization_id;
    let (epoch, waiting) = Store::open_read_only(&store_dir(settings))
        .ok()
        .and_then(|mut s| reconcile::ledger_facts(s.connection(), org).ok())
        .unwrap_or_default();
    let result = shot.runtime.block_on(async {
        let pac = pac_client(settings).map_err(|e| e.to_string())?;
        let astrow = astrow_client(settings).map_err(|e| e.to_string())?;
        reconcile::run(&pac, &astrow, settings, epoch, &waiting, from, to).await
    });
    tell(args, result, ReconcileReport::summary)
}

/// `--direction astrow-to-pac`.
fn run_a2p(
    shot: &super::common::OneShot,
    args: &ReconcileArgs,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> u8 {
    let settings = &shot.settings;
    // What waits or was rejected in the ledger, beside a running engine or
    // not (nothing without a store: all judged).
    let facts = Store::open_read_only(&store_dir(settings))
        .ok()
        .and_then(|mut s| reconcile_a2p::ledger_facts(s.connection()).ok())
        .unwrap_or_default();
    let result = shot.runtime.block_on(async {
        let pac = pac_client(settings).map_err(|e| e.to_string())?;
        let astrow = astrow_client(settings).map_err(|e| e.to_string())?;
        reconcile_a2p::run(&pac, &astrow, &facts, from, to).await
    });
    tell(args, result, crate::engine::reconcile_a2p::summary)
}

/// Print the report (or why there is none); the exit code.
fn tell(
    args: &ReconcileArgs,
    result: Result<ReconcileReport, String>,
    summary: fn(&ReconcileReport) -> String,
) -> u8 {
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", report_json(&report));
            } else {
                print!("{}", report_text(&report, summary));
            }
            if report.clean() {
                exit::OK
            } else {
                exit::USAGE
            }
        }
        Err(e) => {
            eprintln!("astrow-pac reconcile: {e}");
            exit::PROBLEMS
        }
    }
}

fn report_json(r: &ReconcileReport) -> serde_json::Value {
    json!({
        "from": r.from, "to": r.to, "clean": r.clean(),
        "expected": r.expected, "booked_once": r.booked_once, "waiting": r.waiting,
        "rejected": r.rejected,
        "missing": r.missing,
        "doubled": r.doubled.iter().map(|(s, n)| json!({"source_id": s, "times": n})).collect::<Vec<_>>(),
        "unexpected": r.unexpected,
        "lost_by_astrow_restore": r.lost_by_astrow_restore,
    })
}

fn report_text(r: &ReconcileReport, summary: fn(&ReconcileReport) -> String) -> String {
    let mut out = format!(
        "{} .. {}: {}\n",
        r.from.map(|t| t.to_rfc3339()).unwrap_or_default(),
        r.to.map(|t| t.to_rfc3339()).unwrap_or_default(),
        summary(r)
    );
    for s in &r.missing {
        out.push_str(&format!("MISSING    {}\n", crate::http::sanitize(s)));
    }
    for (s, n) in &r.doubled {
        out.push_str(&format!(
            "DOUBLED    {} ({n} times)\n",
            crate::http::sanitize(s)
        ));
    }
    for s in &r.unexpected {
        out.push_str(&format!("UNEXPECTED {}\n", crate::http::sanitize(s)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_last_24_hours_or_whole_days_included() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let (a, b) = window(None, None, now).unwrap();
        assert_eq!((b - a).num_hours(), 24);
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let (a, b) = window(d("2026-11-01"), d("2026-11-30"), now).unwrap();
        assert!((b - a).num_days() >= 29 && (b - a).num_days() <= 30);
        assert!(window(d("2026-11-30"), d("2026-11-01"), now).is_err());
    }
}
