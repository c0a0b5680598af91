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

--resend-missing (pac-to-astrow only) then sends again the missing bookings that Astrow \
once answered as stored (processed, queued or duplicate in the ledger) and no longer holds: \
Astrow restored from a backup, or a booking deleted there. They go back to pending in the \
ledger (audited) and the import sends them under the same source id; Astrow keeps a source \
id once, so one it holds after all is answered duplicate, never booked twice. Missing \
bookings the ledger does not hold as stored (rejected, never read, trimmed) are listed and \
left. A booking deleted in Astrow on purpose is missing too: read the list before you \
confirm. It asks first unless --yes; beside a running engine the engine does it.

--from and --to are dates (YYYY-MM-DD, both included, local time); without them, the last \
24 hours.

Exit codes: 0 nothing off (with --resend-missing: every missing booking sent again and \
nothing else off), 1 could not reconcile (or send again), 2 something missing, doubled or \
unexpected.";

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
    /// Send again the missing bookings Astrow had answered as stored (pac-to-astrow)
    #[arg(long)]
    pub resend_missing: bool,
    /// Do not ask before sending again (with --resend-missing)
    #[arg(long, requires = "resend_missing")]
    pub yes: bool,
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
        if args.resend_missing {
            eprintln!(
                "astrow-pac reconcile: --resend-missing is for --direction pac-to-astrow \
                 (Astrow->PAC bookings PAC rejected are sent again by fixing what PAC refused)"
            );
            return exit::USAGE;
        }
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
    let report = match (&result, args.resend_missing) {
        (Ok(r), true) => Some(r.clone()),
        _ => None,
    };
    let code = tell(args, result, ReconcileReport::summary);
    match report {
        Some(r) if !r.missing.is_empty() => resend_missing(&shot, args, &r),
        Some(_) => {
            eprintln!("Nothing missing: nothing to send again.");
            code
        }
        None => code,
    }
}

/// Most source ids one command to the service carries (its frames are
/// bounded; an id is at most about 40 bytes).
const RESEND_CHUNK: usize = 10_000;

/// `--resend-missing`: ask, then send again (through the service when one
/// holds the store); the exit code: 0 only when every missing booking was
/// sent again and nothing else was off.
fn resend_missing(shot: &super::common::OneShot, args: &ReconcileArgs, r: &ReconcileReport) -> u8 {
    let dir = store_dir(&shot.settings);
    let question = format!(
        "Send again the {} missing booking(s) Astrow had answered as stored (store {})? \
         A booking deleted in Astrow on purpose is among them. [y/N] ",
        r.missing.len(),
        dir.display()
    );
    if !args.yes && !super::apply::confirm(&question) {
        eprintln!("Nothing sent again.");
        return exit::USAGE;
    }
    let done = if Store::holder(&dir).is_some() {
        shot.runtime
            .block_on(resend_through_service(&shot.settings, &r.missing))
    } else {
        resend_in_store(&shot.settings, &dir, &r.missing)
    };
    match done {
        Ok(sent) if sent == r.missing.len() && r.doubled.is_empty() && r.unexpected.is_empty() => {
            exit::OK
        }
        Ok(_) => exit::USAGE,
        Err(e) => {
            eprintln!("astrow-pac reconcile: {e}");
            exit::PROBLEMS
        }
    }
}

/// The service sends them again, a chunk per command; how many it took.
async fn resend_through_service(
    settings: &crate::config::Settings,
    missing: &[String],
) -> Result<usize, String> {
    use crate::engine::bookings::resend::sent_again;
    let Some(mut att) = super::attach::attach_running(settings, false, false).await? else {
        return Err("the engine holding the store stopped: run this again".to_string());
    };
    let mut sent = 0;
    for chunk in missing.chunks(RESEND_CHUNK) {
        let text = super::remote::resend_lost(&mut att, chunk.to_vec()).await?;
        eprintln!("{}", crate::http::sanitize(&text));
        sent += sent_again(&text).unwrap_or(0);
    }
    Ok(sent)
}

/// No service: this command writes the store, if it is this site's.
fn resend_in_store(
    settings: &crate::config::Settings,
    dir: &std::path::Path,
    missing: &[String],
) -> Result<usize, String> {
    use crate::engine::bookings::resend;
    use crate::store::BindingCheck;
    let site = crate::engine::site::site_identity(settings)?;
    let mut store = Store::open(dir).map_err(|e| e.to_string())?;
    if let BindingCheck::Other { bound } = store.check_site(&site).map_err(|e| e.to_string())? {
        return Err(format!(
            "nothing sent again: this store was made for {bound}, but the settings point at {site}"
        ));
    }
    let o = resend::resend_lost_audited(&mut store, settings.pac.organization_id, missing)?;
    eprintln!("{}", resend::describe(&o));
    Ok(o.requeued)
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
    fn a_chunk_of_the_longest_source_ids_fits_one_client_frame() {
        use crate::control::wire::{ClientFrame, MAX_CLIENT_FRAME, encode};
        use crate::engine::command::Command;
        use crate::model::Seq;
        use crate::store::seq_reset::{EPOCH_SHIFT, ledger_key, source_id};
        let last_epoch = (1u32 << (64 - EPOCH_SHIFT)) - 1;
        let longest = source_id(
            u32::MAX,
            ledger_key(last_epoch, Seq((1 << EPOCH_SHIFT) - 1)),
        );
        assert_eq!(longest, "pac:4294967295:e16777215:1099511627775");
        let frame = ClientFrame::Command {
            id: u64::MAX,
            command: Command::ResendLostBookings {
                source_ids: vec![longest; RESEND_CHUNK],
            },
        };
        let bytes = encode(&frame).unwrap();
        assert!(bytes.len() <= MAX_CLIENT_FRAME, "{} bytes", bytes.len());
    }

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
