//! `astrow-pac trace`: everything the store knows of one employee or one
//! booking, to answer "who changed this employee" and "what became of this
//! swipe" with one command.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::audit::entry_json;
use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::config::Settings;
use crate::engine::connect;
use crate::engine::runtime::store_dir;
use crate::engine::trace_text;
pub use crate::engine::trace_text::{BookingKey, parse_booking_key};
use crate::model::{AstrowEmployee, PacEmployee, PacId, PersNo};
use crate::store::ledger_export::{self, ExportRow};
use crate::store::{Store, trace};

pub const LONG_ABOUT: &str = "Everything the store knows of one employee or one booking, read \
beside a running engine.

  astrow-pac trace employee 10231     (a PAC id or an Astrow personnel number)
  astrow-pac trace booking pac:1:881233   (Astrow's source_id, or its booking id: 58812)

An employee: as it stands now on both sides (read from PAC and Astrow; --offline skips \
that), its link (created or matched, and when), every plan item about it (action, state, \
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
    /// Do not read the employee from PAC and Astrow: what the store knows only
    #[arg(long, global = true)]
    pub offline: bool,
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
                (!empty).then(|| {
                    let live = (!args.offline).then(|| read_live(&settings, *id, &t));
                    employee_out(&t, live.as_ref(), args.json)
                })
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

/// The employee on both sides as PAC and Astrow answer now (a side that
/// cannot be read says why), and the ids asked for.
pub struct Live {
    pub pac_id: u64,
    pub pers_no: u64,
    pub pac: Result<Option<PacEmployee>, String>,
    pub astrow: Result<Option<AstrowEmployee>, String>,
}

/// How long `trace` waits for each side's answer.
const LIVE_WAIT: Duration = Duration::from_secs(15);

/// Read both sides of employee `id`: through its link when it has one,
/// else `id` on both sides.
fn read_live(settings: &Settings, id: u64, t: &trace::EmployeeTrace) -> Live {
    let (pac_id, pers_no) = t.link.as_ref().map_or((id, id), |l| (l.pac_id, l.pers_no));
    let Some(rt) = super::common::runtime() else {
        let no = "no async runtime".to_string();
        return Live {
            pac_id,
            pers_no,
            pac: Err(no.clone()),
            astrow: Err(no),
        };
    };
    rt.block_on(async {
        let pac = async {
            let c = connect::pac_client(settings).map_err(|e| e.to_string())?;
            match tokio::time::timeout(LIVE_WAIT, c.get_employee(PacId(pac_id))).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", LIVE_WAIT.as_secs())),
            }
        };
        let astrow = async {
            let c = connect::astrow_client(settings).map_err(|e| e.to_string())?;
            match tokio::time::timeout(LIVE_WAIT, c.get_employee(PersNo(pers_no))).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", LIVE_WAIT.as_secs())),
            }
        };
        let (pac, astrow) = tokio::join!(pac, astrow);
        Live {
            pac_id,
            pers_no,
            pac,
            astrow,
        }
    })
}

fn live_text(t: &trace::EmployeeTrace, live: &Live) -> String {
    let mut s = trace_text::sides_text(
        "Now (read from PAC and Astrow just now)",
        live.pac
            .as_ref()
            .map(Option::as_ref)
            .map_err(String::as_str),
        live.astrow
            .as_ref()
            .map(Option::as_ref)
            .map_err(String::as_str),
        &[],
    );
    if t.link.is_none() {
        s.push_str(&format!(
            "  (no link: PAC employee {} and Astrow employee {} are not known to be one person)\n",
            live.pac_id, live.pers_no
        ));
    }
    s
}

fn employee_out(t: &trace::EmployeeTrace, live: Option<&Live>, as_json: bool) -> String {
    if as_json {
        let now = live.map(|l| {
            json!({
                "pac": l.pac.as_ref().ok(),
                "astrow": l.astrow.as_ref().ok(),
                "pac_error": l.pac.as_ref().err(),
                "astrow_error": l.astrow.as_ref().err(),
            })
        });
        return json!({
            "now": now,
            "link": t.link,
            "plan_items": t.plan_items,
            "audit": t.audit.iter().map(entry_json).collect::<Vec<_>>(),
        })
        .to_string()
            + "\n";
    }
    let mut s = live.map(|l| live_text(t, l)).unwrap_or_default();
    s.push_str(&trace_text::employee_text(t));
    s
}

fn booking_out(rows: &[ExportRow], as_json: bool) -> String {
    if as_json {
        return serde_json::to_string(rows).unwrap_or_default() + "\n";
    }
    trace_text::booking_text(rows)
}
