//! The command line: global options and one file per subcommand.

pub mod apply;
pub mod attach;
pub mod audit;
pub mod bookings;
pub mod bookings_astrow;
pub mod bookings_export;
pub mod check;
pub mod common;
pub mod console;
pub mod conventions;
pub mod demo;
pub mod forget;
pub mod logging;
pub mod plan;
mod private_log;
pub mod reconcile;
pub mod remote;
pub mod run;
pub mod sim;
pub mod status;
pub mod status_a2p;
pub mod status_failed;
pub mod status_waits;
pub mod stop_signal;
pub mod store;
pub mod trace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Done, nothing wrong.
    pub const OK: u8 = 0;
    /// Problems found (e.g. `check` found errors in the settings).
    pub const PROBLEMS: u8 = 1;
    /// Wrong use, or not available (yet).
    pub const USAGE: u8 = 2;
}

const ABOUT: &str = "Keeps PAC Access Central and Astrow in step: employees, access groups, \
readers, and badge swipes as T&A bookings";

const LONG_ABOUT: &str = "Keeps PAC Access Central (access control) and Astrow (time and \
attendance) in step: employees, access groups and readers, and badge swipes on PAC readers \
as Astrow bookings.

Without a subcommand it opens the console, a full-screen terminal view of both systems \
where you review and approve changes, watch bookings arrive and edit the settings.

First steps on a new installation:
  1. Copy config/astrow-pac.toml to the settings location (see --config) and fill it in.
  2. Run `astrow-pac check` until it reports no problem.
  3. Run `astrow-pac` to open the console.";

const AFTER_HELP: &str = "Settings file: --config PATH, else the environment variable \
ASTROW_PAC_CONFIG, else the platform config directory (~/.config/astrow-pac/astrow-pac.toml \
on Linux).
Log: a daily-rolling file in the platform data directory (~/.local/share/astrow-pac/logs on \
Linux), or log.file, or --log-file; RUST_LOG overrides log.level.
Exit codes: 0 done, 1 problems found, 2 wrong use or not available yet.";

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "astrow-pac", version = conventions::VERSION, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Console: show everything, write nothing (no approve, apply, door, roll call or save)
    #[arg(long)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The settings file (TOML) [default: $ASTROW_PAC_CONFIG, else the platform config directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Draw without colours (meaning stays visible); NO_COLOR does the same
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Write the log to this file, rolled daily as PATH.YYYY-MM-DD [default: log.file, else the platform data directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// The subcommands; each lives in its own file in `src/cli/`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole product on simulators inside this process, in the console
    #[command(long_about = demo::LONG_ABOUT)]
    Demo(demo::DemoArgs),
    /// Check the settings file and print every problem (exit 0 when clean, 1 otherwise)
    #[command(long_about = check::LONG_ABOUT)]
    Check(check::CheckArgs),
    /// Show what an employee sync would change (exit 0 nothing, 2 something, 1 error)
    #[command(long_about = plan::LONG_ABOUT)]
    Plan(plan::PlanArgs),
    /// Apply the employee sync plan after a confirmation
    #[command(long_about = apply::LONG_ABOUT)]
    Apply(apply::ApplyArgs),
    /// Run the engine without the console (for systemd or a Windows service)
    #[command(long_about = run::LONG_ABOUT)]
    Run(run::RunArgs),
    /// Show links, the pending plan, job runs and the booking import from the store
    #[command(long_about = status::LONG_ABOUT)]
    Status(status::StatusArgs),
    /// Erase what the store keeps of one employee (their swipes, their name in the audit)
    #[command(long_about = forget::LONG_ABOUT)]
    Forget(forget::ForgetArgs),
    /// Reconcile PAC's granted swipes with Astrow's bookings for a window (exit 2 when off)
    #[command(long_about = reconcile::LONG_ABOUT)]
    Reconcile(reconcile::ReconcileArgs),
    /// Recoveries of the booking import (reset-cursor after PAC's event sequence was reset)
    #[command(long_about = bookings::LONG_ABOUT)]
    Bookings(bookings::BookingsArgs),
    /// Run simulators of PAC and Astrow in the foreground (for trying the product and for tests)
    #[command(long_about = sim::LONG_ABOUT)]
    Sim(sim::SimArgs),
    /// Work on the store: `store rebind` binds it to the site the settings name
    #[command(long_about = store::LONG_ABOUT)]
    Store(store::StoreArgs),
    /// Print the audit log, newest first: who changed what in PAC or Astrow, when, and the result
    #[command(long_about = audit::LONG_ABOUT)]
    Audit(audit::AuditArgs),
    /// Everything the store knows of one employee or one booking
    #[command(long_about = trace::LONG_ABOUT)]
    Trace(trace::TraceArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(long_about = conventions::COMPLETIONS_ABOUT)]
    Completions(conventions::CompletionsArgs),
    /// Print the man page (roff) made from the same definitions as --help
    #[command(long_about = conventions::MAN_ABOUT)]
    Man(conventions::ManArgs),
}

/// Parse the command line and run it.
pub fn main() -> ExitCode {
    conventions::quiet_on_closed_pipe();
    run(Cli::parse())
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let look = console::Look {
        read_only: cli.read_only,
        no_color: cli.global.no_color,
    };
    let code = match &cli.command {
        None => console::run(&cli.global, look),
        Some(Command::Demo(args)) => demo::run(&cli.global, args, look),
        Some(Command::Check(args)) => check::run(&cli.global, args),
        Some(Command::Sim(args)) => sim::run(&cli.global, args),
        Some(Command::Plan(args)) => plan::run(&cli.global, args),
        Some(Command::Apply(args)) => apply::run(&cli.global, args),
        Some(Command::Run(args)) => run::run(&cli.global, args),
        Some(Command::Status(args)) => status::run(&cli.global, args),
        Some(Command::Store(args)) => store::run(&cli.global, args),
        Some(Command::Forget(args)) => forget::run(&cli.global, args),
        Some(Command::Bookings(args)) => bookings::run(&cli.global, args),
        Some(Command::Reconcile(args)) => reconcile::run(&cli.global, args),
        Some(Command::Audit(args)) => audit::run(&cli.global, args),
        Some(Command::Trace(args)) => trace::run(&cli.global, args),
        Some(Command::Completions(args)) => conventions::run_completions(args),
        Some(Command::Man(args)) => conventions::run_man(args),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["astrow-pac", "check", "--config", "/x.toml"]).unwrap();
        assert_eq!(cli.global.config, Some(PathBuf::from("/x.toml")));
        assert!(matches!(cli.command, Some(Command::Check(_))));
        assert!(Cli::try_parse_from(["astrow-pac", "frobnicate"]).is_err());
    }
}
