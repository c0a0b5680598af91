//! `astrow-pac store rebind`: bind the store to the site the settings name.

use std::io::{BufRead, Write};

use clap::{Args, Subcommand};

use super::common::load_settings;
use super::{GlobalArgs, exit};
use crate::engine::runtime::store_dir;
use crate::engine::site::site_identity;
use crate::store::Store;

pub const LONG_ABOUT: &str = "Work on the store itself. `store rebind`: the store records the \
PAC installation (its certificate) and the Astrow (its URL) it was made for, and refuses to plan \
against another pair. When the settings rightly point at a new site (the servers were replaced, \
the store was copied on purpose), `rebind` binds the store to it: the old site's links, plans \
and suppressions are forgotten (the next plan starts from scratch, matching employees again) and \
the re-bind is written to the audit log. The engine must not be running on the store.

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
    let mut store = Store::open(&dir).map_err(|e| e.to_string())?;
    let bound = store.site_binding().map_err(|e| e.to_string())?;
    if bound.as_ref() == Some(&site) {
        println!("The store in {} is bound to {site} already.", dir.display());
        return Ok(exit::OK);
    }
    let links = store.links().map_err(|e| e.to_string())?.len();
    match &bound {
        Some(b) => println!(
            "The store in {} was made for {b}.\nThe settings point at {site}.",
            dir.display()
        ),
        None => println!("The store in {} is not bound yet.", dir.display()),
    }
    if !args.yes
        && !confirm(&format!(
            "Re-bind it, forgetting its {links} links and its plans? [y/N] "
        ))
    {
        println!("Nothing changed.");
        return Ok(exit::PROBLEMS);
    }
    let done = store.rebind(&site).map_err(|e| e.to_string())?;
    println!(
        "Bound to {site}: {} links and {} plans of the old site forgotten (audited). \
         The next plan starts from scratch.",
        done.links, done.plans
    );
    Ok(exit::OK)
}

/// Ask on the terminal; anything but y/yes is No.
fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => matches!(line.trim().to_lowercase().as_str(), "y" | "yes"),
        Err(_) => false,
    }
}
