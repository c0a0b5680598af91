//! `astrow-pac forget employee ID`: erase what the store keeps of one
//! employee (an erasure request). The work is `Store::forget_employee`;
//! this only asks, opens the store and says what was done.

use clap::{Args, Subcommand};

use super::common::one_shot;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::model::PacId;
use crate::store::{Forgotten, Store};

pub const LONG_ABOUT: &str = "Erase what the store keeps of one employee, when they ask for it: \
their swipes leave the booking ledger (a swipe not yet delivered to Astrow is kept until it is, \
so no booking is lost: run forget again later), and their rows in the audit log name a \
pseudonym (forgotten-xxxxxxxx) instead of them, with the records before and after and the \
result's detail erased. The erasure itself is recorded in the store's own audit. Nothing is \
sent to PAC or Astrow: their records there are erased there.

With a service (or a console) running on the store, that engine does the erasure, asked \
through its control socket.

Exit codes: 0 done, 1 refused, declined or failed.";

#[derive(Debug, Args)]
pub struct ForgetArgs {
    #[command(subcommand)]
    pub what: ForgetWhat,
}

#[derive(Debug, Subcommand)]
pub enum ForgetWhat {
    /// One employee, by PAC employee id (their linked Astrow employee too)
    Employee {
        /// The PAC employee id
        id: u64,
        /// The Astrow personnel number, when the employee is no longer linked
        #[arg(long, value_name = "PERS_NO")]
        pers_no: Option<u64>,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(global: &GlobalArgs, args: &ForgetArgs) -> u8 {
    let ForgetWhat::Employee { id, pers_no, yes } = args.what;
    // Kept whole: its log guard must live until the command ends.
    let Some(shot) = one_shot(global) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&shot.settings);
    let question = format!(
        "Erase the swipe history of PAC employee {id} and pseudonymise them in the audit log \
         of {}? This cannot be undone. [y/N] ",
        dir.display()
    );
    if !yes && !super::apply::confirm(&question) {
        eprintln!("Nothing erased.");
        return exit::PROBLEMS;
    }
    // A service holds the store: it forgets, this command reports.
    if Store::holder(&dir).is_some() {
        let settings = &shot.settings;
        let done = shot.runtime.block_on(async {
            match super::attach::attach_running(settings, false, false).await? {
                Some(mut att) => super::remote::forget(&mut att, id, pers_no).await,
                None => Err("the engine holding the store stopped: run this again".to_string()),
            }
        });
        return match done {
            Ok(text) => {
                println!("{text}");
                exit::OK
            }
            Err(e) => {
                eprintln!("astrow-pac forget: {e}");
                exit::PROBLEMS
            }
        };
    }
    let done = Store::open(&dir).and_then(|mut s| s.forget_employee(PacId(id), pers_no));
    match done {
        Ok(f) => {
            println!("{}", summary(id, &f));
            exit::OK
        }
        Err(e) => {
            eprintln!("astrow-pac forget: {e}");
            exit::PROBLEMS
        }
    }
}

fn summary(id: u64, f: &Forgotten) -> String {
    f.summary(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forgotten(removed: u64, pending: u64, audit_rows: u64) -> Forgotten {
        Forgotten {
            pseudonym: "forgotten-0000beef".into(),
            swipes_removed: removed,
            swipes_pending: pending,
            audit_rows,
        }
    }

    #[test]
    fn the_summary_says_what_was_erased_and_what_waits() {
        let s = summary(7, &forgotten(12, 2, 5));
        assert!(
            s.contains("12 swipes removed") && s.contains("forgotten-0000beef"),
            "{s}"
        );
        assert!(s.contains("2 swipes not yet delivered"), "{s}");
        let s = summary(7, &forgotten(0, 0, 0));
        assert!(s.contains("held nothing of PAC employee 7"), "{s}");
        assert!(!summary(7, &forgotten(1, 0, 0)).contains("not yet delivered"));
    }
}
