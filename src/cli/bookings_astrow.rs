//! `astrow-pac bookings astrow-cursor --to N`: after Astrow was restored
//! from a backup (its booking ids went back below the Astrow->PAC cursor),
//! move the cursor in a new epoch. Beside a running engine the engine moves
//! it, asked through its control socket.

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::astrow_to_pac::cursor::{describe, move_cursor_audited};
use crate::engine::runtime::store_dir;
use crate::store::astrow_restore::{self, OpenRestore};
use crate::store::{Store, StoreError, astrow_ledger};

const NAME: &str = "astrow-pac bookings astrow-cursor";

pub fn run(global: &GlobalArgs, to: u64, yes: bool) -> u8 {
    let Some((_, settings)) = load_settings(global, false) else {
        return exit::PROBLEMS;
    };
    let dir = store_dir(&settings);
    if Store::holder(&dir).is_some() {
        return by_service(&settings, &dir, to, yes);
    }
    let mut store = match Store::open(&dir) {
        Ok(s) => s,
        Err(e @ StoreError::Locked { .. }) => {
            eprintln!("{NAME}: {e}. Stop the engine first.");
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return exit::PROBLEMS;
        }
    };
    let Some(cursor) = facts(&mut store) else {
        return exit::PROBLEMS;
    };
    if !yes && !ask(cursor, to) {
        eprintln!("declined: nothing changed");
        return exit::PROBLEMS;
    }
    // Asked (or `--yes`): without an open restore the move is forced.
    match move_cursor_audited(&mut store, to, true) {
        Ok(done) => {
            println!("{}", describe(&done));
            exit::OK
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            exit::PROBLEMS
        }
    }
}

/// Tell the cursor and the open restore; the cursor.
fn facts(store: &mut Store) -> Option<u64> {
    let conn = store.connection();
    let read =
        astrow_ledger::cursor(conn).and_then(|(c, _)| Ok((c, astrow_restore::open_restore(conn)?)));
    match read {
        Ok((cursor, open)) => {
            tell(cursor, open.as_ref());
            Some(cursor)
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            None
        }
    }
}

fn tell(cursor: u64, open: Option<&OpenRestore>) {
    match open {
        Some(r) => eprintln!(
            "Astrow's bookings went back (detected {}): {}.",
            r.detected_at,
            crate::http::sanitize(&r.why)
        ),
        None => eprintln!(
            "No restore of Astrow was detected; the Astrow booking cursor is {cursor}. Moving it anyway sends bookings again under new source ids, or skips them."
        ),
    }
}

fn ask(cursor: u64, to: u64) -> bool {
    super::apply::confirm(&format!(
        "Move the Astrow booking cursor from {cursor} to {to} in a new epoch? [y/N] "
    ))
}

fn by_service(settings: &crate::config::Settings, dir: &std::path::Path, to: u64, yes: bool) -> u8 {
    let Some(rt) = super::common::runtime() else {
        return exit::PROBLEMS;
    };
    let cursor = match Store::open_read_only(dir) {
        Ok(mut s) => facts(&mut s),
        Err(e) => {
            eprintln!("{NAME}: {e}");
            None
        }
    };
    let Some(cursor) = cursor else {
        return exit::PROBLEMS;
    };
    if !yes && !ask(cursor, to) {
        eprintln!("declined: nothing changed");
        return exit::PROBLEMS;
    }
    let done = rt.block_on(async {
        match super::attach::attach_running(settings, false, false).await {
            Ok(Some(mut att)) => Some(super::remote::move_astrow_cursor(&mut att, to, true).await),
            Ok(None) => Some(Err(
                "the engine holding the store stopped: run this again".to_string()
            )),
            Err(e) => {
                eprintln!("{NAME}: {e}. Stop the engine first.");
                None
            }
        }
    });
    match done {
        None => exit::USAGE,
        Some(Ok(text)) => {
            println!("{text}");
            exit::OK
        }
        Some(Err(e)) => {
            eprintln!("{NAME}: {e}");
            exit::PROBLEMS
        }
    }
}
