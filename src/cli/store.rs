//! `astrow-pac store rebind`: bind the store to the site the settings name.

use clap::{Args, Subcommand};

use super::apply::confirm;
use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::engine::site::site_identity;
use crate::store::Store;

pub const LONG_ABOUT: &str = "Work on the store itself. `store rebind`: the store records the \
PAC installation (its certificate) and the Astrow (its URL) it was made for, and refuses to plan \
against another pair: nothing is planned, mirrored, read from PAC's events or booked. When the \
settings rightly point at a new site (the servers were replaced, the store was copied on \
purpose), `rebind` binds the store to it: the old site's links, plans and suppressions are \
forgotten (the next plan starts from scratch, matching employees again), the old site's \
bookings still to be sent are abandoned (they stay in the ledger as rejected with the reason \
\"abandoned: store re-bound ...\" and are never sent to the new Astrow; the confirmation says \
how many), bookings start for the new PAC as in a fresh store, and the re-bind is written to \
the audit log in the same transaction. With a service running on the store, the service \
re-binds it (asked through its control socket); in the console, the palette's \"rebind \
store\" does it for the running engine.

Exit codes: 0 bound (or already bound to this site), 1 refused, declined or failed.";

#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub action: StoreAction,
}

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Bind the store to the site the settings name, forgetting the old site's links and plans
    Rebind(RebindArgs),
}

#[derive(Debug, Args)]
pub struct RebindArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

pub fn run(global: &GlobalArgs, args: &StoreArgs) -> u8 {
    let StoreAction::Rebind(rebind) = &args.action;
    match run_rebind(global, rebind) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("astrow-pac store rebind: {e}");
            exit::PROBLEMS
        }
    }
}

fn run_rebind(global: &GlobalArgs, args: &RebindArgs) -> Result<u8, String> {
    let Some((_, settings)) = load_settings(global, true) else {
        return Ok(exit::PROBLEMS);
    };
    let site = site_identity(&settings)?;
    let dir = store_dir(&settings);
    // A service holds the store: it re-binds, this command asks and reports.
    if Store::holder(&dir).is_some() {
        let rt = super::common::runtime().ok_or("no async runtime")?;
        return rt.block_on(async {
            match super::attach::attach_running(&settings, false, false).await? {
                Some(mut att) => {
                    let ask = super::remote::RebindAsk {
                        dir: &dir,
                        site: &site.to_string(),
                        yes: args.yes,
                        confirm: &confirm,
                    };
                    super::remote::rebind(&mut att, &ask).await
                }
                None => Err("the engine holding the store stopped: run this again".into()),
            }
        });
    }
    let mut store = Store::open(&dir).map_err(|e| e.to_string())?;
    let bound = store.site_binding().map_err(|e| e.to_string())?;
    if bound.as_ref() == Some(&site) {
        println!("The store in {} is bound to {site} already.", dir.display());
        return Ok(exit::OK);
    }
    let preview = store.rebind_preview().map_err(|e| e.to_string())?;
    match &bound {
        Some(b) => println!(
            "The store in {} was made for {b}.\nThe settings point at {site}.",
            dir.display()
        ),
        None => println!("The store in {} is not bound yet.", dir.display()),
    }
    if !args.yes
        && !confirm(&format!(
            "Re-bind it, forgetting its {} links and its plans, and abandoning the old site's {} \
             bookings still to be sent (kept in the ledger, never sent to the new Astrow)? [y/N] ",
            preview.links, preview.pending_bookings
        ))
    {
        println!("Nothing changed.");
        return Ok(exit::PROBLEMS);
    }
    let done = store.rebind(&site).map_err(|e| e.to_string())?;
    println!("Bound to {site}: {} (audited).", done.describe());
    Ok(exit::OK)
}
