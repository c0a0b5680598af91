//! `astrow-pac trace`: everything the store knows of one employee or one
//! booking, to answer "who changed this employee" and "what became of this
//! swipe" with one command.

use clap::{Args, Subcommand};
use serde_json::json;

use super::audit::entry_json;
use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::engine::trace_text;
pub use crate::engine::trace_text::{BookingKey, parse_booking_key};
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
    trace_text::employee_text(t)
}

fn booking_out(rows: &[ExportRow], as_json: bool) -> String {
    if as_json {
        return serde_json::to_string(rows).unwrap_or_default() + "\n";
    }
    trace_text::booking_text(rows)
}
