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
use crate::model::{AstrowEmployee, EmployeeKey, PacEmployee, PacId, PersNo};
use crate::store::StoreError;
use crate::store::ledger_export::{self, ExportRow};
use crate::store::{Store, trace};

pub const LONG_ABOUT: &str = "Everything the store knows of one employee or one booking, read \
beside a running engine.

  astrow-pac trace employee pac:10231     (or astrow:1001 for a personnel number)
  astrow-pac trace booking pac:1:881233   (Astrow's source_id, or its booking id: 58812)

An employee: as it stands now on both sides (read from PAC and Astrow; --offline skips \
that), its link (created or matched, and when), every plan item about it (action, state, \
reason, result) and its audit entries with what changed. A booking: the PAC event (seq, time \
with the controller's offset, reader, badge), what it became (processed, queued, duplicate, \
rejected with Astrow's reason, waiting, or not a booking and why), how many times it was sent \
and Astrow's booking id.

PAC ids and Astrow personnel numbers share one number space: pac:ID and astrow:ID say which \
side is meant. A bare number is taken when it names one person, and refused (exit 2) when it \
is one person's PAC id and another's personnel number.

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
        /// pac:ID (a PAC employee id), astrow:ID (an Astrow personnel number), or a bare
        /// number when it names one person
        #[arg(value_name = "pac:ID|astrow:ID|ID", value_parser = EmployeeKey::parse)]
        key: EmployeeKey,
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
        (TraceWhat::Employee { key }, _) => match trace::employee(
            conn,
            *key,
            &[],
            AUDIT_LIMIT,
            crate::engine::plan::item_reason,
        ) {
            Err(StoreError::AmbiguousEmployee(e)) => {
                eprintln!("astrow-pac trace employee: {e}");
                return exit::USAGE;
            }
            Err(e) => Err(e.to_string()),
            Ok(t) => {
                let empty = t.link.is_none() && t.plan_items.is_empty() && t.audit.is_empty();
                Ok((!empty).then(|| {
                    let live = (!args.offline).then(|| read_live(&settings, &t));
                    employee_out(&t, live.as_ref(), args.json)
                }))
            }
        },
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
/// cannot be read says why), and the ids asked for (a side the employee
/// has no id on is not asked).
pub struct Live {
    pub pac_id: Option<u64>,
    pub pers_no: Option<u64>,
    pub pac: Result<Option<PacEmployee>, String>,
    pub astrow: Result<Option<AstrowEmployee>, String>,
}

/// How long `trace` waits for each side's answer.
const LIVE_WAIT: Duration = Duration::from_secs(15);

/// Read the traced employee on the sides it has an id on (both through
/// its link).
fn read_live(settings: &Settings, t: &trace::EmployeeTrace) -> Live {
    let (pac_id, pers_no) = (t.person.pac, t.person.astrow);
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
            let Some(pac_id) = pac_id else {
                return Ok(None);
            };
            let c = connect::pac_client(settings).map_err(|e| e.to_string())?;
            match tokio::time::timeout(LIVE_WAIT, c.get_employee(PacId(pac_id))).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", LIVE_WAIT.as_secs())),
            }
        };
        let astrow = async {
            let Some(pers_no) = pers_no else {
                return Ok(None);
            };
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
        s.push_str(&format!("  (no link: {})\n", t.person.describe()));
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
