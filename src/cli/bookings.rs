//! `astrow-pac bookings ...`: the booking import's recoveries.

use clap::{Args, Subcommand};

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::bookings::reset::{describe, reset_cursor_audited};
use crate::engine::runtime::store_dir;
use crate::model::Seq;
use crate::store::{Store, StoreError, ledger, seq_reset};

pub const LONG_ABOUT: &str = "The booking ledger: its export and the import's recoveries.

export --from DATE --to DATE: every PAC event of the window with what became of it in \
Astrow, as CSV or JSON (see `astrow-pac bookings export --help`).

reset-cursor --to N: after PAC was restored from a backup or reinstalled, its event \
sequence starts again below the cursor; the engine stops reading and says so (console \
banner, log, heartbeat degraded, `status` exit 3). This moves the cursor to N in a new \
epoch: PAC's events after N are read from then on, and their bookings get source ids \
`pac:<org>:e<epoch>:<seq>`, so they never collide with what Astrow already stored. \
--to 0 reads PAC's new sequence from its start; --to <PAC's last seq> skips what PAC holds. \
Asks for confirmation (default No) and writes the audit log. The engine holds the store \
while it runs: then the engine moves the cursor, asked through its control socket (or use \
the console: Bookings pane, key X).

astrow-cursor --to N: the other direction's recovery (bookings.astrow_to_pac). After \
Astrow was restored from a backup its booking ids start again below the Astrow->PAC \
cursor; the engine stops reading Astrow's bookings and says so (console Overview, log, \
heartbeat degraded, `status` exit 3). This moves that cursor to N (the newest booking \
id of Astrow's backup) in a new epoch: Astrow's bookings after N are read and sent to \
PAC as `astrow:e<epoch>:<booking_id>`, so they never collide with what PAC already \
stored. Asks for confirmation (default No) and writes the audit log; beside a running \
engine the engine moves it, asked through its control socket.

Exit codes: 0 moved, 1 refused, declined or failed, 2 the engine runs.";

#[derive(Debug, Args)]
pub struct BookingsArgs {
    #[command(subcommand)]
    pub action: BookingsAction,
}

#[derive(Debug, Subcommand)]
pub enum BookingsAction {
    /// Print every PAC event of a window with what became of it (CSV or JSON)
    #[command(long_about = super::bookings_export::EXPORT_ABOUT)]
    Export(super::bookings_export::ExportArgs),
    /// Move the event cursor to PAC's new sequence after PAC's sequence was reset
    ResetCursor {
        /// Read PAC's events after this seq from now on
        #[arg(long, value_name = "N")]
        to: u64,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Move the Astrow->PAC booking cursor after Astrow was restored from a backup
    AstrowCursor {
        /// Read Astrow's bookings after this booking id from now on
        #[arg(long, value_name = "N")]
        to: u64,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(global: &GlobalArgs, args: &BookingsArgs) -> u8 {
    let (to, yes) = match &args.action {
        BookingsAction::Export(a) => return super::bookings_export::export(global, a),
        BookingsAction::ResetCursor { to, yes } => (*to, *yes),
        BookingsAction::AstrowCursor { to, yes } => {
            return super::bookings_astrow::run(global, *to, *yes);
        }
    };
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    // A service holds the store: it moves the cursor, asked through its socket.
    if Store::holder(&dir).is_some() {
        return reset_by_service(&settings, &dir, to, yes);
    }
    reset(&dir, to, yes)
}

/// `reset-cursor` beside a running engine: the same facts and question
/// (read beside it), then the engine moves the cursor and says so.
fn reset_by_service(
    settings: &crate::config::Settings,
    dir: &std::path::Path,
    to: u64,
    yes: bool,
) -> u8 {
    let Some(rt) = super::common::runtime() else {
        return exit::PROBLEMS;
    };
    let facts = Store::open_read_only(dir)
        .map_err(|e| e.to_string())
        .and_then(|mut s| {
            let conn = s.connection();
            ledger::cursor(conn)
                .and_then(|c| Ok((c, seq_reset::open_reset(conn)?)))
                .map_err(|e| e.to_string())
        });
    let (cursor, open) = match facts {
        Ok(f) => f,
        Err(e) => {
            eprintln!("astrow-pac bookings reset-cursor: {e}");
            return exit::PROBLEMS;
        }
    };
    tell_facts(cursor, open.as_ref());
    if !yes && !ask(cursor, to) {
        eprintln!("declined: nothing changed");
        return exit::PROBLEMS;
    }
    let done = rt.block_on(async {
        match super::attach::attach_running(settings, false, false).await {
            Ok(Some(mut att)) => Some(super::remote::reset_cursor(&mut att, to).await),
            Ok(None) => Some(Err(
                "the engine holding the store stopped: run this again".to_string()
            )),
            Err(e) => {
                eprintln!(
                    "astrow-pac bookings reset-cursor: {e}. Stop the engine first, or move the cursor in its console (Bookings pane)."
                );
                None
            }
        }
    });
    let Some(done) = done else {
        return exit::USAGE;
    };
    match done {
        Ok(text) => {
            println!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("astrow-pac bookings reset-cursor: {e}");
            exit::PROBLEMS
        }
    }
}

fn tell_facts(cursor: Seq, open: Option<&seq_reset::OpenReset>) {
    match open {
        Some(r) => eprintln!(
            "PAC's event sequence was reset (detected {}): PAC ended at {} while the cursor is {}.",
            r.detected_at, r.pac_last_seq, r.cursor
        ),
        None => eprintln!(
            "No reset of PAC's event sequence was detected; the cursor is {cursor}. Moving it anyway re-reads or skips events."
        ),
    }
}

fn ask(cursor: Seq, to: u64) -> bool {
    super::apply::confirm(&format!(
        "Move the event cursor from {cursor} to {to} in a new epoch? [y/N] "
    ))
}

fn reset(dir: &std::path::Path, to: u64, yes: bool) -> u8 {
    let mut store = match Store::open(dir) {
        Ok(s) => s,
        Err(e @ StoreError::Locked { .. }) => {
            eprintln!(
                "astrow-pac bookings reset-cursor: {e}. Stop the engine first, or move the cursor in its console (Bookings pane)."
            );
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("astrow-pac bookings reset-cursor: {e}");
            return exit::PROBLEMS;
        }
    };
    let facts = {
        let conn = store.connection();
        ledger::cursor(conn).and_then(|c| Ok((c, seq_reset::open_reset(conn)?)))
    };
    let (cursor, open) = match facts {
        Ok(f) => f,
        Err(e) => {
            eprintln!("astrow-pac bookings reset-cursor: {e}");
            return exit::PROBLEMS;
        }
    };
    tell_facts(cursor, open.as_ref());
    if !yes && !ask(cursor, to) {
        eprintln!("declined: nothing changed");
        return exit::PROBLEMS;
    }
    match reset_cursor_audited(&mut store, Seq(to)) {
        Ok(done) => {
            println!("{}", describe(&done));
            exit::OK
        }
        Err(e) => {
            eprintln!("astrow-pac bookings reset-cursor: {e}");
            exit::PROBLEMS
        }
    }
}
